//! Repository: a registered git repository or OCI registry holding packages.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::porch::v1alpha1::RepositoryType;

/// The only valid value of the deprecated `spec.content`.
pub const REPOSITORY_CONTENT_PACKAGE: &str = "Package";
/// The type of the Repository's condition.
pub const REPOSITORY_READY_CONDITION: &str = "Ready";
/// Condition reason: the last reconcile failed (PackageVariant uses it too, with Ready=False).
pub const REASON_ERROR: &str = "Error";
/// Condition reason: the repository is ready.
pub const REASON_READY: &str = "Ready";
/// Condition reason: a reconcile is in progress.
pub const REASON_RECONCILING: &str = "Reconciling";

fn default_content() -> Option<String> {
    Some(REPOSITORY_CONTENT_PACKAGE.to_string())
}

fn default_branch() -> String {
    "main".to_string()
}

/// `RepositorySpec`: where the packages live and how they are synced.
// Repeated `printcolumn(type_ = ...)` arguments are not duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "config.porch.kpt.dev",
    version = "v1alpha1",
    kind = "Repository",
    plural = "repositories",
    singular = "repository",
    shortname = "repo",
    namespaced,
    status = "RepositoryStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "Repository represents a repository (git or OCI) holding kpt packages.",
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Content", type_ = "string", json_path = ".spec.content"),
    printcolumn(name = "Sync schedule", type_ = "string", json_path = ".spec.sync.schedule"),
    printcolumn(name = "Deployment", type_ = "boolean", json_path = ".spec.deployment"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type=='Ready')].status"
    ),
    printcolumn(
        name = "Address",
        type_ = "string",
        json_path = ".spec['git','oci']['repo','registry']"
    ),
    printcolumn(name = "Branch", type_ = "string", json_path = ".spec.git.branch"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')")
        .message("metadata.name must conform to the RFC1123 DNS label standard"),
    validation = Rule::new("size(self.metadata.name) <= 63")
        .message("metadata.name must be no more than 63 characters"),
    validation = Rule::new("!has(oldSelf.spec.type) || self.spec.type == oldSelf.spec.type")
        .message("spec.type is immutable"),
    validation = Rule::new("!has(oldSelf.spec.git) || !has(oldSelf.spec.git.repo) || self.spec.git.repo == oldSelf.spec.git.repo")
        .message("spec.git.repo is immutable"),
    validation = Rule::new("!has(oldSelf.spec.git) || !has(oldSelf.spec.git.branch) || self.spec.git.branch == oldSelf.spec.git.branch")
        .message("spec.git.branch is immutable"),
    validation = Rule::new("!has(oldSelf.spec.git) || !has(oldSelf.spec.git.directory) || self.spec.git.directory == oldSelf.spec.git.directory")
        .message("spec.git.directory is immutable"),
    validation = Rule::new("!has(oldSelf.spec.oci) || !has(oldSelf.spec.oci.registry) || self.spec.oci.registry == oldSelf.spec.oci.registry")
        .message("spec.oci.registry is immutable"),
)]
#[serde(rename_all = "camelCase")]
pub struct RepositorySpec {
    /// User-friendly description of the repository.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The repository is a deployment repository: its published packages are deployment-ready.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_false")]
    pub deployment: bool,
    /// Type of the repository (`git` or `oci`). Immutable.
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::serde_util::empty_as_none"
    )]
    pub type_: Option<RepositoryType>,
    /// Deprecated: its only valid value is `Package`, the default.
    #[serde(default = "default_content", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "content_schema")]
    pub content: Option<String>,
    /// Repository sync details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<RepositorySync>,
    /// Git repository details; required when `type` is `git`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitRepository>,
    /// OCI repository details; required when `type` is `oci`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<OciRepository>,
}

fn content_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "Deprecated: its only valid value is `Package`, the default.",
        "type": "string",
        "default": REPOSITORY_CONTENT_PACKAGE,
        "nullable": true,
        "x-kubernetes-validations": [{
            "rule": "self == '' || self == 'Package'",
            "message": "The 'content' field is deprecated, its only valid value is 'Package'"
        }]
    })
}

impl RepositorySpec {
    /// Whether this is a git repository (`type: git`, or a `git` section without a type).
    pub fn is_git(&self) -> bool {
        match &self.type_ {
            Some(t) => *t == RepositoryType::Git,
            None => self.git.is_some(),
        }
    }

    /// The package directory with leading and trailing `/` trimmed (`""` is the root).
    pub fn git_directory(&self) -> &str {
        self.git
            .as_ref()
            .map(|g| g.directory.trim_matches('/'))
            .unwrap_or_default()
    }

    /// The package branch (`main` when unset).
    pub fn git_branch(&self) -> &str {
        match self.git.as_ref().map(|g| g.branch.as_str()) {
            Some(branch) if !branch.is_empty() => branch,
            _ => "main",
        }
    }
}

/// `RepositorySync`: when to sync the repository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositorySync {
    /// Triggers a one-time sync at this time; cleared by the controller afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::optional_time")]
    pub run_once_at: Option<Time>,
    /// A standard 5-field cron schedule for periodic full syncs, e.g. `*/10 * * * *`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub schedule: String,
}

/// `GitRepository`: where the packages are in a git repository.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepository {
    /// The repository URL, e.g. `https://github.com/GoogleCloudPlatform/blueprints.git`.
    /// Immutable.
    pub repo: String,
    /// The branch holding the packages; published packages are merged to it. Immutable.
    #[serde(default = "default_branch", skip_serializing_if = "String::is_empty")]
    #[schemars(length(min = 1))]
    pub branch: String,
    /// Create the branch when it does not exist.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_false")]
    pub create_branch: bool,
    /// The directory holding the packages; `/` or empty for the root. Immutable.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub directory: String,
    /// The Secret with the credentials (same namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
    /// The commit author to use for every commit.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// The commit author email to use for every commit.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
}

impl Default for GitRepository {
    fn default() -> Self {
        Self {
            repo: String::new(),
            branch: default_branch(),
            create_branch: false,
            directory: String::new(),
            secret_ref: None,
            author: String::new(),
            email: String::new(),
        }
    }
}

/// `OciRepository`: an OCI registry holding packages.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OciRepository {
    /// The registry address. Immutable.
    pub registry: String,
    /// The Secret with the credentials (same namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
}

/// A reference to a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SecretRef {
    /// The Secret name.
    pub name: String,
}

/// `RepositoryStatus`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryStatus {
    /// The `Ready` condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// When the last successful full sync happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::optional_time")]
    pub last_full_sync_time: Option<Time>,
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub observed_generation: i64,
    /// The last `spec.sync.runOnceAt` acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::optional_time")]
    pub observed_run_once_at: Option<Time>,
    /// The number of package revisions discovered.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub package_count: i64,
    /// The head commit of the configured branch (git only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub git_commit_hash: String,
    /// When the next full sync is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::optional_time")]
    pub next_full_sync_time: Option<Time>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_and_branch_helpers() {
        let mut spec = RepositorySpec {
            git: Some(GitRepository {
                repo: "http://x/r.git".into(),
                directory: "/a/b/".into(),
                branch: String::new(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(spec.is_git());
        assert_eq!(spec.git_directory(), "a/b");
        assert_eq!(spec.git_branch(), "main");
        spec.type_ = Some(RepositoryType::Oci);
        assert!(!spec.is_git());
        spec.git = None;
        assert_eq!(spec.git_directory(), "");
    }
}
