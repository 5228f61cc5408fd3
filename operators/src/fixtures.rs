//! Test fixtures (controller-rs style): builders for Repositories and PackageRevs, a
//! [`RepositorySource`] double, and an `ApiServerVerifier` over `tower_test::mock::pair`
//! that checks each request a reconcile makes and answers like the API server would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Client;
use kube::api::ObjectMeta;
use kube::client::Body;
use porch_crds::config::v1alpha1::{
    GitRepository, PackageRev, Repository, RepositorySpec, RepositoryStatus,
};
use porch_crds::labels::REPOSITORY_FINALIZER;
use serde_json::{Value, json};

use crate::context::Context;
use crate::decision::SyncSettings;
use crate::metrics::Metrics;
use crate::source::{Access, FetchedRepository, RepositorySource, SourceError};

pub const NOW: &str = "2026-03-01T12:00:00Z";

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A Repository `blueprints` in `ns`, generation 1.
pub fn repository(url: &str) -> Repository {
    Repository {
        metadata: ObjectMeta {
            name: Some("blueprints".into()),
            namespace: Some("ns".into()),
            uid: Some("uid-1".into()),
            generation: Some(1),
            resource_version: Some("10".into()),
            ..ObjectMeta::default()
        },
        spec: RepositorySpec {
            git: Some(GitRepository {
                repo: url.into(),
                ..GitRepository::default()
            }),
            ..RepositorySpec::default()
        },
        status: None,
    }
}

pub trait RepositoryExt {
    fn finalized(self) -> Self;
    fn deleting(self) -> Self;
    fn synced_at(self, at: &str, head: &str, count: i64) -> Self;
}

impl RepositoryExt for Repository {
    fn finalized(mut self) -> Self {
        self.metadata.finalizers = Some(vec![REPOSITORY_FINALIZER.into()]);
        self
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(Time(ts("2026-03-01T11:59:00Z")));
        self
    }

    fn synced_at(mut self, at: &str, head: &str, count: i64) -> Self {
        let status = RepositoryStatus {
            conditions: vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: "Ready".into(),
                message: "Repository Ready".into(),
                last_transition_time: Time(ts("2026-03-01T09:00:00Z")),
                observed_generation: None,
            }],
            last_full_sync_time: Some(Time(ts(at))),
            observed_generation: 1,
            package_count: count,
            git_commit_hash: head.into(),
            next_full_sync_time: Some(Time(
                ts(at)
                    .checked_add(jiff::SignedDuration::from_hours(1))
                    .unwrap(),
            )),
            ..RepositoryStatus::default()
        };
        self.status = Some(status);
        self
    }
}

/// A scripted [`RepositorySource`].
pub struct FakeSource {
    pub result: Mutex<Result<FetchedRepository, SourceError>>,
    pub fetches: AtomicUsize,
    pub checks: AtomicUsize,
    pub released: AtomicUsize,
}

impl FakeSource {
    pub fn new(result: Result<FetchedRepository, SourceError>) -> Arc<Self> {
        Arc::new(Self {
            result: Mutex::new(result),
            fetches: AtomicUsize::new(0),
            checks: AtomicUsize::new(0),
            released: AtomicUsize::new(0),
        })
    }
}

impl RepositorySource for FakeSource {
    fn fetch<'a>(
        &'a self,
        _repo: &'a Repository,
        _access: &'a Access,
    ) -> BoxFuture<'a, Result<FetchedRepository, SourceError>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let r = self.result.lock().unwrap().clone();
        Box::pin(async move { r })
    }

    fn check<'a>(
        &'a self,
        _repo: &'a Repository,
        _access: &'a Access,
    ) -> BoxFuture<'a, Result<Option<String>, SourceError>> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        let r = self.result.lock().unwrap().clone().map(|f| f.version);
        Box::pin(async move { r })
    }

    fn release<'a>(&'a self, _repo: &'a Repository) -> BoxFuture<'a, ()> {
        self.released.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {})
    }
}

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// One request the code under test made.
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
    respond: tower_test::mock::SendResponse<Response<Body>>,
}

impl Seen {
    /// Answer with `status` and a JSON body.
    pub fn reply(self, status: u16, body: Value) {
        let response = Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        self.respond.send_response(response);
    }

    /// Answer 200 with `body`.
    pub fn ok(self, body: Value) {
        self.reply(200, body);
    }

    /// Answer with a Kubernetes `Status` failure.
    pub fn fail(self, code: u16, reason: &str) {
        self.reply(
            code,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                   "message": reason, "reason": reason, "code": code}),
        );
    }
}

/// The fake API server's side of the mock pair.
pub struct ApiServerVerifier(Handle);

impl ApiServerVerifier {
    /// The next request, asserting its method and path.
    pub async fn expect(&mut self, method: Method, path: &str) -> Seen {
        let (request, respond) =
            tokio::time::timeout(Duration::from_secs(2), self.0.next_request())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {method} {path}"))
                .unwrap_or_else(|| panic!("client gone before {method} {path}"));
        let (parts, body) = request.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        let seen = Seen {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            content_type: parts
                .headers
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
            body,
            respond,
        };
        assert_eq!(
            (&seen.method, seen.path.as_str()),
            (&method, path),
            "unexpected request (query {:?}, body {})",
            seen.query,
            seen.body
        );
        seen
    }

    /// The next request, whatever it is (`None` once the client is gone).
    pub async fn next_any(&mut self) -> Option<Seen> {
        let (request, respond) = self.0.next_request().await?;
        let (parts, body) = request.into_parts();
        let bytes = body.collect().await.ok()?.to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Some(Seen {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            content_type: String::new(),
            body,
            respond,
        })
    }

    /// Assert no further request arrives within a short while.
    pub async fn expect_silence(&mut self) {
        if let Ok(Some((request, _))) =
            tokio::time::timeout(Duration::from_millis(200), self.0.next_request()).await
        {
            panic!("unexpected request {} {}", request.method(), request.uri());
        }
    }
}

/// A kube client talking to a verifier.
pub fn mock_client() -> (Client, ApiServerVerifier) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), ApiServerVerifier(handle))
}

/// A context around a mock client with a fixed clock at [`NOW`].
pub fn test_context(source: Arc<dyn RepositorySource>) -> (Arc<Context>, ApiServerVerifier) {
    let (client, verifier) = mock_client();
    let mut ctx = Context::new(
        client,
        source,
        SyncSettings::default(),
        2,
        Arc::new(Metrics::default()),
        Arc::new(|| ts(NOW)),
    );
    // One write at a time: the scripted API sees a deterministic request order.
    ctx.write_concurrency = 1;
    (Arc::new(ctx), verifier)
}

/// A list response.
pub fn list_of(kind: &str, items: &[PackageRev]) -> Value {
    json!({"apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": kind,
           "metadata": {"resourceVersion": "100"}, "items": items})
}

/// The JSON of an object.
pub fn to_json<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap()
}
