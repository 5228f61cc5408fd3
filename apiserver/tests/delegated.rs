//! `porch apiserver`'s delegated authentication and authorization, end to end: the real server
//! code on loopback TLS, a scripted Kubernetes API (TokenReview, SubjectAccessReview and the
//! `extension-apiserver-authentication` ConfigMap, every request recorded) reached through a
//! real kube client, and real TLS clients (reqwest over rustls, and kubectl).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use porch_apimachinery::discovery::{ResourceDescriptor, SubresourceDescriptor};
use porch_apimachinery::openapi::ResourceSchema;
use porch_apiserver::delegated::{self, DelegatedArgs, RunningDelegated};
use porch_apiserver::{AggregatedApiGroup, UserInfo};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// Certificates

struct Ca {
    cert_pem: String,
    key: KeyPair,
    params: CertificateParams,
}

impl Ca {
    fn new(cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert_pem = params.self_signed(&key).unwrap().pem();
        Ca {
            cert_pem,
            key,
            params,
        }
    }

    /// A client certificate (clientAuth) with this CN and organizations: (cert PEM, key PEM).
    fn client(&self, cn: &str, orgs: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        for o in orgs {
            dn.push(DnType::OrganizationName, *o);
        }
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let issuer = Issuer::new(self.params.clone(), &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

// ---------------------------------------------------------------------------------------------
// The scripted Kubernetes API

#[derive(Default)]
struct Script {
    config_map: Option<BTreeMap<String, String>>,
    /// token -> (username, groups)
    tokens: HashMap<String, (String, Vec<String>)>,
    /// username -> verbs it may use on anything
    allowed: HashMap<String, Vec<String>>,
    /// Every request: (path, body).
    seen: Vec<(String, Value)>,
}

type Scripted = Arc<Mutex<Script>>;

async fn kube_config_map(State(s): State<Scripted>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut s = s.lock().unwrap();
    s.seen.push((
        "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication".into(),
        Value::Null,
    ));
    match &s.config_map {
        Some(data) => Json(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "extension-apiserver-authentication", "namespace": "kube-system"},
            "data": data,
        }))
        .into_response(),
        None => (
            http::StatusCode::NOT_FOUND,
            Json(json!({
                "apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404,
                "message": "configmaps \"extension-apiserver-authentication\" not found",
            })),
        )
            .into_response(),
    }
}

async fn kube_token_review(State(s): State<Scripted>, Json(body): Json<Value>) -> Json<Value> {
    let mut s = s.lock().unwrap();
    s.seen.push((
        "/apis/authentication.k8s.io/v1/tokenreviews".into(),
        body.clone(),
    ));
    let token = body["spec"]["token"].as_str().unwrap_or_default();
    let status = match s.tokens.get(token) {
        Some((user, groups)) => json!({
            "authenticated": true,
            "user": {"username": user, "uid": format!("uid-{user}"), "groups": groups, "extra": {"scopes": ["all"]}},
        }),
        None => json!({"authenticated": false, "error": "invalid bearer token"}),
    };
    Json(json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "metadata": {}, "spec": body["spec"], "status": status,
    }))
}

async fn kube_sar(State(s): State<Scripted>, Json(body): Json<Value>) -> Json<Value> {
    let mut s = s.lock().unwrap();
    s.seen.push((
        "/apis/authorization.k8s.io/v1/subjectaccessreviews".into(),
        body.clone(),
    ));
    let spec = &body["spec"];
    let user = spec["user"].as_str().unwrap_or_default();
    let verb = spec["resourceAttributes"]["verb"]
        .as_str()
        .or(spec["nonResourceAttributes"]["verb"].as_str())
        .unwrap_or_default();
    let allowed = s
        .allowed
        .get(user)
        .is_some_and(|verbs| verbs.iter().any(|v| v == verb));
    let status = if allowed {
        json!({"allowed": true, "reason": "RBAC: allowed"})
    } else {
        json!({"allowed": false})
    };
    Json(json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "metadata": {}, "spec": spec, "status": status,
    }))
}

struct KubeApi {
    script: Scripted,
    client: kube::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl KubeApi {
    async fn start(script: Script) -> KubeApi {
        let script = Arc::new(Mutex::new(script));
        let app = Router::new()
            .route(
                "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication",
                get(kube_config_map),
            )
            .route(
                "/apis/authentication.k8s.io/v1/tokenreviews",
                post(kube_token_review),
            )
            .route(
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                post(kube_sar),
            )
            .with_state(script.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let cfg = kube::Config::new(format!("http://{addr}").parse().unwrap());
        let client = kube::Client::try_from(cfg).unwrap();
        KubeApi {
            script,
            client,
            task,
        }
    }

    fn seen(&self, path_suffix: &str) -> Vec<Value> {
        self.script
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|(p, _)| p.ends_with(path_suffix))
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn sars(&self) -> Vec<Value> {
        self.seen("subjectaccessreviews")
    }

    fn token_reviews(&self) -> Vec<Value> {
        self.seen("tokenreviews")
    }
}

// ---------------------------------------------------------------------------------------------
// A porch.kpt.dev group that reports who called it

struct EchoGroup;

fn descriptor() -> ResourceDescriptor {
    ResourceDescriptor {
        group: "porch.kpt.dev".into(),
        version: "v1alpha1".into(),
        resource: "packagerevisions".into(),
        singular: "packagerevision".into(),
        kind: "PackageRevision".into(),
        namespaced: true,
        verbs: [
            "get", "list", "watch", "create", "update", "patch", "delete",
        ]
        .map(String::from)
        .to_vec(),
        short_names: vec![],
        categories: vec![],
        subresources: vec![SubresourceDescriptor {
            name: "approval".into(),
            kind: "PackageRevision".into(),
            verbs: vec!["get".into(), "update".into()],
        }],
    }
}

fn revision(ns: &str, name: &str, user: &UserInfo) -> Value {
    json!({
        "apiVersion": "porch.kpt.dev/v1alpha1", "kind": "PackageRevision",
        "metadata": {
            "name": name, "namespace": ns, "uid": format!("uid-{name}"), "resourceVersion": "1",
            "creationTimestamp": "2026-11-21T00:00:00Z",
            "annotations": {"test/user": user.name, "test/groups": user.groups.join(",")},
        },
        "spec": {"packageName": "pkg", "repository": "repo", "lifecycle": "Draft"},
    })
}

impl AggregatedApiGroup for EchoGroup {
    fn group(&self) -> String {
        "porch.kpt.dev".into()
    }
    fn versions(&self) -> Vec<String> {
        vec!["v1alpha1".into()]
    }
    fn resources(&self) -> Vec<ResourceDescriptor> {
        vec![descriptor()]
    }
    fn schemas(&self, version: &str) -> Vec<ResourceSchema> {
        if version != "v1alpha1" {
            return vec![];
        }
        vec![ResourceSchema {
            descriptor: descriptor(),
            schema: json!({"type": "object", "properties": {"spec": {"type": "object"}}}),
        }]
    }
    fn router(&self) -> Router {
        Router::new()
            .route(
                "/v1alpha1",
                get(|| async {
                    Json(porch_apimachinery::discovery::api_resource_list(
                        "porch.kpt.dev",
                        "v1alpha1",
                        &[descriptor()],
                    ))
                }),
            )
            .route(
                "/v1alpha1/namespaces/{ns}/packagerevisions",
                get(
                    |Path(ns): Path<String>, Extension(user): Extension<UserInfo>| async move {
                        Json(json!({
                            "apiVersion": "porch.kpt.dev/v1alpha1", "kind": "PackageRevisionList",
                            "metadata": {"resourceVersion": "1"},
                            "items": [revision(&ns, "repo.pkg.v1", &user), revision(&ns, "repo.pkg.v2", &user)],
                        }))
                    },
                ),
            )
            .route(
                "/v1alpha1/namespaces/{ns}/packagerevisions/{name}",
                get(
                    |Path((ns, name)): Path<(String, String)>,
                     Extension(user): Extension<UserInfo>| async move {
                        Json(revision(&ns, &name, &user))
                    },
                ),
            )
            .route(
                "/v1alpha1/namespaces/{ns}/packagerevisions/{name}/approval",
                axum::routing::put(
                    |Path((ns, name)): Path<(String, String)>,
                     Extension(user): Extension<UserInfo>| async move {
                        Json(revision(&ns, &name, &user))
                    },
                ),
            )
    }
}

// ---------------------------------------------------------------------------------------------
// The server under test and its clients

const FRONT_PROXY_CN: &str = "front-proxy-client";
const PR_PATH: &str = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns1/packagerevisions";

struct Fixture {
    kube: KubeApi,
    server: Option<RunningDelegated>,
    front_proxy_ca: Ca,
    other_ca: Ca,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Fixture {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let front_proxy_ca = Ca::new("front-proxy-ca");
        let other_ca = Ca::new("some-other-ca");
        let mut script = Script {
            config_map: Some(BTreeMap::from([
                (
                    "requestheader-client-ca-file".into(),
                    front_proxy_ca.cert_pem.clone(),
                ),
                (
                    "requestheader-allowed-names".into(),
                    json!([FRONT_PROXY_CN]).to_string(),
                ),
                (
                    "requestheader-username-headers".into(),
                    json!(["X-Remote-User"]).to_string(),
                ),
                (
                    "requestheader-group-headers".into(),
                    json!(["X-Remote-Group"]).to_string(),
                ),
                (
                    "requestheader-extra-headers-prefix".into(),
                    json!(["X-Remote-Extra-"]).to_string(),
                ),
                ("client-ca-file".into(), other_ca.cert_pem.clone()),
            ])),
            ..Default::default()
        };
        script.tokens.insert(
            "alice-token".into(),
            (
                "alice".into(),
                vec!["dev".into(), "system:authenticated".into()],
            ),
        );
        script
            .tokens
            .insert("mallory-token".into(), ("mallory".into(), vec![]));
        script.allowed.insert(
            "alice".into(),
            ["get", "list", "watch", "update"]
                .map(String::from)
                .to_vec(),
        );
        script
            .allowed
            .insert("bob".into(), vec!["get".into(), "list".into()]);
        let kube = KubeApi::start(script).await;
        let dir = tempfile::tempdir().unwrap();
        let args = DelegatedArgs {
            secure_port: 0,
            cert_dir: dir.path().join("certs"),
            ..Default::default()
        };
        let server = delegated::start(&args, vec![Arc::new(EchoGroup)], kube.client.clone())
            .await
            .unwrap();
        Fixture {
            kube,
            server: Some(server),
            front_proxy_ca,
            other_ca,
            _dir: dir,
        }
    }

    fn server(&self) -> &RunningDelegated {
        self.server.as_ref().unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server().url)
    }

    /// A TLS client trusting the server's generated CA, optionally presenting a certificate.
    fn client(&self, identity: Option<&(String, String)>) -> reqwest::Client {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(self.server().ca_pem.as_ref().unwrap().as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let cfg = match identity {
            Some((cert, key)) => {
                let chain: Vec<CertificateDer<'static>> =
                    CertificateDer::pem_slice_iter(cert.as_bytes())
                        .map(Result::unwrap)
                        .collect();
                let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
            None => builder.with_no_client_auth(),
        };
        reqwest::Client::builder()
            .tls_backend_preconfigured(cfg)
            .build()
            .unwrap()
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }
}

async fn body(r: reqwest::Response) -> (u16, Value) {
    let code = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn assert_unauthorized((code, v): (u16, Value)) {
    assert_eq!(code, 401, "{v}");
    assert_eq!(v["kind"], "Status");
    assert_eq!(v["reason"], "Unauthorized");
    assert_eq!(v["message"], "Unauthorized");
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn front_proxy_certificate_and_headers_authenticate() {
    let f = Fixture::start().await;
    let proxy = f.front_proxy_ca.client(FRONT_PROXY_CN, &[]);
    let c = f.client(Some(&proxy));
    let r = c
        .get(f.url(&format!("{PR_PATH}/repo.pkg.v1")))
        .header("X-Remote-User", "alice")
        .header("X-Remote-Group", "dev")
        .header("X-Remote-Group", "ops")
        .header("X-Remote-Extra-Acme.com%2Fproject", "p1")
        .send()
        .await
        .unwrap();
    let (code, v) = body(r).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["metadata"]["annotations"]["test/user"], "alice");
    assert_eq!(
        v["metadata"]["annotations"]["test/groups"],
        "dev,ops,system:authenticated"
    );
    // No TokenReview; one SubjectAccessReview with the proxy's user and the request's attributes.
    assert!(f.kube.token_reviews().is_empty());
    let sars = f.kube.sars();
    assert_eq!(sars.len(), 1);
    let spec = &sars[0]["spec"];
    assert_eq!(spec["user"], "alice");
    assert_eq!(
        spec["groups"],
        json!(["dev", "ops", "system:authenticated"])
    );
    assert_eq!(spec["extra"], json!({"acme.com/project": ["p1"]}));
    assert_eq!(
        spec["resourceAttributes"],
        json!({"namespace": "ns1", "verb": "get", "group": "porch.kpt.dev", "version": "v1alpha1",
               "resource": "packagerevisions", "name": "repo.pkg.v1"})
    );
    // kube-aggregator's availability check: discovery as system:kube-aggregator, no review.
    let r = c
        .get(f.url("/apis/porch.kpt.dev/v1alpha1"))
        .header("X-Remote-User", "system:kube-aggregator")
        .header("X-Remote-Group", "system:masters")
        .send()
        .await
        .unwrap();
    let (code, v) = body(r).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["groupVersion"], "porch.kpt.dev/v1alpha1");
    assert_eq!(f.kube.sars().len(), 1);
    f.stop().await;
}

#[tokio::test]
async fn a_rotated_front_proxy_ca_is_picked_up_on_refresh() {
    let f = Fixture::start().await;
    let old_proxy = f.front_proxy_ca.client(FRONT_PROXY_CN, &[]);
    let new_ca = Ca::new("front-proxy-ca-2");
    let new_proxy = new_ca.client(FRONT_PROXY_CN, &[]);
    let get = |id: &(String, String)| {
        f.client(Some(id))
            .get(f.url(PR_PATH))
            .header("X-Remote-User", "alice")
            .send()
    };
    assert_eq!(get(&old_proxy).await.unwrap().status().as_u16(), 200);
    assert_eq!(get(&new_proxy).await.unwrap().status().as_u16(), 401);
    f.kube
        .script
        .lock()
        .unwrap()
        .config_map
        .as_mut()
        .unwrap()
        .insert(
            "requestheader-client-ca-file".into(),
            new_ca.cert_pem.clone(),
        );
    assert!(f.server().authenticator.refresh().await.unwrap());
    assert_eq!(get(&old_proxy).await.unwrap().status().as_u16(), 401);
    assert_eq!(get(&new_proxy).await.unwrap().status().as_u16(), 200);
    f.stop().await;
}

#[tokio::test]
async fn front_proxy_certificates_from_another_ca_or_with_another_cn_are_rejected() {
    let f = Fixture::start().await;
    // Signed by a CA the server does not trust for the front proxy.
    let stranger = Ca::new("front-proxy-ca").client(FRONT_PROXY_CN, &[]);
    // Signed by the right CA but with a common name not in requestheader-allowed-names.
    let wrong_cn = f.front_proxy_ca.client("not-the-aggregator", &[]);
    for id in [stranger, wrong_cn] {
        let r = f
            .client(Some(&id))
            .get(f.url(PR_PATH))
            .header("X-Remote-User", "alice")
            .header("X-Remote-Group", "system:masters")
            .send()
            .await
            .unwrap();
        assert_unauthorized(body(r).await);
    }
    // A front-proxy certificate without a username header is not a user either.
    let proxy = f.front_proxy_ca.client(FRONT_PROXY_CN, &[]);
    let r = f
        .client(Some(&proxy))
        .get(f.url(PR_PATH))
        .send()
        .await
        .unwrap();
    assert_unauthorized(body(r).await);
    assert!(f.kube.sars().is_empty());
    f.stop().await;
}

#[tokio::test]
async fn spoofed_remote_user_headers_are_ignored_for_token_clients() {
    let f = Fixture::start().await;
    let r = f
        .client(None)
        .get(f.url(&format!("{PR_PATH}/x")))
        .bearer_auth("alice-token")
        .header("X-Remote-User", "admin")
        .header("X-Remote-Group", "system:masters")
        .send()
        .await
        .unwrap();
    let (code, v) = body(r).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["metadata"]["annotations"]["test/user"], "alice");
    assert_eq!(
        v["metadata"]["annotations"]["test/groups"],
        "dev,system:authenticated"
    );
    f.stop().await;
}

#[tokio::test]
async fn client_ca_certificates_authenticate_by_cn_and_organization() {
    let f = Fixture::start().await;
    let bob = f.other_ca.client("bob", &["team-a"]);
    let r = f
        .client(Some(&bob))
        .get(f.url(&format!("{PR_PATH}/x")))
        .send()
        .await
        .unwrap();
    let (code, v) = body(r).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["metadata"]["annotations"]["test/user"], "bob");
    assert_eq!(
        v["metadata"]["annotations"]["test/groups"],
        "team-a,system:authenticated"
    );
    f.stop().await;
}

#[tokio::test]
async fn bearer_tokens_go_through_token_review_and_are_cached() {
    let f = Fixture::start().await;
    let c = f.client(None);
    for _ in 0..3 {
        let r = c
            .get(f.url(PR_PATH))
            .bearer_auth("alice-token")
            .send()
            .await
            .unwrap();
        let (code, v) = body(r).await;
        assert_eq!(code, 200, "{v}");
        assert_eq!(
            v["items"][0]["metadata"]["annotations"]["test/user"],
            "alice"
        );
    }
    let reviews = f.kube.token_reviews();
    assert_eq!(reviews.len(), 1, "the answer is cached");
    assert_eq!(reviews[0]["spec"]["token"], "alice-token");
    // Same attributes: one SubjectAccessReview, remembered for the next two requests.
    let sars = f.kube.sars();
    assert_eq!(sars.len(), 1);
    assert_eq!(sars[0]["spec"]["resourceAttributes"]["verb"], "list");
    assert_eq!(sars[0]["spec"]["uid"], "uid-alice");
    assert_eq!(sars[0]["spec"]["extra"], json!({"scopes": ["all"]}));

    // A different attribute set is another SubjectAccessReview.
    let r = c
        .get(f.url(&format!(
            "{PR_PATH}?watch=false&fieldSelector=metadata.name%3Drepo.pkg.v1"
        )))
        .bearer_auth("alice-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let sars = f.kube.sars();
    assert_eq!(sars.len(), 2);
    assert_eq!(sars[1]["spec"]["resourceAttributes"]["name"], "repo.pkg.v1");

    // Unknown tokens and no credentials at all: 401 Status.
    for _ in 0..2 {
        let r = c
            .get(f.url(PR_PATH))
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap();
        assert_unauthorized(body(r).await);
    }
    assert_eq!(f.kube.token_reviews().len(), 2, "rejections are cached too");
    let r = c.get(f.url(PR_PATH)).send().await.unwrap();
    assert_unauthorized(body(r).await);
    let r = c.get(f.url("/apis")).send().await.unwrap();
    assert_unauthorized(body(r).await);
    f.stop().await;
}

#[tokio::test]
async fn denied_requests_get_kube_forbidden_status() {
    let f = Fixture::start().await;
    let c = f.client(None);
    let r = c
        .get(f.url(&format!("{PR_PATH}/repo.pkg.v1")))
        .bearer_auth("mallory-token")
        .send()
        .await
        .unwrap();
    let (code, v) = body(r).await;
    assert_eq!(code, 403);
    assert_eq!(
        v,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "packagerevisions.porch.kpt.dev \"repo.pkg.v1\" is forbidden: User \"mallory\" cannot get resource \"packagerevisions\" in API group \"porch.kpt.dev\" in the namespace \"ns1\"",
            "reason": "Forbidden",
            "details": {"name": "repo.pkg.v1", "group": "porch.kpt.dev", "kind": "packagerevisions"},
            "code": 403,
        })
    );
    // The denial is cached: asking again makes no second review.
    let r = c
        .get(f.url(&format!("{PR_PATH}/repo.pkg.v1")))
        .bearer_auth("mallory-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(f.kube.sars().len(), 1);

    // The approval subresource is authorized on its own: bob may get but not update it.
    let bob = f.other_ca.client("bob", &[]);
    let r = f
        .client(Some(&bob))
        .put(f.url(&format!("{PR_PATH}/repo.pkg.v1/approval")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (code, v) = body(r).await;
    assert_eq!(code, 403);
    assert_eq!(
        v["message"],
        "packagerevisions.porch.kpt.dev \"repo.pkg.v1\" is forbidden: User \"bob\" cannot update resource \"packagerevisions/approval\" in API group \"porch.kpt.dev\" in the namespace \"ns1\""
    );
    let last = f.kube.sars().pop().unwrap();
    assert_eq!(
        last["spec"]["resourceAttributes"]["subresource"],
        "approval"
    );
    assert_eq!(last["spec"]["resourceAttributes"]["verb"], "update");
    // alice may.
    let r = c
        .put(f.url(&format!("{PR_PATH}/repo.pkg.v1/approval")))
        .bearer_auth("alice-token")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // Non-resource paths other than discovery and health go through nonResourceAttributes.
    let r = c
        .get(f.url("/metrics"))
        .bearer_auth("mallory-token")
        .send()
        .await
        .unwrap();
    let (code, v) = body(r).await;
    assert_eq!(code, 403);
    assert_eq!(
        v["message"],
        "forbidden: User \"mallory\" cannot get path \"/metrics\""
    );
    let last = f.kube.sars().pop().unwrap();
    assert_eq!(
        last["spec"]["nonResourceAttributes"],
        json!({"path": "/metrics", "verb": "get"})
    );
    f.stop().await;
}

#[tokio::test]
async fn health_needs_nothing_and_discovery_needs_no_review() {
    let f = Fixture::start().await;
    let c = f.client(None);
    for p in ["/healthz", "/livez", "/readyz"] {
        let r = c.get(f.url(p)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{p}");
        assert_eq!(r.text().await.unwrap(), "ok");
    }
    let get = |path: &str, accept: &str| {
        c.get(f.url(path))
            .bearer_auth("mallory-token")
            .header("Accept", accept)
            .send()
    };
    let (code, v) = body(get("/apis", "application/json").await.unwrap()).await;
    assert_eq!(code, 200);
    assert_eq!(v["kind"], "APIGroupList");
    assert_eq!(v["groups"][0]["name"], "porch.kpt.dev");
    let r = get(
        "/apis",
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    )
    .await
    .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let (_, v) = body(r).await;
    assert_eq!(v["kind"], "APIGroupDiscoveryList");
    assert_eq!(
        v["items"][0]["versions"][0]["resources"][0]["resource"],
        "packagerevisions"
    );
    let (code, v) = body(
        get("/apis/porch.kpt.dev", "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((code, v["kind"].as_str()), (200, Some("APIGroup")));
    let (code, v) = body(
        get("/apis/porch.kpt.dev/v1alpha1", "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((code, v["kind"].as_str()), (200, Some("APIResourceList")));
    let (code, v) = body(get("/openapi/v3", "application/json").await.unwrap()).await;
    assert_eq!(code, 200);
    let rel = v["paths"]["apis/porch.kpt.dev/v1alpha1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, v) = body(get(&rel, "application/json").await.unwrap()).await;
    assert_eq!(code, 200);
    assert!(v["components"]["schemas"].is_object(), "{v}");
    let (code, v) = body(get("/openapi/v2", "application/json").await.unwrap()).await;
    assert_eq!(code, 200);
    assert_eq!(v["swagger"], "2.0");
    // Only the served group: no core API, no other groups.
    let (code, _) = body(get("/api", "application/json").await.unwrap()).await;
    assert_eq!(code, 404);
    let (code, _) = body(get("/apis/apps/v1", "application/json").await.unwrap()).await;
    assert_eq!(code, 404);
    // mallory may not read any resource, yet discovery never asked the kube-apiserver.
    assert!(f.kube.sars().is_empty());
    f.stop().await;
}

#[tokio::test]
async fn kubectl_lists_packagerevisions_with_a_bearer_token() {
    let f = Fixture::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        porch_apiserver::kubeconfig::render(
            &f.server().url,
            f.server().ca_pem.as_ref().unwrap(),
            "alice-token",
        ),
    )
    .unwrap();
    let kubectl = |args: &[&str]| {
        let kc = kubeconfig.clone();
        let cache = dir.path().join("cache");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&kc)
                .arg("--cache-dir")
                .arg(&cache)
                .args(&args)
                .output()
                .unwrap()
        })
    };
    let out = kubectl(&[
        "get",
        "packagerevisions.porch.kpt.dev",
        "-n",
        "ns1",
        "-o",
        "name",
    ])
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        vec![
            "packagerevision.porch.kpt.dev/repo.pkg.v1",
            "packagerevision.porch.kpt.dev/repo.pkg.v2"
        ]
    );
    let out = kubectl(&[
        "get",
        "packagerevision",
        "repo.pkg.v1",
        "-n",
        "ns1",
        "-o",
        "jsonpath={.metadata.annotations.test/user}",
    ])
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "alice");
    // kubectl's own checks show the server's answer.
    let out = kubectl(&[
        "--token",
        "mallory-token",
        "get",
        "packagerevisions",
        "-n",
        "ns1",
    ])
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "User \"mallory\" cannot list resource \"packagerevisions\" in API group \"porch.kpt.dev\" in the namespace \"ns1\""
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    f.stop().await;
}

#[tokio::test]
async fn a_missing_auth_config_map_leaves_tokens_working() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut script = Script::default();
    script.tokens.insert("t".into(), ("carol".into(), vec![]));
    script.allowed.insert("carol".into(), vec!["list".into()]);
    let kube = KubeApi::start(script).await;
    let dir = tempfile::tempdir().unwrap();
    let args = DelegatedArgs {
        secure_port: 0,
        cert_dir: dir.path().join("certs"),
        ..Default::default()
    };
    let server = delegated::start(&args, vec![Arc::new(EchoGroup)], kube.client.clone())
        .await
        .unwrap();
    assert!(server.authenticator.config().request_header.is_none());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(server.ca_pem.as_ref().unwrap().as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let c = reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .build()
        .unwrap();
    let r = c
        .get(format!("{}{PR_PATH}", server.url))
        .bearer_auth("t")
        .header("X-Remote-User", "admin")
        .send()
        .await
        .unwrap();
    let (code, v) = body(r).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        v["items"][0]["metadata"]["annotations"]["test/user"],
        "carol"
    );
    server.stop().await;
}

#[tokio::test]
async fn readyz_reports_failing_checks_until_they_pass() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kube = KubeApi::start(Script::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let args = DelegatedArgs {
        secure_port: 0,
        cert_dir: dir.path().join("certs"),
        ..Default::default()
    };
    let synced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = synced.clone();
    let server = delegated::start_full(
        &args,
        vec![Arc::new(EchoGroup)],
        Arc::new(delegated::backend::KubeBackend::new(kube.client.clone())),
        Arc::new(delegated::cache::SystemClock),
        vec![(
            "cache-synced".into(),
            Arc::new(move || flag.load(std::sync::atomic::Ordering::SeqCst)),
        )],
    )
    .await
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(server.ca_pem.as_ref().unwrap().as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let c = reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .build()
        .unwrap();
    let r = c
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    let text = r.text().await.unwrap();
    assert!(text.contains("[-]cache-synced failed"), "{text}");
    // Liveness does not depend on readiness.
    let r = c.get(format!("{}/livez", server.url)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    synced.store(true, std::sync::atomic::Ordering::SeqCst);
    let r = c
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    server.stop().await;
}
