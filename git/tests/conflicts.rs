#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Concurrent writers: a ref that moved turns into a typed conflict, never a
//! lost commit; a branch that moved under an approval is rebuilt on top.

mod common;

use common::{Fixture, draft, git, package};
use porch_git::GitError;

#[tokio::test]
async fn stale_draft_update_is_a_conflict_and_keeps_the_other_commit() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("c1").await;
    let srv = fx.server.repo_dir("c1");
    let (a, b) = fx.writers(cfg).await;

    let d = a.create_draft(draft("p", "w")).await.unwrap();
    b.refresh().await.unwrap();
    let seen_by_b = b
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.key.workspace == "w")
        .unwrap();
    assert_eq!(seen_by_b.commit, d.commit);

    // A moves the draft; B still holds the old commit.
    let d2 = a
        .update_draft(&d, package("p", &[("x.yaml", "a: 1\n")]), None, None)
        .await
        .unwrap();
    let err = b
        .update_draft(
            &seen_by_b,
            package("p", &[("y.yaml", "b: 2\n")]),
            None,
            None,
        )
        .await
        .unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains(&fx.server.repo_url("c1")), "{err}");
    assert!(
        err.to_string().contains("refresh the repository and retry"),
        "{err}"
    );
    // A's commit is intact on the server, and B's cache caught up.
    assert_eq!(
        git(&srv, &["rev-parse", "refs/heads/drafts/p/w"]),
        d2.commit
    );
    let now_b = b
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.key.workspace == "w")
        .unwrap();
    assert_eq!(now_b.commit, d2.commit);

    // Creating an existing draft is a conflict too.
    let err = b.create_draft(draft("p", "w")).await.unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Conflict { .. }), "{err}");

    // Approving a stale draft is refused; nothing is published.
    let err = b.approve(&seen_by_b, None).await.unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Conflict { .. }), "{err}");
    assert!(!git(&srv, &["for-each-ref", "--format=%(refname)"]).contains("refs/tags"));
    fx.stop().await;
}

#[tokio::test]
async fn approval_is_rebuilt_when_the_branch_moved() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("c2").await;
    let srv = fx.server.repo_dir("c2");
    let (a, b) = fx.writers(cfg).await;
    let da = a.create_draft(draft("one", "w")).await.unwrap();
    let db = b.create_draft(draft("two", "w")).await.unwrap();
    // Both approve concurrently; each starts from its own view of main.
    let (ra, rb) = tokio::join!(a.approve(&da, None), b.approve(&db, None));
    let (va, vb) = (ra.unwrap(), rb.unwrap());
    assert_eq!((va.key.revision, vb.key.revision), (1, 1));
    let tree = git(&srv, &["ls-tree", "-r", "--name-only", "refs/heads/main"]);
    assert_eq!(tree, "README.md\none/Kptfile\ntwo/Kptfile");
    // Both tags point at commits on main's first-parent history.
    let log = git(
        &srv,
        &["log", "--first-parent", "--format=%H", "refs/heads/main"],
    );
    assert!(log.contains(&va.commit) && log.contains(&vb.commit));
    fx.stop().await;
}

#[tokio::test]
async fn published_revision_numbers_follow_the_remote() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("c3").await;
    let (a, b) = fx.writers(cfg).await;
    let d1 = a.create_draft(draft("p", "w1")).await.unwrap();
    let d2 = b.create_draft(draft("p", "w2")).await.unwrap();
    let v1 = a.approve(&d1, None).await.unwrap();
    // B has not refreshed, but approval fetches first: it must take v2.
    let v2 = b.approve(&d2, None).await.unwrap();
    assert_eq!((v1.key.revision, v2.key.revision), (1, 2));
    fx.stop().await;
}
