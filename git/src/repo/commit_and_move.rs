//! Draft ↔ Proposed in one atomic push, with an optional commit first. Upstream
//! Porch closes a draft with one push holding its new commits and the ref
//! moves; so do we: the commit is written to the cache, then one `git push
//! --atomic` creates the target branch at it (lease: must not exist) and
//! deletes the source branch (lease: the commit the caller read). A concurrent
//! writer, in this process or another, makes the whole push fail as a
//! [`GitError::Conflict`] and nothing moves.

use std::collections::BTreeMap;

use super::GitRepository;
use crate::config::Author;
use crate::error::{GitError, Result};
use crate::refs;
use crate::remote::RefUpdate;
use crate::types::{Lifecycle, PackageRevision};

/// A new commit on a draft: its whole package content and annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftChange {
    /// The package's files (paths relative to the package). Must contain `Kptfile`;
    /// files absent here are deleted.
    pub files: BTreeMap<String, String>,
    /// The commit's task annotation (`{"type":"render"}` for a render).
    pub task: Option<serde_json::Value>,
    /// The Kubernetes user making the change, if any.
    pub user: Option<Author>,
}

impl GitRepository {
    /// Moves a Draft to Proposed (or a Proposed back to Draft): commits `change`
    /// on the revision first when given (same commit as
    /// [`update_draft`](Self::update_draft) would write), then pushes, in ONE
    /// atomic push, the new branch (`proposed/<fullpath>/<ws>` or
    /// `drafts/...`) at the resulting commit and the deletion of the old one,
    /// leased on `rev.commit`. Returns the moved revision (new commit if any).
    pub async fn commit_and_move(
        &self,
        rev: &PackageRevision,
        change: Option<DraftChange>,
        to: Lifecycle,
    ) -> Result<PackageRevision> {
        let _guard = self.lock.lock().await;
        let url = self.url().to_string();
        let from = match to {
            Lifecycle::Proposed => Lifecycle::Draft,
            Lifecycle::Draft => Lifecycle::Proposed,
            _ => {
                return Err(GitError::invalid(
                    &url,
                    format!("cannot move a {} package revision to {to}", rev.lifecycle),
                ));
            }
        };
        if rev.lifecycle != from {
            return Err(GitError::invalid(
                &url,
                format!("cannot move a {} package revision to {to}", rev.lifecycle),
            ));
        }
        let read = self.parse_id(&rev.commit)?;
        let commit = match change {
            Some(c) => {
                self.build_draft_commit(rev, c.files, c.task, c.user.as_ref())
                    .await?
            }
            None => read,
        };
        let new_ref = match to {
            Lifecycle::Proposed => refs::proposed_ref(&rev.full_path, &rev.key.workspace),
            _ => refs::draft_ref(&rev.full_path, &rev.key.workspace),
        };
        self.push_and_record(vec![
            RefUpdate {
                name: new_ref.clone(),
                expected: None,
                new: Some(commit),
            },
            RefUpdate {
                name: rev.git_ref.clone(),
                expected: Some(read),
                new: None,
            },
        ])
        .await?;
        let mut out = rev.clone();
        out.lifecycle = to;
        out.git_ref = new_ref;
        out.commit = commit.to_string();
        Ok(out)
    }
}
