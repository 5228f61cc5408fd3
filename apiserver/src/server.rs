//! Starting a server: store, registry, built-in namespaces, CRDs, TLS, token, kubeconfig,
//! controllers and the HTTPS accept loop. Used by `porch standalone` and by tests in-process.

use crate::aggregated::AggregatedApiGroup;
use crate::api::objects::register_crd;
use crate::api::{self, App, AppState};
use crate::builtin::builtin_resources;
use crate::registry::{Registry, resource_from_crd};
use crate::store::{
    Action, GroupResource, HistoryLimit, Precondition, SqliteBackend, Store, StoreError, WriteOp,
};
use crate::{controllers, kubeconfig, tls};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("tls: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("installing CRD {name}: {why}")]
    Crd { name: String, why: String },
}

/// How to start a server.
pub struct ServerOptions {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Groups served by their own handlers (porch.kpt.dev).
    pub aggregated: Vec<Arc<dyn AggregatedApiGroup>>,
    /// CRDs installed at start besides `porch_crds::all_crds()` (created or updated).
    pub extra_crds: Vec<Value>,
    /// Events kept for watch resumption; older resourceVersions get 410 Gone.
    pub watch_history: usize,
    /// Serialized bytes of the objects that history may hold (old versions it keeps alive).
    pub watch_history_bytes: usize,
    pub bookmark_interval: Duration,
    pub max_body: usize,
}

impl ServerOptions {
    /// Defaults for a data directory and listen address.
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen,
            aggregated: Vec::new(),
            extra_crds: Vec::new(),
            watch_history: 100_000,
            watch_history_bytes: 8 * 1024 * 1024,
            bookmark_interval: Duration::from_secs(10),
            max_body: 3 * 1024 * 1024,
        }
    }
}

/// A server running in this process.
pub struct RunningServer {
    /// The bound address (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// `DIR/kubeconfig`.
    pub kubeconfig: PathBuf,
    pub token: String,
    pub ca_pem: String,
    app: App,
    stop: Option<oneshot::Sender<()>>,
    accept: Option<JoinHandle<()>>,
    controllers: JoinHandle<()>,
}

impl RunningServer {
    /// The shared state (for in-process clients: `kube::Client::new(api::router(...), ns)`).
    pub fn app(&self) -> App {
        self.app.clone()
    }

    /// A kube client speaking to this server over loopback HTTPS with the kubeconfig.
    pub async fn client(&self) -> Result<kube::Client, kube::Error> {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig)
            .map_err(kube::Error::InferKubeconfig)?;
        let cfg =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(kube::Error::InferKubeconfig)?;
        kube::Client::try_from(cfg)
    }

    /// Stop accepting, close every connection and the controllers.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.accept.take() {
            let _ = h.await;
        }
        self.controllers.abort();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.controllers.abort();
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ServerError + '_ {
    move |source| ServerError::DataDir {
        path: path.to_path_buf(),
        source,
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Open the store and registry, seed namespaces and CRDs. No network.
pub async fn build_app(
    opts: &ServerOptions,
    token: Option<String>,
    server_address: String,
) -> Result<App, ServerError> {
    std::fs::create_dir_all(&opts.data_dir).map_err(io_err(&opts.data_dir))?;
    let store = Store::open_with_history(
        SqliteBackend::open(&opts.data_dir.join("state.db"))?,
        HistoryLimit {
            events: opts.watch_history,
            bytes: opts.watch_history_bytes,
        },
    )?;
    let registry = Arc::new(Registry::default());
    for r in builtin_resources() {
        registry.insert(r);
    }
    let app: App = Arc::new(AppState {
        store,
        registry,
        aggregated: opts.aggregated.clone(),
        max_body: opts.max_body,
        bookmark_interval: opts.bookmark_interval,
        controllers: Arc::new(Notify::new()),
        token,
        server_address,
    });
    let crd_gr = GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions");
    let (_, stored, _) = app.store.list(&crd_gr, None, None, 0, &|_| true);
    for crd in stored {
        register_crd(&app, &crd.value());
    }
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let gr = GroupResource::new("", "namespaces");
        if app.store.get(&gr, "", ns).is_none() {
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": now_rfc3339(), "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            });
            let op = WriteOp {
                gr,
                namespace: String::new(),
                name: ns.into(),
                precondition: Precondition::MustNotExist,
                action: Action::Put(obj),
            };
            match app.store.write(op).await {
                Ok(_) | Err(StoreError::AlreadyExists) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut crds: Vec<Value> = porch_crds::all_crds()
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    crds.extend(opts.extra_crds.iter().cloned());
    for crd in crds {
        install_crd(&app, crd).await?;
    }
    Ok(app)
}

/// Create or update a CRD at start (the project's own CRDs).
async fn install_crd(app: &App, mut crd: Value) -> Result<(), ServerError> {
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    resource_from_crd(&crd).map_err(|errs| ServerError::Crd {
        name: name.clone(),
        why: errs
            .iter()
            .map(|e| e.render())
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let gr = GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions");
    let existing = app.store.get(&gr, "", &name);
    if let Some(e) = &existing
        && e.value().get("spec") == crd.get("spec")
    {
        return Ok(());
    }
    let stored_versions: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    let now = now_rfc3339();
    if let Some(m) = crd.as_object_mut() {
        m.insert("apiVersion".into(), json!("apiextensions.k8s.io/v1"));
        m.insert("kind".into(), json!("CustomResourceDefinition"));
        m.insert(
            "status".into(),
            json!({
                "acceptedNames": crd_names(m.get("spec")),
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
                ],
                "storedVersions": stored_versions,
            }),
        );
    }
    let (uid, created, generation, pre) = match &existing {
        Some(e) => (
            e.head()
                .pointer("/metadata/uid")
                .cloned()
                .unwrap_or(Value::Null),
            e.head()
                .pointer("/metadata/creationTimestamp")
                .cloned()
                .unwrap_or(Value::Null),
            e.head()
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1)
                + 1,
            Precondition::ResourceVersion(e.rv),
        ),
        None => (
            json!(uuid::Uuid::new_v4().to_string()),
            json!(now),
            1,
            Precondition::MustNotExist,
        ),
    };
    if let Some(meta) = crd.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("uid".into(), uid);
        meta.insert("creationTimestamp".into(), created);
        meta.insert("generation".into(), json!(generation));
        meta.remove("resourceVersion");
    }
    let op = WriteOp {
        gr,
        namespace: String::new(),
        name: name.clone(),
        precondition: pre,
        action: Action::Put(crd),
    };
    let out = app.store.write(op).await?;
    register_crd(app, &out.object().value());
    Ok(())
}

fn crd_names(spec: Option<&Value>) -> Value {
    spec.and_then(|s| s.get("names"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn ensure_token(dir: &Path) -> Result<String, ServerError> {
    let path = dir.join("token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_string();
        if !t.is_empty() {
            return Ok(t);
        }
    }
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_atomic(&path, &token)?;
    Ok(token)
}

fn write_atomic(path: &Path, contents: &str) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(io_err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err(path))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Start serving HTTPS; resolves once the listener is bound and the kubeconfig written.
pub async fn start(opts: ServerOptions) -> Result<RunningServer, ServerError> {
    std::fs::create_dir_all(&opts.data_dir).map_err(io_err(&opts.data_dir))?;
    let files = tls::TlsFiles::in_dir(&opts.data_dir);
    let ca_pem = tls::ensure(&files)?;
    let tls_cfg = tls::server_config(&files)?;
    let token = ensure_token(&opts.data_dir)?;
    let listener = TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServerError::Listen {
            addr: opts.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServerError::Listen {
            addr: opts.listen,
            source,
        })?;
    let app = build_app(&opts, Some(token.clone()), addr.to_string()).await?;
    let url = format!("https://{addr}");
    let kubeconfig = opts.data_dir.join("kubeconfig");
    write_atomic(&kubeconfig, &kubeconfig::render(&url, &ca_pem, &token))?;
    let controllers = tokio::spawn(controllers::run(app.clone()));
    let (stop_tx, stop_rx) = oneshot::channel();
    let router = api::router(app.clone());
    let accept = tokio::spawn(accept_loop(
        listener,
        tokio_rustls::TlsAcceptor::from(tls_cfg),
        router,
        stop_rx,
    ));
    Ok(RunningServer {
        addr,
        url,
        kubeconfig,
        token,
        ca_pem,
        app,
        stop: Some(stop_tx),
        accept: Some(accept),
        controllers,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
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
                let svc = router.clone();
                conns.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
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
