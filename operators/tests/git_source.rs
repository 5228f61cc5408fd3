#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The git RepositorySource against the loopback git server seeded from the conformance
//! bundle (`test-blueprints`).

use std::path::Path;

use porch_crds::config::v1alpha1::{GitRepository, Repository, RepositorySpec};
use porch_crds::porch::v1alpha1::PackageRevisionLifecycle;
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions};
use porch_operators::git_source::GitRepositorySource;
use porch_operators::source::Access;
use porch_operators::{Credentials, RepositorySource, SourceError};

const BUNDLE: &str = "/work/shared/conformance/test-blueprints.bundle";
const USER: &str = "nephio";
const PASSWORD: &str = "secret";

fn creds() -> Credentials {
    Credentials::Basic {
        username: USER.into(),
        password: PASSWORD.into(),
    }
}

fn repository(url: &str, branch: &str) -> Repository {
    let mut r = Repository::new(
        "test-blueprints",
        RepositorySpec {
            git: Some(GitRepository {
                repo: url.to_string(),
                branch: branch.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    r.metadata.namespace = Some("rpkg-get".into());
    r
}

async fn server() -> (tempfile::TempDir, GitServer, String) {
    let dir = tempfile::tempdir().unwrap();
    let server = GitServer::start(
        dir.path().join("srv"),
        ServerOptions::with_user(USER, PASSWORD),
    )
    .await
    .unwrap();
    let url = server
        .seed_from_bundle("test-blueprints", BUNDLE, RepoOptions::default())
        .await
        .unwrap();
    (dir, server, url)
}

async fn git(dir: Option<&Path>, args: &[&str]) -> String {
    let mut cmd = tokio::process::Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    let out = cmd
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Outsider")
        .env("GIT_AUTHOR_EMAIL", "outsider@example.com")
        .env("GIT_COMMITTER_NAME", "Outsider")
        .env("GIT_COMMITTER_EMAIL", "outsider@example.com")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The commit a ref of the served repository points to.
async fn served_commit(server: &GitServer, rev: &str) -> String {
    let dir = server.repo_dir("test-blueprints");
    let d = dir.to_str().unwrap();
    git(
        None,
        &["--git-dir", d, "rev-parse", &format!("{rev}^{{commit}}")],
    )
    .await
}

const EXPECTED: &[(&str, &str, i64)] = &[
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
];

#[tokio::test]
async fn fetch_lists_the_conformance_revisions() {
    let (dir, server, url) = server().await;
    let source = GitRepositorySource::new(dir.path().join("cache"));
    let repo = repository(&url, "main");
    let fetched = source.fetch(&repo, &Access::from(creds())).await.unwrap();

    let mut got: Vec<(String, String, i64)> = fetched
        .revisions
        .iter()
        .map(|r| (r.package_path.clone(), r.workspace_name.clone(), r.revision))
        .collect();
    got.sort();
    let mut want: Vec<(String, String, i64)> = EXPECTED
        .iter()
        .map(|(p, w, r)| (p.to_string(), w.to_string(), *r))
        .collect();
    want.sort();
    assert_eq!(got, want);

    let main_head = served_commit(&server, "main").await;
    assert_eq!(fetched.head_commit, main_head);
    assert!(fetched.version.as_deref().is_some_and(|v| !v.is_empty()));

    for rev in &fetched.revisions {
        assert_eq!(
            rev.lifecycle,
            PackageRevisionLifecycle::Published,
            "{rev:?}"
        );
        let lock = rev.self_lock.as_ref().unwrap();
        assert_eq!(lock.type_, "git");
        let git_lock = lock.git.as_ref().unwrap();
        assert_eq!(git_lock.repo, url);
        assert_eq!(git_lock.directory, rev.package_path);
        assert_eq!(git_lock.commit, rev.commit);
        if rev.revision > 0 {
            let tag = format!("{}/{}", rev.package_path, rev.workspace_name);
            assert_eq!(rev.commit, served_commit(&server, &tag).await, "{tag}");
            assert_eq!(git_lock.ref_, tag);
            assert!(!rev.published_by.is_empty(), "{tag} has publishedBy");
            assert!(
                rev.publish_timestamp.is_some(),
                "{tag} has publishTimestamp"
            );
        } else {
            assert_eq!(git_lock.ref_, "main");
            assert_eq!(rev.commit.len(), 40);
        }
    }
    // The `unready` package carries readiness gates in its Kptfile.
    let unready = fetched
        .revisions
        .iter()
        .find(|r| r.package_path == "unready" && r.revision == 1)
        .unwrap();
    assert!(!unready.readiness_gates.is_empty(), "{unready:?}");

    // A second fetch of an unchanged repository is the same.
    let again = source.fetch(&repo, &Access::from(creds())).await.unwrap();
    assert_eq!(again, fetched);

    source.release(&repo).await;
    assert!(!source.repo_cache_dir(&repo).exists());
    server.stop().await;
}

#[tokio::test]
async fn check_sees_a_tag_pushed_from_outside() {
    let (dir, server, url) = server().await;
    let source = GitRepositorySource::new(dir.path().join("cache"));
    let repo = repository(&url, "main");
    let fetched = source.fetch(&repo, &Access::from(creds())).await.unwrap();
    let before = source.check(&repo, &Access::from(creds())).await.unwrap();
    assert_eq!(before, fetched.version);
    // Nothing changed: the same answer (from the source's memo of the last fetch).
    let again = source.fetch(&repo, &Access::from(creds())).await.unwrap();
    assert_eq!(again, fetched);
    let first = fetched;

    // Someone else tags basens v5 on the v4 commit.
    let clone = dir.path().join("clone");
    let authed = url.replace("http://", &format!("http://{USER}:{PASSWORD}@"));
    git(None, &["clone", "-q", &authed, clone.to_str().unwrap()]).await;
    git(Some(&clone), &["tag", "basens/v5", "origin/main"]).await;
    git(Some(&clone), &["push", "-q", "origin", "basens/v5"]).await;

    let after = source.check(&repo, &Access::from(creds())).await.unwrap();
    assert!(after.is_some());
    assert_ne!(after, before);

    let fetched = source.fetch(&repo, &Access::from(creds())).await.unwrap();
    assert_eq!(fetched.version, after);
    let v5 = fetched
        .revisions
        .iter()
        .find(|r| r.package_path == "basens" && r.revision == 5)
        .expect("basens v5 listed");
    assert_eq!(v5.workspace_name, "v5");
    assert_eq!(v5.commit, served_commit(&server, "basens/v5").await);
    assert_eq!(fetched.revisions.len(), 17);
    // The revisions that did not move are discovered exactly as before.
    for r in &first.revisions {
        assert!(fetched.revisions.contains(r), "{r:?} changed");
    }
    server.stop().await;
}

#[tokio::test]
async fn stopped_server_is_unreachable_without_credentials_in_message() {
    let (dir, server, url) = server().await;
    let source = GitRepositorySource::new(dir.path().join("cache"));
    // Credentials in the URL itself must not leak either.
    let authed = url.replace("http://", &format!("http://{USER}:{PASSWORD}@"));
    let repo = repository(&authed, "main");
    source.fetch(&repo, &Access::default()).await.unwrap();
    server.stop().await;

    let err = source.fetch(&repo, &Access::default()).await.unwrap_err();
    let SourceError::Unreachable(msg) = &err else {
        panic!("expected Unreachable, got {err:?}");
    };
    assert!(msg.contains(&url), "{msg}");
    assert!(!msg.contains(PASSWORD), "{msg}");
    let err = source.check(&repo, &Access::default()).await.unwrap_err();
    assert!(matches!(err, SourceError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn wrong_credentials_are_auth_errors() {
    let (dir, server, url) = server().await;
    let source = GitRepositorySource::new(dir.path().join("cache"));
    let repo = repository(&url, "main");
    let wrong = Credentials::Basic {
        username: USER.into(),
        password: "not-the-password".into(),
    };
    let err = source
        .fetch(&repo, &Access::from(wrong.clone()))
        .await
        .unwrap_err();
    let SourceError::Auth(msg) = &err else {
        panic!("expected Auth, got {err:?}");
    };
    assert!(msg.contains(&url), "{msg}");
    assert!(!msg.contains("not-the-password"), "{msg}");
    let err = source.fetch(&repo, &Access::default()).await.unwrap_err();
    assert!(matches!(err, SourceError::Auth(_)), "{err:?}");
    // The right credentials then work (the source reopens with them).
    source.fetch(&repo, &Access::from(creds())).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn missing_branch_is_not_found() {
    let (dir, server, url) = server().await;
    let source = GitRepositorySource::new(dir.path().join("cache"));
    let repo = repository(&url, "no-such-branch");
    let err = source
        .fetch(&repo, &Access::from(creds()))
        .await
        .unwrap_err();
    let SourceError::NotFound(msg) = &err else {
        panic!("expected NotFound, got {err:?}");
    };
    assert!(
        msg.contains("branch \"no-such-branch\" not found in repository"),
        "{msg}"
    );
    assert!(msg.contains(&url), "{msg}");
    server.stop().await;
}
