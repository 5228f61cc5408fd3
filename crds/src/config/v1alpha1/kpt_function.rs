//! kpt's function pipeline types (Kptfile `pipeline`), as PackageVariant embeds them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Kptfile `pipeline`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Pipeline {
    /// Functions that change resources, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutators: Vec<Function>,
    /// Functions that only validate resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validators: Vec<Function>,
}

/// One function in a pipeline.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    /// The container image, e.g. `ghcr.io/kptdev/krm-functions-catalog/set-labels:v0.1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// An executable to run instead of an image.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exec: String,
    /// A semver constraint on the image tag.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// A file in the package holding the function config.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config_path: String,
    /// Inline function config (a ConfigMap's data).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config_map: BTreeMap<String, String>,
    /// A name for the function, unique in the pipeline.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Resources to run on (any match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<Selector>,
    /// Resources to skip (any match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Selector>,
}

/// Selects resources by identity, labels and annotations.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
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
    /// Labels that must all match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations that must all match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}
