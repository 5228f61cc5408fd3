//! A development binary for `porch standalone` (the `porch` binary wires the same entry point).

use clap::Parser;
use porch_apiserver::StandaloneArgs;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: StandaloneArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match porch_apiserver::run_standalone(cli.args, shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
