//! The CR cache: a watch-fed in-memory index of PackageRev and Repository objects from which every
//! PackageRevision read is served (a list never touches git).
//!
//! [`index`] is the pure core; [`CrCache`] shares it behind a lock and broadcasts its changes;
//! [`watch`] feeds it from kube-runtime watchers.

pub mod index;
pub mod served;
pub mod watch;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_crds::porch::v1alpha1::PackageRevision;
use tokio::sync::broadcast;

pub use index::{CacheIndex, Change, ChangeKind, Expired};
pub use served::ServedRevision;

/// Events buffered per subscriber before a slow watcher is cut off.
const EVENT_BUFFER: usize = 1024;

/// A cloneable handle on the shared index.
#[derive(Clone)]
pub struct CrCache {
    index: Arc<RwLock<CacheIndex>>,
    events: broadcast::Sender<Change>,
    /// How many watched kinds have had their first list (see [`CrCache::is_synced`]).
    synced_kinds: Arc<std::sync::atomic::AtomicUsize>,
}

impl Default for CrCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for CrCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrCache")
            .field("resource_version", &self.read().resource_version())
            .finish()
    }
}

impl CrCache {
    /// An empty cache (fed by tests, by [`CrCache::start`] or by the write path).
    pub fn new() -> Self {
        Self::with_history(index::DEFAULT_HISTORY)
    }

    /// An empty cache keeping the last `limit` changes for watches resuming from a
    /// resourceVersion (older ones get 410 Expired).
    pub fn with_history(limit: usize) -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Self {
            index: Arc::new(RwLock::new(CacheIndex::with_history(limit))),
            events,
            synced_kinds: Arc::default(),
        }
    }

    /// A consistent read of the index.
    pub fn read(&self) -> RwLockReadGuard<'_, CacheIndex> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, CacheIndex> {
        self.index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscribes to changes together with a snapshot taken at the same instant, so a watch
    /// neither misses nor repeats an event.
    pub fn snapshot_and_subscribe(
        &self,
        namespace: &str,
    ) -> (Vec<Arc<ServedRevision>>, u64, broadcast::Receiver<Change>) {
        let index = self.read();
        let rx = self.events.subscribe();
        (index.list(namespace), index.resource_version(), rx)
    }

    /// Subscribes to changes after `resource_version`: the ones already made (from the
    /// index's history) and a receiver for the rest, or [`Expired`] when the history no longer
    /// reaches back that far.
    pub fn subscribe_since(
        &self,
        resource_version: u64,
    ) -> Result<(Vec<Change>, u64, broadcast::Receiver<Change>), Expired> {
        let index = self.read();
        let missed = index.changes_since(resource_version)?;
        let rx = self.events.subscribe();
        Ok((missed, index.resource_version(), rx))
    }

    /// Runs `f` on the index under the write lock and broadcasts what changed. Broadcasting
    /// under the lock keeps event order equal to resourceVersion order.
    fn mutate(&self, f: impl FnOnce(&mut CacheIndex) -> Vec<Change>) -> Vec<Change> {
        let mut index = self.write();
        let changes = f(&mut index);
        for c in &changes {
            // No subscriber is not an error.
            let _ = self.events.send(c.clone());
        }
        changes
    }

    pub fn apply_package_rev(&self, rev: PackageRev) -> Vec<Change> {
        self.mutate(|i| i.apply_package_rev(rev))
    }

    pub fn delete_package_rev(&self, namespace: &str, name: &str) -> Vec<Change> {
        self.mutate(|i| i.delete_package_rev(namespace, name))
    }

    pub fn reset_package_revs(&self, revs: Vec<PackageRev>) -> Vec<Change> {
        self.mutate(|i| i.reset_package_revs(revs))
    }

    pub fn apply_repository(&self, repo: Repository) -> Vec<Change> {
        self.mutate(|i| i.apply_repository(repo))
    }

    pub fn delete_repository(&self, namespace: &str, name: &str) -> Vec<Change> {
        self.mutate(|i| i.delete_repository(namespace, name))
    }

    pub fn reset_repositories(&self, repos: Vec<Repository>) -> Vec<Change> {
        self.mutate(|i| i.reset_repositories(repos))
    }

    /// Write-through of an engine result, so a client reads its own write before the PackageRev
    /// watch echoes it. Metadata the view lacks (creationTimestamp) is kept from the stored
    /// record; the later watch event with equal content produces no event.
    pub fn record_package_revision(&self, pr: &PackageRevision) -> Vec<Change> {
        let ns = pr.metadata.namespace.clone().unwrap_or_default();
        let name = pr.metadata.name.clone().unwrap_or_default();
        let commit = pr.metadata.resource_version.clone().unwrap_or_default();
        let mut rev = PackageRev::from_package_revision(pr, &commit);
        {
            let index = self.read();
            if let Some(old) = index.package_rev_meta(&ns, &name) {
                rev.metadata.creation_timestamp = old.creation_timestamp.clone();
                rev.metadata.resource_version = old.resource_version.clone();
                rev.metadata.uid = old.uid.clone();
            }
        }
        if rev.metadata.creation_timestamp.is_none() {
            rev.metadata.creation_timestamp = pr.metadata.creation_timestamp.clone();
        }
        rev.metadata.deletion_timestamp = pr.metadata.deletion_timestamp.clone();
        self.apply_package_rev(rev)
    }
}

#[cfg(test)]
mod tests;
