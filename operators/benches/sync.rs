//! A no-change periodic sync of 100 repositories (50 package revisions each), reconciled
//! through the real Repository reconciler against an in-process API that answers instantly:
//! the controller's own cost per sync (list, diff, status decision), with no write at all.
//! The same on real parts (git server, git source, standalone API server):
//! `benches/periodic_sync.rs`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::BoxFuture;
use http::{Method, Request, Response};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ObjectMeta;
use kube::client::Body;
use porch_crds::config::v1alpha1::{
    GitRepository, PackageRev, Repository, RepositorySpec, RepositoryStatus,
};
use porch_crds::labels::REPOSITORY_FINALIZER;
use porch_crds::porch::v1alpha1::PackageRevisionLifecycle;
use porch_operators::context::Context;
use porch_operators::decision::SyncSettings;
use porch_operators::desired::{RepoContext, plan};
use porch_operators::metrics::Metrics;
use porch_operators::repository::reconcile;
use porch_operators::source::{
    Access, DiscoveredRevision, FetchedRepository, RepositorySource, SourceError,
};

const REPOS: usize = 100;
const PACKAGES: usize = 10;

fn revisions() -> Vec<DiscoveredRevision> {
    let mut out = Vec::new();
    for p in 0..PACKAGES {
        for (ws, revision) in [("main", -1), ("v1", 1), ("v2", 2), ("v3", 3), ("v4", 4)] {
            out.push(DiscoveredRevision {
                package_path: format!("pkg-{p}"),
                workspace_name: ws.into(),
                revision,
                lifecycle: PackageRevisionLifecycle::Published,
                commit: format!("{:040x}", p * 10 + out.len()),
                ..DiscoveredRevision::default()
            });
        }
    }
    out
}

struct Source(FetchedRepository);

impl RepositorySource for Source {
    fn fetch<'a>(
        &'a self,
        _: &'a Repository,
        _: &'a Access,
    ) -> BoxFuture<'a, Result<FetchedRepository, SourceError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
    fn check<'a>(
        &'a self,
        _: &'a Repository,
        _: &'a Access,
    ) -> BoxFuture<'a, Result<Option<String>, SourceError>> {
        Box::pin(async { Ok(None) })
    }
    fn release<'a>(&'a self, _: &'a Repository) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn repository(i: usize) -> Repository {
    Repository {
        metadata: ObjectMeta {
            name: Some(format!("repo-{i}")),
            namespace: Some("bench".into()),
            uid: Some(format!("uid-{i}")),
            generation: Some(1),
            finalizers: Some(vec![REPOSITORY_FINALIZER.into()]),
            ..ObjectMeta::default()
        },
        spec: RepositorySpec {
            git: Some(GitRepository {
                repo: format!("http://127.0.0.1:9/repo-{i}.git"),
                ..GitRepository::default()
            }),
            ..RepositorySpec::default()
        },
        status: Some(RepositoryStatus {
            conditions: vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: "Ready".into(),
                message: "Repository Ready".into(),
                last_transition_time: Time(ts("2026-03-01T09:00:00Z")),
                observed_generation: None,
            }],
            last_full_sync_time: Some(Time(ts("2026-03-01T10:00:00Z"))),
            next_full_sync_time: Some(Time(ts("2026-03-01T11:00:00Z"))),
            observed_generation: 1,
            package_count: (PACKAGES * 5) as i64,
            git_commit_hash: "abc".into(),
            ..RepositoryStatus::default()
        }),
    }
}

fn bench(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let revisions = revisions();
    // The list every repository's LIST returns (names differ per repo: pre-render them).
    let lists: Arc<Vec<Bytes>> = Arc::new(
        (0..REPOS)
            .map(|i| {
                let name = format!("repo-{i}");
                let repo = RepoContext {
                    namespace: "bench",
                    name: &name,
                    deployment: false,
                };
                let items: Vec<PackageRev> = plan(repo, &revisions, &[]).creates;
                let list = serde_json::json!({"apiVersion": "config.porch.kpt.dev/v1alpha1",
                    "kind": "PackageRevList", "metadata": {}, "items": items});
                Bytes::from(serde_json::to_vec(&list).unwrap_or_default())
            })
            .collect(),
    );
    let repos: Vec<Arc<Repository>> = (0..REPOS).map(|i| Arc::new(repository(i))).collect();
    let repo_json: Arc<Vec<Bytes>> = Arc::new(
        repos
            .iter()
            .map(|r| Bytes::from(serde_json::to_vec(r.as_ref()).unwrap_or_default()))
            .collect(),
    );
    let package_rev_writes = Arc::new(AtomicUsize::new(0));
    let status_writes = Arc::new(AtomicUsize::new(0));
    let (lw, sw) = (package_rev_writes.clone(), status_writes.clone());
    let service = tower::service_fn(move |req: Request<Body>| {
        let (lists, repo_json, lw, sw) = (lists.clone(), repo_json.clone(), lw.clone(), sw.clone());
        async move {
            let path = req.uri().path().to_string();
            let query = req.uri().query().unwrap_or_default().to_string();
            let index = |prefix: &str| -> usize {
                query
                    .split("repo-")
                    .nth(1)
                    .or_else(|| path.split(prefix).nth(1))
                    .and_then(|s| s.split(['/', '&']).next())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            };
            let body = if req.method() == Method::GET && path.ends_with("/packagerevs") {
                lists[index("repo-")].clone()
            } else if path.contains("/repositories/") {
                sw.fetch_add(1, Ordering::Relaxed);
                repo_json[index("repositories/repo-")].clone()
            } else {
                lw.fetch_add(1, Ordering::Relaxed);
                Bytes::from_static(b"{}")
            };
            Ok::<_, Infallible>(Response::new(Body::from(body)))
        }
    });
    let client = rt.block_on(async { kube::Client::new(service, "default") });
    // Every iteration moves the clock past the full-sync period, so every reconcile syncs.
    let hours = Arc::new(AtomicI64::new(0));
    let source: Arc<dyn RepositorySource> = Arc::new(Source(FetchedRepository {
        head_commit: "abc".into(),
        revisions,
        version: None,
    }));
    let ctx = Arc::new(Context::new(
        client,
        source,
        SyncSettings::default(),
        10,
        Arc::new(Metrics::default()),
        {
            let hours = hours.clone();
            Arc::new(move || {
                ts("2026-03-01T12:00:00Z")
                    + jiff::SignedDuration::from_hours(hours.load(Ordering::SeqCst))
            })
        },
    ));
    for i in 0..REPOS {
        ctx.remember(&format!("uid-{i}"), |m| {
            m.last_attempt = Some(ts("2026-03-01T10:00:00Z"));
        });
    }
    let warmup = rt.block_on(async {
        let runs = repos.iter().map(|r| reconcile(r.clone(), ctx.clone()));
        futures::future::join_all(runs).await
    });
    let failed: Vec<String> = warmup
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(failed.is_empty(), "reconciles failed: {failed:?}");
    let warmup_status_writes = status_writes.load(Ordering::Relaxed);
    let mut group = c.benchmark_group("no_change_sync");
    group.sample_size(10);
    group.bench_function("100_repos_x_50_revisions", |b| {
        b.iter(|| {
            hours.fetch_add(2, Ordering::SeqCst);
            rt.block_on(async {
                let runs = repos.iter().map(|r| reconcile(r.clone(), ctx.clone()));
                futures::future::join_all(runs).await
            })
        })
    });
    group.finish();
    assert_eq!(
        package_rev_writes.load(Ordering::Relaxed),
        0,
        "a no-change sync wrote"
    );
    assert_eq!(
        status_writes.load(Ordering::Relaxed),
        warmup_status_writes,
        "a no-change sync wrote the Repository status"
    );
    println!("no-change syncs wrote nothing (warm-up status writes: {warmup_status_writes})");
}

criterion_group!(benches, bench);
criterion_main!(benches);
