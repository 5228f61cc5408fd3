//! What every reconcile shares: the client, the repository source, settings, the clock,
//! per-repository memory and metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use jiff::Timestamp;
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use porch_crds::config::v1alpha1::PackageRev;
use porch_crds::labels::INTERNAL_REPOSITORY_LABEL;
use tokio::sync::Semaphore;

use crate::decision::{RepoMemory, SyncSettings};
use crate::metrics::Metrics;
use crate::source::RepositorySource;

/// A source of the current time (tests pin it).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Timestamp::now)
}

/// PackageRev writes one sync keeps in flight by default. An API server commits the writes
/// it has queued in one durable batch (one fsync, about 7 ms on the CI disk), so a first
/// sync's throughput grows with this bound until the CPU limits it: on the first_sync bench
/// (12,000 writes) 16 took about 4.5 s, 64 2.5-4.5 s depending on the machine's load, and
/// 32 or 128 were no faster than 64.
pub const DEFAULT_WRITE_CONCURRENCY: usize = 64;

/// Shared state of the controllers.
pub struct Context {
    pub client: Client,
    pub source: Arc<dyn RepositorySource>,
    pub settings: SyncSettings,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// Bounds the full syncs running at once across all repositories (no sync storms).
    pub sync_permits: Semaphore,
    /// PackageRev writes one sync keeps in flight ([`DEFAULT_WRITE_CONCURRENCY`]).
    pub write_concurrency: usize,
    /// Open repositories with their namespace's CA bundle
    /// (`--repositories.use-user-defined-ca-bundle`).
    pub use_user_ca_bundle: bool,
    /// The PackageRev controller's reflector, once it runs: a sync reads a repository's
    /// PackageRevs from it instead of listing them from the API server.
    package_revs: Mutex<Option<Store<PackageRev>>>,
    memory: Mutex<HashMap<String, RepoMemory>>,
    api_failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context allowing `max_concurrent_syncs` (at least 1) full syncs at a time.
    pub fn new(
        client: Client,
        source: Arc<dyn RepositorySource>,
        settings: SyncSettings,
        max_concurrent_syncs: usize,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> Self {
        Self {
            client,
            source,
            settings,
            clock,
            metrics,
            sync_permits: Semaphore::new(max_concurrent_syncs.max(1)),
            write_concurrency: DEFAULT_WRITE_CONCURRENCY,
            use_user_ca_bundle: false,
            package_revs: Mutex::new(None),
            memory: Mutex::new(HashMap::new()),
            api_failures: Mutex::new(HashMap::new()),
        }
    }

    /// Share a reflector of every PackageRev, or stop sharing one (its controller stopped,
    /// say on a lost lease: a reflector nobody drives any more would go stale).
    pub fn share_package_revs(&self, store: Option<Store<PackageRev>>) {
        *self.package_revs.lock().unwrap_or_else(|e| e.into_inner()) = store;
    }

    /// The PackageRevs of repository `repo` in `namespace` as the shared reflector holds them,
    /// or `None` when there is no reflector or it has not finished its initial list (the
    /// caller then lists from the API server).
    ///
    /// As safe as a list for a sync that takes it before fetching: everything in it existed
    /// before the fetch, so nothing created meanwhile is taken for a vanished revision. A
    /// reflector that lags shows a create as missing (the create then finds it and adopts
    /// it) or an object as older (deletes carry its resourceVersion and fail on conflict).
    pub fn package_rev_snapshot(
        &self,
        namespace: &str,
        repo: &str,
    ) -> Option<Vec<Arc<PackageRev>>> {
        let store = self
            .package_revs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        store.wait_until_ready().now_or_never()?.ok()?;
        Some(
            store
                .state()
                .into_iter()
                .filter(|p| {
                    p.namespace().as_deref() == Some(namespace)
                        && p.labels()
                            .get(INTERNAL_REPOSITORY_LABEL)
                            .map(String::as_str)
                            == Some(repo)
                })
                .collect(),
        )
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// What this process remembers about the repository with `key` (its uid).
    pub fn memory(&self, key: &str) -> RepoMemory {
        let map = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).cloned().unwrap_or_default()
    }

    /// Update the memory of `key`.
    pub fn remember(&self, key: &str, f: impl FnOnce(&mut RepoMemory)) {
        let mut map = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(key.to_string()).or_default());
    }

    /// Forget `key` (the repository is gone).
    pub fn forget(&self, key: &str) {
        let mut map = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
        drop(map);
        self.api_succeeded(key);
    }

    /// Count an API failure of `key` and return how many in a row.
    pub fn api_failed(&self, key: &str) -> u32 {
        let mut map = self.api_failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key.to_string()).or_default();
        *n = n.saturating_add(1);
        *n
    }

    /// Reset the API failure count of `key`.
    pub fn api_succeeded(&self, key: &str) {
        let mut map = self.api_failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }
}
