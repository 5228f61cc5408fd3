//! TEST DOUBLES ONLY. In-memory implementations of the engine's seams, used to unit-test the
//! orchestration (and available to other crates' unit tests behind the `testing` feature). They
//! are never a stand-in for git or kpt at runtime: there is no Kptfile parsing, no git, no
//! function runner here.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::backend::{
    BackendError, CommitTask, DraftCommit, MetadataStore, RepositoryBackend, Revisions,
};
use crate::content_cache::PackageFiles;
use crate::model::{GitLock, GitPackage, Lifecycle, RepositoryInfo, StoredMeta};
use crate::ops::{
    CloneRequest, InitRequest, KptfilePatch, OpsError, PackageOps, RenderOutcome, RenderStatus,
    UpgradeRequest,
};
use crate::record::RevisionRecord;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct Stored {
    record: RevisionRecord,
    files: PackageFiles,
}

/// An in-memory repository store. Commits are `c1`, `c2`, ...; every call is counted.
#[derive(Debug, Default)]
pub struct InMemoryBackend {
    revisions: Mutex<Vec<Stored>>,
    next_commit: AtomicUsize,
    /// How many times `read_files` ran (to prove the content cache works).
    pub reads: AtomicUsize,
    /// Commit tasks in order, as `(name, task)`.
    pub commits: Mutex<Vec<(String, CommitTask)>>,
    /// Hold `gate.write()` to park every `list_revisions` call (to test concurrent requests).
    pub gate: tokio::sync::RwLock<()>,
}

impl InMemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn commit_id(&self) -> String {
        format!("c{}", self.next_commit.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// Seeds a revision with files (e.g. a published upstream).
    pub fn seed(&self, mut record: RevisionRecord, files: PackageFiles) -> RevisionRecord {
        if record.commit.is_empty() {
            record.commit = self.commit_id();
        }
        lock(&self.revisions).push(Stored {
            record: record.clone(),
            files,
        });
        record
    }

    /// Moves a revision to a new commit behind the engine's back (an external push).
    pub fn touch(&self, name: &str) -> Option<String> {
        let commit = self.commit_id();
        let mut revs = lock(&self.revisions);
        let s = revs.iter_mut().find(|s| s.record.name() == name)?;
        s.record.commit = commit.clone();
        Some(commit)
    }

    pub fn files_of(&self, name: &str) -> Option<PackageFiles> {
        lock(&self.revisions)
            .iter()
            .find(|s| s.record.name() == name)
            .map(|s| s.files.clone())
    }

    pub fn record_of(&self, name: &str) -> Option<RevisionRecord> {
        lock(&self.revisions)
            .iter()
            .find(|s| s.record.name() == name)
            .map(|s| s.record.clone())
    }

    pub fn commit_count(&self) -> usize {
        lock(&self.commits).len()
    }

    /// Applies `f` to the stored revision after the compare-and-swap check on `rev.commit`.
    fn mutate(
        &self,
        rev: &RevisionRecord,
        f: impl FnOnce(&mut Stored, &Self),
    ) -> Result<RevisionRecord, BackendError> {
        let mut revs = lock(&self.revisions);
        let name = rev.name();
        let s = revs
            .iter_mut()
            .find(|s| s.record.name() == name)
            .ok_or_else(|| BackendError::NotFound(format!("{name} not found")))?;
        if s.record.commit != rev.commit {
            return Err(BackendError::Stale(format!("{name} moved")));
        }
        f(s, self);
        Ok(s.record.clone())
    }
}

impl RepositoryBackend for InMemoryBackend {
    async fn list_revisions(&self, repo: &RepositoryInfo) -> Result<Revisions, BackendError> {
        let _open = self.gate.read().await;
        Ok(lock(&self.revisions)
            .iter()
            .filter(|s| s.record.repository == repo.name)
            .map(|s| s.record.clone())
            .collect())
    }

    async fn read_files(
        &self,
        _repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<PackageFiles, BackendError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        lock(&self.revisions)
            .iter()
            .find(|s| s.record.commit == rev.commit)
            .map(|s| s.files.clone())
            .ok_or_else(|| BackendError::NotFound(format!("commit {} not found", rev.commit)))
    }

    async fn create_draft(
        &self,
        repo: &RepositoryInfo,
        package_name: &str,
        workspace: &str,
        commit: DraftCommit,
    ) -> Result<RevisionRecord, BackendError> {
        let task = match &commit.task {
            CommitTask::Creation(t) => Some(t.as_ref().clone()),
            CommitTask::Render => None,
        };
        let record = RevisionRecord {
            repository: repo.name.clone(),
            package_name: package_name.to_owned(),
            workspace_name: workspace.to_owned(),
            revision: 0,
            lifecycle: Lifecycle::Draft,
            commit: self.commit_id(),
            task,
            self_lock: Some(GitLock {
                repo: format!("https://git.example/{}.git", repo.name),
                directory: package_name.to_owned(),
                git_ref: format!("drafts/{package_name}/{workspace}"),
                commit: String::new(),
            }),
            ..RevisionRecord::default()
        };
        lock(&self.commits).push((record.name(), commit.task));
        lock(&self.revisions).push(Stored {
            record: record.clone(),
            files: commit.files,
        });
        Ok(record)
    }

    async fn update_draft(
        &self,
        _repo: &RepositoryInfo,
        rev: &RevisionRecord,
        commit: DraftCommit,
    ) -> Result<RevisionRecord, BackendError> {
        let out = self.mutate(rev, |s, me| {
            s.record.commit = me.commit_id();
            s.files = commit.files.clone();
        })?;
        lock(&self.commits).push((out.name(), commit.task));
        Ok(out)
    }

    async fn propose(
        &self,
        _repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<RevisionRecord, BackendError> {
        self.mutate(rev, |s, _| s.record.lifecycle = Lifecycle::Proposed)
    }

    async fn reject(
        &self,
        _repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<RevisionRecord, BackendError> {
        self.mutate(rev, |s, _| s.record.lifecycle = Lifecycle::Draft)
    }

    async fn approve(
        &self,
        repo: &RepositoryInfo,
        rev: &RevisionRecord,
        revision: i64,
        published_by: Option<&str>,
    ) -> Result<RevisionRecord, BackendError> {
        let published = self.mutate(rev, |s, me| {
            s.record.lifecycle = Lifecycle::Published;
            s.record.revision = revision;
            s.record.commit = me.commit_id();
            s.record.published_by = Some(published_by.unwrap_or("porch@kpt.dev").to_owned());
            s.record.published_at = Some("2026-01-01T00:00:00Z".to_owned());
        })?;
        // The package is now on the branch: upsert its placeholder.
        let files = self.files_of(&published.name()).unwrap_or_default();
        let mut revs = lock(&self.revisions);
        revs.retain(|s| {
            !(s.record.repository == repo.name
                && s.record.package_name == published.package_name
                && s.record.revision == -1)
        });
        revs.push(Stored {
            record: RevisionRecord {
                workspace_name: repo.branch.clone(),
                revision: -1,
                ..published.clone()
            },
            files,
        });
        Ok(published)
    }

    async fn propose_delete(
        &self,
        _repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<RevisionRecord, BackendError> {
        self.mutate(rev, |s, _| s.record.lifecycle = Lifecycle::DeletionProposed)
    }

    async fn undo_propose_delete(
        &self,
        _repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<RevisionRecord, BackendError> {
        self.mutate(rev, |s, _| s.record.lifecycle = Lifecycle::Published)
    }

    async fn delete(
        &self,
        _repo: &RepositoryInfo,
        rev: &RevisionRecord,
    ) -> Result<(), BackendError> {
        let name = rev.name();
        let mut revs = lock(&self.revisions);
        let before = revs.len();
        revs.retain(|s| s.record.name() != name);
        if revs.len() == before {
            return Err(BackendError::NotFound(format!("{name} not found")));
        }
        Ok(())
    }

    async fn fetch_git_upstream(
        &self,
        _namespace: &str,
        git: &GitPackage,
    ) -> Result<(PackageFiles, GitLock), BackendError> {
        let files =
            PackageFiles::from([("Kptfile".to_owned(), format!("name: {}\n", git.directory))]);
        Ok((
            files,
            GitLock {
                repo: git.repo.clone(),
                directory: git.directory.clone(),
                git_ref: git.git_ref.clone(),
                commit: "0123abcd".to_owned(),
            },
        ))
    }
}

/// In-memory metadata store. `forbid_puts` makes `put` fail with `Forbidden`.
#[derive(Debug, Default)]
pub struct InMemoryMetadata {
    entries: Mutex<HashMap<(String, String), StoredMeta>>,
    pub forbid_puts: AtomicBool,
}

impl InMemoryMetadata {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn peek(&self, namespace: &str, name: &str) -> Option<StoredMeta> {
        lock(&self.entries)
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl MetadataStore for InMemoryMetadata {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<StoredMeta>, BackendError> {
        Ok(self.peek(namespace, name))
    }

    async fn put(&self, namespace: &str, name: &str, meta: StoredMeta) -> Result<(), BackendError> {
        if self.forbid_puts.load(Ordering::SeqCst) {
            return Err(BackendError::Forbidden(
                "packagerevs.config.porch.kpt.dev is forbidden".to_owned(),
            ));
        }
        lock(&self.entries).insert((namespace.to_owned(), name.to_owned()), meta);
        Ok(())
    }

    async fn delete(&self, namespace: &str, name: &str) -> Result<(), BackendError> {
        lock(&self.entries).remove(&(namespace.to_owned(), name.to_owned()));
        Ok(())
    }
}

/// Fake kpt operations over a line-based pseudo Kptfile (`key: value` lines). Render fails when
/// any file contains `RENDER-FAIL`, and otherwise appends `rendered: <n>` to the Kptfile.
#[derive(Debug, Default)]
pub struct FakeOps {
    pub renders: AtomicUsize,
    pub patches: Mutex<Vec<KptfilePatch>>,
}

impl FakeOps {
    pub fn new() -> Self {
        Self::default()
    }
}

fn set_line(text: &str, key: &str, value: &str) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(&format!("{key}:")))
        .map(str::to_owned)
        .collect();
    lines.push(format!("{key}: {value}"));
    lines.join("\n") + "\n"
}

fn leaf(package_name: &str) -> &str {
    package_name.rsplit('/').next().unwrap_or(package_name)
}

impl PackageOps for FakeOps {
    fn init(&self, req: &InitRequest) -> Result<PackageFiles, OpsError> {
        Ok(PackageFiles::from([
            (
                "Kptfile".to_owned(),
                format!(
                    "name: {}\ndescription: {}\n",
                    leaf(&req.package_name),
                    req.task.description
                ),
            ),
            ("README.md".to_owned(), format!("# {}\n", req.package_name)),
        ]))
    }

    fn clone_package(&self, req: &CloneRequest) -> Result<PackageFiles, OpsError> {
        let mut files = req.upstream_files.clone();
        let kptfile = files.get("Kptfile").cloned().unwrap_or_default();
        let kptfile = set_line(&kptfile, "name", leaf(&req.package_name));
        let kptfile = set_line(
            &kptfile,
            "upstreamLock",
            &format!("{}@{}", req.upstream_lock.git_ref, req.upstream_lock.commit),
        );
        files.insert("Kptfile".to_owned(), kptfile);
        if req.deployment {
            files.insert(
                "package-context.yaml".to_owned(),
                format!("package-path: {}\n", req.package_path),
            );
        }
        Ok(files)
    }

    fn upgrade(&self, req: &UpgradeRequest) -> Result<PackageFiles, OpsError> {
        if req.strategy == "fast-forward" && req.local != req.old_upstream {
            return Err(OpsError("local package has been modified".to_owned()));
        }
        let mut files = req.new_upstream.clone();
        for (k, v) in &req.local {
            if !req.old_upstream.contains_key(k) {
                files.insert(k.clone(), v.clone());
            }
        }
        let kptfile = req.local.get("Kptfile").cloned().unwrap_or_default();
        files.insert(
            "Kptfile".to_owned(),
            set_line(&kptfile, "upstreamLock", &req.new_upstream_lock.git_ref),
        );
        Ok(files)
    }

    fn patch_kptfile(
        &self,
        mut files: PackageFiles,
        patch: &KptfilePatch,
    ) -> Result<PackageFiles, OpsError> {
        lock(&self.patches).push(patch.clone());
        let Some(kptfile) = files.get("Kptfile").cloned() else {
            return Err(OpsError("package must contain Kptfile at root".to_owned()));
        };
        let mut text = kptfile;
        if let Some(md) = &patch.package_metadata {
            let labels: Vec<String> = md.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            text = set_line(&text, "labels", &labels.join(","));
        }
        if let Some(gates) = &patch.readiness_gates {
            text = set_line(&text, "readinessGates", &gates.join(","));
        }
        files.insert("Kptfile".to_owned(), text);
        Ok(files)
    }

    fn heal_comments(&self, _old: &PackageFiles, new: PackageFiles) -> PackageFiles {
        new
    }

    async fn render(&self, mut files: PackageFiles) -> RenderOutcome {
        let n = self.renders.fetch_add(1, Ordering::SeqCst) + 1;
        if files.values().any(|v| v.contains("RENDER-FAIL")) {
            return RenderOutcome {
                files,
                status: RenderStatus {
                    result: serde_json::Value::Null,
                    error: "function failed".to_owned(),
                },
                error: Some("fn.Run failed: RENDER-FAIL found".to_owned()),
            };
        }
        let quiet = files.contains_key("quiet.txt");
        if let Some(k) = files.get("Kptfile").cloned() {
            files.insert(
                "Kptfile".to_owned(),
                set_line(&k, "rendered", &n.to_string()),
            );
        }
        RenderOutcome {
            files,
            status: RenderStatus {
                result: if quiet {
                    serde_json::json!({"kind": "FunctionResultList", "exitCode": 0})
                } else {
                    serde_json::json!({
                        "kind": "FunctionResultList",
                        "exitCode": 0,
                        "items": [{"image": "fake-fn", "exitCode": 0}]
                    })
                },
                error: String::new(),
            },
            error: None,
        }
    }
}

/// A record builder for tests.
pub fn record(
    repo: &str,
    package: &str,
    ws: &str,
    revision: i64,
    lifecycle: Lifecycle,
) -> RevisionRecord {
    RevisionRecord {
        repository: repo.to_owned(),
        package_name: package.to_owned(),
        workspace_name: ws.to_owned(),
        revision,
        lifecycle,
        ..RevisionRecord::default()
    }
}

/// A one-file package whose Kptfile names it.
pub fn kptfile_only(name: &str) -> PackageFiles {
    BTreeMap::from([("Kptfile".to_owned(), format!("name: {name}\n"))])
}
