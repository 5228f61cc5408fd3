//! Recording a successful push in the cache. An atomic push with leases that
//! succeeded leaves the remote holding exactly the pushed values, so the cache
//! takes them over directly instead of asking the remote again (one round trip
//! less per write). Refs other writers changed meanwhile are not learned here;
//! the next refresh brings them, and every write is leased, so nothing is
//! decided on them.

use super::GitRepository;
use crate::error::GitError;
use crate::remote::RefUpdate;

impl GitRepository {
    /// Writes `updates` (remote names) into the cache's refs, as loose refs (see
    /// [`crate::loose`]: the cost does not grow with the refs the cache holds). A failure
    /// to do so falls back to a fetch.
    pub(super) async fn record_push(&self, updates: &[RefUpdate]) {
        if updates.is_empty() {
            return;
        }
        let cache = self.cache.clone();
        let updates = updates.to_vec();
        let written = self
            .blocking(move |url| {
                crate::loose::apply_pushed(&cache, &updates).map_err(|e| {
                    GitError::other(
                        url,
                        format!("cannot write refs in cache {}: {e}", cache.display()),
                    )
                })
            })
            .await;
        if let Ok(mut known) = self.known_version.lock() {
            known.generation += 1;
            known.value = None;
            known.unreported = true;
        }
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot record a push in the cache; fetching instead");
            self.refetch_quietly().await;
        }
    }

    /// Whether a recorded push changed the cache since the last call (reported
    /// once by [`refresh`](Self::refresh) as a change).
    pub(super) fn take_unreported_push(&self) -> bool {
        self.known_version
            .lock()
            .map(|mut k| std::mem::take(&mut k.unreported))
            .unwrap_or(false)
    }
}
