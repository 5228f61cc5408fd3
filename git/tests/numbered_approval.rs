#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Approval under a planned number: the package's highest tag is read after the fetch, so a
//! tag another process pushed refuses a number it took; the cache records pushes as loose refs
//! and a later fetch still brings every other writer's refs.

mod common;

use common::{Fixture, draft, git};
use porch_git::GitError;

fn tags(srv: &std::path::Path) -> String {
    git(srv, &["tag", "--list"])
}

#[tokio::test]
async fn a_number_another_writer_took_is_refused_and_the_next_one_is_used() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("n1").await;
    let srv = fx.server.repo_dir("n1");
    let (a, b) = fx.writers(cfg).await;
    let d1 = a.create_draft(draft("p", "w1")).await.unwrap();
    let d2 = b.create_draft(draft("p", "w2")).await.unwrap();
    // B planned 1 from what it saw (no tag); A publishes 1 first.
    assert_eq!(a.approve_as(&d1, 1, None).await.unwrap().key.revision, 1);
    let err = b.approve_as(&d2, 1, None).await.unwrap_err();
    assert!(matches!(err, GitError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("p/v1 already exists"), "{err}");
    assert_eq!(tags(&srv), "p/v1");
    // Nothing of B's was changed: its draft is still there.
    assert_eq!(
        git(&srv, &["rev-parse", "refs/heads/drafts/p/w2"]),
        d2.commit
    );
    // B, having fetched, now plans 2 and gets it.
    let v2 = b.approve_as(&d2, 2, None).await.unwrap();
    assert_eq!(v2.key.revision, 2);
    assert_eq!(tags(&srv), "p/v1\np/v2");
    // A planned from a view where v2 was missing (a deleted tag, say): the number it gets is
    // the next free one, not a gap.
    let d3 = a.create_draft(draft("p", "w3")).await.unwrap();
    assert_eq!(a.approve_as(&d3, 5, None).await.unwrap().key.revision, 3);
    fx.stop().await;
}

#[tokio::test]
async fn recorded_pushes_and_fetched_refs_list_the_same_revisions() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("n2").await;
    let (a, b) = fx.writers(cfg).await;
    let listed = |revs: Vec<porch_git::PackageRevision>| {
        let mut v: Vec<String> = revs
            .into_iter()
            .map(|r| format!("{} {} {}", r.git_ref, r.lifecycle, r.commit))
            .collect();
        v.sort();
        v
    };
    // A writes: draft, proposal (moves the draft ref), approval (branch, tag, ref deletion).
    let d = a.create_draft(draft("p", "w1")).await.unwrap();
    let p = a.propose(&d).await.unwrap();
    a.approve(&p, None).await.unwrap();
    let d2 = a.create_draft(draft("q", "w")).await.unwrap();
    // B writes too; A has not seen it.
    let other = b.create_draft(draft("p", "w2")).await.unwrap();
    b.refresh().await.unwrap();
    b.approve(&other, None).await.unwrap();
    // A's refresh brings B's refs and keeps its own.
    let changed = a.refresh().await.unwrap();
    assert!(changed.changed);
    b.refresh().await.unwrap();
    let (la, lb) = (
        listed(a.list().await.unwrap()),
        listed(b.list().await.unwrap()),
    );
    assert_eq!(la, lb);
    assert_eq!(a.version().await.unwrap(), b.version().await.unwrap());
    assert!(
        la.iter().any(|l| l.starts_with("refs/tags/p/v2 ")),
        "{la:?}"
    );
    assert!(la.iter().any(|l| l.contains(&d2.commit)), "{la:?}");
    assert!(!la.iter().any(|l| l.contains("proposed/p/w1")), "{la:?}");
    // A deletion of a ref the fetch packed goes through packed-refs.
    a.delete(&d2, None).await.unwrap();
    assert!(
        !listed(a.list().await.unwrap())
            .iter()
            .any(|l| l.contains(&d2.commit))
    );
    b.refresh().await.unwrap();
    assert_eq!(a.version().await.unwrap(), b.version().await.unwrap());
    fx.stop().await;
}
