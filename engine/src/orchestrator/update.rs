//! `PUT packagerevisions/{name}` and `PUT packagerevisions/{name}/approval`
//! (porch-api.md §1.13 "Update" and "Approval subresource", porch-behaviour.md §1.8).

use super::create::meta_error;
use super::{Engine, Scope, backend_error};
use crate::approval::validate_approval;
use crate::backend::{CommitTask, DraftCommit, MetadataStore, RepositoryBackend};
use crate::content_cache::PackageFiles;
use crate::error::{EngineError, PACKAGE_REVISIONS};
use crate::latest::next_revision;
use crate::lifecycle::{canonicalize, prepare_for_update, validate_update};
use crate::locks::LockKey;
use crate::messages;
use crate::model::{Lifecycle, PackageRevision, RequestUser};
use crate::ops::{KptfilePatch, PackageOps, PatchMode};
use crate::plan::{Effect, plan_update};
use crate::record::RevisionRecord;

/// Which endpoint the update came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// The main resource (`packageRevisionStrategy`).
    Main,
    /// The `approval` subresource (`packageRevisionApprovalStrategy`).
    Approval,
}

/// The result of an update.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOutcome {
    /// The object after the update (emit MODIFIED), or as it was when deleted.
    pub object: PackageRevision,
    /// The object was terminating and lost its last finalizer: it is gone (emit DELETED).
    pub deleted: bool,
    /// Other revisions whose latest label changed because of this update (emit MODIFIED).
    pub relabelled: Vec<PackageRevision>,
}

impl<B, M, O> Engine<B, M, O>
where
    B: RepositoryBackend,
    M: MetadataStore,
    O: PackageOps,
{
    /// Updates `name` to `request`. A missing object is 404 here; the API layer runs `create`
    /// instead when server-side apply allows creation (with `invalid repositoryName ""` when the
    /// request has no `spec.repository`).
    pub async fn update(
        &self,
        scope: &Scope,
        user: &RequestUser,
        name: &str,
        request: &PackageRevision,
        kind: UpdateKind,
    ) -> Result<UpdateOutcome, EngineError> {
        if let Some(repo) = scope.repository(&request.spec.repository)
            && repo.v1alpha2_managed
        {
            return Err(messages::managed_by_v1alpha2(&repo.name));
        }
        let _guard = self
            .locks
            .try_lock(LockKey::package_revision(&scope.namespace, name))
            .ok_or_else(|| messages::update_in_progress(&scope.namespace, name))?;

        let (found, old) = self.read_for_update(scope, name, request).await?;

        let mut new = request.clone();
        new.metadata.name = name.to_owned();
        prepare_for_update(&old, &mut new);
        match kind {
            UpdateKind::Main => validate_update(&old, &new)?,
            UpdateKind::Approval => validate_approval(&old, &new)?,
        }
        canonicalize(&mut new);

        if new.metadata.resource_version.is_empty() {
            return Err(messages::resource_version_required());
        }
        if new.metadata.resource_version != old.metadata.resource_version {
            return Err(messages::object_modified(PACKAGE_REVISIONS, name));
        }

        let next = next_revision(&found.records, &found.repo.name, &found.record.package_name);
        let effects = plan_update(&old, &new, next);
        let author = user.authenticated_name().map(str::to_owned);
        let repo = &found.repo;
        let mut current = found.record.clone();
        let mut files: Option<PackageFiles> = None;
        let mut stored = None;
        let mut effects = effects.into_iter().peekable();
        while let Some(effect) = effects.next() {
            let be = |e| backend_error(name, e);
            match effect {
                Effect::PatchKptfile {
                    package_metadata,
                    readiness_gates,
                    conditions,
                } => {
                    let base = self.files(repo, &current).await?.as_ref().clone();
                    let patch = KptfilePatch {
                        mode: PatchMode::Replace,
                        package_metadata,
                        readiness_gates,
                        conditions,
                    };
                    let patched = self
                        .ops
                        .patch_kptfile(base, &patch)
                        .map_err(|e| EngineError::internal(e.0))?;
                    files = Some(patched);
                }
                Effect::Render => {
                    let input = match files.take() {
                        Some(f) => f,
                        None => self.files(repo, &current).await?.as_ref().clone(),
                    };
                    let outcome = self.ops.render(input).await;
                    if let Some(details) = outcome.error {
                        return Err(messages::draft_render_failed(&details));
                    }
                    files = Some(outcome.files);
                }
                Effect::CommitDraft => {
                    let content = match files.take() {
                        Some(f) => f,
                        None => self.files(repo, &current).await?.as_ref().clone(),
                    };
                    let commit = DraftCommit {
                        files: content.clone(),
                        task: CommitTask::Render,
                        author: author.clone(),
                    };
                    // A commit followed by a proposal is one storage change (one git push).
                    current = if effects.next_if_eq(&Effect::Propose).is_some() {
                        self.backend
                            .commit_and_propose(repo, &current, commit)
                            .await
                    } else {
                        self.backend.update_draft(repo, &current, commit).await
                    }
                    .map_err(be)?;
                    self.remember_files(&current, content);
                }
                Effect::Propose => {
                    current = self.backend.propose(repo, &current).await.map_err(be)?;
                }
                Effect::Reject => {
                    current = self.backend.reject(repo, &current).await.map_err(be)?;
                }
                Effect::Publish { revision } => {
                    current = self
                        .backend
                        .approve(repo, &current, revision, author.as_deref())
                        .await
                        .map_err(be)?;
                }
                Effect::ProposeDeletion => {
                    current = self
                        .backend
                        .propose_delete(repo, &current)
                        .await
                        .map_err(be)?;
                }
                Effect::UndoProposeDeletion => {
                    current = self
                        .backend
                        .undo_propose_delete(repo, &current)
                        .await
                        .map_err(be)?;
                }
                Effect::StoreMetadata(meta) => {
                    self.meta
                        .put(&repo.namespace, &current.name(), meta.clone())
                        .await
                        .map_err(|e| meta_error(&new, e))?;
                    stored = Some(meta);
                }
                Effect::Delete => {
                    self.backend.delete(repo, &current).await.map_err(be)?;
                    self.meta
                        .delete(&repo.namespace, &current.name())
                        .await
                        .map_err(|e| EngineError::internal(e.to_string()))?;
                    let meta = stored.unwrap_or_default();
                    let object = current.to_package_revision(repo, &meta, old.is_latest());
                    let current_name = current.name();
                    let after: Vec<&RevisionRecord> = found
                        .records
                        .iter()
                        .filter(|r| !r.is_named(&current_name))
                        .collect();
                    let relabelled = self.relabelled(repo, &found.records, &after, name).await?;
                    return Ok(UpdateOutcome {
                        object,
                        deleted: true,
                        relabelled,
                    });
                }
            }
        }
        // Latest may have moved (a publish); recompute over the updated list.
        let current_name = current.name();
        let records: Vec<&RevisionRecord> = found
            .records
            .iter()
            .filter(|r| !r.is_named(&current_name))
            .chain(std::iter::once(&current))
            .collect();
        let object = self.view(repo, records.iter().copied(), &current).await?;
        self.stored(&object).await;
        let relabelled = self
            .relabelled(repo, &found.records, &records, name)
            .await?;
        Ok(UpdateOutcome {
            object,
            deleted: false,
            relabelled,
        })
    }

    /// The stored revision an update starts from. An update whose git change is leased on the
    /// commit the caller read (a draft commit, propose, reject) starts from the cached listing
    /// when the request's resourceVersion is that commit: if another writer moved the ref, the
    /// push fails (409) and nothing is applied, so the fetch before it would only cost a round
    /// trip. Anything else (another resourceVersion, a publish, a deletion, a metadata-only
    /// change, which nothing in git would refuse) reads fresh.
    async fn read_for_update(
        &self,
        scope: &Scope,
        name: &str,
        request: &PackageRevision,
    ) -> Result<(super::Located, PackageRevision), EngineError> {
        // Only a change to Draft or Proposed can be leased on the read (see `leased_on_read`).
        let to = request.lifecycle();
        if matches!(to, Some(Lifecycle::Draft | Lifecycle::Proposed))
            && let Ok(found) = self.locate_cached(scope, name).await
            && found.record.commit == request.metadata.resource_version
            && leased_on_read(found.record.lifecycle, to)
        {
            let old = self
                .view(&found.repo, found.records.iter(), &found.record)
                .await?;
            if old.metadata.deletion_timestamp.is_none() {
                return Ok((found, old));
            }
        }
        let found = self.locate(scope, name).await?;
        let old = self
            .view(&found.repo, found.records.iter(), &found.record)
            .await?;
        Ok((found, old))
    }
}

/// Transitions whose first git change is leased on the revision's commit: every update of a
/// Draft commits on it (then maybe proposes), Proposed → Draft moves its ref.
fn leased_on_read(from: Lifecycle, to: Option<Lifecycle>) -> bool {
    matches!(
        (from, to),
        (
            Lifecycle::Draft,
            Some(Lifecycle::Draft | Lifecycle::Proposed)
        ) | (Lifecycle::Proposed, Some(Lifecycle::Draft))
    )
}
