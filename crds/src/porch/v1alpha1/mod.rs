//! `porch.kpt.dev/v1alpha1`: PackageRevision, PackageRevisionResources and PorchPackage,
//! with upstream's exact JSON shape (`api/porch/v1alpha1/types.go`).

mod lifecycle;
mod package;
mod package_revision;
mod render;
pub(crate) mod resource;
mod resources;
mod task;

pub use lifecycle::PackageRevisionLifecycle;
pub use package::{PackageSpec, PackageStatus, PorchPackage, PorchPackageList};
pub use package_revision::{
    Condition, ConditionStatus, GitLock, Locator, PackageMetadata, PackageRevision,
    PackageRevisionList, PackageRevisionSpec, PackageRevisionStatus, ParentReference,
    ReadinessGate,
};
pub use render::{
    Field, File, FunctionResult, RESULT_LIST_API_VERSION, RESULT_LIST_KIND, RenderStatus,
    ResourceIdentifier, ResultItem, ResultList,
};
pub use resources::{
    PackageRevisionResources, PackageRevisionResourcesList, PackageRevisionResourcesSpec,
    PackageRevisionResourcesStatus,
};
pub use task::{
    GitPackage, OciPackage, PackageCloneTaskSpec, PackageEditTaskSpec, PackageInitTaskSpec,
    PackageMergeStrategy, PackageRevisionRef, PackageUpgradeTaskSpec, RepositoryType, SecretRef,
    Task, TaskResult, TaskType, UpstreamPackage,
};

/// The API group.
pub const GROUP: &str = "porch.kpt.dev";
/// The API version.
pub const VERSION: &str = "v1alpha1";
/// `group/version`.
pub const API_VERSION: &str = "porch.kpt.dev/v1alpha1";

/// Field selectors the packagerevisions (and packagerevisionresources) list accepts.
pub const PACKAGE_REVISION_SELECTABLE_FIELDS: [&str; 7] = [
    "metadata.name",
    "metadata.namespace",
    "spec.revision",
    "spec.packageName",
    "spec.repository",
    "spec.workspaceName",
    "spec.lifecycle",
];
