use std::collections::BTreeMap;

use porch_crds::config::v1alpha1::{PackageRev, Repository};
use serde_json::json;

use super::CrCache;
use super::index::{CacheIndex, ChangeKind};

fn rev(
    name: &str,
    pkg: &str,
    ws: &str,
    revision: i64,
    lifecycle: &str,
    commit: &str,
) -> PackageRev {
    serde_json::from_value(json!({
        "apiVersion": "config.porch.kpt.dev/v1alpha1",
        "kind": "PackageRev",
        "metadata": {"name": name, "namespace": "ns", "labels": {"internal.porch.kpt.dev/repository": "repo"}},
        "spec": {"repository": "repo", "packageName": pkg, "workspaceName": ws, "revision": revision, "lifecycle": lifecycle},
        "status": {"commit": commit}
    }))
    .unwrap()
}

fn repo(name: &str, v1alpha2: bool) -> Repository {
    let annotations = if v1alpha2 {
        json!({"porch.kpt.dev/v1alpha2-migration": "true"})
    } else {
        json!({})
    };
    serde_json::from_value(json!({
        "apiVersion": "config.porch.kpt.dev/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations},
        "spec": {"type": "git", "git": {"repo": "https://example.com/r.git", "branch": "main"}}
    }))
    .unwrap()
}

fn latest_names(index: &CacheIndex) -> Vec<String> {
    index
        .list("ns")
        .iter()
        .filter(|p| p.is_latest())
        .map(|p| p.metadata.name.clone().unwrap())
        .collect()
}

#[test]
fn latest_label_is_per_package_path_and_never_the_placeholder() {
    let mut index = CacheIndex::new();
    index.apply_package_rev(rev("repo.a.pkg.v1", "a/pkg", "v1", 1, "Published", "c1"));
    index.apply_package_rev(rev("repo.a.pkg.v2", "a/pkg", "v2", 2, "Published", "c2"));
    index.apply_package_rev(rev(
        "repo.a.pkg.main",
        "a/pkg",
        "main",
        -1,
        "Published",
        "c3",
    ));
    index.apply_package_rev(rev("repo.b.pkg.v1", "b/pkg", "v1", 1, "Published", "c4"));
    index.apply_package_rev(rev("repo.a.pkg.ws", "a/pkg", "ws", 0, "Draft", "c5"));
    assert_eq!(latest_names(&index), vec!["repo.a.pkg.v2", "repo.b.pkg.v1"]);
    let pr = index.get("ns", "repo.a.pkg.v2").unwrap();
    assert_eq!(
        pr.metadata.labels.as_ref().unwrap()["kpt.dev/latest-revision"],
        "true"
    );
    assert_eq!(pr.metadata.resource_version.as_deref(), Some("c2"));
    // The internal repository label is never served.
    assert!(
        !pr.metadata
            .labels
            .as_ref()
            .unwrap()
            .contains_key("internal.porch.kpt.dev/repository")
    );
    assert!(
        index
            .get("ns", "repo.a.pkg.v1")
            .unwrap()
            .metadata
            .labels
            .is_none()
    );
}

#[test]
fn list_is_sorted_by_package_then_revision() {
    let mut index = CacheIndex::new();
    index.apply_package_rev(rev("repo.b.v2", "b", "v2", 2, "Published", "c1"));
    index.apply_package_rev(rev("repo.a.ws", "a", "ws", 0, "Draft", "c2"));
    index.apply_package_rev(rev("repo.b.v1", "b", "v1", 1, "Published", "c3"));
    index.apply_package_rev(rev("repo.a.v1", "a", "v1", 1, "Published", "c4"));
    let names: Vec<String> = index
        .list("")
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["repo.a.ws", "repo.a.v1", "repo.b.v1", "repo.b.v2"]
    );
    assert!(index.list("other").is_empty());
}

#[test]
fn changes_carry_increasing_resource_versions_and_relabel_events() {
    let mut index = CacheIndex::new();
    let c = index.apply_package_rev(rev("repo.p.v1", "p", "v1", 1, "Published", "c1"));
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].kind, c[0].resource_version), (ChangeKind::Added, 1));
    // Publishing v2 adds it and takes the latest label from v1 (MODIFIED).
    let c = index.apply_package_rev(rev("repo.p.v2", "p", "v2", 2, "Published", "c2"));
    let kinds: Vec<(String, ChangeKind, u64)> = c
        .iter()
        .map(|c| {
            (
                c.object.metadata.name.clone().unwrap(),
                c.kind,
                c.resource_version,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("repo.p.v1".to_owned(), ChangeKind::Modified, 2),
            ("repo.p.v2".to_owned(), ChangeKind::Added, 3)
        ]
    );
    // Re-applying identical content is silent.
    assert!(
        index
            .apply_package_rev(rev("repo.p.v2", "p", "v2", 2, "Published", "c2"))
            .is_empty()
    );
    assert_eq!(index.resource_version(), 3);
    // Deleting v2 gives the label back to v1.
    let c = index.delete_package_rev("ns", "repo.p.v2");
    assert_eq!(c.len(), 2);
    assert_eq!(
        c.iter().filter(|c| c.kind == ChangeKind::Deleted).count(),
        1
    );
    assert_eq!(latest_names(&index), vec!["repo.p.v1"]);
    assert!(index.delete_package_rev("ns", "missing").is_empty());
}

#[test]
fn reset_drops_objects_gone_while_disconnected() {
    let mut index = CacheIndex::new();
    index.apply_package_rev(rev("repo.p.v1", "p", "v1", 1, "Published", "c1"));
    index.apply_package_rev(rev("repo.q.v1", "q", "v1", 1, "Published", "c2"));
    let c = index.reset_package_revs(vec![rev("repo.q.v1", "q", "v1", 1, "Published", "c9")]);
    let got: Vec<(String, ChangeKind)> = c
        .iter()
        .map(|c| (c.object.metadata.name.clone().unwrap(), c.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            ("repo.p.v1".to_owned(), ChangeKind::Deleted),
            ("repo.q.v1".to_owned(), ChangeKind::Modified)
        ]
    );
}

#[test]
fn v1alpha2_managed_repositories_are_invisible() {
    let mut index = CacheIndex::new();
    index.apply_package_rev(rev("repo.p.v1", "p", "v1", 1, "Published", "c1"));
    let c = index.apply_repository(repo("repo", true));
    assert_eq!(c[0].kind, ChangeKind::Deleted);
    assert!(index.list("ns").is_empty());
    let c = index.apply_repository(repo("repo", false));
    assert_eq!(c[0].kind, ChangeKind::Added);
    assert_eq!(index.repositories("ns").len(), 1);
}

#[tokio::test]
async fn subscribers_see_changes_after_their_snapshot() {
    let cache = CrCache::new();
    cache.apply_package_rev(rev("repo.p.v1", "p", "v1", 1, "Published", "c1"));
    let (snapshot, rv, mut rx) = cache.snapshot_and_subscribe("ns");
    assert_eq!((snapshot.len(), rv), (1, 1));
    cache.apply_package_rev(rev("repo.p.ws", "p", "ws", 0, "Draft", "c2"));
    let change = rx.recv().await.unwrap();
    assert_eq!(change.kind, ChangeKind::Added);
    assert_eq!(change.resource_version, 2);
}

#[test]
fn write_through_keeps_creation_timestamp() {
    let cache = CrCache::new();
    let mut stored = rev("repo.p.ws", "p", "ws", 0, "Draft", "c1");
    stored.metadata.creation_timestamp =
        serde_json::from_value(json!("2026-01-01T00:00:00Z")).unwrap();
    cache.apply_package_rev(stored);
    let mut pr = cache
        .read()
        .get("ns", "repo.p.ws")
        .unwrap()
        .object()
        .clone();
    pr.metadata.labels = Some(BTreeMap::from([("a".to_owned(), "b".to_owned())]));
    pr.metadata.resource_version = Some("c2".into());
    let changes = cache.record_package_revision(&pr);
    assert_eq!(changes.len(), 1);
    let got = cache.read().get("ns", "repo.p.ws").unwrap();
    assert_eq!(got.metadata.labels.as_ref().unwrap()["a"], "b");
    assert_eq!(got.metadata.resource_version.as_deref(), Some("c2"));
    assert!(got.metadata.creation_timestamp.is_some());
}

#[test]
fn changes_carry_the_previous_view() {
    let mut index = CacheIndex::new();
    index.apply_package_rev(rev("repo.p.v1", "p", "v1", 1, "Published", "c1"));
    let c = index.apply_package_rev(rev("repo.p.v1", "p", "v1", 1, "Published", "c2"));
    assert_eq!(c[0].kind, ChangeKind::Modified);
    let previous = c[0].previous.as_ref().unwrap();
    assert_eq!(previous.metadata.resource_version.as_deref(), Some("c1"));
    assert_eq!(c[0].object.metadata.resource_version.as_deref(), Some("c2"));
    let c = index.delete_package_rev("ns", "repo.p.v1");
    assert_eq!(c[0].kind, ChangeKind::Deleted);
    assert_eq!(
        c[0].previous
            .as_ref()
            .unwrap()
            .metadata
            .resource_version
            .as_deref(),
        Some("c2")
    );
}

#[test]
fn history_serves_recent_resource_versions_and_expires_old_ones() {
    let mut index = CacheIndex::with_history(3);
    assert_eq!(index.changes_since(0).unwrap().len(), 0);
    for (i, commit) in ["c1", "c2", "c3", "c4", "c5"].iter().enumerate() {
        index.apply_package_rev(rev(
            &format!("repo.p{i}.ws"),
            &format!("p{i}"),
            "ws",
            0,
            "Draft",
            commit,
        ));
    }
    assert_eq!(index.resource_version(), 5);
    // The last three changes (rv 3..=5) are kept: a watch can resume from 2 onwards.
    let since: Vec<u64> = index
        .changes_since(2)
        .unwrap()
        .iter()
        .map(|c| c.resource_version)
        .collect();
    assert_eq!(since, vec![3, 4, 5]);
    assert!(index.changes_since(5).unwrap().is_empty());
    assert_eq!(
        index.changes_since(1).unwrap_err(),
        super::Expired {
            requested: 1,
            oldest: 2
        }
    );
    // Ahead of this cache (a resourceVersion from before a restart).
    assert_eq!(index.changes_since(9).unwrap_err().requested, 9);
}

#[test]
fn a_large_relist_is_indexed_by_package() {
    let mut index = CacheIndex::new();
    let revs: Vec<_> = (0..2000)
        .map(|i| {
            let pkg = format!("p{}", i / 4);
            let n = i % 4 + 1;
            rev(
                &format!("repo.{pkg}.v{n}"),
                &pkg,
                &format!("v{n}"),
                n,
                "Published",
                "c",
            )
        })
        .collect();
    let changes = index.reset_package_revs(revs);
    assert_eq!(changes.len(), 2000);
    assert_eq!(index.list("ns").len(), 2000);
    assert_eq!(latest_names(&index).len(), 500);
    // Listing is in package then revision order without a sort.
    let first: Vec<String> = index
        .iter("ns")
        .take(5)
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        first,
        vec![
            "repo.p0.v1",
            "repo.p0.v2",
            "repo.p0.v3",
            "repo.p0.v4",
            "repo.p1.v1"
        ]
    );
    assert!(index.iter("other").next().is_none());
    // Moving a revision to another package re-labels both packages.
    let c = index.apply_package_rev(rev("repo.p0.v4", "p1", "v4", 5, "Published", "c"));
    assert!(
        c.iter()
            .any(|c| c.object.metadata.name.as_deref() == Some("repo.p0.v3"))
    );
    let latest = latest_names(&index);
    assert!(latest.contains(&"repo.p0.v3".to_owned()));
    assert!(latest.contains(&"repo.p0.v4".to_owned()));
    assert!(!latest.contains(&"repo.p1.v4".to_owned()));
}
