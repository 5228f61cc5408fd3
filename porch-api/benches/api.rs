//! porch.kpt.dev read-path benchmarks (a bench binary: `cargo bench -p porch-api --bench api`).
//!
//! 10,000 PackageRev objects (1,000 packages x 10 revisions) are seeded straight into the CR
//! cache, then the router (no TLS, no network) answers: a list as JSON and as a Table (the
//! `kubectl get` request), a get, and a watch fan-out to 100 watchers. RSS is read from
//! `/proc/self/status` before and after seeding.
//!
//! Targets (issue 7): list p50 < 100 ms, get < 2 ms, RSS with 10,000 revisions < 150 MiB.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use futures::StreamExt;
use http::Request;
use http_body_util::BodyExt;
use porch_api::{ApiOptions, CrCache, PorchApiGroup};
use porch_crds::config::v1alpha1::PackageRev;
use porch_engine::testing::{FakeOps, InMemoryBackend, InMemoryMetadata};
use porch_engine::{Engine, EngineOptions};
use serde_json::json;
use tower::ServiceExt;

const PACKAGES: usize = 1_000;
const REVISIONS: usize = 10;
const WATCHERS: usize = 100;
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
const LIST: &str = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions";

fn package_rev(pkg: usize, rev: usize) -> PackageRev {
    let draft = rev == REVISIONS;
    let ws = if draft {
        "ws".to_owned()
    } else {
        format!("v{rev}")
    };
    let name = format!("blueprints.pkg-{pkg:04}.{ws}");
    let commit = format!("{:040x}", pkg * 100 + rev);
    serde_json::from_value(json!({
        "apiVersion": "config.porch.kpt.dev/v1alpha1",
        "kind": "PackageRev",
        "metadata": {
            "name": name, "namespace": "ns",
            "uid": format!("00000000-0000-0000-0000-{:012}", pkg * 100 + rev),
            "creationTimestamp": "2026-11-20T10:00:00Z",
            "labels": {"internal.porch.kpt.dev/repository": "blueprints", "team": format!("t{}", pkg % 7)},
            "annotations": {"porch.kpt.dev/note": "seeded for the benchmark"},
        },
        "spec": {
            "repository": "blueprints", "packageName": format!("pkg-{pkg:04}"),
            "workspaceName": ws, "revision": if draft { 0 } else { rev },
            "lifecycle": if draft { "Draft" } else { "Published" },
            "tasks": [{"type": "init", "init": {"description": "a package"}}],
            "packageMetadata": {"labels": {"tier": "gold"}},
        },
        "status": {
            "commit": commit,
            "selfLock": {"type": "git", "git": {"repo": "https://example.com/blueprints.git",
                "directory": format!("pkg-{pkg:04}"), "ref": format!("pkg-{pkg:04}/{ws}"), "commit": commit}},
            "publishedBy": "alice@example.com",
            "publishTimestamp": "2026-11-20T10:00:00Z",
            "conditions": [{"type": "Rendered", "status": "True", "reason": "RenderSuccess", "message": ""}],
        }
    }))
    .unwrap()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn call(app: &Router, uri: &str, accept: Option<&str>) -> usize {
    let mut req = Request::builder().uri(uri);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.into_body().collect().await.unwrap().to_bytes().len()
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn report(what: &str, mut samples: Vec<Duration>, extra: &str) {
    let p50 = percentile(&mut samples, 0.5);
    let p95 = percentile(&mut samples, 0.95);
    println!(
        "{what:<42} p50 {:>9.3} ms   p95 {:>9.3} ms   ({} runs{extra})",
        p50.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        samples.len()
    );
}

async fn time_requests(
    app: &Router,
    uri: &str,
    accept: Option<&str>,
    runs: usize,
) -> (Vec<Duration>, usize) {
    let mut samples = Vec::with_capacity(runs);
    let mut bytes = 0;
    call(app, uri, accept).await;
    for _ in 0..runs {
        let t = Instant::now();
        bytes = call(app, uri, accept).await;
        samples.push(t.elapsed());
    }
    (samples, bytes)
}

/// Starts `WATCHERS` watches (from the current resourceVersion, no replay); returns a receiver
/// that gets one message per watcher that saw an event line naming `needle`.
async fn start_watchers(
    app: &Router,
    rv: u64,
    needle: &'static str,
) -> (
    tokio::sync::mpsc::Receiver<()>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(WATCHERS);
    let mut tasks = Vec::new();
    for _ in 0..WATCHERS {
        let uri = format!("{LIST}?watch=true&resourceVersion={rv}");
        let resp = app
            .clone()
            .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut body = resp.into_body().into_data_stream();
            let mut buf = Vec::new();
            while let Some(Ok(chunk)) = body.next().await {
                buf.extend_from_slice(&chunk);
                while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=nl).collect();
                    if line.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                        let _ = tx.send(()).await;
                    }
                }
            }
        }));
    }
    (rx, tasks)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let revs: Vec<PackageRev> = (0..PACKAGES)
        .flat_map(|p| (1..=REVISIONS).map(move |r| package_rev(p, r)))
        .collect();
    let rss_before = rss_kib();
    let cache = CrCache::new();
    let t = Instant::now();
    cache.reset_package_revs(revs);
    let seed = t.elapsed();
    let rss_after = rss_kib();
    let count = cache.read().list("ns").len();
    assert_eq!(count, PACKAGES * REVISIONS);
    println!(
        "seed {count} revisions into the CR cache (one re-list)   {:>9.1} ms",
        seed.as_secs_f64() * 1e3
    );
    println!(
        "RSS  {:.1} MiB after seeding ({:.1} MiB before; the PackageRev input was built before)",
        rss_after as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );

    let engine = Arc::new(Engine::new(
        InMemoryBackend::new(),
        InMemoryMetadata::new(),
        FakeOps::new(),
        EngineOptions::default(),
    ));
    let group = PorchApiGroup::new(engine, cache.clone(), ApiOptions::default());
    let app = Router::new().nest(
        "/apis/porch.kpt.dev",
        porch_apiserver::aggregated::AggregatedApiGroup::router(&group),
    );

    let (s, bytes) = time_requests(&app, LIST, None, 30).await;
    report("list 10,000 as JSON", s, &format!(", {} KiB", bytes / 1024));
    let (s, bytes) = time_requests(&app, LIST, Some(TABLE), 30).await;
    report(
        "list 10,000 as Table (kubectl get)",
        s,
        &format!(", {} KiB", bytes / 1024),
    );
    let (s, bytes) =
        time_requests(&app, &format!("{LIST}?labelSelector=team%3Dt3"), None, 30).await;
    report(
        "list with a label selector (1/7 match)",
        s,
        &format!(", {} KiB", bytes / 1024),
    );
    let (s, _) = time_requests(
        &app,
        &format!("{LIST}?fieldSelector=spec.packageName%3Dpkg-0500"),
        None,
        30,
    )
    .await;
    report("list with a field selector (10 match)", s, "");
    let (s, _) = time_requests(&app, &format!("{LIST}/blueprints.pkg-0500.v3"), None, 1000).await;
    report("get one revision as JSON", s, "");
    let (s, _) = time_requests(
        &app,
        &format!("{LIST}/blueprints.pkg-0500.v3"),
        Some(TABLE),
        1000,
    )
    .await;
    report("get one revision as Table", s, "");

    // Watch fan-out: time from a cache write until every watcher has the event.
    let mut samples = Vec::new();
    for round in 0..10 {
        let rv = cache.read().resource_version();
        let (mut rx, tasks) = start_watchers(&app, rv, "blueprints.pkg-0999.ws").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut rev = package_rev(999, REVISIONS);
        rev.metadata
            .labels
            .get_or_insert_default()
            .insert("round".into(), round.to_string());
        let t = Instant::now();
        cache.apply_package_rev(rev);
        for _ in 0..WATCHERS {
            tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("a watcher never saw the event");
        }
        samples.push(t.elapsed());
        tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
    report("watch fan-out: write -> 100 watchers", samples, "");
    println!("RSS  {:.1} MiB at the end", rss_kib() as f64 / 1024.0);
}
