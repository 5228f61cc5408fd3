//! Label, annotation and finalizer keys with meaning in the Porch API
//! (`spec/porch-api.md` §1.10 and §4).

/// Label the server adds on read to the latest published revision of each package.
/// Its value is always [`LATEST_REVISION_VALUE`]; other revisions do not carry it.
pub const LATEST_REVISION_LABEL: &str = "kpt.dev/latest-revision";
/// The only value of [`LATEST_REVISION_LABEL`].
pub const LATEST_REVISION_VALUE: &str = "true";

/// PackageRevision annotation: a PRR update whose render fails still commits the resources
/// (and still returns the error).
pub const PUSH_ON_RENDER_FAILURE_ANNOTATION: &str = "porch.kpt.dev/push-on-render-failure";
/// The value of [`PUSH_ON_RENDER_FAILURE_ANNOTATION`] that turns it on.
pub const PUSH_ON_RENDER_FAILURE_VALUE: &str = "true";

/// PackageRev label holding the repository name; stripped from the PackageRevision view.
pub const INTERNAL_REPOSITORY_LABEL: &str = "internal.porch.kpt.dev/repository";
/// PackageRev finalizer, always present; stripped from the PackageRevision view.
pub const INTERNAL_PACKAGE_REVISION_FINALIZER: &str = "internal.porch.kpt.dev/packagerevision";

/// Repository finalizer added by the repository controller.
pub const REPOSITORY_FINALIZER: &str = "config.porch.kpt.dev/repository";
/// Repository annotation: the repository is managed through v1alpha2 (upstream main only).
pub const V1ALPHA2_MIGRATION_ANNOTATION: &str = "porch.kpt.dev/v1alpha2-migration";
/// The value of [`V1ALPHA2_MIGRATION_ANNOTATION`] that turns it on.
pub const V1ALPHA2_MIGRATION_VALUE: &str = "true";

/// PackageVariant finalizer (added by the PackageVariant and PackageVariantSet controllers).
pub const PACKAGE_VARIANT_FINALIZER: &str = "config.porch.kpt.dev/packagevariants";
/// PackageVariant label naming the uid of the PackageVariantSet that owns it.
pub const PACKAGE_VARIANT_SET_LABEL: &str = "config.porch.kpt.dev/packagevariantset";

/// Annotation on the bookmark object that ends a watch's initial events.
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

/// kpt: a local-only resource (Kptfile, package-context ConfigMap), never applied.
pub const LOCAL_CONFIG_ANNOTATION: &str = "config.kubernetes.io/local-config";
/// kpt merge logic: the upstream identity of a resource after a clone.
pub const UPSTREAM_IDENTIFIER_ANNOTATION: &str = "internal.kpt.dev/upstream-identifier";
/// Package-variant injection: marks an injection point (`required` or `optional`).
pub const CONFIG_INJECTION_ANNOTATION: &str = "kpt.dev/config-injection";
/// Package-variant injection: names the in-cluster resource that was injected.
pub const INJECTED_RESOURCE_ANNOTATION: &str = "kpt.dev/injected-resource";

/// OCI manifest annotation holding the lifecycle.
pub const OCI_LIFECYCLE_ANNOTATION: &str = "kpt.dev/lifecycle";
/// OCI manifest annotation holding the revision.
pub const OCI_REVISION_ANNOTATION: &str = "kpt.dev/revision";
