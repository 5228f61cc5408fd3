//! `DELETE packagerevisions/{name}` (porch-api.md §1.13 "Delete", porch-behaviour.md §1.12).

use super::{Engine, Scope, backend_error};
use crate::backend::{MetadataStore, RepositoryBackend};
use crate::delete::{DeleteDecision, Referrer, decide_delete};
use crate::error::EngineError;
use crate::locks::LockKey;
use crate::messages;
use crate::model::PackageRevision;
use crate::ops::PackageOps;
use crate::record::RevisionRecord;

/// The result of a delete.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteOutcome {
    /// The deleted object (200 with it; emit DELETED), or the now-terminating one.
    pub object: PackageRevision,
    /// User finalizers remain: only marked terminating (emit MODIFIED instead of DELETED).
    pub terminating: bool,
    /// Other revisions whose latest label changed (the new latest; emit MODIFIED).
    pub relabelled: Vec<PackageRevision>,
}

impl<B, M, O> Engine<B, M, O>
where
    B: RepositoryBackend,
    M: MetadataStore,
    O: PackageOps,
{
    pub async fn delete(&self, scope: &Scope, name: &str) -> Result<DeleteOutcome, EngineError> {
        let found = self.locate(scope, name).await?;
        let pr = self
            .view(&found.repo, found.records.iter(), &found.record)
            .await?;

        // Every other revision of the namespace, for the upstream-reference protection.
        let mut listed = Vec::new();
        for repo in scope.members() {
            let records = if repo.name == found.repo.name {
                found.records.clone()
            } else {
                self.records(repo).await?
            };
            listed.push((repo, records));
        }
        let others: Vec<(&RevisionRecord, bool)> = listed
            .iter()
            .flat_map(|(repo, records)| records.iter().map(|r| (r, r.is_placeholder(&repo.branch))))
            .collect();
        let names: Vec<String> = others.iter().map(|(r, _)| r.name()).collect();
        let referrers = others
            .iter()
            .zip(&names)
            .map(|((r, placeholder), n)| Referrer {
                name: n,
                task: r.task.as_ref(),
                is_placeholder: *placeholder,
            });
        let decision = decide_delete(
            name,
            found.record.lifecycle,
            &pr.metadata.finalizers,
            referrers,
        )?;

        let _guard = self
            .locks
            .try_lock(LockKey::package_revision(&scope.namespace, name))
            .ok_or_else(|| messages::update_in_progress(&scope.namespace, name))?;

        match decision {
            DeleteDecision::MarkTerminating => {
                let mut meta = pr.metadata.to_stored();
                if meta.deletion_timestamp.is_none() {
                    meta.deletion_timestamp = Some(self.now());
                }
                self.meta
                    .put(&found.repo.namespace, name, meta.clone())
                    .await
                    .map_err(|e| EngineError::internal(e.to_string()))?;
                let latest = pr.is_latest();
                Ok(DeleteOutcome {
                    object: found.record.to_package_revision(&found.repo, &meta, latest),
                    terminating: true,
                    relabelled: Vec::new(),
                })
            }
            DeleteDecision::DeleteNow => {
                self.backend
                    .delete(&found.repo, &found.record)
                    .await
                    .map_err(|e| backend_error(name, e))?;
                self.meta
                    .delete(&found.repo.namespace, name)
                    .await
                    .map_err(|e| EngineError::internal(e.to_string()))?;
                let after: Vec<&RevisionRecord> =
                    found.records.iter().filter(|r| !r.is_named(name)).collect();
                let relabelled = self
                    .relabelled(&found.repo, &found.records, &after, name)
                    .await?;
                Ok(DeleteOutcome {
                    object: pr,
                    terminating: false,
                    relabelled,
                })
            }
        }
    }
}
