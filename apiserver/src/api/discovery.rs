//! Discovery (legacy and aggregated v2), `/version` and the OpenAPI documents.

use super::response::{bytes_response, status_error};
use super::{App, ok_json};
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use porch_apimachinery::StatusError;
use porch_apimachinery::discovery::{self as disc, GroupVersions, ResourceDescriptor};
use porch_apimachinery::negotiate::{Representation, negotiate};
use porch_apimachinery::openapi::{self, ResourceSchema};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

fn all_groups(app: &App) -> (Vec<GroupVersions>, Vec<ResourceDescriptor>) {
    let mut groups = app.registry.groups();
    let mut resources = app.registry.descriptors(None);
    for g in &app.aggregated {
        groups.push(GroupVersions {
            group: g.group(),
            versions: g.versions(),
        });
        resources.extend(g.resources());
    }
    (groups, resources)
}

fn etagged(headers: &HeaderMap, content_type: &str, body: Vec<u8>) -> Response {
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&body)));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        let mut r = bytes_response(StatusCode::NOT_MODIFIED, content_type, Vec::new());
        if let Ok(v) = HeaderValue::from_str(&etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return r;
    }
    let mut r = bytes_response(StatusCode::OK, content_type, body);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

const DISCOVERY_OFFERED: &[Representation] = &[
    Representation::Json,
    Representation::DiscoveryV2 { v2beta1: false },
];

fn discovery_rep(headers: &HeaderMap) -> Result<Representation, StatusError> {
    negotiate(accept(headers), DISCOVERY_OFFERED).ok_or_else(StatusError::not_acceptable)
}

/// `GET /version`.
pub async fn version() -> Response {
    ok_json(&json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-porch",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2026-11-20T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    }))
}

/// `GET /api`.
pub async fn core_versions(State(app): State<App>, headers: HeaderMap) -> Response {
    match discovery_rep(&headers) {
        Ok(Representation::DiscoveryV2 { v2beta1 }) => {
            let core = GroupVersions {
                group: String::new(),
                versions: vec!["v1".into()],
            };
            let v =
                disc::aggregated_discovery(&[core], &app.registry.descriptors(Some("")), v2beta1);
            etagged(
                &headers,
                Representation::DiscoveryV2 { v2beta1 }.content_type(),
                serde_json::to_vec(&v).unwrap_or_default(),
            )
        }
        Ok(_) => ok_json(&disc::api_versions(&app.server_address)),
        Err(e) => status_error(&e),
    }
}

/// `GET /api/v1`.
pub async fn core_resources(State(app): State<App>) -> Response {
    ok_json(&disc::api_resource_list(
        "",
        "v1",
        &app.registry.descriptors(Some("")),
    ))
}

/// `GET /apis`.
pub async fn group_list(State(app): State<App>, headers: HeaderMap) -> Response {
    let (groups, resources) = all_groups(&app);
    let named: Vec<GroupVersions> = groups.into_iter().filter(|g| !g.group.is_empty()).collect();
    match discovery_rep(&headers) {
        Ok(Representation::DiscoveryV2 { v2beta1 }) => {
            let v = disc::aggregated_discovery(&named, &resources, v2beta1);
            etagged(
                &headers,
                Representation::DiscoveryV2 { v2beta1 }.content_type(),
                serde_json::to_vec(&v).unwrap_or_default(),
            )
        }
        Ok(_) => ok_json(&disc::api_group_list(&named)),
        Err(e) => status_error(&e),
    }
}

/// `GET /apis/<group>`.
pub async fn group(State(app): State<App>, Path(group): Path<String>) -> Response {
    let (groups, _) = all_groups(&app);
    match groups
        .iter()
        .find(|g| g.group == group && !g.group.is_empty())
    {
        Some(g) => ok_json(&disc::api_group(g)),
        None => status_error(&StatusError::resource_not_found()),
    }
}

/// `GET /apis/<group>/<version>`.
pub async fn group_resources(
    State(app): State<App>,
    Path((group, version)): Path<(String, String)>,
) -> Response {
    let rs: Vec<ResourceDescriptor> = app
        .registry
        .descriptors(Some(&group))
        .into_iter()
        .filter(|r| r.version == version)
        .collect();
    if rs.is_empty() {
        return status_error(&StatusError::resource_not_found());
    }
    ok_json(&disc::api_resource_list(&group, &version, &rs))
}

fn schemas_for(app: &App, group: &str, version: &str) -> Vec<ResourceSchema> {
    let mut out = app.registry.schemas(group, version);
    for g in &app.aggregated {
        if g.group() == group {
            out.extend(g.schemas(version));
        }
    }
    out
}

fn gv_doc(app: &App, group: &str, version: &str) -> Option<Value> {
    let schemas = schemas_for(app, group, version);
    (!schemas.is_empty()).then(|| openapi::v3_group_version(group, version, &schemas))
}

/// `GET /openapi/v3`.
pub async fn openapi_v3_index(State(app): State<App>) -> Response {
    let (groups, _) = all_groups(&app);
    let mut entries = Vec::new();
    for g in groups {
        for v in g.versions {
            if let Some(doc) = gv_doc(&app, &g.group, &v) {
                let hash = hex::encode(
                    &Sha256::digest(serde_json::to_vec(&doc).unwrap_or_default())[..16],
                )
                .to_uppercase();
                entries.push((openapi::gv_path(&g.group, &v), hash));
            }
        }
    }
    ok_json(&openapi::v3_index(&entries))
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`.
pub async fn openapi_v3_doc(
    State(app): State<App>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version) = match segs.as_slice() {
        ["api", v] => ("", *v),
        ["apis", g, v] => (*g, *v),
        _ => return status_error(&StatusError::resource_not_found()),
    };
    match gv_doc(&app, group, version) {
        Some(doc) => etagged(
            &headers,
            "application/json",
            serde_json::to_vec(&doc).unwrap_or_default(),
        ),
        None => status_error(&StatusError::resource_not_found()),
    }
}

/// `GET /openapi/v2` (JSON only; protobuf requests get 406 and kubectl then uses v3).
pub async fn openapi_v2(State(app): State<App>, headers: HeaderMap) -> Response {
    if negotiate(accept(&headers), &[Representation::Json]).is_none() {
        return status_error(&StatusError::not_acceptable());
    }
    let mut schemas = app.registry.all_schemas();
    for g in &app.aggregated {
        for v in g.versions() {
            schemas.extend(g.schemas(&v));
        }
    }
    etagged(
        &headers,
        "application/json",
        serde_json::to_vec(&openapi::v2_document(&schemas)).unwrap_or_default(),
    )
}
