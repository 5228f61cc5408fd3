//! PackageRevision: one revision of a package in a repository.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::lifecycle::PackageRevisionLifecycle;
use super::resource::porch_resource;
use super::task::Task;
use crate::labels::{LATEST_REVISION_LABEL, LATEST_REVISION_VALUE};
use crate::string_enum::string_enum;
use crate::string_map::StringMap;

/// `porch.kpt.dev/v1alpha1` PackageRevision, served at `packagerevisions`.
///
/// Serialization always writes `apiVersion`, `kind`, `metadata`, `spec` and `status`, as
/// upstream's Go structs do.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PackageRevision {
    /// Standard object metadata.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub spec: PackageRevisionSpec,
    /// The observed state.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub status: PackageRevisionStatus,
}

porch_resource!(
    PackageRevision,
    list = PackageRevisionList,
    kind = "PackageRevision",
    plural = "packagerevisions",
    spec = PackageRevisionSpec,
    status = PackageRevisionStatus,
);

impl PackageRevision {
    /// Whether the object carries `kpt.dev/latest-revision: "true"`.
    pub fn is_latest(&self) -> bool {
        self.metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(LATEST_REVISION_LABEL))
            .is_some_and(|value| value == LATEST_REVISION_VALUE)
    }
}

/// `PackageRevisionSpec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageRevisionSpec {
    /// The package path relative to the repository directory, e.g. `basedir/subdir/pkg`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub package_name: String,
    /// The Repository object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository: String,
    /// The workspace: an RFC 1123 label, unique per package in the repository.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workspace_name: String,
    /// 0 (omitted) for Draft/Proposed, -1 for the placeholder, ≥ 1 when published.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub revision: i64,
    /// Deprecated: a parent package revision (for the package context path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentReference>,
    /// The lifecycle; `""` decodes as Draft.
    #[serde(default)]
    pub lifecycle: PackageRevisionLifecycle,
    /// The creation task (0 or 1 element).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub tasks: Vec<Task>,
    /// The Kptfile's `info.readinessGates`. `None` (absent) and `Some([])` differ on update:
    /// only a present list replaces the Kptfile's gates.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_none_or_empty")]
    pub readiness_gates: Option<Vec<ReadinessGate>>,
    /// The Kptfile's `metadata.labels`/`annotations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_metadata: Option<PackageMetadata>,
}

impl PackageRevisionSpec {
    /// `spec.packageName` split into its directory and leaf package name.
    pub fn path_and_package(&self) -> (&str, &str) {
        crate::names::split_package_path(&self.package_name)
    }

    /// The object name the server gives this revision (`ComposePkgRevObjName`), or `""`
    /// when the repository, package or workspace is missing.
    pub fn obj_name(&self) -> String {
        let (path, package) = self.path_and_package();
        crate::names::compose_pkg_rev_obj_name(
            &self.repository,
            path,
            package,
            &self.workspace_name,
        )
    }
}

/// Package-level labels and annotations (the Kptfile's metadata, stored in git).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageMetadata {
    /// Kptfile `metadata.labels`.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_none_or_empty")]
    pub labels: Option<StringMap>,
    /// Kptfile `metadata.annotations`.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_none_or_empty")]
    pub annotations: Option<StringMap>,
}

/// A readiness gate: a condition type that must be True before proposing or approving.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessGate {
    /// The condition type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition_type: String,
}

/// Deprecated reference to a parent package revision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ParentReference {
    /// The parent PackageRevision name.
    #[serde(default)]
    pub name: String,
}

/// `PackageRevisionStatus`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageRevisionStatus {
    /// The Kptfile's upstream lock; always serialized, `{}` when there is none.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub upstream_lock: Locator,
    /// Where this revision lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_lock: Option<Locator>,
    /// Who approved it (Published and DeletionProposed only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub published_by: String,
    /// When it was approved. A Go non-pointer `metav1.Time`: always serialized, `null`
    /// while unset. (Go name `PublishedAt`.)
    #[serde(rename = "publishTimestamp", default)]
    #[schemars(schema_with = "crate::schema::optional_time")]
    pub publish_timestamp: Option<Time>,
    /// The Repository's `spec.deployment`.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_false")]
    pub deployment: bool,
    /// The Kptfile's `status.conditions`. `None` and `Some([])` differ on update.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_none_or_empty")]
    pub conditions: Option<Vec<Condition>>,
}

/// Where a package (revision) comes from: `{type: git, git: {...}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Locator {
    /// The origin type (`git`).
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// The git location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitLock>,
}

/// A resolved git location.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitLock {
    /// The repository URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repo: String,
    /// The package directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub directory: String,
    /// The (short) ref, e.g. `drafts/pkg/ws` or `pkg/v1`.
    #[serde(rename = "ref", default, skip_serializing_if = "String::is_empty")]
    pub ref_: String,
    /// The commit SHA.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub commit: String,
}

string_enum! {
    /// A condition's status.
    pub enum ConditionStatus {
        /// True.
        True = "True",
        /// False.
        False = "False",
        /// Unknown.
        Unknown = "Unknown",
    }
    default = Unknown;
}

/// A Kptfile condition (not `metav1.Condition`: no times, no generation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Condition {
    /// The condition type, e.g. `Rendered`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// True, False or Unknown.
    #[serde(default)]
    pub status: ConditionStatus,
    /// A CamelCase reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}
