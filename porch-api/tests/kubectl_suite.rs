#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The kubectl suite against the API server on loopback in this process: porch.kpt.dev served
//! by these handlers over the real engine (git over smart HTTP to the loopback git server,
//! PackageRev objects in the server's own store, fed back to the CR cache by the real
//! kube-runtime watchers). No operators run here, so no placeholder revisions appear.
//!
//! The steps are `porch_e2e::kubectl_suite`, shared with `porch/tests/kubectl_standalone.rs`
//! (the same steps against the `porch standalone` binary).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kpt::fn_eval::{EvalError, EvalFuture, Evaluator, FunctionRef};
use porch_api::{ApiOptions, CrCache, DeferredEngine, PorchApiGroup};
use porch_apiserver::{ServerOptions, start};
use porch_e2e::kubectl_suite::{self, NS, REPO, Target};
use porch_engine::EngineOptions;
use porch_git::testserver::{GitServer, RepoOptions};

const USER: &str = "porch";
const PASSWORD: &str = "kubectl-suite-pw";

/// Packages created here have no function pipeline; any function call is a test failure.
struct NoFunctions;

impl Evaluator for NoFunctions {
    fn evaluate<'a>(&'a self, function: &'a FunctionRef, _: &'a [u8]) -> EvalFuture<'a> {
        let name = function.name().to_owned();
        Box::pin(async move { Err(EvalError::NotFound(name)) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_suite() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();

    let git = GitServer::start(
        dir.path().join("git"),
        porch_git::testserver::ServerOptions::with_user(USER, PASSWORD),
    )
    .await
    .unwrap();
    let url = git
        .create_repo(
            REPO,
            RepoOptions {
                anonymous_read: false,
                initial_readme: true,
            },
        )
        .await
        .unwrap();

    let cache = CrCache::new();
    let deferred = Arc::new(DeferredEngine::new());
    let group = PorchApiGroup::new(deferred.clone(), cache.clone(), ApiOptions::default());
    let mut opts = ServerOptions::new(dir.path().join("server"), "127.0.0.1:0".parse().unwrap());
    opts.aggregated.push(Arc::new(group));
    let server = start(opts).await.unwrap();
    let client = server.client().await.unwrap();
    let watch_task = cache.spawn_watchers(client.clone());
    deferred.install(Arc::new(porch_engine::adapters::build_engine(
        client.clone(),
        dir.path().join("engine-cache"),
        Arc::new(NoFunctions),
        // The engine's fetch-freshness window would hide this suite's own back-to-back writes
        // from the next request (a create followed at once by a patch 404s): off here.
        EngineOptions {
            fetch_fresh_for: Duration::ZERO,
            ..EngineOptions::default()
        },
    )));

    kubectl_suite::register_repository(&client, &url, USER, PASSWORD).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cache.is_synced() || cache.read().repositories(NS).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the CR cache watches never delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    kubectl_suite::run(&Target {
        kubeconfig: server.kubeconfig.clone(),
        kubectl_cache: dir.path().join("kubectl-cache"),
        client,
        operators: false,
    })
    .await;

    watch_task.abort();
    server.stop().await;
    git.stop().await;
}
