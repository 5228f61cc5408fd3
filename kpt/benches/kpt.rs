#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The three figures of the brief: parse + emit of a 1 MB package, render of a
//! 100-resource package through a no-op evaluator, 3-way merge of 100 resources.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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
        files.insert(format!("deploy-{i:04}.yaml"), deployment(i, replicas, image));
    }
    Package::new(files).unwrap()
}

struct Noop;

impl Evaluator for Noop {
    fn evaluate<'a>(&'a self, _function: &'a FunctionRef, resource_list: &'a [u8]) -> EvalFuture<'a> {
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
            let out = futures::executor::block_on(render(black_box(&hundred), &Noop, &RenderOptions::default()));
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
        b.iter(|| black_box(upgrade(&local, &original, &updated, UpdateStrategy::ResourceMerge, None).unwrap()))
    });
}

criterion_group!(kpt_benches, benches);
criterion_main!(kpt_benches);
