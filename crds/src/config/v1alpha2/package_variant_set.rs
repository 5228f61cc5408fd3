//! PackageVariantSet v1alpha2: fans one upstream out into many PackageVariants.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, LabelSelector, LabelSelectorRequirement,
};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::v1alpha1::{AdoptionPolicy, DeletionPolicy, Function, Upstream};

/// `PackageVariantSetSpec`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "config.porch.kpt.dev",
    version = "v1alpha2",
    kind = "PackageVariantSet",
    plural = "packagevariantsets",
    singular = "packagevariantset",
    namespaced,
    status = "PackageVariantSetStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "PackageVariantSet is the Schema for the packagevariantsets API."
)]
#[serde(rename_all = "camelCase")]
pub struct PackageVariantSetSpec {
    /// The upstream package revision (by revision or workspace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    /// Where to create variants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

/// One target: exactly one of `repositories`, `repositorySelector` or `objectSelector`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Explicit repositories (and package names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<RepositoryTarget>,
    /// Repositories selected by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_selector: Option<LabelSelector>,
    /// Arbitrary objects selected by label; each gives one variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_selector: Option<ObjectSelector>,
    /// How to build each PackageVariant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PackageVariantTemplate>,
}

/// A repository and the package names to create in it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryTarget {
    /// The Repository name.
    pub name: String,
    /// Package names (default: the upstream package name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub package_names: Vec<String>,
}

/// A label selector over objects of one kind (upstream inlines `metav1.LabelSelector`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSelector {
    /// Labels that must all match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Label requirements that must all hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
    /// The apiVersion of the objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The kind of the objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Ignored by the controller (upstream behaviour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ObjectSelector {
    /// The label-selector part.
    pub fn label_selector(&self) -> LabelSelector {
        LabelSelector {
            match_labels: self.match_labels.clone(),
            match_expressions: self.match_expressions.clone(),
        }
    }
}

/// How to build a PackageVariant; `...Expr` fields are CEL expressions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageVariantTemplate {
    /// The downstream repository and package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downstream: Option<DownstreamTemplate>,
    /// The variant's adoption policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption_policy: Option<AdoptionPolicy>,
    /// The variant's deletion policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Static labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Computed labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_exprs: Vec<MapExpr>,
    /// Static annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Computed annotations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotation_exprs: Vec<MapExpr>,
    /// Package context changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_context: Option<PackageContextTemplate>,
    /// Pipeline functions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineTemplate>,
    /// Injectors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injectors: Vec<InjectionSelectorTemplate>,
}

/// The downstream of a template: each field static or computed (not both).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownstreamTemplate {
    /// Static repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Static package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Computed repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_expr: Option<String>,
    /// Computed package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_expr: Option<String>,
}

/// Package context changes, static and computed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageContextTemplate {
    /// Static keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Static keys to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_keys: Vec<String>,
    /// Computed keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_exprs: Vec<MapExpr>,
    /// Computed keys to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_key_exprs: Vec<String>,
}

/// An injector, static or computed name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InjectionSelectorTemplate {
    /// The API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Static name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Computed name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_expr: Option<String>,
}

/// A map entry, key and value each static or computed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MapExpr {
    /// Static key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Static value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Computed key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_expr: Option<String>,
    /// Computed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_expr: Option<String>,
}

/// Pipeline functions of a template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct PipelineTemplate {
    /// Validators.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validators: Vec<FunctionTemplate>,
    /// Mutators.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutators: Vec<FunctionTemplate>,
}

/// A pipeline function plus computed config entries (upstream inlines kpt's `Function`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunctionTemplate {
    /// The function.
    #[serde(flatten)]
    pub function: Function,
    /// Computed `configMap` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_map_exprs: Vec<MapExpr>,
}

/// `PackageVariantSetStatus`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PackageVariantSetStatus {
    /// `Stalled` and `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
