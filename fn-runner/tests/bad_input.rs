#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bad input over gRPC on loopback: each call fails with a clear error and the
//! same server answers the next call.

use std::sync::Arc;
use std::time::Duration;

use kpt::fn_eval::{EvalFuture, Evaluator, FunctionRef};
use porch_fn_runner::{InProcessConfig, in_process_evaluator, serve};
use porch_proto::{EvaluateFunctionRequest, FunctionEvaluatorClient};
use tonic::Code;
use tonic::transport::Channel;

struct Server {
    addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn start(evaluator: Arc<dyn Evaluator>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, evaluator, 6 << 20, async {
        let _ = rx.await;
    }));
    Server {
        addr,
        stop: Some(tx),
    }
}

async fn client(s: &Server) -> FunctionEvaluatorClient<Channel> {
    let ch = tonic::transport::Endpoint::from_shared(format!("http://{}", s.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    FunctionEvaluatorClient::new(ch)
}

fn native() -> Arc<dyn Evaluator> {
    in_process_evaluator(InProcessConfig {
        starlark_timeout: Duration::from_millis(500),
        ..Default::default()
    })
}

const ITEMS: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: env\n    namespace: old\n";

async fn call(
    c: &mut FunctionEvaluatorClient<Channel>,
    image: &str,
    body: impl Into<Vec<u8>>,
) -> Result<String, tonic::Status> {
    let r = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: body.into(),
            image: image.into(),
        })
        .await?;
    Ok(String::from_utf8(r.into_inner().resource_list).unwrap())
}

/// The server still does real work after a bad call.
async fn still_serving(c: &mut FunctionEvaluatorClient<Channel>) {
    let out = call(
        c,
        "set-namespace:v0.4",
        format!("{ITEMS}functionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: f}}, data: {{namespace: fine}}}}\n"),
    )
    .await
    .unwrap();
    assert!(out.contains("namespace: fine"), "{out}");
}

fn starlark(source: &str) -> String {
    format!(
        "{ITEMS}functionConfig:\n  apiVersion: fn.kpt.dev/v1alpha1\n  kind: StarlarkRun\n  metadata: {{name: f}}\n  source: {}\n",
        serde_json::Value::String(source.into())
    )
}

#[tokio::test]
async fn malformed_resource_lists_are_clear_errors() {
    let s = start(native()).await;
    let mut c = client(&s).await;
    for (body, needle) in [
        (
            b"\xff\xfe not utf-8".to_vec(),
            "failed to parse input ResourceList",
        ),
        (
            b"items: [unclosed".to_vec(),
            "failed to parse input ResourceList",
        ),
        (b"".to_vec(), "ResourceList"),
        (b"- a\n- b\n".to_vec(), "not a ResourceList"),
        (
            b"kind: ResourceList\nitems: {a: b}\n".to_vec(),
            "items is not a list",
        ),
        (
            b"kind: ResourceList\nitems:\n- just a string\n".to_vec(),
            "items[0] is not a mapping",
        ),
        (
            b"kind: ResourceList\nitems: []\nfunctionConfig: [x]\n".to_vec(),
            "functionConfig is not a mapping",
        ),
    ] {
        let err = call(&mut c, "set-labels:v0.2", body.clone())
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::Internal,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            err.message().contains(needle),
            "{:?}: {}",
            String::from_utf8_lossy(&body),
            err.message()
        );
        still_serving(&mut c).await;
    }
    let err = call(&mut c, "", ITEMS).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    still_serving(&mut c).await;
}

#[tokio::test]
async fn function_configs_of_the_wrong_kind_are_clear_errors() {
    let s = start(native()).await;
    let mut c = client(&s).await;
    let secret =
        format!("{ITEMS}functionConfig: {{apiVersion: v1, kind: Secret, metadata: {{name: s}}}}\n");
    for (image, needle) in [
        ("set-labels:v0.2", "Secret"),
        ("apply-replacements:v0.1", "ApplyReplacements"),
        ("starlark:v0.5", "StarlarkRun"),
        ("set-image:v0.1", "Secret"),
    ] {
        let err = call(&mut c, image, secret.clone()).await.unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{image}");
        assert!(err.message().contains(needle), "{image}: {}", err.message());
        still_serving(&mut c).await;
    }
    // set-namespace reports config problems as error results with exit code 0, as upstream.
    let out = call(&mut c, "set-namespace:v0.4", secret).await.unwrap();
    assert!(out.contains("unknown functionConfig Kind=Secret"), "{out}");
}

#[tokio::test]
async fn starlark_failures_timeouts_and_runaway_recursion_are_clear_errors() {
    let s = start(native()).await;
    let mut c = client(&s).await;
    for (source, needle) in [
        ("fail(\"this script gives up\")", "this script gives up"),
        ("x = {}[\"missing\"]", "missing"),
        ("def f(n):\n  return f(n + 1)\nf(0)", "call stack overflow"),
        // (The Rust interpreter has no `while`; nested huge ranges spin as long.)
        (
            "for i in range(1000000000):\n  for j in range(1000000000):\n    pass",
            "time limit",
        ),
        ("load(\"http.star\", \"http\")", "not available"),
    ] {
        let err = call(&mut c, "starlark:v0.5", starlark(source))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{source}");
        assert!(
            err.message().contains(needle),
            "{source}: {}",
            err.message()
        );
        still_serving(&mut c).await;
    }
}

/// An evaluator that panics, standing in for a bug in a function.
struct Panics;

impl Evaluator for Panics {
    fn evaluate<'a>(&'a self, f: &'a FunctionRef, rl: &'a [u8]) -> EvalFuture<'a> {
        Box::pin(async move {
            if f.name().contains("boom") {
                panic!("a bug in a function");
            }
            native().evaluate(f, rl).await
        })
    }
}

#[tokio::test]
async fn a_panicking_evaluator_fails_one_call_and_serving_goes_on() {
    let s = start(Arc::new(Panics)).await;
    let mut c = client(&s).await;
    let err = call(&mut c, "boom:v1", ITEMS).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert!(err.message().contains("panicked"), "{}", err.message());
    still_serving(&mut c).await;
}
