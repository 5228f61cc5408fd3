#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Faults: server gone mid-fetch or mid-push, wrong credentials. Each error
//! names the URL (never the secret) and both sides stay consistent.

mod common;

use common::{Fixture, PASSWORD, TOKEN, git, package};
use porch_git::testserver::Fault;
use porch_git::{Credentials, GitError, GitRepository, NewDraft};

/// ~64 KiB of poorly compressible text, so a pack is far larger than a ref listing.
fn noise() -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut s = String::new();
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("k{:016x}\n", x));
    }
    s
}

fn draft(pkg: &str, ws: &str) -> NewDraft {
    NewDraft {
        package: pkg.into(),
        workspace: ws.into(),
        files: package(pkg, &[("big.yaml", &noise())]),
        task: None,
        user: None,
    }
}

#[tokio::test]
async fn wrong_credentials_are_auth_errors_without_secrets() {
    let fx = Fixture::new().await;
    let mut cfg = fx.repo("auth").await;
    let url = cfg.url.clone();
    cfg.credentials = Some(Credentials::Basic {
        username: "nephio".into(),
        password: "wrong-pass-123".into(),
    });
    let err = GitRepository::open(cfg.clone(), fx.cache("a1"))
        .await
        .unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Auth { .. }), "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains(&url), "{text}");
    assert!(!text.contains("wrong-pass-123"), "{text}");
    assert!(text.contains("check the credentials"), "{text}");

    // No credentials on a private repository.
    cfg.credentials = None;
    let err = GitRepository::open(cfg.clone(), fx.cache("a2"))
        .await
        .unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Auth { .. }), "{err}");

    // Bearer tokens work, wrong ones do not.
    cfg.credentials = Some(Credentials::Bearer {
        token: TOKEN.into(),
    });
    let repo = GitRepository::open(cfg.clone(), fx.cache("a3"))
        .await
        .unwrap();
    repo.create_draft(draft("p", "w")).await.unwrap();
    cfg.credentials = Some(Credentials::Bearer {
        token: "nope-tok".into(),
    });
    let err = GitRepository::open(cfg.clone(), fx.cache("a4"))
        .await
        .unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Auth { .. }), "{err}");

    // Credentials embedded in the URL are moved out of it.
    let embedded = url.replace("http://", &format!("http://nephio:{PASSWORD}@"));
    let mut c = porch_git::RepoConfig::new(embedded);
    c.credentials = None;
    let repo = GitRepository::open(c, fx.cache("a5")).await.unwrap();
    assert_eq!(repo.url(), url);

    // Push with read-only (anonymous) access: reads work, the push is an auth error.
    fx.server.set_anonymous_read("auth", true);
    let mut anon = porch_git::RepoConfig::new(&url);
    anon.credentials = None;
    let repo = GitRepository::open(anon, fx.cache("a6")).await.unwrap();
    let err = repo.create_draft(draft("q", "w")).await.unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Auth { .. }), "{err}");
    assert!(err.to_string().contains(&url));

    // Nothing secret on disk in any cache.
    for entry in walk(fx.dir.path().join("cache")) {
        if entry.file_name().is_some_and(|n| n == "config") {
            let text = std::fs::read_to_string(&entry).unwrap();
            assert!(
                !text.contains(PASSWORD)
                    && !text.contains(TOKEN)
                    && !text.contains("Authorization"),
                "{text}"
            );
        }
    }
    fx.stop().await;
}

fn walk(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn server_dies_mid_fetch() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("f1").await;
    let (a, b) = fx.writers(cfg).await;
    let before = b.list().await.unwrap();
    a.create_draft(draft("p", "w")).await.unwrap();

    fx.server
        .set_fault("f1", Some(Fault::AbortFetchAfter(8192)));
    let err = b.refresh().await.unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&fx.server.repo_url("f1")), "{err}");
    // The cache still answers with its last consistent state.
    assert_eq!(b.list().await.unwrap(), before);

    fx.server.set_fault("f1", None);
    let out = b.refresh().await.unwrap();
    assert!(out.changed);
    assert_eq!(b.list().await.unwrap().len(), 1);
    fx.stop().await;
}

#[tokio::test]
async fn server_dies_mid_push() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("f2").await;
    let srv = fx.server.repo_dir("f2");
    let a = GitRepository::open(cfg, fx.cache("a")).await.unwrap();
    fx.server.set_fault("f2", Some(Fault::AbortPush));
    let err = a.create_draft(draft("p", "w")).await.unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&fx.server.repo_url("f2")), "{err}");
    // Neither side has the draft.
    assert_eq!(
        git(&srv, &["for-each-ref", "--format=%(refname)"]),
        "refs/heads/main"
    );
    assert!(a.list().await.unwrap().is_empty());
    // Retrying after recovery works.
    fx.server.set_fault("f2", None);
    a.create_draft(draft("p", "w")).await.unwrap();
    assert_eq!(a.list().await.unwrap().len(), 1);

    // A server error (HTTP 500) during approval leaves everything as it was.
    let d = a.list().await.unwrap().remove(0);
    fx.server.set_fault("f2", Some(Fault::ServerError));
    let err = a.approve(&d, None).await.unwrap_err();
    assert!(err.to_string().contains(&fx.server.repo_url("f2")), "{err}");
    fx.server.set_fault("f2", None);
    assert!(!git(&srv, &["for-each-ref", "--format=%(refname)"]).contains("tags"));
    let v1 = a.approve(&d, None).await.unwrap();
    assert_eq!(v1.key.revision, 1);
    fx.stop().await;
}

#[tokio::test]
async fn server_stopped_is_unreachable() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("f3").await;
    let url = cfg.url.clone();
    let a = GitRepository::open(cfg, fx.cache("a")).await.unwrap();
    let addr = fx.server.addr();
    fx.server.stop().await;
    // Keep the port from being taken by another test's server while this one asserts: a
    // listener that closes every connection at once looks like a dead server.
    // The kernel may refuse the port for a moment while the stopped server's sockets close.
    let mut hold = None;
    for _ in 0..50 {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => {
                hold = Some(l);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let hold = hold.expect("the stopped server's port comes free");
    std::thread::spawn(move || {
        for conn in hold.incoming() {
            drop(conn);
        }
    });
    let err = a.refresh().await.unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    let err = a.create_draft(draft("p", "w")).await.unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Unreachable { .. }), "{err}");
    assert!(a.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn branch_that_keeps_moving_fails_the_approval_cleanly() {
    use std::os::unix::fs::PermissionsExt as _;
    let fx = Fixture::new().await;
    let cfg = fx.repo("f4").await;
    let srv = fx.server.repo_dir("f4");
    let a = GitRepository::open(cfg, fx.cache("a")).await.unwrap();
    let d = a.create_draft(draft("p", "w")).await.unwrap();
    // Someone else commits to main during every push that updates main.
    let hook = srv.join("hooks").join("pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\n\
         export GIT_AUTHOR_NAME=other GIT_AUTHOR_EMAIL=other@example.com \
         GIT_COMMITTER_NAME=other GIT_COMMITTER_EMAIL=other@example.com\n\
         while read old new ref; do\n\
           if [ \"$ref\" = refs/heads/main ]; then\n\
             unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n\
             head=$(git rev-parse refs/heads/main)\n\
             c=$(git commit-tree -p \"$head\" -m 'someone else' \"$head^{tree}\")\n\
             git update-ref refs/heads/main \"$c\"\n\
           fi\n\
         done\n\
         exit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let err = a.approve(&d, None).await.unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains(&fx.server.repo_url("f4")), "{err}");
    assert!(err.to_string().contains("refresh the repository and retry"));
    // Nothing half-done: no tag, the draft is still there, and main holds only
    // the other writer's commits (one per approval attempt).
    let refs = git(&srv, &["for-each-ref", "--format=%(refname)"]);
    assert!(!refs.contains("refs/tags/"), "{refs}");
    assert!(refs.contains("refs/heads/drafts/p/w"), "{refs}");
    let authors = git(&srv, &["log", "--format=%ae", "refs/heads/main"]);
    assert_eq!(
        authors
            .lines()
            .filter(|a| *a == "other@example.com")
            .count(),
        3,
        "{authors}"
    );
    // Our cache agrees with the server once the branch settles.
    std::fs::remove_file(&hook).unwrap();
    a.refresh().await.unwrap();
    let listed = a.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].commit, d.commit);
    let v1 = a.approve(&d, None).await.unwrap();
    assert_eq!(v1.key.revision, 1);
    fx.stop().await;
}

#[tokio::test]
async fn fetch_works_without_the_quick_ref_check() {
    // A server that refuses the one-request (protocol v0) ref listing: every
    // fetch takes gix's full path, including pruning.
    let fx = Fixture::new().await;
    let cfg = fx.repo("f5").await;
    fx.server.set_fault("f5", Some(Fault::RefuseProtocolV0));
    let (a, b) = fx.writers(cfg).await;
    let d = a.create_draft(draft("p", "w")).await.unwrap();
    let v1 = a.approve(&d, None).await.unwrap();
    let out = b.refresh().await.unwrap();
    assert!(out.changed);
    assert!(!b.refresh().await.unwrap().changed);
    let listed = b.list().await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed
            .iter()
            .any(|r| r.commit == v1.commit && r.key.revision == 1)
    );
    a.delete(&v1, None).await.unwrap();
    assert!(b.refresh().await.unwrap().changed);
    assert!(b.list().await.unwrap().iter().all(|r| r.key.revision != 1));
    assert_eq!(b.version().await.unwrap(), a.version().await.unwrap());
    fx.stop().await;
}
