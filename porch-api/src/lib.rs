//! The porch.kpt.dev/v1alpha1 API: PackageRevision, PackageRevisionResources and PorchPackage.

pub mod cache;

pub use cache::CrCache;
