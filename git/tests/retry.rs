#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Push retries (upstream `--repo-operation-retry-attempts` and the retryable
//! error strings): real server-side hooks decline once, then accept. A lease
//! that stopped holding in between is still a typed conflict.

mod common;

use std::path::Path;

use common::{Fixture, draft, git};
use porch_git::testserver::Fault;
use porch_git::{ConnectionOptions, GitError, GitRepository, RetryPolicy};

/// Installs `hooks/<name>` that runs `first` once (then exits 1), and accepts afterwards.
fn hook_failing_once(repo: &Path, name: &str, first: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let marker = repo.join(format!("{name}-ran"));
    let script = format!(
        "#!/bin/sh\ncat >/dev/null\nif [ ! -e '{m}' ]; then\n  touch '{m}'\n  {first}\n  echo 'simulated outage' >&2\n  exit 1\nfi\nexit 0\n",
        m = marker.display()
    );
    let path = repo.join("hooks").join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    marker
}

fn refs(srv: &Path) -> String {
    git(srv, &["for-each-ref", "--format=%(refname)"])
}

fn options(retry: RetryPolicy) -> ConnectionOptions {
    ConnectionOptions {
        ca_bundle: None,
        retry,
    }
}

#[tokio::test]
async fn declined_pre_receive_is_retried() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("r1").await;
    let srv = fx.server.repo_dir("r1");
    let repo = GitRepository::open(cfg.clone(), fx.cache("a"))
        .await
        .unwrap();
    let marker = hook_failing_once(&srv, "pre-receive", ":");
    let d = repo.create_draft(draft("p", "w")).await.unwrap();
    assert!(marker.exists(), "the hook declined the first attempt");
    assert_eq!(git(&srv, &["rev-parse", "refs/heads/drafts/p/w"]), d.commit);
    assert_eq!(repo.list().await.unwrap().len(), 1);

    // Without retries the same outage is an error naming the repository, and
    // neither side holds the draft.
    let once = GitRepository::open_with_options(cfg, &options(RetryPolicy::none()), fx.cache("b"))
        .await
        .unwrap();
    std::fs::remove_file(&marker).unwrap();
    let err = once.create_draft(draft("q", "w")).await.unwrap_err();
    eprintln!("error: {err}");
    assert!(err.to_string().contains(&fx.server.repo_url("r1")), "{err}");
    assert!(
        err.to_string().contains("pre-receive hook declined"),
        "{err}"
    );
    assert!(!refs(&srv).contains("drafts/q/w"));
    assert!(
        once.list()
            .await
            .unwrap()
            .iter()
            .all(|r| r.key.package != "q")
    );
    fx.stop().await;
}

#[tokio::test]
async fn extra_patterns_make_errors_retryable() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("r2").await;
    let srv = fx.server.repo_dir("r2");
    // An `update` hook says "hook declined", which upstream does not retry.
    let marker = hook_failing_once(&srv, "update", ":");
    let plain = GitRepository::open(cfg.clone(), fx.cache("a"))
        .await
        .unwrap();
    let err = plain.create_draft(draft("p", "w")).await.unwrap_err();
    eprintln!("error: {err}");
    assert!(err.to_string().contains("hook declined"), "{err}");
    assert!(!refs(&srv).contains("drafts/p/w"));

    std::fs::remove_file(&marker).unwrap();
    let retry = RetryPolicy {
        attempts: 2,
        extra_patterns: vec!["Hook Declined".into()],
    };
    let patient = GitRepository::open_with_options(cfg, &options(retry), fx.cache("b"))
        .await
        .unwrap();
    let d = patient.create_draft(draft("p", "w")).await.unwrap();
    assert!(marker.exists());
    assert_eq!(git(&srv, &["rev-parse", "refs/heads/drafts/p/w"]), d.commit);
    fx.stop().await;
}

#[tokio::test]
async fn a_lease_lost_between_attempts_is_a_conflict() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("r3").await;
    let srv = fx.server.repo_dir("r3");
    let main = git(&srv, &["rev-parse", "refs/heads/main"]);
    let repo = GitRepository::open(cfg, fx.cache("a")).await.unwrap();
    // While declining, someone else creates the same draft branch.
    hook_failing_once(
        &srv,
        "pre-receive",
        &format!("env -u GIT_QUARANTINE_PATH git update-ref refs/heads/drafts/p/w {main}"),
    );
    let err = repo.create_draft(draft("p", "w")).await.unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, GitError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains(&fx.server.repo_url("r3")), "{err}");
    // The other writer's ref survived the retry.
    assert_eq!(git(&srv, &["rev-parse", "refs/heads/drafts/p/w"]), main);
    fx.stop().await;
}

#[tokio::test]
async fn a_push_that_landed_without_an_answer_is_not_repeated_as_a_failure() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("r4").await;
    let srv = fx.server.repo_dir("r4");
    let repo = GitRepository::open(cfg, fx.cache("a")).await.unwrap();
    let d = repo.create_draft(draft("p", "w")).await.unwrap();
    // Every push answer is lost, but the pushes land: propose moves two refs.
    fx.server.set_fault("r4", Some(Fault::DropPushResponse));
    let p = repo.propose(&d).await.unwrap();
    fx.server.set_fault("r4", None);
    let now = refs(&srv);
    assert!(now.contains("refs/heads/proposed/p/w"), "{now}");
    assert!(!now.contains("refs/heads/drafts/p/w"), "{now}");
    assert_eq!(repo.list().await.unwrap(), vec![p]);
    fx.stop().await;
}
