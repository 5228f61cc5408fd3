//! Reconcile errors. Repository-side failures (unreachable, bad credentials) are not errors
//! here: they become the Repository's status. These are failures to talk to Kubernetes.

use kube::runtime::finalizer;

/// A reconcile failure; `error_policy` requeues with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    /// A patch could not be built.
    #[error("failed to build a patch: {0}")]
    Patch(#[from] serde_json::Error),
    /// The finalizer helper failed (adding or removing the finalizer, or the cleanup).
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    /// The object has no namespace (all Porch kinds are namespaced).
    #[error("object {0} has no namespace")]
    MissingNamespace(String),
}

impl Error {
    /// A stable label for metrics (controller-rs' `metric_label`).
    pub fn category(&self) -> &'static str {
        match self {
            Self::Kube(kube::Error::Api(s)) if s.is_conflict() => "conflict",
            Self::Kube(kube::Error::Api(s)) if s.is_not_found() => "not_found",
            Self::Kube(kube::Error::Api(_)) => "api",
            Self::Kube(_) => "transport",
            Self::Patch(_) => "patch",
            Self::Finalizer(e) => match e.as_ref() {
                finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => {
                    inner.category()
                }
                _ => "finalizer",
            },
            Self::MissingNamespace(_) => "invalid",
        }
    }
}

/// Whether a kube error is a 404.
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_not_found())
}

/// Whether a kube error is a 409 AlreadyExists.
pub fn is_already_exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_already_exists())
}

/// Whether a kube error is a 409 Conflict (a precondition or resourceVersion mismatch).
pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_conflict())
}
