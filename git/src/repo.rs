//! The repository adapter: an async API over a local bare cache, a
//! [`GitRemote`] and upstream's git layout (`spec/porch-api.md` §6).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gix::ObjectId;
use sha2::Digest as _;

use crate::annotation::{self, CommitAnnotation};
use crate::config::{Author, ConnectionOptions, RepoConfig, split_url_credentials};
use crate::error::{GitError, Result};
use crate::listing::{self, Layout};
use crate::objects;
use crate::refs;
use crate::remote::{GitRemote, HttpRemote, RefUpdate, local_refs};
use crate::types::{
    Lifecycle, PackageRevision, PackageRevisionKey, RefreshOutcome, RevisionDetails,
};

mod commit_and_move;
mod numbered;
mod record_push;

pub use commit_and_move::DraftChange;

/// How many times an approval or placeholder deletion is built when the
/// Repository branch moved under us, unless [`ConnectionOptions::retry`] says
/// otherwise (upstream `--repo-operation-retry-attempts`).
const BRANCH_RETRIES: u32 = 3;

/// A new draft.
#[derive(Debug, Clone)]
pub struct NewDraft {
    /// Package path relative to the Repository directory.
    pub package: String,
    pub workspace: String,
    /// The package's files (paths relative to the package). Must contain `Kptfile`.
    pub files: BTreeMap<String, String>,
    /// The creating task (`init`, `clone`, `edit`, `upgrade`...), kept as JSON.
    pub task: Option<serde_json::Value>,
    /// The Kubernetes user making the change, if any.
    pub user: Option<Author>,
}

/// One registered git repository.
pub struct GitRepository {
    config: RepoConfig,
    directory: String,
    cache: PathBuf,
    remote: Arc<dyn GitRemote>,
    lock: tokio::sync::Mutex<()>,
    branch_retries: u32,
    /// `(version, branch head)` of the cache's refs, valid until a fetch or a
    /// recorded push changes them (only this repository writes the cache's refs).
    known_version: std::sync::Mutex<KnownVersion>,
    /// What listing derived per ref target (immutable, so never stale).
    pub(crate) list_memo: Arc<listing::ListMemo>,
    /// Commits decoded by [`discover_details`](Self::discover_details), kept for later syncs.
    pub(crate) commits: crate::discovery::CommitMemo,
}

impl std::fmt::Debug for GitRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitRepository")
            .field("url", &self.config.url)
            .field("branch", &self.config.branch)
            .field("directory", &self.directory)
            .field("cache", &self.cache)
            .finish()
    }
}

impl GitRepository {
    /// Opens (or creates) the bare cache at `cache_dir`, fetches, and checks the
    /// branch: created when `create_branch` is set, else a missing branch is
    /// [`GitError::NotFound`] (`branch "main" not found in repository`).
    pub async fn open(config: RepoConfig, cache_dir: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with_options(config, &ConnectionOptions::default(), cache_dir).await
    }

    /// Like [`open`](Self::open) with a CA bundle and a retry policy (upstream's
    /// `<namespace>-ca-bundle` secret and `--repo-operation-retry-attempts` /
    /// `--retryable-git-errors`).
    pub async fn open_with_options(
        config: RepoConfig,
        options: &ConnectionOptions,
        cache_dir: impl Into<PathBuf>,
    ) -> Result<Self> {
        let mut config = config;
        let (url, url_creds) = split_url_credentials(&config.url);
        config.url = url;
        if config.credentials.is_none() {
            config.credentials = url_creds;
        }
        let remote = Arc::new(
            HttpRemote::new(&config.url, config.credentials.as_ref()).with_options(options)?,
        );
        let mut this = Self::open_with_remote(config, cache_dir, remote).await?;
        this.branch_retries = options.retry.attempts.max(1);
        Ok(this)
    }

    /// Like [`open`](Self::open) with a custom remote implementation.
    pub async fn open_with_remote(
        config: RepoConfig,
        cache_dir: impl Into<PathBuf>,
        remote: Arc<dyn GitRemote>,
    ) -> Result<Self> {
        let cache: PathBuf = cache_dir.into();
        let url = remote.url().to_string();
        if config.branch.is_empty() {
            return Err(GitError::invalid(&url, "spec.git.branch must not be empty"));
        }
        let directory = config.normalized_directory();
        let this = GitRepository {
            config,
            directory,
            cache,
            remote,
            lock: tokio::sync::Mutex::new(()),
            branch_retries: BRANCH_RETRIES,
            known_version: std::sync::Mutex::new(KnownVersion::default()),
            list_memo: Arc::new(listing::ListMemo::default()),
            commits: Default::default(),
        };
        {
            let cache = this.cache.clone();
            this.blocking(move |url| {
                if cache.join("HEAD").exists() {
                    return Ok(());
                }
                std::fs::create_dir_all(&cache).map_err(|e| {
                    GitError::other(url, format!("cannot create cache {}: {e}", cache.display()))
                })?;
                gix::init_bare(&cache)
                    .map(|_| ())
                    .map_err(|e| crate::error::local(url, "cannot initialise cache", &e))
            })
            .await?;
        }
        let _guard = this.lock.lock().await;
        this.fetch().await?;
        if this.branch_head().await?.is_none() {
            if !this.config.create_branch {
                return Err(GitError::not_found(
                    &url,
                    format!("branch {:?} not found in repository", this.config.branch),
                ));
            }
            this.create_branch().await?;
        }
        drop(_guard);
        Ok(this)
    }

    /// The remote URL (without credentials).
    pub fn url(&self) -> &str {
        self.remote.url()
    }

    /// The configuration this repository was opened with (URL without credentials).
    pub fn config(&self) -> &RepoConfig {
        &self.config
    }

    /// The local bare cache directory.
    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// Fetches changes (incremental, pruning deleted refs) and reports the new version.
    pub async fn refresh(&self) -> Result<RefreshOutcome> {
        let _guard = self.lock.lock().await;
        let fetched = self.fetch().await?;
        let (version, branch_head) = self.version_and_head().await?;
        let recorded = self.take_unreported_push();
        Ok(RefreshOutcome {
            version,
            changed: fetched.changed || recorded,
            branch_head,
        })
    }

    /// SHA-256 over all cached ref names and ids (upstream `Version`), no network.
    pub async fn version(&self) -> Result<String> {
        Ok(self.version_and_head().await?.0)
    }

    /// Every package revision in the cache: placeholders from the branch, drafts
    /// and proposed from their branches, published from tags. No network.
    pub async fn list(&self) -> Result<Vec<PackageRevision>> {
        let branch = self.config.branch.clone();
        let directory = self.directory.clone();
        let memo = self.list_memo.clone();
        self.with_repo(move |repo, url| {
            let remote_refs = remote_ref_map(repo, url)?;
            listing::list(
                repo,
                &Layout {
                    branch: &branch,
                    directory: &directory,
                },
                &remote_refs,
                &memo,
            )
            .map_err(|m| GitError::other(url, m))
        })
        .await
    }

    /// Hits and misses of the listing memo (what [`list`](Self::list) derived
    /// per ref target): after a ref change only new targets are misses.
    pub fn list_memo_stats(&self) -> listing::MemoStats {
        self.list_memo.stats()
    }

    /// The packages (paths relative to the directory) at the branch head.
    pub async fn list_packages(&self) -> Result<Vec<String>> {
        let branch_ref = refs::to_local(&refs::branch_ref(&self.config.branch)).unwrap_or_default();
        let directory = self.directory.clone();
        self.with_repo(move |repo, url| {
            let Some(head) = find_local(repo, url, &branch_ref)? else {
                return Ok(Vec::new());
            };
            let tree = objects::commit_tree(repo, head).map_err(|m| GitError::other(url, m))?;
            let found = objects::discover_packages(repo, tree, &directory)
                .map_err(|m| GitError::other(url, m))?;
            Ok(found
                .iter()
                .filter_map(|p| refs::package_in_directory(p, &directory))
                .collect())
        })
        .await
    }

    /// The files of a revision at its commit (paths relative to the package).
    pub async fn read_files(&self, rev: &PackageRevision) -> Result<BTreeMap<String, String>> {
        let commit = self.parse_id(&rev.commit)?;
        let full_path = rev.full_path.clone();
        self.with_repo(move |repo, url| {
            let tree = objects::commit_tree(repo, commit).map_err(|m| GitError::other(url, m))?;
            objects::read_files(repo, tree, &full_path).map_err(|m| GitError::other(url, m))
        })
        .await
    }

    /// Tasks and publication info (history walks; not part of [`list`](Self::list)).
    pub async fn revision_details(&self, rev: &PackageRevision) -> Result<RevisionDetails> {
        let commit = self.parse_id(&rev.commit)?;
        let rev = rev.clone();
        self.with_repo(move |repo, url| {
            crate::discovery::details_by_walk(repo, commit, &rev)
                .map_err(|m| GitError::other(url, m))
        })
        .await
    }

    /// Creates a draft: one commit on top of the branch head (no parent in an
    /// empty repository) holding the files, pushed as `drafts/<fullpath>/<ws>`.
    pub async fn create_draft(&self, draft: NewDraft) -> Result<PackageRevision> {
        let _guard = self.lock.lock().await;
        let url = self.url().to_string();
        validate_segment(&url, "package", &draft.package, true)?;
        validate_segment(&url, "workspace", &draft.workspace, false)?;
        require_kptfile(&url, &draft.files)?;
        let full_path = refs::full_path(&self.directory, &draft.package);
        let branch_ref = refs::to_local(&refs::branch_ref(&self.config.branch)).unwrap_or_default();
        let author = self.config.commit_author(draft.user.as_ref());
        let annotation = CommitAnnotation {
            package: full_path.clone(),
            workspace_name: draft.workspace.clone(),
            revision: "0".to_string(),
            task: draft.task.clone(),
        };
        let files = draft.files.clone();
        let fp = full_path.clone();
        let commit = self
            .with_repo(move |repo, url| {
                let wrap = |m: String| GitError::other(url, m);
                let head = find_local(repo, url, &branch_ref)?;
                let base_tree = match head {
                    Some(h) => objects::commit_tree(repo, h).map_err(wrap)?,
                    None => ObjectId::empty_tree(repo.object_hash()),
                };
                reject_nesting(repo, url, base_tree, &fp)?;
                let pkg_tree = objects::write_files_tree(repo, &files)
                    .map_err(|m| GitError::invalid(url, m))?;
                let tree =
                    objects::replace_subtree(repo, base_tree, &fp, Some(pkg_tree)).map_err(wrap)?;
                let parents: Vec<ObjectId> = head.into_iter().collect();
                objects::write_commit(
                    repo,
                    &author,
                    &annotation::mutation_message(&annotation),
                    tree,
                    &parents,
                )
                .map_err(wrap)
            })
            .await?;
        let git_ref = refs::draft_ref(&full_path, &draft.workspace);
        self.push_and_record(vec![RefUpdate {
            name: git_ref.clone(),
            expected: None,
            new: Some(commit),
        }])
        .await?;
        Ok(PackageRevision {
            key: PackageRevisionKey {
                package: draft.package,
                workspace: draft.workspace,
                revision: 0,
            },
            lifecycle: Lifecycle::Draft,
            commit: commit.to_string(),
            git_ref,
            full_path,
            published_by: None,
            published_at: None,
        })
    }

    /// Replaces the files of a draft with one new commit (message per task) and
    /// pushes it with a lease on the commit the caller read.
    pub async fn update_draft(
        &self,
        rev: &PackageRevision,
        files: BTreeMap<String, String>,
        task: Option<serde_json::Value>,
        user: Option<&Author>,
    ) -> Result<PackageRevision> {
        let _guard = self.lock.lock().await;
        let parent = self.parse_id(&rev.commit)?;
        let commit = self.build_draft_commit(rev, files, task, user).await?;
        self.push_and_record(vec![RefUpdate {
            name: rev.git_ref.clone(),
            expected: Some(parent),
            new: Some(commit),
        }])
        .await?;
        let mut out = rev.clone();
        out.commit = commit.to_string();
        Ok(out)
    }

    /// Writes (without pushing) one commit on top of `rev.commit` replacing the
    /// package's files, annotated with `task` (message per task).
    async fn build_draft_commit(
        &self,
        rev: &PackageRevision,
        files: BTreeMap<String, String>,
        task: Option<serde_json::Value>,
        user: Option<&Author>,
    ) -> Result<ObjectId> {
        let url = self.url().to_string();
        if !matches!(rev.lifecycle, Lifecycle::Draft | Lifecycle::Proposed) {
            return Err(GitError::invalid(
                &url,
                format!(
                    "cannot update resources of a {} package revision",
                    rev.lifecycle
                ),
            ));
        }
        require_kptfile(&url, &files)?;
        let parent = self.parse_id(&rev.commit)?;
        let author = self.config.commit_author(user);
        let annotation = CommitAnnotation {
            package: rev.full_path.clone(),
            workspace_name: rev.key.workspace.clone(),
            revision: "0".to_string(),
            task,
        };
        let fp = rev.full_path.clone();
        self.with_repo(move |repo, url| {
            let wrap = |m: String| GitError::other(url, m);
            let base_tree = objects::commit_tree(repo, parent).map_err(wrap)?;
            let pkg_tree =
                objects::write_files_tree(repo, &files).map_err(|m| GitError::invalid(url, m))?;
            let tree =
                objects::replace_subtree(repo, base_tree, &fp, Some(pkg_tree)).map_err(wrap)?;
            objects::write_commit(
                repo,
                &author,
                &annotation::mutation_message(&annotation),
                tree,
                &[parent],
            )
            .map_err(wrap)
        })
        .await
    }

    /// Draft → Proposed: push `proposed/...`, delete `drafts/...`, atomically.
    pub async fn propose(&self, rev: &PackageRevision) -> Result<PackageRevision> {
        self.commit_and_move(rev, None, Lifecycle::Proposed).await
    }

    /// Proposed → Draft.
    pub async fn reject(&self, rev: &PackageRevision) -> Result<PackageRevision> {
        self.commit_and_move(rev, None, Lifecycle::Draft).await
    }

    /// Publishes a draft or proposed revision: fetch, build the approval commit
    /// on the branch head (parents: branch head, draft head), then push the
    /// branch, the `<fullpath>/vN` tag and the draft branch deletion atomically.
    /// Rebuilt (up to the retry attempts, default 3) if only the branch moved.
    pub async fn approve(
        &self,
        rev: &PackageRevision,
        user: Option<&Author>,
    ) -> Result<PackageRevision> {
        self.approve_with(rev, None, user).await
    }

    /// [`approve`](Self::approve), refused when the next number is above `expected`.
    async fn approve_with(
        &self,
        rev: &PackageRevision,
        expected: Option<i64>,
        user: Option<&Author>,
    ) -> Result<PackageRevision> {
        let _guard = self.lock.lock().await;
        let url = self.url().to_string();
        if !matches!(rev.lifecycle, Lifecycle::Draft | Lifecycle::Proposed) {
            return Err(GitError::invalid(
                &url,
                format!("cannot approve a {} package revision", rev.lifecycle),
            ));
        }
        let draft_commit = self.parse_id(&rev.commit)?;
        let author = self.config.commit_author(user);
        // A caller that planned the number from the read it just made (`approve_as`) is built
        // on the cache as it is: a branch or tag that moved since refuses the push (leases),
        // and the retry fetches. That first try does not count against the retries.
        let mut fetch = expected.is_none();
        let mut attempt = 0;
        loop {
            if fetch {
                attempt += 1;
                self.fetch().await?;
            }
            fetch = true;
            let plan = {
                let rev = rev.clone();
                let author = author.clone();
                let branch = self.config.branch.clone();
                self.with_repo(move |repo, url| {
                    plan_approval(repo, url, &branch, &rev, draft_commit, &author, expected)
                })
                .await?
            };
            let (commit, revision, updates) = plan;
            match self.remote.push(&self.cache, updates.clone()).await {
                Ok(()) => {
                    self.record_push(&updates).await;
                    let tag = refs::tag_ref(&rev.full_path, revision);
                    return Ok(PackageRevision {
                        key: PackageRevisionKey {
                            package: rev.key.package.clone(),
                            workspace: rev.key.workspace.clone(),
                            revision,
                        },
                        lifecycle: Lifecycle::Published,
                        commit: commit.to_string(),
                        git_ref: tag,
                        full_path: rev.full_path.clone(),
                        published_by: Some(author.email.clone()),
                        published_at: Some(gix::date::Time::now_utc().seconds),
                    });
                }
                Err(GitError::Conflict { .. }) if attempt < self.branch_retries => {
                    tracing::info!(url = %url, attempt, "approval push conflicted; rebuilding on the new branch head");
                    continue;
                }
                Err(e) => {
                    self.refetch_quietly().await;
                    return Err(e);
                }
            }
        }
    }

    /// Published → DeletionProposed: push `deletionProposed/<fullpath>/vN`
    /// (or `/<branch>` for the placeholder) at the revision's commit.
    pub async fn propose_delete(&self, rev: &PackageRevision) -> Result<PackageRevision> {
        let _guard = self.lock.lock().await;
        let url = self.url().to_string();
        if rev.lifecycle != Lifecycle::Published {
            return Err(GitError::invalid(
                &url,
                format!(
                    "cannot propose deletion of a {} package revision",
                    rev.lifecycle
                ),
            ));
        }
        let commit = self.parse_id(&rev.commit)?;
        let name =
            refs::deletion_proposed_ref(&rev.full_path, rev.key.revision, &self.config.branch);
        self.push_and_record(vec![RefUpdate {
            name,
            expected: None,
            new: Some(commit),
        }])
        .await?;
        let mut out = rev.clone();
        out.lifecycle = Lifecycle::DeletionProposed;
        Ok(out)
    }

    /// DeletionProposed → Published: delete the `deletionProposed/` branch.
    pub async fn undo_propose_delete(&self, rev: &PackageRevision) -> Result<PackageRevision> {
        let _guard = self.lock.lock().await;
        let url = self.url().to_string();
        if rev.lifecycle != Lifecycle::DeletionProposed {
            return Err(GitError::invalid(
                &url,
                format!(
                    "cannot undo deletion proposal of a {} package revision",
                    rev.lifecycle
                ),
            ));
        }
        let name =
            refs::deletion_proposed_ref(&rev.full_path, rev.key.revision, &self.config.branch);
        let current = self.local_remote_ref(&name).await?;
        let Some(current) = current else {
            return Err(GitError::not_found(
                &url,
                format!("{name} not found in repository"),
            ));
        };
        self.push_and_record(vec![RefUpdate {
            name,
            expected: Some(current),
            new: None,
        }])
        .await?;
        let mut out = rev.clone();
        out.lifecycle = Lifecycle::Published;
        Ok(out)
    }

    /// Deletes a revision: a draft/proposed branch; a published tag (and its
    /// `deletionProposed/` branch; the package stays on the branch); or, for the
    /// placeholder, a commit removing the package directory from the branch.
    pub async fn delete(&self, rev: &PackageRevision, user: Option<&Author>) -> Result<()> {
        let _guard = self.lock.lock().await;
        let url = self.url().to_string();
        match rev.lifecycle {
            Lifecycle::Draft | Lifecycle::Proposed => {
                let commit = self.parse_id(&rev.commit)?;
                self.push_and_record(vec![RefUpdate {
                    name: rev.git_ref.clone(),
                    expected: Some(commit),
                    new: None,
                }])
                .await
            }
            Lifecycle::Published | Lifecycle::DeletionProposed if rev.key.revision != -1 => {
                let tag = refs::tag_ref(&rev.full_path, rev.key.revision);
                if rev.git_ref != tag {
                    return Err(GitError::invalid(
                        &url,
                        format!(
                            "cannot delete package tagged with a tag that is not specific to the package: {}",
                            rev.git_ref
                        ),
                    ));
                }
                let mut updates = Vec::new();
                if let Some(current) = self.local_remote_ref(&tag).await? {
                    updates.push(RefUpdate {
                        name: tag.clone(),
                        expected: Some(current),
                        new: None,
                    });
                }
                let dp = refs::deletion_proposed_ref(
                    &rev.full_path,
                    rev.key.revision,
                    &self.config.branch,
                );
                if let Some(current) = self.local_remote_ref(&dp).await? {
                    updates.push(RefUpdate {
                        name: dp,
                        expected: Some(current),
                        new: None,
                    });
                }
                self.push_and_record(updates).await
            }
            Lifecycle::Published | Lifecycle::DeletionProposed => {
                let author = self.config.commit_author(user);
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    self.fetch().await?;
                    let rev = rev.clone();
                    let author = author.clone();
                    let branch = self.config.branch.clone();
                    let updates = self
                        .with_repo(move |repo, url| {
                            plan_placeholder_delete(repo, url, &branch, &rev, &author)
                        })
                        .await?;
                    match self.remote.push(&self.cache, updates.clone()).await {
                        Ok(()) => {
                            self.record_push(&updates).await;
                            return Ok(());
                        }
                        Err(GitError::Conflict { .. }) if attempt < self.branch_retries => continue,
                        Err(e) => {
                            self.refetch_quietly().await;
                            return Err(e);
                        }
                    }
                }
            }
        }
    }

    // ---- internals ----

    async fn create_branch(&self) -> Result<()> {
        let commit = self
            .with_repo(|repo, url| {
                let wrap = |m: String| GitError::other(url, m);
                let mut files = BTreeMap::new();
                files.insert("README.md".to_string(), "Created by porch".to_string());
                let tree = objects::write_files_tree(repo, &files).map_err(wrap)?;
                objects::write_commit(
                    repo,
                    &Author::porch(),
                    annotation::CREATE_BRANCH_MESSAGE,
                    tree,
                    &[],
                )
                .map_err(wrap)
            })
            .await?;
        self.remote
            .push(
                &self.cache,
                vec![RefUpdate {
                    name: refs::branch_ref(&self.config.branch),
                    expected: None,
                    new: Some(commit),
                }],
            )
            .await?;
        self.fetch().await?;
        Ok(())
    }

    /// Pushes; a pushed update is written into the cache (the remote now holds
    /// exactly those values), a failure re-reads the remote instead.
    async fn push_and_record(&self, updates: Vec<RefUpdate>) -> Result<()> {
        let result = self.remote.push(&self.cache, updates.clone()).await;
        match result {
            Ok(()) => self.record_push(&updates).await,
            Err(_) => self.refetch_quietly().await,
        }
        result
    }

    /// Fetches, forgetting the known version unless nothing changed.
    async fn fetch(&self) -> Result<crate::remote::FetchOutcome> {
        let result = self.remote.fetch(&self.cache).await;
        if !matches!(result, Ok(ref o) if !o.changed)
            && let Ok(mut known) = self.known_version.lock()
        {
            known.generation += 1;
            known.value = None;
        }
        result
    }

    async fn refetch_quietly(&self) {
        if let Err(e) = self.fetch().await {
            tracing::warn!(error = %e, "refresh after push failed; the cache catches up on the next refresh");
        }
    }

    async fn branch_head(&self) -> Result<Option<ObjectId>> {
        self.local_remote_ref(&refs::branch_ref(&self.config.branch))
            .await
    }

    /// The cached value of a remote ref (raw, not peeled).
    async fn local_remote_ref(&self, remote_ref: &str) -> Result<Option<ObjectId>> {
        let local = refs::to_local(remote_ref).unwrap_or_default();
        self.with_repo(move |repo, url| find_local(repo, url, &local))
            .await
    }

    async fn version_and_head(&self) -> Result<(String, Option<String>)> {
        let generation = match self.known_version.lock() {
            Ok(k) => match &k.value {
                Some(v) => return Ok(v.clone()),
                None => k.generation,
            },
            Err(_) => u64::MAX,
        };
        let branch_ref = refs::branch_ref(&self.config.branch);
        let computed = self
            .with_repo(move |repo, url| {
                let map = remote_ref_map(repo, url)?;
                let mut h = sha2::Sha256::new();
                for (name, id) in &map {
                    h.update(name.as_bytes());
                    h.update(b" ");
                    h.update(id.to_string().as_bytes());
                    h.update(b"\n");
                }
                let head = map.get(&branch_ref).map(|id| id.to_string());
                Ok((hex::encode(h.finalize()), head))
            })
            .await?;
        // Keep it only if no fetch changed the refs while we read them.
        if let Ok(mut k) = self.known_version.lock()
            && k.generation == generation
        {
            k.value = Some(computed.clone());
        }
        Ok(computed)
    }

    pub(crate) fn parse_id(&self, hex: &str) -> Result<ObjectId> {
        ObjectId::from_hex(hex.as_bytes())
            .map_err(|e| GitError::invalid(self.url(), format!("invalid commit id {hex:?}: {e}")))
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&str) -> Result<T> + Send + 'static,
    {
        let url = self.url().to_string();
        let u2 = url.clone();
        tokio::task::spawn_blocking(move || f(&u2))
            .await
            .map_err(|e| GitError::other(&url, format!("blocking task failed: {e}")))?
    }

    pub(crate) async fn with_repo<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&gix::Repository, &str) -> Result<T> + Send + 'static,
    {
        let cache = self.cache.clone();
        self.blocking(move |url| {
            let mut repo = gix::open(&cache).map_err(|e| {
                GitError::other(
                    url,
                    format!(
                        "cannot open cache {}: {}",
                        cache.display(),
                        crate::error::gix_chain(&e)
                    ),
                )
            })?;
            // Listing revisits the same trees (the branch root for every tag).
            repo.object_cache_size_if_unset(8 * 1024 * 1024);
            f(&repo, url)
        })
        .await
    }
}

/// The memoised version of the cache's refs and the fetch generation it belongs to.
#[derive(Debug, Default)]
struct KnownVersion {
    generation: u64,
    value: Option<(String, Option<String>)>,
    /// A recorded push changed the cache's refs since the last refresh reported.
    unreported: bool,
}

/// Cache refs keyed by their remote names.
fn remote_ref_map(repo: &gix::Repository, url: &str) -> Result<BTreeMap<String, ObjectId>> {
    Ok(local_refs(repo, url)?
        .into_iter()
        .filter_map(|(name, id)| refs::to_remote(&name).map(|n| (n, id)))
        .collect())
}

fn find_local(repo: &gix::Repository, url: &str, local_ref: &str) -> Result<Option<ObjectId>> {
    let found = repo
        .try_find_reference(local_ref)
        .map_err(|e| crate::error::local(url, &format!("cannot read {local_ref}"), &e))?;
    Ok(found.and_then(|r| r.try_id().map(|id| id.detach())))
}

fn require_kptfile(url: &str, files: &BTreeMap<String, String>) -> Result<()> {
    if files.contains_key("Kptfile") {
        Ok(())
    } else {
        Err(GitError::invalid(
            url,
            "package must contain a Kptfile at its root",
        ))
    }
}

/// Package paths and workspaces become ref and tree path segments.
fn validate_segment(url: &str, what: &str, value: &str, allow_slash: bool) -> Result<()> {
    let bad_char = |c: char| {
        !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || (allow_slash && c == '/'))
    };
    let bad = value.is_empty()
        || value.chars().any(bad_char)
        || value
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || s.ends_with(".lock"));
    if bad {
        Err(GitError::invalid(url, format!("invalid {what} {value:?}")))
    } else {
        Ok(())
    }
}

/// Upstream does not let a package sit inside another package, or contain one.
fn reject_nesting(
    repo: &gix::Repository,
    url: &str,
    tree: ObjectId,
    full_path: &str,
) -> Result<()> {
    let wrap = |m: String| GitError::other(url, m);
    let mut prefix = String::new();
    for part in full_path.split('/') {
        if !prefix.is_empty() && objects::has_kptfile(repo, None, tree, &prefix).map_err(wrap)? {
            return Err(GitError::invalid(
                url,
                format!(
                    "cannot create package {full_path:?}: it would be nested inside package {prefix:?}"
                ),
            ));
        }
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
    }
    let inner = objects::discover_packages(repo, tree, full_path).map_err(wrap)?;
    if let Some(p) = inner.first() {
        return Err(GitError::invalid(
            url,
            format!("cannot create package {full_path:?}: it would contain package {p:?}"),
        ));
    }
    Ok(())
}

/// Builds the approval commit and the atomic ref updates for it (numbered 1 + the package's
/// highest tag; a conflict when that is above `expected`). Reads only the refs it needs.
fn plan_approval(
    repo: &gix::Repository,
    url: &str,
    branch: &str,
    rev: &PackageRevision,
    draft_commit: ObjectId,
    author: &Author,
    expected: Option<i64>,
) -> Result<(ObjectId, i64, Vec<RefUpdate>)> {
    let wrap = |m: String| GitError::other(url, m);
    let local = |remote: &str| refs::to_local(remote).unwrap_or_default();
    // The draft must still be where the caller read it.
    if find_local(repo, url, &local(&rev.git_ref))? != Some(draft_commit) {
        return Err(GitError::conflict(
            url,
            format!("{} no longer points at {}", rev.git_ref, rev.commit),
        ));
    }
    let revision = numbered::highest_tag(repo, url, &rev.full_path)?.max(0) + 1;
    if let Some(expected) = expected
        && revision > expected
    {
        return Err(GitError::conflict(
            url,
            format!(
                "tag {} already exists",
                refs::tag_ref(&rev.full_path, expected)
            ),
        ));
    }
    let branch_ref = refs::branch_ref(branch);
    let head = find_local(repo, url, &local(&branch_ref))?;
    let head_tree = match head {
        Some(h) => objects::commit_tree(repo, h).map_err(wrap)?,
        None => ObjectId::empty_tree(repo.object_hash()),
    };
    let draft_tree = objects::commit_tree(repo, draft_commit).map_err(wrap)?;
    let pkg_tree = objects::subtree(repo, draft_tree, &rev.full_path).map_err(wrap)?;
    let tree = objects::replace_subtree(repo, head_tree, &rev.full_path, pkg_tree).map_err(wrap)?;
    let mut parents: Vec<ObjectId> = head.into_iter().collect();
    parents.push(draft_commit);
    let message = annotation::approval_message(&rev.full_path, &rev.key.workspace, revision);
    let commit = objects::write_commit(repo, author, &message, tree, &parents).map_err(wrap)?;
    let updates = vec![
        RefUpdate {
            name: branch_ref,
            expected: head,
            new: Some(commit),
        },
        RefUpdate {
            name: refs::tag_ref(&rev.full_path, revision),
            expected: None,
            new: Some(commit),
        },
        RefUpdate {
            name: rev.git_ref.clone(),
            expected: Some(draft_commit),
            new: None,
        },
    ];
    Ok((commit, revision, updates))
}

/// The commit removing the package from the branch and the ref updates for it.
fn plan_placeholder_delete(
    repo: &gix::Repository,
    url: &str,
    branch: &str,
    rev: &PackageRevision,
    author: &Author,
) -> Result<Vec<RefUpdate>> {
    let wrap = |m: String| GitError::other(url, m);
    let remote_refs = remote_ref_map(repo, url)?;
    let mut updates = Vec::new();
    let branch_ref = refs::branch_ref(branch);
    if let Some(&head) = remote_refs.get(&branch_ref) {
        let head_tree = objects::commit_tree(repo, head).map_err(wrap)?;
        if objects::subtree(repo, head_tree, &rev.full_path)
            .map_err(wrap)?
            .is_some()
        {
            let tree =
                objects::replace_subtree(repo, head_tree, &rev.full_path, None).map_err(wrap)?;
            let commit = objects::write_commit(
                repo,
                author,
                &annotation::delete_message(&rev.full_path),
                tree,
                &[head],
            )
            .map_err(wrap)?;
            updates.push(RefUpdate {
                name: branch_ref,
                expected: Some(head),
                new: Some(commit),
            });
        }
    }
    let dp = refs::deletion_proposed_ref(&rev.full_path, -1, branch);
    if let Some(&current) = remote_refs.get(&dp) {
        updates.push(RefUpdate {
            name: dp,
            expected: Some(current),
            new: None,
        });
    }
    Ok(updates)
}
