//! `config.porch.kpt.dev/v1alpha2`: PackageVariantSet (served and stored).

mod package_variant_set;

pub use package_variant_set::{
    DownstreamTemplate, FunctionTemplate, InjectionSelectorTemplate, MapExpr, ObjectSelector,
    PackageContextTemplate, PackageVariantSet, PackageVariantSetSpec, PackageVariantSetStatus,
    PackageVariantTemplate, PipelineTemplate, RepositoryTarget, Target,
};

/// The API version.
pub const VERSION: &str = "v1alpha2";
/// `group/version`.
pub const API_VERSION: &str = "config.porch.kpt.dev/v1alpha2";
