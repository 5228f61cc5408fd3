//! PorchPackage objects derived from the served revisions: one per package path with
//! `status.latestRevision`. (Upstream's CR cache never populates packages and lists none: a bug.)

use std::collections::BTreeMap;

use porch_crds::names::{compose_pkg_obj_name, split_package_path};
use porch_crds::porch::v1alpha1::{PackageRevision, PackageSpec, PackageStatus, PorchPackage};
use porch_crds::uid::package_uid;

/// Packages of `revisions` (already in list order), sorted by namespace and name.
pub fn derive_packages(revisions: &[&PackageRevision]) -> Vec<PorchPackage> {
    let mut out: BTreeMap<(String, String), PorchPackage> = BTreeMap::new();
    for pr in revisions {
        let ns = pr.metadata.namespace.clone().unwrap_or_default();
        let (path, leaf) = split_package_path(&pr.spec.package_name);
        let name = compose_pkg_obj_name(&pr.spec.repository, path, leaf);
        let pkg = out.entry((ns.clone(), name.clone())).or_insert_with(|| {
            let mut p = PorchPackage::new(
                &name,
                PackageSpec {
                    package_name: leaf.to_owned(),
                    repository: pr.spec.repository.clone(),
                },
            );
            p.metadata.namespace = Some(ns.clone());
            p.metadata.uid = Some(package_uid(&ns, &name));
            p.status = PackageStatus::default();
            p
        });
        if pr.spec.lifecycle.is_published() && pr.spec.revision > pkg.status.latest_revision {
            pkg.status.latest_revision = pr.spec.revision;
        }
        // The oldest revision's creation time stands for the package's.
        let created = pr.metadata.creation_timestamp.clone();
        if created.is_some()
            && (pkg.metadata.creation_timestamp.is_none()
                || created < pkg.metadata.creation_timestamp)
        {
            pkg.metadata.creation_timestamp = created;
        }
    }
    out.into_values().collect()
}
