#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The function runner over gRPC on loopback: every native function, an exec
//! function, health, errors and limits.

use std::sync::Arc;
use std::time::Duration;

use porch_fn_runner::{ExecEntry, InProcessConfig, in_process_evaluator, serve};
use porch_proto::{EvaluateFunctionRequest, FunctionEvaluatorClient};
use serde_json::Value;
use tonic::Code;
use tonic::transport::Channel;

struct Server {
    addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn write_script(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    p
}

async fn start(max: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    // An exec function: adds an annotation to every item with sed, logs to stderr.
    let ok = write_script(
        dir.path(),
        "annotate.sh",
        "#!/bin/sh\necho 'annotating' >&2\nsed 's/^    name: env$/    name: env\\n    annotations: {exec: ran}/'\n",
    );
    let fail = write_script(
        dir.path(),
        "fail.sh",
        "#!/bin/sh\ncat >/dev/null\necho 'boom' >&2\nexit 2\n",
    );
    let config = InProcessConfig {
        exec: vec![
            ExecEntry {
                image: "annotate".into(),
                prefixes: vec!["".into(), "example.com/fns".into()],
                tags: vec!["v1".into()],
                path: ok,
            },
            ExecEntry {
                image: "fails".into(),
                prefixes: vec![],
                tags: vec!["v1".into()],
                path: fail,
            },
        ],
        starlark_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, in_process_evaluator(config), max, async {
        let _ = rx.await;
    }));
    Server {
        addr,
        stop: Some(tx),
        _dir: dir,
    }
}

async fn client(s: &Server) -> FunctionEvaluatorClient<Channel> {
    let ch = tonic::transport::Endpoint::from_shared(format!("http://{}", s.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    FunctionEvaluatorClient::new(ch)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20)
}

const ITEMS: &str = r#"apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    namespace: old
    labels: {app: web}
    annotations: {internal.config.kubernetes.io/path: web.yaml}
  spec:
    replicas: 1 # kpt-set: ${replicas}
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
        - {name: app, image: 'nginx:1.1'}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: env
    namespace: old
  data: {image: 'nginx:2.0', domain: shop.example.com}
- apiVersion: constraints.gatekeeper.sh/v1beta1
  kind: K8sRequiredLabels
  metadata:
    name: must-have-owner
  spec: {enforcementAction: deny}
- apiVersion: kpt.dev/v1
  kind: Kptfile
  metadata:
    name: pkg
    annotations: {config.kubernetes.io/local-config: "true"}
"#;

async fn eval(
    c: &mut FunctionEvaluatorClient<Channel>,
    image: &str,
    function_config: &str,
) -> Result<Value, tonic::Status> {
    let rl = format!("{ITEMS}functionConfig:\n{function_config}");
    let resp = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: rl.into_bytes(),
            image: image.into(),
        })
        .await?
        .into_inner();
    Ok(porch_fn_runner::yaml::parse(&resp.resource_list).unwrap())
}

fn item<'a>(v: &'a Value, kind: &str) -> &'a Value {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {v}"))
}

#[tokio::test]
async fn every_native_function_over_grpc() {
    let s = start(6 << 20).await;
    let mut c = client(&s).await;
    let g = "ghcr.io/kptdev/krm-functions-catalog";

    let v = eval(
        &mut c,
        &format!("{g}/set-namespace:v0.4.5"),
        "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {namespace: prod}}\n",
    )
    .await
    .unwrap();
    assert_eq!(item(&v, "Deployment")["metadata"]["namespace"], "prod");

    let v = eval(
        &mut c,
        "gcr.io/kpt-fn/set-labels:v0.2",
        "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {tier: web}}\n",
    )
    .await
    .unwrap();
    assert_eq!(
        item(&v, "Deployment")["spec"]["selector"]["matchLabels"]["tier"],
        "web"
    );

    let v = eval(
        &mut c,
        "set-annotations:v0.1",
        "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {owner: me}}\n",
    )
    .await
    .unwrap();
    assert_eq!(
        item(&v, "Kptfile")["metadata"]["annotations"]["owner"],
        "me"
    );

    let v = eval(
        &mut c,
        &format!("{g}/apply-replacements:v0.1.5"),
        "  apiVersion: fn.kpt.dev/v1alpha1\n  kind: ApplyReplacements\n  metadata: {name: r}\n  replacements:\n  - source: {kind: ConfigMap, name: env, fieldPath: data.image}\n    targets: [{select: {kind: Deployment}, fieldPaths: ['spec.template.spec.containers.[name=app].image']}]\n",
    )
    .await
    .unwrap();
    assert_eq!(
        item(&v, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2.0"
    );

    let rl = format!(
        "{ITEMS}functionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: f}}, data: {{replicas: '4'}}}}\n"
    );
    let resp = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: rl.into_bytes(),
            image: "apply-setters:v0.2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let text = String::from_utf8(resp.resource_list).unwrap();
    assert!(
        text.contains("replicas: 4 # kpt-set: ${replicas}"),
        "{text}"
    );

    let rl = format!(
        "{ITEMS}functionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: f}}, data: {{app: web}}}}\n"
    );
    let resp = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: rl.into_bytes(),
            image: "create-setters:v0.1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let text = String::from_utf8(resp.resource_list).unwrap();
    assert!(text.contains("name: web # kpt-set: ${app}"), "{text}");

    let v = eval(&mut c, "search-replace:v0.2", "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {by-path: spec.replicas, put-value: '7'}}\n").await.unwrap();
    assert_eq!(item(&v, "Deployment")["spec"]["replicas"], 7);

    let v = eval(&mut c, "set-image:v0.1", "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {name: nginx, newTag: '1.25'}}\n").await.unwrap();
    assert_eq!(
        item(&v, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );

    let v = eval(
        &mut c,
        "ensure-name-substring:v0.1",
        "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {prepend: prod-}}\n",
    )
    .await
    .unwrap();
    assert_eq!(item(&v, "Deployment")["metadata"]["name"], "prod-web");

    let v = eval(
        &mut c,
        "upsert-resource:v0.2",
        "  {apiVersion: v1, kind: Service, metadata: {name: web, namespace: old}}\n",
    )
    .await
    .unwrap();
    assert_eq!(
        item(&v, "Service")["metadata"]["annotations"]["internal.config.kubernetes.io/path"],
        "old/service_web.yaml"
    );

    let v = eval(
        &mut c,
        "remove-local-config-resources:v0.1",
        "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}}\n",
    )
    .await
    .unwrap();
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] != "Kptfile")
    );

    let v = eval(&mut c, "set-enforcement-action:v0.1", "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {enforcementAction: warn}}\n").await.unwrap();
    assert_eq!(
        item(&v, "K8sRequiredLabels")["spec"]["enforcementAction"],
        "warn"
    );

    let v = eval(
        &mut c,
        "starlark:v0.5",
        "  apiVersion: fn.kpt.dev/v1alpha1\n  kind: StarlarkRun\n  metadata: {name: s}\n  source: |\n    for r in ctx.resource_list[\"items\"]:\n      r[\"metadata\"][\"labels\"] = {\"by\": \"starlark\"}\n",
    )
    .await
    .unwrap();
    assert_eq!(
        item(&v, "ConfigMap")["metadata"]["labels"]["by"],
        "starlark"
    );
}

#[tokio::test]
async fn exec_functions_and_errors() {
    let s = start(6 << 20).await;
    let mut c = client(&s).await;

    let rl = format!(
        "{ITEMS}functionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: f}}}}\n"
    );
    let resp = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: rl.clone().into_bytes(),
            image: "example.com/fns/annotate:v1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let v: Value = porch_fn_runner::yaml::parse(&resp.resource_list).unwrap();
    assert_eq!(
        item(&v, "ConfigMap")["metadata"]["annotations"]["exec"],
        "ran"
    );
    assert_eq!(resp.log, b"annotating\n");

    let err = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: rl.clone().into_bytes(),
            image: "fails:v1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(
        err.message(),
        "Failed to execute function \"fails:v1\": exit status 2 (boom)"
    );

    let err = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: rl.clone().into_bytes(),
            image: "docker.io/me/unknown:v1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    // A function that fails with structured results.
    let err = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: rl.clone().into_bytes(),
            image: "set-labels:v0.2".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert!(
        err.message().starts_with(
            "failed to evaluate function \"set-labels:v0.2\" with structured results:"
        ),
        "{}",
        err.message()
    );

    // Malformed input.
    let err = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: b"items: [unclosed".to_vec(),
            image: "set-labels:v0.2".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert!(
        err.message().contains("failed to parse input ResourceList"),
        "{}",
        err.message()
    );
    let err = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: b"kind: Deployment\n".to_vec(),
            image: "set-labels:v0.2".into(),
        })
        .await
        .unwrap_err();
    assert!(
        err.message().contains("not a ResourceList"),
        "{}",
        err.message()
    );

    // A starlark program that never ends hits the limit; the server keeps serving.
    let forever = format!(
        "{ITEMS}functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: f}}\n  data:\n    source: |\n      def f():\n        for i in range(1000000000):\n          for j in range(1000000000):\n            pass\n      f()\n"
    );
    let err = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: forever.into_bytes(),
            image: "starlark:v0.5".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert!(err.message().contains("time limit"), "{}", err.message());

    // Wrong kind of functionConfig.
    let err = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: format!(
                "{ITEMS}functionConfig: {{apiVersion: v1, kind: Secret, metadata: {{name: s}}}}\n"
            )
            .into_bytes(),
            image: "apply-replacements:v0.1".into(),
        })
        .await
        .unwrap_err();
    assert!(
        err.message()
            .contains("must be fn.kpt.dev/v1alpha1 ApplyReplacements"),
        "{}",
        err.message()
    );

    let v = eval(
        &mut c,
        "set-namespace",
        "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {namespace: still-up}}\n",
    )
    .await
    .unwrap();
    assert_eq!(item(&v, "ConfigMap")["metadata"]["namespace"], "still-up");
}

#[tokio::test]
async fn body_over_the_limit_is_refused_and_serving_goes_on() {
    let s = start(64 * 1024).await;
    let mut c = client(&s).await;
    let big = format!(
        "{ITEMS}functionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: f}}, data: {{namespace: x, pad: '{}'}}}}\n",
        "x".repeat(100 * 1024)
    );
    let err = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: big.into_bytes(),
            image: "set-namespace:v0.4".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{err:?}"
    );
    let v = eval(
        &mut c,
        "set-namespace:v0.4",
        "  {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {namespace: ok}}\n",
    )
    .await
    .unwrap();
    assert_eq!(item(&v, "ConfigMap")["metadata"]["namespace"], "ok");
}

#[tokio::test]
async fn run_serves_health_and_stops_on_shutdown() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: porch_fn_runner::FnRunnerArgs,
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cli = Cli::parse_from([
        "fn-runner",
        "--address",
        &format!("127.0.0.1:{port}"),
        "--disable-runtimes",
        "pod",
    ]);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(porch_fn_runner::run(cli.args, async {
        let _ = rx.await;
    }));
    let endpoint =
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap();
    let mut channel = None;
    for _ in 0..100 {
        if let Ok(ch) = endpoint.connect().await {
            channel = Some(ch);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let channel = channel.expect("server did not come up");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "evaluator.FunctionEvaluator".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let mut c = FunctionEvaluatorClient::new(channel);
    let resp = c
        .evaluate_function(EvaluateFunctionRequest {
            resource_list: format!("{ITEMS}functionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: f}}, data: {{namespace: n}}}}\n").into_bytes(),
            image: "set-namespace:v0.4".into(),
        })
        .await
        .unwrap();
    assert!(!resp.into_inner().resource_list.is_empty());
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let _ = Arc::new(());
}

#[tokio::test]
async fn bad_flags_are_refused() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: porch_fn_runner::FnRunnerArgs,
    }
    let cli = Cli::parse_from([
        "fn-runner",
        "--address",
        "127.0.0.1:0",
        "--disable-runtimes",
        "pods",
    ]);
    let err = porch_fn_runner::run(cli.args, async {}).await.unwrap_err();
    assert!(
        err.to_string().contains("unknown runtime \"pods\""),
        "{err}"
    );
}
