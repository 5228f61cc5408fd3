//! The `porch` binary: every server part of Porch in Rust behind one command.

mod apiserver;
mod engine_args;
mod remote_evaluator;
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
    /// Run the porch.kpt.dev aggregated API server in a cluster (TLS, delegated authentication
    /// and authorization through the kube-apiserver; KUBECONFIG or the in-cluster service account).
    Apiserver(Box<apiserver::ApiserverCmd>),
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

/// jemalloc instead of glibc's malloc: with many threads glibc keeps one arena per thread and
/// returns little of it, and its malloc/free were a quarter of the CPU of a first sync.
/// jemalloc's background thread also gives freed memory back while the process is idle
/// (mimalloc, tried before, purges only when allocating: 180 MiB instead of 145 for a
/// standalone process with 10,000 revisions). Its defaults are set at build time in
/// `.cargo/config.toml` and can be overridden at run time with `_RJEM_MALLOC_CONF`.
/// Heap profilers that interpose malloc (heaptrack) need a build without it:
/// `cargo build -p porch --no-default-features`.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Two TLS back-ends are linked (kube's ring, reqwest's aws-lc): choose one explicitly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Standalone(args) => standalone::run(args, shutdown_signal()).await?,
        Command::Apiserver(cmd) => apiserver::run(*cmd, shutdown_signal()).await?,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every container of the kustomize manifests in `config/` runs `porch` with flags this binary
    /// accepts, so the manifests cannot drift from the code.
    #[test]
    fn config_manifests_use_flags_the_binary_accepts() {
        let dir = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../config");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let stream = kpt::yaml::parse_stream(&text).unwrap();
            for doc in &stream.docs {
                let Some(root) = &doc.root else { continue };
                let object = kpt::yaml::to_json(root);
                if object["kind"] != "Deployment" {
                    continue;
                }
                let containers = &object["spec"]["template"]["spec"]["containers"];
                for container in containers.as_array().unwrap() {
                    let args: Vec<&str> = container["args"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap())
                        .collect();
                    let argv = std::iter::once("porch").chain(args.iter().copied());
                    if let Err(e) = Cli::try_parse_from(argv) {
                        panic!("{}: porch {args:?} is rejected: {e}", path.display());
                    }
                    checked += 1;
                }
            }
        }
        // apiserver, operators, fn-runner.
        assert_eq!(checked, 3);
    }
}
