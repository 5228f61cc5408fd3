//! Authorization through SubjectAccessReview, with kube's short decision cache and its
//! `Forbidden` message.

use super::backend::{AuthBackend, BackendError};
use super::cache::{Clock, TtlCache};
use super::request_info::RequestInfo;
use super::user::AuthenticatedUser;
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReviewSpec,
};
use porch_apimachinery::StatusError;
use porch_apimachinery::status::StatusDetails;
use std::sync::Arc;
use std::time::Duration;

/// What the authorizer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Denied (or no opinion); `reason` is the SubjectAccessReview's `status.reason`.
    Deny {
        reason: String,
    },
}

/// How long decisions are remembered (kube's delegated defaults: 10 s each).
#[derive(Debug, Clone, Copy)]
pub struct AuthzCacheTtl {
    pub allowed: Duration,
    pub denied: Duration,
}

impl Default for AuthzCacheTtl {
    fn default() -> Self {
        Self {
            allowed: Duration::from_secs(10),
            denied: Duration::from_secs(10),
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The SubjectAccessReview spec for one request.
pub fn review_spec(user: &AuthenticatedUser, info: &RequestInfo) -> SubjectAccessReviewSpec {
    let (resource_attributes, non_resource_attributes) = if info.is_resource_request {
        (
            Some(ResourceAttributes {
                namespace: non_empty(&info.namespace),
                verb: non_empty(&info.verb),
                group: Some(info.api_group.clone()),
                version: non_empty(&info.api_version),
                resource: non_empty(&info.resource),
                subresource: non_empty(&info.subresource),
                name: non_empty(&info.name),
                ..Default::default()
            }),
            None,
        )
    } else {
        (
            None,
            Some(NonResourceAttributes {
                path: Some(info.path.clone()),
                verb: Some(info.verb.clone()),
            }),
        )
    };
    SubjectAccessReviewSpec {
        user: non_empty(&user.name),
        uid: non_empty(&user.uid),
        groups: (!user.groups.is_empty()).then(|| user.groups.clone()),
        extra: (!user.extra.is_empty()).then(|| user.extra.clone()),
        resource_attributes,
        non_resource_attributes,
    }
}

/// kube-apiserver's 403 for a denied request, e.g. `packagerevisions.porch.kpt.dev "x" is
/// forbidden: User "u" cannot get resource "packagerevisions" in API group "porch.kpt.dev" in
/// the namespace "ns"`, with `: <reason>` appended when the authorizer gave one.
pub fn forbidden(user: &AuthenticatedUser, info: &RequestInfo, reason: &str) -> StatusError {
    let who = &user.name;
    let mut why = if !info.is_resource_request {
        format!("User {who:?} cannot {} path {:?}", info.verb, info.path)
    } else {
        let resource = if info.subresource.is_empty() {
            info.resource.clone()
        } else {
            format!("{}/{}", info.resource, info.subresource)
        };
        let scope = if info.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace {:?}", info.namespace)
        };
        format!(
            "User {who:?} cannot {} resource {resource:?} in API group {:?} {scope}",
            info.verb, info.api_group
        )
    };
    if !reason.is_empty() {
        why = format!("{why}: {reason}");
    }
    if info.is_resource_request && !info.resource.is_empty() {
        StatusError::forbidden(&info.api_group, &info.resource, &info.name, &why)
    } else {
        StatusError {
            code: 403,
            reason: "Forbidden".into(),
            message: format!("forbidden: {why}"),
            details: Some(Box::new(StatusDetails::default())),
        }
    }
}

/// SubjectAccessReview with a cache keyed by the whole review spec.
pub struct Authorizer {
    backend: Arc<dyn AuthBackend>,
    cache: TtlCache<String, Decision>,
    ttl: AuthzCacheTtl,
}

impl Authorizer {
    pub fn new(backend: Arc<dyn AuthBackend>, clock: Arc<dyn Clock>, ttl: AuthzCacheTtl) -> Self {
        Self {
            backend,
            cache: TtlCache::new(clock, 10_000),
            ttl,
        }
    }

    /// Ask (or remember) whether `user` may do `info`. Errors are not cached.
    pub async fn authorize(
        &self,
        user: &AuthenticatedUser,
        info: &RequestInfo,
    ) -> Result<Decision, BackendError> {
        let spec = review_spec(user, info);
        let key = serde_json::to_string(&spec).unwrap_or_default();
        if let Some(d) = self.cache.get(&key) {
            return Ok(d);
        }
        let status = self.backend.subject_access_review(spec).await?;
        let decision = if status.allowed && status.denied != Some(true) {
            Decision::Allow
        } else {
            if let Some(e) = status.evaluation_error.as_deref().filter(|e| !e.is_empty()) {
                tracing::debug!(user = %user.name, error = e, "SubjectAccessReview evaluation error");
            }
            Decision::Deny {
                reason: status.reason.unwrap_or_default(),
            }
        };
        let ttl = match decision {
            Decision::Allow => self.ttl.allowed,
            Decision::Deny { .. } => self.ttl.denied,
        };
        self.cache.insert(key, decision.clone(), ttl);
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegated::cache::ManualClock;
    use crate::delegated::request_info::parse;
    use futures::future::BoxFuture;
    use k8s_openapi::api::authentication::v1::TokenReviewStatus;
    use k8s_openapi::api::authorization::v1::SubjectAccessReviewStatus;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    fn user() -> AuthenticatedUser {
        AuthenticatedUser {
            name: "u".into(),
            uid: "1".into(),
            groups: vec!["g".into(), "system:authenticated".into()],
            extra: BTreeMap::from([("scopes".into(), vec!["a".into()])]),
        }
    }

    #[test]
    fn forbidden_messages_match_kube() {
        let u = user();
        let info = parse(
            &http::Method::GET,
            "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions/x",
            None,
        );
        let e = forbidden(&u, &info, "");
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            r#"packagerevisions.porch.kpt.dev "x" is forbidden: User "u" cannot get resource "packagerevisions" in API group "porch.kpt.dev" in the namespace "ns""#
        );
        let j = e.to_json();
        assert_eq!(j["details"]["kind"], "packagerevisions");
        assert_eq!(j["details"]["group"], "porch.kpt.dev");
        assert_eq!(j["details"]["name"], "x");

        let info = parse(
            &http::Method::PUT,
            "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions/x/approval",
            None,
        );
        assert_eq!(
            forbidden(&u, &info, "no RBAC").message,
            r#"packagerevisions.porch.kpt.dev "x" is forbidden: User "u" cannot update resource "packagerevisions/approval" in API group "porch.kpt.dev" in the namespace "ns": no RBAC"#
        );

        let info = parse(
            &http::Method::GET,
            "/apis/porch.kpt.dev/v1alpha1/packagerevisions",
            None,
        );
        assert_eq!(
            forbidden(&u, &info, "").message,
            r#"packagerevisions.porch.kpt.dev is forbidden: User "u" cannot list resource "packagerevisions" in API group "porch.kpt.dev" at the cluster scope"#
        );

        let info = parse(&http::Method::GET, "/metrics", None);
        assert_eq!(
            forbidden(&u, &info, "").message,
            r#"forbidden: User "u" cannot get path "/metrics""#
        );
    }

    #[test]
    fn review_specs_carry_the_user_and_attributes() {
        let info = parse(
            &http::Method::PUT,
            "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions/x/approval",
            None,
        );
        let v = serde_json::to_value(review_spec(&user(), &info)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "user": "u", "uid": "1", "groups": ["g", "system:authenticated"],
                "extra": {"scopes": ["a"]},
                "resourceAttributes": {
                    "namespace": "ns", "verb": "update", "group": "porch.kpt.dev",
                    "version": "v1alpha1", "resource": "packagerevisions",
                    "subresource": "approval", "name": "x"
                }
            })
        );
        let info = parse(&http::Method::GET, "/metrics", None);
        let v = serde_json::to_value(review_spec(&user(), &info)).unwrap();
        assert_eq!(
            v["nonResourceAttributes"],
            serde_json::json!({"path": "/metrics", "verb": "get"})
        );
        assert!(v.get("resourceAttributes").is_none());
    }

    /// Answers SubjectAccessReviews from a list of allowed verbs, counting calls.
    struct Scripted {
        allowed_verbs: Vec<&'static str>,
        calls: Mutex<usize>,
        fail: bool,
    }

    impl AuthBackend for Scripted {
        fn token_review(
            &self,
            _token: &str,
        ) -> BoxFuture<'_, Result<TokenReviewStatus, BackendError>> {
            Box::pin(async { Ok(TokenReviewStatus::default()) })
        }
        fn subject_access_review(
            &self,
            spec: SubjectAccessReviewSpec,
        ) -> BoxFuture<'_, Result<SubjectAccessReviewStatus, BackendError>> {
            *self.calls.lock().unwrap() += 1;
            let verb = spec
                .resource_attributes
                .and_then(|r| r.verb)
                .unwrap_or_default();
            let allowed = self.allowed_verbs.contains(&verb.as_str());
            let fail = self.fail;
            Box::pin(async move {
                if fail {
                    return Err(BackendError {
                        call: "SubjectAccessReview",
                        message: "down".into(),
                    });
                }
                Ok(SubjectAccessReviewStatus {
                    allowed,
                    reason: (!allowed).then(|| "nope".to_string()),
                    ..Default::default()
                })
            })
        }
        fn auth_config_map(
            &self,
        ) -> BoxFuture<'_, Result<Option<BTreeMap<String, String>>, BackendError>> {
            Box::pin(async { Ok(None) })
        }
    }

    #[tokio::test]
    async fn decisions_are_cached_per_attribute_set_until_their_ttl() {
        let backend = Arc::new(Scripted {
            allowed_verbs: vec!["get"],
            calls: Mutex::new(0),
            fail: false,
        });
        let clock = Arc::new(ManualClock::new());
        let ttl = AuthzCacheTtl {
            allowed: Duration::from_secs(10),
            denied: Duration::from_secs(5),
        };
        let authz = Authorizer::new(backend.clone(), clock.clone(), ttl);
        let get = parse(
            &http::Method::GET,
            "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions/x",
            None,
        );
        let del = parse(
            &http::Method::DELETE,
            "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions/x",
            None,
        );
        let u = user();
        assert_eq!(authz.authorize(&u, &get).await.unwrap(), Decision::Allow);
        assert_eq!(authz.authorize(&u, &get).await.unwrap(), Decision::Allow);
        assert_eq!(*backend.calls.lock().unwrap(), 1);
        assert_eq!(
            authz.authorize(&u, &del).await.unwrap(),
            Decision::Deny {
                reason: "nope".into()
            }
        );
        assert_eq!(*backend.calls.lock().unwrap(), 2);
        // Another user is another key.
        let mut other = user();
        other.name = "v".into();
        authz.authorize(&other, &get).await.unwrap();
        assert_eq!(*backend.calls.lock().unwrap(), 3);
        // The denial expires first.
        clock.advance(Duration::from_secs(6));
        authz.authorize(&u, &get).await.unwrap();
        assert_eq!(*backend.calls.lock().unwrap(), 3);
        authz.authorize(&u, &del).await.unwrap();
        assert_eq!(*backend.calls.lock().unwrap(), 4);
        clock.advance(Duration::from_secs(5));
        authz.authorize(&u, &get).await.unwrap();
        assert_eq!(*backend.calls.lock().unwrap(), 5);
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let backend = Arc::new(Scripted {
            allowed_verbs: vec![],
            calls: Mutex::new(0),
            fail: true,
        });
        let authz = Authorizer::new(
            backend.clone(),
            Arc::new(ManualClock::new()),
            AuthzCacheTtl::default(),
        );
        let info = parse(&http::Method::GET, "/metrics", None);
        assert!(authz.authorize(&user(), &info).await.is_err());
        assert!(authz.authorize(&user(), &info).await.is_err());
        assert_eq!(*backend.calls.lock().unwrap(), 2);
    }
}
