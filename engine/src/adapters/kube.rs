//! The Kubernetes side: Repository specs ([`KubeRepositories`]), repository Secrets
//! ([`KubeSecrets`]) and PackageRev CRs as the [`MetadataStore`] ([`PackageRevMetadata`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use kube::api::{Api, DeleteParams, PostParams};
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_crds::labels::{INTERNAL_PACKAGE_REVISION_FINALIZER, INTERNAL_REPOSITORY_LABEL};
use porch_git::Credentials;

use super::git::{CredentialSource, GitRepoSpec, RepositorySpecs};
use crate::backend::{BackendError, MetadataStore};
use crate::convert;
use crate::model::{PackageRevision, StoredMeta};

/// Maps an API error: 404 → NotFound, 409 → Stale, 401/403 → Forbidden.
pub fn map_kube_error(err: kube::Error) -> BackendError {
    match &err {
        kube::Error::Api(s) if s.code == 404 => BackendError::NotFound(s.message.clone()),
        kube::Error::Api(s) if s.code == 409 => BackendError::Stale(s.message.clone()),
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => {
            BackendError::Forbidden(s.message.clone())
        }
        _ => BackendError::Other(err.to_string()),
    }
}

fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 404)
}

/// Repository git specs read from `config.porch.kpt.dev/v1alpha1` Repositories.
#[derive(Clone)]
pub struct KubeRepositories {
    client: kube::Client,
}

impl KubeRepositories {
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

/// The backend's view of a Repository's `spec.git`.
pub fn git_spec(repo: &Repository) -> Option<GitRepoSpec> {
    let git = repo.spec.git.as_ref()?;
    Some(GitRepoSpec {
        url: git.repo.clone(),
        branch: git.branch.clone(),
        directory: git.directory.clone(),
        create_branch: git.create_branch,
        author: git.author.clone(),
        email: git.email.clone(),
        secret_ref: git.secret_ref.as_ref().map(|s| s.name.clone()),
    })
}

impl RepositorySpecs for KubeRepositories {
    async fn git_spec(&self, namespace: &str, name: &str) -> Result<GitRepoSpec, BackendError> {
        let api: Api<Repository> = Api::namespaced(self.client.clone(), namespace);
        let repo = api.get(name).await.map_err(map_kube_error)?;
        git_spec(&repo).ok_or_else(|| {
            BackendError::Other(format!(
                "repository {namespace}/{name} is not a git repository"
            ))
        })
    }
}

/// Repository credentials from Secrets in the Repository's namespace.
#[derive(Clone)]
pub struct KubeSecrets {
    client: kube::Client,
}

impl KubeSecrets {
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }
}

pub const BASIC_AUTH_SECRET_TYPE: &str = "kubernetes.io/basic-auth";
pub const BEARER_TOKEN_KEY: &str = "bearerToken";

/// Credentials in a Secret: `kubernetes.io/basic-auth` username/password, or a `bearerToken`.
/// Errors name the secret and the missing key, never a value.
pub fn secret_credentials(secret: &Secret) -> Result<Credentials, BackendError> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let data = secret.data.clone().unwrap_or_default();
    let text = |key: &str| {
        data.get(key)
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
    };
    if let Some(token) = text(BEARER_TOKEN_KEY) {
        return Ok(Credentials::Bearer { token });
    }
    if secret.type_.as_deref() == Some(BASIC_AUTH_SECRET_TYPE) {
        let username = text("username")
            .ok_or_else(|| BackendError::Other(format!("secret {name} has no \"username\" key")))?;
        let password = text("password").unwrap_or_default();
        return Ok(Credentials::Basic { username, password });
    }
    Err(BackendError::Other(format!(
        "secret {name} has type {:?}: want {BASIC_AUTH_SECRET_TYPE} or a {BEARER_TOKEN_KEY} key",
        secret.type_.clone().unwrap_or_default()
    )))
}

impl CredentialSource for KubeSecrets {
    async fn credentials(
        &self,
        namespace: &str,
        secret: &str,
    ) -> Result<Credentials, BackendError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let s = api.get(secret).await.map_err(map_kube_error)?;
        secret_credentials(&s)
    }

    async fn ca_bundle(&self, namespace: &str, secret: &str) -> Result<String, BackendError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let s = api.get(secret).await.map_err(map_kube_error)?;
        secret_ca_bundle(&s)
    }
}

/// The PEM text under `ca.crt` of a CA bundle Secret (`data`, or `stringData` as written by a
/// client that has not round-tripped it). Errors name the secret and key, never a value.
pub fn secret_ca_bundle(secret: &Secret) -> Result<String, BackendError> {
    let key = super::git::CA_BUNDLE_KEY;
    let from_data = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| String::from_utf8_lossy(&v.0).into_owned());
    let from_string_data = || {
        secret
            .string_data
            .as_ref()
            .and_then(|d| d.get(key))
            .cloned()
    };
    from_data
        .or_else(from_string_data)
        .filter(|pem| !pem.trim().is_empty())
        .ok_or_else(|| {
            let name = secret.metadata.name.clone().unwrap_or_default();
            BackendError::Other(format!("secret {name} has no {key:?} key"))
        })
}

/// PackageRev CRs as the engine's metadata store and the apiserver's cache.
#[derive(Clone)]
pub struct PackageRevMetadata {
    client: kube::Client,
}

impl PackageRevMetadata {
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }

    fn api(&self, namespace: &str) -> Api<PackageRev> {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn existing(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<PackageRev>, BackendError> {
        match self.api(namespace).get(name).await {
            Ok(p) => Ok(Some(p)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(map_kube_error(e)),
        }
    }
}

/// The user-visible metadata of a stored PackageRev (internal label/finalizer and the owner
/// reference to the PackageRevision itself dropped).
pub fn stored_meta(pr: &PackageRev) -> StoredMeta {
    let m = &pr.metadata;
    let mut labels = m.labels.clone().unwrap_or_default();
    labels.remove(INTERNAL_REPOSITORY_LABEL);
    let name = m.name.clone().unwrap_or_default();
    StoredMeta {
        labels,
        annotations: m.annotations.clone().unwrap_or_default(),
        finalizers: m
            .finalizers
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f != INTERNAL_PACKAGE_REVISION_FINALIZER)
            .collect(),
        owner_references: m
            .owner_references
            .iter()
            .flatten()
            .filter(|o| !(o.kind == "PackageRevision" && o.name == name))
            .map(crate::convert::owner_from)
            .collect(),
        deletion_timestamp: m.deletion_timestamp.as_ref().map(|t| t.0.to_string()),
        creation_timestamp: m.creation_timestamp.as_ref().map(|t| t.0.to_string()),
    }
}

/// Writes `meta` into `target`'s metadata, keeping the internal label and finalizer and the
/// self owner reference.
pub fn apply_meta(target: &mut meta::ObjectMeta, repository: &str, meta: &StoredMeta) {
    let mut labels: BTreeMap<String, String> = meta.labels.clone();
    labels.remove(crate::model::LATEST_REVISION_LABEL);
    let repository = target
        .labels
        .as_ref()
        .and_then(|l| l.get(INTERNAL_REPOSITORY_LABEL).cloned())
        .unwrap_or_else(|| repository.to_owned());
    labels.insert(INTERNAL_REPOSITORY_LABEL.to_owned(), repository);
    target.labels = Some(labels);
    target.annotations = Some(meta.annotations.clone()).filter(|a| !a.is_empty());
    let mut finalizers = meta.finalizers.clone();
    if !finalizers
        .iter()
        .any(|f| f == INTERNAL_PACKAGE_REVISION_FINALIZER)
    {
        finalizers.push(INTERNAL_PACKAGE_REVISION_FINALIZER.to_owned());
    }
    target.finalizers = Some(finalizers);
    let name = target.name.clone().unwrap_or_default();
    let mut owners: Vec<meta::OwnerReference> = target
        .owner_references
        .iter()
        .flatten()
        .filter(|o| o.kind == "PackageRevision" && o.name == name)
        .cloned()
        .collect();
    owners.extend(meta.owner_references.iter().map(crate::convert::owner_to));
    target.owner_references = Some(owners).filter(|o| !o.is_empty());
}

/// `repo.pkg.ws` → `repo` (names start with the repository, porch-api.md §1).
fn repository_of(name: &str) -> String {
    crate::names::parse_package_revision_name(name)
        .map(|k| k.repository)
        .unwrap_or_default()
}

impl MetadataStore for PackageRevMetadata {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<StoredMeta>, BackendError> {
        Ok(self
            .existing(namespace, name)
            .await?
            .as_ref()
            .map(stored_meta))
    }

    async fn put(&self, namespace: &str, name: &str, meta: StoredMeta) -> Result<(), BackendError> {
        let api = self.api(namespace);
        let pp = PostParams::default();
        match self.existing(namespace, name).await? {
            Some(mut current) => {
                apply_meta(&mut current.metadata, &repository_of(name), &meta);
                let deleting = meta.deletion_timestamp.is_some()
                    && current.metadata.deletion_timestamp.is_none();
                api.replace(name, &pp, &current)
                    .await
                    .map_err(map_kube_error)?;
                if deleting {
                    // The finalizers keep the CR; the API server sets deletionTimestamp.
                    api.delete(name, &DeleteParams::default())
                        .await
                        .map_err(map_kube_error)?;
                }
            }
            None => {
                let mut pr = PackageRev::default();
                pr.metadata.name = Some(name.to_owned());
                pr.metadata.namespace = Some(namespace.to_owned());
                pr.spec.repository = repository_of(name);
                apply_meta(&mut pr.metadata, &pr.spec.repository.clone(), &meta);
                api.create(&pp, &pr).await.map_err(map_kube_error)?;
            }
        }
        Ok(())
    }

    async fn delete(&self, namespace: &str, name: &str) -> Result<(), BackendError> {
        let api = self.api(namespace);
        let Some(mut current) = self.existing(namespace, name).await? else {
            return Ok(());
        };
        let before = current.metadata.finalizers.clone().unwrap_or_default();
        if before
            .iter()
            .any(|f| f == INTERNAL_PACKAGE_REVISION_FINALIZER)
        {
            current.metadata.finalizers = Some(
                before
                    .into_iter()
                    .filter(|f| f != INTERNAL_PACKAGE_REVISION_FINALIZER)
                    .collect(),
            );
            match api.replace(name, &PostParams::default(), &current).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) => return Err(map_kube_error(e)),
            }
        }
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(map_kube_error(e)),
        }
    }

    async fn revision_stored(&self, revision: &PackageRevision) -> Result<(), BackendError> {
        let api_pr = convert::package_revision_to_api(revision);
        let desired =
            PackageRev::from_package_revision(&api_pr, &revision.metadata.resource_version);
        let namespace = revision.metadata.namespace.as_str();
        let name = revision.metadata.name.as_str();
        let api = self.api(namespace);
        let pp = PostParams::default();
        let mut current = match self.existing(namespace, name).await? {
            Some(mut current) => {
                current.spec = desired.spec.clone();
                api.replace(name, &pp, &current)
                    .await
                    .map_err(map_kube_error)?
            }
            None => api.create(&pp, &desired).await.map_err(map_kube_error)?,
        };
        current.status = desired.status;
        api.replace_status(name, &pp, &current)
            .await
            .map_err(map_kube_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OwnerReference;
    use k8s_openapi::ByteString;

    fn secret(type_: &str, data: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: meta::ObjectMeta {
                name: Some("s".into()),
                ..Default::default()
            },
            type_: Some(type_.into()),
            data: Some(
                data.iter()
                    .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn secrets_give_basic_or_bearer_credentials() {
        let basic = secret(
            BASIC_AUTH_SECRET_TYPE,
            &[("username", "u"), ("password", "hunter2")],
        );
        assert_eq!(
            secret_credentials(&basic).unwrap(),
            Credentials::Basic {
                username: "u".into(),
                password: "hunter2".into()
            }
        );
        let bearer = secret("Opaque", &[(BEARER_TOKEN_KEY, "tok")]);
        assert_eq!(
            secret_credentials(&bearer).unwrap(),
            Credentials::Bearer {
                token: "tok".into()
            }
        );
        let err = secret_credentials(&secret("Opaque", &[("password", "hunter2")])).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn ca_bundle_secrets_give_the_ca_crt_key() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let ok = secret("Opaque", &[("ca.crt", pem)]);
        assert_eq!(secret_ca_bundle(&ok).unwrap(), pem);
        let mut string_data = secret("Opaque", &[]);
        string_data.string_data = Some([("ca.crt".to_owned(), pem.to_owned())].into());
        assert_eq!(secret_ca_bundle(&string_data).unwrap(), pem);
        let err = secret_ca_bundle(&secret("Opaque", &[("tls.crt", pem)])).unwrap_err();
        assert_eq!(err.to_string(), "secret s has no \"ca.crt\" key");
        assert!(secret_ca_bundle(&secret("Opaque", &[("ca.crt", " \n")])).is_err());
    }

    #[test]
    fn stored_meta_round_trips_without_internal_fields() {
        let mut m = meta::ObjectMeta {
            name: Some("repo.pkg.ws".into()),
            ..Default::default()
        };
        let mut stored = StoredMeta::default();
        stored.labels.insert("team".into(), "a".into());
        stored.finalizers.push("user/f".into());
        stored.owner_references.push(OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "owner".into(),
            uid: "u1".into(),
            ..OwnerReference::default()
        });
        apply_meta(&mut m, "repo", &stored);
        let labels = m.labels.clone().unwrap();
        assert_eq!(
            labels.get(INTERNAL_REPOSITORY_LABEL).map(String::as_str),
            Some("repo")
        );
        assert!(
            m.finalizers
                .clone()
                .unwrap()
                .contains(&INTERNAL_PACKAGE_REVISION_FINALIZER.to_owned())
        );
        let pr = PackageRev {
            metadata: m,
            ..PackageRev::default()
        };
        assert_eq!(stored_meta(&pr), stored);
    }
}
