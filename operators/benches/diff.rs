//! The desired-set diff at scale: 1,000 packages x 5 revisions (a placeholder, three tags and
//! a draft), planned against nothing (first sync) and against its own result (no-change
//! periodic sync, which must plan no write).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use porch_crds::config::v1alpha1::PackageRev;
use porch_crds::porch::v1alpha1::PackageRevisionLifecycle;
use porch_operators::desired::{RepoContext, plan};
use porch_operators::source::DiscoveredRevision;

const REPO: RepoContext<'static> = RepoContext {
    namespace: "bench",
    name: "blueprints",
    deployment: false,
};

fn discovered(packages: usize) -> Vec<DiscoveredRevision> {
    let mut out = Vec::with_capacity(packages * 5);
    for p in 0..packages {
        let path = format!("group-{}/pkg-{p}", p % 10);
        let mut push = |ws: String, revision: i64, lifecycle| {
            out.push(DiscoveredRevision {
                package_path: path.clone(),
                workspace_name: ws,
                revision,
                lifecycle,
                commit: format!("{:040x}", p * 5 + out.len()),
                ..DiscoveredRevision::default()
            });
        };
        push("main".into(), -1, PackageRevisionLifecycle::Published);
        for v in 1..=3 {
            push(format!("v{v}"), v, PackageRevisionLifecycle::Published);
        }
        push("draft".into(), 0, PackageRevisionLifecycle::Draft);
    }
    out
}

fn bench(c: &mut Criterion) {
    let revisions = discovered(1000);
    let existing: Vec<PackageRev> = plan(REPO, &revisions, &[]).creates;
    // As a list response delivers them.
    let existing: Vec<PackageRev> =
        serde_json::from_value(serde_json::to_value(&existing).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(existing.len(), 5000);
    assert!(plan(REPO, &revisions, &existing).is_empty());

    let mut group = c.benchmark_group("diff_1000x5");
    group.sample_size(20);
    group.bench_function("first_sync_plan", |b| {
        b.iter(|| plan(REPO, black_box(&revisions), &[]))
    });
    group.bench_function("no_change_plan", |b| {
        b.iter(|| plan(REPO, black_box(&revisions), black_box(&existing)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
