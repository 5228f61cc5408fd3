//! Delete rules (porch-api.md §1.13 "Delete", porch-behaviour.md §1.12).

use crate::error::EngineError;
use crate::messages;
use crate::model::{Lifecycle, Task};

/// What a permitted delete does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteDecision {
    /// User finalizers remain: only set `deletionTimestamp` (the object becomes terminating); the
    /// real delete happens when an update removes the last finalizer.
    MarkTerminating,
    /// Remove the revision from git (branch, tag, or for the placeholder, the directory).
    DeleteNow,
}

/// Another package revision of the namespace and its creation task.
#[derive(Debug, Clone, Copy)]
pub struct Referrer<'a> {
    pub name: &'a str,
    pub task: Option<&'a Task>,
    pub is_placeholder: bool,
}

/// Whether `task` uses `name` as its upstream (`clone.upstreamRef.upstreamRef.name` or
/// `upgrade.newUpstreamRef.name`).
pub fn task_references_upstream(task: &Task, name: &str) -> bool {
    let cloned = task
        .clone
        .as_ref()
        .and_then(|c| c.upstream.upstream_ref.as_deref())
        == Some(name);
    let upgraded = task
        .upgrade
        .as_ref()
        .is_some_and(|u| u.new_upstream == name);
    cloned || upgraded
}

/// Decides a DELETE of `name` (lifecycle `lifecycle`, current `finalizers`), given every other
/// package revision of the namespace.
pub fn decide_delete<'a>(
    name: &str,
    lifecycle: Lifecycle,
    finalizers: &[String],
    others: impl IntoIterator<Item = Referrer<'a>>,
) -> Result<DeleteDecision, EngineError> {
    if lifecycle == Lifecycle::Published {
        return Err(messages::delete_published(name));
    }
    if let Some(by) = others.into_iter().find(|o| {
        !o.is_placeholder
            && o.name != name
            && o.task.is_some_and(|t| task_references_upstream(t, name))
    }) {
        return Err(messages::delete_referenced_upstream(name, by.name));
    }
    if finalizers.is_empty() {
        Ok(DeleteDecision::DeleteNow)
    } else {
        Ok(DeleteDecision::MarkTerminating)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CloneTask, UpgradeTask, UpstreamPackage};

    fn clone_task(up: &str) -> Task {
        Task {
            task_type: "clone".into(),
            clone: Some(CloneTask {
                upstream: UpstreamPackage {
                    upstream_ref: Some(up.into()),
                    ..UpstreamPackage::default()
                },
            }),
            ..Task::default()
        }
    }

    fn upgrade_task(new: &str) -> Task {
        Task {
            task_type: "upgrade".into(),
            upgrade: Some(UpgradeTask {
                old_upstream: "old".into(),
                new_upstream: new.into(),
                local_package_revision: "local".into(),
                strategy: String::new(),
            }),
            ..Task::default()
        }
    }

    #[test]
    fn published_is_forbidden_others_are_deletable() {
        assert_eq!(
            decide_delete("r.p.v1", Lifecycle::Published, &[], [])
                .unwrap_err()
                .to_string(),
            "packagerevisions.porch.kpt.dev \"r.p.v1\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion"
        );
        for lc in [
            Lifecycle::Draft,
            Lifecycle::Proposed,
            Lifecycle::DeletionProposed,
        ] {
            assert_eq!(
                decide_delete("r.p.x", lc, &[], []),
                Ok(DeleteDecision::DeleteNow)
            );
        }
    }

    #[test]
    fn referenced_upstream_is_forbidden() {
        let c = clone_task("up.p.v1");
        let u = upgrade_task("up.p.v1");
        let err = decide_delete(
            "up.p.v1",
            Lifecycle::DeletionProposed,
            &[],
            [Referrer {
                name: "down.q.ws",
                task: Some(&c),
                is_placeholder: false,
            }],
        )
        .unwrap_err();
        assert_eq!(err.http_status(), 403);
        assert_eq!(
            err.to_string(),
            "packagerevisions.porch.kpt.dev \"up.p.v1\" is forbidden: cannot delete package revision, it is referenced as upstream by: down.q.ws"
        );
        let err = decide_delete(
            "up.p.v1",
            Lifecycle::Draft,
            &[],
            [Referrer {
                name: "down.q.v2",
                task: Some(&u),
                is_placeholder: false,
            }],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("referenced as upstream by: down.q.v2")
        );
        // Placeholders (which carry the task of their last commit) do not protect.
        assert_eq!(
            decide_delete(
                "up.p.v1",
                Lifecycle::Draft,
                &[],
                [Referrer {
                    name: "down.q.main",
                    task: Some(&c),
                    is_placeholder: true
                }],
            ),
            Ok(DeleteDecision::DeleteNow)
        );
        // The old upstream of an upgrade does not protect either.
        let only_old = upgrade_task("something-else");
        assert_eq!(
            decide_delete(
                "old",
                Lifecycle::Draft,
                &[],
                [Referrer {
                    name: "down.q.v2",
                    task: Some(&only_old),
                    is_placeholder: false
                }],
            ),
            Ok(DeleteDecision::DeleteNow)
        );
    }

    #[test]
    fn user_finalizers_only_mark_terminating() {
        assert_eq!(
            decide_delete("r.p.ws", Lifecycle::Draft, &["example.com/hold".into()], []),
            Ok(DeleteDecision::MarkTerminating)
        );
    }
}
