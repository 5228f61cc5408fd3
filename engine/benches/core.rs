//! Benchmarks of the engine's pure core: content-cache hits, field-selector filtering and the
//! latest marker over large repositories. Run with `cargo bench -p porch-engine`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use porch_engine::content_cache::{ContentCache, PackageFiles};
use porch_engine::latest::{latest_revision_names, next_revision};
use porch_engine::model::{Lifecycle, RepositoryInfo, StoredMeta};
use porch_engine::record::RevisionRecord;
use porch_engine::selectors::FieldFilter;

fn records(packages: usize, revisions: i64) -> Vec<RevisionRecord> {
    let mut out = Vec::new();
    for p in 0..packages {
        for r in 1..=revisions {
            out.push(RevisionRecord {
                repository: "repo".into(),
                package_name: format!("path/pkg-{p}"),
                workspace_name: format!("v{r}"),
                revision: r,
                lifecycle: Lifecycle::Published,
                commit: format!("{p:08x}{r:08x}"),
                ..RevisionRecord::default()
            });
        }
        out.push(RevisionRecord {
            repository: "repo".into(),
            package_name: format!("path/pkg-{p}"),
            workspace_name: "draft".into(),
            lifecycle: Lifecycle::Draft,
            ..RevisionRecord::default()
        });
    }
    out
}

fn bench(c: &mut Criterion) {
    let recs = records(1000, 9); // 10 000 revisions
    c.bench_function("latest_revision_names/10k", |b| {
        b.iter(|| latest_revision_names(black_box(&recs)))
    });
    c.bench_function("next_revision/10k", |b| {
        b.iter(|| next_revision(black_box(&recs), "repo", "path/pkg-500"))
    });

    let repo = RepositoryInfo {
        namespace: "ns".into(),
        name: "repo".into(),
        branch: "main".into(),
        ..RepositoryInfo::default()
    };
    let meta = StoredMeta::default();
    let prs: Vec<_> = recs
        .iter()
        .map(|r| r.to_package_revision(&repo, &meta, false))
        .collect();
    let filter =
        FieldFilter::parse("spec.packageName=pkg-500,spec.lifecycle=Published", "ns").unwrap();
    c.bench_function("field_filter/10k", |b| {
        b.iter(|| prs.iter().filter(|p| filter.matches(p)).count())
    });

    let cache = ContentCache::new(64 * 1024 * 1024);
    let files: PackageFiles = (0..20)
        .map(|i| (format!("file-{i}.yaml"), "x".repeat(2000)))
        .collect();
    for i in 0..1000 {
        cache.insert(&format!("sha{i}"), files.clone());
    }
    c.bench_function("content_cache_hit", |b| {
        b.iter(|| cache.get(black_box("sha500")).unwrap())
    });
    c.bench_function("content_cache_insert_evict", |b| {
        let small = ContentCache::new(10 * 40 * 1024);
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            small.insert(&format!("k{i}"), files.clone())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
