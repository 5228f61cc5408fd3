#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! In-process native functions on 100 resources, and a gRPC round trip on
//! loopback with a 1 MB ResourceList.

use std::sync::Arc;
use std::time::Duration;

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
    c.bench_function("set-namespace 100 resources (in-process)", |b| {
        b.iter(|| {
            let out = rt.block_on(eval.evaluate(&f, ns.as_bytes())).unwrap();
            assert_eq!(out.exit_code, 0);
        })
    });

    let ar = format!(
        "{items}functionConfig:\n  apiVersion: fn.kpt.dev/v1alpha1\n  kind: ApplyReplacements\n  metadata: {{name: r}}\n  replacements:\n  - source: {{kind: ConfigMap, name: env, fieldPath: data.image}}\n    targets:\n    - select: {{kind: Deployment}}\n      fieldPaths: ['spec.template.spec.containers.[name=app].image']\n"
    );
    let f =
        FunctionRef::Image("ghcr.io/kptdev/krm-functions-catalog/apply-replacements:v0.1.5".into());
    c.bench_function("apply-replacements 100 resources (in-process)", |b| {
        b.iter(|| {
            let out = rt.block_on(eval.evaluate(&f, ar.as_bytes())).unwrap();
            assert_eq!(out.exit_code, 0);
        })
    });

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
    for (label, addr) in [
        ("grpc round trip 1MB (echo evaluator)", echo_addr),
        ("grpc round trip 1MB (set-namespace)", native_addr),
    ] {
        let mut client = rt.block_on(async {
            let ch = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                .unwrap()
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
        c.bench_function(label, |b| {
            b.iter(|| {
                let r = rt.block_on(client.evaluate_function(req.clone())).unwrap();
                assert!(!r.into_inner().resource_list.is_empty());
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
