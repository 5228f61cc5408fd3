//! A loopback git smart-HTTP server for tests and scripts: the real
//! `git http-backend` run as CGI behind a small hyper server on 127.0.0.1.
//!
//! - basic auth (or bearer tokens) for writes; anonymous read switchable per repository;
//! - repositories created empty, with an initial `README.md` commit, or seeded from a bundle;
//! - URLs work with and without `.git`; names may contain `/` (`nephio/porch-test`);
//! - fault injection (abort mid-fetch or mid-push) for error-path tests;
//! - optional HTTPS ([`ServerOptions::tls`]) for custom-CA tests;
//! - [`GitServer::stop`] (or drop) stops the listener, open connections and CGI children.

mod cgi;
pub mod cli;
mod repos;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use repos::RepoOptions;

/// Server-wide options.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// `(username, password)` pairs accepted by basic auth.
    pub users: Vec<(String, String)>,
    /// Bearer tokens accepted as `Authorization: Bearer <token>`.
    pub tokens: Vec<String>,
    /// Anonymous read for repositories found on disk but not created through this API.
    pub anonymous_read_default: bool,
    /// The git binary (default `git` from PATH).
    pub git: PathBuf,
    /// Serve HTTPS with this certificate instead of plain HTTP.
    pub tls: Option<ServerTls>,
}

/// A PEM certificate chain (leaf first) and its PEM private key.
#[derive(Clone)]
pub struct ServerTls {
    pub cert_chain_pem: String,
    pub key_pem: String,
}

impl ServerTls {
    /// A fresh private CA and a certificate it signed for 127.0.0.1 and localhost:
    /// (the CA's PEM, what the server presents). For tests of private-CA trust
    /// (upstream's `<namespace>-ca-bundle` Secret).
    pub fn with_private_ca(ca_name: &str) -> Result<(String, ServerTls), rcgen::Error> {
        use rcgen::{
            BasicConstraints, CertificateParams, DistinguishedName, DnType,
            ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, ca_name);
        ca.distinguished_name = dn;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, &ca_key);
        let key = KeyPair::generate()?;
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "127.0.0.1");
        leaf.distinguished_name = dn;
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = leaf.signed_by(&key, &issuer)?;
        Ok((
            ca_cert.pem(),
            ServerTls {
                cert_chain_pem: format!("{}{}", cert.pem(), ca_cert.pem()),
                key_pem: key.serialize_pem(),
            },
        ))
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert_chain_pem", &self.cert_chain_pem.len())
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl ServerTls {
    fn acceptor(&self) -> std::io::Result<tokio_rustls::TlsAcceptor> {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let invalid =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_string());
        let certs = CertificateDer::pem_slice_iter(self.cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| invalid("invalid PEM certificate chain"))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|_| invalid("invalid PEM private key"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(&format!("TLS setup: {e}")))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid(&format!("TLS certificate: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            port: 0,
            users: Vec::new(),
            tokens: Vec::new(),
            anonymous_read_default: false,
            git: PathBuf::from("git"),
            tls: None,
        }
    }
}

impl ServerOptions {
    /// Options with one basic-auth user.
    pub fn with_user(user: &str, password: &str) -> Self {
        ServerOptions {
            users: vec![(user.to_string(), password.to_string())],
            ..Default::default()
        }
    }
}

/// A fault to inject into one repository's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Cut upload-pack (fetch) responses longer than this many bytes (packs) after
    /// that many bytes and drop the connection.
    AbortFetchAfter(usize),
    /// Drop every receive-pack (push) request without running it.
    AbortPush,
    /// Answer every request with HTTP 500.
    ServerError,
    /// Run receive-pack (the push lands) but drop the connection instead of
    /// answering: the pusher cannot know whether it worked.
    DropPushResponse,
    /// Refuse (HTTP 403) fetch ref advertisements requested without
    /// `Git-Protocol` (protocol v0), like a server that only serves v2 fetches.
    RefuseProtocolV0,
}

#[derive(Debug, Clone)]
pub(crate) struct RepoState {
    pub options: RepoOptions,
    pub bundle: Option<PathBuf>,
    pub fault: Option<Fault>,
}

pub(crate) struct State {
    pub root: PathBuf,
    pub options: ServerOptions,
    pub repos: Mutex<HashMap<String, RepoState>>,
}

impl State {
    pub(crate) fn repo_state(&self, name: &str) -> Option<RepoState> {
        self.repos.lock().ok().and_then(|m| m.get(name).cloned())
    }
}

/// A running loopback git server. Stops on [`stop`](Self::stop) or drop.
pub struct GitServer {
    addr: SocketAddr,
    scheme: &'static str,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for GitServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitServer")
            .field("addr", &self.addr)
            .field("root", &self.state.root)
            .finish()
    }
}

impl GitServer {
    /// Serves the bare repositories under `root` (`<root>/<name>.git`) on 127.0.0.1.
    pub async fn start(
        root: impl Into<PathBuf>,
        options: ServerOptions,
    ) -> std::io::Result<GitServer> {
        let root: PathBuf = root.into();
        std::fs::create_dir_all(&root)?;
        let acceptor = options.tls.as_ref().map(ServerTls::acceptor).transpose()?;
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            root,
            options,
            repos: Mutex::new(HashMap::new()),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, acceptor, state.clone(), rx));
        tracing::debug!(%addr, "git test server listening");
        Ok(GitServer {
            addr,
            scheme,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>` (`https://` in TLS mode).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// `http://127.0.0.1:<port>/<name>.git`.
    pub fn repo_url(&self, name: &str) -> String {
        format!("{}/{name}.git", self.url())
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The served directory.
    pub fn root(&self) -> &Path {
        &self.state.root
    }

    /// The bare repository directory of `name`.
    pub fn repo_dir(&self, name: &str) -> PathBuf {
        repos::repo_dir(&self.state.root, name)
    }

    /// Creates a bare repository (replacing any existing one) and returns its URL.
    pub async fn create_repo(&self, name: &str, options: RepoOptions) -> std::io::Result<String> {
        repos::validate_name(name)?;
        repos::create(
            &self.state.options.git,
            &self.repo_dir(name),
            &options,
            None,
        )
        .await?;
        self.remember(name, options, None);
        Ok(self.repo_url(name))
    }

    /// Creates a repository holding every branch and tag of a git bundle (same commit ids).
    pub async fn seed_from_bundle(
        &self,
        name: &str,
        bundle: impl AsRef<Path>,
        options: RepoOptions,
    ) -> std::io::Result<String> {
        repos::validate_name(name)?;
        let bundle = std::fs::canonicalize(bundle.as_ref())?;
        repos::create(
            &self.state.options.git,
            &self.repo_dir(name),
            &options,
            Some(&bundle),
        )
        .await?;
        self.remember(name, options, Some(bundle));
        Ok(self.repo_url(name))
    }

    /// Recreates a repository in its initial state (as created or seeded).
    pub async fn reset_repo(&self, name: &str) -> std::io::Result<()> {
        let st = self.state.repo_state(name).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("unknown repository {name}"),
            )
        })?;
        repos::create(
            &self.state.options.git,
            &self.repo_dir(name),
            &st.options,
            st.bundle.as_deref(),
        )
        .await
    }

    /// Deletes a repository.
    pub fn delete_repo(&self, name: &str) -> std::io::Result<()> {
        repos::validate_name(name)?;
        if let Ok(mut m) = self.state.repos.lock() {
            m.remove(name);
        }
        let dir = self.repo_dir(name);
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        Ok(())
    }

    /// Switches anonymous read for one repository.
    pub fn set_anonymous_read(&self, name: &str, anonymous_read: bool) {
        if let Ok(mut m) = self.state.repos.lock()
            && let Some(st) = m.get_mut(name)
        {
            st.options.anonymous_read = anonymous_read;
        }
    }

    /// Injects (or clears) a fault for one repository.
    pub fn set_fault(&self, name: &str, fault: Option<Fault>) {
        if let Ok(mut m) = self.state.repos.lock()
            && let Some(st) = m.get_mut(name)
        {
            st.fault = fault;
        }
    }

    /// Stops the server, its connections and running CGI processes.
    pub async fn stop(mut self) {
        self.shutdown_now();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    fn remember(&self, name: &str, options: RepoOptions, bundle: Option<PathBuf>) {
        if let Ok(mut m) = self.state.repos.lock() {
            m.insert(
                name.to_string(),
                RepoState {
                    options,
                    bundle,
                    fault: None,
                },
            );
        }
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.shutdown_now();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    // Connections live in the set: dropping it (on shutdown) aborts them, and
    // aborting a connection drops its CGI child (kill_on_drop).
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = state.clone();
                let acceptor = acceptor.clone();
                conns.spawn(async move {
                    match acceptor {
                        None => serve(stream, state).await,
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Ok(tls) => serve(tls, state).await,
                            // A client that does not trust us hangs up here.
                            Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
                        },
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn serve<IO>(stream: IO, state: Arc<State>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let svc = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { cgi::handle(state, req).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .await;
}
