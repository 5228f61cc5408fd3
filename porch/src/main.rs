//! The `porch` binary: every server part of Porch in Rust behind one command.

mod standalone;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use porch_operators::git_source::GitRepositorySource;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "porch",
    version,
    about = "Package orchestration for kpt packages"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the control plane in one process on 127.0.0.1 with an embedded store.
    Standalone(standalone::StandaloneCmd),
    /// Run the KRM function runner (gRPC `evaluator.FunctionEvaluator`).
    FnRunner(Box<porch_fn_runner::FnRunnerArgs>),
    /// Run the Repository and PackageRev controllers against a Kubernetes API (KUBECONFIG,
    /// or the in-cluster service account).
    Operators(Box<OperatorsCmd>),
    /// Print the version and exit.
    Version,
}

/// Flags of `porch operators`.
#[derive(Debug, clap::Args)]
struct OperatorsCmd {
    #[command(flatten)]
    args: porch_operators::OperatorsArgs,
    /// Directory for the repositories' git caches.
    #[arg(long, env = "PORCH_CACHE_DIR", default_value = ".porch-cache")]
    cache_dir: PathBuf,
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

fn init_logging() {
    let filter = EnvFilter::try_from_env("PORCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Two TLS back-ends are linked (kube's ring, reqwest's aws-lc): choose one explicitly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Standalone(args) => standalone::run(args, shutdown_signal()).await?,
        Command::FnRunner(args) => porch_fn_runner::run(*args, shutdown_signal()).await?,
        Command::Operators(cmd) => {
            let client = kube::Client::try_default().await?;
            let source = Arc::new(GitRepositorySource::new(cmd.cache_dir.join("sync")));
            porch_operators::run(client, cmd.args, source, shutdown_signal()).await?
        }
        Command::Version => println!("porch {}", env!("CARGO_PKG_VERSION")),
    }
    Ok(())
}
