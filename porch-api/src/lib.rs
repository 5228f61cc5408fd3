//! The porch.kpt.dev/v1alpha1 API: PackageRevision, PackageRevisionResources and PorchPackage.

pub mod cache;
pub mod engine;
pub mod error;
pub mod filter;
pub mod packages;
pub mod tables;

pub use cache::CrCache;
pub use engine::{DeferredEngine, PackageEngine};
pub use error::ApiError;
pub mod group;
pub mod http;

pub use group::PorchApiGroup;
pub use http::ApiOptions;
