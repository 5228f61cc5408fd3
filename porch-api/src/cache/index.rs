//! The no-I/O CR cache index: PackageRev and Repository objects in, PackageRevision views out.
//!
//! Fed by `apply` / `delete` / `reset` (from watchers or from the write path), it keeps the served
//! view of every revision, computes the `kpt.dev/latest-revision` label per package path and turns
//! every visible change into ADDED / MODIFIED / DELETED events stamped with a monotonically
//! increasing list resourceVersion.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_crds::labels::{
    LATEST_REVISION_LABEL, LATEST_REVISION_VALUE, V1ALPHA2_MIGRATION_ANNOTATION,
    V1ALPHA2_MIGRATION_VALUE,
};
use porch_crds::porch::v1alpha1::PackageRevision;

/// `(namespace, name)`.
pub type ObjectKey = (String, String);

/// A watch event type produced by the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One change of a served PackageRevision.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: ChangeKind,
    pub object: Arc<PackageRevision>,
    /// The list resourceVersion after this change.
    pub resource_version: u64,
}

/// The package a revision belongs to: `(namespace, repository, package path)`.
type PackageGroup = (String, String, String);

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> ObjectKey {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

fn group_of(rev: &PackageRev) -> PackageGroup {
    (
        rev.metadata.namespace.clone().unwrap_or_default(),
        rev.spec.repository.clone(),
        rev.spec.package_name.clone(),
    )
}

fn is_v1alpha2_managed(repo: &Repository) -> bool {
    repo.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(V1ALPHA2_MIGRATION_ANNOTATION))
        .is_some_and(|v| v == V1ALPHA2_MIGRATION_VALUE)
}

/// The index. Not thread-safe by itself; [`super::CrCache`] wraps it in a lock.
#[derive(Debug, Default)]
pub struct CacheIndex {
    revs: BTreeMap<ObjectKey, PackageRev>,
    repos: BTreeMap<ObjectKey, Repository>,
    /// The served view of each visible revision (with the latest label).
    views: BTreeMap<ObjectKey, Arc<PackageRevision>>,
    resource_version: u64,
}

impl CacheIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current list resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Every repository of `namespace` (all namespaces when empty).
    pub fn repositories(&self, namespace: &str) -> Vec<&Repository> {
        self.repos
            .iter()
            .filter(|((ns, _), _)| namespace.is_empty() || ns == namespace)
            .map(|(_, r)| r)
            .collect()
    }

    pub fn repository(&self, namespace: &str, name: &str) -> Option<&Repository> {
        self.repos.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// The stored PackageRev of a revision.
    pub fn package_rev(&self, namespace: &str, name: &str) -> Option<&PackageRev> {
        self.revs.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// The served view of one revision.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<PackageRevision>> {
        self.views
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Every visible revision of `namespace` (all when empty), in list order (§1.16).
    pub fn list(&self, namespace: &str) -> Vec<Arc<PackageRevision>> {
        let mut out: Vec<Arc<PackageRevision>> = self
            .views
            .iter()
            .filter(|((ns, _), _)| namespace.is_empty() || ns == namespace)
            .map(|(_, v)| v.clone())
            .collect();
        sort_views(&mut out);
        out
    }

    /// Adds or replaces a PackageRev.
    pub fn apply_package_rev(&mut self, rev: PackageRev) -> Vec<Change> {
        let key = key_of(&rev.metadata);
        let mut groups = BTreeSet::from([group_of(&rev)]);
        if let Some(old) = self.revs.insert(key, rev) {
            groups.insert(group_of(&old));
        }
        self.recompute(groups)
    }

    /// Removes a PackageRev.
    pub fn delete_package_rev(&mut self, namespace: &str, name: &str) -> Vec<Change> {
        match self.revs.remove(&(namespace.to_owned(), name.to_owned())) {
            Some(old) => self.recompute(BTreeSet::from([group_of(&old)])),
            None => Vec::new(),
        }
    }

    /// Replaces every PackageRev (a watcher re-list).
    pub fn reset_package_revs(&mut self, revs: Vec<PackageRev>) -> Vec<Change> {
        let mut groups: BTreeSet<PackageGroup> = self.revs.values().map(group_of).collect();
        self.revs = revs.into_iter().map(|r| (key_of(&r.metadata), r)).collect();
        groups.extend(self.revs.values().map(group_of));
        self.recompute(groups)
    }

    /// Adds or replaces a Repository (its revisions appear or disappear with v1alpha2 management).
    pub fn apply_repository(&mut self, repo: Repository) -> Vec<Change> {
        let key = key_of(&repo.metadata);
        self.repos.insert(key.clone(), repo);
        self.recompute(self.groups_of_repo(&key))
    }

    pub fn delete_repository(&mut self, namespace: &str, name: &str) -> Vec<Change> {
        let key = (namespace.to_owned(), name.to_owned());
        self.repos.remove(&key);
        self.recompute(self.groups_of_repo(&key))
    }

    pub fn reset_repositories(&mut self, repos: Vec<Repository>) -> Vec<Change> {
        let mut keys: BTreeSet<ObjectKey> = self.repos.keys().cloned().collect();
        self.repos = repos
            .into_iter()
            .map(|r| (key_of(&r.metadata), r))
            .collect();
        keys.extend(self.repos.keys().cloned());
        let groups = keys.iter().flat_map(|k| self.groups_of_repo(k)).collect();
        self.recompute(groups)
    }

    fn groups_of_repo(&self, (ns, repo): &ObjectKey) -> BTreeSet<PackageGroup> {
        self.revs
            .values()
            .map(group_of)
            .filter(|(n, r, _)| n == ns && r == repo)
            .collect()
    }

    /// Whether revisions of this repository are served. A revision whose Repository is unknown
    /// is still served (the Repository watch may lag behind); v1alpha2-managed ones are not.
    fn repo_visible(&self, namespace: &str, repo: &str) -> bool {
        self.repository(namespace, repo)
            .is_none_or(|r| !is_v1alpha2_managed(r))
    }

    /// Rebuilds the views of `groups` and reports what changed.
    fn recompute(&mut self, groups: BTreeSet<PackageGroup>) -> Vec<Change> {
        let mut changes = Vec::new();
        for group in groups {
            let (ns, repo, package) = &group;
            let visible = self.repo_visible(ns, repo);
            let members: Vec<(&ObjectKey, &PackageRev)> = self
                .revs
                .iter()
                .filter(|(_, r)| visible && group_of(r) == group)
                .collect();
            let latest = latest_of(members.iter().map(|(_, r)| *r));
            let mut fresh: BTreeMap<ObjectKey, PackageRevision> = BTreeMap::new();
            for (key, rev) in members {
                let mut view = rev.to_package_revision();
                if latest.as_ref() == Some(key) {
                    view.metadata
                        .labels
                        .get_or_insert_with(BTreeMap::new)
                        .insert(
                            LATEST_REVISION_LABEL.to_owned(),
                            LATEST_REVISION_VALUE.to_owned(),
                        );
                }
                fresh.insert(key.clone(), view);
            }
            // Views currently served for this group (by the group recorded in the view itself).
            let stale: Vec<ObjectKey> = self
                .views
                .iter()
                .filter(|(k, v)| {
                    k.0 == *ns
                        && v.spec.repository == *repo
                        && v.spec.package_name == *package
                        && !fresh.contains_key(*k)
                })
                .map(|(k, _)| k.clone())
                .collect();
            for key in stale {
                // A revision that moved to another group is re-added by that group's pass.
                let moved = self.revs.get(&key).is_some_and(|r| group_of(r) != group);
                if moved {
                    continue;
                }
                if let Some(old) = self.views.remove(&key) {
                    changes.push(self.stamp(ChangeKind::Deleted, old));
                }
            }
            for (key, view) in fresh {
                let kind = match self.views.get(&key) {
                    Some(old) if **old == view => continue,
                    Some(_) => ChangeKind::Modified,
                    None => ChangeKind::Added,
                };
                let view = Arc::new(view);
                self.views.insert(key, view.clone());
                changes.push(self.stamp(kind, view));
            }
        }
        changes
    }

    fn stamp(&mut self, kind: ChangeKind, object: Arc<PackageRevision>) -> Change {
        self.resource_version += 1;
        Change {
            kind,
            object,
            resource_version: self.resource_version,
        }
    }
}

/// The latest revision of one package: the highest numbered Published/DeletionProposed one.
/// The placeholder (-1) is never latest. Grouping is by full package path (upstream groups by
/// the leaf name only, so `a/pkg` and `b/pkg` share one marker: a bug).
fn latest_of<'a>(revs: impl Iterator<Item = &'a PackageRev>) -> Option<ObjectKey> {
    revs.filter(|r| r.spec.lifecycle.is_published() && r.spec.revision > 0)
        .max_by_key(|r| r.spec.revision)
        .map(|r| key_of(&r.metadata))
}

/// List order: namespace, repository, package name, revision ascending, lifecycle, name.
pub fn sort_views(items: &mut [Arc<PackageRevision>]) {
    items.sort_by(|a, b| {
        let k = |p: &PackageRevision| {
            (
                p.metadata.namespace.clone().unwrap_or_default(),
                p.spec.repository.clone(),
                p.spec.package_name.clone(),
                p.spec.revision,
                p.spec.lifecycle.as_str().to_owned(),
                p.metadata.name.clone().unwrap_or_default(),
            )
        };
        k(a).cmp(&k(b))
    });
}
