//! Package contents keyed by commit SHA. A commit never changes, so an entry never goes stale;
//! the cache is bounded by total bytes and evicts the least recently used entries.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A package's files: path relative to the package root -> text.
pub type PackageFiles = BTreeMap<String, String>;

/// The bytes an entry is charged: keys plus values.
pub fn files_size(files: &PackageFiles) -> usize {
    files.iter().map(|(k, v)| k.len() + v.len()).sum()
}

#[derive(Debug)]
struct Entry {
    files: Arc<PackageFiles>,
    size: usize,
    stamp: u64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// stamp -> commit, oldest first.
    recency: BTreeMap<u64, String>,
    total: usize,
    clock: u64,
}

impl Inner {
    fn touch(&mut self, commit: &str) -> Option<Arc<PackageFiles>> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.entries.get_mut(commit)?;
        self.recency.remove(&entry.stamp);
        entry.stamp = clock;
        self.recency.insert(clock, commit.to_owned());
        Some(Arc::clone(&entry.files))
    }

    fn remove(&mut self, commit: &str) {
        if let Some(e) = self.entries.remove(commit) {
            self.recency.remove(&e.stamp);
            self.total -= e.size;
        }
    }
}

/// Counters of a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub entries: usize,
    pub bytes: usize,
}

/// Thread-safe, byte-bounded LRU of package contents.
#[derive(Debug)]
pub struct ContentCache {
    inner: Mutex<Inner>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl ContentCache {
    /// A cache holding at most `capacity_bytes` of file content.
    pub fn new(capacity_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every mutation keeps the maps consistent before it can panic, so poisoning is harmless.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The files of `commit`, counting a hit or a miss.
    pub fn get(&self, commit: &str) -> Option<Arc<PackageFiles>> {
        let found = self.lock().touch(commit);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores `files` for `commit`, evicting the least recently used entries to fit. An entry
    /// larger than the whole capacity is not stored (it would evict everything for one read).
    pub fn insert(&self, commit: &str, files: PackageFiles) -> Arc<PackageFiles> {
        let size = files_size(&files);
        let files = Arc::new(files);
        if size > self.capacity {
            return files;
        }
        let mut inner = self.lock();
        inner.remove(commit);
        while inner.total + size > self.capacity {
            let Some((_, oldest)) = inner.recency.pop_first() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.total -= e.size;
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        inner.clock += 1;
        let stamp = inner.clock;
        inner.recency.insert(stamp, commit.to_owned());
        inner.entries.insert(
            commit.to_owned(),
            Entry {
                files: Arc::clone(&files),
                size,
                stamp,
            },
        );
        inner.total += size;
        files
    }

    /// Returns the cached files or loads them with `load` (once per miss) and caches them.
    pub async fn get_or_load<F, Fut, E>(
        &self,
        commit: &str,
        load: F,
    ) -> Result<Arc<PackageFiles>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<PackageFiles, E>>,
    {
        if let Some(files) = self.get(commit) {
            return Ok(files);
        }
        let files = load().await?;
        Ok(self.insert(commit, files))
    }

    pub fn invalidate(&self, commit: &str) {
        self.lock().remove(commit);
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: inner.entries.len(),
            bytes: inner.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(n: usize) -> PackageFiles {
        // "Kptfile" (7 bytes) + n bytes of content.
        let mut f = PackageFiles::new();
        f.insert("Kptfile".into(), "x".repeat(n));
        f
    }

    #[test]
    fn hit_and_miss_counters() {
        let c = ContentCache::new(1000);
        assert!(c.get("a").is_none());
        c.insert("a", files(3));
        assert_eq!(c.get("a").unwrap().get("Kptfile").map(String::len), Some(3));
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.entries, s.bytes), (1, 1, 1, 10));
    }

    #[test]
    fn evicts_least_recently_used() {
        let c = ContentCache::new(30); // room for three 10-byte entries
        c.insert("a", files(3));
        c.insert("b", files(3));
        c.insert("c", files(3));
        assert!(c.get("a").is_some()); // a is now most recent; b is the oldest
        c.insert("d", files(3));
        assert!(c.get("b").is_none(), "b was evicted");
        assert!(c.get("a").is_some());
        assert!(c.get("c").is_some());
        assert!(c.get("d").is_some());
        let s = c.stats();
        assert_eq!((s.evictions, s.entries, s.bytes), (1, 3, 30));
    }

    #[test]
    fn oversized_entries_are_not_cached_and_replacement_recharges() {
        let c = ContentCache::new(20);
        c.insert("a", files(3));
        let big = c.insert("big", files(50));
        assert_eq!(big.len(), 1);
        assert!(c.get("big").is_none());
        assert!(c.get("a").is_some(), "an oversized insert evicts nothing");
        c.insert("a", files(10));
        assert_eq!(c.stats().bytes, 17);
        c.invalidate("a");
        assert_eq!(c.stats().bytes, 0);
        assert_eq!(c.stats().entries, 0);
    }

    #[tokio::test]
    async fn get_or_load_reads_the_source_once() {
        let c = ContentCache::new(1000);
        let loads = AtomicU64::new(0);
        for _ in 0..3 {
            let got = c
                .get_or_load("sha", || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, String>(files(4))
                })
                .await
                .unwrap();
            assert_eq!(got.get("Kptfile").map(String::as_str), Some("xxxx"));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        let err = c
            .get_or_load("other", || async {
                Err::<PackageFiles, _>("boom".to_string())
            })
            .await;
        assert_eq!(err.unwrap_err(), "boom");
        assert!(c.get("other").is_none(), "failures are not cached");
    }

    #[test]
    fn concurrent_access_keeps_the_bound() {
        let c = Arc::new(ContentCache::new(200));
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || {
                    for i in 0..200 {
                        let key = format!("k{}", (t * 7 + i) % 40);
                        if c.get(&key).is_none() {
                            c.insert(&key, files(13));
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let s = c.stats();
        assert!(s.bytes <= 200, "{s:?}");
        assert_eq!(s.bytes, s.entries * 20);
        assert_eq!(s.hits + s.misses, 8 * 200);
        assert!(s.evictions > 0);
    }
}
