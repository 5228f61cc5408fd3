//! `porch apiserver`'s serving half: flags, start-up and the TLS accept loop that hands each
//! request its connection's client certificates.

use super::authn::{Authenticator, AuthnError};
use super::authz::{Authorizer, AuthzCacheTtl};
use super::backend::{AuthBackend, KubeBackend};
use super::cache::{Clock, SystemClock};
use super::certs::PeerCertificates;
use super::middleware::{DelegatedAuth, guard};
use super::routes::{Groups, ReadyCheck, router};
use super::tls::{self, ServingCert, TlsError};
use crate::aggregated::AggregatedApiGroup;
use axum::Extension;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Flags of `porch apiserver` (names as in kube's generic apiserver).
#[derive(Debug, Clone, clap::Args)]
pub struct DelegatedArgs {
    /// Address to serve HTTPS on (use 0.0.0.0 inside a pod).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
    /// Port to serve HTTPS on (0 picks a free port).
    #[arg(long, default_value_t = 4443)]
    pub secure_port: u16,
    /// PEM serving certificate (with intermediates). Without it a self-signed one is generated
    /// into --cert-dir.
    #[arg(long, requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of --tls-cert-file.
    #[arg(long, requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,
    /// Where a generated self-signed certificate is kept (reused on restart).
    #[arg(long, default_value = "apiserver.local.config/certificates")]
    pub cert_dir: PathBuf,
    /// Extra DNS names or IPs for a generated certificate (e.g. api.porch-system.svc).
    #[arg(long = "tls-san", value_delimiter = ',')]
    pub tls_sans: Vec<String>,
    /// How long TokenReview answers are cached.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub authentication_token_webhook_cache_ttl: Duration,
    /// How long "allowed" SubjectAccessReview answers are cached.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub authorization_webhook_cache_authorized_ttl: Duration,
    /// How long "denied" SubjectAccessReview answers are cached.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub authorization_webhook_cache_unauthorized_ttl: Duration,
    /// How often kube-system/extension-apiserver-authentication is re-read (CA rotation).
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub authentication_config_resync: Duration,
}

impl Default for DelegatedArgs {
    fn default() -> Self {
        Self {
            bind_address: IpAddr::from([127, 0, 0, 1]),
            secure_port: 4443,
            tls_cert_file: None,
            tls_private_key_file: None,
            cert_dir: PathBuf::from("apiserver.local.config/certificates"),
            tls_sans: Vec::new(),
            authentication_token_webhook_cache_ttl: Duration::from_secs(10),
            authorization_webhook_cache_authorized_ttl: Duration::from_secs(10),
            authorization_webhook_cache_unauthorized_ttl: Duration::from_secs(10),
            authentication_config_resync: Duration::from_secs(60),
        }
    }
}

/// `10s`, `1m`, `500ms`, `1h` or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?}: missing unit (ms, s, m, h)"))?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?}: not a duration"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum DelegatedError {
    #[error("tls: {0}")]
    Tls(#[from] TlsError),
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("authentication: {0}")]
    Authn(#[from] AuthnError),
}

/// A running aggregated API server.
pub struct RunningDelegated {
    pub addr: SocketAddr,
    /// `https://ADDR`.
    pub url: String,
    /// The CA of a generated certificate (None with --tls-cert-file).
    pub ca_pem: Option<String>,
    pub authenticator: Arc<Authenticator>,
    stop: Option<oneshot::Sender<()>>,
    accept: Option<JoinHandle<()>>,
    resync: JoinHandle<()>,
}

impl RunningDelegated {
    /// Stop accepting and close every connection.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.accept.take() {
            let _ = h.await;
        }
        self.resync.abort();
    }
}

impl Drop for RunningDelegated {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.resync.abort();
    }
}

/// Start serving `groups` with delegated auth through `client`.
pub async fn start(
    args: &DelegatedArgs,
    groups: Vec<Arc<dyn AggregatedApiGroup>>,
    client: kube::Client,
) -> Result<RunningDelegated, DelegatedError> {
    start_with(
        args,
        groups,
        Arc::new(KubeBackend::new(client)),
        Arc::new(SystemClock),
    )
    .await
}

/// [`start`] with any backend and clock.
pub async fn start_with(
    args: &DelegatedArgs,
    groups: Vec<Arc<dyn AggregatedApiGroup>>,
    backend: Arc<dyn AuthBackend>,
    clock: Arc<dyn Clock>,
) -> Result<RunningDelegated, DelegatedError> {
    start_full(args, groups, backend, clock, Vec::new()).await
}

/// [`start_with`] plus readiness checks that `/readyz` reports (200 only when all pass).
pub async fn start_full(
    args: &DelegatedArgs,
    groups: Vec<Arc<dyn AggregatedApiGroup>>,
    backend: Arc<dyn AuthBackend>,
    clock: Arc<dyn Clock>,
    ready: Vec<ReadyCheck>,
) -> Result<RunningDelegated, DelegatedError> {
    let source = match (&args.tls_cert_file, &args.tls_private_key_file) {
        (Some(cert), Some(key)) => ServingCert::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        (None, None) => ServingCert::SelfSigned {
            dir: args.cert_dir.clone(),
            names: args.tls_sans.clone(),
        },
        _ => return Err(TlsError::HalfPair.into()),
    };
    let files = tls::ensure(&source)?;
    let tls_cfg = tls::server_config(&files)?;

    let authn = Arc::new(Authenticator::new(
        backend.clone(),
        clock.clone(),
        args.authentication_token_webhook_cache_ttl,
    ));
    if !authn.refresh().await? {
        tracing::warn!(
            "configmap kube-system/extension-apiserver-authentication not found: front-proxy and client-certificate authentication are off until it appears"
        );
    }
    let authz = Arc::new(Authorizer::new(
        backend,
        clock,
        AuthzCacheTtl {
            allowed: args.authorization_webhook_cache_authorized_ttl,
            denied: args.authorization_webhook_cache_unauthorized_ttl,
        },
    ));
    let resync = tokio::spawn(resync_loop(
        authn.clone(),
        args.authentication_config_resync,
    ));

    let listen = SocketAddr::new(args.bind_address, args.secure_port);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| DelegatedError::Listen {
            addr: listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| DelegatedError::Listen {
            addr: listen,
            source,
        })?;
    let auth = Arc::new(DelegatedAuth {
        authn: authn.clone(),
        authz,
    });
    let app = router(Arc::new(Groups::new(groups, ready)))
        .layer(axum::middleware::from_fn_with_state(auth, guard));
    let (stop_tx, stop_rx) = oneshot::channel();
    let accept = tokio::spawn(accept_loop(
        listener,
        tokio_rustls::TlsAcceptor::from(tls_cfg),
        app,
        stop_rx,
    ));
    Ok(RunningDelegated {
        addr,
        url: format!("https://{addr}"),
        ca_pem: files.ca_pem,
        authenticator: authn,
        stop: Some(stop_tx),
        accept: Some(accept),
        resync,
    })
}

async fn resync_loop(authn: Arc<Authenticator>, every: Duration) {
    if every.is_zero() {
        return;
    }
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = authn.refresh().await {
            tracing::warn!(error = %e, "re-reading the authentication configmap failed; keeping the previous settings");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: axum::Router,
    mut stop: oneshot::Receiver<()>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let app = app.clone();
                conns.spawn(async move {
                    let tls = match acceptor.accept(tcp).await {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            return;
                        }
                    };
                    let peer = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
                        .unwrap_or_default();
                    let svc = app.layer(Extension(PeerCertificates(Arc::new(peer))));
                    let service = hyper_util::service::TowerToHyperService::new(svc);
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    if let Err(e) = builder.serve_connection_with_upgrades(TokioIo::new(tls), service).await {
                        tracing::debug!(error = %e, "connection ended");
                    }
                });
            }
        }
    }
    conns.shutdown().await;
}

/// Serve until `shutdown` resolves; prints one line containing `ready` once serving.
pub async fn run(
    args: DelegatedArgs,
    groups: Vec<Arc<dyn AggregatedApiGroup>>,
    client: kube::Client,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DelegatedError> {
    let server = start(&args, groups, client).await?;
    let line = format!("porch apiserver ready: serving {}", server.url);
    tracing::info!("{line}");
    println!("{line}");
    shutdown.await;
    server.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10d").is_err());
    }
}
