//! Reads: packagerevisions from the CR cache, packagerevisionresources through the engine's
//! content cache, packages derived from the cache, and the group's APIResourceList.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use porch_crds::porch::v1alpha1::{GROUP, PackageRevisionResources, PorchPackage, VERSION};
use porch_engine::convert::resources_to_api;
use porch_engine::error::PACKAGE_REVISIONS;
use serde_json::Value;

use super::{Params, Shared, respond, watch};
use crate::cache::ServedRevision;
use crate::error::{ApiError, ApiResult};
use crate::filter::Selectors;
use crate::group::resource_descriptors;
use crate::packages::derive_packages;
use crate::tables;

const PACKAGES: &str = "packages.porch.kpt.dev";

fn to_value<T: serde::Serialize>(obj: &T) -> Value {
    serde_json::to_value(obj).unwrap_or(Value::Null)
}

/// `GET /apis/porch.kpt.dev/v1alpha1`.
pub async fn resource_list() -> Json<Value> {
    Json(porch_apimachinery::discovery::api_resource_list(
        GROUP,
        VERSION,
        &resource_descriptors(),
    ))
}

fn is_watch(params: &Params) -> bool {
    params.get("watch").is_some_and(|v| v == "true" || v == "1")
}

fn selectors(params: &Params, ns: &str) -> ApiResult<Selectors> {
    Selectors::parse(
        params.get("fieldSelector").map(String::as_str),
        params.get("labelSelector").map(String::as_str),
        ns,
    )
}

/// The namespace of a namespaced path, `""` for the all-namespaces paths.
fn namespace_of(path: Option<Path<(String,)>>) -> String {
    path.map(|Path((ns,))| ns).unwrap_or_default()
}

/// Served revisions of `ns` matching `sel`, and the list resourceVersion.
fn matching(state: &Shared, ns: &str, sel: &Selectors) -> (Vec<Arc<ServedRevision>>, u64) {
    let index = state.cache.read();
    let items = index
        .iter(ns)
        .filter(|pr| sel.matches(pr))
        .cloned()
        .collect();
    (items, index.resource_version())
}

pub async fn list_package_revisions(
    State(state): State<Shared>,
    path: Option<Path<(String,)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ns = namespace_of(path);
    let sel = selectors(&params, &ns)?;
    if is_watch(&params) {
        return watch::watch(state, ns, sel, params, &headers);
    }
    let rep = respond::list_representation(&headers)?;
    let (items, rv) = matching(&state, &ns, &sel);
    Ok(respond::package_revision_list(
        rep,
        &items,
        &rv.to_string(),
        &params,
    ))
}

pub async fn get_package_revision(
    State(state): State<Shared>,
    Path(path): Path<Vec<(String, String)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (ns, name) = ns_name(&path);
    let rep = respond::object_representation(&headers)?;
    let pr = state.cache.read().get(&ns, &name).ok_or_else(|| {
        ApiError::from(porch_engine::EngineError::not_found(
            PACKAGE_REVISIONS,
            &name,
        ))
    })?;
    Ok(respond::package_revision(StatusCode::OK, rep, &pr, &params))
}

/// `ns` and `name` from a path's named parameters.
pub(crate) fn ns_name(path: &[(String, String)]) -> (String, String) {
    let find = |k: &str| {
        path.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    (find("ns"), find("name"))
}

async fn resources_of(state: &Shared, ns: &str, name: &str) -> ApiResult<PackageRevisionResources> {
    let scope = state.scope(ns);
    let (pr, files) = state.engine.get_resources(&scope, name).await?;
    Ok(resources_to_api(&pr, &files, None))
}

pub async fn list_resources(
    State(state): State<Shared>,
    path: Option<Path<(String,)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ns = namespace_of(path);
    if is_watch(&params) {
        return Err(ApiError::status(
            porch_apimachinery::status::StatusError::method_not_allowed(),
        ));
    }
    let sel = selectors(&params, &ns)?;
    let rep = respond::list_representation(&headers)?;
    let (revisions, rv) = matching(&state, &ns, &sel);
    let mut items = Vec::with_capacity(revisions.len());
    for pr in revisions {
        let pr_ns = pr.metadata.namespace.clone().unwrap_or_default();
        let name = pr.metadata.name.clone().unwrap_or_default();
        match resources_of(&state, &pr_ns, &name).await {
            Ok(prr) => items.push(to_value(&prr)),
            // A revision whose content cannot be read is skipped, as upstream does.
            Err(e) => tracing::warn!(name = %name, error = %e, "reading package resources failed"),
        }
    }
    Ok(respond::list(
        rep,
        &tables::package_revision_resources(),
        "PackageRevisionResourcesList",
        items,
        &rv.to_string(),
        &params,
    ))
}

pub async fn get_resources(
    State(state): State<Shared>,
    Path(path): Path<Vec<(String, String)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (ns, name) = ns_name(&path);
    let rep = respond::object_representation(&headers)?;
    let prr = resources_of(&state, &ns, &name).await?;
    Ok(respond::object(
        StatusCode::OK,
        rep,
        &tables::package_revision_resources(),
        &to_value(&prr),
        &params,
    ))
}

/// Packages accept only `metadata.name`, `metadata.namespace`, `spec.packageName` and
/// `spec.repository`. (Upstream registers the field conversion for the wrong kind and accepts only
/// the metadata fields: a bug.)
fn package_matches(pkg: &PorchPackage, field: Option<&str>, ns: &str) -> ApiResult<bool> {
    let Some(field) = field.filter(|f| !f.trim().is_empty()) else {
        return Ok(true);
    };
    for term in field.split(',') {
        let (key, value) = term
            .split_once("==")
            .or_else(|| term.split_once('='))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid selector: '{term}'; can't understand '{term}'"
                ))
            })?;
        let (key, value) = (key.trim(), value.trim());
        if key.ends_with('!') {
            return Err(ApiError::bad_request(format!(
                "unsupported fieldSelector operator \"!=\" for field {key:?}"
            )));
        }
        let got = match key {
            "metadata.name" => pkg.metadata.name.clone().unwrap_or_default(),
            "metadata.namespace" => {
                if !ns.is_empty() && value != ns {
                    return Err(ApiError::bad_request(format!(
                        "conflicting namespaces specified: {value:?} and {ns:?}"
                    )));
                }
                pkg.metadata.namespace.clone().unwrap_or_default()
            }
            "spec.packageName" => pkg.spec.package_name.clone(),
            "spec.repository" => pkg.spec.repository.clone(),
            other => {
                return Err(ApiError::bad_request(format!(
                    "{other:?} is not a known field selector"
                )));
            }
        };
        if got != value {
            return Ok(false);
        }
    }
    Ok(true)
}

fn packages_of(state: &Shared, ns: &str) -> (Vec<PorchPackage>, u64) {
    let index = state.cache.read();
    let revisions: Vec<&porch_crds::porch::v1alpha1::PackageRevision> =
        index.iter(ns).map(|r| r.object()).collect();
    (derive_packages(&revisions), index.resource_version())
}

pub async fn list_packages(
    State(state): State<Shared>,
    path: Option<Path<(String,)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ns = namespace_of(path);
    if is_watch(&params) {
        return Err(ApiError::status(
            porch_apimachinery::status::StatusError::method_not_allowed(),
        ));
    }
    let rep = respond::list_representation(&headers)?;
    let labels = match params.get("labelSelector").filter(|l| !l.trim().is_empty()) {
        Some(l) => Some(
            porch_apimachinery::labels::LabelSelector::parse(l)
                .map_err(|e| ApiError::bad_request(e.0))?,
        ),
        None => None,
    };
    let (pkgs, rv) = packages_of(&state, &ns);
    let mut items = Vec::new();
    for p in &pkgs {
        if !package_matches(p, params.get("fieldSelector").map(String::as_str), &ns)? {
            continue;
        }
        let v = to_value(p);
        if labels.as_ref().is_some_and(|l| !l.matches_object(&v)) {
            continue;
        }
        items.push(v);
    }
    Ok(respond::list(
        rep,
        &tables::packages(),
        "PorchPackageList",
        items,
        &rv.to_string(),
        &params,
    ))
}

pub async fn get_package(
    State(state): State<Shared>,
    Path(path): Path<Vec<(String, String)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (ns, name) = ns_name(&path);
    let rep = respond::object_representation(&headers)?;
    let (pkgs, _) = packages_of(&state, &ns);
    let pkg = pkgs
        .into_iter()
        .find(|p| p.metadata.name.as_deref() == Some(name.as_str()))
        .ok_or_else(|| ApiError::from(porch_engine::EngineError::not_found(PACKAGES, &name)))?;
    Ok(respond::object(
        StatusCode::OK,
        rep,
        &tables::packages(),
        &to_value(&pkg),
        &params,
    ))
}
