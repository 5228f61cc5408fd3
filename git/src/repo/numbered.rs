//! Approval under the number the caller planned, and the package's highest tag read from the
//! refs under its own prefix (never every ref of the cache: a repository may hold thousands
//! of tags).

use super::GitRepository;
use crate::config::Author;
use crate::error::{GitError, Result};
use crate::refs;
use crate::types::PackageRevision;

impl GitRepository {
    /// Like [`approve`](Self::approve), for a caller that planned `revision` (1 + the highest
    /// published revision it saw) from a read of this cache it just made: the first try builds
    /// on the cache without fetching again. Refused with [`GitError::Conflict`] when the
    /// package already has a tag numbered `revision` or higher (another writer published
    /// first: seen in the cache, or by a refused push and the fetch after it). A lower number
    /// (tags deleted meanwhile) is used as it is.
    pub async fn approve_as(
        &self,
        rev: &PackageRevision,
        revision: i64,
        user: Option<&Author>,
    ) -> Result<PackageRevision> {
        self.approve_with(rev, Some(revision), user).await
    }
}

/// The highest `N` among the cache's tags `<full_path>/v<N>` (0 when there is none).
pub(super) fn highest_tag(repo: &gix::Repository, url: &str, full_path: &str) -> Result<i64> {
    let prefix = format!("{}{full_path}/", refs::TAGS);
    let platform = repo
        .references()
        .map_err(|e| crate::error::local(url, "cannot list refs", &e))?;
    let iter = platform
        .prefixed(prefix.as_str())
        .map_err(|e| crate::error::local(url, "cannot list refs", &e))?;
    let mut highest = 0;
    for r in iter {
        let r = r.map_err(|e| GitError::other(url, format!("cannot read ref: {e}")))?;
        let name = r.name().as_bstr().to_string();
        if let Some(version) = name.strip_prefix(&prefix)
            && !version.contains('/')
        {
            highest = highest.max(refs::revision_of_version(version));
        }
    }
    Ok(highest)
}
