//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use porch_git::testserver::{GitServer, RepoOptions, ServerOptions};
use porch_git::{Credentials, RepoConfig};

pub const USER: &str = "nephio";
pub const PASSWORD: &str = "secret";
pub const TOKEN: &str = "tok-3f9a";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub server: GitServer,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = ServerOptions::with_user(USER, PASSWORD);
        opts.tokens.push(TOKEN.to_string());
        let server = GitServer::start(dir.path().join("srv"), opts)
            .await
            .unwrap();
        Fixture { dir, server }
    }

    pub fn cache(&self, name: &str) -> PathBuf {
        self.dir.path().join("cache").join(name)
    }

    /// A repository with one commit (empty README.md) on main.
    pub async fn repo(&self, name: &str) -> RepoConfig {
        let url = self
            .server
            .create_repo(
                name,
                RepoOptions {
                    anonymous_read: false,
                    initial_readme: true,
                },
            )
            .await
            .unwrap();
        config(&url)
    }

    /// Two writers on one repository, each with its own cache (two processes, say).
    pub async fn writers(
        &self,
        cfg: RepoConfig,
    ) -> (porch_git::GitRepository, porch_git::GitRepository) {
        let a = porch_git::GitRepository::open(cfg.clone(), self.cache("a"))
            .await
            .unwrap();
        let b = porch_git::GitRepository::open(cfg, self.cache("b"))
            .await
            .unwrap();
        (a, b)
    }

    /// Stops the server and removes the directory. The test's repositories are still alive
    /// here (they drop when the test returns) and one may be writing its commit-graph in the
    /// background, which can recreate files while the directory goes: removal is retried
    /// until the directory stays gone.
    pub async fn stop(self) {
        self.server.stop().await;
        let path = self.dir.keep();
        let mut gone_for = 0;
        for _ in 0..40 {
            if path.exists() {
                gone_for = 0;
                let _ = std::fs::remove_dir_all(&path);
            } else {
                gone_for += 1;
                if gone_for == 3 {
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

pub fn basic() -> Credentials {
    Credentials::Basic {
        username: USER.into(),
        password: PASSWORD.into(),
    }
}

pub fn config(url: &str) -> RepoConfig {
    let mut c = RepoConfig::new(url);
    c.credentials = Some(basic());
    c
}

pub fn bundle_path() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../shared/conformance/test-blueprints.bundle")
}

pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A package's files with a Kptfile.
pub fn package(name: &str, extra: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    let mut files = std::collections::BTreeMap::new();
    files.insert(
        "Kptfile".to_string(),
        format!("apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {name}\n"),
    );
    for (k, v) in extra {
        files.insert(k.to_string(), v.to_string());
    }
    files
}

/// A draft of package `pkg` in workspace `ws` holding just its Kptfile.
pub fn draft(pkg: &str, ws: &str) -> porch_git::NewDraft {
    porch_git::NewDraft {
        package: pkg.into(),
        workspace: ws.into(),
        files: package(pkg, &[]),
        task: None,
        user: None,
    }
}
