//! A small TTL cache with an injected clock, for TokenReview and SubjectAccessReview answers.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A source of "now", so tests can move time by hand.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
}

/// The monotonic system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<Instant>);

impl ManualClock {
    pub fn new() -> Self {
        Self(Mutex::new(Instant::now()))
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|e| *e.into_inner())
    }
}

/// Entries expire `ttl` after insertion; at most `capacity` entries are kept (the one closest
/// to expiry goes first), so a flood of distinct keys cannot grow memory without bound.
pub struct TtlCache<K, V> {
    clock: Arc<dyn Clock>,
    capacity: usize,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(clock: Arc<dyn Clock>, capacity: usize) -> Self {
        Self {
            clock,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The live value for `key`, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let mut entries = self.entries.lock().ok()?;
        match entries.get(key) {
            Some((expires, v)) if *expires > now => Some(v.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remember `value` for `ttl`; a zero TTL stores nothing.
    pub fn insert(&self, key: K, value: V, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let now = self.clock.now();
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= self.capacity
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, (expires, _))| *expires)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (now + ttl, value));
    }

    /// Number of stored entries, expired ones included until touched.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(cap: usize) -> (Arc<ManualClock>, TtlCache<String, u32>) {
        let clock = Arc::new(ManualClock::new());
        (clock.clone(), TtlCache::new(clock, cap))
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        let (clock, c) = cache(10);
        c.insert("a".into(), 1, Duration::from_secs(10));
        clock.advance(Duration::from_secs(9));
        assert_eq!(c.get(&"a".into()), Some(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(c.get(&"a".into()), None);
        assert!(c.is_empty());
    }

    #[test]
    fn zero_ttl_is_not_stored() {
        let (_, c) = cache(10);
        c.insert("a".into(), 1, Duration::ZERO);
        assert_eq!(c.get(&"a".into()), None);
    }

    #[test]
    fn capacity_evicts_the_entry_closest_to_expiry() {
        let (clock, c) = cache(2);
        c.insert("a".into(), 1, Duration::from_secs(5));
        c.insert("b".into(), 2, Duration::from_secs(50));
        clock.advance(Duration::from_secs(1));
        c.insert("c".into(), 3, Duration::from_secs(50));
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&"a".into()), None);
        assert_eq!(c.get(&"b".into()), Some(2));
        assert_eq!(c.get(&"c".into()), Some(3));
    }

    #[test]
    fn expired_entries_are_dropped_before_evicting_live_ones() {
        let (clock, c) = cache(2);
        c.insert("a".into(), 1, Duration::from_secs(1));
        c.insert("b".into(), 2, Duration::from_secs(50));
        clock.advance(Duration::from_secs(2));
        c.insert("c".into(), 3, Duration::from_secs(10));
        assert_eq!(c.get(&"b".into()), Some(2));
        assert_eq!(c.get(&"c".into()), Some(3));
    }
}
