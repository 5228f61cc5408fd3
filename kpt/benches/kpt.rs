#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The three figures: parse + emit of a 1 MiB package (target >= 50 MB/s),
//! render of a 100-resource package through a no-op evaluator (< 5 ms), 3-way merge
//! of two 100-resource packages (< 10 ms). A summary with the targets is printed
//! before and after the criterion runs.

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

/// A package of `min_bytes` or a little more of kpt-formatted YAML.
fn package_of_bytes(min_bytes: usize) -> Package {
    let mut files = BTreeMap::new();
    let mut total = 0;
    let mut i = 0;
    while total < min_bytes {
        let text = deployment(i, 3, "nginx:1.21");
        total += text.len();
        files.insert(format!("deploy-{i:04}.yaml"), text);
        i += 1;
    }
    Package::new(files).unwrap()
}

/// Local (old upstream + a label on every resource), old upstream, new upstream
/// (every resource's replicas and image changed).
fn merge_inputs() -> (Package, Package, Package) {
    let original = package(100, 3, "nginx:1.21");
    let updated = package(100, 5, "nginx:1.22");
    let mut local = package(100, 3, "nginx:1.21");
    for t in local.files.values_mut() {
        *t = t.replace("tier: \"frontend\"", "tier: \"frontend\"\n    team: local");
    }
    (local, original, updated)
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
    // 1 MiB of kpt-formatted YAML
    let big = package_of_bytes(1 << 20);
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

    let (local, original, updated) = merge_inputs();
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

/// Seconds per operation, (wall clock, CPU time), over at least `min_seconds` of CPU.
fn per_op(min_seconds: f64, mut f: impl FnMut()) -> (f64, f64) {
    f(); // warm up
    let wall = std::time::Instant::now();
    let cpu = thread_cpu_seconds().unwrap_or(0.0);
    let mut n = 0u64;
    loop {
        f();
        n += 1;
        let used = thread_cpu_seconds().map_or(wall.elapsed().as_secs_f64(), |c| c - cpu);
        if used >= min_seconds {
            let n = n as f64;
            return (wall.elapsed().as_secs_f64() / n, used / n);
        }
    }
}

/// The three figures against their targets.
fn figures() -> String {
    let mut out = String::from("kpt benchmark figures (wall clock / CPU time of this thread):\n");
    let big = package_of_bytes(1 << 20);
    let bytes: usize = big.files.values().map(String::len).sum();
    let (wall, cpu) = per_op(2.0, || {
        for text in big.files.values() {
            black_box(yaml::parse_stream(text).unwrap().emit());
        }
    });
    let mbs = |t: f64| bytes as f64 / t / 1e6;
    out.push_str(&format!(
        "  parse + emit of a {} KiB package ({} files): {:.1} MB/s wall, {:.1} MB/s CPU  [target >= 50 MB/s: {}]\n",
        bytes / 1024,
        big.files.len(),
        mbs(wall),
        mbs(cpu),
        verdict(mbs(cpu) >= 50.0)
    ));
    let hundred = package(100, 3, "nginx:1.21");
    let (wall, cpu) = per_op(2.0, || {
        let out = futures::executor::block_on(render(&hundred, &Noop, &RenderOptions::default()));
        assert!(out.error.is_none());
        black_box(out);
    });
    out.push_str(&format!(
        "  render of a 100-resource package, no-op function: {:.2} ms wall, {:.2} ms CPU  [target < 5 ms: {}]\n",
        wall * 1e3,
        cpu * 1e3,
        verdict(cpu < 0.005)
    ));
    let (local, original, updated) = merge_inputs();
    let (wall, cpu) = per_op(2.0, || {
        black_box(
            upgrade(
                &local,
                &original,
                &updated,
                UpdateStrategy::ResourceMerge,
                None,
            )
            .unwrap(),
        );
    });
    out.push_str(&format!(
        "  3-way merge of two 100-resource packages (+ local edits): {:.2} ms wall, {:.2} ms CPU  [target < 10 ms: {}]\n",
        wall * 1e3,
        cpu * 1e3,
        verdict(cpu < 0.010)
    ));
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

criterion_group!(kpt_benches, benches);

/// `KPT_BENCH_ONLY=parse|render|merge` (with `KPT_BENCH_N`, default 50): run one
/// operation N times and exit, for `perf stat` / `perf record`.
fn only(which: &str) {
    let n: usize = std::env::var("KPT_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let big = package_of_bytes(1 << 20);
    let hundred = package(100, 3, "nginx:1.21");
    let (local, original, updated) = merge_inputs();
    for _ in 0..n {
        match which {
            "parse" => {
                for text in big.files.values() {
                    black_box(yaml::parse_stream(text).unwrap().emit());
                }
            }
            "render" => {
                black_box(futures::executor::block_on(render(
                    &hundred,
                    &Noop,
                    &RenderOptions::default(),
                )));
            }
            _ => {
                black_box(
                    upgrade(
                        &local,
                        &original,
                        &updated,
                        UpdateStrategy::ResourceMerge,
                        None,
                    )
                    .unwrap(),
                );
            }
        }
    }
}

fn main() {
    if let Ok(which) = std::env::var("KPT_BENCH_ONLY") {
        only(&which);
        return;
    }
    // KPT_BENCH_FIGURES=0 skips the figures pass (e.g. when profiling one bench)
    let figures = (std::env::var("KPT_BENCH_FIGURES").as_deref() != Ok("0")).then(figures);
    if let Some(f) = &figures {
        println!("{f}");
    }
    kpt_benches();
    Criterion::default().configure_from_args().final_summary();
    if let Some(f) = &figures {
        println!("\n{f}");
    }
}
