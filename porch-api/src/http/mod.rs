//! The axum handlers of porch.kpt.dev/v1alpha1, mounted at `/apis/porch.kpt.dev`.

mod read;
mod respond;
mod watch;
mod write;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use porch_apiserver::aggregated::UserInfo;
use porch_engine::Scope;
use porch_engine::convert::repository_info;
use porch_engine::model::RequestUser;

use crate::cache::CrCache;
use crate::engine::PackageEngine;

/// Tunables of the API layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiOptions {
    /// Request bodies over this many bytes get 413.
    pub max_body_bytes: usize,
    /// Interval of watch bookmarks after the initial-events-end bookmark.
    pub bookmark_interval: Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 6 * 1024 * 1024,
            bookmark_interval: Duration::from_secs(60),
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub engine: Arc<dyn PackageEngine>,
    pub cache: CrCache,
    pub options: ApiOptions,
}

pub type Shared = Arc<AppState>;

/// Query parameters as sent.
pub type Params = HashMap<String, String>;

impl AppState {
    /// The repositories of `namespace`, as the engine needs them.
    pub fn scope(&self, namespace: &str) -> Scope {
        let index = self.cache.read();
        Scope {
            namespace: namespace.to_owned(),
            repositories: index
                .repositories(namespace)
                .into_iter()
                .map(repository_info)
                .collect(),
        }
    }
}

pub(crate) fn request_user(user: Option<&UserInfo>) -> RequestUser {
    user.map(|u| RequestUser {
        name: u.name.clone(),
        groups: u.groups.clone(),
    })
    .unwrap_or_default()
}

/// The router (paths relative to `/apis/porch.kpt.dev`).
pub fn router(state: Shared) -> Router {
    use axum::routing::MethodRouter;
    let ns = "/v1alpha1/namespaces/{ns}";
    let prs: MethodRouter<Shared> = get(read::list_package_revisions).post(write::create);
    let pr = get(read::get_package_revision)
        .put(write::update)
        .patch(write::patch)
        .delete(write::delete);
    let approval = get(read::get_package_revision).put(write::approve);
    let prrs = get(read::list_resources);
    let prr = get(read::get_resources).put(write::update_resources);
    let pkgs = get(read::list_packages).post(write::packages_create);
    let pkg = get(read::get_package)
        .put(write::packages_update)
        .patch(write::packages_update)
        .delete(write::packages_delete);
    Router::new()
        .route("/v1alpha1", get(read::resource_list))
        .route(
            "/v1alpha1/packagerevisions",
            get(read::list_package_revisions),
        )
        .route(
            "/v1alpha1/packagerevisionresources",
            get(read::list_resources),
        )
        .route("/v1alpha1/packages", get(read::list_packages))
        .route(&format!("{ns}/packagerevisions"), prs)
        .route(&format!("{ns}/packagerevisions/{{name}}"), pr)
        .route(
            &format!("{ns}/packagerevisions/{{name}}/approval"),
            approval,
        )
        .route(&format!("{ns}/packagerevisionresources"), prrs)
        .route(&format!("{ns}/packagerevisionresources/{{name}}"), prr)
        .route(&format!("{ns}/packages"), pkgs)
        .route(&format!("{ns}/packages/{{name}}"), pkg)
        .fallback(respond::not_found)
        .method_not_allowed_fallback(respond::method_not_allowed)
        .with_state(state)
}
