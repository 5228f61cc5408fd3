//! The `config.porch.kpt.dev` API group: custom resources installed as CRDs.

pub mod v1alpha1;
pub mod v1alpha2;

/// The API group of every kind in this module.
pub const GROUP: &str = "config.porch.kpt.dev";
