//! Set-up shared by the integration tests that sync into an in-process API server.
#![allow(dead_code, clippy::unwrap_used)]

use porch_apiserver::{ServerOptions, api, build_app};
use porch_crds::config::v1alpha1::{GitRepository, Repository, RepositorySpec};
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions as GitOptions};

/// The conformance suite's test-blueprints bundle (read at run time, so a moved checkout works).
pub fn bundle() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../shared/conformance/test-blueprints.bundle")
}

/// A kube client served in-process by a standalone API server storing under `dir`.
pub async fn in_process_client(dir: &std::path::Path) -> kube::Client {
    let opts = ServerOptions::new(dir, "127.0.0.1:0".parse().unwrap());
    let app = build_app(&opts, None, "in-process".into()).await.unwrap();
    kube::Client::new(api::router(app), "default")
}

/// A loopback git server under `dir/srv` serving the test-blueprints bundle as `name`
/// (anonymous read); returns it and the repository's URL.
pub async fn blueprints_server(
    dir: &std::path::Path,
    options: GitOptions,
    name: &str,
) -> (GitServer, String) {
    let git = GitServer::start(dir.join("srv"), options).await.unwrap();
    let url = git
        .seed_from_bundle(
            name,
            bundle(),
            RepoOptions {
                anonymous_read: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    (git, url)
}

/// A git Repository `name` at `url`, with the repository finalizer already on (so its
/// first reconcile syncs rather than only adding it).
pub fn repository(name: &str, url: &str) -> Repository {
    let mut repo = Repository::new(
        name,
        RepositorySpec {
            git: Some(GitRepository {
                repo: url.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    repo.metadata.finalizers = Some(vec![porch_crds::labels::REPOSITORY_FINALIZER.to_string()]);
    repo
}
