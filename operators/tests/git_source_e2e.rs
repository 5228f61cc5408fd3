#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End to end: the real Repository controller with the git source, against the in-process
//! API server and the loopback git server seeded from the conformance bundle.

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, ListParams, PostParams};
use porch_apiserver::{ServerOptions as ApiOptions, api, build_app};
use porch_crds::config::v1alpha1::{GitRepository, PackageRev, Repository, RepositorySpec};
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions};
use porch_operators::context::{Context, system_clock};
use porch_operators::decision::SyncSettings;
use porch_operators::git_source::GitRepositorySource;
use porch_operators::metrics::Metrics;

const BUNDLE: &str = "/work/shared/conformance/test-blueprints.bundle";

#[tokio::test]
async fn controller_syncs_the_bundle_into_package_revs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let git = GitServer::start(dir.path().join("srv"), ServerOptions::default())
        .await
        .unwrap();
    let url = git
        .seed_from_bundle(
            "test-blueprints",
            BUNDLE,
            RepoOptions {
                anonymous_read: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let opts = ApiOptions::new(dir.path().join("api"), "127.0.0.1:0".parse().unwrap());
    let app = build_app(&opts, None, "in-process".into()).await.unwrap();
    let client = kube::Client::new(api::router(app), "default");

    let source = Arc::new(GitRepositorySource::new(dir.path().join("cache")));
    let ctx = Arc::new(Context::new(
        client.clone(),
        source,
        SyncSettings::default(),
        2,
        Arc::new(Metrics::default()),
        system_clock(),
    ));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(porch_operators::repository::run_controller(
        ctx,
        2,
        async move {
            let _ = stop_rx.await;
        },
    ));

    let repos: Api<Repository> = Api::namespaced(client.clone(), "default");
    let repo = Repository::new(
        "test-blueprints",
        RepositorySpec {
            git: Some(GitRepository {
                repo: url.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    // Workaround: the API server's JSON patch rejects kube-runtime's
    // `test /metadata/finalizers == null` on an object without finalizers (Kubernetes
    // accepts it), so the Repository is created with the controller's finalizer.
    let mut repo = repo;
    repo.metadata.finalizers = Some(vec![porch_crds::labels::REPOSITORY_FINALIZER.to_string()]);
    repos.create(&PostParams::default(), &repo).await.unwrap();

    let revs: Api<PackageRev> = Api::namespaced(client.clone(), "default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (list, ready) = loop {
        let list = revs.list(&ListParams::default()).await.unwrap();
        let r = repos.get("test-blueprints").await.unwrap();
        let ready = r
            .status
            .as_ref()
            .map(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
            .unwrap_or(false);
        if list.items.len() == 16 && ready {
            break (list, ready);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: {} PackageRevs, status {:?}",
            list.items.len(),
            r.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(ready);
    let latest: Vec<String> = list
        .items
        .iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kpt.dev/latest-revision"))
                .is_some_and(|v| v == "true")
        })
        .map(|p| p.metadata.name.clone().unwrap_or_default())
        .collect();
    assert!(
        latest.contains(&"test-blueprints.basens.v4".to_string()),
        "{latest:?}"
    );
    assert!(!latest.contains(&"test-blueprints.basens.v3".to_string()));

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), controller).await;
    git.stop().await;
}
