//! The engine's error type. Each variant is one kind of Kubernetes API error; the API layer only
//! translates a variant into a `Status` (code, reason, message) and never re-words it.

use thiserror::Error;

/// Group-qualified resource names used in error texts.
pub const PACKAGE_REVISIONS: &str = "packagerevisions.porch.kpt.dev";
pub const PACKAGE_REVISION_RESOURCES: &str = "packagerevisionresources.porch.kpt.dev";
pub const REPOSITORIES: &str = "repositories.config.porch.kpt.dev";
/// The GroupKind that field errors (422) are reported against.
pub const PACKAGE_REVISION_KIND: &str = "PackageRevision.porch.kpt.dev";

/// The kind of a single field error, as `field.Error` types print in Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// `<path>: Invalid value: <value>: <detail>`
    Invalid { value: String },
    /// `<path>: Forbidden: <detail>`
    Forbidden,
    /// `<path>: Required value: <detail>`
    Required,
}

/// One field error of a 422 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub kind: FieldErrorKind,
    pub detail: String,
}

impl FieldError {
    /// An `Invalid value` error; `value` is rendered the way Go's `%#v` renders a string (quoted).
    pub fn invalid(path: &str, value: &str, detail: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            kind: FieldErrorKind::Invalid {
                value: go_quote(value),
            },
            detail: detail.into(),
        }
    }

    /// An `Invalid value` error whose value is already rendered (e.g. a struct dump).
    pub fn invalid_raw(path: &str, rendered_value: &str, detail: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            kind: FieldErrorKind::Invalid {
                value: rendered_value.to_owned(),
            },
            detail: detail.into(),
        }
    }

    pub fn forbidden(path: &str, detail: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            kind: FieldErrorKind::Forbidden,
            detail: detail.into(),
        }
    }

    pub fn required(path: &str, detail: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            kind: FieldErrorKind::Required,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            FieldErrorKind::Invalid { value } => {
                write!(
                    f,
                    "{}: Invalid value: {}: {}",
                    self.path, value, self.detail
                )
            }
            FieldErrorKind::Forbidden => write!(f, "{}: Forbidden: {}", self.path, self.detail),
            FieldErrorKind::Required => {
                write!(f, "{}: Required value: {}", self.path, self.detail)
            }
        }
    }
}

/// Renders field errors the way `apierrors.NewInvalid` does: one error inline, several as a list.
fn render_field_errors(errors: &[FieldError]) -> String {
    match errors {
        [] => String::new(),
        [one] => one.to_string(),
        many => {
            let parts: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// Quotes a string like Go's `%q` (enough for the ASCII texts Porch produces).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Every failure the engine reports. The `Display` text of each variant is exactly the message of the
/// Kubernetes `Status` it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// 422 `Invalid`: `PackageRevision.porch.kpt.dev "<name>" is invalid: <field errors>`.
    #[error("{kind} {name:?} is invalid: {}", render_field_errors(.errors))]
    Invalid {
        kind: String,
        name: String,
        errors: Vec<FieldError>,
    },
    /// 400 `BadRequest`.
    #[error("{0}")]
    BadRequest(String),
    /// 404 `NotFound`: `<resource> "<name>" not found`.
    #[error("{resource} {name:?} not found")]
    NotFound { resource: String, name: String },
    /// 409 `Conflict`: `Operation cannot be fulfilled on <resource> "<name>": <message>`.
    #[error("Operation cannot be fulfilled on {resource} {name:?}: {message}")]
    Conflict {
        resource: String,
        name: String,
        message: String,
    },
    /// 403 `Forbidden`: `<resource> "<name>" is forbidden: <message>`.
    #[error("{resource} {name:?} is forbidden: {message}")]
    Forbidden {
        resource: String,
        name: String,
        message: String,
    },
    /// 500 `InternalError`: `Internal error occurred: <message>`.
    #[error("Internal error occurred: {0}")]
    Internal(String),
    /// 410 `Gone`.
    #[error("{0}")]
    Gone(String),
}

impl EngineError {
    /// The HTTP status code the API layer must answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::Forbidden { .. } => 403,
            Self::Internal(_) => 500,
            Self::Gone(_) => 410,
        }
    }

    /// The `Status.reason` the API layer must use.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::NotFound { .. } => "NotFound",
            Self::Conflict { .. } => "Conflict",
            Self::Forbidden { .. } => "Forbidden",
            Self::Internal(_) => "InternalError",
            Self::Gone(_) => "Gone",
        }
    }

    /// A 422 against `PackageRevision.porch.kpt.dev`.
    pub fn invalid_package_revision(name: &str, errors: Vec<FieldError>) -> Self {
        Self::Invalid {
            kind: PACKAGE_REVISION_KIND.to_owned(),
            name: name.to_owned(),
            errors,
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }

    pub fn conflict(resource: &str, name: &str, message: impl Into<String>) -> Self {
        Self::Conflict {
            resource: resource.to_owned(),
            name: name.to_owned(),
            message: message.into(),
        }
    }

    pub fn forbidden(resource: &str, name: &str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            resource: resource.to_owned(),
            name: name.to_owned(),
            message: message.into(),
        }
    }

    pub fn not_found(resource: &str, name: &str) -> Self {
        Self::NotFound {
            resource: resource.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The message without the `Internal error occurred: ` prefix (what the engine itself said).
    pub fn message(&self) -> String {
        match self {
            Self::Internal(m) | Self::BadRequest(m) | Self::Gone(m) => m.clone(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_prints_the_kubernetes_status_message() {
        let cases: Vec<(EngineError, u16, &str, &str)> = vec![
            (
                EngineError::invalid_package_revision(
                    "r.p.ws",
                    vec![FieldError::invalid(
                        "spec.lifecycle",
                        "Published",
                        "value can be only created as Draft",
                    )],
                ),
                422,
                "Invalid",
                "PackageRevision.porch.kpt.dev \"r.p.ws\" is invalid: spec.lifecycle: Invalid value: \"Published\": value can be only created as Draft",
            ),
            (
                EngineError::BadRequest("namespace must be specified".into()),
                400,
                "BadRequest",
                "namespace must be specified",
            ),
            (
                EngineError::not_found(REPOSITORIES, "repo"),
                404,
                "NotFound",
                "repositories.config.porch.kpt.dev \"repo\" not found",
            ),
            (
                EngineError::conflict(PACKAGE_REVISIONS, "a.b.c", "boom"),
                409,
                "Conflict",
                "Operation cannot be fulfilled on packagerevisions.porch.kpt.dev \"a.b.c\": boom",
            ),
            (
                EngineError::forbidden(PACKAGE_REVISIONS, "a.b.c", "no"),
                403,
                "Forbidden",
                "packagerevisions.porch.kpt.dev \"a.b.c\" is forbidden: no",
            ),
            (
                EngineError::internal("x"),
                500,
                "InternalError",
                "Internal error occurred: x",
            ),
            (EngineError::Gone("gone".into()), 410, "Gone", "gone"),
        ];
        for (err, code, reason, text) in cases {
            assert_eq!(err.http_status(), code);
            assert_eq!(err.reason(), reason);
            assert_eq!(err.to_string(), text);
        }
    }

    #[test]
    fn several_field_errors_are_listed() {
        let err = EngineError::invalid_package_revision(
            "n",
            vec![
                FieldError::forbidden("metadata.labels.x", "a"),
                FieldError::required("spec.y", "b"),
            ],
        );
        assert_eq!(
            err.to_string(),
            "PackageRevision.porch.kpt.dev \"n\" is invalid: [metadata.labels.x: Forbidden: a, spec.y: Required value: b]"
        );
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(EngineError::internal("m").message(), "m");
    }
}
