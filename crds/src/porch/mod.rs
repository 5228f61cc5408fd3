//! The `porch.kpt.dev` API group, served by Porch's own API server (not CRDs).

pub mod v1alpha1;
