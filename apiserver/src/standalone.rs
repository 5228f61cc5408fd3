//! `porch standalone`: the whole control plane API on 127.0.0.1 with an embedded store.

use crate::server::{RunningServer, ServerError, ServerOptions, start};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The default listen address: loopback only, on a port that does not clash with a local
/// kube-apiserver (6443).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7443";

/// Flags of `porch standalone`.
#[derive(Debug, Clone, clap::Args)]
pub struct StandaloneArgs {
    /// Directory for the store, TLS material, the token and the kubeconfig (created if missing).
    #[arg(long, env = "PORCH_DATA_DIR", default_value = ".porch")]
    pub data_dir: PathBuf,
    /// Address to serve HTTPS on (use port 0 for any free port; the kubeconfig has the real one).
    #[arg(long, env = "PORCH_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
}

/// Start the server and log one line containing `ready`.
pub async fn start_standalone(args: &StandaloneArgs) -> Result<RunningServer, ServerError> {
    let t0 = std::time::Instant::now();
    let server = start(ServerOptions::new(&args.data_dir, args.listen)).await?;
    let line = format!(
        "porch standalone ready: serving {} (kubeconfig {}) in {} ms",
        server.url,
        server.kubeconfig.display(),
        t0.elapsed().as_millis()
    );
    tracing::info!("{line}");
    println!("{line}");
    Ok(server)
}

/// Run until `shutdown` resolves.
pub async fn run_standalone(
    args: StandaloneArgs,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let server = start_standalone(&args).await?;
    shutdown.await;
    server.stop().await;
    Ok(())
}
