//! Plain types describing package revisions as found in git.

use serde::{Deserialize, Serialize};

/// Lifecycle of a package revision (same strings as the Porch API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lifecycle {
    Draft,
    Proposed,
    Published,
    DeletionProposed,
}

impl Lifecycle {
    /// The API string, e.g. `DeletionProposed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Draft => "Draft",
            Lifecycle::Proposed => "Proposed",
            Lifecycle::Published => "Published",
            Lifecycle::DeletionProposed => "DeletionProposed",
        }
    }

    /// Published or DeletionProposed.
    pub fn is_published(self) -> bool {
        matches!(self, Lifecycle::Published | Lifecycle::DeletionProposed)
    }
}

impl std::fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identity of a package revision inside one repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageRevisionKey {
    /// Package path relative to the Repository directory, e.g. `basedir/nginx`
    /// (upstream's `packageName`, path and leaf joined by `/`).
    pub package: String,
    /// Workspace name (`main` for the placeholder, `v1` for legacy tags).
    pub workspace: String,
    /// 0 = draft/proposed, N = published, -1 = placeholder.
    pub revision: i64,
}

/// Where a package revision lives in git.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRevision {
    pub key: PackageRevisionKey,
    pub lifecycle: Lifecycle,
    /// Hex id of the commit the revision's ref points to (after peeling tags).
    pub commit: String,
    /// The ref on the remote, e.g. `refs/tags/basens/v1`,
    /// `refs/heads/drafts/foo/ws`, `refs/heads/main`.
    pub git_ref: String,
    /// Path of the package in the repository tree (Repository directory + package).
    pub full_path: String,
    /// Author email of the tagged commit (published tag revisions only; for the
    /// placeholder see [`crate::GitRepository::revision_details`]).
    pub published_by: Option<String>,
    /// Author time (seconds since the epoch) of the tagged commit.
    pub published_at: Option<i64>,
}

/// Lazily loaded details of a revision (needs a history walk).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RevisionDetails {
    /// 0 or 1 tasks: the most recent valid first task (init, clone, edit, upgrade).
    pub tasks: Vec<serde_json::Value>,
    /// Author email of the latest commit annotated for the package (placeholders)
    /// or of the tagged commit (tags).
    pub published_by: Option<String>,
    /// Author time of that commit, seconds since the epoch.
    pub published_at: Option<i64>,
}

/// The result of a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// SHA-256 over all ref names and ids after the fetch (upstream's `Version`).
    pub version: String,
    /// Whether any ref changed.
    pub changed: bool,
    /// Head of the Repository branch (for `status.gitCommitHash`), if it exists.
    pub branch_head: Option<String>,
}
