//! `porch-conformance`: runs upstream-format porchctl cases against a running Porch.
//!
//! `porch-conformance --cases DIR --kubeconfig FILE --porchctl BIN --git-url-base URL`
//! Exit code 0 when every command passed, 1 otherwise.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use porchctl::cli::KubeFlags;
use porchctl::conformance::case::load_cases;
use porchctl::conformance::runner::{Runner, Settings, UPSTREAM_GIT_BASE};
use porchctl::connect::Connector;

/// Runs upstream-format porchctl conformance cases.
#[derive(Debug, Parser)]
struct Args {
    /// Directory of cases (`<name>.yaml` files or `<name>/config.yaml`).
    #[arg(long)]
    cases: PathBuf,
    /// Kubeconfig of the server under test.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The porchctl binary to test.
    #[arg(long)]
    porchctl: PathBuf,
    /// Replaces `http://gitea.gitea.svc.cluster.local:3000` in args and expected output.
    #[arg(long)]
    git_url_base: Option<String>,
    /// Only run these cases.
    #[arg(long = "case")]
    only: Vec<String>,
    /// Working directory of the commands (default: current directory).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Shell command run after each case that uses the porch-test repository.
    #[arg(long)]
    reset_repo_cmd: Option<String>,
    /// Seconds to wait for a registered repository to become Ready.
    #[arg(long, default_value_t = 60)]
    ready_timeout: u64,
    /// Keep the per-case namespaces.
    #[arg(long)]
    keep_namespaces: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let mut cases = match load_cases(&args.cases) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if !args.only.is_empty() {
        cases.retain(|c| args.only.contains(&c.name));
    }
    let flags = KubeFlags {
        kubeconfig: Some(args.kubeconfig.display().to_string()),
        ..Default::default()
    };
    let session = match Connector::Kubeconfig.connect(&flags).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", e.message());
            std::process::exit(2);
        }
    };
    let porchctl = std::fs::canonicalize(&args.porchctl).unwrap_or(args.porchctl.clone());
    let kubeconfig = std::fs::canonicalize(&args.kubeconfig).unwrap_or(args.kubeconfig.clone());
    let settings = Settings {
        porchctl,
        kubeconfig,
        substitutions: args
            .git_url_base
            .iter()
            .map(|u| {
                (
                    UPSTREAM_GIT_BASE.to_string(),
                    u.trim_end_matches('/').to_string(),
                )
            })
            .collect(),
        workdir: args.workdir.unwrap_or_else(|| PathBuf::from(".")),
        reset_repo_cmd: args.reset_repo_cmd,
        ready_timeout: Duration::from_secs(args.ready_timeout),
        keep_namespaces: args.keep_namespaces,
    };
    let results = Runner::new(session.rest, settings).run_all(&cases).await;
    let failed = results.iter().any(|r| !r.passed());
    std::process::exit(if failed { 1 } else { 0 });
}
