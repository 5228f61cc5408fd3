//! [`RepositorySource`] over the git adapter (`porch-git`): one opened
//! [`porch_git::GitRepository`] (a bare cache) per Repository.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use jiff::Timestamp;
use porch_crds::config::v1alpha1::Repository;
use porch_crds::porch::v1alpha1::{
    Condition, ConditionStatus, GitLock, Locator, PackageMetadata, PackageRevisionLifecycle,
    ReadinessGate, Task,
};
use porch_crds::string_map::StringMap;
use porch_git::discovery::RevisionDiscovery;
use porch_git::{GitError, GitRepository, Lifecycle, PackageRevision, RepoConfig};
use tokio::sync::Mutex;

use crate::redact::redact_url;
use crate::source::{
    Access, Credentials, DiscoveredRevision, FetchedRepository, RepositorySource, SourceError,
};

/// What an opened repository was opened with; a change reopens it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OpenKey {
    url: String,
    branch: String,
    directory: String,
    create_branch: bool,
    author: Option<String>,
    email: Option<String>,
    credentials: Option<porch_git::Credentials>,
    ca_bundle: Option<String>,
}

/// The git [`RepositorySource`]: bare caches under `cache_dir/<namespace>/<name>`.
#[derive(Debug)]
pub struct GitRepositorySource {
    cache_dir: PathBuf,
    /// `namespace/name` -> the opened repository. One async lock per entry so that
    /// different repositories are fetched concurrently.
    repos: Mutex<HashMap<String, Arc<Mutex<Option<Opened>>>>>,
    /// `namespace/name` -> what its last fetch discovered.
    memos: std::sync::Mutex<HashMap<String, Memo>>,
}

/// What the last fetch of one repository discovered, so the next fetch re-reads only what
/// changed: nothing when the remote refs are the same (a no-change periodic sync is one
/// fetch round trip), else only the revisions whose ref, commit or lifecycle moved.
///
/// Kept compact (it lives as long as the repository is registered): each revision is a
/// fingerprint of its listing and its discovery as JSON, decoded again on reuse.
#[derive(Debug, Default)]
struct Memo {
    /// The remote refs' version and the answer's head commit.
    last: Option<LastFetch>,
    /// The revisions of the last fetch, in its order.
    entries: Vec<MemoEntry>,
}

#[derive(Debug)]
struct LastFetch {
    version: String,
    head_commit: String,
}

#[derive(Debug)]
struct MemoEntry {
    /// (ref, package path).
    key: (String, String),
    /// [`fingerprint`] of the listed revision.
    listed: u64,
    /// The [`DiscoveredRevision`] as JSON.
    discovered: Box<[u8]>,
}

impl MemoEntry {
    fn new(rev: &PackageRevision, discovered: &DiscoveredRevision) -> Option<Self> {
        Some(MemoEntry {
            key: (rev.git_ref.clone(), rev.full_path.clone()),
            listed: fingerprint(rev)?,
            discovered: serde_json::to_vec(discovered).ok()?.into_boxed_slice(),
        })
    }

    fn discovered(&self) -> Option<DiscoveredRevision> {
        serde_json::from_slice(&self.discovered).ok()
    }
}

/// A fingerprint of everything listing says about a revision: equal fingerprints mean an
/// unchanged revision (a 64-bit hash; a collision would only delay a refresh to the next
/// change).
fn fingerprint(rev: &PackageRevision) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let bytes = serde_json::to_vec(rev).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

impl Memo {
    /// The last answer again, when the remote refs are still at `version`.
    fn replay(&self, version: &str) -> Option<FetchedRepository> {
        let last = self.last.as_ref().filter(|l| l.version == version)?;
        let revisions = self
            .entries
            .iter()
            .map(MemoEntry::discovered)
            .collect::<Option<Vec<_>>>()?;
        Some(FetchedRepository {
            head_commit: last.head_commit.clone(),
            revisions,
            version: Some(last.version.clone()),
        })
    }
}

#[derive(Debug)]
struct Opened {
    key: OpenKey,
    repo: Arc<GitRepository>,
}

impl GitRepositorySource {
    /// A source keeping its bare caches under `cache_dir`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        GitRepositorySource {
            cache_dir: cache_dir.into(),
            repos: Mutex::new(HashMap::new()),
            memos: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn take_memo(&self, key: &str) -> Memo {
        let mut map = self.memos.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key).unwrap_or_default()
    }

    fn put_memo(&self, key: String, memo: Memo) {
        let mut map = self.memos.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(key, memo);
    }

    /// Refresh and list, reusing `memo` for what did not change; updates `memo`.
    async fn fetch_with(
        &self,
        git: &GitRepository,
        memo: &mut Memo,
    ) -> Result<FetchedRepository, SourceError> {
        let outcome = git.refresh().await.map_err(map_error)?;
        if let Some(fetched) = memo.replay(&outcome.version) {
            return Ok(fetched);
        }
        let listed = git.list().await.map_err(map_error)?;
        // What did not move is reused; the rest is discovered in one batch (one pass over
        // the cache, each commit decoded once).
        let previous: HashMap<(&str, &str), &MemoEntry> = memo
            .entries
            .iter()
            .map(|e| ((e.key.0.as_str(), e.key.1.as_str()), e))
            .collect();
        let mut slots: Vec<Option<DiscoveredRevision>> = Vec::with_capacity(listed.len());
        let mut todo: Vec<PackageRevision> = Vec::new();
        for rev in &listed {
            let reused = previous
                .get(&(rev.git_ref.as_str(), rev.full_path.as_str()))
                .filter(|e| Some(e.listed) == fingerprint(rev))
                .and_then(|e| e.discovered());
            if reused.is_none() {
                todo.push(rev.clone());
            }
            slots.push(reused);
        }
        drop(previous);
        let found = if todo.is_empty() {
            Vec::new()
        } else {
            git.discover_details(&todo).await.map_err(map_error)?
        };
        let mut kptfiles = KptfileCache::default();
        let mut found = todo.iter().zip(found);
        let mut revisions = Vec::with_capacity(listed.len());
        let mut entries = Vec::with_capacity(listed.len());
        for (rev, slot) in listed.into_iter().zip(slots) {
            let discovered = match slot {
                Some(d) => d,
                None => match found.next() {
                    Some((r, f)) => discovered(git.url(), r, f, &mut kptfiles),
                    None => {
                        return Err(SourceError::Other(format!(
                            "repository {}: discovery returned too few revisions",
                            redact_url(git.url())
                        )));
                    }
                },
            };
            // An entry that cannot be encoded is simply not remembered (rediscovered next time).
            entries.extend(MemoEntry::new(&rev, &discovered));
            revisions.push(discovered);
        }
        let fetched = FetchedRepository {
            head_commit: outcome.branch_head.unwrap_or_default(),
            revisions,
            version: Some(outcome.version.clone()),
        };
        // Replay needs every revision: a partial memo answers only changed-ref fetches.
        let complete = entries.len() == fetched.revisions.len();
        memo.entries = entries;
        memo.last = complete.then(|| LastFetch {
            version: outcome.version,
            head_commit: fetched.head_commit.clone(),
        });
        Ok(fetched)
    }

    /// The cache directory of one Repository.
    pub fn repo_cache_dir(&self, repo: &Repository) -> PathBuf {
        let (ns, name) = ns_name(repo);
        self.cache_dir
            .join(safe_segment(&ns))
            .join(safe_segment(&name))
    }

    async fn slot(&self, repo: &Repository) -> Arc<Mutex<Option<Opened>>> {
        let (ns, name) = ns_name(repo);
        let mut map = self.repos.lock().await;
        map.entry(format!("{ns}/{name}")).or_default().clone()
    }

    /// The opened repository for `repo`, opening (or reopening) it when its config changed.
    /// Returns whether it was opened just now (and so is freshly fetched).
    async fn open(
        &self,
        repo: &Repository,
        access: &Access,
    ) -> Result<(Arc<GitRepository>, bool), SourceError> {
        let config = repo_config(repo, access.credentials.as_ref())?;
        let key = OpenKey {
            url: config.url.clone(),
            branch: config.branch.clone(),
            directory: config.normalized_directory(),
            create_branch: config.create_branch,
            author: config.author.clone(),
            email: config.email.clone(),
            credentials: config.credentials.clone(),
            ca_bundle: access.ca_bundle.clone(),
        };
        let slot = self.slot(repo).await;
        let mut guard = slot.lock().await;
        if let Some(opened) = guard.as_ref()
            && opened.key == key
        {
            return Ok((opened.repo.clone(), false));
        }
        let dir = self.repo_cache_dir(repo);
        if let Some(old) = guard.take()
            && (old.key.url != key.url
                || old.key.branch != key.branch
                || old.key.directory != key.directory)
        {
            // A different remote or layout: start from an empty cache.
            drop(old);
            remove_dir(&dir).await;
        }
        let options = porch_git::ConnectionOptions {
            ca_bundle: access
                .ca_bundle
                .as_deref()
                .map(porch_git::CaBundle::from_pem),
            ..porch_git::ConnectionOptions::default()
        };
        let opened = GitRepository::open_with_options(config, &options, &dir)
            .await
            .map_err(map_error)?;
        let opened = Arc::new(opened);
        *guard = Some(Opened {
            key,
            repo: opened.clone(),
        });
        Ok((opened, true))
    }
}

impl RepositorySource for GitRepositorySource {
    fn fetch<'a>(
        &'a self,
        repo: &'a Repository,
        access: &'a Access,
    ) -> BoxFuture<'a, Result<FetchedRepository, SourceError>> {
        async move {
            let (git, fresh) = self.open(repo, access).await?;
            let (ns, name) = ns_name(repo);
            let key = format!("{ns}/{name}");
            // A repository opened just now (new, or its config changed) starts afresh.
            let mut memo = if fresh {
                Memo::default()
            } else {
                self.take_memo(&key)
            };
            let result = self.fetch_with(&git, &mut memo).await;
            self.put_memo(key, memo);
            result
        }
        .boxed()
    }

    fn check<'a>(
        &'a self,
        repo: &'a Repository,
        access: &'a Access,
    ) -> BoxFuture<'a, Result<Option<String>, SourceError>> {
        async move {
            // An incremental fetch: cheap when nothing changed, and it leaves the cache
            // ready for the full sync the changed version triggers.
            let (git, _) = self.open(repo, access).await?;
            let outcome = git.refresh().await.map_err(map_error)?;
            Ok(Some(outcome.version))
        }
        .boxed()
    }

    fn release<'a>(&'a self, repo: &'a Repository) -> BoxFuture<'a, ()> {
        async move {
            let (ns, name) = ns_name(repo);
            let key = format!("{ns}/{name}");
            drop(self.take_memo(&key));
            let slot = self.repos.lock().await.remove(&key);
            if let Some(slot) = slot {
                // Wait for any fetch in flight before deleting its cache.
                slot.lock().await.take();
            }
            remove_dir(&self.repo_cache_dir(repo)).await;
        }
        .boxed()
    }
}

fn ns_name(repo: &Repository) -> (String, String) {
    (
        repo.metadata.namespace.clone().unwrap_or_default(),
        repo.metadata.name.clone().unwrap_or_default(),
    )
}

/// Kubernetes names cannot hold `/` or `..`, but never let one escape the cache dir.
fn safe_segment(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

async fn remove_dir(dir: &Path) {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot remove git cache"),
    }
}

/// Maps the Repository CR and its resolved credentials to the adapter's config.
pub fn repo_config(
    repo: &Repository,
    credentials: Option<&Credentials>,
) -> Result<RepoConfig, SourceError> {
    let Some(spec) = repo.spec.git.as_ref() else {
        return Err(SourceError::Other(
            "repository has no spec.git: only git repositories are supported".to_string(),
        ));
    };
    let mut config = RepoConfig::new(spec.repo.clone());
    if !spec.branch.is_empty() {
        config.branch = spec.branch.clone();
    }
    config.directory = spec.directory.clone();
    config.create_branch = spec.create_branch;
    config.author = Some(spec.author.clone()).filter(|s| !s.is_empty());
    config.email = Some(spec.email.clone()).filter(|s| !s.is_empty());
    config.credentials = credentials.map(|c| match c {
        Credentials::Basic { username, password } => porch_git::Credentials::Basic {
            username: username.clone(),
            password: password.clone(),
        },
        Credentials::BearerToken(token) => porch_git::Credentials::Bearer {
            token: token.clone(),
        },
    });
    Ok(config)
}

/// Maps an adapter error to the controller's categories; the message names the URL
/// without credentials.
pub fn map_error(err: GitError) -> SourceError {
    let message = crate::redact::redact_urls_in(&err.to_string());
    match err {
        GitError::Unreachable { .. } => SourceError::Unreachable(message),
        GitError::Auth { .. } => SourceError::Auth(message),
        GitError::NotFound { .. } => SourceError::NotFound(message),
        _ => SourceError::Other(message),
    }
}

/// What the Kptfile contributes to a revision, parsed once per distinct text (the
/// placeholder and the latest tag of a package usually share it).
#[derive(Debug, Clone, Default)]
struct FromKptfile {
    upstream_lock: Option<Locator>,
    package_metadata: Option<PackageMetadata>,
    readiness_gates: Vec<ReadinessGate>,
    conditions: Vec<Condition>,
}

type KptfileCache = HashMap<String, FromKptfile>;

/// Builds everything the CR cache serves for one revision from what discovery found.
fn discovered(
    url: &str,
    rev: &PackageRevision,
    found: RevisionDiscovery,
    kptfiles: &mut KptfileCache,
) -> DiscoveredRevision {
    let details = found.details;
    let mut out = DiscoveredRevision {
        package_path: rev.key.package.clone(),
        workspace_name: rev.key.workspace.clone(),
        revision: rev.key.revision,
        lifecycle: lifecycle(rev.lifecycle),
        commit: rev.commit.clone(),
        tasks: decode_tasks(&details.tasks),
        self_lock: Some(self_lock(url, rev)),
        ..Default::default()
    };
    if rev.lifecycle.is_published() {
        out.published_by = details.published_by.unwrap_or_default();
        out.publish_timestamp = details
            .published_at
            .and_then(|s| Timestamp::from_second(s).ok());
    }
    if let Some(text) = found.kptfile {
        let parts = match kptfiles.get(&text) {
            Some(p) => p.clone(),
            None => {
                let p = from_kptfile(&text, url, &out.package_path);
                kptfiles.insert(text, p.clone());
                p
            }
        };
        out.upstream_lock = parts.upstream_lock;
        out.package_metadata = parts.package_metadata;
        out.readiness_gates = parts.readiness_gates;
        out.conditions = parts.conditions;
    }
    out
}

fn lifecycle(l: Lifecycle) -> PackageRevisionLifecycle {
    match l {
        Lifecycle::Draft => PackageRevisionLifecycle::Draft,
        Lifecycle::Proposed => PackageRevisionLifecycle::Proposed,
        Lifecycle::Published => PackageRevisionLifecycle::Published,
        Lifecycle::DeletionProposed => PackageRevisionLifecycle::DeletionProposed,
    }
}

/// Decodes the creation task; a task that does not decode is dropped (with a log), an
/// unknown type decodes as `TaskType::Other`.
pub fn decode_tasks(tasks: &[serde_json::Value]) -> Vec<Task> {
    tasks
        .iter()
        .filter_map(|t| match serde_json::from_value::<Task>(t.clone()) {
            Ok(task) => Some(task),
            Err(e) => {
                tracing::debug!(error = %e, "ignoring an undecodable task annotation");
                None
            }
        })
        .collect()
}

/// `refs/tags/basens/v1` -> `basens/v1`, `refs/heads/main` -> `main`.
pub fn short_ref(full: &str) -> &str {
    full.strip_prefix("refs/heads/")
        .or_else(|| full.strip_prefix("refs/tags/"))
        .or_else(|| full.strip_prefix("refs/"))
        .unwrap_or(full)
}

/// `{type: git, git: {repo, directory, ref, commit}}`. The directory is the package's path
/// in the repository tree (upstream uses the full path, equal to the package name when
/// the Repository's directory is the root).
pub fn self_lock(url: &str, rev: &PackageRevision) -> Locator {
    Locator {
        type_: "git".to_string(),
        git: Some(GitLock {
            repo: redact_url(url),
            directory: rev.full_path.clone(),
            ref_: short_ref(&rev.git_ref).to_string(),
            commit: rev.commit.clone(),
        }),
    }
}

/// Upstream lock, package metadata, readiness gates and conditions from the Kptfile. A
/// Kptfile that does not parse leaves them empty (the package still lists).
fn from_kptfile(text: &str, url: &str, package: &str) -> FromKptfile {
    let mut out = FromKptfile::default();
    let kptfile = match kpt::Kptfile::parse("Kptfile", text) {
        Ok(k) => k,
        Err(e) => {
            tracing::debug!(url = %redact_url(url), package = %package, error = %e,
                "cannot parse Kptfile");
            return out;
        }
    };
    out.upstream_lock = kptfile.upstream_lock.as_ref().map(|l| Locator {
        type_: l.origin_type.clone(),
        git: l.git.as_ref().map(|g| GitLock {
            repo: g.repo.clone(),
            directory: g.directory.clone(),
            ref_: g.r#ref.clone(),
            commit: g.commit.clone(),
        }),
    });
    let meta = &kptfile.metadata;
    if !meta.labels.is_empty() || !meta.annotations.is_empty() {
        out.package_metadata = Some(PackageMetadata {
            labels: Some(meta.labels.clone().into()).filter(|m: &StringMap| !m.is_empty()),
            annotations: Some(meta.annotations.clone().into())
                .filter(|m: &StringMap| !m.is_empty()),
        });
    }
    if let Some(info) = &kptfile.info {
        out.readiness_gates = info
            .readiness_gates
            .iter()
            .map(|g| ReadinessGate {
                condition_type: g.condition_type.clone(),
            })
            .collect();
    }
    if let Some(status) = &kptfile.status {
        out.conditions = status
            .conditions
            .iter()
            .map(|c| Condition {
                type_: c.condition_type.clone(),
                status: ConditionStatus::from(c.status.as_str()),
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod memo_tests {
    use super::*;
    use porch_git::PackageRevisionKey;

    fn listed(package: &str) -> PackageRevision {
        PackageRevision {
            key: PackageRevisionKey {
                package: package.into(),
                workspace: "v1".into(),
                revision: 1,
            },
            lifecycle: Lifecycle::Published,
            commit: "c".into(),
            git_ref: format!("refs/tags/{package}/v1"),
            full_path: package.into(),
            published_by: None,
            published_at: None,
        }
    }

    #[test]
    fn replay_answers_the_last_fetch_in_its_order_only_at_its_version() {
        let mut memo = Memo::default();
        for pkg in ["b", "a", "c"] {
            let found = DiscoveredRevision {
                package_path: pkg.into(),
                commit: format!("commit-of-{pkg}"),
                ..DiscoveredRevision::default()
            };
            memo.entries
                .push(MemoEntry::new(&listed(pkg), &found).unwrap());
        }
        memo.last = Some(LastFetch {
            version: "v-1".into(),
            head_commit: "head".into(),
        });
        let again = memo.replay("v-1").unwrap();
        assert_eq!(again.head_commit, "head");
        assert_eq!(again.version.as_deref(), Some("v-1"));
        let paths: Vec<&str> = again
            .revisions
            .iter()
            .map(|r| r.package_path.as_str())
            .collect();
        assert_eq!(paths, ["b", "a", "c"]);
        assert_eq!(again.revisions[1].commit, "commit-of-a");
        assert!(memo.replay("v-2").is_none());
    }

    #[test]
    fn a_revision_is_reused_only_while_its_listing_is_the_same() {
        let rev = listed("a");
        let mut moved = rev.clone();
        moved.commit = "d".into();
        assert_eq!(fingerprint(&rev), fingerprint(&rev.clone()));
        assert_ne!(fingerprint(&rev), fingerprint(&moved));
        let mut republished = rev.clone();
        republished.lifecycle = Lifecycle::DeletionProposed;
        assert_ne!(fingerprint(&rev), fingerprint(&republished));
    }
}
