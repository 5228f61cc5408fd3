//! Tasks: how a package revision was created (`spec.tasks`, git commit annotations).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::render::RenderStatus;
use crate::string_enum::string_enum;

string_enum! {
    /// `Task.type`. Unknown values (legacy `eval`, `patch`, `update`) decode as `Other`.
    pub enum TaskType {
        /// Create a new package.
        Init = "init",
        /// Clone an upstream package.
        Clone = "clone",
        /// Copy a published revision of the same package (porchctl `copy`).
        Edit = "edit",
        /// Merge a new upstream revision into a downstream package.
        Upgrade = "upgrade",
        /// Internal: a render (git annotations only).
        Render = "render",
        /// Internal: a push (git annotations only).
        Push = "push",
        /// Internal: no type.
        None = "",
    }
    default = None;
}

impl TaskType {
    /// Upstream `IsValidFirstTaskType`: init, clone, edit or upgrade.
    pub fn is_valid_first_task_type(&self) -> bool {
        matches!(self, Self::Init | Self::Clone | Self::Edit | Self::Upgrade)
    }
}

string_enum! {
    /// The kind of repository an upstream lives in (`git` or `oci`).
    pub enum RepositoryType {
        /// A git repository.
        Git = "git",
        /// An OCI registry.
        Oci = "oci",
    }
    default = Git;
}

string_enum! {
    /// How an upgrade merges the new upstream into the local package.
    pub enum PackageMergeStrategy {
        /// Three-way resource merge (the default).
        ResourceMerge = "resource-merge",
        /// Only when the local package is unchanged from the old upstream.
        FastForward = "fast-forward",
        /// Replace the local package with the new upstream.
        ForceDeleteReplace = "force-delete-replace",
        /// Copy the new upstream over the local package, keeping local-only files.
        CopyMerge = "copy-merge",
    }
    default = ResourceMerge;
}

/// One task. In practice a package revision lists 0 or 1: its creation task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Task {
    /// The task type (always serialized, even when empty).
    #[serde(rename = "type", default)]
    pub type_: TaskType,
    /// Set for `init`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<PackageInitTaskSpec>,
    /// Set for `clone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone: Option<PackageCloneTaskSpec>,
    /// Set for `edit` (copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<PackageEditTaskSpec>,
    /// Set for `upgrade`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<PackageUpgradeTaskSpec>,
}

impl Task {
    /// An `init` task.
    pub fn init(spec: PackageInitTaskSpec) -> Self {
        Self {
            type_: TaskType::Init,
            init: Some(spec),
            ..Default::default()
        }
    }

    /// A `clone` task from `upstream`.
    pub fn clone_from(upstream: UpstreamPackage) -> Self {
        Self {
            type_: TaskType::Clone,
            clone: Some(PackageCloneTaskSpec {
                upstream_ref: upstream,
            }),
            ..Default::default()
        }
    }

    /// An `edit` (copy) task from the package revision named `source`.
    pub fn edit(source: &str) -> Self {
        Self {
            type_: TaskType::Edit,
            edit: Some(PackageEditTaskSpec {
                source_ref: Some(PackageRevisionRef::new(source)),
            }),
            ..Default::default()
        }
    }

    /// An `upgrade` task.
    pub fn upgrade(spec: PackageUpgradeTaskSpec) -> Self {
        Self {
            type_: TaskType::Upgrade,
            upgrade: Some(spec),
            ..Default::default()
        }
    }

    /// The upstream package revision this task names, if any: the registered upstream of
    /// a clone (`clone.upstreamRef.upstreamRef.name`) or the new upstream of an upgrade.
    pub fn upstream_name(&self) -> Option<&str> {
        match self.type_ {
            TaskType::Clone => self
                .clone
                .as_ref()
                .and_then(|c| c.upstream_ref.upstream_ref.as_ref())
                .map(|r| r.name.as_str()),
            TaskType::Upgrade => self
                .upgrade
                .as_ref()
                .map(|u| u.new_upstream_ref.name.as_str()),
            _ => None,
        }
    }
}

/// `init`: create a new package.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageInitTaskSpec {
    /// A subdirectory to initialize instead of the package root.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subpackage: String,
    /// The package description (Kptfile `info.description`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Keywords (Kptfile `info.keywords`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub keywords: Vec<String>,
    /// The package site (Kptfile `info.site`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub site: String,
}

/// `clone`: copy an upstream package.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PackageCloneTaskSpec {
    /// The upstream. A registered upstream appears as the doubled key
    /// `clone.upstreamRef.upstreamRef.name`. Always serialized.
    #[serde(
        rename = "upstreamRef",
        default,
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub upstream_ref: UpstreamPackage,
}

/// `edit` (porchctl `copy`): a new revision from a published revision of the same package.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageEditTaskSpec {
    /// The source package revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<PackageRevisionRef>,
}

/// `upgrade`: merge a new upstream revision into a local package revision.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageUpgradeTaskSpec {
    /// The upstream revision the local package was cloned from.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub old_upstream_ref: PackageRevisionRef,
    /// The upstream revision to upgrade to.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub new_upstream_ref: PackageRevisionRef,
    /// The local (downstream) revision to upgrade.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub local_package_revision_ref: PackageRevisionRef,
    /// The merge strategy; `resource-merge` when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::serde_util::empty_as_none"
    )]
    pub strategy: Option<PackageMergeStrategy>,
}

/// Where an upstream package lives: a registered package revision, or a raw git/OCI location.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamPackage {
    /// `git` or `oci`; when absent, `upstreamRef` is used.
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::serde_util::empty_as_none"
    )]
    pub type_: Option<RepositoryType>,
    /// A raw git location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitPackage>,
    /// A raw OCI image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<OciPackage>,
    /// A registered package revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_ref: Option<PackageRevisionRef>,
}

/// A package in a git repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitPackage {
    /// The repository URL.
    #[serde(default)]
    pub repo: String,
    /// A branch, tag or commit SHA.
    #[serde(rename = "ref", default)]
    pub ref_: String,
    /// The package directory in the repository.
    #[serde(default)]
    pub directory: String,
    /// Credentials; serialized even when empty (`{"name": ""}`), as upstream does.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub secret_ref: SecretRef,
}

/// A reference to a Secret in the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecretRef {
    /// The Secret name.
    #[serde(default)]
    pub name: String,
}

/// A package in an OCI registry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OciPackage {
    /// The image reference.
    #[serde(default)]
    pub image: String,
}

/// A reference to a PackageRevision by object name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageRevisionRef {
    /// The PackageRevision object name.
    #[serde(default)]
    pub name: String,
}

impl PackageRevisionRef {
    /// A reference to `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
        }
    }
}

/// Internal: a task and the render it caused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    /// The task (`null` when none).
    #[serde(default)]
    pub task: Option<Task>,
    /// The render outcome, if a render ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_status: Option<RenderStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clone_task_has_the_doubled_key() {
        let task = Task::clone_from(UpstreamPackage {
            upstream_ref: Some(PackageRevisionRef::new("blueprints.basens.v1")),
            ..Default::default()
        });
        assert_eq!(
            serde_json::to_value(&task).unwrap(),
            json!({"type": "clone", "clone": {"upstreamRef": {"upstreamRef": {"name": "blueprints.basens.v1"}}}})
        );
        assert_eq!(task.upstream_name(), Some("blueprints.basens.v1"));
    }

    #[test]
    fn legacy_and_unknown_tasks_decode() {
        let task: Task = serde_json::from_value(json!({
            "type": "eval",
            "eval": {"image": "gcr.io/kpt-fn/set-namespace:v0.1", "configMap": {"namespace": "x"}}
        }))
        .unwrap();
        assert_eq!(task.type_, TaskType::Other("eval".into()));
        assert!(!task.type_.is_valid_first_task_type());
        let task: Task = serde_json::from_value(
            json!({"type": "clone", "clone": {"strategy": "x", "upstreamRef": {}}}),
        )
        .unwrap();
        assert_eq!(task.clone, Some(PackageCloneTaskSpec::default()));
    }

    #[test]
    fn upgrade_and_git_upstream_shapes() {
        let task = Task::upgrade(PackageUpgradeTaskSpec {
            old_upstream_ref: PackageRevisionRef::new("up.pkg.v1"),
            new_upstream_ref: PackageRevisionRef::new("up.pkg.v2"),
            local_package_revision_ref: PackageRevisionRef::new("down.pkg.v1"),
            strategy: Some(PackageMergeStrategy::ResourceMerge),
        });
        assert_eq!(
            serde_json::to_string(&task).unwrap(),
            r#"{"type":"upgrade","upgrade":{"oldUpstreamRef":{"name":"up.pkg.v1"},"newUpstreamRef":{"name":"up.pkg.v2"},"localPackageRevisionRef":{"name":"down.pkg.v1"},"strategy":"resource-merge"}}"#
        );
        assert_eq!(task.upstream_name(), Some("up.pkg.v2"));
        let upstream: UpstreamPackage = serde_json::from_value(
            json!({"type": "git", "git": {"repo": "https://h/r.git", "ref": "basens/v1", "directory": "basens"}}),
        )
        .unwrap();
        assert_eq!(upstream.type_, Some(RepositoryType::Git));
        // Go serializes the non-pointer secretRef even when empty.
        assert_eq!(
            serde_json::to_string(&upstream).unwrap(),
            r#"{"type":"git","git":{"repo":"https://h/r.git","ref":"basens/v1","directory":"basens","secretRef":{"name":""}}}"#
        );
        let empty: PackageUpgradeTaskSpec =
            serde_json::from_value(json!({"strategy": ""})).unwrap();
        assert_eq!(empty.strategy, None);
    }
}
