//! Response rendering: content negotiation (JSON, Table, PartialObjectMetadata) and bodies.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use porch_apimachinery::negotiate::{Representation, negotiate};
use porch_apimachinery::status::StatusError;
use porch_apimachinery::table::{IncludeObject, TableSpec, partial_object_metadata};
use serde_json::{Value, json};

use super::Params;
use crate::error::{ApiError, ApiResult};

const OBJECT: &[Representation] = &[
    Representation::Json,
    Representation::Table { v1beta1: false },
    Representation::PartialObjectMetadata,
];
const LIST: &[Representation] = &[
    Representation::Json,
    Representation::Table { v1beta1: false },
    Representation::PartialObjectMetadataList,
];

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
}

fn not_acceptable() -> ApiError {
    ApiError::status(StatusError::not_acceptable())
}

/// The representation for a single object (or a watch).
pub fn object_representation(headers: &HeaderMap) -> ApiResult<Representation> {
    // A YAML-only client gets JSON? No: 406, as we do not render YAML here.
    negotiate(accept(headers), OBJECT).ok_or_else(not_acceptable)
}

pub fn list_representation(headers: &HeaderMap) -> ApiResult<Representation> {
    negotiate(accept(headers), LIST).ok_or_else(not_acceptable)
}

pub fn json_response(code: StatusCode, content_type: &str, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        code,
        [(http::header::CONTENT_TYPE, content_type.to_owned())],
        bytes,
    )
        .into_response()
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn no_headers(params: &Params) -> bool {
    // kubectl sends `TableOptions` fields as query parameters.
    params.get("noHeaders").is_some_and(|v| v == "true")
}

/// A Table of `objects`.
pub fn table(spec: &TableSpec, objects: &[Value], rv: &str, params: &Params) -> Value {
    let include = IncludeObject::parse(params.get("includeObject").map(String::as_str));
    spec.table(objects, rv, "", include, now_unix(), !no_headers(params))
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
            json_response(StatusCode::OK, "application/json", &body)
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
