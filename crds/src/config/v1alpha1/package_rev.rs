//! PackageRev: the internal custom resource behind each PackageRevision (the CR cache).
//!
//! Upstream's PackageRev has an empty spec and status and only persists Kubernetes metadata
//! (labels, annotations, finalizers, owner references). Ours also carries everything the API
//! server needs to serve the PackageRevision without reading git: the spec fields, the locks,
//! the publish record, the Kptfile conditions and the commit SHA.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::porch::v1alpha1::{
    Condition, Locator, PackageMetadata, PackageRevisionLifecycle, ReadinessGate, Task,
};

/// `PackageRevSpec`: the package revision as discovered in (or written to) the repository.
// Repeated `printcolumn(type_ = ...)` arguments are not duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "config.porch.kpt.dev",
    version = "v1alpha1",
    kind = "PackageRev",
    plural = "packagerevs",
    singular = "packagerev",
    namespaced,
    status = "PackageRevStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "PackageRev is Porch's internal record of one package revision (its metadata and cached state).",
    printcolumn(name = "Package", type_ = "string", json_path = ".spec.packageName"),
    printcolumn(
        name = "WorkspaceName",
        type_ = "string",
        json_path = ".spec.workspaceName"
    ),
    printcolumn(name = "Revision", type_ = "integer", json_path = ".spec.revision"),
    printcolumn(name = "Lifecycle", type_ = "string", json_path = ".spec.lifecycle"),
    printcolumn(name = "Repository", type_ = "string", json_path = ".spec.repository"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PackageRevSpec {
    /// The Repository object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository: String,
    /// The package path relative to the repository directory (`path/pkg`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub package_name: String,
    /// The workspace (the branch name for the placeholder revision).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workspace_name: String,
    /// 0 (omitted) for Draft/Proposed, -1 for the placeholder, ≥ 1 when published.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub revision: i64,
    /// The lifecycle.
    #[serde(default)]
    pub lifecycle: PackageRevisionLifecycle,
    /// The creation task (0 or 1 element).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    /// The Kptfile's readiness gates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readiness_gates: Vec<ReadinessGate>,
    /// The Kptfile's package-level labels and annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_metadata: Option<PackageMetadata>,
}

/// `PackageRevStatus`: the cached observed state of the package revision.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageRevStatus {
    /// The commit SHA of the revision (served as the PackageRevision's resourceVersion).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub commit: String,
    /// The Kptfile's upstream lock (`{}` when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_lock: Option<Locator>,
    /// Where this revision lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_lock: Option<Locator>,
    /// Who approved it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub published_by: String,
    /// When it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::optional_time")]
    pub publish_timestamp: Option<Time>,
    /// The Repository's `spec.deployment`.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_false")]
    pub deployment: bool,
    /// The Kptfile's `status.conditions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
