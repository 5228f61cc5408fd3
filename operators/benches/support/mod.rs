//! Shared set-up of the benchmarks that run on real parts: generated git repositories served by
//! the loopback git server, the standalone API server (HTTPS on 127.0.0.1, SQLite store) and
//! the real Repository reconciler with the git source. Each bench uses part of it.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use porch_apiserver::{RunningServer, ServerOptions, start};
use porch_crds::config::v1alpha1::{GitRepository, Repository, RepositorySpec};
use porch_crds::labels::REPOSITORY_FINALIZER;
use porch_git::testserver::{GitServer, ServerOptions as GitOptions};
use porch_operators::context::Context;
use porch_operators::decision::SyncSettings;
use porch_operators::git_source::GitRepositorySource;
use porch_operators::metrics::Metrics;

/// The allocator of the `porch` binary, so that these benches measure what it runs.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Write a bare repository at `dir` holding `packages` packages with `revisions` published
/// revisions each: one approval-style commit per revision on `main` and a `<pkg>/vN` tag.
pub fn build_repo(dir: &Path, packages: usize, revisions: usize) {
    let ok = Command::new("git")
        .args(["init", "--bare", "-q", "-b", "main"])
        .arg(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git init failed");
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut script = String::new();
    let mut mark = 0usize;
    let mut time = 1_750_000_000u64;
    for revision in 1..=revisions {
        for p in 0..packages {
            mark += 1;
            time += 1;
            let pkg = format!("pkg-{p:04}");
            let message = format!(
                "Approve {pkg} revision {revision}\n\nkpt:{{\"package\":\"{pkg}\",\"workspaceName\":\"ws{revision}\",\"revision\":\"{revision}\"}}\n"
            );
            script.push_str(&format!(
                "commit refs/heads/main\nmark :{mark}\nauthor Porch <porch@kpt.dev> {time} +0000\ncommitter Porch <porch@kpt.dev> {time} +0000\ndata {}\n{message}\n",
                message.len()
            ));
            let files = [
                (
                    "Kptfile",
                    format!(
                        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {pkg}\ninfo:\n  description: revision {revision}\n"
                    ),
                ),
                (
                    "configmap.yaml",
                    format!(
                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {pkg}\ndata:\n  revision: \"{revision}\"\n"
                    ),
                ),
            ];
            for (name, content) in files {
                script.push_str(&format!(
                    "M 644 inline {pkg}/{name}\ndata {}\n{content}\n",
                    content.len()
                ));
            }
            script.push_str(&format!(
                "reset refs/tags/{pkg}/v{revision}\nfrom :{mark}\n\n"
            ));
        }
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    let ok = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(["gc", "-q"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "git gc failed");
}

/// The git server (anonymous read of every repository under `root`) and the API server.
pub struct Parts {
    pub git: GitProcess,
    pub api: RunningServer,
    pub client: kube::Client,
}

pub async fn start_parts(git_root: &Path, api_dir: &Path) -> Parts {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let git = GitProcess::start(git_root);
    let (api, client) = start_api(api_dir).await;
    Parts { git, api, client }
}

/// Set (to the served root) in the child process that runs the git server.
const GIT_SERVER_ENV: &str = "PORCH_BENCH_GIT_SERVER_ROOT";

/// The loopback git server in a child process (this bench binary, re-executed). In
/// production the git server is another process; a server inside the bench process would
/// fork the whole bench (the API server's store, the git caches) for every `git
/// http-backend` it runs, and the bench would time those page-table copies.
pub struct GitProcess {
    child: std::process::Child,
    url: String,
}

impl GitProcess {
    pub fn start(root: &Path) -> GitProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(GIT_SERVER_ENV, root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert!(
            line.starts_with("http://"),
            "git server child said {line:?}"
        );
        GitProcess {
            child,
            url: line.trim().to_string(),
        }
    }

    /// `http://127.0.0.1:<port>/<name>.git`.
    pub fn repo_url(&self, name: &str) -> String {
        format!("{}/{name}.git", self.url)
    }

    /// Closing its stdin stops the child; it is ours, so it is also waited for.
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = tokio::task::spawn_blocking(move || self.child.wait()).await;
    }
}

/// Call first in `main`: in the git server child, serve until stdin closes, then exit.
pub fn serve_git_if_child() {
    let Some(root) = std::env::var_os(GIT_SERVER_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let git = GitServer::start(
            Path::new(&root),
            GitOptions {
                anonymous_read_default: true,
                ..GitOptions::default()
            },
        )
        .await
        .unwrap();
        println!("{}", git.url());
        let _ = tokio::task::spawn_blocking(|| {
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new())
        })
        .await;
        git.stop().await;
    });
    std::process::exit(0);
}

/// A fresh API server (its own store) and a client of it.
pub async fn start_api(api_dir: &Path) -> (RunningServer, kube::Client) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = start(ServerOptions::new(api_dir, "127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let client = api.client().await.unwrap();
    (api, client)
}

/// Wait until the API server stops writing by itself (its store version stays put for
/// `quiet`), at most `limit`; returns how many writes it made meanwhile.
pub async fn settle(client: &kube::Client, quiet: Duration, limit: Duration) -> u64 {
    let start = tokio::time::Instant::now();
    let first = store_version(client).await;
    let mut last = first.clone();
    let mut since = tokio::time::Instant::now();
    while since.elapsed() < quiet && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = store_version(client).await;
        if now != last {
            last = now;
            since = tokio::time::Instant::now();
        }
    }
    last.parse::<u64>()
        .unwrap_or(0)
        .saturating_sub(first.parse::<u64>().unwrap_or(0))
}

/// PackageRevs of `namespace` that are being deleted.
pub async fn terminating_package_revs(client: &kube::Client, namespace: &str) -> usize {
    let api: Api<porch_crds::config::v1alpha1::PackageRev> =
        Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .count()
}

pub async fn create_namespace(client: &kube::Client, name: &str) {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.create(&PostParams::default(), &ns).await;
}

/// Create a Repository (with the controller's finalizer already on, so the first reconcile
/// syncs) and return it as stored.
pub async fn create_repository(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    url: &str,
) -> Repository {
    let repo = Repository {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            finalizers: Some(vec![REPOSITORY_FINALIZER.into()]),
            ..ObjectMeta::default()
        },
        spec: RepositorySpec {
            type_: Some(porch_crds::config::v1alpha1::RepositoryType::Git),
            git: Some(GitRepository {
                repo: url.into(),
                ..GitRepository::default()
            }),
            ..RepositorySpec::default()
        },
        status: None,
    };
    let api: Api<Repository> = Api::namespaced(client.clone(), namespace);
    api.create(&PostParams::default(), &repo).await.unwrap()
}

/// A clock running `offset` seconds ahead of the real one (to make periodic syncs due).
#[derive(Clone, Default)]
pub struct ShiftedClock(Arc<AtomicI64>);

impl ShiftedClock {
    pub fn advance(&self, by: Duration) {
        self.0
            .fetch_add(i64::try_from(by.as_secs()).unwrap(), Ordering::SeqCst);
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::now() + SignedDuration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// A controller context with the git source caching under `cache_dir`.
pub fn context(client: &kube::Client, cache_dir: &Path, clock: &ShiftedClock) -> Arc<Context> {
    let clock = clock.clone();
    let mut ctx = Context::new(
        client.clone(),
        Arc::new(GitRepositorySource::new(cache_dir)),
        SyncSettings::default(),
        10,
        Arc::new(Metrics::default()),
        Arc::new(move || clock.now()),
    );
    // `BENCH_WRITE_CONCURRENCY` tries another bound than the production default.
    if let Some(n) = std::env::var("BENCH_WRITE_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        ctx.write_concurrency = n;
    }
    Arc::new(ctx)
}

/// The store's resourceVersion as a list reports it: it moves with every write anywhere.
pub async fn store_version(client: &kube::Client) -> String {
    let api: Api<Repository> = Api::all(client.clone());
    api.list_metadata(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap_or_default()
}

pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
