//! An in-process fake Kubernetes API for porchctl tests: an axum `Router` that answers scripted
//! responses and records every request, handed to `kube::Client::new`.

#![allow(dead_code)]

pub mod porch_sim;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// The Accept header.
    pub accept: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

#[derive(Clone)]
struct Scripted {
    status: u16,
    content_type: &'static str,
    body: String,
}

#[derive(Default)]
struct State {
    routes: HashMap<(String, String), VecDeque<Scripted>>,
    log: Vec<Recorded>,
}

/// The fake API server.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a JSON response for `method path` (the last one repeats).
    pub fn on(&self, method: &str, path: &str, status: u16, body: Value) -> &Self {
        self.push(
            method,
            path,
            Scripted {
                status,
                content_type: "application/json",
                body: body.to_string(),
            },
        );
        self
    }

    /// Queues a Status error response.
    pub fn fail(&self, method: &str, path: &str, code: u16, reason: &str, message: &str) -> &Self {
        self.on(method, path, code, status(code, reason, message))
    }

    fn push(&self, method: &str, path: &str, s: Scripted) {
        let mut st = self.state.lock().unwrap();
        st.routes
            .entry((method.to_string(), path.to_string()))
            .or_default()
            .push_back(s);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().log.clone()
    }

    /// `METHOD path?query` of every request so far.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                if r.query.is_empty() {
                    format!("{} {}", r.method, r.path)
                } else {
                    format!("{} {}?{}", r.method, r.path, r.query)
                }
            })
            .collect()
    }

    /// The body of the n-th request with this method and path.
    pub fn body_of(&self, method: &str, path: &str) -> Value {
        self.requests()
            .into_iter()
            .find(|r| r.method == method && r.path == path)
            .and_then(|r| r.body)
            .unwrap_or_else(|| {
                panic!(
                    "no {method} {path} with a body in {:?}",
                    self.request_lines()
                )
            })
    }

    async fn handle(self, req: Request) -> Response {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = to_bytes(req.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let body = if bytes.is_empty() {
            None
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        let scripted = {
            let mut st = self.state.lock().unwrap();
            st.log.push(Recorded {
                method: method.clone(),
                path: path.clone(),
                query,
                accept,
                body,
            });
            match st.routes.get_mut(&(method.clone(), path.clone())) {
                Some(q) if q.len() > 1 => q.pop_front(),
                Some(q) => q.front().cloned(),
                None => None,
            }
        };
        let s = scripted.unwrap_or_else(|| Scripted {
            status: 404,
            content_type: "application/json",
            body: status(404, "NotFound", &format!("no route for {method} {path}")).to_string(),
        });
        Response::builder()
            .status(StatusCode::from_u16(s.status).unwrap())
            .header(header::CONTENT_TYPE, s.content_type)
            .body(Body::from(s.body))
            .unwrap()
    }

    /// The fake as an axum Router.
    pub fn router(&self) -> axum::Router {
        let me = self.clone();
        axum::Router::new().fallback(move |req: Request| me.clone().handle(req))
    }

    /// A kube client whose transport is this fake.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.router(), "default")
    }

    /// Serves the fake over plain HTTP on 127.0.0.1 until the returned handle is aborted.
    pub async fn serve(&self) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = self.router();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        (addr, handle)
    }

    /// Runs porchctl with `args` (without the program name) and stdin.
    pub async fn run(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let mut argv = vec!["porchctl".to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let mut io = porchctl::Io::with_stdin(stdin);
        let connector = porchctl::Connector::Client {
            client: self.client(),
            namespace: "default".into(),
        };
        let code = porchctl::run(argv, connector, &mut io).await;
        (code, io.stdout_text(), io.stderr_text())
    }
}

/// A Kubernetes `Status` failure.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})
}

pub const PR_BASE: &str = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions";
pub const PRR_BASE: &str = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisionresources";
pub const REPO_BASE: &str = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/ns/repositories";
pub const SECRET_BASE: &str = "/api/v1/namespaces/ns/secrets";

/// A PackageRevision object.
pub fn pr(name: &str, pkg: &str, ws: &str, rev: i64, lifecycle: &str) -> Value {
    let mut v = json!({
        "apiVersion": "porch.kpt.dev/v1alpha1",
        "kind": "PackageRevision",
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": "abc"},
        "spec": {"packageName": pkg, "workspaceName": ws, "repository": "git", "lifecycle": lifecycle},
        "status": {"upstreamLock": {}, "publishTimestamp": null},
    });
    if rev != 0 {
        v["spec"]["revision"] = json!(rev);
    }
    v
}

/// A list of objects.
pub fn list(kind: &str, api_version: &str, items: Vec<Value>) -> Value {
    json!({"kind": kind, "apiVersion": api_version, "metadata": {}, "items": items})
}

/// The PackageRevision server Table (upstream's columns).
pub fn pr_table(rows: &[(&str, &str, &str, i64, bool, &str, &str)]) -> Value {
    let cols: Vec<Value> = [
        ("Name", "string"),
        ("Package", "string"),
        ("WorkspaceName", "string"),
        ("Revision", "integer"),
        ("Latest", "boolean"),
        ("Lifecycle", "string"),
        ("Repository", "string"),
    ]
    .iter()
    .map(|(n, t)| json!({"name": n, "type": t, "format": "", "description": "", "priority": 0}))
    .collect();
    let rows: Vec<Value> = rows
        .iter()
        .map(|(n, p, w, r, l, lc, repo)| {
            json!({"cells": [n, p, w, r, l, lc, repo], "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": n, "namespace": "ns"}}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": cols, "rows": rows})
}
