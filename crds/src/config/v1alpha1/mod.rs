//! `config.porch.kpt.dev/v1alpha1`: Repository, PackageRev, PackageVariant,
//! PackageVariantSet (the not-served v1alpha1 shape), FunctionConfig and ServiceTemplate.

mod function_config;
mod kpt_function;
mod package_rev;
mod package_rev_view;
mod package_variant;
pub mod package_variant_set;
mod repository;
mod service_template;

pub use function_config::{
    BinaryExecutorConfig, ContainerOverrides, FunctionConfig, FunctionConfigSpec,
    FunctionConfigStatus, GoExecutorConfig, PodExecutorConfig, TemplateOverrides,
};
pub use kpt_function::{Function, Pipeline, Selector};
pub use package_rev::{PackageRev, PackageRevSpec, PackageRevStatus};
pub use package_variant::{
    AdoptionPolicy, CONDITION_READY, CONDITION_STALLED, DeletionPolicy, Downstream,
    DownstreamTarget, InjectionSelector, PackageContext, PackageVariant, PackageVariantSpec,
    PackageVariantStatus, REASON_NO_ERRORS, REASON_NO_MATCHING_TARGETS, REASON_RECONCILED,
    REASON_UNEXPECTED_ERROR, REASON_UPSTREAM_NOT_FOUND, REASON_VALID, REASON_VALIDATION_ERROR,
    Upstream, WORKSPACE_PREFIX,
};
pub use repository::{
    GitRepository, OciRepository, REASON_ERROR, REASON_READY, REASON_RECONCILING,
    REPOSITORY_CONTENT_PACKAGE, REPOSITORY_READY_CONDITION, Repository, RepositorySpec,
    RepositoryStatus, RepositorySync, RepositoryType, SecretRef,
};
pub use service_template::{ServiceTemplate, ServiceTemplateFields, ServiceTemplateSpec};

/// The API version.
pub const VERSION: &str = "v1alpha1";
/// `group/version`.
pub const API_VERSION: &str = "config.porch.kpt.dev/v1alpha1";
