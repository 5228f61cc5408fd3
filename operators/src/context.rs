//! What every reconcile shares: the client, the repository source, settings, the clock,
//! per-repository memory and metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kube::Client;
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
            memory: Mutex::new(HashMap::new()),
            api_failures: Mutex::new(HashMap::new()),
        }
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
