//! The engine's own view of the API objects. These are small, wire-agnostic structs; the API layer
//! converts `porch-crds` types into them and back. (They exist because `porch-crds` is being written
//! in parallel; once it lands, the conversions live in `convert.rs` of the API layer or here.)

use std::collections::BTreeMap;

/// Label added on read to the latest published revision of a package.
pub const LATEST_REVISION_LABEL: &str = "kpt.dev/latest-revision";
/// PR annotation: a PRR update whose render fails still commits the resources.
pub const PUSH_ON_RENDER_FAILURE_ANNOTATION: &str = "porch.kpt.dev/push-on-render-failure";

/// A package revision's lifecycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lifecycle {
    #[default]
    Draft,
    Proposed,
    Published,
    DeletionProposed,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 4] = [
        Lifecycle::Draft,
        Lifecycle::Proposed,
        Lifecycle::Published,
        Lifecycle::DeletionProposed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Draft => "Draft",
            Lifecycle::Proposed => "Proposed",
            Lifecycle::Published => "Published",
            Lifecycle::DeletionProposed => "DeletionProposed",
        }
    }

    /// Parses one of the four API values (case-sensitive, as upstream).
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == value)
    }

    /// Published or DeletionProposed: the revision has a number and lives on a tag.
    pub const fn is_published(self) -> bool {
        matches!(self, Lifecycle::Published | Lifecycle::DeletionProposed)
    }

    /// Draft or Proposed: the revision lives on a `drafts/` or `proposed/` branch.
    pub const fn is_unpublished(self) -> bool {
        !self.is_published()
    }
}

impl std::fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Task` as sent by clients: a type string plus optional sub-structs (validated by `create`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Task {
    pub task_type: String,
    pub init: Option<InitTask>,
    pub clone: Option<CloneTask>,
    pub edit: Option<EditTask>,
    pub upgrade: Option<UpgradeTask>,
}

impl Task {
    /// The implicit task of a create request without tasks.
    pub fn default_init(package_name: &str) -> Self {
        Self {
            task_type: "init".into(),
            init: Some(InitTask {
                description: format!("{package_name} description"),
                ..InitTask::default()
            }),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitTask {
    pub subpackage: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub site: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloneTask {
    pub upstream: UpstreamPackage,
}

/// `UpstreamPackage`: exactly one of a registered upstream PR, a plain git location, or OCI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamPackage {
    /// `type`: `git`, `oci`, or empty (then `upstream_ref` is used).
    pub origin_type: String,
    pub git: Option<GitPackage>,
    pub oci: Option<String>,
    /// `upstreamRef.name`: a PackageRevision name in the same namespace.
    pub upstream_ref: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitPackage {
    pub repo: String,
    pub git_ref: String,
    pub directory: String,
    pub secret_ref: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditTask {
    /// `sourceRef.name`: the published revision to copy.
    pub source_ref: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpgradeTask {
    pub old_upstream: String,
    pub new_upstream: String,
    pub local_package_revision: String,
    pub strategy: String,
}

/// `spec.packageMetadata`: Kptfile-level labels and annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageMetadata {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// A `status.conditions` entry (mirrors the Kptfile's conditions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    pub condition_type: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

/// `Locator` with its `GitLock`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitLock {
    pub repo: String,
    pub directory: String,
    pub git_ref: String,
    pub commit: String,
}

/// The subset of `ownerReferences` the engine reasons about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerReference {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub controller: Option<bool>,
    pub block_owner_deletion: Option<bool>,
}

/// Kubernetes metadata of a package revision that lives outside git (PackageRev CR or DB row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredMeta {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub finalizers: Vec<String>,
    pub owner_references: Vec<OwnerReference>,
    pub deletion_timestamp: Option<String>,
    pub creation_timestamp: Option<String>,
}

/// The metadata part of a PackageRevision as the API sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub resource_version: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub finalizers: Vec<String>,
    pub owner_references: Vec<OwnerReference>,
    pub deletion_timestamp: Option<String>,
    pub creation_timestamp: Option<String>,
}

impl ObjectMeta {
    /// The part stored outside git. The computed latest label is never stored.
    pub fn to_stored(&self) -> StoredMeta {
        let mut labels = self.labels.clone();
        labels.remove(LATEST_REVISION_LABEL);
        StoredMeta {
            labels,
            annotations: self.annotations.clone(),
            finalizers: self.finalizers.clone(),
            owner_references: self.owner_references.clone(),
            deletion_timestamp: self.deletion_timestamp.clone(),
            creation_timestamp: self.creation_timestamp.clone(),
        }
    }
}

/// `PackageRevisionSpec`. `lifecycle` keeps the raw client string so validation can report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageRevisionSpec {
    /// Path relative to the repository directory, e.g. `basedir/subdir/pkg`.
    pub package_name: String,
    pub repository: String,
    pub workspace_name: String,
    pub revision: i64,
    pub lifecycle: String,
    pub tasks: Vec<Task>,
    /// `None` = not sent (nil in Go); `Some(vec![])` = explicitly empty.
    pub readiness_gates: Option<Vec<String>>,
    pub package_metadata: Option<PackageMetadata>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageRevisionStatus {
    pub upstream_lock: Option<GitLock>,
    pub self_lock: Option<GitLock>,
    pub published_by: String,
    pub publish_timestamp: Option<String>,
    pub deployment: bool,
    /// `None` = not sent; on update a `Some` replaces the Kptfile's conditions.
    pub conditions: Option<Vec<Condition>>,
}

/// The engine's PackageRevision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageRevision {
    pub metadata: ObjectMeta,
    pub spec: PackageRevisionSpec,
    pub status: PackageRevisionStatus,
}

impl PackageRevision {
    /// The lifecycle, with `""` meaning Draft; `None` for an unknown value.
    pub fn lifecycle(&self) -> Option<Lifecycle> {
        if self.spec.lifecycle.is_empty() {
            Some(Lifecycle::Draft)
        } else {
            Lifecycle::parse(&self.spec.lifecycle)
        }
    }

    pub fn is_latest(&self) -> bool {
        self.metadata
            .labels
            .get(LATEST_REVISION_LABEL)
            .is_some_and(|v| v == "true")
    }
}

/// What the engine needs to know about a registered Repository (looked up by the API layer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepositoryInfo {
    pub namespace: String,
    pub name: String,
    /// `spec.git.branch` (default `main`): the placeholder revisions' workspace.
    pub branch: String,
    /// `spec.git.directory`, trimmed of `/`.
    pub directory: String,
    /// `spec.deployment`: clones into it regenerate the package context.
    pub deployment: bool,
    /// Annotated `porch.kpt.dev/v1alpha2-migration: "true"`: invisible to v1alpha1.
    pub v1alpha2_managed: bool,
}

/// Who makes a request (for commit authorship and `publishedBy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestUser {
    pub name: String,
    pub groups: Vec<String>,
}

impl RequestUser {
    /// Upstream uses the username as author only for users in `system:authenticated`.
    pub fn authenticated_name(&self) -> Option<&str> {
        (!self.name.is_empty() && self.groups.iter().any(|g| g == "system:authenticated"))
            .then_some(self.name.as_str())
    }
}

/// Splits `a/b/c` into (`a/b`, `c`); a name without `/` has an empty path.
pub fn split_package_name(package_name: &str) -> (&str, &str) {
    match package_name.rsplit_once('/') {
        Some((path, leaf)) => (path, leaf),
        None => ("", package_name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_round_trip() {
        for l in Lifecycle::ALL {
            assert_eq!(Lifecycle::parse(l.as_str()), Some(l));
        }
        assert_eq!(Lifecycle::parse("draft"), None);
        assert!(Lifecycle::DeletionProposed.is_published());
        assert!(Lifecycle::Proposed.is_unpublished());
    }

    #[test]
    fn default_init_task_describes_the_package() {
        let t = Task::default_init("basedir/pkg");
        assert_eq!(t.task_type, "init");
        assert_eq!(
            t.init.map(|i| i.description).as_deref(),
            Some("basedir/pkg description")
        );
    }

    #[test]
    fn split_names() {
        assert_eq!(split_package_name("a/b/c"), ("a/b", "c"));
        assert_eq!(split_package_name("c"), ("", "c"));
    }

    #[test]
    fn stored_meta_drops_latest_label() {
        let mut m = ObjectMeta::default();
        m.labels.insert(LATEST_REVISION_LABEL.into(), "true".into());
        m.labels.insert("a".into(), "b".into());
        let s = m.to_stored();
        assert_eq!(s.labels.len(), 1);
        assert_eq!(s.labels.get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn authenticated_user() {
        let u = RequestUser {
            name: "alice".into(),
            groups: vec!["system:authenticated".into()],
        };
        assert_eq!(u.authenticated_name(), Some("alice"));
        let anon = RequestUser {
            name: "bob".into(),
            groups: vec![],
        };
        assert_eq!(anon.authenticated_name(), None);
    }
}
