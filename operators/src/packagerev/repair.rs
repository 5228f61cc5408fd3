//! The PackageRev controller's pure rules: which latest markers are wrong in a package, and
//! the placeholder a published package is missing.

use std::sync::Arc;

use porch_crds::config::v1alpha1::{PackageRev, PackageRevSpec, Repository};
use porch_crds::labels::{LATEST_REVISION_LABEL, LATEST_REVISION_VALUE};
use porch_crds::names::{compose_pkg_rev_obj_name, split_package_path};
use porch_crds::porch::v1alpha1::PackageRevisionLifecycle;
use porch_crds::revision::PLACEHOLDER_REVISION;

use crate::desired::{DesiredRevision, RepoContext, new_package_rev};
use crate::latest::{RevisionKey, latest_names, needs_placeholder};

fn key(p: &PackageRev) -> RevisionKey<'_> {
    RevisionKey {
        name: p.metadata.name.as_deref().unwrap_or_default(),
        package_path: &p.spec.package_name,
        revision: p.spec.revision,
        lifecycle: &p.spec.lifecycle,
    }
}

/// Whether a PackageRev carries the latest marker.
pub fn has_latest_label(p: &PackageRev) -> bool {
    p.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LATEST_REVISION_LABEL))
        .is_some_and(|v| v == LATEST_REVISION_VALUE)
}

/// The members of `all` in the same package as `of` (namespace, repository, full path).
pub fn package_group(all: &[Arc<PackageRev>], of: &PackageRev) -> Vec<Arc<PackageRev>> {
    all.iter()
        .filter(|p| {
            p.metadata.namespace == of.metadata.namespace
                && p.spec.repository == of.spec.repository
                && p.spec.package_name == of.spec.package_name
        })
        .cloned()
        .collect()
}

/// The PackageRevs of one package whose latest marker is wrong, with the value it should
/// have (`true` = add the label, `false` = remove it).
pub fn latest_fixes(group: &[Arc<PackageRev>]) -> Vec<(String, bool)> {
    let latest = latest_names(group.iter().map(|p| key(p)));
    let mut fixes: Vec<(String, bool)> = group
        .iter()
        .filter_map(|p| {
            let name = p.metadata.name.clone()?;
            let want = latest.contains(&name);
            (want != has_latest_label(p)).then_some((name, want))
        })
        .collect();
    fixes.sort();
    fixes
}

/// The placeholder a published package lacks (upstream creates it on first publish): the
/// package as on the branch head, approximated by its latest revision until the next sync
/// of the repository reads the branch.
pub fn missing_placeholder(group: &[Arc<PackageRev>], repo: &Repository) -> Option<PackageRev> {
    if !needs_placeholder(group.iter().map(|p| key(p))) {
        return None;
    }
    let branch = repo.spec.git.as_ref()?.branch.clone();
    let latest_name = latest_names(group.iter().map(|p| key(p)))
        .into_iter()
        .next()?;
    let latest = group
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(latest_name.as_str()))?;
    let repo_name = latest.spec.repository.as_str();
    let (path, package) = split_package_path(&latest.spec.package_name);
    let name = compose_pkg_rev_obj_name(repo_name, path, package, &branch);
    let mut status = latest.status.clone().unwrap_or_default();
    if let Some(git) = status.self_lock.as_mut().and_then(|l| l.git.as_mut()) {
        git.ref_ = branch.clone();
    }
    let desired = DesiredRevision {
        name,
        spec: PackageRevSpec {
            workspace_name: branch,
            revision: PLACEHOLDER_REVISION,
            lifecycle: PackageRevisionLifecycle::Published,
            ..latest.spec.clone()
        },
        status,
        latest: false,
    };
    let namespace = latest.metadata.namespace.as_deref().unwrap_or_default();
    Some(new_package_rev(
        RepoContext {
            namespace,
            name: repo_name,
            deployment: repo.spec.deployment,
        },
        desired,
    ))
}
