//! Recording a successful push in the cache. An atomic push with leases that
//! succeeded leaves the remote holding exactly the pushed values, so the cache
//! takes them over directly instead of asking the remote again (one round trip
//! less per write). Refs other writers changed meanwhile are not learned here;
//! the next refresh brings them, and every write is leased, so nothing is
//! decided on them.

use std::collections::BTreeMap;

use gix::ObjectId;

use super::GitRepository;
use crate::error::GitError;
use crate::refs;
use crate::remote::{RefUpdate, local_refs};

impl GitRepository {
    /// Writes `updates` (remote names) into the cache's refs. A failure to do so
    /// falls back to a fetch.
    pub(super) async fn record_push(&self, updates: &[RefUpdate]) {
        if updates.is_empty() {
            return;
        }
        let cache = self.cache.clone();
        let updates = updates.to_vec();
        let written = self
            .with_repo(move |repo, url| {
                let mut all = local_refs(repo, url)?;
                apply(&mut all, &updates);
                crate::packed::replace_all(&cache, &all).map_err(|e| {
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

/// Applies pushed updates (remote names) to cache refs (cache names).
fn apply(cache_refs: &mut BTreeMap<String, ObjectId>, updates: &[RefUpdate]) {
    for u in updates {
        let Some(local) = refs::to_local(&u.name) else {
            continue;
        };
        match u.new {
            Some(id) => cache_refs.insert(local, id),
            None => cache_refs.remove(&local),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_values_replace_create_and_delete_cache_refs() {
        let a = ObjectId::from_hex(b"1111111111111111111111111111111111111111").unwrap();
        let b = ObjectId::from_hex(b"2222222222222222222222222222222222222222").unwrap();
        let mut cache: BTreeMap<String, ObjectId> = [
            ("refs/remotes/origin/main".to_string(), a),
            ("refs/remotes/origin/drafts/p/ws".to_string(), a),
            ("refs/tags/p/v1".to_string(), a),
        ]
        .into();
        apply(
            &mut cache,
            &[
                RefUpdate {
                    name: "refs/heads/proposed/p/ws".into(),
                    expected: None,
                    new: Some(b),
                },
                RefUpdate {
                    name: "refs/heads/drafts/p/ws".into(),
                    expected: Some(a),
                    new: None,
                },
                RefUpdate {
                    name: "refs/heads/main".into(),
                    expected: Some(a),
                    new: Some(b),
                },
                RefUpdate {
                    name: "refs/notes/ignored".into(),
                    expected: None,
                    new: Some(b),
                },
            ],
        );
        let want: BTreeMap<String, ObjectId> = [
            ("refs/remotes/origin/main".to_string(), b),
            ("refs/remotes/origin/proposed/p/ws".to_string(), b),
            ("refs/tags/p/v1".to_string(), a),
        ]
        .into();
        assert_eq!(cache, want);
    }
}
