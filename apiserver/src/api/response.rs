//! Building HTTP responses: Status errors, objects and lists in the negotiated representation.

use crate::registry::ResourceInfo;
use crate::store::StoredObject;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use porch_apimachinery::StatusError;
use porch_apimachinery::negotiate::Representation;
use porch_apimachinery::table::{IncludeObject, partial_object_metadata};
use serde_json::Value;
use std::sync::Arc;

/// A `Status` error response.
pub fn status_error(e: &StatusError) -> Response {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &e.to_json())
}

/// Any JSON body.
pub fn json_response(code: StatusCode, v: &Value) -> Response {
    bytes_response(
        code,
        "application/json",
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

/// Raw bytes with a content type.
pub fn bytes_response(code: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    if let Ok(ct) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    r
}

/// Wrapper so handlers can use `?` with `StatusError`.
pub struct ApiError(pub StatusError);

impl From<StatusError> for ApiError {
    fn from(e: StatusError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        status_error(&self.0)
    }
}

/// The JSON of a stored object as served at `api_version` (CRD versions share storage).
pub fn object_json(obj: &StoredObject, api_version: &str) -> Arc<str> {
    if obj.api_version() == api_version {
        return obj.json.clone();
    }
    let mut v = obj.value();
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(api_version.into()));
    }
    serde_json::to_string(&v).unwrap_or_default().into()
}

/// The parsed object as served at `api_version`.
pub fn object_value(obj: &StoredObject, api_version: &str) -> Value {
    let mut v = obj.value();
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(api_version.into()));
    }
    v
}

fn to_yaml(v: &Value) -> Vec<u8> {
    serde_saphyr::to_string(&porch_crds::plain_json::PlainJson(v))
        .unwrap_or_default()
        .into_bytes()
}

/// One object in the negotiated representation.
pub fn object_response(
    code: StatusCode,
    rep: Representation,
    info: &ResourceInfo,
    version: &str,
    obj: &StoredObject,
    include: IncludeObject,
) -> Response {
    let api_version = info.api_version(version);
    match rep {
        Representation::Json => bytes_response(
            code,
            rep.content_type(),
            object_json(obj, &api_version).as_bytes().to_vec(),
        ),
        Representation::Yaml => bytes_response(
            code,
            rep.content_type(),
            to_yaml(&object_value(obj, &api_version)),
        ),
        Representation::PartialObjectMetadata | Representation::PartialObjectMetadataList => {
            bytes_response(
                code,
                Representation::PartialObjectMetadata.content_type(),
                serde_json::to_vec(&partial_object_metadata(&obj.head())).unwrap_or_default(),
            )
        }
        Representation::Table { v1beta1 } => {
            let t = table_for(
                info,
                version,
                &[object_value(obj, &api_version)],
                &obj.rv.to_string(),
                "",
                include,
                true,
                v1beta1,
            );
            bytes_response(
                code,
                rep.content_type(),
                serde_json::to_vec(&t).unwrap_or_default(),
            )
        }
        Representation::DiscoveryV2 { .. } => status_error(&StatusError::not_acceptable()),
    }
}

/// A Table of objects.
#[allow(clippy::too_many_arguments)]
pub fn table_for(
    info: &ResourceInfo,
    version: &str,
    objects: &[Value],
    rv: &str,
    continue_token: &str,
    include: IncludeObject,
    with_definitions: bool,
    v1beta1: bool,
) -> Value {
    let Some(v) = info.version(version) else {
        return Value::Null;
    };
    let mut t = v.table.table(
        objects,
        rv,
        continue_token,
        include,
        crate::builtin::now_unix(),
        with_definitions,
    );
    if v1beta1 && let Some(m) = t.as_object_mut() {
        m.insert(
            "apiVersion".into(),
            Value::String("meta.k8s.io/v1beta1".into()),
        );
    }
    t
}

/// A list in the negotiated representation. The JSON form is assembled from the stored
/// serialized objects without re-parsing them.
#[allow(clippy::too_many_arguments)]
pub fn list_response(
    rep: Representation,
    info: &ResourceInfo,
    version: &str,
    objects: &[Arc<StoredObject>],
    rv: u64,
    continue_token: &str,
    remaining: Option<usize>,
    include: IncludeObject,
) -> Response {
    let api_version = info.api_version(version);
    let mut meta = serde_json::json!({"resourceVersion": rv.to_string()});
    if !continue_token.is_empty()
        && let Some(m) = meta.as_object_mut()
    {
        m.insert("continue".into(), Value::String(continue_token.into()));
        if let Some(r) = remaining {
            m.insert("remainingItemCount".into(), Value::from(r));
        }
    }
    match rep {
        Representation::Json | Representation::DiscoveryV2 { .. } => {
            let mut out =
                Vec::with_capacity(objects.iter().map(|o| o.json.len() + 1).sum::<usize>() + 256);
            out.extend_from_slice(b"{\"kind\":");
            out.extend_from_slice(
                serde_json::to_string(&info.list_kind)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            out.extend_from_slice(b",\"apiVersion\":");
            out.extend_from_slice(
                serde_json::to_string(&api_version)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            out.extend_from_slice(b",\"metadata\":");
            out.extend_from_slice(meta.to_string().as_bytes());
            out.extend_from_slice(b",\"items\":[");
            for (i, o) in objects.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(object_json(o, &api_version).as_bytes());
            }
            out.extend_from_slice(b"]}");
            bytes_response(StatusCode::OK, "application/json", out)
        }
        Representation::Yaml => {
            let items: Vec<Value> = objects
                .iter()
                .map(|o| object_value(o, &api_version))
                .collect();
            let v = serde_json::json!({"kind": info.list_kind, "apiVersion": api_version, "metadata": meta, "items": items});
            bytes_response(StatusCode::OK, rep.content_type(), to_yaml(&v))
        }
        Representation::PartialObjectMetadata | Representation::PartialObjectMetadataList => {
            let items: Vec<Value> = objects
                .iter()
                .map(|o| partial_object_metadata(&o.head()))
                .collect();
            let v = serde_json::json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "items": items});
            bytes_response(
                StatusCode::OK,
                Representation::PartialObjectMetadataList.content_type(),
                serde_json::to_vec(&v).unwrap_or_default(),
            )
        }
        Representation::Table { v1beta1 } => {
            let values: Vec<Value> = objects
                .iter()
                .map(|o| object_value(o, &api_version))
                .collect();
            let t = table_for(
                info,
                version,
                &values,
                &rv.to_string(),
                continue_token,
                include,
                true,
                v1beta1,
            );
            bytes_response(
                StatusCode::OK,
                rep.content_type(),
                serde_json::to_vec(&t).unwrap_or_default(),
            )
        }
    }
}
