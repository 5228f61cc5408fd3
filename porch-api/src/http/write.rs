//! Writes through the engine: create, update, patch, the approval subresource, delete and the
//! PackageRevisionResources update; and the 405s of packages. Every engine result is written
//! through to the CR cache so a client reads its own write at once.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use porch_apimachinery::patch::{
    PatchType, apply_json_patch, apply_merge_patch, apply_strategic_merge_patch,
    metadata_list_strategy,
};
use porch_apimachinery::status::StatusError;
use porch_apiserver::aggregated::UserInfo;
use porch_crds::porch::v1alpha1::{PackageRevision, PackageRevisionResources};
use porch_engine::convert::{package_revision_from_api, package_revision_to_api, resources_to_api};
use porch_engine::error::{FieldError, PACKAGE_REVISIONS};
use porch_engine::{EngineError, ResourcesUpdate, UpdateKind, UpdateOutcome};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::read::ns_name;
use super::{Params, Shared, request_user, respond};
use crate::error::{ApiError, ApiResult};
use crate::tables;

const PACKAGES: &str = "packages.porch.kpt.dev";
const PRR_KIND: &str = "PackageRevisionResources.porch.kpt.dev";

/// Reads a request body, refusing more than the configured limit with 413.
async fn read_body(state: &Shared, body: Body) -> ApiResult<bytes::Bytes> {
    let limit = state.options.max_body_bytes;
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::status(StatusError::too_large(limit)))
}

fn decode<T: DeserializeOwned>(bytes: &[u8], kind: &str) -> ApiResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::status(StatusError::decode(kind, "porch.kpt.dev/v1alpha1", e)))
}

fn from_value<T: DeserializeOwned>(v: Value, kind: &str) -> ApiResult<T> {
    serde_json::from_value(v)
        .map_err(|e| ApiError::status(StatusError::decode(kind, "porch.kpt.dev/v1alpha1", e)))
}

fn to_value<T: serde::Serialize>(obj: &T) -> Value {
    serde_json::to_value(obj).unwrap_or(Value::Null)
}

fn user_of(user: &Option<Extension<UserInfo>>) -> porch_engine::model::RequestUser {
    request_user(user.as_ref().map(|Extension(u)| u))
}

/// The URL names the object; a body naming another one is a 400, as in Kubernetes.
fn check_name(body_name: Option<&str>, url_name: &str) -> ApiResult<()> {
    match body_name {
        Some(n) if !n.is_empty() && n != url_name => Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({url_name})"
        ))),
        _ => Ok(()),
    }
}

fn pr_response(
    code: StatusCode,
    pr: &PackageRevision,
    params: &Params,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let rep = respond::object_representation(headers)?;
    Ok(respond::object(
        code,
        rep,
        &tables::package_revisions(),
        &to_value(pr),
        params,
    ))
}

/// Writes an update's results through to the cache; returns the object to answer with.
fn record_update(state: &Shared, outcome: UpdateOutcome) -> PackageRevision {
    let obj = package_revision_to_api(&outcome.object);
    if outcome.deleted {
        let ns = obj.metadata.namespace.clone().unwrap_or_default();
        let name = obj.metadata.name.clone().unwrap_or_default();
        state.cache.delete_package_rev(&ns, &name);
    } else {
        state.cache.record_package_revision(&obj);
    }
    for other in &outcome.relabelled {
        state
            .cache
            .record_package_revision(&package_revision_to_api(other));
    }
    obj
}

async fn do_create(
    state: &Shared,
    ns: &str,
    user: &porch_engine::model::RequestUser,
    obj: &PackageRevision,
) -> ApiResult<PackageRevision> {
    let scope = state.scope(ns);
    let mut model = package_revision_from_api(obj);
    model.metadata.namespace = ns.to_owned();
    let created = state.engine.create(&scope, user, &model).await?;
    let created = package_revision_to_api(&created);
    state.cache.record_package_revision(&created);
    Ok(created)
}

/// `POST packagerevisions`.
pub async fn create(
    State(state): State<Shared>,
    Path(path): Path<Vec<(String, String)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    user: Option<Extension<UserInfo>>,
    body: Body,
) -> ApiResult<Response> {
    let (ns, _) = ns_name(&path);
    let bytes = read_body(&state, body).await?;
    let obj: PackageRevision = decode(&bytes, "PackageRevision")?;
    let created = do_create(&state, &ns, &user_of(&user), &obj).await?;
    pr_response(StatusCode::CREATED, &created, &params, &headers)
}

async fn do_update(
    state: &Shared,
    ns: &str,
    name: &str,
    user: &porch_engine::model::RequestUser,
    obj: &PackageRevision,
    kind: UpdateKind,
) -> ApiResult<PackageRevision> {
    check_name(obj.metadata.name.as_deref(), name)?;
    let scope = state.scope(ns);
    let mut model = package_revision_from_api(obj);
    model.metadata.name = name.to_owned();
    model.metadata.namespace = ns.to_owned();
    let outcome = state
        .engine
        .update(&scope, user, name, &model, kind)
        .await?;
    Ok(record_update(state, outcome))
}

/// `PUT packagerevisions/{name}`.
pub async fn update(
    State(state): State<Shared>,
    Path(path): Path<Vec<(String, String)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    user: Option<Extension<UserInfo>>,
    body: Body,
) -> ApiResult<Response> {
    let (ns, name) = ns_name(&path);
    let bytes = read_body(&state, body).await?;
    let obj: PackageRevision = decode(&bytes, "PackageRevision")?;
    let updated = do_update(&state, &ns, &name, &user_of(&user), &obj, UpdateKind::Main).await?;
    pr_response(StatusCode::OK, &updated, &params, &headers)
}

/// `PUT packagerevisions/{name}/approval`: the caller becomes `publishedBy`.
pub async fn approve(
    State(state): State<Shared>,
    Path(path): Path<Vec<(String, String)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    user: Option<Extension<UserInfo>>,
    body: Body,
) -> ApiResult<Response> {
    let (ns, name) = ns_name(&path);
    let bytes = read_body(&state, body).await?;
    let obj: PackageRevision = decode(&bytes, "PackageRevision")?;
    let updated = do_update(
        &state,
        &ns,
        &name,
        &user_of(&user),
        &obj,
        UpdateKind::Approval,
    )
    .await?;
    pr_response(StatusCode::OK, &updated, &params, &headers)
}

/// Strategic-merge list strategies of PackageRevision (metadata lists; the spec's lists replace).
fn pr_list_strategy(path: &[&str]) -> porch_apimachinery::patch::ListStrategy {
    metadata_list_strategy(path)
}

/// `PATCH packagerevisions/{name}`: merge, JSON, strategic and apply patches over the current
/// object, then an update. An apply patch on a missing object creates it (`forceAllowCreate`).
///
/// Server-side apply is served as a merge of the applied configuration over the live object;
/// there is no field-manager bookkeeping (`managedFields`) yet.
pub async fn patch(
    State(state): State<Shared>,
    Path(path): Path<Vec<(String, String)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    user: Option<Extension<UserInfo>>,
    body: Body,
) -> ApiResult<Response> {
    let (ns, name) = ns_name(&path);
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let patch_type = PatchType::from_content_type(content_type).ok_or_else(|| {
        ApiError::status(StatusError::unsupported_patch(&[
            PatchType::Json.media_type(),
            PatchType::Merge.media_type(),
            PatchType::StrategicMerge.media_type(),
            PatchType::Apply.media_type(),
        ]))
    })?;
    let bytes = read_body(&state, body).await?;
    let user = user_of(&user);
    let current = state.cache.read().get(&ns, &name);
    let Some(current) = current else {
        if patch_type == PatchType::Apply {
            let applied: Value = serde_saphyr::from_slice(&bytes)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut obj: PackageRevision = from_value(applied, "PackageRevision")?;
            if obj.spec.repository.is_empty() {
                return Err(EngineError::BadRequest("invalid repositoryName \"\"".into()).into());
            }
            obj.metadata.name = Some(name);
            let created = do_create(&state, &ns, &user, &obj).await?;
            return pr_response(StatusCode::CREATED, &created, &params, &headers);
        }
        return Err(EngineError::not_found(PACKAGE_REVISIONS, &name).into());
    };
    let doc = to_value(current.object());
    let patched = match patch_type {
        PatchType::Json => apply_json_patch(&doc, &bytes)?,
        PatchType::Merge => apply_merge_patch(&doc, &bytes)?,
        PatchType::StrategicMerge => apply_strategic_merge_patch(&doc, &bytes, &pr_list_strategy)?,
        PatchType::Apply => {
            let applied: Value = serde_saphyr::from_slice(&bytes)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut merged = doc.clone();
            merge_applied(&mut merged, applied);
            merged
        }
    };
    let obj: PackageRevision = from_value(patched, "PackageRevision")?;
    let updated = do_update(&state, &ns, &name, &user, &obj, UpdateKind::Main).await?;
    pr_response(StatusCode::OK, &updated, &params, &headers)
}

/// Overlays an applied configuration: maps merge recursively, everything else replaces. The
/// live resourceVersion is kept (apply never carries a precondition).
fn merge_applied(live: &mut Value, applied: Value) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, v) in a {
                if k == "resourceVersion" {
                    continue;
                }
                match l.get_mut(&k) {
                    Some(slot) if v.is_object() && slot.is_object() => merge_applied(slot, v),
                    _ => {
                        l.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// `DELETE packagerevisions/{name}`: 200 with the deleted object, or with the terminating object
/// when finalizers hold it.
pub async fn delete(
    State(state): State<Shared>,
    Path(path): Path<Vec<(String, String)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let (ns, name) = ns_name(&path);
    // DeleteOptions are accepted (and size-limited) but carry nothing Porch honours.
    let _ = read_body(&state, body).await?;
    let scope = state.scope(&ns);
    let outcome = state.engine.delete(&scope, &name).await?;
    let obj = package_revision_to_api(&outcome.object);
    if outcome.terminating {
        state.cache.record_package_revision(&obj);
    } else {
        state.cache.delete_package_rev(&ns, &name);
    }
    for other in &outcome.relabelled {
        state
            .cache
            .record_package_revision(&package_revision_to_api(other));
    }
    pr_response(StatusCode::OK, &obj, &params, &headers)
}

/// A PRR file path must be relative and stay inside the package.
fn path_stays_inside(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn is_yaml_file(path: &str) -> bool {
    let leaf = path.rsplit('/').next().unwrap_or(path);
    leaf == "Kptfile" || leaf.ends_with(".yaml") || leaf.ends_with(".yml")
}

/// 422 for file paths leaving the package and for YAML files that do not parse, naming the file.
fn validate_resources(name: &str, prr: &PackageRevisionResources) -> ApiResult<()> {
    let mut errors = Vec::new();
    for (path, content) in &prr.spec.resources {
        let field = format!("spec.resources[{path}]");
        if !path_stays_inside(path) {
            errors.push(FieldError::invalid(
                &field,
                path,
                "file path must be relative and must not leave the package",
            ));
        } else if is_yaml_file(path)
            && let Err(e) = serde_saphyr::from_multiple::<Value>(content)
        {
            // The parser's message carries a source snippet over several lines; the first
            // line (position and reason) is what a Status message can hold.
            let text = e.to_string();
            let reason = text.lines().next().unwrap_or_default();
            let reason = reason.strip_prefix("error: ").unwrap_or(reason);
            errors.push(FieldError::invalid_raw(
                &field,
                "\"<file content>\"",
                format!("file {path} is not valid YAML: {reason}"),
            ));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(EngineError::Invalid {
        kind: PRR_KIND.to_owned(),
        name: name.to_owned(),
        errors,
    }
    .into())
}

/// `PUT packagerevisionresources/{name}`.
pub async fn update_resources(
    State(state): State<Shared>,
    Path(path): Path<Vec<(String, String)>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    user: Option<Extension<UserInfo>>,
    body: Body,
) -> ApiResult<Response> {
    let (ns, name) = ns_name(&path);
    let bytes = read_body(&state, body).await?;
    let prr: PackageRevisionResources = decode(&bytes, "PackageRevisionResources")?;
    check_name(prr.metadata.name.as_deref(), &name)?;
    validate_resources(&name, &prr)?;
    let request = ResourcesUpdate {
        resource_version: prr.metadata.resource_version.clone().unwrap_or_default(),
        resources: prr.spec.resources.clone().into_iter().collect(),
    };
    let scope = state.scope(&ns);
    let updated = state
        .engine
        .update_resources(&scope, &user_of(&user), &name, &request)
        .await?;
    state
        .cache
        .record_package_revision(&package_revision_to_api(&updated.package_revision));
    let out = resources_to_api(
        &updated.package_revision,
        &updated.files,
        updated.render_status.as_ref(),
    );
    let rep = respond::object_representation(&headers)?;
    Ok(respond::object(
        StatusCode::OK,
        rep,
        &tables::package_revision_resources(),
        &to_value(&out),
        &params,
    ))
}

/// Packages are read-only views (porch-api.md §1.1): upstream's 405 texts.
pub async fn packages_create() -> ApiError {
    ApiError::method_not_supported(
        PACKAGES,
        "create or clone a PackageRevision resource to create a package as direct package creation",
    )
}

pub async fn packages_update() -> ApiError {
    ApiError::method_not_supported(
        PACKAGES,
        "update a PackageRevision resource to update a package as direct package update",
    )
}

pub async fn packages_delete() -> ApiError {
    ApiError::method_not_supported(
        PACKAGES,
        "delete all PackageRevisions resources of a package to delete a package as direct package deletion",
    )
}
