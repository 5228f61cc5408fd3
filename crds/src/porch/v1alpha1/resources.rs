//! PackageRevisionResources: the files of a package revision.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::render::RenderStatus;
use super::resource::porch_resource;

/// `porch.kpt.dev/v1alpha1` PackageRevisionResources, served at `packagerevisionresources`.
/// It shares name, namespace, uid and resourceVersion with its PackageRevision.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PackageRevisionResources {
    /// Standard object metadata.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub metadata: ObjectMeta,
    /// The files.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub spec: PackageRevisionResourcesSpec,
    /// The render outcome of the last update.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub status: PackageRevisionResourcesStatus,
}

porch_resource!(
    PackageRevisionResources,
    list = PackageRevisionResourcesList,
    kind = "PackageRevisionResources",
    plural = "packagerevisionresources",
    spec = PackageRevisionResourcesSpec,
    status = PackageRevisionResourcesStatus,
);

/// `PackageRevisionResourcesSpec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageRevisionResourcesSpec {
    /// The package path (upstream's git cache) or leaf name (DB cache, OCI).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub package_name: String,
    /// The workspace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workspace_name: String,
    /// The revision; 0 is omitted.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub revision: i64,
    /// The Repository object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository: String,
    /// File path (relative to the package root) to file text. Keys serialize sorted, as Go
    /// sorts map keys.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub resources: BTreeMap<String, String>,
}

/// `PackageRevisionResourcesStatus`: always serialized with its render status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageRevisionResourcesStatus {
    /// Filled in the response to an update that rendered; zero otherwise.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub render_status: RenderStatus,
}
