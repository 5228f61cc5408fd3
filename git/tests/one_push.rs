#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Draft → Proposed with a commit in ONE atomic push (`commit_and_move`), pushes
//! recorded in the cache without a refetch, and the incremental listing memo.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Fixture, basic, draft, git, package};
use futures::future::BoxFuture;
use porch_git::annotation::{self, CommitAnnotation};
use porch_git::remote::FetchOutcome;
use porch_git::{
    DraftChange, GitError, GitRemote, GitRepository, HttpRemote, Lifecycle, RefUpdate, RepoConfig,
};

/// The real remote, counting what reaches the network.
struct Counting {
    inner: HttpRemote,
    pushes: AtomicU64,
    fetches: AtomicU64,
    refs_pushed: std::sync::Mutex<Vec<Vec<RefUpdate>>>,
}

impl GitRemote for Counting {
    fn url(&self) -> &str {
        self.inner.url()
    }
    fn fetch<'a>(&'a self, cache: &'a Path) -> BoxFuture<'a, porch_git::Result<FetchOutcome>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch(cache)
    }
    fn push<'a>(
        &'a self,
        cache: &'a Path,
        updates: Vec<RefUpdate>,
    ) -> BoxFuture<'a, porch_git::Result<()>> {
        self.pushes.fetch_add(1, Ordering::SeqCst);
        self.refs_pushed.lock().unwrap().push(updates.clone());
        self.inner.push(cache, updates)
    }
}

async fn open_counting(
    cfg: &RepoConfig,
    cache: std::path::PathBuf,
) -> (GitRepository, Arc<Counting>) {
    let remote = Arc::new(Counting {
        inner: HttpRemote::new(&cfg.url, Some(&basic())),
        pushes: AtomicU64::new(0),
        fetches: AtomicU64::new(0),
        refs_pushed: std::sync::Mutex::new(Vec::new()),
    });
    let repo = GitRepository::open_with_remote(cfg.clone(), cache, remote.clone())
        .await
        .unwrap();
    (repo, remote)
}

fn render_change(pkg: &str) -> DraftChange {
    DraftChange {
        files: package(pkg, &[("cm.yaml", "kind: ConfigMap\n")]),
        task: Some(serde_json::json!({"type": "render"})),
        user: Some(porch_git::Author::user("alice")),
    }
}

#[tokio::test]
async fn propose_with_a_commit_is_one_atomic_push_and_no_fetch() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("one").await;
    let bare = fx.server.repo_dir("one");
    let (repo, remote) = open_counting(&cfg, fx.cache("a")).await;
    let d = repo.create_draft(draft("p", "ws")).await.unwrap();
    let (pushes, fetches) = (
        remote.pushes.load(Ordering::SeqCst),
        remote.fetches.load(Ordering::SeqCst),
    );

    let proposed = repo
        .commit_and_move(&d, Some(render_change("p")), Lifecycle::Proposed)
        .await
        .unwrap();
    assert_eq!(remote.pushes.load(Ordering::SeqCst), pushes + 1);
    assert_eq!(
        remote.fetches.load(Ordering::SeqCst),
        fetches,
        "a successful push is recorded, not refetched"
    );
    let last = remote.refs_pushed.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        last,
        vec![
            RefUpdate {
                name: "refs/heads/proposed/p/ws".into(),
                expected: None,
                new: Some(proposed.commit.parse().unwrap()),
            },
            RefUpdate {
                name: "refs/heads/drafts/p/ws".into(),
                expected: Some(d.commit.parse().unwrap()),
                new: None,
            },
        ]
    );
    assert_eq!(proposed.lifecycle, Lifecycle::Proposed);
    assert_eq!(proposed.git_ref, "refs/heads/proposed/p/ws");
    assert_ne!(proposed.commit, d.commit);

    // On the remote: the proposed branch at the new commit, the draft gone; the
    // commit has the draft as parent and update_draft's message and author.
    assert_eq!(
        git(&bare, &["rev-parse", "refs/heads/proposed/p/ws"]),
        proposed.commit
    );
    assert!(
        git(&bare, &["for-each-ref", "refs/heads/drafts/"]).is_empty(),
        "draft branch deleted"
    );
    assert_eq!(
        git(&bare, &["rev-parse", &format!("{}^", proposed.commit)]),
        d.commit
    );
    let message = git(&bare, &["log", "-1", "--format=%B", &proposed.commit]);
    let want = annotation::mutation_message(&CommitAnnotation {
        package: "p".into(),
        workspace_name: "ws".into(),
        revision: "0".into(),
        task: Some(serde_json::json!({"type": "render"})),
    });
    assert_eq!(message.trim_end(), want.trim_end());
    assert_eq!(
        git(
            &bare,
            &["log", "-1", "--format=%an <%ae>", &proposed.commit]
        ),
        "alice <alice>"
    );
    assert_eq!(
        git(&bare, &["show", &format!("{}:p/cm.yaml", proposed.commit)]),
        "kind: ConfigMap"
    );

    // The cache saw its own push: listed as Proposed, and the next refresh
    // reports the change once.
    let listed = repo.list().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|r| r.lifecycle == Lifecycle::Proposed && r.commit == proposed.commit),
        "{listed:?}"
    );
    assert!(repo.refresh().await.unwrap().changed);
    assert!(!repo.refresh().await.unwrap().changed);

    // Reject without a commit: the same single push, ref moved back.
    let back = repo.reject(&proposed).await.unwrap();
    assert_eq!(back.lifecycle, Lifecycle::Draft);
    assert_eq!(back.commit, proposed.commit);
    assert_eq!(
        git(&bare, &["rev-parse", "refs/heads/drafts/p/ws"]),
        proposed.commit
    );
    assert!(git(&bare, &["for-each-ref", "refs/heads/proposed/"]).is_empty());
    fx.stop().await;
}

#[tokio::test]
async fn a_concurrent_writer_makes_the_whole_push_fail() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("race").await;
    let bare = fx.server.repo_dir("race");
    let a = GitRepository::open(cfg.clone(), fx.cache("a"))
        .await
        .unwrap();
    let b = GitRepository::open(cfg.clone(), fx.cache("b"))
        .await
        .unwrap();
    let d = a.create_draft(draft("p", "ws")).await.unwrap();
    b.refresh().await.unwrap();
    let seen_by_b = b
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.key.workspace == "ws")
        .unwrap();
    assert_eq!(seen_by_b.commit, d.commit);

    // A (another process) commits on the draft; B proposes from what it read.
    let by_a = a
        .update_draft(&d, package("p", &[("a.yaml", "a: 1\n")]), None, None)
        .await
        .unwrap();
    let err = b
        .commit_and_move(&seen_by_b, Some(render_change("p")), Lifecycle::Proposed)
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Conflict { .. }), "{err}");
    // Nothing moved: the draft is A's commit, no proposed branch exists.
    assert_eq!(
        git(&bare, &["rev-parse", "refs/heads/drafts/p/ws"]),
        by_a.commit
    );
    assert!(git(&bare, &["for-each-ref", "refs/heads/proposed/"]).is_empty());
    // Without a commit too.
    let err = b.propose(&seen_by_b).await.unwrap_err();
    assert!(matches!(err, GitError::Conflict { .. }), "{err}");
    assert!(git(&bare, &["for-each-ref", "refs/heads/proposed/"]).is_empty());
    // The refused push refetched: B now sees A's commit and can propose it.
    let current = b
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.key.workspace == "ws")
        .unwrap();
    assert_eq!(current.commit, by_a.commit);
    let proposed = b.propose(&current).await.unwrap();
    assert_eq!(
        git(&bare, &["rev-parse", "refs/heads/proposed/p/ws"]),
        proposed.commit
    );
    // A proposed revision cannot be proposed again.
    let err = b
        .commit_and_move(&proposed, None, Lifecycle::Proposed)
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Invalid { .. }), "{err}");
    fx.stop().await;
}

#[tokio::test]
async fn listing_after_a_ref_change_reads_only_new_commits() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("memo").await;
    let a = GitRepository::open(cfg.clone(), fx.cache("a"))
        .await
        .unwrap();
    for i in 0..6 {
        let d = a.create_draft(draft("p", &format!("ws{i}"))).await.unwrap();
        a.approve(&d, None).await.unwrap();
    }
    let b = GitRepository::open(cfg.clone(), fx.cache("b"))
        .await
        .unwrap();
    let first = b.list().await.unwrap();
    assert_eq!(first.len(), 7, "six tags and the placeholder: {first:?}");
    let cold = b.list_memo_stats();
    assert_eq!(cold.misses, 7, "{cold:?}");

    // Nothing changed: nothing is read again, the answer is the same.
    assert_eq!(b.list().await.unwrap(), first);
    let warm = b.list_memo_stats();
    assert_eq!(warm.misses, cold.misses);
    assert_eq!(warm.hits, cold.hits + 7);

    // Another writer publishes: only the new tag and the new branch head are read.
    let d = a.create_draft(draft("p", "new")).await.unwrap();
    let v7 = a.approve(&d, None).await.unwrap();
    assert!(b.refresh().await.unwrap().changed);
    let after = b.list().await.unwrap();
    assert_eq!(after, a.list().await.unwrap());
    assert!(
        after
            .iter()
            .any(|r| r.key.revision == 7 && r.commit == v7.commit && r.key.workspace == "new")
    );
    let stats = b.list_memo_stats();
    assert_eq!(stats.misses, warm.misses + 2, "{stats:?}");
    fx.stop().await;
}
