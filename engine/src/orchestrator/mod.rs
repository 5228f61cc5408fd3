//! The engine proper: create, update, approve, update resources and delete over the storage and
//! kpt seams, enforcing every rule in upstream's order. Reads (list/get) live here too because the
//! write paths need the same composed view (git record + stored metadata + latest marker).

mod create;
mod delete;
mod resources;
mod update;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::backend::{BackendError, MetadataStore, RepositoryBackend, Revisions};
use crate::content_cache::{CacheStats, ContentCache, PackageFiles};
use crate::error::{EngineError, PACKAGE_REVISIONS};
use crate::latest::{
    latest_changed, latest_records, latest_revision_names, sort_package_revisions,
};
use crate::locks::LockRegistry;
use crate::messages;
use crate::model::{PackageRevision, RepositoryInfo, StoredMeta};
use crate::names::parse_package_revision_name;
use crate::ops::PackageOps;
use crate::record::RevisionRecord;
use crate::selectors::FieldFilter;

pub use delete::DeleteOutcome;
pub use resources::{ResourcesUpdate, ResourcesUpdated};
pub use update::{UpdateKind, UpdateOutcome};

/// The repositories of one namespace, as the API layer found them (Repository CRs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub namespace: String,
    pub repositories: Vec<RepositoryInfo>,
}

impl Scope {
    /// The repositories of this scope's namespace. A Repository of another namespace handed
    /// in by mistake is never used: a revision in namespace A can never read or reference a
    /// Repository (nor, through it, a Secret) of namespace B.
    pub fn members(&self) -> impl Iterator<Item = &RepositoryInfo> {
        self.repositories
            .iter()
            .filter(|r| r.namespace == self.namespace)
    }

    pub fn repository(&self, name: &str) -> Option<&RepositoryInfo> {
        self.members().find(|r| r.name == name)
    }

    /// Repositories visible to v1alpha1.
    pub fn visible(&self) -> impl Iterator<Item = &RepositoryInfo> {
        self.members().filter(|r| !r.v1alpha2_managed)
    }
}

/// Tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Byte budget of the package content cache.
    pub content_cache_bytes: usize,
    /// A repository fetch is skipped when one finished less than this long ago (the window in
    /// which another process's push may be unseen; writes are still leased). `ZERO` disables.
    pub fetch_fresh_for: std::time::Duration,
    /// How long a Repository's spec and Secret are reused before being read again.
    pub repository_spec_ttl: std::time::Duration,
    /// Trust the CA bundle in Secret `<namespace>-ca-bundle` (key `ca.crt`) of each
    /// Repository's namespace for its HTTPS connections: upstream's `--use-user-cabundle`.
    /// With it on, a Repository whose namespace has no such secret fails with an error naming it.
    pub use_user_ca_bundle: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            content_cache_bytes: 256 * 1024 * 1024,
            fetch_fresh_for: std::time::Duration::from_secs(1),
            repository_spec_ttl: std::time::Duration::from_secs(2),
            use_user_ca_bundle: false,
        }
    }
}

type Clock = Arc<dyn Fn() -> String + Send + Sync>;

fn system_clock() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The engine over a repository backend `B`, a metadata store `M` and kpt operations `O`.
pub struct Engine<B, M, O> {
    backend: B,
    meta: M,
    ops: O,
    locks: LockRegistry,
    cache: ContentCache,
    clock: Clock,
}

/// A record located by name, with its repository's full list (needed for latest and numbering).
pub(crate) struct Located {
    pub repo: RepositoryInfo,
    pub records: Revisions,
    pub record: RevisionRecord,
}

/// A packagerevisions 404 re-targeted at packagerevisionresources; other errors unchanged.
pub(crate) fn as_resources_error(name: &str, err: EngineError) -> EngineError {
    match err {
        EngineError::NotFound { .. } => messages::package_revision_resources_not_found(name),
        other => other,
    }
}

pub(crate) fn backend_error(name: &str, err: BackendError) -> EngineError {
    match err {
        BackendError::NotFound(_) => messages::package_revision_not_found(name),
        BackendError::Stale(_) => messages::object_modified(PACKAGE_REVISIONS, name),
        BackendError::Forbidden(m) | BackendError::Other(m) => EngineError::internal(m),
    }
}

impl<B, M, O> Engine<B, M, O>
where
    B: RepositoryBackend,
    M: MetadataStore,
    O: PackageOps,
{
    pub fn new(backend: B, meta: M, ops: O, options: EngineOptions) -> Self {
        Self {
            backend,
            meta,
            ops,
            locks: LockRegistry::new(),
            cache: ContentCache::new(options.content_cache_bytes),
            clock: Arc::new(system_clock),
        }
    }

    /// Replaces the RFC 3339 clock used for creation and deletion timestamps.
    pub fn with_clock(mut self, clock: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn locks(&self) -> &LockRegistry {
        &self.locks
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn metadata_store(&self) -> &M {
        &self.meta
    }

    pub(crate) fn now(&self) -> String {
        (self.clock)()
    }

    pub(crate) async fn records(&self, repo: &RepositoryInfo) -> Result<Revisions, EngineError> {
        self.backend
            .list_revisions(repo)
            .await
            .map_err(|e| EngineError::internal(e.to_string()))
    }

    pub(crate) async fn stored_meta(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<StoredMeta, EngineError> {
        Ok(self
            .meta
            .get(namespace, name)
            .await
            .map_err(|e| EngineError::internal(e.to_string()))?
            .unwrap_or_default())
    }

    /// Composes the API view of `record` (metadata and latest marker).
    pub(crate) async fn view<'r>(
        &self,
        repo: &RepositoryInfo,
        records: impl IntoIterator<Item = &'r RevisionRecord>,
        record: &RevisionRecord,
    ) -> Result<PackageRevision, EngineError> {
        let name = record.name();
        let latest = latest_records(records).any(|r| r.is_named(&name));
        let meta = self.stored_meta(&repo.namespace, &name).await?;
        Ok(record.to_package_revision(repo, &meta, latest))
    }

    /// Files of `record`, from the content cache when this commit was read before.
    pub(crate) async fn files(
        &self,
        repo: &RepositoryInfo,
        record: &RevisionRecord,
    ) -> Result<Arc<PackageFiles>, EngineError> {
        self.cache
            .get_or_load(&record.commit, || self.backend.read_files(repo, record))
            .await
            .map_err(|e| backend_error(&record.name(), e))
    }

    /// Lets the metadata store cache the object a write produced (best effort).
    pub(crate) async fn stored(&self, pr: &PackageRevision) {
        if let Err(e) = self.meta.revision_stored(pr).await {
            tracing::warn!(name = %pr.metadata.name, error = %e, "caching the stored revision failed");
        }
    }

    pub(crate) fn remember_files(&self, record: &RevisionRecord, files: PackageFiles) {
        self.cache.insert(&record.commit, files);
    }

    /// Finds `name` in the scope; v1alpha2-managed repositories are invisible (404).
    pub(crate) async fn locate(&self, scope: &Scope, name: &str) -> Result<Located, EngineError> {
        self.locate_in(scope, name, true).await
    }

    /// Like [`locate`](Self::locate) over what the backend already holds (no fetch; may be
    /// stale). Only for writes leased on the commit read (see `update`).
    pub(crate) async fn locate_cached(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Located, EngineError> {
        self.locate_in(scope, name, false).await
    }

    async fn locate_in(
        &self,
        scope: &Scope,
        name: &str,
        fresh: bool,
    ) -> Result<Located, EngineError> {
        let not_found = || messages::package_revision_not_found(name);
        let key = parse_package_revision_name(name).map_err(|_| not_found())?;
        let repo = scope
            .repository(&key.repository)
            .filter(|r| !r.v1alpha2_managed)
            .ok_or_else(not_found)?
            .clone();
        let records = if fresh {
            self.records(&repo).await?
        } else {
            self.backend
                .cached_revisions(&repo)
                .await
                .map_err(|e| EngineError::internal(e.to_string()))?
        };
        let record = records
            .iter()
            .find(|r| r.is_named(name))
            .cloned()
            .ok_or_else(not_found)?;
        Ok(Located {
            repo,
            records,
            record,
        })
    }

    /// Every revision of the scope matching `filter`, sorted (porch-api.md §1.16).
    pub async fn list(
        &self,
        scope: &Scope,
        filter: &FieldFilter,
    ) -> Result<Vec<PackageRevision>, EngineError> {
        let mut out = Vec::new();
        for repo in scope.visible() {
            if filter.repository().is_some_and(|r| r != repo.name) {
                continue;
            }
            let records = match self.records(repo).await {
                Ok(r) => r,
                Err(e) => {
                    // A failing repository is skipped, as upstream does.
                    tracing::warn!(repository = %repo.name, error = %e, "listing repository failed");
                    continue;
                }
            };
            let latest = latest_revision_names(&records);
            for record in records.iter() {
                let name = record.name();
                let meta = self.stored_meta(&repo.namespace, &name).await?;
                let pr = record.to_package_revision(repo, &meta, latest.contains(&name));
                if filter.matches(&pr) {
                    out.push(pr);
                }
            }
        }
        sort_package_revisions(&mut out);
        Ok(out)
    }

    pub async fn get(&self, scope: &Scope, name: &str) -> Result<PackageRevision, EngineError> {
        let found = self.locate(scope, name).await?;
        self.view(&found.repo, found.records.iter(), &found.record)
            .await
    }

    /// The PackageRevision and its files (the PRR view).
    pub async fn get_resources(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<(PackageRevision, Arc<PackageFiles>), EngineError> {
        let found = self
            .locate(scope, name)
            .await
            .map_err(|e| as_resources_error(name, e))?;
        let pr = self
            .view(&found.repo, found.records.iter(), &found.record)
            .await?;
        let files = self.files(&found.repo, &found.record).await?;
        Ok((pr, files))
    }

    /// Views of the revisions in `after` whose latest marker differs from `before`, except
    /// `exclude` (the revision the operation itself returns). `after` borrows the records (no
    /// copy of a repository's thousands of revisions per write).
    pub(crate) async fn relabelled(
        &self,
        repo: &RepositoryInfo,
        before: &[RevisionRecord],
        after: &[&RevisionRecord],
        exclude: &str,
    ) -> Result<Vec<PackageRevision>, EngineError> {
        let changed = latest_changed(before, after.iter().copied());
        let mut out = Vec::new();
        if changed.is_empty() {
            return Ok(out);
        }
        for record in after.iter().copied() {
            if changed.iter().any(|c| c != exclude && record.is_named(c)) {
                out.push(self.view(repo, after.iter().copied(), record).await?);
            }
        }
        Ok(out)
    }

    /// Resolves package revision names used by a task, anywhere in the scope.
    pub(crate) async fn resolve(
        &self,
        scope: &Scope,
        names: &[String],
        known: &BTreeMap<String, Revisions>,
    ) -> Result<BTreeMap<String, crate::create::ResolvedRef>, EngineError> {
        let mut out = BTreeMap::new();
        for name in names {
            let Ok(key) = parse_package_revision_name(name) else {
                continue;
            };
            let Some(repo) = scope.repository(&key.repository) else {
                continue;
            };
            let records = match known.get(&repo.name) {
                Some(r) => r.clone(),
                None => self.records(repo).await?,
            };
            if let Some(record) = records.iter().find(|r| r.is_named(name)) {
                out.insert(
                    name.clone(),
                    crate::create::ResolvedRef {
                        record: record.clone(),
                        repo: repo.clone(),
                    },
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
