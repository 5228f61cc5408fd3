//! Turning failures into Kubernetes `Status` responses. Engine errors are never re-worded.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use porch_apimachinery::status::{StatusCause, StatusDetails, StatusError};
use porch_engine::EngineError;
use porch_engine::error::{FieldError, FieldErrorKind};

/// Any failed request of this API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ApiError(pub Box<StatusError>);

impl ApiError {
    pub fn status(err: StatusError) -> Self {
        Self(Box::new(err))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::status(StatusError::bad_request(message))
    }

    /// 405 as `apierrors.NewMethodNotSupported(<qualified resource>, action)` words it.
    pub fn method_not_supported(qualified: &str, action: &str) -> Self {
        let (group, kind) = group_resource(qualified);
        Self::status(StatusError {
            code: 405,
            reason: "MethodNotAllowed".into(),
            message: format!("{action} is not supported on resources of kind {qualified:?}"),
            details: Some(Box::new(StatusDetails {
                group,
                kind,
                ..Default::default()
            })),
        })
    }
}

/// Splits `packagerevisions.porch.kpt.dev` into (`porch.kpt.dev`, `packagerevisions`).
fn group_resource(qualified: &str) -> (String, String) {
    match qualified.split_once('.') {
        Some((resource, group)) => (group.to_owned(), resource.to_owned()),
        None => (String::new(), qualified.to_owned()),
    }
}

fn details(qualified: &str, name: &str) -> Option<StatusDetails> {
    let (group, kind) = group_resource(qualified);
    Some(StatusDetails {
        name: name.to_owned(),
        group,
        kind,
        ..Default::default()
    })
}

/// A field error as `details.causes` carries it (kubectl prints the causes of a 422).
fn cause(e: &FieldError) -> StatusCause {
    let reason = match e.kind {
        FieldErrorKind::Invalid { .. } => "FieldValueInvalid",
        FieldErrorKind::Forbidden => "FieldValueForbidden",
        FieldErrorKind::Required => "FieldValueRequired",
    };
    let text = e.to_string();
    let message = text
        .strip_prefix(&format!("{}: ", e.path))
        .unwrap_or(&text)
        .to_owned();
    StatusCause {
        reason: reason.into(),
        message,
        field: e.path.clone(),
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        let details = match &err {
            EngineError::NotFound { resource, name }
            | EngineError::Conflict { resource, name, .. }
            | EngineError::Forbidden { resource, name, .. } => details(resource, name),
            EngineError::Invalid { kind, name, errors } => {
                let (group, kind) = group_resource(kind);
                Some(StatusDetails {
                    name: name.clone(),
                    group,
                    kind,
                    causes: errors.iter().map(cause).collect(),
                    ..Default::default()
                })
            }
            _ => None,
        };
        Self::status(StatusError {
            code: err.http_status(),
            reason: err.reason().to_owned(),
            message: err.to_string(),
            details: details.map(Box::new),
        })
    }
}

impl From<StatusError> for ApiError {
    fn from(err: StatusError) -> Self {
        Self::status(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.0.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0.to_json()).unwrap_or_default();
        (
            code,
            [(http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
