//! `RevisionRecord`: one package revision as the repository backend reports it (git facts plus the
//! Kptfile-derived fields), before Kubernetes metadata and the latest marker are added.

use crate::model::{
    Condition, GitLock, LATEST_REVISION_LABEL, Lifecycle, ObjectMeta, PackageMetadata,
    PackageRevision, PackageRevisionSpec, PackageRevisionStatus, RepositoryInfo, StoredMeta, Task,
};
use crate::names;

/// The placeholder ("main") revision number.
pub const PLACEHOLDER_REVISION: i64 = -1;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevisionRecord {
    pub repository: String,
    /// `path/pkg`, relative to the repository directory.
    pub package_name: String,
    pub workspace_name: String,
    /// 0 for Draft/Proposed, N ≥ 1 when published, -1 for the placeholder.
    pub revision: i64,
    pub lifecycle: Lifecycle,
    /// The commit SHA of the revision: its resourceVersion and content-cache key.
    pub commit: String,
    /// The creation task from the commit annotations (0 or 1).
    pub task: Option<Task>,
    pub package_metadata: PackageMetadata,
    pub readiness_gates: Vec<String>,
    pub conditions: Vec<Condition>,
    pub upstream_lock: Option<GitLock>,
    pub self_lock: Option<GitLock>,
    pub published_by: Option<String>,
    pub published_at: Option<String>,
}

impl RevisionRecord {
    /// The Kubernetes object name `repo.path.dotted.pkg.ws`.
    pub fn name(&self) -> String {
        names::package_revision_name(&self.repository, &self.package_name, &self.workspace_name)
    }

    /// Whether [`name`](Self::name) is `name`, without composing it for records that cannot
    /// match (a name ends in `.<workspace>`): lookups over thousands of revisions stay cheap.
    pub fn is_named(&self, name: &str) -> bool {
        let ws = self.workspace_name.as_str();
        let could = name.is_empty()
            || (name.starts_with(self.repository.as_str())
                && name.len() > ws.len()
                && name.ends_with(ws)
                && name.as_bytes()[name.len() - ws.len() - 1] == b'.');
        could && self.name() == name
    }

    /// Revision -1 on the repository branch: the package as it is on the branch head.
    pub fn is_placeholder(&self, branch: &str) -> bool {
        self.revision == PLACEHOLDER_REVISION && self.workspace_name == branch
    }

    /// Published or DeletionProposed with a real revision number (candidates for latest).
    pub fn is_numbered_publication(&self) -> bool {
        self.lifecycle.is_published() && self.revision >= 1
    }

    /// The API object: git facts + stored metadata + the computed latest label.
    pub fn to_package_revision(
        &self,
        repo: &RepositoryInfo,
        meta: &StoredMeta,
        latest: bool,
    ) -> PackageRevision {
        let name = self.name();
        let mut labels = meta.labels.clone();
        // Computed on read and never trusted from storage (porch-behaviour.md §1.10 quirk).
        labels.remove(LATEST_REVISION_LABEL);
        if latest {
            labels.insert(LATEST_REVISION_LABEL.to_owned(), "true".to_owned());
        }
        let published = self.lifecycle.is_published();
        PackageRevision {
            metadata: ObjectMeta {
                uid: names::package_revision_uid(&repo.namespace, &name),
                name,
                namespace: repo.namespace.clone(),
                resource_version: self.commit.clone(),
                labels,
                annotations: meta.annotations.clone(),
                finalizers: meta.finalizers.clone(),
                owner_references: meta.owner_references.clone(),
                deletion_timestamp: meta.deletion_timestamp.clone(),
                creation_timestamp: meta.creation_timestamp.clone(),
            },
            spec: PackageRevisionSpec {
                package_name: self.package_name.clone(),
                repository: self.repository.clone(),
                workspace_name: self.workspace_name.clone(),
                revision: self.revision,
                lifecycle: self.lifecycle.as_str().to_owned(),
                tasks: self.task.iter().cloned().collect(),
                readiness_gates: Some(self.readiness_gates.clone()),
                package_metadata: Some(self.package_metadata.clone()),
            },
            status: PackageRevisionStatus {
                upstream_lock: self.upstream_lock.clone(),
                self_lock: self.self_lock.clone(),
                published_by: if published {
                    self.published_by.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                publish_timestamp: if published {
                    self.published_at.clone()
                } else {
                    None
                },
                deployment: repo.deployment,
                conditions: Some(self.conditions.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_named_agrees_with_name() {
        let rec = |repo: &str, pkg: &str, ws: &str| RevisionRecord {
            repository: repo.into(),
            package_name: pkg.into(),
            workspace_name: ws.into(),
            ..RevisionRecord::default()
        };
        let records = [
            rec("repo", "a/pkg", "ws"),
            rec("repo", "a/pkg", "ws1"),
            rec("repo", "pkg", "ws"),
            rec("repo", "a.pkg", "ws"),
            rec("re", "po.a/pkg", "ws"),
            rec("repo", "pkg", ""),
            rec("", "pkg", "ws"),
        ];
        let names = [
            "repo.a.pkg.ws",
            "repo.a.pkg.ws1",
            "repo.pkg.ws",
            "repo.a.pkg.s",
            "repo.a.pkgws",
            "ws",
            ".ws",
            "",
        ];
        for r in &records {
            for n in names {
                assert_eq!(r.is_named(n), r.name() == n, "{r:?} {n}");
            }
            assert!(r.is_named(&r.name()));
        }
    }

    #[test]
    fn view_carries_name_uid_rv_and_latest() {
        let rec = RevisionRecord {
            repository: "repo".into(),
            package_name: "a/pkg".into(),
            workspace_name: "ws".into(),
            revision: 2,
            lifecycle: Lifecycle::Published,
            commit: "abc".into(),
            published_by: Some("alice".into()),
            ..RevisionRecord::default()
        };
        let repo = RepositoryInfo {
            namespace: "ns".into(),
            name: "repo".into(),
            deployment: true,
            ..RepositoryInfo::default()
        };
        let mut meta = StoredMeta::default();
        meta.labels
            .insert(LATEST_REVISION_LABEL.into(), "true".into());
        let stale = rec.to_package_revision(&repo, &meta, false);
        assert!(!stale.is_latest(), "a stored latest label is never trusted");
        let pr = rec.to_package_revision(&repo, &meta, true);
        assert_eq!(pr.metadata.name, "repo.a.pkg.ws");
        assert_eq!(pr.metadata.resource_version, "abc");
        assert_eq!(
            pr.metadata.uid,
            names::package_revision_uid("ns", "repo.a.pkg.ws")
        );
        assert!(pr.is_latest());
        assert_eq!(pr.status.published_by, "alice");
        assert!(pr.status.deployment);
        assert!(!rec.is_placeholder("main"));
    }
}
