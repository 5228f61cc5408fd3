//! Rust types for every Porch API kind, with upstream's exact wire shape.
//!
//! - [`porch::v1alpha1`]: PackageRevision, PackageRevisionResources, PorchPackage (served by
//!   Porch's API server; `kube::Api<T>` works against them).
//! - [`config::v1alpha1`], [`config::v1alpha2`]: the `config.porch.kpt.dev` CRDs.
//! - [`names`], [`uid`], [`revision`]: object names, deterministic uids, revision numbers.
//! - [`labels`]: label, annotation and finalizer keys with meaning.
//! - [`crdgen`]: the CRD objects ([`all_crds`]) and their YAML files.
//! - [`openapi`]: OpenAPI v3 schemas of the porch.kpt.dev kinds.

pub mod config;
pub mod crdgen;
pub mod labels;
pub mod names;
pub mod openapi;
pub mod plain_json;
pub mod porch;
pub mod revision;
pub(crate) mod schema;
pub(crate) mod serde_util;
pub(crate) mod string_enum;
pub mod string_map;
pub mod uid;

pub use crdgen::all_crds;
