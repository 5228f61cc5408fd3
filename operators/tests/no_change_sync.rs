#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A full sync that finds nothing new writes nothing: no PackageRev, no Repository status,
//! whatever the timing of the first sync (pinned to one second here, as a fast release
//! build does it), on the in-process API server (its SQLite store counts every write in
//! its resourceVersion) with the git source and the loopback git server.

mod common;

use common::{blueprints_server, in_process_client, repository};

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use kube::api::{Api, ListParams, PostParams};
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_git::testserver::ServerOptions;
use porch_operators::context::Context;
use porch_operators::decision::SyncSettings;
use porch_operators::git_source::GitRepositorySource;
use porch_operators::metrics::Metrics;
use porch_operators::repository::reconcile;

/// The store's resourceVersion: it moves with every write.
async fn store_version(client: &kube::Client) -> String {
    let api: Api<Repository> = Api::all(client.clone());
    api.list_metadata(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap_or_default()
}

async fn run(pinned: bool, reflected: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (git, url) =
        blueprints_server(dir.path(), ServerOptions::default(), "test-blueprints").await;
    let client = in_process_client(&dir.path().join("api")).await;

    // The clock: pinned to one second (the first sync starts and finishes in it), or real.
    let base = Timestamp::now().as_second();
    let offset = Arc::new(AtomicI64::new(0));
    let clock = {
        let offset = offset.clone();
        Arc::new(move || {
            let shift = offset.load(Ordering::SeqCst);
            if pinned {
                Timestamp::from_second(base + shift).unwrap()
            } else {
                Timestamp::now() + jiff::SignedDuration::from_secs(shift)
            }
        })
    };
    let ctx = Arc::new(Context::new(
        client.clone(),
        Arc::new(GitRepositorySource::new(dir.path().join("cache"))),
        SyncSettings::default(),
        2,
        Arc::new(Metrics::default()),
        clock,
    ));
    if reflected {
        porch_operators::packagerev::share_a_reflector(&ctx).await;
    }
    let repos: Api<Repository> = Api::namespaced(client.clone(), "default");
    let repo = repository("test-blueprints", &url);
    repos.create(&PostParams::default(), &repo).await.unwrap();

    let before = store_version(&client).await;
    reconcile(
        Arc::new(repos.get("test-blueprints").await.unwrap()),
        ctx.clone(),
    )
    .await
    .unwrap();
    assert_ne!(
        store_version(&client).await,
        before,
        "the first sync writes"
    );
    let revs: Api<PackageRev> = Api::namespaced(client.clone(), "default");
    assert_eq!(
        revs.list(&ListParams::default()).await.unwrap().items.len(),
        16
    );
    let status = repos.get("test-blueprints").await.unwrap().status.unwrap();
    assert_eq!(status.package_count, 16);
    if reflected {
        // The syncs below read the reflector: let it see the first sync's writes.
        for _ in 0..200 {
            let seen = ctx.package_rev_snapshot("default", "test-blueprints");
            if seen.is_some_and(|s| s.len() == 16 && s.iter().all(|p| p.status.is_some())) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    for round in 0..2 {
        // Past the full-sync period: a periodic full sync is due.
        offset.fetch_add(3600 + 60, Ordering::SeqCst);
        let uid = repos
            .get("test-blueprints")
            .await
            .unwrap()
            .metadata
            .uid
            .unwrap();
        let synced_before = ctx.memory(&uid).last_full_sync;
        let before = store_version(&client).await;
        reconcile(
            Arc::new(repos.get("test-blueprints").await.unwrap()),
            ctx.clone(),
        )
        .await
        .unwrap();
        assert_eq!(
            store_version(&client).await,
            before,
            "no-change sync {round} (pinned clock: {pinned}) wrote"
        );
        let synced = ctx.memory(&uid).last_full_sync;
        assert!(synced > synced_before, "round {round} did run a full sync");
    }
    git.stop().await;
}

#[tokio::test]
async fn no_change_sync_writes_nothing_after_a_first_sync_within_one_second() {
    run(true, false).await;
}

#[tokio::test]
async fn no_change_sync_writes_nothing_on_the_real_clock() {
    run(false, false).await;
}

#[tokio::test]
async fn no_change_sync_from_the_shared_reflector_writes_nothing() {
    run(false, true).await;
}

/// The API server's own controllers (its garbage collector) must leave the CR cache alone:
/// a PackageRev's owner is its PackageRevision, served by the aggregated porch.kpt.dev group
/// (not stored), which kube's garbage collector finds through that API.
#[tokio::test]
async fn package_revs_survive_the_api_servers_garbage_collector() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (git, url) =
        blueprints_server(dir.path(), ServerOptions::default(), "test-blueprints").await;
    let server = porch_apiserver::start(porch_apiserver::ServerOptions::new(
        dir.path().join("api"),
        "127.0.0.1:0".parse().unwrap(),
    ))
    .await
    .unwrap();
    let client = server.client().await.unwrap();
    let ctx = Arc::new(Context::new(
        client.clone(),
        Arc::new(GitRepositorySource::new(dir.path().join("cache"))),
        SyncSettings::default(),
        2,
        Arc::new(Metrics::default()),
        porch_operators::context::system_clock(),
    ));
    let repos: Api<Repository> = Api::namespaced(client.clone(), "default");
    let repo = repository("test-blueprints", &url);
    let repo = repos.create(&PostParams::default(), &repo).await.unwrap();
    reconcile(Arc::new(repo), ctx).await.unwrap();
    // The server's controllers sweep 20 ms after a write, and every 5 s.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let revs: Api<PackageRev> = Api::namespaced(client.clone(), "default");
    let items = revs.list(&ListParams::default()).await.unwrap().items;
    let terminating = items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .count();
    assert_eq!(items.len(), 16);
    assert_eq!(terminating, 0, "the API server is deleting the CR cache");
    server.stop().await;
    git.stop().await;
}
