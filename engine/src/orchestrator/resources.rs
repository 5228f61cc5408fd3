//! `PUT packagerevisionresources/{name}` (porch-api.md §1.14, porch-behaviour.md §1.7, §1.9).

use std::sync::Arc;

use super::{Engine, Scope, as_resources_error};
use crate::backend::{BackendError, CommitTask, DraftCommit, MetadataStore, RepositoryBackend};
use crate::content_cache::PackageFiles;
use crate::error::{EngineError, PACKAGE_REVISION_RESOURCES};
use crate::locks::LockKey;
use crate::messages;
use crate::model::{Lifecycle, PUSH_ON_RENDER_FAILURE_ANNOTATION, PackageRevision, RequestUser};
use crate::ops::{PackageOps, RenderStatus};

/// The request: the client's resourceVersion and the complete new file set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourcesUpdate {
    pub resource_version: String,
    pub resources: PackageFiles,
}

/// The response: the updated revision, its files, and the render status (only when the render
/// produced results or an error message).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcesUpdated {
    pub package_revision: PackageRevision,
    pub files: Arc<PackageFiles>,
    pub render_status: Option<RenderStatus>,
}

fn prr_backend_error(name: &str, err: BackendError) -> EngineError {
    match err {
        BackendError::NotFound(_) => messages::package_revision_resources_not_found(name),
        BackendError::Stale(_) => messages::object_modified(PACKAGE_REVISION_RESOURCES, name),
        BackendError::Forbidden(m) | BackendError::Other(m) => EngineError::internal(m),
    }
}

impl<B, M, O> Engine<B, M, O>
where
    B: RepositoryBackend,
    M: MetadataStore,
    O: PackageOps,
{
    /// Replaces the files of a Draft, renders and commits (task `render`).
    pub async fn update_resources(
        &self,
        scope: &Scope,
        user: &RequestUser,
        name: &str,
        request: &ResourcesUpdate,
    ) -> Result<ResourcesUpdated, EngineError> {
        let _guard = self
            .locks
            .try_lock(LockKey::package_revision(&scope.namespace, name))
            .ok_or_else(|| messages::resources_update_in_progress(&scope.namespace, name))?;

        // v1alpha2-managed repositories still accept PRR updates (without render), so look the
        // revision up in every repository of the scope.
        let mut all = scope.clone();
        for r in &mut all.repositories {
            r.v1alpha2_managed = false;
        }
        let found = self
            .locate(&all, name)
            .await
            .map_err(|e| as_resources_error(name, e))?;
        let repo = scope
            .repository(&found.repo.name)
            .cloned()
            .unwrap_or(found.repo.clone());

        if request.resource_version.is_empty() {
            return Err(messages::resource_version_required());
        }
        if request.resource_version != found.record.commit {
            return Err(messages::object_modified(PACKAGE_REVISION_RESOURCES, name));
        }
        if found.record.lifecycle != Lifecycle::Draft {
            return Err(messages::resources_not_draft(
                found.record.lifecycle.as_str(),
            ));
        }
        if !request.resources.contains_key("Kptfile") {
            return Err(messages::kptfile_missing());
        }

        let old_files = self.files(&repo, &found.record).await?;
        let healed = self
            .ops
            .heal_comments(&old_files, request.resources.clone());
        let author = user.authenticated_name().map(str::to_owned);
        let meta = self.stored_meta(&repo.namespace, name).await?;

        let (files, render_status) = if repo.v1alpha2_managed {
            // Rendering is asynchronous for v1alpha2 (porch-api.md §2.3).
            (healed, None)
        } else {
            let outcome = self.ops.render(healed).await;
            if let Some(details) = outcome.error {
                let push = meta
                    .annotations
                    .get(PUSH_ON_RENDER_FAILURE_ANNOTATION)
                    .is_some_and(|v| v == "true");
                if !push {
                    return Err(messages::resources_render_failed_not_pushed(&details));
                }
                let commit = DraftCommit {
                    files: outcome.files.clone(),
                    task: CommitTask::Render,
                    author,
                };
                let record = self
                    .backend
                    .update_draft(&repo, &found.record, commit)
                    .await
                    .map_err(|e| prr_backend_error(name, e))?;
                self.remember_files(&record, outcome.files);
                return Err(messages::resources_render_failed_pushed(&details));
            }
            // Upstream fills `status.renderStatus` only when a function reported results or
            // the pipeline reported an error.
            let has_items = outcome.status.result["items"]
                .as_array()
                .is_some_and(|items| !items.is_empty());
            let has_status = has_items || !outcome.status.error.is_empty();
            (outcome.files, has_status.then_some(outcome.status))
        };

        let commit = DraftCommit {
            files: files.clone(),
            task: CommitTask::Render,
            author,
        };
        let record = self
            .backend
            .update_draft(&repo, &found.record, commit)
            .await
            .map_err(|e| prr_backend_error(name, e))?;
        self.remember_files(&record, files.clone());
        let package_revision = record.to_package_revision(&repo, &meta, false);
        self.stored(&package_revision).await;
        Ok(ResourcesUpdated {
            package_revision,
            files: Arc::new(files),
            render_status,
        })
    }
}
