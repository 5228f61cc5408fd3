#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! In-process native functions on 100 resources and on a 1 MB ResourceList,
//! and a gRPC round trip on loopback with a 1 MB ResourceList. Criterion's
//! figures come first; a summary with the targets is printed last.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kpt::fn_eval::{EvalFuture, EvalOutput, Evaluator, FunctionRef};
use porch_fn_runner::{InProcessConfig, in_process_evaluator, serve};
use porch_proto::{EvaluateFunctionRequest, FunctionEvaluatorClient};

fn resources(n: usize) -> String {
    let mut s = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    s.push_str("- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: env\n    namespace: old\n  data:\n    image: nginx:1.25\n");
    for i in 1..n {
        s.push_str(&format!(
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: app-{i}\n    namespace: old\n    labels:\n      app: app-{i}\n    annotations:\n      internal.config.kubernetes.io/path: app-{i}.yaml\n      internal.config.kubernetes.io/index: '0'\n  spec:\n    replicas: 3\n    selector:\n      matchLabels:\n        app: app-{i}\n    template:\n      metadata:\n        labels:\n          app: app-{i}\n      spec:\n        containers:\n        - name: app\n          image: nginx:1.1\n          ports:\n          - containerPort: 80\n"
        ));
    }
    s
}

struct Echo;
impl Evaluator for Echo {
    fn evaluate<'a>(&'a self, _: &'a FunctionRef, rl: &'a [u8]) -> EvalFuture<'a> {
        Box::pin(async move {
            Ok(EvalOutput {
                resource_list: rl.to_vec(),
                ..Default::default()
            })
        })
    }
}

/// One line of the closing summary.
struct Figure {
    label: String,
    wall: Duration,
    /// CPU time of the calling thread, when the work runs there (in-process calls).
    cpu: Option<Duration>,
    target: Option<Duration>,
}

static SUMMARY: Mutex<Vec<Figure>> = Mutex::new(Vec::new());

/// CPU time this thread has used so far (Linux schedstat), so figures stay
/// meaningful on a machine shared with compilers.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median wall time of `runs` timed calls, and their mean CPU time on this
/// thread (the kernel updates the CPU clock at ticks, so only a total over
/// many calls is exact), recorded for the summary.
fn record(
    label: &str,
    target: Option<Duration>,
    runs: usize,
    same_thread: bool,
    mut f: impl FnMut(),
) {
    let mut wall = Vec::new();
    let cpu_start = thread_cpu();
    for _ in 0..runs {
        let t = Instant::now();
        f();
        wall.push(t.elapsed());
    }
    let cpu = match (cpu_start, thread_cpu()) {
        (Some(a), Some(b)) if same_thread => Some(b.saturating_sub(a) / runs as u32),
        _ => None,
    };
    SUMMARY.lock().unwrap().push(Figure {
        label: label.to_string(),
        wall: median(wall),
        cpu,
        target,
    });
}

fn print_summary() {
    println!(
        "\nporch-fn-runner benchmark summary (wall = median; cpu = mean CPU time of the calling thread)"
    );
    for f in SUMMARY.lock().unwrap().iter() {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let cpu = f
            .cpu
            .map(|c| format!("cpu {:>8.3} ms", ms(c)))
            .unwrap_or_default();
        let best = f.cpu.map_or(f.wall, |c| c.min(f.wall));
        let verdict = match f.target {
            Some(t) if best <= t => format!("target < {} ms: met", ms(t)),
            Some(t) => format!("target < {} ms: MISSED", ms(t)),
            None => "no target".to_string(),
        };
        println!(
            "  {:<50} wall {:>8.3} ms  {cpu:<15}  {verdict}",
            f.label,
            ms(f.wall)
        );
    }
}

const MS2: Option<Duration> = Some(Duration::from_millis(2));
const MS5: Option<Duration> = Some(Duration::from_millis(5));

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let eval = in_process_evaluator(InProcessConfig::default());
    let items = resources(100);

    let ns = format!(
        "{items}functionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: f}}, data: {{namespace: prod}}}}\n"
    );
    let f = FunctionRef::Image("ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4.5".into());
    let run_ns = |input: &str| {
        let out = rt.block_on(eval.evaluate(&f, input.as_bytes())).unwrap();
        assert_eq!(out.exit_code, 0);
    };
    c.bench_function("set-namespace 100 resources (in-process)", |b| {
        b.iter(|| run_ns(&ns))
    });
    record(
        "set-namespace, 100 resources, in-process",
        MS2,
        200,
        true,
        || run_ns(&ns),
    );

    let ar = format!(
        "{items}functionConfig:\n  apiVersion: fn.kpt.dev/v1alpha1\n  kind: ApplyReplacements\n  metadata: {{name: r}}\n  replacements:\n  - source: {{kind: ConfigMap, name: env, fieldPath: data.image}}\n    targets:\n    - select: {{kind: Deployment}}\n      fieldPaths: ['spec.template.spec.containers.[name=app].image']\n"
    );
    let f =
        FunctionRef::Image("ghcr.io/kptdev/krm-functions-catalog/apply-replacements:v0.1.5".into());
    let run_ar = || {
        let out = rt.block_on(eval.evaluate(&f, ar.as_bytes())).unwrap();
        assert_eq!(out.exit_code, 0);
    };
    c.bench_function("apply-replacements 100 resources (in-process)", |b| {
        b.iter(run_ar)
    });
    record(
        "apply-replacements, 100 resources, in-process",
        MS2,
        200,
        true,
        run_ar,
    );

    // ~1 MB ResourceList over loopback gRPC.
    let mut n = 100;
    let big = loop {
        let s = format!(
            "{}functionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: f}}, data: {{namespace: prod}}}}\n",
            resources(n)
        );
        if s.len() >= 1_000_000 {
            break s;
        }
        n += 100;
    };
    let f = FunctionRef::Image("ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4.5".into());
    let run_big = || {
        let out = rt.block_on(eval.evaluate(&f, big.as_bytes())).unwrap();
        assert_eq!(out.exit_code, 0);
    };
    c.bench_function("set-namespace 1MB (in-process)", |b| b.iter(run_big));
    record(
        &format!("set-namespace, 1 MB ({n} resources), in-process"),
        None,
        20,
        true,
        run_big,
    );

    let (echo_addr, native_addr) = rt.block_on(async {
        let mut addrs = Vec::new();
        for e in [
            Arc::new(Echo) as Arc<dyn Evaluator>,
            in_process_evaluator(InProcessConfig::default()),
        ] {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addrs.push(l.local_addr().unwrap());
            tokio::spawn(serve(l, e, 16 << 20, std::future::pending()));
        }
        (addrs[0], addrs[1])
    });
    for (label, summary, target, addr) in [
        (
            "grpc round trip 1MB (echo evaluator)",
            "gRPC round trip, 1 MB, loopback (echo evaluator)",
            MS5,
            echo_addr,
        ),
        (
            "grpc round trip 1MB (set-namespace)",
            "gRPC round trip, 1 MB, loopback (set-namespace)",
            None,
            native_addr,
        ),
    ] {
        let mut client = rt.block_on(async {
            // Windows as wide as the server's, so 1 MB replies need no WINDOW_UPDATE waits.
            let ch = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                .unwrap()
                .initial_stream_window_size(16 << 20)
                .initial_connection_window_size(32 << 20)
                .connect()
                .await
                .unwrap();
            FunctionEvaluatorClient::new(ch)
                .max_decoding_message_size(16 << 20)
                .max_encoding_message_size(16 << 20)
        });
        let req = EvaluateFunctionRequest {
            resource_list: big.clone().into_bytes(),
            image: "set-namespace:v0.4".into(),
        };
        let mut call = || {
            let r = rt.block_on(client.evaluate_function(req.clone())).unwrap();
            assert!(!r.into_inner().resource_list.is_empty());
        };
        c.bench_function(label, |b| b.iter(&mut call));
        record(summary, target, 20, false, call);
    }
    print_summary();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
