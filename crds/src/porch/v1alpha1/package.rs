//! PorchPackage: a package (all its revisions), served at `packages`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::resource::porch_resource;

/// `porch.kpt.dev/v1alpha1` PorchPackage (the kind is `PorchPackage`, the resource `packages`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PorchPackage {
    /// Standard object metadata.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub metadata: ObjectMeta,
    /// The package identity.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub spec: PackageSpec,
    /// The latest revision.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub status: PackageStatus,
}

porch_resource!(
    PorchPackage,
    list = PorchPackageList,
    kind = "PorchPackage",
    plural = "packages",
    spec = PackageSpec,
    status = PackageStatus,
);

/// `PackageSpec`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageSpec {
    /// The leaf package name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub package_name: String,
    /// The Repository object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository: String,
}

/// `PackageStatus`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageStatus {
    /// The highest published revision; 0 is omitted.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub latest_revision: i64,
}
