//! First sync of a repository with 1,000 packages x 5 published revisions (6,000 package
//! revisions with the placeholders) to all PackageRevs present, on real parts: the loopback
//! git server, the git source, the standalone API server (HTTPS, SQLite store) and the real
//! Repository reconciler. Compared in the same run with the git adapter's discovery alone
//! (a fresh cache: fetch + list). Target: the first sync within 3x of discovery.
//!
//! `cargo bench -p porch-operators --bench first_sync` (`BENCH_RUNS`, default 3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Instant;

use kube::api::{Api, ListParams};
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_git::{GitRepository, RepoConfig};
use porch_operators::RepositorySource;
use porch_operators::git_source::GitRepositorySource;
use porch_operators::repository::reconcile;
use support::*;

const PACKAGES: usize = 1000;
const REVISIONS: usize = 5;
const EXPECTED: usize = PACKAGES * (REVISIONS + 1);

fn main() {
    serve_git_if_child();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench(runs));
}

async fn bench(runs: usize) {
    // `RUST_LOG=porch_operators=info` shows the phases of each sync.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    build_repo(&tmp.path().join("git/big.git"), PACKAGES, REVISIONS);
    println!(
        "built {PACKAGES} packages x {REVISIONS} revisions in {:.0} ms",
        millis(t.elapsed())
    );
    let parts = start_parts(&tmp.path().join("git"), &tmp.path().join("api")).await;
    let url = parts.git.repo_url("big");
    parts.api.stop().await;

    let mut discovery = Vec::new();
    let mut source_fetch = Vec::new();
    let mut first_sync = Vec::new();
    for run in 0..runs {
        // 1. The git adapter alone: open a fresh cache (fetch) and list the revisions.
        let t = Instant::now();
        let git = GitRepository::open(
            RepoConfig::new(url.clone()),
            tmp.path().join(format!("adapter-{run}")),
        )
        .await
        .unwrap();
        let listed = git.list().await.unwrap();
        discovery.push(t.elapsed());
        assert_eq!(listed.len(), EXPECTED);

        // 2. The git source: the same plus what the CR cache serves for every revision.
        let probe = Repository::new(
            "probe",
            porch_crds::config::v1alpha1::RepositorySpec {
                git: Some(porch_crds::config::v1alpha1::GitRepository {
                    repo: url.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        let source = GitRepositorySource::new(tmp.path().join(format!("source-{run}")));
        let t = Instant::now();
        let fetched = source
            .fetch(&probe, &porch_operators::source::Access::default())
            .await
            .unwrap();
        source_fetch.push(t.elapsed());
        assert_eq!(fetched.revisions.len(), EXPECTED);

        // 3. The first sync through the reconciler, to every PackageRev stored, on a fresh
        // API server (an empty store, as a first sync meets it; earlier runs' objects would
        // otherwise make each run slower than the last).
        let (api, client) = start_api(&tmp.path().join(format!("api-{run}"))).await;
        let ns = format!("first-{run}");
        create_namespace(&client, &ns).await;
        let repo = create_repository(&client, &ns, "big", &url).await;
        let ctx = context(
            &client,
            &tmp.path().join(format!("sync-{run}")),
            &ShiftedClock::default(),
        );
        let t = Instant::now();
        reconcile(Arc::new(repo), ctx).await.unwrap();
        first_sync.push(t.elapsed());
        let revs: Api<PackageRev> = Api::namespaced(client.clone(), &ns);
        let stored = revs.list(&ListParams::default()).await.unwrap().items;
        assert_eq!(stored.len(), EXPECTED, "not every PackageRev is present");
        assert!(
            stored.iter().all(|p| p.status.is_some()),
            "a PackageRev lacks its status"
        );
        let repos: Api<Repository> = Api::namespaced(client.clone(), &ns);
        let status = repos.get("big").await.unwrap().status.unwrap();
        assert_eq!(status.package_count, EXPECTED as i64);
        api.stop().await;
        println!(
            "run {run}: discovery {:.0} ms, source fetch {:.0} ms, first sync {:.0} ms",
            millis(discovery[run]),
            millis(source_fetch[run]),
            millis(first_sync[run])
        );
    }
    let (d, f, s) = (median(discovery), median(source_fetch), median(first_sync));
    let ratio = s.as_secs_f64() / d.as_secs_f64().max(f64::EPSILON);
    println!("first_sync/{PACKAGES}x{REVISIONS} ({EXPECTED} PackageRevs), median of {runs}:");
    println!(
        "  git adapter discovery (fresh cache fetch + list): {:8.0} ms",
        millis(d)
    );
    println!(
        "  git source fetch (+ per-revision details):        {:8.0} ms",
        millis(f)
    );
    println!(
        "  first sync to all PackageRevs present:            {:8.0} ms",
        millis(s)
    );
    println!(
        "  ratio first sync / discovery: {ratio:.2} (target <= 3.00: {})",
        if ratio <= 3.0 { "met" } else { "MISSED" }
    );
    parts.git.stop().await;
}
