//! The seam to the kpt library: package algorithms over in-memory file maps. Everything except
//! `render` is pure (no I/O); `render` may call the function runner and is async.

use std::future::Future;

use crate::content_cache::PackageFiles;
use crate::model::{Condition, GitLock, InitTask, PackageMetadata};

/// A failure of a package operation (invalid Kptfile, merge conflict, ...). Becomes a 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OpsError(pub String);

/// `init`: a new package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitRequest {
    /// `spec.packageName` (`path/pkg`); the Kptfile's `metadata.name` is its leaf.
    pub package_name: String,
    pub task: InitTask,
}

/// `clone`: a copy of an upstream package bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneRequest {
    /// `spec.packageName` of the new package (`Kptfile` `metadata.name` becomes its leaf).
    pub package_name: String,
    pub upstream_files: PackageFiles,
    /// Written as Kptfile `upstream` (without commit) and `upstreamLock` (with commit).
    pub upstream_lock: GitLock,
    /// The target repository has `spec.deployment: true`: regenerate `package-context.yaml`.
    pub deployment: bool,
    /// `package-path` for the package context (parent chain + package name).
    pub package_path: String,
}

/// `upgrade`: a three-way merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    pub local: PackageFiles,
    pub old_upstream: PackageFiles,
    pub new_upstream: PackageFiles,
    /// The new upstream's lock, written into the Kptfile.
    pub new_upstream_lock: GitLock,
    /// `resource-merge` (also for "" and unknown values), `fast-forward`,
    /// `force-delete-replace`, `copy-merge`.
    pub strategy: String,
}

/// How Kptfile fields from the API are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchMode {
    /// Create: upsert labels/annotations into the existing ones.
    Merge,
    /// Draft update: the given set replaces the Kptfile's.
    Replace,
}

/// Kptfile fields written from the PackageRevision (each only when `Some`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KptfilePatch {
    pub mode: PatchMode,
    pub package_metadata: Option<PackageMetadata>,
    /// `info.readinessGates` condition types.
    pub readiness_gates: Option<Vec<String>>,
    /// `status.conditions` (always replace).
    pub conditions: Option<Vec<Condition>>,
}

/// `RenderStatus` of a PRR (`result` is kpt's `FunctionResultList` as JSON).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderStatus {
    pub result: serde_json::Value,
    pub error: String,
}

/// What a render produced. On failure `files` are what kpt left (original or, with
/// `kpt.dev/save-on-render-failure`, partially rendered).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOutcome {
    pub files: PackageFiles,
    pub status: RenderStatus,
    /// `Some(details)` when the pipeline failed.
    pub error: Option<String>,
}

/// kpt operations the engine needs.
pub trait PackageOps: Send + Sync {
    fn init(&self, req: &InitRequest) -> Result<PackageFiles, OpsError>;

    fn clone_package(&self, req: &CloneRequest) -> Result<PackageFiles, OpsError>;

    /// `edit` ("copy"): the files verbatim; Kptfile `upstream`/`upstreamLock` untouched.
    fn copy(&self, source: &PackageFiles) -> Result<PackageFiles, OpsError> {
        Ok(source.clone())
    }

    fn upgrade(&self, req: &UpgradeRequest) -> Result<PackageFiles, OpsError>;

    /// Applies `patch` to the root Kptfile.
    fn patch_kptfile(
        &self,
        files: PackageFiles,
        patch: &KptfilePatch,
    ) -> Result<PackageFiles, OpsError>;

    /// PRR update: copies comments from `old` resources with the same identity into `new`
    /// (`healConfig`), unless either side has ytt markers.
    fn heal_comments(&self, old: &PackageFiles, new: PackageFiles) -> PackageFiles;

    /// `kpt fn render` of the package (root = top-most Kptfile; none → unchanged, no error).
    fn render(&self, files: PackageFiles) -> impl Future<Output = RenderOutcome> + Send;
}
