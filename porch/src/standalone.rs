//! `porch standalone`: the API server, the porch.kpt.dev API, the engine (rendering in-process
//! through the native and exec function runtimes) and the operators, in one process.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use porch_api::{ApiOptions, CrCache, DeferredEngine, PorchApiGroup};
use porch_apiserver::server::ServerOptions;
use porch_apiserver::standalone::StandaloneArgs;
use porch_operators::OperatorsArgs;
use porch_operators::git_source::GitRepositorySource;

use crate::engine_args::EngineArgs;

/// Flags of `porch standalone`.
#[derive(Debug, Clone, clap::Args)]
pub struct StandaloneCmd {
    #[command(flatten)]
    pub server: StandaloneArgs,
    /// Address of the operators' admin server (`/healthz`, `/readyz`, `/metrics`); port 0 picks
    /// a free port, so several standalone instances can run side by side.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub operators_admin_address: SocketAddr,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Parses the operators' flags with their defaults, so standalone and `porch operators` share them.
#[derive(Debug, Parser)]
struct OperatorsDefaults {
    #[command(flatten)]
    args: OperatorsArgs,
}

fn operators_args(admin: SocketAddr, use_user_cabundle: bool) -> anyhow::Result<OperatorsArgs> {
    // One process owns the store: no other replica to elect against. `--use-user-cabundle`
    // covers the syncs too, not only the engine's writes.
    let argv = [
        "operators".to_string(),
        "--leader-elect=false".to_string(),
        format!("--admin-address={admin}"),
        format!("--repositories.use-user-defined-ca-bundle={use_user_cabundle}"),
    ];
    Ok(OperatorsDefaults::try_parse_from(argv)?.args)
}

/// Run every part until `shutdown` resolves; prints one line containing `ready` once serving.
pub async fn run(
    cmd: StandaloneCmd,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let data_dir = cmd.server.data_dir.clone();

    let cache = CrCache::new();
    let deferred = Arc::new(DeferredEngine::new());
    let mut options = ServerOptions::new(&data_dir, cmd.server.listen);
    options.aggregated.push(Arc::new(PorchApiGroup::new(
        deferred.clone(),
        cache.clone(),
        ApiOptions::default(),
    )));
    let server = porch_apiserver::server::start(options)
        .await
        .context("starting the API server")?;
    let client = server
        .client()
        .await
        .context("connecting to the API server")?;

    let watchers = cache.spawn_watchers(client.clone());
    let evaluator =
        porch_fn_runner::in_process_evaluator(porch_fn_runner::InProcessConfig::default());
    let engine = porch_engine::adapters::build_engine(
        client.clone(),
        data_dir.join("cache").join("engine"),
        evaluator,
        cmd.engine.options(),
    );
    deferred.install(Arc::new(engine));

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let source = Arc::new(GitRepositorySource::new(
        data_dir.join("cache").join("sync"),
    ));
    let operators = tokio::spawn(porch_operators::run(
        client,
        operators_args(cmd.operators_admin_address, cmd.engine.use_user_cabundle)?,
        source,
        async move {
            let _ = stop_rx.changed().await;
        },
    ));

    let line = format!(
        "porch standalone ready: serving {} (kubeconfig {}) in {} ms",
        server.url,
        server.kubeconfig.display(),
        started.elapsed().as_millis()
    );
    tracing::info!("{line}");
    println!("{line}");

    shutdown.await;
    let _ = stop_tx.send(true);
    match operators.await {
        Ok(Err(e)) => tracing::warn!(error = %e, "operators stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "operators task failed"),
        Ok(Ok(())) => {}
    }
    watchers.abort();
    server.stop().await;
    Ok(())
}
