//! Fetch coalescing for one repository cache. Every engine read starts with a refresh (a fetch),
//! and porch-git fetches after a refused push (and before an approval it numbers alone): most
//! of those fetches would bring nothing new. [`SharedFetchRemote`] wraps the real remote so that
//! - concurrent fetches of the same cache share one request ([`FetchDecision::Join`]),
//! - a fetch is skipped when one finished less than [`FetchPolicy::fresh_for`] ago
//!   ([`FetchDecision::Skip`]), and
//! - a successful push is reported as a change by the next fetch, even a skipped one (porch-git
//!   writes the pushed refs into the cache itself, so it needs no refetch to see its own writes).
//!
//! Correctness does not rest on freshness: every porch-git write carries leases (expected old
//! values), so a write planned on a cache that missed another process's change is refused by
//! the remote. A refused or failed push marks the cache stale, so the retry that follows
//! fetches for real. Other processes' writes become visible within `fresh_for`.
//!
//! [`FetchState`] is the no-I/O decision core, tested by feeding it instants.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use porch_git::remote::FetchOutcome;
use porch_git::{GitError, GitRemote, RefUpdate};

/// How long a finished fetch stands in for the next ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPolicy {
    /// A fetch is skipped when one finished less than this long ago (`ZERO`: never skipped;
    /// concurrent fetches are still shared).
    pub fresh_for: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            fresh_for: Duration::from_millis(1000),
        }
    }
}

/// What a caller asking for a fetch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchDecision {
    /// The cache is fresh: no request.
    Skip,
    /// Await the fetch already in flight (its id).
    Join(u64),
    /// Start a new fetch with this id.
    Start(u64),
}

/// The freshness bookkeeping of one cache (no I/O, no clock of its own).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FetchState {
    last_ok: Option<Instant>,
    stale: bool,
    /// A push wrote cache refs that no fetch has reported yet.
    unreported: bool,
    in_flight: Option<u64>,
    next_id: u64,
}

impl FetchState {
    /// Decides for a caller arriving at `now`; a `Start` is registered as in flight.
    pub fn decide(&mut self, now: Instant, fresh_for: Duration) -> FetchDecision {
        if let Some(id) = self.in_flight {
            return FetchDecision::Join(id);
        }
        let fresh = !self.stale
            && self
                .last_ok
                .is_some_and(|t| now.saturating_duration_since(t) < fresh_for);
        if fresh {
            return FetchDecision::Skip;
        }
        self.next_id += 1;
        self.in_flight = Some(self.next_id);
        FetchDecision::Start(self.next_id)
    }

    /// Fetch `id` ended at `now`. Only the first report of an id counts (every joiner reports).
    pub fn finished(&mut self, id: u64, ok: bool, now: Instant) {
        if self.in_flight != Some(id) {
            return;
        }
        self.in_flight = None;
        if ok {
            self.last_ok = Some(now);
            self.stale = false;
        } else {
            self.last_ok = None;
        }
    }

    /// A push ended. A refused or failed one means the remote moved in a way the cache does not
    /// know: the next fetch goes out. A successful one was written into the cache.
    pub fn pushed(&mut self, ok: bool) {
        if ok {
            self.unreported = true;
        } else {
            self.stale = true;
        }
    }

    /// Whether cache refs changed (by a recorded push) since the last fetch reported: the next
    /// fetch, even a skipped one, says `changed` so that readers caching on it re-read.
    pub fn take_unreported(&mut self) -> bool {
        std::mem::take(&mut self.unreported)
    }

    /// Forces the next fetch to go to the network.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }
}

type SharedFetch = Shared<BoxFuture<'static, Result<FetchOutcome, Arc<GitError>>>>;

struct Slot {
    state: FetchState,
    in_flight: Option<(u64, SharedFetch)>,
}

/// A [`GitRemote`] with shared and skipped fetches (see the module docs).
pub struct SharedFetchRemote {
    inner: Arc<dyn GitRemote>,
    policy: FetchPolicy,
    slot: Mutex<Slot>,
    network_fetches: Arc<AtomicU64>,
    network_pushes: Arc<AtomicU64>,
}

impl SharedFetchRemote {
    /// Wraps `inner`; every fetch that reaches the network adds one to `network_fetches`.
    pub fn new(
        inner: Arc<dyn GitRemote>,
        policy: FetchPolicy,
        network_fetches: Arc<AtomicU64>,
    ) -> Self {
        Self {
            inner,
            policy,
            slot: Mutex::new(Slot {
                state: FetchState::default(),
                in_flight: None,
            }),
            network_fetches,
            network_pushes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Every push (each one a network round trip) adds one to `network_pushes`.
    pub fn counting_pushes(mut self, network_pushes: Arc<AtomicU64>) -> Self {
        self.network_pushes = network_pushes;
        self
    }

    /// The next fetch goes to the network whatever the window says.
    pub fn invalidate(&self) {
        lock(&self.slot).state.invalidate();
    }

    async fn fetch_shared(&self, cache: &Path) -> Result<FetchOutcome, GitError> {
        let (id, fut) = {
            let mut slot = lock(&self.slot);
            match slot.state.decide(Instant::now(), self.policy.fresh_for) {
                FetchDecision::Skip => {
                    let changed = slot.state.take_unreported();
                    return Ok(FetchOutcome { changed });
                }
                FetchDecision::Join(id) => match &slot.in_flight {
                    Some((running, fut)) if *running == id => (id, fut.clone()),
                    // Unreachable by construction (decide and the slot change together); a
                    // fresh fetch is the safe answer.
                    _ => {
                        let fut = self.start(cache);
                        slot.in_flight = Some((id, fut.clone()));
                        (id, fut)
                    }
                },
                FetchDecision::Start(id) => {
                    let fut = self.start(cache);
                    slot.in_flight = Some((id, fut.clone()));
                    (id, fut)
                }
            }
        };
        let out = fut.await;
        let unreported = {
            let mut slot = lock(&self.slot);
            slot.state.finished(id, out.is_ok(), Instant::now());
            if slot.in_flight.as_ref().is_some_and(|(r, _)| *r == id) {
                slot.in_flight = None;
            }
            out.is_ok() && slot.state.take_unreported()
        };
        match out {
            Ok(o) => Ok(FetchOutcome {
                changed: o.changed || unreported,
            }),
            Err(e) => Err(clone_error(&e)),
        }
    }

    fn start(&self, cache: &Path) -> SharedFetch {
        self.network_fetches.fetch_add(1, Ordering::Relaxed);
        let inner = self.inner.clone();
        let cache: PathBuf = cache.to_path_buf();
        async move { inner.fetch(&cache).await.map_err(Arc::new) }
            .boxed()
            .shared()
    }

    async fn push_and_record(&self, cache: &Path, updates: Vec<RefUpdate>) -> Result<(), GitError> {
        self.network_pushes.fetch_add(1, Ordering::Relaxed);
        let result = self.inner.push(cache, updates).await;
        lock(&self.slot).state.pushed(result.is_ok());
        result
    }
}

impl GitRemote for SharedFetchRemote {
    fn url(&self) -> &str {
        self.inner.url()
    }

    fn fetch<'a>(&'a self, cache: &'a Path) -> BoxFuture<'a, porch_git::Result<FetchOutcome>> {
        self.fetch_shared(cache).boxed()
    }

    fn push<'a>(
        &'a self,
        cache: &'a Path,
        updates: Vec<RefUpdate>,
    ) -> BoxFuture<'a, porch_git::Result<()>> {
        self.push_and_record(cache, updates).boxed()
    }
}

/// Every joiner gets its own copy of the shared failure.
fn clone_error(e: &GitError) -> GitError {
    let (url, message) = (e.url().to_owned(), message_of(e));
    match e {
        GitError::NotFound { .. } => GitError::NotFound { url, message },
        GitError::Conflict { .. } => GitError::Conflict { url, message },
        GitError::Auth { .. } => GitError::Auth { url, message },
        GitError::Unreachable { .. } => GitError::Unreachable { url, message },
        GitError::Invalid { .. } => GitError::Invalid { url, message },
        GitError::Other { .. } => GitError::Other { url, message },
    }
}

fn message_of(e: &GitError) -> String {
    match e {
        GitError::NotFound { message, .. }
        | GitError::Conflict { message, .. }
        | GitError::Auth { message, .. }
        | GitError::Unreachable { message, .. }
        | GitError::Invalid { message, .. }
        | GitError::Other { message, .. } => message.clone(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_millis(500);

    #[test]
    fn first_fetch_starts_and_a_second_caller_joins_it() {
        let mut s = FetchState::default();
        let t0 = Instant::now();
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Start(1));
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Join(1));
        s.finished(1, true, t0);
        // A late joiner's report of the same fetch changes nothing.
        s.finished(1, true, t0 + WINDOW * 10);
        assert_eq!(s.decide(t0 + WINDOW / 2, WINDOW), FetchDecision::Skip);
    }

    #[test]
    fn the_window_expires() {
        let mut s = FetchState::default();
        let t0 = Instant::now();
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Start(1));
        s.finished(1, true, t0);
        assert_eq!(s.decide(t0 + WINDOW, WINDOW), FetchDecision::Start(2));
    }

    #[test]
    fn zero_window_never_skips() {
        let mut s = FetchState::default();
        let t0 = Instant::now();
        assert_eq!(s.decide(t0, Duration::ZERO), FetchDecision::Start(1));
        s.finished(1, true, t0);
        assert_eq!(s.decide(t0, Duration::ZERO), FetchDecision::Start(2));
    }

    #[test]
    fn a_failed_fetch_is_not_fresh() {
        let mut s = FetchState::default();
        let t0 = Instant::now();
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Start(1));
        s.finished(1, false, t0);
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Start(2));
    }

    #[test]
    fn a_refused_push_forces_the_next_fetch_until_one_succeeds() {
        let mut s = FetchState::default();
        let t0 = Instant::now();
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Start(1));
        s.finished(1, true, t0);
        assert!(!s.take_unreported());
        s.pushed(true);
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Skip);
        // The recorded push is reported as a change once.
        assert!(s.take_unreported());
        assert!(!s.take_unreported());
        s.pushed(false);
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Start(2));
        s.finished(2, true, t0);
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Skip);
        s.invalidate();
        assert_eq!(s.decide(t0, WINDOW), FetchDecision::Start(3));
    }

    /// A remote whose fetch takes a while and counts calls; push fails on demand.
    struct SlowRemote {
        fetches: AtomicU64,
        fail_push: bool,
    }

    impl GitRemote for SlowRemote {
        fn url(&self) -> &str {
            "http://127.0.0.1:1/fake.git"
        }
        fn fetch<'a>(&'a self, _cache: &'a Path) -> BoxFuture<'a, porch_git::Result<FetchOutcome>> {
            async move {
                self.fetches.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(FetchOutcome { changed: true })
            }
            .boxed()
        }
        fn push<'a>(
            &'a self,
            _cache: &'a Path,
            _updates: Vec<RefUpdate>,
        ) -> BoxFuture<'a, porch_git::Result<()>> {
            let fail = self.fail_push;
            async move {
                if fail {
                    Err(GitError::Conflict {
                        url: "u".into(),
                        message: "stale info".into(),
                    })
                } else {
                    Ok(())
                }
            }
            .boxed()
        }
    }

    fn wrapped(fresh_for: Duration, fail_push: bool) -> (Arc<SharedFetchRemote>, Arc<SlowRemote>) {
        let inner = Arc::new(SlowRemote {
            fetches: AtomicU64::new(0),
            fail_push,
        });
        let remote = Arc::new(SharedFetchRemote::new(
            inner.clone(),
            FetchPolicy { fresh_for },
            Arc::new(AtomicU64::new(0)),
        ));
        (remote, inner)
    }

    #[tokio::test]
    async fn concurrent_fetches_share_one_request() {
        let (remote, inner) = wrapped(Duration::ZERO, false);
        let cache = Path::new("/nonexistent");
        let calls = (0..8).map(|_| remote.fetch(cache));
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(|r| r.as_ref().is_ok_and(|o| o.changed)));
        assert_eq!(inner.fetches.load(Ordering::SeqCst), 1);
        assert_eq!(remote.network_fetches.load(Ordering::SeqCst), 1);
        // With no window, the next one goes out again.
        remote.fetch(cache).await.unwrap();
        assert_eq!(inner.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_successful_push_is_counted_and_reported_as_a_change_once() {
        let (remote, inner) = wrapped(Duration::from_secs(60), false);
        let pushes = Arc::new(AtomicU64::new(0));
        let remote = Arc::into_inner(remote)
            .unwrap()
            .counting_pushes(pushes.clone());
        let cache = Path::new("/nonexistent");
        assert!(remote.fetch(cache).await.unwrap().changed);
        let id = gix::ObjectId::from_hex(b"0123456789012345678901234567890123456789").unwrap();
        remote
            .push(
                cache,
                vec![RefUpdate {
                    name: "refs/heads/drafts/pkg/ws".into(),
                    expected: None,
                    new: Some(id),
                }],
            )
            .await
            .unwrap();
        assert_eq!(pushes.load(Ordering::SeqCst), 1);
        // Skipped (fresh), but it reports the pushed refs as a change, once.
        assert!(remote.fetch(cache).await.unwrap().changed);
        assert!(!remote.fetch(cache).await.unwrap().changed);
        assert_eq!(inner.fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_push_makes_the_next_fetch_real() {
        let (remote, inner) = wrapped(Duration::from_secs(60), true);
        let cache = Path::new("/nonexistent");
        remote.fetch(cache).await.unwrap();
        remote.fetch(cache).await.unwrap();
        assert_eq!(inner.fetches.load(Ordering::SeqCst), 1, "second is skipped");
        let err = remote.push(cache, Vec::new()).await.unwrap_err();
        assert!(matches!(err, GitError::Conflict { .. }));
        remote.fetch(cache).await.unwrap();
        assert_eq!(inner.fetches.load(Ordering::SeqCst), 2);
    }
}
