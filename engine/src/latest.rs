//! Revision numbers, the latest marker and list order (porch-api.md §1.9, §1.16).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use porch_crds::revision::{LatestCandidate, latest_per_package};

use crate::model::PackageRevision;
use crate::record::RevisionRecord;

/// `Revision2Int`: strips one leading `v`; anything non-numeric is -1.
pub fn revision_to_int(value: &str) -> i64 {
    let trimmed = value.strip_prefix('v').unwrap_or(value);
    trimmed.parse::<i64>().unwrap_or(-1)
}

/// The number an approval assigns: 1 + the highest revision among the Published/DeletionProposed
/// revisions of the same package path in the repository (numbers restart after deletions).
pub fn next_revision(records: &[RevisionRecord], repository: &str, package_name: &str) -> i64 {
    records
        .iter()
        .filter(|r| r.repository == repository && r.package_name == package_name)
        .filter(|r| r.is_numbered_publication())
        .map(|r| r.revision)
        .max()
        .unwrap_or(0)
        + 1
}

/// Names of the latest revision of every package: the highest revision ≥ 1 among Published and
/// DeletionProposed revisions; the placeholder (-1) never wins.
///
/// Upstream (`crcache/util.go identifyLatestRevisions`) groups by the leaf package name only, so
/// `a/pkg` and `b/pkg` in one repository compete for one marker. That is a bug: we group by
/// repository and full package path.
pub fn latest_revision_names(records: &[RevisionRecord]) -> BTreeSet<String> {
    latest_records(records).map(RevisionRecord::name).collect()
}

/// The latest record of every package. Names are composed only to break a tie (equal numbers,
/// which git cannot produce), so this stays cheap over thousands of published revisions.
pub fn latest_records<'a>(
    records: impl IntoIterator<Item = &'a RevisionRecord>,
) -> impl Iterator<Item = &'a RevisionRecord> {
    let candidates = records.into_iter().map(|r| LatestCandidate {
        package: (r.repository.as_str(), r.package_name.as_str()),
        revision: r.revision,
        published: r.is_numbered_publication(),
        id: ByName(r),
    });
    latest_per_package(candidates)
        .into_values()
        .map(|(_, ByName(r))| r)
}

/// A record ordered by its object name (composed on demand).
struct ByName<'a>(&'a RevisionRecord);

impl PartialEq for ByName<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByName<'_> {}

impl PartialOrd for ByName<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByName<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.name().cmp(&other.0.name())
    }
}

/// Names whose latest marker differs between two revision lists (before and after a change), so
/// the API layer can send MODIFIED events for revisions that gained or lost the label.
pub fn latest_changed<'a, 'b>(
    before: impl IntoIterator<Item = &'a RevisionRecord>,
    after: impl IntoIterator<Item = &'b RevisionRecord>,
) -> BTreeSet<String> {
    let a: BTreeSet<String> = latest_records(before).map(RevisionRecord::name).collect();
    let b: BTreeSet<String> = latest_records(after).map(RevisionRecord::name).collect();
    a.symmetric_difference(&b).cloned().collect()
}

/// List order: namespace, repository, then (as the CR cache sorts within a repository) package
/// name, revision ascending, lifecycle string, object name.
pub fn sort_package_revisions(items: &mut [PackageRevision]) {
    items.sort_by(|a, b| {
        (
            &a.metadata.namespace,
            &a.spec.repository,
            &a.spec.package_name,
            a.spec.revision,
            &a.spec.lifecycle,
            &a.metadata.name,
        )
            .cmp(&(
                &b.metadata.namespace,
                &b.spec.repository,
                &b.spec.package_name,
                b.spec.revision,
                &b.spec.lifecycle,
                &b.metadata.name,
            ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Lifecycle;

    fn rec(pkg: &str, ws: &str, rev: i64, lc: Lifecycle) -> RevisionRecord {
        RevisionRecord {
            repository: "repo".into(),
            package_name: pkg.into(),
            workspace_name: ws.into(),
            revision: rev,
            lifecycle: lc,
            ..RevisionRecord::default()
        }
    }

    #[test]
    fn revision_to_int_semantics() {
        for (input, want) in [
            ("v3", 3),
            ("3", 3),
            ("0", 0),
            ("-1", -1),
            ("main", -1),
            ("vv1", -1),
            ("", -1),
            ("v", -1),
        ] {
            assert_eq!(revision_to_int(input), want, "{input}");
        }
    }

    #[test]
    fn next_revision_counts_published_and_deletion_proposed_of_same_path() {
        let records = vec![
            rec("a/pkg", "v1", 1, Lifecycle::Published),
            rec("a/pkg", "v2", 2, Lifecycle::DeletionProposed),
            rec("a/pkg", "main", -1, Lifecycle::Published),
            rec("a/pkg", "ws", 0, Lifecycle::Proposed),
            rec("b/pkg", "v7", 7, Lifecycle::Published),
        ];
        assert_eq!(next_revision(&records, "repo", "a/pkg"), 3);
        assert_eq!(next_revision(&records, "repo", "b/pkg"), 8);
        assert_eq!(next_revision(&records, "repo", "new"), 1);
        assert_eq!(next_revision(&records, "other", "a/pkg"), 1);
        // After deleting the highest, its number is reused.
        assert_eq!(next_revision(&records[..1], "repo", "a/pkg"), 2);
    }

    #[test]
    fn latest_is_per_full_path_and_never_the_placeholder() {
        let records = vec![
            rec("a/pkg", "v1", 1, Lifecycle::Published),
            rec("a/pkg", "v2", 2, Lifecycle::DeletionProposed),
            rec("a/pkg", "main", -1, Lifecycle::Published),
            rec("b/pkg", "v1", 1, Lifecycle::Published),
            rec("c", "main", -1, Lifecycle::Published),
            rec("d", "ws", 0, Lifecycle::Draft),
        ];
        let latest = latest_revision_names(&records);
        let want: BTreeSet<String> = ["repo.a.pkg.v2", "repo.b.pkg.v1"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(latest, want);
    }

    #[test]
    fn equal_numbers_pick_the_smaller_name_whatever_the_order() {
        // Git cannot produce two tags with one number; the rule still must not depend on order.
        let a = rec("p", "a", 3, Lifecycle::Published);
        let b = rec("p", "b", 3, Lifecycle::DeletionProposed);
        for records in [vec![a.clone(), b.clone()], vec![b, a]] {
            let names: Vec<String> = latest_revision_names(&records).into_iter().collect();
            assert_eq!(names, ["repo.p.a"]);
        }
    }

    #[test]
    fn latest_changes_are_reported_both_ways() {
        let before = vec![rec("p", "v1", 1, Lifecycle::Published)];
        let mut after = before.clone();
        after.push(rec("p", "v2", 2, Lifecycle::Published));
        let changed: Vec<String> = latest_changed(&before, &after).into_iter().collect();
        assert_eq!(changed, ["repo.p.v1", "repo.p.v2"]);
        assert!(latest_changed(&before, &before).is_empty());
        assert_eq!(latest_changed(&after, &before).len(), 2);
    }

    #[test]
    fn sort_order() {
        let mk = |repo: &str, pkg: &str, rev: i64, lc: &str, name: &str| {
            let mut p = PackageRevision::default();
            p.spec.repository = repo.into();
            p.spec.package_name = pkg.into();
            p.spec.revision = rev;
            p.spec.lifecycle = lc.into();
            p.metadata.name = name.into();
            p
        };
        let mut items = vec![
            mk("r", "b", 1, "Published", "r.b.v1"),
            mk("r", "a", 2, "Published", "r.a.v2"),
            mk("r", "a", 0, "Proposed", "r.a.y"),
            mk("r", "a", 0, "Draft", "r.a.z"),
            mk("r", "a", -1, "Published", "r.a.main"),
            mk("q", "z", 1, "Published", "q.z.v1"),
        ];
        sort_package_revisions(&mut items);
        let names: Vec<&str> = items.iter().map(|p| p.metadata.name.as_str()).collect();
        assert_eq!(
            names,
            ["q.z.v1", "r.a.main", "r.a.z", "r.a.y", "r.a.v2", "r.b.v1"]
        );
    }
}
