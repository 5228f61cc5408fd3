//! Pure mapping from git facts (a `porch_git::PackageRevision`, its files and commit tasks) to
//! the engine's [`RevisionRecord`]. No I/O.

use porch_git::refs;

use crate::content_cache::PackageFiles;
use crate::convert;
use crate::model::{Condition, GitLock, Lifecycle, PackageMetadata, Task};
use crate::record::RevisionRecord;

/// What the root Kptfile contributes to a record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KptfileFacts {
    pub package_metadata: PackageMetadata,
    pub readiness_gates: Vec<String>,
    pub conditions: Vec<Condition>,
    pub upstream_lock: Option<GitLock>,
}

/// Reads the facts from the root `Kptfile`; a missing or unparsable Kptfile gives none (the
/// revision still lists, as upstream does).
pub fn kptfile_facts(files: &PackageFiles) -> KptfileFacts {
    kptfile_text_facts(files.get("Kptfile").map(String::as_str))
}

/// [`kptfile_facts`] from the Kptfile's text alone.
pub fn kptfile_text_facts(kptfile: Option<&str>) -> KptfileFacts {
    let Some(text) = kptfile else {
        return KptfileFacts::default();
    };
    let Ok(kf) = kpt::Kptfile::parse("Kptfile", text) else {
        return KptfileFacts::default();
    };
    KptfileFacts {
        package_metadata: PackageMetadata {
            labels: kf.metadata.labels.clone(),
            annotations: kf.metadata.annotations.clone(),
        },
        readiness_gates: kf
            .info
            .as_ref()
            .map(|i| {
                i.readiness_gates
                    .iter()
                    .map(|g| g.condition_type.clone())
                    .collect()
            })
            .unwrap_or_default(),
        conditions: kf
            .status
            .as_ref()
            .map(|s| {
                s.conditions
                    .iter()
                    .map(|c| Condition {
                        condition_type: c.condition_type.clone(),
                        status: c.status.clone(),
                        reason: c.reason.clone(),
                        message: c.message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        upstream_lock: kf
            .upstream_lock
            .as_ref()
            .and_then(|l| l.git.as_ref())
            .map(|g| GitLock {
                repo: g.repo.clone(),
                directory: g.directory.clone(),
                git_ref: g.r#ref.clone(),
                commit: g.commit.clone(),
            }),
    }
}

pub fn lifecycle_from_git(l: porch_git::Lifecycle) -> Lifecycle {
    match l {
        porch_git::Lifecycle::Draft => Lifecycle::Draft,
        porch_git::Lifecycle::Proposed => Lifecycle::Proposed,
        porch_git::Lifecycle::Published => Lifecycle::Published,
        porch_git::Lifecycle::DeletionProposed => Lifecycle::DeletionProposed,
    }
}

pub fn lifecycle_to_git(l: Lifecycle) -> porch_git::Lifecycle {
    match l {
        Lifecycle::Draft => porch_git::Lifecycle::Draft,
        Lifecycle::Proposed => porch_git::Lifecycle::Proposed,
        Lifecycle::Published => porch_git::Lifecycle::Published,
        Lifecycle::DeletionProposed => porch_git::Lifecycle::DeletionProposed,
    }
}

/// `refs/heads/x`, `refs/remotes/origin/x`, `refs/tags/x` → `x` (the short ref of a lock).
pub fn short_ref(git_ref: &str) -> &str {
    ["refs/remotes/origin/", "refs/heads/", "refs/tags/"]
        .iter()
        .find_map(|p| git_ref.strip_prefix(p))
        .unwrap_or(git_ref)
}

/// The ref a revision lives on, computed from the layout (porch-api.md §6).
pub fn git_ref_of(record: &RevisionRecord, full_path: &str, branch: &str) -> String {
    if record.revision == crate::record::PLACEHOLDER_REVISION {
        return refs::branch_ref(branch);
    }
    match record.lifecycle {
        Lifecycle::Draft => refs::draft_ref(full_path, &record.workspace_name),
        Lifecycle::Proposed => refs::proposed_ref(full_path, &record.workspace_name),
        Lifecycle::Published | Lifecycle::DeletionProposed => {
            refs::tag_ref(full_path, record.revision)
        }
    }
}

/// RFC 3339 of a unix time.
pub fn rfc3339(seconds: i64) -> Option<String> {
    jiff::Timestamp::from_second(seconds)
        .ok()
        .map(|t| t.to_string())
}

/// The first creation task of a revision from its commit annotations (upstream shows one).
pub fn creation_task(tasks: &[serde_json::Value]) -> Option<Task> {
    tasks.iter().find_map(|t| {
        let api: porch_crds::porch::v1alpha1::Task = serde_json::from_value(t.clone()).ok()?;
        let task = convert::task_from_api(&api);
        matches!(
            task.task_type.as_str(),
            "init" | "clone" | "edit" | "upgrade"
        )
        .then_some(task)
    })
}

/// The JSON a commit annotation carries for `task`.
pub fn task_json(task: &Task) -> Option<serde_json::Value> {
    serde_json::to_value(convert::task_to_api(task)).ok()
}

/// Builds the record of `rev` in repository `repository` at `url`.
pub fn record_of(
    repository: &str,
    url: &str,
    rev: &porch_git::PackageRevision,
    task: Option<Task>,
    facts: KptfileFacts,
    published_by: Option<String>,
    published_at: Option<i64>,
) -> RevisionRecord {
    RevisionRecord {
        repository: repository.to_owned(),
        package_name: rev.key.package.clone(),
        workspace_name: rev.key.workspace.clone(),
        revision: rev.key.revision,
        lifecycle: lifecycle_from_git(rev.lifecycle),
        commit: rev.commit.clone(),
        task,
        package_metadata: facts.package_metadata,
        readiness_gates: facts.readiness_gates,
        conditions: facts.conditions,
        upstream_lock: facts.upstream_lock,
        self_lock: Some(GitLock {
            repo: url.to_owned(),
            directory: rev.key.package.clone(),
            git_ref: short_ref(&rev.git_ref).to_owned(),
            commit: rev.commit.clone(),
        }),
        published_by,
        published_at: published_at.and_then(rfc3339),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_come_from_the_root_kptfile() {
        let mut files = PackageFiles::new();
        files.insert(
            "Kptfile".into(),
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\n  labels:\n    a: b\ninfo:\n  readinessGates:\n  - conditionType: Ready\nupstreamLock:\n  type: git\n  git:\n    repo: http://x/r.git\n    directory: d\n    ref: d/v1\n    commit: abc\nstatus:\n  conditions:\n  - type: Ready\n    status: \"True\"\n    reason: R\n    message: m\n".into(),
        );
        let f = kptfile_facts(&files);
        assert_eq!(
            f.package_metadata.labels.get("a").map(String::as_str),
            Some("b")
        );
        assert_eq!(f.readiness_gates, vec!["Ready".to_owned()]);
        assert_eq!(f.conditions.len(), 1);
        assert_eq!(f.conditions[0].status, "True");
        assert_eq!(f.upstream_lock.map(|l| l.git_ref), Some("d/v1".to_owned()));
        assert_eq!(kptfile_facts(&PackageFiles::new()), KptfileFacts::default());
    }

    #[test]
    fn short_refs_and_layout_refs() {
        assert_eq!(short_ref("refs/remotes/origin/drafts/a/ws"), "drafts/a/ws");
        assert_eq!(short_ref("refs/tags/a/v1"), "a/v1");
        let rec = RevisionRecord {
            workspace_name: "ws".into(),
            revision: 2,
            lifecycle: Lifecycle::DeletionProposed,
            ..RevisionRecord::default()
        };
        assert!(git_ref_of(&rec, "dir/a", "main").ends_with("dir/a/v2"));
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
    }
}
