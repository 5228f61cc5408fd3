//! The latest-revision marker and the placeholder rules (`spec/porch-api.md` §1.9).
//!
//! Exactly one revision per package is the latest: the highest revision ≥ 1 among the
//! Published and DeletionProposed ones. The placeholder (revision -1) never is.
//!
//! Packages are grouped by their full path (`spec.packageName`, e.g. `a/b/pkg`). Upstream's
//! CR cache groups by the leaf name only, so `a/pkg` and `b/pkg` in one repository compete
//! for one marker: a bug we do not copy.

use std::collections::BTreeSet;

use porch_crds::porch::v1alpha1::PackageRevisionLifecycle;
use porch_crds::revision::{LatestCandidate, PLACEHOLDER_REVISION, latest_per_package};

/// What the latest computation needs to know about one revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevisionKey<'a> {
    /// Object name.
    pub name: &'a str,
    /// Full package path.
    pub package_path: &'a str,
    pub revision: i64,
    pub lifecycle: &'a PackageRevisionLifecycle,
}

/// Whether a revision can carry the latest marker at all.
pub fn is_latest_candidate(revision: i64, lifecycle: &PackageRevisionLifecycle) -> bool {
    porch_crds::revision::is_latest_candidate(revision, lifecycle.is_published())
}

/// The names of the latest revision of every package among `revisions`. Ties (two objects
/// with the same package path and revision, which git cannot produce) go to the smaller
/// name so the answer is deterministic.
pub fn latest_names<'a>(revisions: impl IntoIterator<Item = RevisionKey<'a>>) -> BTreeSet<String> {
    let candidates = revisions.into_iter().map(|r| LatestCandidate {
        package: r.package_path,
        revision: r.revision,
        published: r.lifecycle.is_published(),
        id: r.name,
    });
    latest_per_package(candidates)
        .into_values()
        .map(|(_, name)| name.to_string())
        .collect()
}

/// Whether a package (all its revisions given) lacks the placeholder it should have: a
/// published package always has one (the package as it is on the branch head).
pub fn needs_placeholder<'a>(package_revisions: impl IntoIterator<Item = RevisionKey<'a>>) -> bool {
    let mut published = false;
    for r in package_revisions {
        if r.revision == PLACEHOLDER_REVISION {
            return false;
        }
        published |= is_latest_candidate(r.revision, r.lifecycle);
    }
    published
}

#[cfg(test)]
mod tests {
    use super::*;
    use PackageRevisionLifecycle::*;

    fn key<'a>(
        name: &'a str,
        path: &'a str,
        rev: i64,
        l: &'a PackageRevisionLifecycle,
    ) -> RevisionKey<'a> {
        RevisionKey {
            name,
            package_path: path,
            revision: rev,
            lifecycle: l,
        }
    }

    #[test]
    fn highest_published_wins_per_path() {
        let revs = [
            key("r.a.pkg.v1", "a/pkg", 1, &Published),
            key("r.a.pkg.v2", "a/pkg", 2, &DeletionProposed),
            key("r.a.pkg.main", "a/pkg", -1, &Published),
            key("r.a.pkg.ws", "a/pkg", 0, &Draft),
            // Same leaf name in another path: its own latest (upstream would pick only one).
            key("r.b.pkg.v1", "b/pkg", 1, &Published),
            // A proposed revision is never the latest, whatever its number.
            key("r.c.v9", "c", 9, &Proposed),
        ];
        let latest = latest_names(revs);
        assert_eq!(
            latest.into_iter().collect::<Vec<_>>(),
            vec!["r.a.pkg.v2".to_string(), "r.b.pkg.v1".to_string()]
        );
    }

    #[test]
    fn placeholder_alone_is_never_latest() {
        assert!(latest_names([key("r.p.main", "p", -1, &Published)]).is_empty());
        assert!(latest_names([]).is_empty());
    }

    #[test]
    fn placeholder_rules() {
        assert!(needs_placeholder([key("r.p.v1", "p", 1, &Published)]));
        assert!(!needs_placeholder([
            key("r.p.v1", "p", 1, &Published),
            key("r.p.main", "p", -1, &Published)
        ]));
        assert!(!needs_placeholder([key("r.p.ws", "p", 0, &Draft)]));
    }
}
