//! The three calls delegated auth makes to the kube-apiserver: TokenReview,
//! SubjectAccessReview and reading `kube-system/extension-apiserver-authentication`.

use futures::future::BoxFuture;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};
use k8s_openapi::api::authorization::v1::{
    SubjectAccessReview, SubjectAccessReviewSpec, SubjectAccessReviewStatus,
};
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;

/// The ConfigMap kube-apiserver publishes its authentication settings in.
pub const AUTH_CONFIGMAP_NAMESPACE: &str = "kube-system";
pub const AUTH_CONFIGMAP_NAME: &str = "extension-apiserver-authentication";

/// A failed call to the kube-apiserver (never carries a token).
#[derive(Debug, thiserror::Error)]
#[error("{call}: {message}")]
pub struct BackendError {
    pub call: &'static str,
    pub message: String,
}

/// The kube-apiserver as delegated auth uses it. [`KubeBackend`] is the real one.
pub trait AuthBackend: Send + Sync + 'static {
    fn token_review(&self, token: &str) -> BoxFuture<'_, Result<TokenReviewStatus, BackendError>>;
    fn subject_access_review(
        &self,
        spec: SubjectAccessReviewSpec,
    ) -> BoxFuture<'_, Result<SubjectAccessReviewStatus, BackendError>>;
    /// The ConfigMap's data, or `None` when it does not exist.
    fn auth_config_map(
        &self,
    ) -> BoxFuture<'_, Result<Option<BTreeMap<String, String>>, BackendError>>;
}

/// [`AuthBackend`] over one shared kube client.
#[derive(Clone)]
pub struct KubeBackend {
    client: kube::Client,
}

impl KubeBackend {
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

fn err(call: &'static str) -> impl FnOnce(kube::Error) -> BackendError {
    move |e| BackendError {
        call,
        message: e.to_string(),
    }
}

impl AuthBackend for KubeBackend {
    fn token_review(&self, token: &str) -> BoxFuture<'_, Result<TokenReviewStatus, BackendError>> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_string()),
                audiences: None,
            },
            ..Default::default()
        };
        Box::pin(async move {
            let api: kube::Api<TokenReview> = kube::Api::all(self.client.clone());
            let out = api
                .create(&Default::default(), &review)
                .await
                .map_err(err("TokenReview"))?;
            Ok(out.status.unwrap_or_default())
        })
    }

    fn subject_access_review(
        &self,
        spec: SubjectAccessReviewSpec,
    ) -> BoxFuture<'_, Result<SubjectAccessReviewStatus, BackendError>> {
        Box::pin(async move {
            let api: kube::Api<SubjectAccessReview> = kube::Api::all(self.client.clone());
            let review = SubjectAccessReview {
                spec,
                ..Default::default()
            };
            let out = api
                .create(&Default::default(), &review)
                .await
                .map_err(err("SubjectAccessReview"))?;
            Ok(out.status.unwrap_or_default())
        })
    }

    fn auth_config_map(
        &self,
    ) -> BoxFuture<'_, Result<Option<BTreeMap<String, String>>, BackendError>> {
        Box::pin(async move {
            let api: kube::Api<ConfigMap> =
                kube::Api::namespaced(self.client.clone(), AUTH_CONFIGMAP_NAMESPACE);
            let cm = api.get_opt(AUTH_CONFIGMAP_NAME).await.map_err(err(
                "reading configmap kube-system/extension-apiserver-authentication",
            ))?;
            Ok(cm.map(|c| c.data.unwrap_or_default()))
        })
    }
}
