//! Converting between a PackageRev (the stored record) and the PackageRevision it serves.
//!
//! Storing adds what upstream's CR cache adds (the `internal.porch.kpt.dev/repository`
//! label, the `internal.porch.kpt.dev/packagerevision` finalizer, an owner reference to the
//! PackageRevision) and drops the computed `kpt.dev/latest-revision` label; serving strips
//! those again and derives the uid and resourceVersion.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::package_rev::{PackageRev, PackageRevSpec, PackageRevStatus};
use crate::labels::{
    INTERNAL_PACKAGE_REVISION_FINALIZER, INTERNAL_REPOSITORY_LABEL, LATEST_REVISION_LABEL,
};
use crate::porch::v1alpha1::{
    API_VERSION, PackageRevision, PackageRevisionSpec, PackageRevisionStatus,
};
use crate::uid::package_revision_uid;

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

impl PackageRev {
    /// The PackageRev that stores `pr`, whose revision lives at `commit`.
    pub fn from_package_revision(pr: &PackageRevision, commit: &str) -> Self {
        let name = pr.metadata.name.clone().unwrap_or_default();
        let namespace = pr.metadata.namespace.clone().unwrap_or_default();
        let uid = package_revision_uid(&namespace, &name);

        let mut labels = pr.metadata.labels.clone().unwrap_or_default();
        labels.remove(LATEST_REVISION_LABEL);
        labels.insert(
            INTERNAL_REPOSITORY_LABEL.to_string(),
            pr.spec.repository.clone(),
        );
        let mut finalizers = pr.metadata.finalizers.clone().unwrap_or_default();
        if !finalizers
            .iter()
            .any(|f| f == INTERNAL_PACKAGE_REVISION_FINALIZER)
        {
            finalizers.push(INTERNAL_PACKAGE_REVISION_FINALIZER.to_string());
        }
        let mut owners = pr.metadata.owner_references.clone().unwrap_or_default();
        if !owners.iter().any(|o| o.uid == uid) {
            owners.push(OwnerReference {
                api_version: API_VERSION.to_string(),
                kind: PackageRevision::KIND.to_string(),
                name: name.clone(),
                uid: uid.clone(),
                ..Default::default()
            });
        }

        let spec = &pr.spec;
        let status = &pr.status;
        PackageRev {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: pr.metadata.namespace.clone(),
                labels: Some(labels),
                annotations: pr.metadata.annotations.clone(),
                finalizers: Some(finalizers),
                owner_references: Some(owners),
                ..Default::default()
            },
            spec: PackageRevSpec {
                repository: spec.repository.clone(),
                package_name: spec.package_name.clone(),
                workspace_name: spec.workspace_name.clone(),
                revision: spec.revision,
                lifecycle: spec.lifecycle.clone(),
                tasks: spec.tasks.clone(),
                readiness_gates: spec.readiness_gates.clone().unwrap_or_default(),
                package_metadata: spec.package_metadata.clone(),
            },
            status: Some(PackageRevStatus {
                commit: commit.to_string(),
                upstream_lock: Some(status.upstream_lock.clone()),
                self_lock: status.self_lock.clone(),
                published_by: status.published_by.clone(),
                publish_timestamp: status.publish_timestamp.clone(),
                deployment: status.deployment,
                conditions: status.conditions.clone().unwrap_or_default(),
            }),
        }
    }

    /// The PackageRevision this record serves (without the computed latest label, which
    /// depends on the other revisions of the package).
    pub fn to_package_revision(&self) -> PackageRevision {
        let name = self.metadata.name.clone().unwrap_or_default();
        let namespace = self.metadata.namespace.clone().unwrap_or_default();
        let uid = package_revision_uid(&namespace, &name);
        let status = self.status.clone().unwrap_or_default();

        let labels = self.metadata.labels.clone().map(|mut labels| {
            labels.remove(INTERNAL_REPOSITORY_LABEL);
            labels.remove(LATEST_REVISION_LABEL);
            labels
        });
        let finalizers = self.metadata.finalizers.clone().map(|finalizers| {
            finalizers
                .into_iter()
                .filter(|f| f != INTERNAL_PACKAGE_REVISION_FINALIZER)
                .collect::<Vec<_>>()
        });
        let owners = self.metadata.owner_references.clone().map(|owners| {
            owners
                .into_iter()
                .filter(|o| o.uid != uid)
                .collect::<Vec<_>>()
        });

        PackageRevision {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: self.metadata.namespace.clone(),
                uid: Some(uid),
                resource_version: (!status.commit.is_empty()).then(|| status.commit.clone()),
                creation_timestamp: self.metadata.creation_timestamp.clone(),
                deletion_timestamp: self.metadata.deletion_timestamp.clone(),
                labels: labels.filter(|l| !l.is_empty()),
                annotations: self.metadata.annotations.clone().filter(|a| !a.is_empty()),
                finalizers: finalizers.and_then(non_empty),
                owner_references: owners.and_then(non_empty),
                ..Default::default()
            },
            spec: PackageRevisionSpec {
                package_name: self.spec.package_name.clone(),
                repository: self.spec.repository.clone(),
                workspace_name: self.spec.workspace_name.clone(),
                revision: self.spec.revision,
                parent: None,
                lifecycle: self.spec.lifecycle.clone(),
                tasks: self.spec.tasks.clone(),
                readiness_gates: non_empty(self.spec.readiness_gates.clone()),
                // The git/CR backend always returns package metadata, possibly `{}`.
                package_metadata: Some(self.spec.package_metadata.clone().unwrap_or_default()),
            },
            status: PackageRevisionStatus {
                upstream_lock: status.upstream_lock.unwrap_or_default(),
                self_lock: status.self_lock,
                published_by: status.published_by,
                publish_timestamp: status.publish_timestamp,
                deployment: status.deployment,
                conditions: non_empty(status.conditions),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::porch::v1alpha1::{PackageRevisionLifecycle, Task};

    fn sample() -> PackageRevision {
        let mut pr: PackageRevision = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "git.init-package.init-1",
                "namespace": "rpkg-init",
                "labels": {"kpt.dev/latest-revision": "true", "team": "a"},
                "annotations": {"porch.kpt.dev/push-on-render-failure": "true"},
                "finalizers": ["example.com/keep"],
                "ownerReferences": [{"apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "PackageVariant", "name": "pv", "uid": "u-1"}]
            },
            "spec": {"packageName": "init-package", "repository": "git", "workspaceName": "init-1", "lifecycle": "Proposed", "revision": 0},
            "status": {"publishTimestamp": null}
        }))
        .unwrap();
        pr.spec.tasks = vec![Task::edit("git.init-package.v1")];
        pr
    }

    #[test]
    fn storing_adds_the_internal_markers_and_drops_latest() {
        let rev = PackageRev::from_package_revision(&sample(), "abc123");
        let labels = rev.metadata.labels.as_ref().unwrap();
        assert_eq!(
            labels.get(INTERNAL_REPOSITORY_LABEL).map(String::as_str),
            Some("git")
        );
        assert!(!labels.contains_key(LATEST_REVISION_LABEL));
        assert_eq!(
            rev.metadata.finalizers.as_ref().unwrap(),
            &vec![
                "example.com/keep".to_string(),
                INTERNAL_PACKAGE_REVISION_FINALIZER.to_string()
            ]
        );
        let owners = rev.metadata.owner_references.as_ref().unwrap();
        assert_eq!(owners.len(), 2);
        assert_eq!(owners[1].kind, "PackageRevision");
        assert_eq!(owners[1].uid, "45ee0692-730a-51b2-9a1d-ad4f4ad55dc8");
        assert_eq!(rev.status.as_ref().unwrap().commit, "abc123");
        // Storing twice does not pile up markers.
        let again = PackageRev::from_package_revision(&rev.to_package_revision(), "abc123");
        assert_eq!(again.metadata.finalizers, rev.metadata.finalizers);
        assert_eq!(
            again.metadata.owner_references,
            rev.metadata.owner_references
        );
    }

    #[test]
    fn serving_strips_the_markers_and_derives_uid_and_version() {
        let pr = PackageRev::from_package_revision(&sample(), "abc123").to_package_revision();
        assert_eq!(
            pr.metadata.uid.as_deref(),
            Some("45ee0692-730a-51b2-9a1d-ad4f4ad55dc8")
        );
        assert_eq!(pr.metadata.resource_version.as_deref(), Some("abc123"));
        assert_eq!(
            pr.metadata.labels,
            Some(BTreeMap::from([("team".to_string(), "a".to_string())]))
        );
        assert_eq!(
            pr.metadata.finalizers,
            Some(vec!["example.com/keep".to_string()])
        );
        assert_eq!(pr.metadata.owner_references.as_ref().unwrap().len(), 1);
        assert_eq!(pr.spec.lifecycle, PackageRevisionLifecycle::Proposed);
        assert_eq!(pr.spec.tasks, sample().spec.tasks);
        let text = serde_json::to_string(&pr).unwrap();
        assert!(text.contains(r#""packageMetadata":{}"#));
        assert!(text.contains(r#""upstreamLock":{},"publishTimestamp":null"#));
    }
}
