//! The axum layer in front of every route: authenticate, then authorize, then hand the handlers
//! an `Extension<UserInfo>` (and the full `Extension<AuthenticatedUser>`).

use super::authn::Authenticator;
use super::authz::{Authorizer, Decision, forbidden};
use super::certs::PeerCertificates;
use super::request_info;
use crate::api::response::status_error;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use porch_apimachinery::StatusError;
use std::sync::Arc;

/// Authentication and authorization, shared by all connections.
pub struct DelegatedAuth {
    pub authn: Arc<Authenticator>,
    pub authz: Arc<Authorizer>,
}

fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Probes need neither credentials nor permission (kubelet sends none).
pub fn is_health(path: &str) -> bool {
    ["/healthz", "/livez", "/readyz"]
        .iter()
        .any(|p| under(path, p))
}

/// Non-resource paths every authenticated user may read (kube's `system:discovery` and
/// `system:public-info-viewer` roles), so they skip SubjectAccessReview.
pub fn is_discovery(path: &str) -> bool {
    ["/api", "/apis", "/openapi", "/version"]
        .iter()
        .any(|p| under(path, p))
}

/// The middleware function (`axum::middleware::from_fn_with_state`).
pub async fn guard(
    State(auth): State<Arc<DelegatedAuth>>,
    mut req: Request,
    next: Next,
) -> Response {
    if is_health(req.uri().path()) {
        return next.run(req).await;
    }
    let chain = req
        .extensions()
        .get::<PeerCertificates>()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    let Some(user) = auth.authn.authenticate(&chain, req.headers_mut()).await else {
        return status_error(&StatusError::unauthorized());
    };
    let info = request_info::parse(req.method(), req.uri().path(), req.uri().query());
    if info.is_resource_request || !is_discovery(&info.path) {
        match auth.authz.authorize(&user, &info).await {
            Ok(Decision::Allow) => {}
            Ok(Decision::Deny { reason }) => {
                tracing::debug!(user = %user.name, verb = %info.verb, resource = %info.resource, namespace = %info.namespace, "forbidden");
                return status_error(&forbidden(&user, &info, &reason));
            }
            Err(e) => {
                tracing::warn!(error = %e, "authorization failed");
                return status_error(&StatusError::internal(e));
            }
        }
    }
    req.extensions_mut().insert(user.to_user_info());
    req.extensions_mut().insert(user);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_classes() {
        assert!(is_health("/healthz"));
        assert!(is_health("/readyz/ping"));
        assert!(!is_health("/healthzz"));
        assert!(is_discovery("/apis"));
        assert!(is_discovery("/apis/porch.kpt.dev/v1alpha1"));
        assert!(is_discovery("/openapi/v3/apis/porch.kpt.dev/v1alpha1"));
        assert!(is_discovery("/version"));
        assert!(!is_discovery("/metrics"));
        assert!(!is_discovery("/apiss"));
    }
}
