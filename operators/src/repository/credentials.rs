//! Resolve a Repository's `secretRef` into [`Credentials`] (`spec/porch-api.md` §3.1: a
//! `kubernetes.io/basic-auth` Secret, or an `Opaque` one with `bearerToken`).

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use porch_crds::config::v1alpha1::Repository;

use crate::error::is_not_found;
use crate::source::{Access, Credentials, SourceError};

/// The Secret type of basic-auth credentials.
pub const BASIC_AUTH_SECRET_TYPE: &str = "kubernetes.io/basic-auth";
/// The key of a bearer token in an Opaque Secret.
pub const BEARER_TOKEN_KEY: &str = "bearerToken";

fn secret_ref_name(repo: &Repository) -> Option<&str> {
    let git = repo.spec.git.as_ref().and_then(|g| g.secret_ref.as_ref());
    let oci = repo.spec.oci.as_ref().and_then(|o| o.secret_ref.as_ref());
    git.or(oci)
        .map(|s| s.name.as_str())
        .filter(|n| !n.is_empty())
}

fn field(secret: &Secret, key: &str) -> Option<String> {
    if let Some(v) = secret.data.as_ref().and_then(|d| d.get(key)) {
        return String::from_utf8(v.0.clone()).ok();
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .cloned()
}

/// Credentials from a Secret, or why they cannot be used. The message never contains a
/// secret value.
pub fn credentials_from_secret(secret: &Secret) -> Result<Credentials, String> {
    let name = secret.metadata.name.as_deref().unwrap_or_default();
    if secret.type_.as_deref() == Some(BASIC_AUTH_SECRET_TYPE) {
        let username = field(secret, "username").unwrap_or_default();
        let password = field(secret, "password").unwrap_or_default();
        if username.is_empty() && password.is_empty() {
            return Err(format!(
                "resolved credentials are invalid: secret {name:?} has no username or password"
            ));
        }
        return Ok(Credentials::Basic { username, password });
    }
    match field(secret, BEARER_TOKEN_KEY) {
        Some(token) if !token.is_empty() => Ok(Credentials::BearerToken(token)),
        _ => Err(format!(
            "resolved credentials are invalid: secret {name:?} is neither {BASIC_AUTH_SECRET_TYPE} nor holds {BEARER_TOKEN_KEY}"
        )),
    }
}

/// Read the Repository's credentials, if it names a Secret. A missing or unusable Secret is
/// a [`SourceError::Auth`] (it lands in the status); other API failures are errors.
pub async fn resolve(
    client: &kube::Client,
    namespace: &str,
    repo: &Repository,
) -> Result<Result<Option<Credentials>, SourceError>, kube::Error> {
    let Some(name) = secret_ref_name(repo) else {
        return Ok(Ok(None));
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    match secrets.get(name).await {
        Ok(secret) => Ok(credentials_from_secret(&secret)
            .map(Some)
            .map_err(SourceError::Auth)),
        Err(e) if is_not_found(&e) => Ok(Err(SourceError::Auth(format!(
            "failed to resolve credentials: secret {namespace}/{name} not found"
        )))),
        Err(e) => Err(e),
    }
}

/// The key of the CA bundle in a namespace's `<namespace>-ca-bundle` Secret.
pub const CA_BUNDLE_KEY: &str = "ca.crt";

/// The name of the CA bundle Secret of `namespace`.
pub fn ca_bundle_secret(namespace: &str) -> String {
    format!("{namespace}-ca-bundle")
}

/// Everything needed to reach the repository: its credentials and, when `use_ca_bundle`
/// (`--repositories.use-user-defined-ca-bundle`), the CA bundle of its namespace. A missing
/// or empty bundle with the option on is an error naming the Secret (never its content):
/// without it the server's certificate cannot be trusted anyway.
pub async fn resolve_access(
    client: &kube::Client,
    namespace: &str,
    repo: &Repository,
    use_ca_bundle: bool,
) -> Result<Result<Access, SourceError>, kube::Error> {
    let credentials = match resolve(client, namespace, repo).await? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let mut access = Access {
        credentials,
        ca_bundle: None,
    };
    if !use_ca_bundle {
        return Ok(Ok(access));
    }
    let name = ca_bundle_secret(namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    match secrets.get(&name).await {
        Ok(secret) => match field(&secret, CA_BUNDLE_KEY).filter(|pem| !pem.trim().is_empty()) {
            Some(pem) => access.ca_bundle = Some(pem),
            None => {
                return Ok(Err(SourceError::Other(format!(
                    "failed to resolve the CA bundle: secret {namespace}/{name} has no {CA_BUNDLE_KEY}"
                ))));
            }
        },
        Err(e) if is_not_found(&e) => {
            return Ok(Err(SourceError::Other(format!(
                "failed to resolve the CA bundle: secret {namespace}/{name} not found"
            ))));
        }
        Err(e) => return Err(e),
    }
    Ok(Ok(access))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;

    use super::*;

    fn secret(type_: &str, data: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: kube::api::ObjectMeta {
                name: Some("auth".into()),
                ..Default::default()
            },
            type_: Some(type_.into()),
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn basic_and_bearer() {
        let basic = secret(
            BASIC_AUTH_SECRET_TYPE,
            &[("username", "u"), ("password", "p")],
        );
        assert_eq!(
            credentials_from_secret(&basic).unwrap(),
            Credentials::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        let bearer = secret("Opaque", &[("bearerToken", "t0k")]);
        assert_eq!(
            credentials_from_secret(&bearer).unwrap(),
            Credentials::BearerToken("t0k".into())
        );
        let err = credentials_from_secret(&secret("Opaque", &[("x", "hunter2")])).unwrap_err();
        assert!(err.starts_with("resolved credentials are invalid"));
        assert!(!err.contains("hunter2"));
        assert!(!format!("{:?}", credentials_from_secret(&basic).unwrap()).contains("\"p\""));
    }
}
