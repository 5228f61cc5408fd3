//! PackageVariantSet v1alpha1: the old shape. It is in the CRD (`served: false`,
//! `storage: false`) only so that the CRD keeps listing the version; nothing serves it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::package_variant::{AdoptionPolicy, DeletionPolicy};

/// `PackageVariantSetSpec` (v1alpha1).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "config.porch.kpt.dev",
    version = "v1alpha1",
    kind = "PackageVariantSet",
    plural = "packagevariantsets",
    singular = "packagevariantset",
    namespaced,
    status = "PackageVariantSetStatus",
    served = false,
    storage = false,
    derive = "Default",
    derive = "PartialEq",
    doc = "PackageVariantSet (v1alpha1, not served) is the Schema for the packagevariantsets API."
)]
#[serde(rename_all = "camelCase")]
pub struct PackageVariantSetSpec {
    /// The upstream package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    /// The downstream targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    /// `adoptNone` or `adoptExisting`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::serde_util::empty_as_none"
    )]
    pub adoption_policy: Option<AdoptionPolicy>,
    /// `delete` or `orphan`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::serde_util::empty_as_none"
    )]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Labels for the generated variants' package revisions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations for the generated variants' package revisions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The upstream of a v1alpha1 set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Upstream {
    /// The package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// The revision.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub revision: i64,
    /// A git ref (Go name `Tag`).
    #[serde(rename = "ref", default, skip_serializing_if = "String::is_empty")]
    pub ref_: String,
}

/// A package in a repository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Package {
    /// The Repository name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repo: String,
    /// The package name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// One v1alpha1 target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// A single downstream package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Repositories selected by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<LabelSelector>,
    /// Objects selected by identity or label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<ObjectSelector>,
    /// How to name the downstream package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_name: Option<PackageName>,
}

/// Selects objects whose names become downstream repositories.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSelector {
    /// The selectors (any match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<Selector>,
    /// The repository name, a value or a field of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_name: Option<ValueOrFromField>,
}

/// Selects objects by identity and labels.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// The apiVersion.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// A label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Annotations that must match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// How to compose a downstream package name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageName {
    /// The base name (Go name `Name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_name: Option<ValueOrFromField>,
    /// A suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<ValueOrFromField>,
    /// A prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<ValueOrFromField>,
}

/// A literal value or a field path of the selected object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueOrFromField {
    /// A literal value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// A field path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from_field: String,
}

/// `PackageVariantSetStatus`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PackageVariantSetStatus {
    /// `Stalled` and `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
