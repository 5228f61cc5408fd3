//! Request sequences of the pod runtime against a scripted Kubernetes API.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use kpt::fn_eval::{EvalError, Evaluator, FunctionRef};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

use super::*;

type Handle = mock::Handle<Request<Body>, Response<Body>>;
const NS: &str = "porch-fn-system";

struct FakeResolver;
impl ImageResolver for FakeResolver {
    fn resolve<'a>(&'a self, _image: &'a str) -> BoxFuture<'a, Result<ImageInfo, String>> {
        Box::pin(async {
            Ok(ImageInfo {
                digest: "sha256:0123456789abcdef".into(),
                entrypoint: vec!["function".into()],
            })
        })
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Expect one request; answer it; return what was sent.
async fn expect(h: &mut Handle, method: Method, path: &str, status: u16, reply: Value) -> Value {
    let (req, send) = tokio::time::timeout(Duration::from_secs(10), h.next_request())
        .await
        .unwrap_or_else(|_| panic!("no request arrived; expected {method} {path}"))
        .expect("client gone");
    let uri = req.uri().clone();
    let got = format!("{} {}", req.method(), uri.path());
    let query = decode(uri.query().unwrap_or(""));
    let (want_path, want_query) = path.split_once('?').unwrap_or((path, ""));
    assert_eq!(got, format!("{method} {want_path}"), "query: {query}");
    assert!(
        query.contains(want_query),
        "query {query:?} lacks {want_query:?}"
    );
    let bytes = req.into_body().collect().await.unwrap().to_bytes();
    let sent = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    send.send_response(
        Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(&reply).unwrap()))
            .unwrap(),
    );
    sent
}

fn not_found(what: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": format!("{what} not found"), "reason": "NotFound", "code": 404})
}

fn pod_status(name: &str, phase: &str, ip: Option<&str>) -> Value {
    let mut status = json!({"phase": phase});
    if let Some(ip) = ip {
        status["podIP"] = json!(ip);
        status["conditions"] = json!([{"type": "Ready", "status": "True"}]);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS}, "spec": {"containers": []}, "status": status})
}

fn with_rv(mut v: Value, rv: &str) -> Value {
    v["metadata"]["resourceVersion"] = json!(rv);
    v
}

/// A loopback gRPC server standing in for the wrapper server inside a pod.
async fn fake_pod_server() -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let native: Arc<dyn Evaluator> = Arc::new(crate::NativeEvaluator::new(
        crate::image::GHCR_PREFIX.into(),
        Duration::from_secs(5),
    ));
    tokio::spawn(crate::serve(listener, native, 1 << 20, async {
        let _ = rx.await;
    }));
    (addr, tx)
}

fn config(connect: Option<String>) -> PodConfig {
    let mut cfg = PodConfig::new(NS, "wrapper:v1");
    cfg.poll_interval = Duration::from_millis(1);
    cfg.ready_timeout = Duration::from_secs(5);
    cfg.ttl = Duration::ZERO;
    cfg.connect_override = connect;
    cfg
}

const RL: &[u8] = b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {namespace: prod}}\n";

#[tokio::test]
async fn starts_a_pod_serves_through_it_and_collects_it() {
    let id = "set-namespace-v045-0-01234567";
    let name = format!("{id}-abcde");
    let image = "set-namespace:v0.4.5";
    let qualified = "ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4.5";
    let base = format!("/api/v1/namespaces/{NS}");
    let st = format!("/apis/config.porch.kpt.dev/v1alpha1/namespaces/{NS}/servicetemplates");

    let (addr, stop) = fake_pod_server().await;
    let (svc, mut h) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, NS);
    let pods = Arc::new(PodEvaluator::new(
        client,
        config(Some(addr)),
        Arc::new(FakeResolver),
    ));
    let p = pods.clone();
    let call = tokio::spawn(async move { p.evaluate(&FunctionRef::Image(image.into()), RL).await });

    expect(
        &mut h,
        Method::GET,
        &format!("{base}/podtemplates/base-pod-template"),
        404,
        not_found("podtemplates"),
    )
    .await;
    let default_tpl =
        serde_json::to_value(templates::default_pod_template(NS, "wrapper:v1").unwrap()).unwrap();
    let sent = expect(
        &mut h,
        Method::POST,
        &format!("{base}/podtemplates"),
        201,
        with_rv(default_tpl.clone(), "7"),
    )
    .await;
    assert_eq!(sent["metadata"]["name"], "base-pod-template");
    expect(
        &mut h,
        Method::GET,
        &format!("{st}/base-service-template"),
        404,
        not_found("servicetemplates"),
    )
    .await;
    let sent = expect(
        &mut h,
        Method::POST,
        &st,
        201,
        templates::default_service_template(NS),
    )
    .await;
    assert_eq!(sent["kind"], "ServiceTemplate");
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/pods?labelSelector=fn.kpt.dev/image={id}"),
        200,
        json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [pod_status("stale", "Running", None)]}),
    )
    .await;
    expect(
        &mut h,
        Method::DELETE,
        &format!("{base}/pods/stale"),
        200,
        pod_status("stale", "Running", None),
    )
    .await;
    let sent = expect(
        &mut h,
        Method::POST,
        &format!("{base}/pods"),
        201,
        pod_status(&name, "Pending", None),
    )
    .await;
    assert_eq!(sent["metadata"]["generateName"], format!("{id}-"));
    assert_eq!(sent["metadata"]["labels"]["fn.kpt.dev/image"], id);
    assert_eq!(
        sent["metadata"]["annotations"]["fn.kpt.dev/template-version"],
        "7"
    );
    assert_eq!(sent["spec"]["containers"][0]["image"], qualified);
    assert_eq!(
        sent["spec"]["containers"][0]["args"],
        json!([
            "--port",
            "9446",
            "--max-request-body-size",
            "6291456",
            "--",
            "function"
        ])
    );
    assert!(sent["spec"].get("imagePullSecrets").is_none());
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/services/{id}"),
        404,
        not_found("services"),
    )
    .await;
    let sent = expect(
        &mut h,
        Method::POST,
        &format!("{base}/services"),
        201,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": id}}),
    )
    .await;
    assert_eq!(sent["spec"]["selector"]["fn.kpt.dev/image"], id);
    assert_eq!(sent["spec"]["ports"][0]["port"], 9446);
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/pods/{name}"),
        200,
        pod_status(&name, "Pending", None),
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/pods/{name}"),
        200,
        pod_status(&name, "Running", Some("10.1.2.3")),
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/endpoints/{id}"),
        200,
        json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": id}, "subsets": [{"addresses": [{"ip": "10.1.2.3"}]}]}),
    )
    .await;

    let out = call.await.unwrap().unwrap();
    let text = String::from_utf8(out.resource_list).unwrap();
    assert!(text.contains("namespace: prod"), "{text}");
    assert_eq!(pods.slots(qualified).len(), 1);

    // Cached: the second call makes no API request at all.
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        pods.evaluate(&FunctionRef::Image(image.into()), RL),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(out.exit_code, 0);

    // Idle past the TTL (zero here): the collector checks, then deletes pod and service.
    let p = pods.clone();
    let gc = tokio::spawn(async move { p.collect_garbage().await });
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/pods/{name}"),
        200,
        pod_status(&name, "Running", Some("10.1.2.3")),
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/services/{id}"),
        200,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": id}}),
    )
    .await;
    expect(
        &mut h,
        Method::DELETE,
        &format!("{base}/pods/{name}"),
        200,
        pod_status(&name, "Running", None),
    )
    .await;
    expect(
        &mut h,
        Method::DELETE,
        &format!("{base}/services/{id}"),
        200,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": id}}),
    )
    .await;
    gc.await.unwrap();
    assert!(pods.slots(qualified).is_empty());
    let _ = stop.send(());
}

#[tokio::test]
async fn failed_pod_is_removed_and_reported_with_pull_secret() {
    let (svc, mut h) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, NS);
    let mut cfg = config(Some("127.0.0.1:1".into()));
    cfg.pull_secret = Some(PullSecret {
        name: "auth-secret".into(),
        docker_config_json: br#"{"auths":{}}"#.to_vec(),
    });
    let pods = Arc::new(PodEvaluator::new(client, cfg, Arc::new(FakeResolver)));
    let image = "example.com/private/fn:v1";
    let id = "fn-v1-0-01234567";
    let name = format!("{id}-xyz12");
    let p = pods.clone();
    let call = tokio::spawn(async move { p.evaluate(&FunctionRef::Image(image.into()), RL).await });

    let base = format!("/api/v1/namespaces/{NS}");
    let st = format!("/apis/config.porch.kpt.dev/v1alpha1/namespaces/{NS}/servicetemplates");
    let tpl = with_rv(
        serde_json::to_value(templates::default_pod_template(NS, "wrapper:v1").unwrap()).unwrap(),
        "9",
    );
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/podtemplates/base-pod-template"),
        200,
        tpl,
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{st}/base-service-template"),
        200,
        templates::default_service_template(NS),
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/pods?labelSelector=fn.kpt.dev/image={id}"),
        200,
        json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": []}),
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/secrets/auth-secret"),
        404,
        not_found("secrets"),
    )
    .await;
    let sent = expect(
        &mut h,
        Method::POST,
        &format!("{base}/secrets"),
        201,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "auth-secret"}}),
    )
    .await;
    assert_eq!(sent["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(sent["data"][".dockerconfigjson"], "eyJhdXRocyI6e319");
    let sent = expect(
        &mut h,
        Method::POST,
        &format!("{base}/pods"),
        201,
        pod_status(&name, "Pending", None),
    )
    .await;
    assert_eq!(
        sent["spec"]["imagePullSecrets"],
        json!([{"name": "auth-secret"}])
    );
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/services/{id}"),
        200,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": id}}),
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/pods/{name}"),
        200,
        pod_status(&name, "Failed", None),
    )
    .await;
    expect(
        &mut h,
        Method::DELETE,
        &format!("{base}/pods/{name}"),
        200,
        pod_status(&name, "Failed", None),
    )
    .await;
    expect(
        &mut h,
        Method::DELETE,
        &format!("{base}/services/{id}"),
        404,
        not_found("services"),
    )
    .await;

    match call.await.unwrap() {
        Err(EvalError::Failed { message, .. }) => assert!(
            message.contains("did not start") && message.contains("Failed"),
            "{message}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(pods.slots(image).is_empty());
}

#[tokio::test]
async fn adopts_pods_of_the_current_template_and_deletes_others() {
    let (svc, mut h) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, NS);
    let pods = Arc::new(PodEvaluator::new(
        client,
        config(None),
        Arc::new(FakeResolver),
    ));
    let p = pods.clone();
    let adopt = tokio::spawn(async move { p.adopt_existing().await });
    let base = format!("/api/v1/namespaces/{NS}");
    let tpl = with_rv(
        serde_json::to_value(templates::default_pod_template(NS, "wrapper:v1").unwrap()).unwrap(),
        "7",
    );
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/podtemplates/base-pod-template"),
        200,
        tpl,
    )
    .await;
    let pod = |name: &str, id: &str, version: &str| {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "labels": {"fn.kpt.dev/image": id}, "annotations": {"fn.kpt.dev/template-version": version}},
               "spec": {"containers": [{"name": "function", "image": "ghcr.io/x/set-labels:v1"}]},
               "status": {"phase": "Running"}})
    };
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/pods?labelSelector=fn.kpt.dev/image"),
        200,
        json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [pod("cur-1", "cur", "7"), pod("old-1", "old", "3")]}),
    )
    .await;
    expect(
        &mut h,
        Method::DELETE,
        &format!("{base}/pods/old-1"),
        200,
        pod("old-1", "old", "3"),
    )
    .await;
    expect(
        &mut h,
        Method::DELETE,
        &format!("{base}/services/old"),
        200,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "old"}}),
    )
    .await;
    adopt.await.unwrap();
    let slots = pods.slots("ghcr.io/x/set-labels:v1");
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].pod, "cur-1");
    assert_eq!(slots[0].target, format!("cur.{NS}.svc.cluster.local:9446"));
}

#[tokio::test]
async fn warm_up_starts_one_pod_per_config_with_pod_tags() {
    let (svc, mut h) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, NS);
    // No connection target: the warm pod fails to start here, which ends the sequence.
    let pods = Arc::new(PodEvaluator::new(
        client,
        config(Some("127.0.0.1:1".into())),
        Arc::new(FakeResolver),
    ));
    let configs = crate::function_config::parse_all(
        "apiVersion: config.porch.kpt.dev/v1alpha1\nkind: FunctionConfig\nmetadata: {name: exec-only}\nspec:\n  image: set-labels\n  binaryExecutor: {tags: [v0.2], path: set-labels}\n---\napiVersion: config.porch.kpt.dev/v1alpha1\nkind: FunctionConfig\nmetadata: {name: fn}\nspec:\n  image: fn\n  prefixes: [example.com/fns, other.example.com]\n  podExecutor: {tags: [v2, v3]}\n",
        "test",
    )
    .unwrap();
    assert_eq!(configs.len(), 2);
    let p = pods.clone();
    let warm = tokio::spawn(async move { p.warm_up(&configs).await });

    // Only the config with pod tags warms, with its first prefix and first tag.
    let id = "fn-v2-0-01234567";
    let name = format!("{id}-warm1");
    let base = format!("/api/v1/namespaces/{NS}");
    let st = format!("/apis/config.porch.kpt.dev/v1alpha1/namespaces/{NS}/servicetemplates");
    let tpl = with_rv(
        serde_json::to_value(templates::default_pod_template(NS, "wrapper:v1").unwrap()).unwrap(),
        "3",
    );
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/podtemplates/base-pod-template"),
        200,
        tpl,
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{st}/base-service-template"),
        200,
        templates::default_service_template(NS),
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/pods?labelSelector=fn.kpt.dev/image={id}"),
        200,
        json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": []}),
    )
    .await;
    let sent = expect(
        &mut h,
        Method::POST,
        &format!("{base}/pods"),
        201,
        pod_status(&name, "Pending", None),
    )
    .await;
    let images: Vec<&str> = sent["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["image"].as_str())
        .collect();
    assert!(images.contains(&"example.com/fns/fn:v2"), "{sent}");
    assert_eq!(sent["metadata"]["labels"]["fn.kpt.dev/image"], id);
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/services/{id}"),
        200,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": id}}),
    )
    .await;
    expect(
        &mut h,
        Method::GET,
        &format!("{base}/pods/{name}"),
        200,
        pod_status(&name, "Failed", None),
    )
    .await;
    expect(
        &mut h,
        Method::DELETE,
        &format!("{base}/pods/{name}"),
        200,
        pod_status(&name, "Failed", None),
    )
    .await;
    expect(
        &mut h,
        Method::DELETE,
        &format!("{base}/services/{id}"),
        200,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": id}}),
    )
    .await;
    // A failed warm-up is logged, not fatal, and leaves no slot behind.
    tokio::time::timeout(Duration::from_secs(10), warm)
        .await
        .unwrap()
        .unwrap();
    assert!(pods.slots("example.com/fns/fn:v2").is_empty());
    assert!(
        tokio::time::timeout(Duration::from_millis(50), h.next_request())
            .await
            .is_err(),
        "no further requests"
    );
}
