//! Delegated authentication: front-proxy headers, client certificates and bearer tokens
//! (TokenReview), in kube-apiserver's order. Anonymous requests are not authenticated.

use super::backend::{AuthBackend, BackendError};
use super::cache::{Clock, TtlCache};
use super::front_proxy::{self, AuthenticationConfig, ConfigError};
use super::user::AuthenticatedUser;
use http::HeaderMap;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Why the authentication settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("configmap kube-system/extension-apiserver-authentication: {0}")]
    Config(#[from] ConfigError),
}

/// Authenticates requests; the ConfigMap-derived part can be refreshed while serving.
pub struct Authenticator {
    backend: Arc<dyn AuthBackend>,
    config: RwLock<Arc<AuthenticationConfig>>,
    /// TokenReview answers by SHA-256 of the token; `None` is a rejected token.
    tokens: TtlCache<String, Option<AuthenticatedUser>>,
    token_ttl: Duration,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl Authenticator {
    pub fn new(backend: Arc<dyn AuthBackend>, clock: Arc<dyn Clock>, token_ttl: Duration) -> Self {
        Self {
            backend,
            config: RwLock::new(Arc::new(AuthenticationConfig::default())),
            tokens: TtlCache::new(clock, 10_000),
            token_ttl,
        }
    }

    /// The current ConfigMap-derived settings.
    pub fn config(&self) -> Arc<AuthenticationConfig> {
        self.config
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    pub fn set_config(&self, cfg: AuthenticationConfig) {
        match self.config.write() {
            Ok(mut c) => *c = Arc::new(cfg),
            Err(e) => *e.into_inner() = Arc::new(cfg),
        }
    }

    /// Re-read the ConfigMap. Returns false when it does not exist (front-proxy and client
    /// certificate authentication stay off; tokens still work), as kube tolerates.
    pub async fn refresh(&self) -> Result<bool, AuthnError> {
        match self.backend.auth_config_map().await? {
            Some(data) => {
                self.set_config(AuthenticationConfig::from_config_map(&data)?);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Who made the request, or `None` (401). Front-proxy headers are removed from `headers`.
    pub async fn authenticate(
        &self,
        chain: &[CertificateDer<'_>],
        headers: &mut HeaderMap,
    ) -> Option<AuthenticatedUser> {
        let cfg = self.config();
        if let Some(rh) = &cfg.request_header {
            let found = front_proxy::authenticate(rh, chain, headers);
            front_proxy::strip_headers(rh, headers);
            match found {
                Ok(Some(u)) => return Some(u.with_authenticated_group()),
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "front-proxy authentication failed"),
            }
        }
        if let Some(ca) = &cfg.client_ca {
            match front_proxy::authenticate_client_cert(ca, chain) {
                Ok(Some(u)) => return Some(u.with_authenticated_group()),
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "client certificate authentication failed"),
            }
        }
        let token = bearer(headers)?;
        self.authenticate_token(token)
            .await
            .map(AuthenticatedUser::with_authenticated_group)
    }

    async fn authenticate_token(&self, token: &str) -> Option<AuthenticatedUser> {
        let key = hex::encode(Sha256::digest(token.as_bytes()));
        if let Some(hit) = self.tokens.get(&key) {
            return hit;
        }
        let status = match self.backend.token_review(token).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "TokenReview failed");
                return None;
            }
        };
        let user = match (status.authenticated, status.user) {
            (Some(true), Some(u)) if u.username.as_deref().is_some_and(|n| !n.is_empty()) => {
                Some(AuthenticatedUser {
                    name: u.username.unwrap_or_default(),
                    uid: u.uid.unwrap_or_default(),
                    groups: u.groups.unwrap_or_default(),
                    extra: u.extra.unwrap_or_default(),
                })
            }
            _ => {
                if let Some(e) = status.error.filter(|e| !e.is_empty()) {
                    tracing::debug!(error = %e, "token rejected");
                }
                None
            }
        };
        self.tokens.insert(key, user.clone(), self.token_ttl);
        user
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegated::cache::ManualClock;
    use futures::future::BoxFuture;
    use k8s_openapi::api::authentication::v1::{TokenReviewStatus, UserInfo};
    use k8s_openapi::api::authorization::v1::{SubjectAccessReviewSpec, SubjectAccessReviewStatus};
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Tokens {
        seen: Mutex<Vec<String>>,
    }

    impl AuthBackend for Tokens {
        fn token_review(
            &self,
            token: &str,
        ) -> BoxFuture<'_, Result<TokenReviewStatus, BackendError>> {
            self.seen.lock().unwrap().push(token.to_string());
            let ok = token == "good";
            Box::pin(async move {
                Ok(TokenReviewStatus {
                    authenticated: Some(ok),
                    user: ok.then(|| UserInfo {
                        username: Some("alice".into()),
                        groups: Some(vec!["dev".into()]),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
            })
        }
        fn subject_access_review(
            &self,
            _spec: SubjectAccessReviewSpec,
        ) -> BoxFuture<'_, Result<SubjectAccessReviewStatus, BackendError>> {
            Box::pin(async { Ok(SubjectAccessReviewStatus::default()) })
        }
        fn auth_config_map(
            &self,
        ) -> BoxFuture<'_, Result<Option<BTreeMap<String, String>>, BackendError>> {
            Box::pin(async { Ok(None) })
        }
    }

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[tokio::test]
    async fn tokens_are_reviewed_once_per_ttl() {
        let backend = Arc::new(Tokens::default());
        let clock = Arc::new(ManualClock::new());
        let a = Authenticator::new(backend.clone(), clock.clone(), Duration::from_secs(10));
        let u = a
            .authenticate(&[], &mut headers("Bearer good"))
            .await
            .unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(u.groups, vec!["dev", "system:authenticated"]);
        assert!(
            a.authenticate(&[], &mut headers("Bearer good"))
                .await
                .is_some()
        );
        assert!(
            a.authenticate(&[], &mut headers("Bearer bad"))
                .await
                .is_none()
        );
        assert!(
            a.authenticate(&[], &mut headers("Bearer bad"))
                .await
                .is_none()
        );
        assert_eq!(backend.seen.lock().unwrap().len(), 2);
        clock.advance(Duration::from_secs(10));
        assert!(
            a.authenticate(&[], &mut headers("Bearer good"))
                .await
                .is_some()
        );
        assert_eq!(backend.seen.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn anonymous_and_other_schemes_are_not_authenticated() {
        let backend = Arc::new(Tokens::default());
        let a = Authenticator::new(
            backend.clone(),
            Arc::new(ManualClock::new()),
            Duration::from_secs(10),
        );
        assert!(a.authenticate(&[], &mut HeaderMap::new()).await.is_none());
        assert!(
            a.authenticate(&[], &mut headers("Basic Z29vZA=="))
                .await
                .is_none()
        );
        assert!(a.authenticate(&[], &mut headers("Bearer ")).await.is_none());
        assert!(backend.seen.lock().unwrap().is_empty());
    }
}
