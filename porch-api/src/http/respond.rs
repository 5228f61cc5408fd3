//! Response rendering: content negotiation (JSON, YAML, Table, PartialObjectMetadata) and bodies.
//!
//! PackageRevision lists and Table rows are written straight from the cached objects into one
//! buffer, with no intermediate JSON trees.

use std::sync::{Arc, LazyLock};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use porch_apimachinery::negotiate::{Representation, negotiate};
use porch_apimachinery::status::StatusError;
use porch_apimachinery::table::{IncludeObject, TableSpec, partial_object_metadata};
use porch_crds::labels::{LATEST_REVISION_LABEL, LATEST_REVISION_VALUE};
use porch_crds::porch::v1alpha1::PackageRevision;
use serde_json::{Value, json};

use super::Params;
use crate::cache::ServedRevision;
use crate::error::{ApiError, ApiResult};
use crate::tables;

const OBJECT: &[Representation] = &[
    Representation::Json,
    Representation::Yaml,
    Representation::Table { v1beta1: false },
    Representation::PartialObjectMetadata,
];
const LIST: &[Representation] = &[
    Representation::Json,
    Representation::Yaml,
    Representation::Table { v1beta1: false },
    Representation::PartialObjectMetadataList,
];
/// A watch streams JSON frames only: YAML has no stream framing (kube answers 406 too).
const WATCH: &[Representation] = &[
    Representation::Json,
    Representation::Table { v1beta1: false },
    Representation::PartialObjectMetadata,
];

/// The PackageRevision table layout, built once.
pub static PACKAGE_REVISIONS: LazyLock<TableSpec> = LazyLock::new(tables::package_revisions);

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
}

fn not_acceptable() -> ApiError {
    ApiError::status(StatusError::not_acceptable())
}

/// The representation for a single object.
pub fn object_representation(headers: &HeaderMap) -> ApiResult<Representation> {
    negotiate(accept(headers), OBJECT).ok_or_else(not_acceptable)
}

pub fn list_representation(headers: &HeaderMap) -> ApiResult<Representation> {
    negotiate(accept(headers), LIST).ok_or_else(not_acceptable)
}

pub fn watch_representation(headers: &HeaderMap) -> ApiResult<Representation> {
    negotiate(accept(headers), WATCH).ok_or_else(not_acceptable)
}

fn bytes_response(code: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response {
    (
        code,
        [(http::header::CONTENT_TYPE, content_type.to_owned())],
        body.into(),
    )
        .into_response()
}

pub fn json_response(code: StatusCode, content_type: &str, body: &Value) -> Response {
    bytes_response(
        code,
        content_type,
        serde_json::to_vec(body).unwrap_or_default(),
    )
}

fn yaml_response(code: StatusCode, body: &Value) -> Response {
    let yaml = porch_crds::plain_json::to_yaml_string(body).unwrap_or_default();
    bytes_response(code, Representation::Yaml.content_type(), yaml)
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn no_headers(params: &Params) -> bool {
    // kubectl sends `TableOptions` fields as query parameters.
    params.get("noHeaders").is_some_and(|v| v == "true")
}

fn include_object(params: &Params) -> IncludeObject {
    IncludeObject::parse(params.get("includeObject").map(String::as_str))
}

/// A Table of `objects`.
pub fn table(spec: &TableSpec, objects: &[Value], rv: &str, params: &Params) -> Value {
    spec.table(
        objects,
        rv,
        "",
        include_object(params),
        now_unix(),
        !no_headers(params),
    )
}

/// Renders one object in the negotiated representation.
pub fn object(
    code: StatusCode,
    rep: Representation,
    spec: &TableSpec,
    obj: &Value,
    params: &Params,
) -> Response {
    match rep {
        Representation::Table { .. } => {
            let rv = obj["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default();
            let t = table(spec, std::slice::from_ref(obj), rv, params);
            json_response(code, rep.content_type(), &t)
        }
        Representation::PartialObjectMetadata => {
            json_response(code, rep.content_type(), &partial_object_metadata(obj))
        }
        Representation::Yaml => yaml_response(code, obj),
        _ => json_response(code, "application/json", obj),
    }
}

/// Renders a list in the negotiated representation. `rv` is the list resourceVersion.
pub fn list(
    rep: Representation,
    spec: &TableSpec,
    list_kind: &str,
    items: Vec<Value>,
    rv: &str,
    params: &Params,
) -> Response {
    match rep {
        Representation::Table { .. } => json_response(
            StatusCode::OK,
            rep.content_type(),
            &table(spec, &items, rv, params),
        ),
        Representation::PartialObjectMetadataList => {
            let items: Vec<Value> = items.iter().map(partial_object_metadata).collect();
            let body = json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": rv},
                "items": items,
            });
            json_response(StatusCode::OK, rep.content_type(), &body)
        }
        _ => {
            let body = json!({
                "kind": list_kind,
                "apiVersion": porch_crds::porch::v1alpha1::API_VERSION,
                "metadata": {"resourceVersion": rv},
                "items": items,
            });
            if rep == Representation::Yaml {
                yaml_response(StatusCode::OK, &body)
            } else {
                json_response(StatusCode::OK, "application/json", &body)
            }
        }
    }
}

/// One PackageRevision as a Table row: the row [`PACKAGE_REVISIONS`] makes of its JSON,
/// written straight from the object (a list of 10,000 would otherwise build 10,000 JSON
/// trees only to read seven fields of each).
pub fn package_revision_row(pr: &ServedRevision, params: &Params) -> Bytes {
    let mut out = Vec::with_capacity(768);
    write_package_revision_row(&mut out, pr.object(), include_object(params));
    Bytes::from(out)
}

fn write_package_revision_row(out: &mut Vec<u8>, pr: &PackageRevision, include: IncludeObject) {
    let latest = pr
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LATEST_REVISION_LABEL))
        .is_some_and(|v| v == LATEST_REVISION_VALUE);
    // The columns of `tables::package_revisions`, in order.
    let cells = (
        pr.metadata.name.as_deref().unwrap_or_default(),
        pr.spec.package_name.as_str(),
        pr.spec.workspace_name.as_str(),
        pr.spec.revision,
        latest,
        pr.spec.lifecycle.as_str(),
        pr.spec.repository.as_str(),
    );
    // Writing into a Vec cannot fail.
    out.extend_from_slice(br#"{"cells":"#);
    let _ = serde_json::to_writer(&mut *out, &cells);
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            out.extend_from_slice(
                br#","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#,
            );
            let _ = serde_json::to_writer(&mut *out, &pr.metadata);
            out.push(b'}');
        }
        IncludeObject::Object => {
            out.extend_from_slice(br#","object":"#);
            let _ = serde_json::to_writer(&mut *out, pr);
        }
    }
    out.push(b'}');
}

/// A Table around already-rendered rows.
pub fn package_revision_table(
    rows: impl Iterator<Item = Bytes>,
    rv: &str,
    params: &Params,
    size_hint: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint + 4096);
    out.extend_from_slice(
        br#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"#,
    );
    out.extend_from_slice(&serde_json::to_vec(rv).unwrap_or_default());
    out.extend_from_slice(br#"},"columnDefinitions":"#);
    let defs = if no_headers(params) {
        Vec::new()
    } else {
        PACKAGE_REVISIONS.column_definitions()
    };
    out.extend_from_slice(&serde_json::to_vec(&defs).unwrap_or_default());
    out.extend_from_slice(br#","rows":["#);
    join_into(&mut out, rows);
    out.extend_from_slice(b"]}");
    out
}

fn join_into(out: &mut Vec<u8>, parts: impl Iterator<Item = Bytes>) {
    for (i, part) in parts.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&part);
    }
}

/// A PackageRevision list in the negotiated representation, from cached objects.
pub fn package_revision_list(
    rep: Representation,
    items: &[Arc<ServedRevision>],
    rv: &str,
    params: &Params,
) -> Response {
    match rep {
        Representation::Json => {
            let mut out = Vec::with_capacity(items.len() * 1024 + 256);
            out.extend_from_slice(br#"{"kind":"PackageRevisionList","apiVersion":"#);
            out.extend_from_slice(
                &serde_json::to_vec(porch_crds::porch::v1alpha1::API_VERSION).unwrap_or_default(),
            );
            out.extend_from_slice(br#","metadata":{"resourceVersion":"#);
            out.extend_from_slice(&serde_json::to_vec(rv).unwrap_or_default());
            out.extend_from_slice(br#"},"items":["#);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                item.write_json(&mut out);
            }
            out.extend_from_slice(b"]}");
            bytes_response(StatusCode::OK, rep.content_type(), out)
        }
        Representation::Table { .. } => {
            let rows: Vec<Bytes> = items
                .iter()
                .map(|i| package_revision_row(i, params))
                .collect();
            let size = rows.iter().map(|r| r.len() + 1).sum();
            let body = package_revision_table(rows.into_iter(), rv, params, size);
            bytes_response(StatusCode::OK, rep.content_type(), body)
        }
        _ => {
            let values = items
                .iter()
                .map(|i| serde_json::to_value(i.object()).unwrap_or(Value::Null))
                .collect();
            list(
                rep,
                &PACKAGE_REVISIONS,
                "PackageRevisionList",
                values,
                rv,
                params,
            )
        }
    }
}

/// One cached PackageRevision in the negotiated representation.
pub fn package_revision(
    code: StatusCode,
    rep: Representation,
    pr: &ServedRevision,
    params: &Params,
) -> Response {
    match rep {
        Representation::Json => bytes_response(code, rep.content_type(), pr.json()),
        Representation::Table { .. } => {
            let row = package_revision_row(pr, params);
            let rv = pr.metadata.resource_version.clone().unwrap_or_default();
            let size = row.len();
            let body = package_revision_table(std::iter::once(row), &rv, params, size);
            bytes_response(code, rep.content_type(), body)
        }
        _ => {
            let obj = serde_json::to_value(pr.object()).unwrap_or(Value::Null);
            object(code, rep, &PACKAGE_REVISIONS, &obj, params)
        }
    }
}

pub async fn not_found() -> ApiError {
    ApiError::status(StatusError {
        code: 404,
        reason: "NotFound".into(),
        message: "the server could not find the requested resource".into(),
        details: None,
    })
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::status(StatusError::method_not_allowed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(labels: Value, lifecycle: &str) -> PackageRevision {
        serde_json::from_value(json!({
            "apiVersion": "porch.kpt.dev/v1alpha1",
            "kind": "PackageRevision",
            "metadata": {"name": "repo.a.pkg.v2", "namespace": "ns", "labels": labels,
                "annotations": {"note": "x\"y"}, "resourceVersion": "c2",
                "creationTimestamp": "2026-01-02T03:04:05Z"},
            "spec": {"repository": "repo", "packageName": "a/pkg", "workspaceName": "v2",
                "revision": 2, "lifecycle": lifecycle,
                "tasks": [{"type": "init", "init": {"description": "d"}}]},
            "status": {"publishedBy": "me"}
        }))
        .unwrap()
    }

    #[test]
    fn the_direct_row_is_the_row_the_table_spec_makes() {
        let objects = [
            revision(
                json!({"kpt.dev/latest-revision": "true", "a": "b"}),
                "Published",
            ),
            revision(json!({"kpt.dev/latest-revision": "false"}), "Draft"),
            revision(json!({}), "DeletionProposed"),
        ];
        for pr in objects {
            let generic = serde_json::to_value(&pr).unwrap();
            for include in [
                IncludeObject::None,
                IncludeObject::Metadata,
                IncludeObject::Object,
            ] {
                let mut out = Vec::new();
                write_package_revision_row(&mut out, &pr, include);
                let direct: Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(
                    direct,
                    PACKAGE_REVISIONS.row(&generic, now_unix(), include),
                    "{include:?}"
                );
            }
        }
    }
}
