//! [`GitBackend`]: the [`RepositoryBackend`] over `porch-git`. One opened [`GitRepository`]
//! per (namespace, Repository name), its bare cache under `<cache_dir>/<namespace>/<name>-<hash>`.
//! A Repository whose spec or credentials changed is reopened.
//!
//! Caching (all of it bounded by [`BackendOptions`]): the resolved Repository spec and Secret
//! are reused for `spec_ttl`; fetches go through [`SharedFetchRemote`] (shared when concurrent,
//! skipped within `fetch.fresh_for`); a listing is reused while the cache's refs are unchanged.
//! Writes never depend on those caches being current: porch-git pushes with leases.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use porch_git::config::split_url_credentials;
use porch_git::{
    Author, CaBundle, ConnectionOptions, Credentials, DraftChange, GitError, GitRepository,
    HttpRemote, NewDraft, RepoConfig, refs,
};
use sha2::Digest as _;

use super::cache_refs;
use super::fetch::{FetchPolicy, SharedFetchRemote};
use super::record::{self, KptfileFacts, kptfile_facts, kptfile_text_facts, record_of};
use super::upstream;
use crate::backend::{BackendError, CommitTask, DraftCommit, RepositoryBackend, Revisions};
use crate::content_cache::PackageFiles;
use crate::model::{GitLock, GitPackage, Lifecycle, RepositoryInfo, Task};
use crate::record::RevisionRecord;

/// What the backend needs from a Repository's `spec.git`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitRepoSpec {
    pub url: String,
    pub branch: String,
    pub directory: String,
    pub create_branch: bool,
    pub author: String,
    pub email: String,
    /// `spec.git.secretRef.name`, resolved in the Repository's namespace.
    pub secret_ref: Option<String>,
}

/// Where Repository git specs come from (the API server, or a fixed table).
pub trait RepositorySpecs: Send + Sync {
    fn git_spec(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<GitRepoSpec, BackendError>> + Send;
}

/// Where repository credentials come from. Implementations never log secret values.
pub trait CredentialSource: Send + Sync {
    /// The credentials in Secret `secret` of `namespace`.
    fn credentials(
        &self,
        namespace: &str,
        secret: &str,
    ) -> impl Future<Output = Result<Credentials, BackendError>> + Send;

    /// The PEM text under key `ca.crt` of Secret `secret` in `namespace` (the namespace CA
    /// bundle, see [`ca_bundle_secret_name`]). A missing secret is `NotFound`.
    fn ca_bundle(
        &self,
        namespace: &str,
        secret: &str,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;
}

/// A fixed table of Repository specs (embedded use and tests).
#[derive(Debug, Default)]
pub struct StaticRepositories {
    specs: Mutex<HashMap<(String, String), GitRepoSpec>>,
}

impl StaticRepositories {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&self, namespace: &str, name: &str, spec: GitRepoSpec) {
        lock(&self.specs).insert((namespace.to_owned(), name.to_owned()), spec);
    }
}

impl RepositorySpecs for StaticRepositories {
    async fn git_spec(&self, namespace: &str, name: &str) -> Result<GitRepoSpec, BackendError> {
        lock(&self.specs)
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| {
                BackendError::NotFound(format!("repository {namespace}/{name} not found"))
            })
    }
}

/// A fixed table of Secrets (embedded use and tests).
#[derive(Default)]
pub struct StaticCredentials {
    secrets: Mutex<HashMap<(String, String), Credentials>>,
    ca_bundles: Mutex<HashMap<(String, String), String>>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticCredentials { .. }")
    }
}

impl StaticCredentials {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&self, namespace: &str, secret: &str, credentials: Credentials) {
        lock(&self.secrets).insert((namespace.to_owned(), secret.to_owned()), credentials);
    }

    /// A CA bundle secret (`ca.crt` = `pem`).
    pub fn insert_ca_bundle(&self, namespace: &str, secret: &str, pem: &str) {
        lock(&self.ca_bundles).insert((namespace.to_owned(), secret.to_owned()), pem.to_owned());
    }
}

impl CredentialSource for StaticCredentials {
    async fn credentials(
        &self,
        namespace: &str,
        secret: &str,
    ) -> Result<Credentials, BackendError> {
        lock(&self.secrets)
            .get(&(namespace.to_owned(), secret.to_owned()))
            .cloned()
            // The API server's wording for a missing Secret.
            .ok_or_else(|| BackendError::NotFound(format!("secrets {secret:?} not found")))
    }

    async fn ca_bundle(&self, namespace: &str, secret: &str) -> Result<String, BackendError> {
        lock(&self.ca_bundles)
            .get(&(namespace.to_owned(), secret.to_owned()))
            .cloned()
            .ok_or_else(|| BackendError::NotFound(format!("secrets {secret:?} not found")))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Maps a git failure to the engine's kinds: a moved ref is `Stale` (409), a missing ref
/// `NotFound`, refused credentials `Forbidden`; the rest keeps git's message.
pub fn map_git_error(err: GitError) -> BackendError {
    match err {
        GitError::Conflict { .. } => BackendError::Stale(err.to_string()),
        GitError::NotFound { .. } => BackendError::NotFound(err.to_string()),
        GitError::Auth { .. } => BackendError::Forbidden(err.to_string()),
        GitError::Unreachable { .. } | GitError::Invalid { .. } | GitError::Other { .. } => {
            BackendError::Other(err.to_string())
        }
    }
}

struct Opened {
    connection: Connection,
    repo: Arc<GitRepository>,
}

/// How to reach a Repository: its spec with credentials, and the namespace CA bundle when
/// [`BackendOptions::use_user_ca_bundle`] is on. A change of either reopens the repository.
#[derive(Clone, PartialEq, Eq)]
struct Connection {
    config: RepoConfig,
    ca_bundle: Option<CaBundle>,
}

/// Upstream's CA bundle secret of a namespace: `<namespace>-ca-bundle`.
pub fn ca_bundle_secret_name(namespace: &str) -> String {
    format!("{namespace}-ca-bundle")
}

/// The key of the CA bundle secret holding the PEM certificates.
pub const CA_BUNDLE_KEY: &str = "ca.crt";

/// The backend's caching knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendOptions {
    /// Fetch sharing and the freshness window.
    pub fetch: FetchPolicy,
    /// How long a resolved Repository spec and its Secret are reused (`ZERO`: read every call).
    pub spec_ttl: Duration,
    /// Trust the CA bundle in Secret `<namespace>-ca-bundle` (key `ca.crt`) of the Repository's
    /// namespace for its HTTPS connections (upstream `--use-user-cabundle`). A missing secret is
    /// then an error for that Repository.
    pub use_user_ca_bundle: bool,
}

impl Default for BackendOptions {
    fn default() -> Self {
        Self {
            fetch: FetchPolicy::default(),
            spec_ttl: Duration::from_secs(2),
            use_user_ca_bundle: false,
        }
    }
}

/// A resolved Repository (spec + credentials + CA bundle) and when it was read.
struct Resolved {
    at: Instant,
    connection: Connection,
}

/// The records of one listing and the cache version (ref digest) they were built from.
struct Listing {
    version: String,
    records: Revisions,
}

type RepoKey = (String, String);

/// Per-commit facts that need a history walk or a Kptfile read (immutable per commit).
#[derive(Clone)]
struct Derived {
    task: Option<Task>,
    facts: KptfileFacts,
    published_by: Option<String>,
    published_at: Option<i64>,
}

/// A derivation's identity: commit, package path, revision and workspace.
type DerivedKey = (String, String, i64, String);

/// The git [`RepositoryBackend`].
pub struct GitBackend<S, C> {
    specs: S,
    credentials: C,
    cache_dir: PathBuf,
    options: BackendOptions,
    repos: tokio::sync::Mutex<HashMap<RepoKey, Opened>>,
    resolved: Mutex<HashMap<RepoKey, Resolved>>,
    listings: Mutex<HashMap<RepoKey, Listing>>,
    derived: Mutex<HashMap<DerivedKey, Derived>>,
    network_fetches: Arc<AtomicU64>,
    network_pushes: Arc<AtomicU64>,
}

/// The lifecycle changes that move a revision's refs without committing.
#[derive(Debug, Clone, Copy)]
enum RefMove {
    Propose,
    Reject,
    ProposeDelete,
    UndoProposeDelete,
}

impl<S: RepositorySpecs, C: CredentialSource> GitBackend<S, C> {
    pub fn new(specs: S, credentials: C, cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            specs,
            credentials,
            cache_dir: cache_dir.into(),
            options: BackendOptions::default(),
            repos: tokio::sync::Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
            listings: Mutex::new(HashMap::new()),
            derived: Mutex::new(HashMap::new()),
            network_fetches: Arc::new(AtomicU64::new(0)),
            network_pushes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Replaces the caching knobs (before first use).
    pub fn with_options(mut self, options: BackendOptions) -> Self {
        self.options = options;
        self
    }

    pub fn options(&self) -> BackendOptions {
        self.options
    }

    /// How many fetches reached a remote so far (opening a repository included).
    pub fn network_fetches(&self) -> u64 {
        self.network_fetches.load(Ordering::Relaxed)
    }

    /// How many pushes reached a remote so far (each one a network round trip).
    pub fn network_pushes(&self) -> u64 {
        self.network_pushes.load(Ordering::Relaxed)
    }

    /// The resolved spec, credentials and CA bundle of a Repository, reused for `spec_ttl`.
    async fn resolved(&self, info: &RepositoryInfo) -> Result<Connection, BackendError> {
        let key = (info.namespace.clone(), info.name.clone());
        let ttl = self.options.spec_ttl;
        if let Some(r) = lock(&self.resolved).get(&key)
            && r.at.elapsed() < ttl
        {
            return Ok(r.connection.clone());
        }
        let spec = self.specs.git_spec(&info.namespace, &info.name).await?;
        let config = self.config(&info.namespace, &spec).await?;
        let ca_bundle = if self.options.use_user_ca_bundle {
            Some(self.resolve_ca_bundle(&info.namespace).await?)
        } else {
            None
        };
        let connection = Connection { config, ca_bundle };
        if !ttl.is_zero() {
            lock(&self.resolved).insert(
                key,
                Resolved {
                    at: Instant::now(),
                    connection: connection.clone(),
                },
            );
        }
        Ok(connection)
    }

    /// The CA bundle of `namespace` (Secret `<namespace>-ca-bundle`, key `ca.crt`). Errors name
    /// the secret, never its content.
    async fn resolve_ca_bundle(&self, namespace: &str) -> Result<CaBundle, BackendError> {
        let secret = ca_bundle_secret_name(namespace);
        let pem = self
            .credentials
            .ca_bundle(namespace, &secret)
            .await
            .map_err(|e| {
                let message = format!(
                    "cannot resolve the CA bundle in secret {namespace}/{secret} (key {CA_BUNDLE_KEY}, \
                     read because --use-user-cabundle is set): {e}"
                );
                match e {
                    BackendError::NotFound(_) => BackendError::NotFound(message),
                    BackendError::Forbidden(_) => BackendError::Forbidden(message),
                    BackendError::Stale(_) | BackendError::Other(_) => BackendError::Other(message),
                }
            })?;
        Ok(CaBundle::from_pem(pem))
    }

    /// Opens the cache at `dir` with fetches shared through [`SharedFetchRemote`].
    async fn open(&self, connection: Connection, dir: PathBuf) -> Result<GitRepository, GitError> {
        let mut config = connection.config;
        let (url, url_credentials) = split_url_credentials(&config.url);
        config.url = url;
        if config.credentials.is_none() {
            config.credentials = url_credentials;
        }
        let options = ConnectionOptions {
            ca_bundle: connection.ca_bundle,
            ..ConnectionOptions::default()
        };
        let http = Arc::new(
            HttpRemote::new(&config.url, config.credentials.as_ref()).with_options(&options)?,
        );
        let remote = Arc::new(
            SharedFetchRemote::new(http, self.options.fetch, self.network_fetches.clone())
                .counting_pushes(self.network_pushes.clone()),
        );
        GitRepository::open_with_remote(config, dir, remote).await
    }

    pub fn specs(&self) -> &S {
        &self.specs
    }

    pub fn credential_source(&self) -> &C {
        &self.credentials
    }

    async fn config(
        &self,
        namespace: &str,
        spec: &GitRepoSpec,
    ) -> Result<RepoConfig, BackendError> {
        let credentials = match spec.secret_ref.as_deref().filter(|s| !s.is_empty()) {
            Some(secret) => Some(self.resolve_credentials(namespace, secret).await?),
            None => None,
        };
        Ok(RepoConfig {
            url: spec.url.clone(),
            branch: if spec.branch.is_empty() {
                "main".to_owned()
            } else {
                spec.branch.clone()
            },
            directory: spec.directory.clone(),
            create_branch: spec.create_branch,
            author: Some(spec.author.clone()).filter(|s| !s.is_empty()),
            email: Some(spec.email.clone()).filter(|s| !s.is_empty()),
            credentials,
        })
    }

    /// The credentials in Secret `secret` of `namespace` (only ever the namespace of the
    /// Repository or of the package revision being created), with upstream's message.
    async fn resolve_credentials(
        &self,
        namespace: &str,
        secret: &str,
    ) -> Result<Credentials, BackendError> {
        self.credentials
            .credentials(namespace, secret)
            .await
            .map_err(|e| {
                let message =
                    format!("cannot resolve credentials in a secret {namespace}/{secret}: {e}");
                match e {
                    BackendError::NotFound(_) => BackendError::NotFound(message),
                    BackendError::Forbidden(_) => BackendError::Forbidden(message),
                    BackendError::Stale(_) | BackendError::Other(_) => BackendError::Other(message),
                }
            })
    }

    /// The opened repository of `info` (opening or reopening it when its spec changed).
    pub async fn repository(
        &self,
        info: &RepositoryInfo,
    ) -> Result<Arc<GitRepository>, BackendError> {
        let connection = self.resolved(info).await?;
        let key = (info.namespace.clone(), info.name.clone());
        let mut repos = self.repos.lock().await;
        if let Some(o) = repos.get(&key)
            && o.connection == connection
        {
            return Ok(o.repo.clone());
        }
        let config = &connection.config;
        let digest = hex::encode(sha2::Sha256::digest(
            format!("{}\n{}\n{}", config.url, config.branch, config.directory).as_bytes(),
        ));
        let dir =
            self.cache_dir
                .join(&info.namespace)
                .join(format!("{}-{}", info.name, &digest[..12]));
        let repo = Arc::new(
            self.open(connection.clone(), dir)
                .await
                .map_err(map_git_error)?,
        );
        lock(&self.listings).remove(&key);
        repos.insert(
            key,
            Opened {
                connection,
                repo: repo.clone(),
            },
        );
        Ok(repo)
    }

    fn derived_key(rev: &porch_git::PackageRevision) -> DerivedKey {
        (
            rev.commit.clone(),
            rev.full_path.clone(),
            rev.key.revision,
            rev.key.workspace.clone(),
        )
    }

    /// What an earlier listing derived for `rev`, with its current publication info.
    fn cached_derived(&self, rev: &porch_git::PackageRevision) -> Option<Derived> {
        let mut d = lock(&self.derived).get(&Self::derived_key(rev))?.clone();
        if rev.key.revision != crate::record::PLACEHOLDER_REVISION {
            d.published_by.clone_from(&rev.published_by);
            d.published_at = rev.published_at;
        }
        Some(d)
    }

    /// Derives every revision of `listed` (in order): remembered ones from the cache, the
    /// rest in one discovery pass over the repository (each commit decoded once), not a
    /// history walk and a file read per revision.
    async fn derive_all(
        &self,
        repo: &GitRepository,
        listed: &[porch_git::PackageRevision],
    ) -> Result<Vec<Derived>, BackendError> {
        let mut derived: Vec<Option<Derived>> =
            listed.iter().map(|rev| self.cached_derived(rev)).collect();
        let missing: Vec<porch_git::PackageRevision> = listed
            .iter()
            .zip(&derived)
            .filter(|(_, d)| d.is_none())
            .map(|(rev, _)| rev.clone())
            .collect();
        if !missing.is_empty() {
            let found = repo
                .discover_details(&missing)
                .await
                .map_err(map_git_error)?;
            let mut found = missing.iter().zip(found);
            for slot in derived.iter_mut().filter(|d| d.is_none()) {
                let Some((rev, discovery)) = found.next() else {
                    // Caught below: records must never pair with another revision's facts.
                    break;
                };
                let d = Derived {
                    task: record::creation_task(&discovery.details.tasks),
                    facts: kptfile_text_facts(discovery.kptfile.as_deref()),
                    published_by: discovery.details.published_by,
                    published_at: discovery.details.published_at,
                };
                lock(&self.derived).insert(Self::derived_key(rev), d.clone());
                *slot = Some(d);
            }
        }
        derived
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                BackendError::Other(format!(
                    "{}: discovery answered for fewer revisions than listed",
                    repo.url()
                ))
            })
    }

    fn to_record(
        &self,
        info: &RepositoryInfo,
        repo: &GitRepository,
        rev: &porch_git::PackageRevision,
        d: Derived,
    ) -> RevisionRecord {
        record_of(
            &info.name,
            repo.url(),
            rev,
            d.task,
            d.facts,
            d.published_by,
            d.published_at,
        )
    }

    /// The records of a repository: after a refresh when `fresh`, else from the cache as it is
    /// (no network). Reused while the cache's refs are unchanged.
    async fn listing(&self, info: &RepositoryInfo, fresh: bool) -> Result<Revisions, BackendError> {
        let repo = self.repository(info).await?;
        let version = if fresh {
            repo.refresh().await.map_err(map_git_error)?.version
        } else {
            repo.version().await.map_err(map_git_error)?
        };
        let key = (info.namespace.clone(), info.name.clone());
        if let Some(l) = lock(&self.listings).get(&key)
            && l.version == version
        {
            return Ok(l.records.clone());
        }
        let listed = repo.list().await.map_err(map_git_error)?;
        let derived = self.derive_all(&repo, &listed).await?;
        let out: Revisions = listed
            .iter()
            .zip(derived)
            .map(|(rev, d)| self.to_record(info, &repo, rev, d))
            .collect();
        lock(&self.listings).insert(
            key,
            Listing {
                version,
                records: out.clone(),
            },
        );
        Ok(out)
    }

    /// The git view of an engine record (refs from the layout; the lease is `rev.commit`).
    /// A lifecycle change that only moves refs (no new commit): the lease is the revision's commit.
    async fn move_ref(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
        how: RefMove,
    ) -> Result<RevisionRecord, BackendError> {
        let repo = self.repository(info).await?;
        let g = self.git_rev(&repo, rev);
        let out = match how {
            RefMove::Propose => repo.propose(&g).await,
            RefMove::Reject => repo.reject(&g).await,
            RefMove::ProposeDelete => repo.propose_delete(&g).await,
            RefMove::UndoProposeDelete => repo.undo_propose_delete(&g).await,
        }
        .map_err(map_git_error)?;
        Ok(moved(rev, &out))
    }

    fn git_rev(&self, repo: &GitRepository, rev: &RevisionRecord) -> porch_git::PackageRevision {
        let directory = repo.config().normalized_directory();
        let full_path = refs::full_path(&directory, &rev.package_name);
        porch_git::PackageRevision {
            key: porch_git::PackageRevisionKey {
                package: rev.package_name.clone(),
                workspace: rev.workspace_name.clone(),
                revision: rev.revision,
            },
            lifecycle: record::lifecycle_to_git(rev.lifecycle),
            commit: rev.commit.clone(),
            git_ref: record::git_ref_of(rev, &full_path, &repo.config().branch),
            full_path,
            published_by: rev.published_by.clone(),
            published_at: None,
        }
    }

    /// The record after a commit whose files (and so Kptfile facts) are known.
    fn committed(
        &self,
        info: &RepositoryInfo,
        repo: &GitRepository,
        rev: &porch_git::PackageRevision,
        task: Option<Task>,
        files: &PackageFiles,
    ) -> RevisionRecord {
        let d = Derived {
            task,
            facts: kptfile_facts(files),
            published_by: None,
            published_at: None,
        };
        self.to_record(info, repo, rev, d)
    }

    /// Checks the cached ref still points at `rev.commit` (after a refresh).
    async fn current(
        &self,
        repo: &GitRepository,
        rev: &RevisionRecord,
    ) -> Result<porch_git::PackageRevision, BackendError> {
        repo.refresh().await.map_err(map_git_error)?;
        let listed = repo.list().await.map_err(map_git_error)?;
        let found = listed
            .into_iter()
            .find(|g| {
                g.key.package == rev.package_name
                    && g.key.workspace == rev.workspace_name
                    && g.key.revision == rev.revision
                    && g.lifecycle.is_published() == rev.lifecycle.is_published()
            })
            .ok_or_else(|| {
                BackendError::NotFound(format!("package revision {} not found", rev.name()))
            })?;
        if found.commit != rev.commit {
            return Err(BackendError::Stale(format!(
                "{} moved from {} to {}",
                found.git_ref, rev.commit, found.commit
            )));
        }
        Ok(found)
    }
}

fn task_json(task: &CommitTask) -> Option<serde_json::Value> {
    match task {
        CommitTask::Creation(t) => record::task_json(t),
        CommitTask::Render => Some(serde_json::json!({"type": "render"})),
    }
}

fn author(user: Option<&str>) -> Option<Author> {
    user.filter(|u| !u.is_empty()).map(Author::user)
}

impl<S: RepositorySpecs, C: CredentialSource> RepositoryBackend for GitBackend<S, C> {
    async fn list_revisions(&self, info: &RepositoryInfo) -> Result<Revisions, BackendError> {
        self.listing(info, true).await
    }

    async fn cached_revisions(&self, info: &RepositoryInfo) -> Result<Revisions, BackendError> {
        self.listing(info, false).await
    }

    async fn read_files(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<PackageFiles, BackendError> {
        let repo = self.repository(info).await?;
        let g = self.git_rev(&repo, rev);
        repo.read_files(&g).await.map_err(map_git_error)
    }

    async fn create_draft(
        &self,
        info: &RepositoryInfo,
        package_name: &str,
        workspace: &str,
        commit: DraftCommit,
    ) -> Result<RevisionRecord, BackendError> {
        let repo = self.repository(info).await?;
        let task = match &commit.task {
            CommitTask::Creation(t) => Some((**t).clone()),
            CommitTask::Render => None,
        };
        let g = repo
            .create_draft(NewDraft {
                package: package_name.to_owned(),
                workspace: workspace.to_owned(),
                files: commit.files.clone(),
                task: task_json(&commit.task),
                user: author(commit.author.as_deref()),
            })
            .await
            .map_err(map_git_error)?;
        Ok(self.committed(info, &repo, &g, task, &commit.files))
    }

    async fn update_draft(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
        commit: DraftCommit,
    ) -> Result<RevisionRecord, BackendError> {
        let repo = self.repository(info).await?;
        let g = self.git_rev(&repo, rev);
        let user = author(commit.author.as_deref());
        let out = repo
            .update_draft(
                &g,
                commit.files.clone(),
                task_json(&commit.task),
                user.as_ref(),
            )
            .await
            .map_err(map_git_error)?;
        Ok(self.committed(info, &repo, &out, rev.task.clone(), &commit.files))
    }

    async fn propose(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<RevisionRecord, BackendError> {
        self.move_ref(info, rev, RefMove::Propose).await
    }

    async fn commit_and_propose(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
        commit: DraftCommit,
    ) -> Result<RevisionRecord, BackendError> {
        let repo = self.repository(info).await?;
        let g = self.git_rev(&repo, rev);
        let change = DraftChange {
            files: commit.files.clone(),
            task: task_json(&commit.task),
            user: author(commit.author.as_deref()),
        };
        let out = repo
            .commit_and_move(&g, Some(change), porch_git::Lifecycle::Proposed)
            .await
            .map_err(map_git_error)?;
        Ok(self.committed(info, &repo, &out, rev.task.clone(), &commit.files))
    }

    async fn reject(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<RevisionRecord, BackendError> {
        self.move_ref(info, rev, RefMove::Reject).await
    }

    async fn approve(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
        revision: i64,
        published_by: Option<&str>,
    ) -> Result<RevisionRecord, BackendError> {
        let repo = self.repository(info).await?;
        let g = self.git_rev(&repo, rev);
        // porch-git numbers the tag itself (1 + the package's highest tag, never moving a tag)
        // and refuses (a conflict: 409) when that is above the number the engine decided:
        // another writer published first. It reads the package's tag names only (no listing)
        // and starts from the cache the engine just read (no second fetch): its push leases on
        // the draft ref, the branch head and the new tag refuse anything that moved since, and
        // it fetches before retrying.
        let out = repo
            .approve_as(&g, revision, author(published_by).as_ref())
            .await
            .map_err(map_git_error)?;
        if out.key.revision != revision {
            tracing::warn!(
                package = %out.full_path,
                expected = revision,
                published = out.key.revision,
                "published under a different revision number than planned"
            );
        }
        let mut record = record_of(
            &info.name,
            repo.url(),
            &out,
            rev.task.clone(),
            KptfileFacts {
                package_metadata: rev.package_metadata.clone(),
                readiness_gates: rev.readiness_gates.clone(),
                conditions: rev.conditions.clone(),
                upstream_lock: rev.upstream_lock.clone(),
            },
            out.published_by.clone(),
            out.published_at,
        );
        record.lifecycle = Lifecycle::Published;
        Ok(record)
    }

    async fn propose_delete(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<RevisionRecord, BackendError> {
        self.move_ref(info, rev, RefMove::ProposeDelete).await
    }

    async fn undo_propose_delete(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<RevisionRecord, BackendError> {
        self.move_ref(info, rev, RefMove::UndoProposeDelete).await
    }

    async fn delete(
        &self,
        info: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<(), BackendError> {
        let repo = self.repository(info).await?;
        let g = if rev.lifecycle.is_published() && rev.revision > 0 {
            // The push leases the tag on its cached value, checked here to be the commit the
            // caller read: a tag that moved or went away on the remote refuses the deletion.
            // No fetch first (the read that found the revision fetched); after a refusal
            // porch-git has fetched, so the check says which of the two happened.
            let g = self.git_rev(&repo, rev);
            let tag = refs::tag_ref(&g.full_path, rev.revision);
            tag_names_commit(&repo, &tag, rev).await?;
            return match repo.delete(&g, None).await {
                Err(GitError::Conflict { .. }) => {
                    tag_names_commit(&repo, &tag, rev).await?;
                    Err(BackendError::Stale(format!(
                        "{tag} changed on the remote; refresh and retry"
                    )))
                }
                other => other.map_err(map_git_error),
            };
        } else if rev.lifecycle.is_published() {
            // The placeholder: the branch head read must still be current.
            self.current(&repo, rev).await?
        } else {
            self.git_rev(&repo, rev)
        };
        repo.delete(&g, None).await.map_err(map_git_error)
    }

    async fn fetch_git_upstream(
        &self,
        namespace: &str,
        git: &GitPackage,
    ) -> Result<(PackageFiles, GitLock), BackendError> {
        let credentials = match git.secret_ref.as_deref().filter(|s| !s.is_empty()) {
            Some(secret) => Some(self.resolve_credentials(namespace, secret).await?),
            None => None,
        };
        // The namespace's CA bundle when there is one; a public upstream needs none.
        let ca_bundle = if self.options.use_user_ca_bundle {
            match self.resolve_ca_bundle(namespace).await {
                Ok(bundle) => Some(bundle),
                Err(BackendError::NotFound(_)) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        upstream::fetch(
            &self.cache_dir.join(".upstream"),
            git,
            credentials.as_ref(),
            ca_bundle,
        )
        .await
    }
}

/// The cached `tag` still names `rev.commit`: else `NotFound` (gone) or `Stale` (moved).
async fn tag_names_commit(
    repo: &GitRepository,
    tag: &str,
    rev: &RevisionRecord,
) -> Result<(), BackendError> {
    match cache_refs::peeled_commit(repo.cache_dir(), tag).await? {
        None => Err(BackendError::NotFound(format!(
            "package revision {} not found",
            rev.name()
        ))),
        Some(c) if c != rev.commit => Err(BackendError::Stale(format!(
            "{tag} moved from {} to {c}",
            rev.commit
        ))),
        Some(_) => Ok(()),
    }
}

/// `rev` moved to another ref (same commit): only the lifecycle and self lock change.
fn moved(rev: &RevisionRecord, out: &porch_git::PackageRevision) -> RevisionRecord {
    let mut r = rev.clone();
    r.lifecycle = record::lifecycle_from_git(out.lifecycle);
    r.commit.clone_from(&out.commit);
    if let Some(lock) = r.self_lock.as_mut() {
        record::short_ref(&out.git_ref).clone_into(&mut lock.git_ref);
        lock.commit.clone_from(&out.commit);
    }
    r
}
