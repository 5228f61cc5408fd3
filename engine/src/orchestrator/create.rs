//! `POST packagerevisions` (porch-api.md §1.13 "Create", porch-behaviour.md §1.3).

use std::collections::BTreeMap;

use super::{Engine, Scope, backend_error};
use crate::backend::{BackendError, CommitTask, DraftCommit, MetadataStore, RepositoryBackend};
use crate::content_cache::PackageFiles;
use crate::create::{CreatePlan, CreationTask, ResolvedRef, check_create, creation_task};
use crate::error::EngineError;
use crate::lifecycle::validate_create;
use crate::locks::LockKey;
use crate::messages;
use crate::model::{GitLock, Lifecycle, PackageRevision, RepositoryInfo, RequestUser, StoredMeta};
use crate::ops::{CloneRequest, InitRequest, KptfilePatch, PackageOps, PatchMode, UpgradeRequest};

impl<B, M, O> Engine<B, M, O>
where
    B: RepositoryBackend,
    M: MetadataStore,
    O: PackageOps,
{
    /// Creates a package revision. The client's `metadata.name` is ignored (the server computes
    /// it). Nothing is persisted unless every step, including the render, succeeds.
    pub async fn create(
        &self,
        scope: &Scope,
        user: &RequestUser,
        obj: &PackageRevision,
    ) -> Result<PackageRevision, EngineError> {
        if scope.namespace.is_empty() {
            return Err(messages::namespace_required());
        }
        let repo_name = obj.spec.repository.as_str();
        if repo_name.is_empty() {
            return Err(messages::repository_name_required());
        }
        let repo = scope
            .repository(repo_name)
            .ok_or_else(|| messages::repository_not_found(repo_name))?
            .clone();
        if repo.v1alpha2_managed {
            return Err(messages::managed_by_v1alpha2(repo_name));
        }
        validate_create(obj)?;

        let _guard = self
            .locks
            .try_lock(LockKey::creation(
                &scope.namespace,
                repo_name,
                &obj.spec.package_name,
            ))
            .ok_or_else(|| {
                messages::create_in_progress(
                    &scope.namespace,
                    repo_name,
                    &obj.spec.package_name,
                    &obj.spec.workspace_name,
                )
            })?;

        let records = self.records(&repo).await?;
        let referenced = creation_task(&obj.spec)
            .map(|t| t.referenced_names())
            .unwrap_or_default();
        let known = BTreeMap::from([(repo.name.clone(), records.clone())]);
        let refs = self.resolve(scope, &referenced, &known).await?;
        let plan = check_create(&repo, &obj.spec, &records, &refs)?;

        let files = self.task_files(&repo, obj, &plan, &refs).await?;
        let files = self
            .ops
            .patch_kptfile(
                files,
                &KptfilePatch {
                    mode: PatchMode::Merge,
                    package_metadata: obj.spec.package_metadata.clone(),
                    readiness_gates: obj.spec.readiness_gates.clone(),
                    conditions: None,
                },
            )
            .map_err(|e| EngineError::internal(e.0))?;
        let rendered = self.ops.render(files).await;
        if let Some(details) = rendered.error {
            return Err(messages::draft_render_failed(&details));
        }

        let author = user.authenticated_name().map(str::to_owned);
        let commit = DraftCommit {
            files: rendered.files.clone(),
            task: CommitTask::Creation(Box::new(plan.task.to_task())),
            author,
        };
        let mut record = self
            .backend
            .create_draft(
                &repo,
                &obj.spec.package_name,
                &obj.spec.workspace_name,
                commit,
            )
            .await
            .map_err(|e| EngineError::internal(e.to_string()))?;
        if plan.lifecycle == Lifecycle::Proposed {
            record = match self.backend.propose(&repo, &record).await {
                Ok(r) => r,
                Err(e) => {
                    self.roll_back(&repo, &record).await;
                    return Err(backend_error(&plan.name, e));
                }
            };
        }

        let meta = StoredMeta {
            creation_timestamp: Some(self.now()),
            deletion_timestamp: None,
            ..obj.metadata.to_stored()
        };
        if let Err(e) = self
            .meta
            .put(&repo.namespace, &plan.name, meta.clone())
            .await
        {
            self.roll_back(&repo, &record).await;
            return Err(meta_error(obj, e));
        }
        self.remember_files(&record, rendered.files);
        // A new Draft/Proposed revision is never the latest.
        let created = record.to_package_revision(&repo, &meta, false);
        self.stored(&created).await;
        Ok(created)
    }

    /// Best-effort removal of a half-created revision.
    async fn roll_back(&self, repo: &RepositoryInfo, record: &crate::record::RevisionRecord) {
        if let Err(e) = self.backend.delete(repo, record).await {
            tracing::warn!(name = %record.name(), error = %e, "rollback of failed create did not complete");
        }
    }

    /// The package files the creation task produces.
    async fn task_files(
        &self,
        repo: &RepositoryInfo,
        obj: &PackageRevision,
        plan: &CreatePlan,
        refs: &BTreeMap<String, ResolvedRef>,
    ) -> Result<PackageFiles, EngineError> {
        let ops_err = |e: crate::ops::OpsError| EngineError::internal(e.0);
        let referenced = |name: &str| {
            refs.get(name)
                .ok_or_else(|| messages::referenced_revision_not_found(name))
        };
        match &plan.task {
            CreationTask::Init(init) => self
                .ops
                .init(&InitRequest {
                    package_name: obj.spec.package_name.clone(),
                    task: init.clone(),
                })
                .map_err(ops_err),
            CreationTask::Clone(clone) => {
                let (upstream_files, upstream_lock) =
                    match (&clone.upstream.upstream_ref, &clone.upstream.git) {
                        (Some(name), _) => {
                            let up = referenced(name)?;
                            let files = self.files(&up.repo, &up.record).await?;
                            (files.as_ref().clone(), lock_of(up))
                        }
                        (None, Some(git)) => self
                            .backend
                            .fetch_git_upstream(&repo.namespace, git)
                            .await
                            .map_err(|e: BackendError| EngineError::internal(e.to_string()))?,
                        (None, None) => return Err(messages::task_spec_missing("clone")),
                    };
                self.ops
                    .clone_package(&CloneRequest {
                        package_name: obj.spec.package_name.clone(),
                        upstream_files,
                        upstream_lock,
                        deployment: repo.deployment,
                        package_path: obj.spec.package_name.clone(),
                    })
                    .map_err(ops_err)
            }
            CreationTask::Edit(edit) => {
                let source = referenced(edit.source_ref.as_deref().unwrap_or_default())?;
                let files = self.files(&source.repo, &source.record).await?;
                self.ops.copy(&files).map_err(ops_err)
            }
            CreationTask::Upgrade(up) => {
                let old = referenced(&up.old_upstream)?;
                let new = referenced(&up.new_upstream)?;
                let local = referenced(&up.local_package_revision)?;
                let req = UpgradeRequest {
                    local: self
                        .files(&local.repo, &local.record)
                        .await?
                        .as_ref()
                        .clone(),
                    old_upstream: self.files(&old.repo, &old.record).await?.as_ref().clone(),
                    new_upstream: self.files(&new.repo, &new.record).await?.as_ref().clone(),
                    new_upstream_lock: lock_of(new),
                    strategy: up.strategy.clone(),
                };
                self.ops.upgrade(&req).map_err(ops_err)
            }
        }
    }
}

/// The lock a clone or upgrade records: the upstream revision's own location.
fn lock_of(r: &ResolvedRef) -> GitLock {
    r.record.self_lock.clone().unwrap_or_else(|| GitLock {
        directory: r.record.package_name.clone(),
        commit: r.record.commit.clone(),
        ..GitLock::default()
    })
}

/// A metadata write failure; with a blocking ownerReference, upstream's explanatory text.
pub(super) fn meta_error(obj: &PackageRevision, err: BackendError) -> EngineError {
    let blocks = obj
        .metadata
        .owner_references
        .iter()
        .any(|o| o.block_owner_deletion != Some(false));
    match err {
        BackendError::Forbidden(m) if blocks => messages::block_owner_deletion(&m),
        other => EngineError::internal(other.to_string()),
    }
}
