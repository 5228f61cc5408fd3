//! One operation at a time per package revision (and per package being created). A second
//! concurrent request fails at once with upstream's 409 text; it never waits. Guards are RAII and
//! the registry holds only keys that are currently locked, so nothing leaks.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

/// What is being locked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LockKey {
    /// An existing package revision (update, approval, PRR update and delete share it, so a
    /// PRR update can never interleave with a lifecycle change of the same revision).
    PackageRevision { namespace: String, name: String },
    /// The creation of new revisions of one package (`path/pkg`) in one repository.
    Creation {
        namespace: String,
        repository: String,
        package: String,
    },
}

impl LockKey {
    pub fn package_revision(namespace: &str, name: &str) -> Self {
        Self::PackageRevision {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    pub fn creation(namespace: &str, repository: &str, package: &str) -> Self {
        Self::Creation {
            namespace: namespace.to_owned(),
            repository: repository.to_owned(),
            package: package.to_owned(),
        }
    }
}

/// A process-wide registry of held keys. Cloning shares the registry.
#[derive(Debug, Clone, Default)]
pub struct LockRegistry {
    held: Arc<Mutex<HashSet<LockKey>>>,
}

/// Holds a key until dropped.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard {
    registry: Arc<Mutex<HashSet<LockKey>>>,
    key: LockKey,
}

fn lock_set(m: &Mutex<HashSet<LockKey>>) -> MutexGuard<'_, HashSet<LockKey>> {
    // A panic while holding this std mutex cannot leave the set inconsistent (single insert or
    // remove), so a poisoned lock is safe to keep using.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl LockRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the key if free; `None` when another operation holds it.
    pub fn try_lock(&self, key: LockKey) -> Option<LockGuard> {
        let mut held = lock_set(&self.held);
        if !held.insert(key.clone()) {
            return None;
        }
        Some(LockGuard {
            registry: Arc::clone(&self.held),
            key,
        })
    }

    /// How many keys are held right now (for tests and metrics).
    pub fn held_count(&self) -> usize {
        lock_set(&self.held).len()
    }

    pub fn is_held(&self, key: &LockKey) -> bool {
        lock_set(&self.held).contains(key)
    }
}

impl LockGuard {
    pub fn key(&self) -> &LockKey {
        &self.key
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        lock_set(&self.registry).remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn second_lock_fails_until_release() {
        let reg = LockRegistry::new();
        let key = LockKey::package_revision("ns", "r.p.ws");
        let g = reg.try_lock(key.clone()).expect("first");
        assert!(reg.try_lock(key.clone()).is_none());
        // Other keys are independent.
        let other = reg.try_lock(LockKey::package_revision("ns", "r.p.other"));
        assert!(other.is_some());
        let creation = reg.try_lock(LockKey::creation("ns", "r", "p"));
        assert!(creation.is_some());
        assert_eq!(reg.held_count(), 3);
        assert_eq!(g.key(), &key);
        drop(g);
        assert!(!reg.is_held(&key));
        assert!(reg.try_lock(key).is_some());
        drop(other);
        drop(creation);
        assert_eq!(reg.held_count(), 0, "no entries leak");
    }

    #[test]
    fn concurrent_contenders_exactly_one_wins() {
        let reg = LockRegistry::new();
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let wins = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let reg = reg.clone();
                let barrier = Arc::clone(&barrier);
                let wins = Arc::clone(&wins);
                std::thread::spawn(move || {
                    barrier.wait();
                    let guard = reg.try_lock(LockKey::creation("ns", "r", "p"));
                    if guard.is_some() {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                    // Everyone has tried before the winner releases.
                    barrier.wait();
                    drop(guard);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(wins.load(Ordering::SeqCst), 1);
        assert_eq!(reg.held_count(), 0);
    }
}
