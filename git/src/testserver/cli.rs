//! The `porch-git-server` command: serve a directory on 127.0.0.1 for scripts.

use std::path::PathBuf;

use super::{GitServer, RepoOptions, ServerOptions, ServerTls};

/// Arguments of `porch-git-server`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "porch-git-server",
    about = "Loopback git smart-HTTP server (git http-backend) for tests"
)]
pub struct ServerArgs {
    /// Directory holding the bare repositories (`<root>/<name>.git`).
    #[arg(long)]
    pub root: PathBuf,
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// A basic-auth user, `name:password` (repeatable).
    #[arg(long = "user")]
    pub users: Vec<String>,
    /// A bearer token (repeatable).
    #[arg(long = "token")]
    pub tokens: Vec<String>,
    /// Create a repository: `name[,anon][,readme]` (repeatable). `anon` allows anonymous
    /// read; `readme` starts it with one commit holding an empty README.md.
    #[arg(long = "repo")]
    pub repos: Vec<String>,
    /// Seed a repository from a bundle: `name=path/to.bundle[,anon]` (repeatable).
    #[arg(long = "seed")]
    pub seeds: Vec<String>,
    /// Allow anonymous read of repositories already present under --root.
    #[arg(long)]
    pub anonymous_read: bool,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

fn parse_flags(spec: &str) -> (String, RepoOptions) {
    let mut parts = spec.split(',');
    let name = parts.next().unwrap_or_default().to_string();
    let mut opts = RepoOptions::default();
    for p in parts {
        match p {
            "anon" => opts.anonymous_read = true,
            "readme" => opts.initial_readme = true,
            _ => {}
        }
    }
    (name, opts)
}

/// Starts the server from `args`, prints its URL on stdout, and serves until
/// Ctrl-C or SIGTERM.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let mut users = Vec::new();
    for u in &args.users {
        let (n, p) = u
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("--user must be name:password"))?;
        users.push((n.to_string(), p.to_string()));
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(ServerTls {
            cert_chain_pem: std::fs::read_to_string(cert)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", cert.display()))?,
            key_pem: std::fs::read_to_string(key)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", key.display()))?,
        }),
        _ => None,
    };
    let options = ServerOptions {
        port: args.port,
        users,
        tokens: args.tokens.clone(),
        anonymous_read_default: args.anonymous_read,
        tls,
        ..Default::default()
    };
    let server = GitServer::start(&args.root, options).await?;
    for spec in &args.repos {
        let (name, opts) = parse_flags(spec);
        server.create_repo(&name, opts).await?;
    }
    for spec in &args.seeds {
        let (name_path, _) = spec.split_once(',').unwrap_or((spec.as_str(), ""));
        let (name, path) = name_path
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--seed must be name=path[,anon]"))?;
        let (_, opts) = parse_flags(&format!("{name}{}", &spec[name_path.len()..]));
        server.seed_from_bundle(name, path, opts).await?;
    }
    println!("{}", server.url());
    // Stop on Ctrl-C or SIGTERM (scripts stop it with `kill <pid>`).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    server.stop().await;
    Ok(())
}
