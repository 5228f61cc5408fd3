//! The HTTP surface: routing, authentication, discovery, OpenAPI and the resource handlers.

mod discovery;
pub mod objects;
mod path;
pub mod response;
mod watch;

use crate::aggregated::{AggregatedApiGroup, UserInfo};
use crate::registry::Registry;
use crate::store::Store;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use http::{Method, StatusCode};
use objects::{Ctx, finish};
use porch_apimachinery::StatusError;
use response::{json_response, status_error};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Decoded query parameters.
pub type Query = HashMap<String, String>;

/// Everything the handlers share.
pub struct AppState {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub aggregated: Vec<Arc<dyn AggregatedApiGroup>>,
    /// Largest accepted request body (kube-apiserver: 3 MiB).
    pub max_body: usize,
    pub bookmark_interval: Duration,
    /// Wakes the garbage collector / namespace / CRD cleanup controller.
    pub controllers: Arc<Notify>,
    /// The bearer token every request must carry (None disables authentication, for in-process clients).
    pub token: Option<String>,
    /// `host:port` for `/api`'s serverAddressByClientCIDRs.
    pub server_address: String,
}

/// Shared state handle.
pub type App = Arc<AppState>;

/// Build the router.
pub fn router(app: App) -> Router {
    let mut r = Router::new()
        .route("/healthz", get(ok))
        .route("/livez", get(ok))
        .route("/readyz", get(ok))
        .route("/version", get(discovery::version))
        .route("/api", get(discovery::core_versions))
        .route("/api/v1", get(discovery::core_resources))
        .route("/apis", get(discovery::group_list))
        .route("/apis/{group}", get(discovery::group))
        .route("/apis/{group}/{version}", get(discovery::group_resources))
        .route("/openapi/v2", get(discovery::openapi_v2))
        .route("/openapi/v3", get(discovery::openapi_v3_index))
        .route("/openapi/v3/{*path}", get(discovery::openapi_v3_doc));
    for g in &app.aggregated {
        r = r.nest_service(&format!("/apis/{}", g.group()), g.router());
    }
    r.fallback(resources)
        .layer(middleware::from_fn_with_state(app.clone(), authenticate))
        .with_state(app)
}

async fn ok() -> &'static str {
    "ok"
}

/// Bearer-token authentication; health endpoints are open.
async fn authenticate(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let open = matches!(path, "/healthz" | "/livez" | "/readyz")
        || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/");
    if let Some(token) = &app.token
        && !open
    {
        let given = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            return status_error(&StatusError::unauthorized());
        }
    }
    req.extensions_mut().insert(UserInfo::standalone_admin());
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_query(q: Option<&str>) -> Query {
    let mut out = HashMap::new();
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(percent_decode(k), percent_decode(v));
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every resource URL.
async fn resources(State(app): State<App>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Some(target) = path::parse(parts.uri.path()) else {
        return status_error(&StatusError::resource_not_found());
    };
    let Some(info) = app
        .registry
        .lookup(&target.group, &target.version, &target.resource)
    else {
        return status_error(&StatusError::resource_not_found());
    };
    if target.namespace.is_some() && !info.namespaced {
        return status_error(&StatusError::resource_not_found());
    }
    let query = parse_query(parts.uri.query());
    let body = match read_body(body, app.max_body).await {
        Ok(b) => b,
        Err(e) => return status_error(&e),
    };
    let watch = target.watch_prefix || query.get("watch").is_some_and(|w| w == "true" || w == "1");
    let ctx = Ctx {
        app: app.clone(),
        info: info.clone(),
        version: target.version.clone(),
        namespace: target.namespace.clone(),
        query,
        headers: parts.headers,
    };
    let needs_ns = info.namespaced && ctx.namespace.is_none();
    let name = target.name.clone();
    let sub = target.subresource.clone();
    let method = parts.method;
    match (method, name, sub) {
        (Method::GET, None, None) if watch => finish(watch::watch(ctx).await),
        (Method::GET, None, None) => finish(objects::list(ctx).await),
        (Method::GET, Some(n), None | Some(_)) if !needs_ns && !watch => {
            if let Some(s) = target.subresource.as_deref()
                && !(s == "status"
                    && info
                        .version(&target.version)
                        .is_some_and(|v| v.status_subresource))
            {
                return status_error(&StatusError::resource_not_found());
            }
            finish(objects::get(ctx, &n).await)
        }
        (Method::POST, None, None) if !needs_ns => finish(objects::create(ctx, &body).await),
        (Method::PUT, Some(n), s) if !needs_ns => {
            finish(objects::update(ctx, &n, s.as_deref(), &body).await)
        }
        (Method::PATCH, Some(n), s) if !needs_ns => {
            finish(objects::patch(ctx, &n, s.as_deref(), &body).await)
        }
        (Method::DELETE, Some(n), None) if !needs_ns => {
            finish(objects::delete(ctx, &n, &body).await)
        }
        (Method::DELETE, None, None) if !needs_ns => {
            finish(objects::delete_collection(ctx, &body).await)
        }
        (_, _, _) if needs_ns => status_error(&StatusError::resource_not_found()),
        _ => status_error(&StatusError::method_not_allowed()),
    }
}

async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, StatusError> {
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b.to_vec()),
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.to_string().contains("length limit"))
                || e.to_string().contains("length limit");
            if too_large {
                Err(StatusError::too_large(limit))
            } else {
                Err(StatusError::bad_request(format!(
                    "error reading request body: {e}"
                )))
            }
        }
    }
}

/// A plain JSON 200.
pub(crate) fn ok_json(v: &serde_json::Value) -> Response {
    json_response(StatusCode::OK, v)
}
