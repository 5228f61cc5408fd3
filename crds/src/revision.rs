//! Revision numbers (upstream `pkg/repository/util.go`) and the latest-revision rule.

use std::collections::BTreeMap;

/// The revision of a Draft or Proposed package revision (omitted from JSON).
pub const DRAFT_REVISION: i64 = 0;
/// The revision of the placeholder package revision that tracks the branch head.
pub const PLACEHOLDER_REVISION: i64 = -1;

/// Upstream `Revision2Int`: strips one leading `v` and parses the rest as a decimal
/// integer (Go `strconv.Atoi`, so a sign is accepted); anything else gives -1.
pub fn revision_to_int(revision: &str) -> i64 {
    let digits = revision.strip_prefix('v').unwrap_or(revision);
    digits.parse::<i64>().unwrap_or(-1)
}

/// Upstream `Revision2Str`: the decimal text of a revision.
pub fn revision_to_str(revision: i64) -> String {
    revision.to_string()
}

/// Whether a revision can carry the `kpt.dev/latest-revision` marker: a numbered (≥ 1)
/// Published or DeletionProposed revision. The placeholder (-1) and drafts (0) never can.
pub fn is_latest_candidate(revision: i64, published: bool) -> bool {
    published && revision >= 1
}

/// One revision as the latest rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestCandidate<K, T> {
    /// The package the revision belongs to: the repository and the *full* package path.
    /// Upstream groups by the leaf package name only, so `a/pkg` and `b/pkg` in one
    /// repository compete for one marker: a bug this rule does not copy.
    pub package: K,
    pub revision: i64,
    /// Published or DeletionProposed.
    pub published: bool,
    /// What to return for the winner (a name, an object key); on equal revisions, which git
    /// cannot produce, the smaller one wins so the answer never depends on input order.
    pub id: T,
}

/// The latest revision of every package among `candidates`: package -> (revision, id).
pub fn latest_per_package<K: Ord, T: Ord>(
    candidates: impl IntoIterator<Item = LatestCandidate<K, T>>,
) -> BTreeMap<K, (i64, T)> {
    let mut best: BTreeMap<K, (i64, T)> = BTreeMap::new();
    for c in candidates {
        if !is_latest_candidate(c.revision, c.published) {
            continue;
        }
        match best.get_mut(&c.package) {
            Some(current) => {
                if c.revision > current.0 || (c.revision == current.0 && c.id < current.1) {
                    *current = (c.revision, c.id);
                }
            }
            None => {
                best.insert(c.package, (c.revision, c.id));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(
        package: &str,
        revision: i64,
        published: bool,
        id: &str,
    ) -> LatestCandidate<String, String> {
        LatestCandidate {
            package: package.to_string(),
            revision,
            published,
            id: id.to_string(),
        }
    }

    #[test]
    fn latest_is_the_highest_published_per_full_path() {
        let latest = latest_per_package([
            cand("a/pkg", 1, true, "a.v1"),
            cand("a/pkg", 3, true, "a.v3"),
            cand("a/pkg", 4, false, "a.ws"),
            cand("a/pkg", -1, true, "a.main"),
            cand("b/pkg", 2, true, "b.v2"),
            cand("c", -1, true, "c.main"),
            cand("d", 0, false, "d.draft"),
        ]);
        let got: Vec<_> = latest
            .iter()
            .map(|(k, (r, id))| (k.as_str(), *r, id.as_str()))
            .collect();
        assert_eq!(got, vec![("a/pkg", 3, "a.v3"), ("b/pkg", 2, "b.v2")]);
    }

    #[test]
    fn ties_go_to_the_smaller_id_whatever_the_order() {
        let one = latest_per_package([cand("p", 2, true, "y"), cand("p", 2, true, "x")]);
        let two = latest_per_package([cand("p", 2, true, "x"), cand("p", 2, true, "y")]);
        assert_eq!(one, two);
        assert_eq!(one.get("p"), Some(&(2, "x".to_string())));
    }

    #[test]
    fn parses_like_upstream() {
        assert_eq!(revision_to_int("3"), 3);
        assert_eq!(revision_to_int("v3"), 3);
        assert_eq!(revision_to_int("0"), 0);
        assert_eq!(revision_to_int("-1"), -1);
        assert_eq!(revision_to_int("vv3"), -1);
        assert_eq!(revision_to_int("main"), -1);
        assert_eq!(revision_to_int(""), -1);
        assert_eq!(revision_to_int("+4"), 4);
        assert_eq!(revision_to_str(12), "12");
    }
}
