//! PackageVariant: keeps one downstream package a variant of one upstream package.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::kpt_function::Pipeline;
use crate::porch::v1alpha1::RenderStatus;
use crate::string_enum::string_enum;

string_enum! {
    /// Whether existing downstream package revisions are adopted.
    pub enum AdoptionPolicy {
        /// Only manage package revisions this variant created (the default).
        AdoptNone = "adoptNone",
        /// Also adopt matching package revisions that already exist.
        AdoptExisting = "adoptExisting",
    }
    default = AdoptNone;
}

string_enum! {
    /// What happens to downstream package revisions when the variant goes away.
    pub enum DeletionPolicy {
        /// Delete them (published ones are proposed for deletion) — the default.
        Delete = "delete",
        /// Leave them, removing the owner reference.
        Orphan = "orphan",
    }
    default = Delete;
}

/// `PackageVariantSpec`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "config.porch.kpt.dev",
    version = "v1alpha1",
    kind = "PackageVariant",
    plural = "packagevariants",
    singular = "packagevariant",
    namespaced,
    status = "PackageVariantStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "PackageVariant represents an upstream and downstream porch package pair. The upstream package should already exist. The PackageVariant controller is responsible for creating the downstream package and keeping it up to date."
)]
#[serde(rename_all = "camelCase")]
pub struct PackageVariantSpec {
    /// The upstream package revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    /// The downstream package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downstream: Option<Downstream>,
    /// `adoptNone` (default) or `adoptExisting`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::serde_util::empty_as_none"
    )]
    pub adoption_policy: Option<AdoptionPolicy>,
    /// `delete` (default) or `orphan`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::serde_util::empty_as_none"
    )]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Labels for the package revisions this variant creates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations for the package revisions this variant creates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Changes to the downstream `package-context.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_context: Option<PackageContext>,
    /// Functions prepended to the downstream Kptfile pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Pipeline>,
    /// In-cluster resources to inject into the package's injection points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injectors: Vec<InjectionSelector>,
}

/// The upstream package revision of a variant.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upstream {
    /// The upstream Repository name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repo: String,
    /// The upstream package path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub package: String,
    /// Ignored by the PackageVariant controller (kept for PackageVariantSet).
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub revision: i64,
    /// The upstream workspace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workspace_name: String,
}

/// The downstream package of a variant.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Downstream {
    /// The downstream Repository name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repo: String,
    /// The downstream package path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub package: String,
}

/// Changes to the `kptfile.kpt.dev` ConfigMap in `package-context.yaml`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageContext {
    /// Keys to set (not `name` or `package-path`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Keys to remove (not `name` or `package-path`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_keys: Vec<String>,
}

/// Selects an in-cluster resource to inject.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct InjectionSelector {
    /// The API group to match, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The API version to match, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The kind to match, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The object name (required).
    pub name: String,
}

/// `PackageVariantStatus`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageVariantStatus {
    /// `Stalled` and `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The downstream package revisions this variant created or adopted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub downstream_targets: Vec<DownstreamTarget>,
}

/// A downstream package revision of a variant and its last render.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownstreamTarget {
    /// The PackageRevision name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The render status of the last PRR update (always serialized).
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub render_status: RenderStatus,
}

/// Condition type: the variant (or set) cannot make progress until its spec changes.
pub const CONDITION_STALLED: &str = "Stalled";
/// Condition type: the downstream package revisions match the spec.
pub const CONDITION_READY: &str = "Ready";
/// Reason: validation failed (Stalled=True, Ready=False).
pub const REASON_VALIDATION_ERROR: &str = "ValidationError";
/// Reason: validation passed (Stalled=False).
pub const REASON_VALID: &str = "Valid";
/// Reason: the variant was ensured (Ready=True).
pub const REASON_NO_ERRORS: &str = "NoErrors";
/// Reason (sets): the upstream package revision was not found.
pub const REASON_UPSTREAM_NOT_FOUND: &str = "UpstreamNotFound";
/// Reason (sets): an object selector names an unknown kind.
pub const REASON_NO_MATCHING_TARGETS: &str = "NoMatchingTargets";
/// Reason (sets): anything else went wrong.
pub const REASON_UNEXPECTED_ERROR: &str = "UnexpectedError";
/// Reason (sets): the variants were reconciled (Ready=True).
pub const REASON_RECONCILED: &str = "Reconciled";
/// The workspace-name prefix of package revisions a variant creates (`packagevariant-<N>`).
pub const WORKSPACE_PREFIX: &str = "packagevariant-";
