//! Cheap reads of a repository cache's refs, for the writes that need one fact and must not list
//! (and so read) every revision: a tag's commit from the tag itself. Blocking gix reads, run
//! off the runtime.

use std::path::{Path, PathBuf};

use crate::backend::BackendError;

/// The commit a cache ref (e.g. `refs/tags/pkg/v3`) points at, peeling annotated tags.
pub async fn peeled_commit(cache: &Path, local_ref: &str) -> Result<Option<String>, BackendError> {
    let cache: PathBuf = cache.to_path_buf();
    let name = local_ref.to_owned();
    blocking(move || {
        let repo = open(&cache)?;
        let Some(mut r) = repo.try_find_reference(name.as_str()).map_err(other)? else {
            return Ok(None);
        };
        let id = r.peel_to_id().map_err(other)?;
        Ok(Some(id.to_string()))
    })
    .await
}

fn open(cache: &Path) -> Result<gix::Repository, BackendError> {
    gix::open(cache)
        .map_err(|e| BackendError::Other(format!("cannot open cache {}: {e}", cache.display())))
}

fn other(e: impl std::fmt::Display) -> BackendError {
    BackendError::Other(e.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackendError::Other(format!("blocking task failed: {e}")))?
}
