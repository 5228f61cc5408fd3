//! The seams to storage. `RepositoryBackend` is implemented by the git adapter (and later OCI and
//! DB caches); `MetadataStore` by the PackageRev CR store (or the DB `meta` column). The engine
//! calls them only from the orchestrator, after every rule has passed.
//!
//! Contract shared by every method:
//! - `repo` is the Repository the revision belongs to; `rev` is a record previously returned by
//!   `list_revisions` (or by a mutating call), so `rev.commit` is the commit the caller saw.
//! - Mutations are compare-and-swap on `rev.commit`: if the ref moved meanwhile, return
//!   `BackendError::Stale` (the engine answers 409 "the object has been modified").
//! - Pushes are never forced; retries of retryable git errors happen inside the backend.
//! - Every mutation returns the new record (new commit = new resourceVersion).

use std::future::Future;

use crate::content_cache::PackageFiles;
use crate::model::{GitLock, GitPackage, PackageRevision, RepositoryInfo, StoredMeta, Task};
use crate::record::RevisionRecord;

/// What a commit records in its `kpt:` annotation (and which message it gets, porch-api.md §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitTask {
    /// The creation task (init, clone, edit, upgrade).
    Creation(Box<Task>),
    /// `Rendering package`, annotation task `{"type":"render"}`.
    Render,
}

/// One commit on a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftCommit {
    /// The whole package: files absent here are deleted.
    pub files: PackageFiles,
    pub task: CommitTask,
    /// The authenticated user for the author line; `None` for the default author.
    pub author: Option<String>,
}

/// Failures of a storage backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The revision (ref) no longer exists.
    #[error("{0}")]
    NotFound(String),
    /// The ref moved since `rev.commit` was read.
    #[error("{0}")]
    Stale(String),
    /// The caller may not write (e.g. metadata store 401/403).
    #[error("{0}")]
    Forbidden(String),
    /// Anything else (network, git, encoding).
    #[error("{0}")]
    Other(String),
}

/// The revisions of one repository as listed: shared, so that a read of one revision does not
/// copy a repository's thousands.
pub type Revisions = std::sync::Arc<[RevisionRecord]>;

/// Package revisions in one kind of repository.
pub trait RepositoryBackend: Send + Sync {
    /// Every revision of the repository: placeholders (branch head), drafts and proposed
    /// (`drafts/`, `proposed/` branches), published and deletion-proposed (tags).
    fn list_revisions(
        &self,
        repo: &RepositoryInfo,
    ) -> impl Future<Output = Result<Revisions, BackendError>> + Send;

    /// Like [`list_revisions`](Self::list_revisions) from what the backend already holds,
    /// without asking the remote: it may miss other writers' latest changes. The engine uses it
    /// only for writes leased on the commit the caller read (a stale view then fails the
    /// write, never applies it). The default lists.
    fn cached_revisions(
        &self,
        repo: &RepositoryInfo,
    ) -> impl Future<Output = Result<Revisions, BackendError>> + Send {
        self.list_revisions(repo)
    }

    /// The package files of `rev` at `rev.commit` (the engine caches them by commit).
    fn read_files(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> impl Future<Output = Result<PackageFiles, BackendError>> + Send;

    /// Creates a Draft: one commit on top of the branch head (no parent in an empty repo) with
    /// `commit.files` under `<directory>/<package_name>`, pushed as `drafts/<fullpath>/<ws>`.
    fn create_draft(
        &self,
        repo: &RepositoryInfo,
        package_name: &str,
        workspace: &str,
        commit: DraftCommit,
    ) -> impl Future<Output = Result<RevisionRecord, BackendError>> + Send;

    /// Adds a commit to the Draft `rev` (non-force push of its branch).
    fn update_draft(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
        commit: DraftCommit,
    ) -> impl Future<Output = Result<RevisionRecord, BackendError>> + Send;

    /// Draft → Proposed: push `proposed/<fullpath>/<ws>` at the same commit, delete `drafts/...`.
    fn propose(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> impl Future<Output = Result<RevisionRecord, BackendError>> + Send;

    /// Draft → Proposed after one more commit on the draft (the render of the update that
    /// proposes), as ONE change of the storage where it can: for git, one atomic push that
    /// holds the commit, creates `proposed/...` and deletes `drafts/...` (leased on
    /// `rev.commit`). The default runs [`update_draft`](Self::update_draft), then
    /// [`propose`](Self::propose).
    fn commit_and_propose(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
        commit: DraftCommit,
    ) -> impl Future<Output = Result<RevisionRecord, BackendError>> + Send {
        async move {
            let committed = self.update_draft(repo, rev, commit).await?;
            self.propose(repo, &committed).await
        }
    }

    /// Proposed → Draft: the reverse move.
    fn reject(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> impl Future<Output = Result<RevisionRecord, BackendError>> + Send;

    /// Proposed → Published as `revision`: the approval merge commit on the branch head
    /// (`Approving package revision <fullpath>/<N>`), tag `<fullpath>/v<N>`, delete the proposed
    /// branch. `published_by` is the author (approving user) when known. Two revisions of one
    /// package approved at the same time get the same `revision` from the engine; the backend
    /// must refuse to move an existing tag (`BackendError::Stale`), never overwrite it.
    fn approve(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
        revision: i64,
        published_by: Option<&str>,
    ) -> impl Future<Output = Result<RevisionRecord, BackendError>> + Send;

    /// Published → DeletionProposed: push `deletionProposed/<fullpath>/v<N>` (or `/<branch>`
    /// for the placeholder).
    fn propose_delete(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> impl Future<Output = Result<RevisionRecord, BackendError>> + Send;

    /// DeletionProposed → Published: delete that branch.
    fn undo_propose_delete(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> impl Future<Output = Result<RevisionRecord, BackendError>> + Send;

    /// Removes `rev`: its draft/proposed branch; or its tag and deletionProposed branch (the
    /// package stays on the branch); or, for the placeholder, a `Delete <fullpath>` commit on
    /// the branch plus the deletionProposed branch.
    fn delete(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Files and lock of a package in a plain git repository (clone `git{repo, ref, directory}`);
    /// `namespace` is where `secret_ref` is resolved.
    fn fetch_git_upstream(
        &self,
        namespace: &str,
        git: &GitPackage,
    ) -> impl Future<Output = Result<(PackageFiles, GitLock), BackendError>> + Send;
}

/// Kubernetes metadata of package revisions, stored outside git (PackageRev CRs).
pub trait MetadataStore: Send + Sync {
    /// `None` when nothing is stored (the engine then shows empty metadata).
    fn get(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<StoredMeta>, BackendError>> + Send;

    /// Creates or replaces. `BackendError::Forbidden` when the store refuses (401/403).
    fn put(
        &self,
        namespace: &str,
        name: &str,
        meta: StoredMeta,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Removes the entry; absent entries are not an error.
    fn delete(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// The engine wrote `revision` (the object it returns to the client). Stores that also
    /// cache served objects (the PackageRev spec/status) update them so readers see their own
    /// writes. A failure is logged, never fails the request: git stays the truth.
    fn revision_stored(
        &self,
        revision: &PackageRevision,
    ) -> impl Future<Output = Result<(), BackendError>> + Send {
        let _ = revision;
        async { Ok(()) }
    }
}
