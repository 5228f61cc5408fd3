#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The upstream-written test-blueprints repository lists exactly the 16
//! revisions that conformance case rpkg-get.yaml expects.

mod common;

use porch_git::testserver::RepoOptions;
use porch_git::{GitRepository, Lifecycle, RepoConfig, latest_revisions};

#[tokio::test]
async fn bundle_lists_the_sixteen_rpkg_get_revisions() {
    let fx = common::Fixture::new().await;
    let url = fx
        .server
        .seed_from_bundle(
            "nephio/test-blueprints",
            common::bundle_path(),
            RepoOptions {
                anonymous_read: true,
                initial_readme: false,
            },
        )
        .await
        .unwrap();
    // Anonymous read, no credentials at all.
    let repo = GitRepository::open(RepoConfig::new(&url), fx.cache("tbp"))
        .await
        .unwrap();
    let revs = repo.list().await.unwrap();
    let got: Vec<(String, String, i64)> = revs
        .iter()
        .map(|r| {
            (
                r.key.package.clone(),
                r.key.workspace.clone(),
                r.key.revision,
            )
        })
        .collect();
    let want: Vec<(String, String, i64)> = [
        ("basens", "main", -1),
        ("basens", "v1", 1),
        ("basens", "v2", 2),
        ("basens", "v3", 3),
        ("basens", "v4", 4),
        ("bucket", "main", -1),
        ("bucket", "v1", 1),
        ("empty", "main", -1),
        ("empty", "v1", 1),
        ("redis-bucket", "main", -1),
        ("redis-bucket", "v1", 1),
        ("unready", "main", -1),
        ("unready", "v1", 1),
        ("update", "main", -1),
        ("update", "v1", 1),
        ("update", "v2", 2),
    ]
    .iter()
    .map(|(p, w, r)| (p.to_string(), w.to_string(), *r))
    .collect();
    assert_eq!(got, want);
    assert!(revs.iter().all(|r| r.lifecycle == Lifecycle::Published));

    let latest = latest_revisions(&revs);
    assert_eq!(latest.get("basens"), Some(&4));
    assert_eq!(latest.get("update"), Some(&2));
    assert_eq!(latest.get("bucket"), Some(&1));
    assert_eq!(latest.len(), 6);

    // Tags carry the tagged commit's author; the same hashes as the bundle.
    let v1 = revs
        .iter()
        .find(|r| r.key.package == "basens" && r.key.revision == 1)
        .unwrap();
    assert_eq!(v1.commit, "67f29546028f0a48c6bbb08614934d0e070cdd3a");
    assert_eq!(v1.git_ref, "refs/tags/basens/v1");
    assert_eq!(v1.published_by.as_deref(), Some("mmaly@google.com"));

    // Files at the revision's commit.
    let files = repo.read_files(v1).await.unwrap();
    assert!(
        files["Kptfile"].contains("name: basens"),
        "{}",
        files["Kptfile"]
    );
    assert!(files["Kptfile"].contains("description: sample description"));

    // A no-change refresh reports no change and a stable version.
    let v = repo.version().await.unwrap();
    let out = repo.refresh().await.unwrap();
    assert!(!out.changed);
    assert_eq!(out.version, v);
    assert_eq!(
        out.branch_head.as_deref(),
        Some("bd4a77f2aa14ece5f8d5180c2e42da1236f44515")
    );
    fx.stop().await;
}
