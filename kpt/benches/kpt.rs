#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The three figures of the brief: parse + emit of a 1 MB package, render of a
//! 100-resource package through a no-op evaluator, 3-way merge of 100 resources.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use kpt::fn_eval::{EvalFuture, EvalOutput, Evaluator, FunctionRef};
use kpt::ops::{UpdateStrategy, upgrade};
use kpt::render::{RenderOptions, render};
use kpt::{Package, yaml};

fn deployment(i: usize, replicas: usize, image: &str) -> String {
    format!(
        "# Deployment {i} of the shop.\napiVersion: apps/v1\nkind: Deployment\nmetadata: # kpt-merge: shop/web-{i}\n  name: web-{i}\n  namespace: shop\n  labels:\n    app: web-{i}\n    tier: \"frontend\"\n  annotations:\n    internal.kpt.dev/upstream-identifier: 'apps|Deployment|shop|web-{i}'\nspec:\n  replicas: {replicas} # kpt-set: ${{replicas}}\n  selector:\n    matchLabels:\n      app: web-{i}\n  template:\n    metadata:\n      labels:\n        app: web-{i}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n        args: [\"--port=8080\", \"--verbose\"]\n        ports:\n        - containerPort: 8080\n          protocol: TCP\n        env:\n        - name: MODE\n          value: production\n        resources:\n          limits:\n            cpu: 500m\n            memory: 128Mi\n"
    )
}

fn package(n: usize, replicas: usize, image: &str) -> Package {
    let mut files = BTreeMap::new();
    files.insert("Kptfile".to_string(), "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: shop\npipeline:\n  mutators:\n  - image: noop:v1\n".to_string());
    for i in 0..n {
        files.insert(
            format!("deploy-{i:04}.yaml"),
            deployment(i, replicas, image),
        );
    }
    Package::new(files).unwrap()
}

struct Noop;

impl Evaluator for Noop {
    fn evaluate<'a>(
        &'a self,
        _function: &'a FunctionRef,
        resource_list: &'a [u8],
    ) -> EvalFuture<'a> {
        Box::pin(async move {
            Ok(EvalOutput {
                resource_list: resource_list.to_vec(),
                stderr: Vec::new(),
                exit_code: 0,
            })
        })
    }
}

fn benches(c: &mut Criterion) {
    // ~1 MB of kpt-formatted YAML
    let big = package(1200, 3, "nginx:1.21");
    let bytes: usize = big.files.values().map(String::len).sum();
    let mut g = c.benchmark_group("yaml");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("parse_emit_1mb_package", |b| {
        b.iter(|| {
            for text in big.files.values() {
                let s = yaml::parse_stream(black_box(text)).unwrap();
                black_box(s.emit());
            }
        })
    });
    g.bench_function("package_read_write_1mb", |b| {
        b.iter(|| {
            let r = big.read().unwrap();
            black_box(big.write(&r.items).unwrap());
        })
    });
    g.finish();

    let hundred = package(100, 3, "nginx:1.21");
    c.bench_function("render_100_resources_noop", |b| {
        b.iter(|| {
            let out = futures::executor::block_on(render(
                black_box(&hundred),
                &Noop,
                &RenderOptions::default(),
            ));
            assert!(out.error.is_none());
            black_box(out)
        })
    });

    let original = package(100, 3, "nginx:1.21");
    let updated = package(100, 5, "nginx:1.22");
    let mut local = package(100, 3, "nginx:1.21");
    for t in local.files.values_mut() {
        *t = t.replace("tier: \"frontend\"", "tier: \"frontend\"\n    team: local");
    }
    c.bench_function("merge3_100_resources", |b| {
        b.iter(|| {
            black_box(
                upgrade(
                    &local,
                    &original,
                    &updated,
                    UpdateStrategy::ResourceMerge,
                    None,
                )
                .unwrap(),
            )
        })
    });
}

/// CPU time (user + system) of this thread, from /proc; the build machine is shared,
/// so wall-clock figures overstate the cost by the load factor.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn cpu_time_per_op(name: &str, min_cpu_seconds: f64, mut f: impl FnMut()) -> Option<f64> {
    let start = thread_cpu_seconds()?;
    let mut n = 0u64;
    loop {
        f();
        n += 1;
        let used = thread_cpu_seconds()? - start;
        if used >= min_cpu_seconds {
            let per = used / n as f64;
            println!("cpu-time {name}: {:.3} ms/op over {n} ops", per * 1e3);
            return Some(per);
        }
    }
}

/// Figures in CPU time, printed before the criterion run.
fn cpu_figures() {
    let big = package(1200, 3, "nginx:1.21");
    let bytes: usize = big.files.values().map(String::len).sum();
    if let Some(per) = cpu_time_per_op("parse_emit_1mb_package", 2.0, || {
        for text in big.files.values() {
            black_box(yaml::parse_stream(text).unwrap().emit());
        }
    }) {
        println!(
            "cpu-time parse_emit_1mb_package: {:.1} MB/s ({} bytes)",
            bytes as f64 / per / 1e6,
            bytes
        );
    }
    let hundred = package(100, 3, "nginx:1.21");
    cpu_time_per_op("render_100_resources_noop", 2.0, || {
        black_box(futures::executor::block_on(render(
            &hundred,
            &Noop,
            &RenderOptions::default(),
        )));
    });
    let original = package(100, 3, "nginx:1.21");
    let updated = package(100, 5, "nginx:1.22");
    cpu_time_per_op("merge3_100_resources", 2.0, || {
        black_box(
            upgrade(
                &original,
                &original,
                &updated,
                UpdateStrategy::ResourceMerge,
                None,
            )
            .unwrap(),
        );
    });
}

criterion_group!(kpt_benches, benches);

fn main() {
    // KPT_BENCH_CPU=0 skips the CPU-time pass (e.g. when profiling one bench)
    if std::env::var("KPT_BENCH_CPU").as_deref() != Ok("0") {
        cpu_figures();
    }
    kpt_benches();
    Criterion::default().configure_from_args().final_summary();
}
