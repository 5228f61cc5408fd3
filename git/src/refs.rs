//! Ref naming rules of upstream Porch (`spec/porch-api.md` §6.1). Pure string logic.

/// Prefix of draft branches.
pub const DRAFTS: &str = "drafts/";
/// Prefix of proposed branches.
pub const PROPOSED: &str = "proposed/";
/// Prefix of deletion-proposed branches.
pub const DELETION_PROPOSED: &str = "deletionProposed/";

/// Where remote branches are kept in the local cache.
pub const LOCAL_HEADS: &str = "refs/remotes/origin/";
/// Where tags are kept in the local cache (same as the remote).
pub const TAGS: &str = "refs/tags/";
/// Remote branch namespace.
pub const HEADS: &str = "refs/heads/";

/// Joins the Repository directory and the package path.
pub fn full_path(directory: &str, package: &str) -> String {
    let dir = directory.trim_matches('/');
    if dir.is_empty() {
        package.to_string()
    } else {
        format!("{dir}/{package}")
    }
}

/// The package path relative to the directory, if `full` lies inside it.
pub fn package_in_directory(full: &str, directory: &str) -> Option<String> {
    let dir = directory.trim_matches('/');
    if dir.is_empty() {
        return Some(full.to_string());
    }
    full.strip_prefix(dir)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|rest| !rest.is_empty())
        .map(str::to_string)
}

/// `refs/heads/drafts/<fullpath>/<ws>`.
pub fn draft_ref(full_path: &str, workspace: &str) -> String {
    format!("{HEADS}{DRAFTS}{full_path}/{workspace}")
}

/// `refs/heads/proposed/<fullpath>/<ws>`.
pub fn proposed_ref(full_path: &str, workspace: &str) -> String {
    format!("{HEADS}{PROPOSED}{full_path}/{workspace}")
}

/// `refs/heads/deletionProposed/<fullpath>/v<N>`, or `/<branch>` for the placeholder.
pub fn deletion_proposed_ref(full_path: &str, revision: i64, branch: &str) -> String {
    if revision == -1 {
        format!("{HEADS}{DELETION_PROPOSED}{full_path}/{branch}")
    } else {
        format!("{HEADS}{DELETION_PROPOSED}{full_path}/v{revision}")
    }
}

/// `refs/tags/<fullpath>/v<N>`.
pub fn tag_ref(full_path: &str, revision: i64) -> String {
    format!("{TAGS}{full_path}/v{revision}")
}

/// `refs/heads/<branch>`.
pub fn branch_ref(branch: &str) -> String {
    format!("{HEADS}{branch}")
}

/// Maps a remote ref name to the ref that caches it locally.
pub fn to_local(remote_ref: &str) -> Option<String> {
    if let Some(rest) = remote_ref.strip_prefix(HEADS) {
        Some(format!("{LOCAL_HEADS}{rest}"))
    } else if remote_ref.starts_with(TAGS) {
        Some(remote_ref.to_string())
    } else {
        None
    }
}

/// Maps a local cache ref back to the remote ref name.
pub fn to_remote(local_ref: &str) -> Option<String> {
    if let Some(rest) = local_ref.strip_prefix(LOCAL_HEADS) {
        Some(format!("{HEADS}{rest}"))
    } else if local_ref.starts_with(TAGS) {
        Some(local_ref.to_string())
    } else {
        None
    }
}

/// Splits `<fullpath>/<ws>` at the last `/` (draft and proposed suffixes).
pub fn split_last(suffix: &str) -> Option<(&str, &str)> {
    let i = suffix.rfind('/')?;
    if i == 0 || i + 1 == suffix.len() {
        return None;
    }
    Some((&suffix[..i], &suffix[i + 1..]))
}

/// The revision number of a tag version: `v3` → 3; non-numeric → -1.
pub fn revision_of_version(version: &str) -> i64 {
    version
        .strip_prefix('v')
        .unwrap_or(version)
        .parse::<i64>()
        .unwrap_or(-1)
}

/// What a remote ref means to Porch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefKind<'a> {
    /// The Repository branch.
    Branch,
    Draft {
        full_path: &'a str,
        workspace: &'a str,
    },
    Proposed {
        full_path: &'a str,
        workspace: &'a str,
    },
    /// `deletionProposed/<fullpath>/<suffix>`.
    DeletionProposed { full_path: &'a str, suffix: &'a str },
    /// `refs/tags/<path>/<version>`.
    Tag {
        full_path: &'a str,
        version: &'a str,
    },
    /// Anything else (other branches, release tags without `/`).
    Other,
}

/// Classifies a remote ref name for the Repository `branch`.
pub fn classify<'a>(remote_ref: &'a str, branch: &str) -> RefKind<'a> {
    if let Some(name) = remote_ref.strip_prefix(HEADS) {
        if name == branch {
            return RefKind::Branch;
        }
        if let Some(rest) = name.strip_prefix(DRAFTS) {
            if let Some((full_path, workspace)) = split_last(rest) {
                return RefKind::Draft {
                    full_path,
                    workspace,
                };
            }
        } else if let Some(rest) = name.strip_prefix(PROPOSED) {
            if let Some((full_path, workspace)) = split_last(rest) {
                return RefKind::Proposed {
                    full_path,
                    workspace,
                };
            }
        } else if let Some(rest) = name.strip_prefix(DELETION_PROPOSED)
            && let Some((full_path, suffix)) = split_last(rest)
        {
            return RefKind::DeletionProposed { full_path, suffix };
        }
        return RefKind::Other;
    }
    if let Some(name) = remote_ref.strip_prefix(TAGS)
        && let Some((full_path, version)) = split_last(name)
    {
        return RefKind::Tag { full_path, version };
    }
    RefKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_upstream_layout() {
        assert_eq!(full_path("/upstream/", "foo"), "upstream/foo");
        assert_eq!(full_path("", "a/b"), "a/b");
        assert_eq!(draft_ref("a/b", "ws"), "refs/heads/drafts/a/b/ws");
        assert_eq!(proposed_ref("a", "ws"), "refs/heads/proposed/a/ws");
        assert_eq!(tag_ref("up/foo", 3), "refs/tags/up/foo/v3");
        assert_eq!(
            deletion_proposed_ref("foo", 2, "main"),
            "refs/heads/deletionProposed/foo/v2"
        );
        assert_eq!(
            deletion_proposed_ref("foo", -1, "main"),
            "refs/heads/deletionProposed/foo/main"
        );
    }

    #[test]
    fn classify_refs() {
        assert_eq!(classify("refs/heads/main", "main"), RefKind::Branch);
        assert_eq!(
            classify("refs/heads/drafts/a/b/ws", "main"),
            RefKind::Draft {
                full_path: "a/b",
                workspace: "ws"
            }
        );
        assert_eq!(
            classify("refs/tags/basens/v4", "main"),
            RefKind::Tag {
                full_path: "basens",
                version: "v4"
            }
        );
        assert_eq!(classify("refs/tags/v1.0", "main"), RefKind::Other);
        assert_eq!(classify("refs/heads/drafts/nows", "main"), RefKind::Other);
        assert_eq!(classify("refs/heads/feature", "main"), RefKind::Other);
        assert_eq!(
            classify("refs/heads/deletionProposed/x/v1", "main"),
            RefKind::DeletionProposed {
                full_path: "x",
                suffix: "v1"
            }
        );
    }

    #[test]
    fn directory_filter_and_versions() {
        assert_eq!(
            package_in_directory("up/foo", "/up/"),
            Some("foo".to_string())
        );
        assert_eq!(package_in_directory("upx/foo", "up"), None);
        assert_eq!(package_in_directory("up", "up"), None);
        assert_eq!(package_in_directory("a/b", ""), Some("a/b".to_string()));
        assert_eq!(revision_of_version("v3"), 3);
        assert_eq!(revision_of_version("12"), 12);
        assert_eq!(revision_of_version("vx"), -1);
        assert_eq!(
            to_local("refs/heads/main").as_deref(),
            Some("refs/remotes/origin/main")
        );
        assert_eq!(
            to_remote("refs/remotes/origin/drafts/a/w").as_deref(),
            Some("refs/heads/drafts/a/w")
        );
    }
}
