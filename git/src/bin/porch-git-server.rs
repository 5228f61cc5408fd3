//! `porch-git-server`: a loopback git smart-HTTP server for scripts and tests.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    porch_git::testserver::cli::run(porch_git::testserver::cli::ServerArgs::parse()).await
}
