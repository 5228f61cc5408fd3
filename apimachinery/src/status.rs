//! Kubernetes `Status` errors with the reasons, codes and messages kube-apiserver uses.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One cause inside `Status.details.causes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusCause {
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub field: String,
}

/// `Status.details`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusDetails {
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub uid: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub causes: Vec<StatusCause>,
    #[serde(
        rename = "retryAfterSeconds",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub retry_after_seconds: Option<i32>,
}

/// A failed API call, rendered as a `Status` object with `status: Failure`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct StatusError {
    pub code: u16,
    pub reason: String,
    pub message: String,
    pub details: Option<Box<StatusDetails>>,
}

/// A resource named the way Kubernetes names it in messages: `configmaps` or `widgets.example.com`.
#[derive(Debug, Clone, Copy)]
pub struct QualifiedResource<'a> {
    pub group: &'a str,
    pub resource: &'a str,
}

impl std::fmt::Display for QualifiedResource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// A kind named the way Kubernetes names it in `Invalid` messages: `ConfigMap` or `Widget.example.com`.
#[derive(Debug, Clone, Copy)]
pub struct QualifiedKind<'a> {
    pub group: &'a str,
    pub kind: &'a str,
}

impl std::fmt::Display for QualifiedKind<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// One field error, as `field.Error` renders it in Go.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueForbidden`, `FieldValueNotSupported`, ...
    pub reason: &'static str,
    pub field: String,
    /// The complete text after `field: `, e.g. `Invalid value: "X": must be ...`.
    pub detail: String,
}

impl FieldError {
    /// `Invalid value: <value>: <detail>`.
    pub fn invalid(
        field: impl Into<String>,
        value: &Value,
        detail: impl std::fmt::Display,
    ) -> Self {
        Self {
            reason: "FieldValueInvalid",
            field: field.into(),
            detail: format!("Invalid value: {}: {detail}", render_value(value)),
        }
    }
    /// `Required value` (optionally `: detail`).
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let detail = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Self {
            reason: "FieldValueRequired",
            field: field.into(),
            detail,
        }
    }
    /// `Forbidden: detail`.
    pub fn forbidden(field: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self {
            reason: "FieldValueForbidden",
            field: field.into(),
            detail: format!("Forbidden: {detail}"),
        }
    }
    /// `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: impl Into<String>, value: &Value, supported: &[Value]) -> Self {
        let list: Vec<String> = supported.iter().map(render_value).collect();
        Self {
            reason: "FieldValueNotSupported",
            field: field.into(),
            detail: format!(
                "Unsupported value: {}: supported values: {}",
                render_value(value),
                list.join(", ")
            ),
        }
    }
    /// `Too long: may not be more than N bytes` and friends.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self {
            reason: "FieldValueTooLong",
            field: field.into(),
            detail: format!("Too long: may not be more than {max} bytes"),
        }
    }
    /// `Invalid value: "object": detail` (type errors render the value as its type, like Go).
    pub fn type_invalid(
        field: impl Into<String>,
        value: &Value,
        detail: impl std::fmt::Display,
    ) -> Self {
        Self {
            reason: "FieldValueTypeInvalid",
            field: field.into(),
            detail: format!("Invalid value: \"{}\": {detail}", json_type_name(value)),
        }
    }
    /// `field: detail`, the way Go prints an `ErrorList` entry.
    pub fn render(&self) -> String {
        if self.field.is_empty() {
            self.detail.clone()
        } else {
            format!("{}: {}", self.field, self.detail)
        }
    }
}

/// Go's `%#v`-ish rendering used by field errors: strings quoted, numbers and bools bare.
pub fn render_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => format!("\"{}\"", json_type_name(value)),
    }
}

/// The OpenAPI name of a JSON value's type.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl StatusError {
    fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.to_string(),
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, group: &str, kind: &str, name: &str) -> Self {
        self.details = Some(Box::new(StatusDetails {
            name: name.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
            ..Default::default()
        }));
        self
    }

    /// 404 `configmaps "x" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        let qr = QualifiedResource { group, resource };
        Self::new(404, "NotFound", format!("{qr} {name:?} not found"))
            .with_details(group, resource, name)
    }

    /// 404 for a URL that names no resource.
    pub fn resource_not_found() -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details = Some(Box::default());
        e
    }

    /// 409 `configmaps "x" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        let qr = QualifiedResource { group, resource };
        Self::new(
            409,
            "AlreadyExists",
            format!("{qr} {name:?} already exists"),
        )
        .with_details(group, resource, name)
    }

    /// 409 Conflict with the standard optimistic-concurrency text.
    pub fn conflict_modified(group: &str, resource: &str, name: &str) -> Self {
        Self::conflict(
            group,
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 `Operation cannot be fulfilled on configmaps "x": <why>`.
    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        let qr = QualifiedResource { group, resource };
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {qr} {name:?}: {why}"),
        )
        .with_details(group, resource, name)
    }

    /// 422 `ConfigMap "x" is invalid: <errors>`.
    pub fn invalid(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let qk = QualifiedKind { group, kind };
        let rendered: Vec<String> = errors.iter().map(FieldError::render).collect();
        let joined = match rendered.len() {
            0 => String::new(),
            1 => rendered[0].clone(),
            _ => format!("[{}]", rendered.join(", ")),
        };
        let mut err = Self::new(
            422,
            "Invalid",
            format!("{qk} {name:?} is invalid: {joined}"),
        )
        .with_details(group, kind, name);
        if let Some(d) = err.details.as_mut() {
            d.causes = errors
                .iter()
                .map(|e| StatusCause {
                    reason: e.reason.to_string(),
                    message: e.detail.clone(),
                    field: e.field.clone(),
                })
                .collect();
        }
        err
    }

    /// 400 BadRequest with a free message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 400 for a body that does not decode: `Kind in version "v1" cannot be handled as a Kind: <why>`.
    pub fn decode(kind: &str, version: &str, why: impl std::fmt::Display) -> Self {
        Self::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: {why}"
        ))
    }

    /// 400 for `fieldValidation=Strict`: `... strict decoding error: unknown field "spec.foo", ...`.
    pub fn strict_unknown_fields(kind: &str, version: &str, fields: &[String]) -> Self {
        let list: Vec<String> = fields
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect();
        Self::decode(
            kind,
            version,
            format!("strict decoding error: {}", list.join(", ")),
        )
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// 406 NotAcceptable.
    pub fn not_acceptable() -> Self {
        Self::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io",
        )
    }

    /// 415 UnsupportedMediaType for a patch type the resource does not take.
    pub fn unsupported_patch(accepted: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 415 for a request body content type the server does not decode.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"
            ),
        )
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 410 Expired: the watch or list resourceVersion has been compacted away.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// 410 Expired for an invalid or stale `continue` token.
    pub fn expired_continue(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden with a free message.
    pub fn forbidden(group: &str, resource: &str, name: &str, why: &str) -> Self {
        let qr = QualifiedResource { group, resource };
        let message = if name.is_empty() {
            format!("{qr} is forbidden: {why}")
        } else {
            format!("{qr} {name:?} is forbidden: {why}")
        };
        Self::new(403, "Forbidden", message).with_details(group, resource, name)
    }

    /// 500 InternalError.
    pub fn internal(why: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {why}"),
        );
        e.details = Some(Box::new(StatusDetails {
            causes: vec![StatusCause {
                reason: String::new(),
                message: why.to_string(),
                field: String::new(),
            }],
            ..Default::default()
        }));
        e
    }

    /// 503 ServiceUnavailable.
    pub fn unavailable(why: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", why)
    }

    /// The `Status` JSON object.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let (Some(d), Some(obj)) = (&self.details, v.as_object_mut()) {
            obj.insert(
                "details".into(),
                serde_json::to_value(d).unwrap_or(Value::Null),
            );
        }
        v
    }
}

/// A `Status` with `status: Success`, as returned by an immediate DELETE.
pub fn success_status(group: &str, kind: &str, name: &str, uid: &str) -> Value {
    let mut details = serde_json::json!({"name": name, "kind": kind, "uid": uid});
    if !group.is_empty()
        && let Some(d) = details.as_object_mut()
    {
        d.insert("group".into(), Value::String(group.into()));
    }
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_core_and_group() {
        let e = StatusError::not_found("", "configmaps", "x");
        assert_eq!(e.message, "configmaps \"x\" not found");
        let j = e.to_json();
        assert_eq!(j["reason"], "NotFound");
        assert_eq!(j["code"], 404);
        assert_eq!(j["details"]["kind"], "configmaps");
        assert!(j["details"].get("group").is_none());
        let e = StatusError::not_found("example.com", "widgets", "w");
        assert_eq!(e.message, "widgets.example.com \"w\" not found");
    }

    #[test]
    fn conflict_text() {
        let e = StatusError::conflict_modified("", "configmaps", "x");
        assert_eq!(
            e.message,
            "Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again"
        );
    }

    #[test]
    fn invalid_renders_one_and_many() {
        let one = StatusError::invalid(
            "",
            "ConfigMap",
            "X",
            &[FieldError::invalid(
                "metadata.name",
                &Value::String("X".into()),
                "bad",
            )],
        );
        assert_eq!(
            one.message,
            "ConfigMap \"X\" is invalid: metadata.name: Invalid value: \"X\": bad"
        );
        assert_eq!(
            one.to_json()["details"]["causes"][0]["field"],
            "metadata.name"
        );
        let many = StatusError::invalid(
            "example.com",
            "Widget",
            "w",
            &[
                FieldError::required("spec.a", ""),
                FieldError::forbidden("spec.b", "nope"),
            ],
        );
        assert_eq!(
            many.message,
            "Widget.example.com \"w\" is invalid: [spec.a: Required value, spec.b: Forbidden: nope]"
        );
    }

    #[test]
    fn strict_text() {
        let e = StatusError::strict_unknown_fields(
            "Widget",
            "v1",
            &["spec.foo".into(), "spec.bar".into()],
        );
        assert_eq!(
            e.message,
            "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.foo\", unknown field \"spec.bar\""
        );
        assert_eq!(e.code, 400);
    }
}
