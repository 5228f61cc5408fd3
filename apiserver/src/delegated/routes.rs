//! The HTTP surface of the aggregated server: health, `/version`, discovery (legacy and
//! aggregated v2) and OpenAPI for the served groups only, and each group's own handlers under
//! `/apis/<group>/`.

use crate::aggregated::AggregatedApiGroup;
use crate::api::response::{bytes_response, json_response, status_error};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use porch_apimachinery::StatusError;
use porch_apimachinery::discovery::{self as disc, GroupVersions, ResourceDescriptor};
use porch_apimachinery::negotiate::{Representation, negotiate};
use porch_apimachinery::openapi::{self, ResourceSchema};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tower::ServiceExt;

/// A named readiness condition for `/readyz` (e.g. "the CR cache has synced").
pub type ReadyCheck = (String, Arc<dyn Fn() -> bool + Send + Sync>);

/// The served groups with their routers built once, and the readiness checks.
pub struct Groups {
    groups: Vec<(Arc<dyn AggregatedApiGroup>, Router)>,
    ready: Vec<ReadyCheck>,
}

impl Groups {
    pub fn new(groups: Vec<Arc<dyn AggregatedApiGroup>>, ready: Vec<ReadyCheck>) -> Self {
        Self {
            groups: groups
                .into_iter()
                .map(|g| {
                    let r = g.router();
                    (g, r)
                })
                .collect(),
            ready,
        }
    }

    fn versions(&self) -> Vec<GroupVersions> {
        self.groups
            .iter()
            .map(|(g, _)| GroupVersions {
                group: g.group(),
                versions: g.versions(),
            })
            .collect()
    }

    fn resources(&self) -> Vec<ResourceDescriptor> {
        self.groups
            .iter()
            .flat_map(|(g, _)| g.resources())
            .collect()
    }

    fn schemas(&self, group: &str, version: &str) -> Vec<ResourceSchema> {
        self.groups
            .iter()
            .filter(|(g, _)| g.group() == group)
            .flat_map(|(g, _)| g.schemas(version))
            .collect()
    }
}

type Shared = Arc<Groups>;

/// The router (without authentication; see `middleware`).
pub fn router(groups: Shared) -> Router {
    Router::new()
        .route("/healthz", get(ok))
        .route("/livez", get(ok))
        .route("/readyz", get(readyz))
        .route("/version", get(version))
        .route("/apis", get(group_list))
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(openapi_v3_index))
        .route("/openapi/v3/apis/{group}/{version}", get(openapi_v3_doc))
        .fallback(dispatch)
        .with_state(groups)
}

async fn ok() -> &'static str {
    "ok"
}

/// `ok`, or 500 with kube's per-check lines when a check fails.
async fn readyz(State(groups): State<Shared>) -> Response {
    let results: Vec<(&str, bool)> = groups
        .ready
        .iter()
        .map(|(name, check)| (name.as_str(), check()))
        .collect();
    if results.iter().all(|(_, ok)| *ok) {
        return bytes_response(StatusCode::OK, "text/plain; charset=utf-8", b"ok".to_vec());
    }
    let mut text = String::new();
    for (name, ok) in results {
        if ok {
            text.push_str(&format!("[+]{name} ok\n"));
        } else {
            text.push_str(&format!("[-]{name} failed: reason withheld\n"));
        }
    }
    text.push_str("readyz check failed\n");
    bytes_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/plain; charset=utf-8",
        text.into_bytes(),
    )
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

fn etagged(headers: &HeaderMap, content_type: &str, body: Vec<u8>) -> Response {
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&body)));
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str());
    let mut r = if not_modified {
        bytes_response(StatusCode::NOT_MODIFIED, content_type, Vec::new())
    } else {
        bytes_response(StatusCode::OK, content_type, body)
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

async fn version() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "major": "1",
            "minor": "33",
            "gitVersion": format!("v{}-porch", env!("CARGO_PKG_VERSION")),
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "2026-11-20T00:00:00Z",
            "goVersion": "rust",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        }),
    )
}

/// `GET /apis`: legacy `APIGroupList` or aggregated discovery, by `Accept`.
async fn group_list(State(groups): State<Shared>, headers: HeaderMap) -> Response {
    let offered = [
        Representation::Json,
        Representation::DiscoveryV2 { v2beta1: false },
    ];
    match negotiate(accept(&headers), &offered) {
        Some(Representation::DiscoveryV2 { v2beta1 }) => {
            let v = disc::aggregated_discovery(&groups.versions(), &groups.resources(), v2beta1);
            etagged(
                &headers,
                Representation::DiscoveryV2 { v2beta1 }.content_type(),
                serde_json::to_vec(&v).unwrap_or_default(),
            )
        }
        Some(_) => json_response(StatusCode::OK, &disc::api_group_list(&groups.versions())),
        None => status_error(&StatusError::not_acceptable()),
    }
}

/// `/apis/<group>` (the `APIGroup`) and everything below it (the group's handlers); anything
/// else is 404 (also `/api`, which kubectl tolerates from aggregated servers).
async fn dispatch(State(groups): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/apis/") else {
        return status_error(&StatusError::resource_not_found());
    };
    let (group, tail) = match rest.split_once('/') {
        Some((g, t)) => (g, Some(t)),
        None => (rest, None),
    };
    let Some((g, router)) = groups.groups.iter().find(|(g, _)| g.group() == group) else {
        return status_error(&StatusError::resource_not_found());
    };
    let Some(tail) = tail.filter(|t| !t.is_empty()) else {
        let gv = GroupVersions {
            group: g.group(),
            versions: g.versions(),
        };
        return json_response(StatusCode::OK, &disc::api_group(&gv));
    };
    let (mut parts, body) = req.into_parts();
    let pq = match parts.uri.query() {
        Some(q) => format!("/{tail}?{q}"),
        None => format!("/{tail}"),
    };
    parts.uri = match pq.parse::<Uri>() {
        Ok(u) => u,
        Err(_) => return status_error(&StatusError::resource_not_found()),
    };
    match router
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await
    {
        Ok(r) => r,
        Err(e) => match e {},
    }
}

fn gv_doc(groups: &Groups, group: &str, version: &str) -> Option<Value> {
    let schemas = groups.schemas(group, version);
    (!schemas.is_empty()).then(|| openapi::v3_group_version(group, version, &schemas))
}

async fn openapi_v3_index(State(groups): State<Shared>) -> Response {
    let mut entries = Vec::new();
    for g in groups.versions() {
        for v in g.versions {
            if let Some(doc) = gv_doc(&groups, &g.group, &v) {
                let hash = hex::encode(
                    &Sha256::digest(serde_json::to_vec(&doc).unwrap_or_default())[..16],
                )
                .to_uppercase();
                entries.push((openapi::gv_path(&g.group, &v), hash));
            }
        }
    }
    json_response(StatusCode::OK, &openapi::v3_index(&entries))
}

async fn openapi_v3_doc(
    State(groups): State<Shared>,
    Path((group, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match gv_doc(&groups, &group, &version) {
        Some(doc) => etagged(
            &headers,
            "application/json",
            serde_json::to_vec(&doc).unwrap_or_default(),
        ),
        None => status_error(&StatusError::resource_not_found()),
    }
}

/// `GET /openapi/v2` (JSON only; a protobuf-only Accept gets 406).
async fn openapi_v2(State(groups): State<Shared>, headers: HeaderMap) -> Response {
    if negotiate(accept(&headers), &[Representation::Json]).is_none() {
        return status_error(&StatusError::not_acceptable());
    }
    let mut schemas = Vec::new();
    for g in groups.versions() {
        for v in &g.versions {
            schemas.extend(groups.schemas(&g.group, v));
        }
    }
    etagged(
        &headers,
        "application/json",
        serde_json::to_vec(&openapi::v2_document(&schemas)).unwrap_or_default(),
    )
}
