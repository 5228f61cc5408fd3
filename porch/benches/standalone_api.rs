//! porch.kpt.dev over real HTTPS against the `porch standalone` binary (a bench binary:
//! `cargo bench -p porch --bench standalone_api`, which builds the binary in release).
//!
//! Seeding goes through the real paths: a git repository written with plain `git fast-import`
//! (1,000 packages, each tagged `<package>/v1`..`v9` on nine commits of `main`), served by the
//! loopback git server (smart HTTP) in this process, registered as a Repository through the
//! binary's API and synced by its operators, which add the `main` placeholder of every
//! package: 1,000 x 10 = 10,000 PackageRevisions. Then, with a kube client over TLS with the
//! kubeconfig the binary wrote, sending kubectl's requests:
//! - list all PackageRevisions as JSON, and as a Table (kubectl's Accept header and
//!   `limit=500`), p50/p95;
//! - get one, p50/p95;
//! - watch fan-out: 100 porch.kpt.dev watch streams open, one label patch of a PackageRev,
//!   the time until all 100 have seen it;
//! - the child's RSS (`/proc/<pid>/status`) with the 10,000 revisions cached.
//!
//! Targets (issue 7): list p50 < 100 ms, get < 2 ms, RSS < 150 MiB.
//!
//! Knobs (environment): `BENCH_PACKAGES` (default 1000), `BENCH_RUNS` (list runs, default 30),
//! `BENCH_HOLD_SECS` (keep the child running at the end, to inspect it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::discovery::ApiResource;
use porch_e2e::standalone::{Standalone, status_kib};
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions};
use serde_json::{Value, json};

/// Tags per package; with the `main` placeholder, ten revisions per package.
const TAGS: usize = 9;
const WATCHERS: usize = 100;
const WATCH_ROUNDS: usize = 20;
const GET_RUNS: usize = 1_000;
const NS: &str = "default";
const USER: &str = "bench";
const PASSWORD: &str = "bench-pw";
const REPO: &str = "bench";
const LIST: &str = "/apis/porch.kpt.dev/v1alpha1/namespaces/default/packagerevisions";
/// What `kubectl get` (1.32) sends for a list.
const KUBECTL_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
/// Upper bound for the operators to sync everything.
const SYNC_WITHIN: Duration = Duration::from_secs(20 * 60);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn kptfile(pkg: &str) -> String {
    format!(
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {pkg}\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ninfo:\n  description: {pkg} for the benchmark\n"
    )
}

fn configmap(pkg: &str, version: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {pkg}-settings\ndata:\n  version: \"{version}\"\n  tier: gold\n"
    )
}

/// Write the repository into the bare repo at `dir` with `git fast-import`: commit `v` of
/// `main` holds every package at version `v`; tag `<pkg>/v<v>` points at it.
fn build_repository(dir: &Path, packages: usize) {
    fn data(out: &mut Vec<u8>, path: &str, content: &str) {
        writeln!(out, "M 100644 inline {path}\ndata {}", content.len()).unwrap();
        out.extend_from_slice(content.as_bytes());
        out.push(b'\n');
    }
    let mut stream = Vec::new();
    for v in 1..=TAGS {
        writeln!(stream, "commit refs/heads/main\nmark :{v}").unwrap();
        let when = 1_795_000_000 + v * 60;
        writeln!(stream, "committer bench <bench@example.com> {when} +0000").unwrap();
        let msg = format!("all packages at v{v}");
        writeln!(stream, "data {}\n{msg}", msg.len()).unwrap();
        if v > 1 {
            writeln!(stream, "from :{}", v - 1).unwrap();
        }
        for p in 0..packages {
            let pkg = format!("pkg-{p:04}");
            data(&mut stream, &format!("{pkg}/Kptfile"), &kptfile(&pkg));
            data(
                &mut stream,
                &format!("{pkg}/settings.yaml"),
                &configmap(&pkg, v),
            );
        }
        stream.push(b'\n');
    }
    for p in 0..packages {
        for v in 1..=TAGS {
            writeln!(stream, "reset refs/tags/pkg-{p:04}/v{v}\nfrom :{v}\n").unwrap();
        }
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import failed");
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Print p50/p95; returns p50.
fn report(what: &str, mut samples: Vec<Duration>, extra: &str) -> Duration {
    let p50 = percentile(&mut samples, 0.5);
    let p95 = percentile(&mut samples, 0.95);
    println!(
        "{what:<44} p50 {:>9.3} ms   p95 {:>9.3} ms   ({} runs{extra})",
        ms(p50),
        ms(p95),
        samples.len()
    );
    p50
}

fn verdict(what: &str, got: f64, target: f64, unit: &str) {
    let met = if got < target { "MET" } else { "NOT MET" };
    println!("target {what:<34} {got:>9.3} {unit} < {target} {unit}: {met}");
}

async fn get_text(client: &kube::Client, uri: &str, accept: &str) -> String {
    let req = http::Request::get(uri)
        .header("accept", accept)
        .body(Vec::new())
        .unwrap();
    client.request_text(req).await.unwrap()
}

async fn time_requests(
    client: &kube::Client,
    uri: &str,
    accept: &str,
    runs: usize,
) -> (Vec<Duration>, usize) {
    let mut bytes = get_text(client, uri, accept).await.len();
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        bytes = get_text(client, uri, accept).await.len();
        samples.push(t.elapsed());
    }
    (samples, bytes)
}

fn package_revisions(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource {
            group: "porch.kpt.dev".into(),
            version: "v1alpha1".into(),
            api_version: "porch.kpt.dev/v1alpha1".into(),
            kind: "PackageRevision".into(),
            plural: "packagerevisions".into(),
        },
    )
}

/// The config.porch.kpt.dev PackageRev objects (what the operators and the engine write).
fn package_rev_objects(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource {
            group: "config.porch.kpt.dev".into(),
            version: "v1alpha1".into(),
            api_version: "config.porch.kpt.dev/v1alpha1".into(),
            kind: "PackageRev".into(),
            plural: "packagerevs".into(),
        },
    )
}

/// Register the repository and wait until all `want` revisions are served.
async fn sync(client: &kube::Client, porch: &Standalone, url: &str, want: usize) -> Duration {
    let repos: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &ApiResource {
            group: "config.porch.kpt.dev".into(),
            version: "v1alpha1".into(),
            api_version: "config.porch.kpt.dev/v1alpha1".into(),
            kind: "Repository".into(),
            plural: "repositories".into(),
        },
    );
    let repo: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "Repository",
        "metadata": {"name": REPO, "namespace": NS},
        "spec": {"type": "git", "git": {"repo": url, "branch": "main",
                 "secretRef": {"name": "bench-auth"}}}
    }))
    .unwrap();
    // A label patch is written to git too: the repository needs push credentials.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bench-auth", "namespace": NS},
        "type": "kubernetes.io/basic-auth",
        "stringData": {"username": USER, "password": PASSWORD}
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let started = Instant::now();
    repos.create(&PostParams::default(), &repo).await.unwrap();
    let mut last_report = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let list: Value =
            serde_json::from_str(&get_text(client, LIST, "application/json").await).unwrap();
        let count = list["items"].as_array().map_or(0, Vec::len);
        if count >= want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < SYNC_WITHIN,
            "only {count} of {want} revisions after {SYNC_WITHIN:?}; porch stderr tail:\n{}",
            tail(&porch.log(), 40)
        );
        if last_report.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "  syncing: {count}/{want} revisions after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// 100 watches of porch.kpt.dev PackageRevisions open from `rv`; per round, one label patch
/// of the PackageRev object behind `target` (the API server's own REST endpoint, the write
/// the operators and the engine make) and the time until every watcher has seen the change
/// through the CR cache. Returns (fan-out samples, write-response samples).
///
/// Not a porch.kpt.dev patch: on revisions synced from git that currently deletes the
/// revision's tag (the PackageRevs are born with a deletionTimestamp; see the report).
async fn watch_fan_out(
    client: &kube::Client,
    porch: &Standalone,
    rv: &str,
    target: &str,
) -> (Vec<Duration>, Vec<Duration>) {
    let api = package_revisions(client);
    let revs = package_rev_objects(client);
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let mut tasks = Vec::new();
    for _ in 0..WATCHERS {
        let mut stream = api
            .watch(&WatchParams::default().timeout(290), rv)
            .await
            .unwrap()
            .boxed();
        let seen_tx = seen_tx.clone();
        let target = target.to_owned();
        tasks.push(tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                if let Ok(WatchEvent::Modified(obj)) = event
                    && obj.metadata.name.as_deref() == Some(target.as_str())
                    && let Some(round) = obj
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("bench-round"))
                        .and_then(|r| r.parse().ok())
                {
                    let _ = seen_tx.send((round, Instant::now()));
                }
            }
        }));
    }
    // Let every watch reach the server before the first write.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut fan_out = Vec::new();
    let mut writes = Vec::new();
    for round in 0..WATCH_ROUNDS {
        let patch =
            Patch::Merge(json!({"metadata": {"labels": {"bench-round": round.to_string()}}}));
        let t0 = Instant::now();
        if let Err(e) = revs.patch(target, &PatchParams::default(), &patch).await {
            panic!(
                "patching {target}: {e}; porch stderr tail:\n{}",
                tail(&porch.log(), 40)
            );
        }
        writes.push(t0.elapsed());
        let mut count = 0;
        let mut last = t0;
        while count < WATCHERS {
            let (r, at) = tokio::time::timeout(Duration::from_secs(30), seen_rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("round {round}: only {count} of {WATCHERS} watchers saw the write")
                })
                .unwrap();
            if r == round {
                count += 1;
                last = last.max(at);
            }
        }
        fan_out.push(last - t0);
    }
    for t in tasks {
        t.abort();
    }
    (fan_out, writes)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    // `cargo bench` passes `--bench`; a `cargo test --benches` run passes nothing: skip there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("standalone_api: run with `cargo bench -p porch --bench standalone_api`");
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench());
}

async fn bench() {
    let packages = env_usize("BENCH_PACKAGES", 1_000);
    let list_runs = env_usize("BENCH_RUNS", 30);
    let want = packages * (TAGS + 1);
    println!("load average at start: {}", load_average());
    let tmp = tempfile::tempdir().unwrap();

    let git = GitServer::start(
        tmp.path().join("git"),
        ServerOptions::with_user(USER, PASSWORD),
    )
    .await
    .unwrap();
    let url = git
        .create_repo(
            REPO,
            RepoOptions {
                anonymous_read: false,
                initial_readme: false,
            },
        )
        .await
        .unwrap();
    let t = Instant::now();
    build_repository(&git.repo_dir(REPO), packages);
    println!(
        "git repository: {packages} packages x {TAGS} tags written with git fast-import in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let porch = Standalone::start(
        env!("CARGO_BIN_EXE_porch").as_ref(),
        &tmp.path().join("porch"),
        tmp.path(),
        &std::env::var("BENCH_PORCH_LOG").unwrap_or_else(|_| "warn".into()),
    );
    println!(
        "porch standalone (pid {}) ready in {:.0} ms, RSS {} KiB",
        porch.pid(),
        ms(t.elapsed()),
        porch.rss_kib().unwrap_or(0)
    );
    let client = porch.client().await;
    let took = sync(&client, &porch, &url, want).await;
    println!(
        "seeded {want} PackageRevisions (operators' sync of the registered repository) in {:.1} s",
        took.as_secs_f64()
    );
    // Let the controllers settle (latest markers, placeholders) before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_seeded = porch.rss_kib().unwrap_or(0);

    let (samples, bytes) = time_requests(&client, LIST, "application/json", list_runs).await;
    let list_json = report(
        &format!("list {want} as JSON"),
        samples,
        &format!(", {:.1} MiB", bytes as f64 / 1048576.0),
    );
    let table_uri = format!("{LIST}?limit=500");
    let (samples, bytes) = time_requests(&client, &table_uri, KUBECTL_TABLE, list_runs).await;
    let list_table = report(
        &format!("list {want} as Table (kubectl get)"),
        samples,
        &format!(", {:.1} MiB", bytes as f64 / 1048576.0),
    );
    let one = &format!("{REPO}.pkg-{:04}.v5", packages / 2);
    let (samples, _) = time_requests(
        &client,
        &format!("{LIST}/{one}"),
        "application/json",
        GET_RUNS,
    )
    .await;
    let get = report("get one as JSON", samples, "");

    let list: Value =
        serde_json::from_str(&get_text(&client, LIST, "application/json").await).unwrap();
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .to_owned();
    let (fan_out, writes) = watch_fan_out(&client, &porch, &rv, one).await;
    report(
        &format!("watch fan-out to {WATCHERS} (write to all seen)"),
        fan_out,
        "",
    );
    report("  of which the PackageRev patch itself", writes, "");

    let rss = porch.rss_kib().unwrap_or(0);
    let field = |name| status_kib(porch.pid(), name).unwrap_or(0) as f64 / 1024.0;
    println!(
        "RSS of porch standalone: {:.1} MiB after seeding, {:.1} MiB after the runs \
         (anonymous {:.1}, file-backed {:.1}; peak {:.1})",
        rss_seeded as f64 / 1024.0,
        rss as f64 / 1024.0,
        field("RssAnon"),
        field("RssFile"),
        field("VmHWM"),
    );
    if let Some(secs) = std::env::var("BENCH_HOLD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        println!("holding pid {} for {secs} s", porch.pid());
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    verdict("list as JSON p50", ms(list_json), 100.0, "ms");
    verdict("list as Table p50", ms(list_table), 100.0, "ms");
    verdict("get p50", ms(get), 2.0, "ms");
    verdict(
        &format!("RSS with {want} revisions"),
        rss.max(rss_seeded) as f64 / 1024.0,
        150.0,
        "MiB",
    );
    println!("load average at end: {}", load_average());
    drop(porch);
    git.stop().await;
}
