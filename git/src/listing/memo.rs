//! What listing derives from a ref's target, memoised by object id. Commits
//! (and tag objects) are immutable, so an entry never goes stale: after a ref
//! change only the new targets are read. Bounded by entry count with two
//! generations: when the current one is full it becomes the previous one
//! (entries found there are promoted), so what listings keep using survives
//! and what they stopped using is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gix::ObjectId;

use crate::objects::ObjResult;

/// Entries per generation (at most twice this many are held). A tag entry is
/// about 200 bytes.
pub(crate) const GENERATION_ENTRIES: usize = 20_000;

/// What a derivation depends on besides the object: the ref kind and the path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum MemoKey {
    /// The Repository branch head; the path is the Repository directory.
    Branch(ObjectId, String),
    /// A draft or proposed branch head; the path is the package's full path.
    Draft(ObjectId, String),
    /// A package tag target; the path is the package's full path.
    Tag(ObjectId, String),
}

/// The facts of a published revision's tagged commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagFacts {
    pub commit: ObjectId,
    pub author_email: String,
    pub author_time: i64,
    /// The workspace named in the approval message, if any.
    pub workspace: Option<String>,
}

/// A memoised derivation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Derived {
    /// The branch head commit and the packages (full paths) in its tree.
    Branch {
        commit: ObjectId,
        packages: Arc<Vec<String>>,
    },
    /// The draft's commit, or `None` when it has no Kptfile at the package path.
    Draft(Option<ObjectId>),
    /// The tag's facts, or `None` when it has no Kptfile at the package path.
    Tag(Option<Arc<TagFacts>>),
}

/// Hit and miss counts (for tests and diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
}

#[derive(Default)]
struct Generations {
    current: HashMap<MemoKey, Derived>,
    previous: HashMap<MemoKey, Derived>,
    hits: u64,
    misses: u64,
}

/// The listing memo of one repository cache.
pub(crate) struct ListMemo {
    capacity: usize,
    inner: Mutex<Generations>,
    /// Where listed revisions' Kptfiles are, for discovery to read them without a second
    /// tree lookup.
    pub(crate) kptfiles: crate::objects::KptfileBlobs,
}

impl Default for ListMemo {
    fn default() -> Self {
        Self::with_capacity(GENERATION_ENTRIES)
    }
}

impl ListMemo {
    /// A memo holding at most `2 * capacity` entries.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        ListMemo {
            capacity: capacity.max(1),
            inner: Mutex::new(Generations::default()),
            kptfiles: Default::default(),
        }
    }

    /// The memoised value of `key`, else `derive()` (stored when it succeeds).
    /// The lock is not held while deriving.
    pub(crate) fn get_or(
        &self,
        key: MemoKey,
        derive: impl FnOnce() -> ObjResult<Derived>,
    ) -> ObjResult<Derived> {
        if let Some(found) = self.lookup(&key) {
            return Ok(found);
        }
        let value = derive()?;
        self.insert(key, value.clone());
        Ok(value)
    }

    pub(crate) fn stats(&self) -> MemoStats {
        let g = self.lock();
        MemoStats {
            hits: g.hits,
            misses: g.misses,
            entries: g.current.len() + g.previous.len(),
        }
    }

    fn lookup(&self, key: &MemoKey) -> Option<Derived> {
        let mut g = self.lock();
        if let Some(v) = g.current.get(key) {
            let v = v.clone();
            g.hits += 1;
            return Some(v);
        }
        if let Some(v) = g.previous.remove(key) {
            g.hits += 1;
            self.store(&mut g, key.clone(), v.clone());
            return Some(v);
        }
        g.misses += 1;
        None
    }

    fn insert(&self, key: MemoKey, value: Derived) {
        let mut g = self.lock();
        self.store(&mut g, key, value);
    }

    fn store(&self, g: &mut Generations, key: MemoKey, value: Derived) {
        if g.current.len() >= self.capacity {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(key, value);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    #[test]
    fn derives_once_per_key_and_stays_bounded() {
        let memo = ListMemo::with_capacity(2);
        let mut calls = 0;
        for _ in 0..3 {
            let got = memo
                .get_or(MemoKey::Draft(id(1), "p".into()), || {
                    calls += 1;
                    Ok(Derived::Draft(Some(id(1))))
                })
                .unwrap();
            assert_eq!(got, Derived::Draft(Some(id(1))));
        }
        assert_eq!(calls, 1);
        // Same object, other path: another derivation.
        memo.get_or(MemoKey::Draft(id(1), "q".into()), || {
            Ok(Derived::Draft(None))
        })
        .unwrap();
        assert_eq!(memo.stats().misses, 2);
        // Fill past two generations: the oldest unused entries go.
        for n in 2..8 {
            memo.get_or(MemoKey::Tag(id(n), "p".into()), || Ok(Derived::Tag(None)))
                .unwrap();
        }
        assert!(memo.stats().entries <= 4, "{:?}", memo.stats());
        // A failed derivation is not stored.
        let err = memo.get_or(MemoKey::Tag(id(9), "p".into()), || Err("boom".into()));
        assert_eq!(err, Err("boom".to_string()));
        let again = memo
            .get_or(MemoKey::Tag(id(9), "p".into()), || Ok(Derived::Tag(None)))
            .unwrap();
        assert_eq!(again, Derived::Tag(None));
    }

    #[test]
    fn entries_in_the_previous_generation_are_promoted() {
        let memo = ListMemo::with_capacity(2);
        let key = |n| MemoKey::Tag(id(n), "p".into());
        memo.get_or(key(1), || Ok(Derived::Tag(None))).unwrap();
        memo.get_or(key(2), || Ok(Derived::Tag(None))).unwrap();
        // Generation turns over: 1 and 2 are now previous.
        memo.get_or(key(3), || Ok(Derived::Tag(None))).unwrap();
        // 1 is used again (promoted), then another turnover drops 2 but not 1.
        memo.get_or(key(1), || panic!("1 is memoised")).unwrap();
        memo.get_or(key(4), || Ok(Derived::Tag(None))).unwrap();
        memo.get_or(key(5), || Ok(Derived::Tag(None))).unwrap();
        memo.get_or(key(1), || panic!("1 survives")).unwrap();
        let mut derived = false;
        memo.get_or(key(2), || {
            derived = true;
            Ok(Derived::Tag(None))
        })
        .unwrap();
        assert!(derived, "2 was dropped");
    }
}
