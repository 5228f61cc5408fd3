//! ServiceTemplate: the Service the function runner creates for each function pod.

use k8s_openapi::api::core::v1::ServiceSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The fields of a ServiceTemplate (upstream has no spec: `template` sits at the top level).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "config.porch.kpt.dev",
    version = "v1alpha1",
    kind = "ServiceTemplate",
    plural = "servicetemplates",
    singular = "servicetemplate",
    namespaced,
    no_spec,
    derive = "Default",
    derive = "PartialEq",
    doc = "ServiceTemplate is the template of the Service created for each function pod."
)]
pub struct ServiceTemplateFields {
    /// The Service template.
    #[serde(default)]
    pub template: ServiceTemplateSpec,
}

/// A Service's metadata and spec.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ServiceTemplateSpec {
    /// Metadata for the Service.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::object_meta")]
    pub metadata: ObjectMeta,
    /// The Service spec.
    #[serde(default)]
    pub spec: ServiceSpec,
}
