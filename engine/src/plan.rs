//! The update planner: from the stored and the requested PackageRevision (already validated and
//! canonicalized), the ordered list of effects the I/O layer executes (porch-behaviour.md §1.8).

use crate::model::{Condition, Lifecycle, PackageMetadata, PackageRevision, StoredMeta};

/// One step of an update, executed in order by the orchestrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Write request fields into the Kptfile with replace semantics (each only when `Some`).
    PatchKptfile {
        package_metadata: Option<PackageMetadata>,
        readiness_gates: Option<Vec<String>>,
        conditions: Option<Vec<Condition>>,
    },
    /// Run the kpt function pipeline; a failure aborts the whole update.
    Render,
    /// Commit the patched, rendered files on the draft (task `render`).
    CommitDraft,
    /// Draft → Proposed: move `drafts/...` to `proposed/...`.
    Propose,
    /// Proposed → Draft: move `proposed/...` back to `drafts/...`.
    Reject,
    /// Proposed → Published with this revision number (approval only).
    Publish { revision: i64 },
    /// Published → DeletionProposed: create the `deletionProposed/...` branch.
    ProposeDeletion,
    /// DeletionProposed → Published: delete that branch.
    UndoProposeDeletion,
    /// Store Kubernetes metadata (labels, annotations, finalizers, ownerReferences).
    StoreMetadata(StoredMeta),
    /// The object was terminating and its last finalizer is gone: delete it for real.
    Delete,
}

/// The metadata to store: the request's editable fields, the stored timestamps.
pub fn merged_meta(old: &PackageRevision, new: &PackageRevision) -> StoredMeta {
    let mut meta = new.metadata.to_stored();
    meta.deletion_timestamp = old.metadata.deletion_timestamp.clone();
    meta.creation_timestamp = old.metadata.creation_timestamp.clone();
    meta
}

/// Plans an update. `next_revision` is the number a publish would get (see `latest::next_revision`).
/// Lifecycle pairs the strategies reject never reach here; should one, no lifecycle effect is planned.
pub fn plan_update(
    old: &PackageRevision,
    new: &PackageRevision,
    next_revision: i64,
) -> Vec<Effect> {
    let meta = merged_meta(old, new);
    // Only the removal of the last user finalizer completes a deletion. An object that is
    // terminating without any (held by internal finalizers alone) is not deleted by an update.
    if old.metadata.deletion_timestamp.is_some()
        && !old.metadata.finalizers.is_empty()
        && new.metadata.finalizers.is_empty()
    {
        return vec![Effect::StoreMetadata(meta), Effect::Delete];
    }
    let (Some(from), Some(to)) = (old.lifecycle(), new.lifecycle()) else {
        return vec![Effect::StoreMetadata(meta)];
    };
    let mut effects = Vec::new();
    if from == Lifecycle::Draft {
        // Every update of a Draft re-renders and commits, even when nothing changed (upstream).
        effects.push(Effect::PatchKptfile {
            package_metadata: new.spec.package_metadata.clone(),
            readiness_gates: new.spec.readiness_gates.clone(),
            conditions: new.status.conditions.clone(),
        });
        effects.push(Effect::Render);
        effects.push(Effect::CommitDraft);
    }
    match (from, to) {
        (Lifecycle::Draft, Lifecycle::Proposed) => effects.push(Effect::Propose),
        (Lifecycle::Proposed, Lifecycle::Draft) => effects.push(Effect::Reject),
        (Lifecycle::Proposed, Lifecycle::Published) => effects.push(Effect::Publish {
            revision: next_revision,
        }),
        (Lifecycle::Published, Lifecycle::DeletionProposed) => {
            effects.push(Effect::ProposeDeletion);
        }
        (Lifecycle::DeletionProposed, Lifecycle::Published) => {
            effects.push(Effect::UndoProposeDeletion);
        }
        _ => {}
    }
    effects.push(Effect::StoreMetadata(meta));
    effects
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(lc: &str) -> PackageRevision {
        let mut p = PackageRevision::default();
        p.metadata.name = "r.p.ws".into();
        p.spec.lifecycle = lc.into();
        p
    }

    fn kinds(effects: &[Effect]) -> Vec<&'static str> {
        effects
            .iter()
            .map(|e| match e {
                Effect::PatchKptfile { .. } => "patch",
                Effect::Render => "render",
                Effect::CommitDraft => "commit",
                Effect::Propose => "propose",
                Effect::Reject => "reject",
                Effect::Publish { .. } => "publish",
                Effect::ProposeDeletion => "propose-delete",
                Effect::UndoProposeDeletion => "undo-propose-delete",
                Effect::StoreMetadata(_) => "meta",
                Effect::Delete => "delete",
            })
            .collect()
    }

    #[test]
    fn transition_table() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("Draft", "Draft", &["patch", "render", "commit", "meta"]),
            (
                "Draft",
                "Proposed",
                &["patch", "render", "commit", "propose", "meta"],
            ),
            ("Proposed", "Draft", &["reject", "meta"]),
            ("Proposed", "Proposed", &["meta"]),
            ("Proposed", "Published", &["publish", "meta"]),
            ("Published", "DeletionProposed", &["propose-delete", "meta"]),
            (
                "DeletionProposed",
                "Published",
                &["undo-propose-delete", "meta"],
            ),
            ("Published", "Published", &["meta"]),
        ];
        for (from, to, want) in cases {
            assert_eq!(
                kinds(&plan_update(&pr(from), &pr(to), 3)),
                *want,
                "{from}->{to}"
            );
        }
    }

    #[test]
    fn publish_carries_the_revision_and_patch_carries_the_request() {
        let effects = plan_update(&pr("Proposed"), &pr("Published"), 7);
        assert_eq!(effects[0], Effect::Publish { revision: 7 });

        let mut new = pr("Draft");
        let mut md = PackageMetadata::default();
        md.labels.insert("a".into(), "b".into());
        new.spec.package_metadata = Some(md.clone());
        new.spec.readiness_gates = Some(vec!["Ready".into()]);
        let effects = plan_update(&pr("Draft"), &new, 1);
        assert_eq!(
            effects[0],
            Effect::PatchKptfile {
                package_metadata: Some(md),
                readiness_gates: Some(vec!["Ready".into()]),
                conditions: None,
            }
        );
    }

    #[test]
    fn terminating_without_finalizers_deletes() {
        let mut old = pr("Draft");
        old.metadata.deletion_timestamp = Some("2026-01-01T00:00:00Z".into());
        old.metadata.finalizers = vec!["x".into()];
        let mut new = old.clone();
        new.metadata.finalizers.clear();
        assert_eq!(kinds(&plan_update(&old, &new, 1)), ["meta", "delete"]);
        // Still holding a finalizer: a normal update that keeps the deletion timestamp.
        let mut keep = old.clone();
        keep.metadata.deletion_timestamp = None;
        let effects = plan_update(&old, &keep, 1);
        match effects.last() {
            Some(Effect::StoreMetadata(m)) => {
                assert_eq!(
                    m.deletion_timestamp.as_deref(),
                    Some("2026-01-01T00:00:00Z")
                );
            }
            other => panic!("{other:?}"),
        }
        // Terminating with no user finalizer at all (internal ones are hidden): a label
        // patch is a metadata update, never a deletion of the revision.
        let mut held = pr("Published");
        held.metadata.deletion_timestamp = Some("2026-01-01T00:00:00Z".into());
        let mut patched = held.clone();
        patched.metadata.labels.insert("team".into(), "blue".into());
        assert_eq!(kinds(&plan_update(&held, &patched, 1)), ["meta"]);
    }
}
