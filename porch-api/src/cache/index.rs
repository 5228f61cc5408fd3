//! The no-I/O CR cache index: PackageRev and Repository objects in, PackageRevision views out.
//!
//! Fed by `apply` / `delete` / `reset` (from watchers or from the write path), it keeps the served
//! view of every revision, computes the `kpt.dev/latest-revision` label per package path and turns
//! every visible change into ADDED / MODIFIED / DELETED events stamped with a monotonically
//! increasing list resourceVersion.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_crds::labels::{
    LATEST_REVISION_LABEL, LATEST_REVISION_VALUE, V1ALPHA2_MIGRATION_ANNOTATION,
    V1ALPHA2_MIGRATION_VALUE,
};
use porch_crds::porch::v1alpha1::PackageRevision;
use porch_crds::revision::{LatestCandidate, latest_per_package};

use super::served::ServedRevision;

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
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: ChangeKind,
    /// The object after the change (the last served state for `Deleted`).
    pub object: Arc<ServedRevision>,
    /// The object before the change (`None` for `Added`), so a watch can tell whether its
    /// selectors matched before.
    pub previous: Option<Arc<ServedRevision>>,
    /// The list resourceVersion after this change.
    pub resource_version: u64,
}

/// The package a revision belongs to: `(namespace, repository, package path)`.
type PackageGroup = (String, String, String);

/// List order (§1.16): namespace, repository, package name, revision, lifecycle, name.
type SortKey = (String, String, String, i64, String, String);

fn sort_key(pr: &PackageRevision) -> SortKey {
    (
        pr.metadata.namespace.clone().unwrap_or_default(),
        pr.spec.repository.clone(),
        pr.spec.package_name.clone(),
        pr.spec.revision,
        pr.spec.lifecycle.as_str().to_owned(),
        pr.metadata.name.clone().unwrap_or_default(),
    )
}

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

fn view_group(pr: &PackageRevision) -> PackageGroup {
    (
        pr.metadata.namespace.clone().unwrap_or_default(),
        pr.spec.repository.clone(),
        pr.spec.package_name.clone(),
    )
}

fn is_v1alpha2_managed(repo: &Repository) -> bool {
    repo.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(V1ALPHA2_MIGRATION_ANNOTATION))
        .is_some_and(|v| v == V1ALPHA2_MIGRATION_VALUE)
}

/// Why a watch cannot resume from a resourceVersion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    pub requested: u64,
    /// The oldest resourceVersion a watch can still resume from.
    pub oldest: u64,
}

/// What the index keeps of one stored PackageRev: the PackageRev itself is not kept, only its
/// served view without the latest label (built once, and shared with `views` by every revision
/// that is not its package's latest) and what grouping and ordering read.
#[derive(Debug)]
struct Member {
    group: PackageGroup,
    revision: i64,
    published: bool,
    /// The PackageRev's own creationTimestamp, resourceVersion and uid.
    meta: ObjectMeta,
    base: Arc<ServedRevision>,
}

impl Member {
    fn new(rev: &PackageRev) -> Self {
        Self {
            group: group_of(rev),
            revision: rev.spec.revision,
            published: rev.spec.lifecycle.is_published(),
            meta: ObjectMeta {
                creation_timestamp: rev.metadata.creation_timestamp.clone(),
                resource_version: rev.metadata.resource_version.clone(),
                uid: rev.metadata.uid.clone(),
                ..ObjectMeta::default()
            },
            base: Arc::new(ServedRevision::new(rev.to_package_revision())),
        }
    }
}

/// The index. Not thread-safe by itself; [`super::CrCache`] wraps it in a lock.
///
/// Revisions are indexed by package so a change recomputes only its package; served views are
/// kept in list order so a list is a range scan, never a sort.
#[derive(Debug)]
pub struct CacheIndex {
    revs: HashMap<ObjectKey, Member>,
    /// The stored revisions of each package.
    members: HashMap<PackageGroup, BTreeSet<ObjectKey>>,
    repos: BTreeMap<ObjectKey, Repository>,
    /// The served view of each visible revision (with the latest label) and its list position.
    views: HashMap<ObjectKey, (SortKey, Arc<ServedRevision>)>,
    ordered: BTreeMap<SortKey, Arc<ServedRevision>>,
    /// The served revisions of each package, by the package recorded in the view.
    served: HashMap<PackageGroup, BTreeSet<ObjectKey>>,
    /// The most recent changes, for watches resuming from a resourceVersion.
    history: VecDeque<Change>,
    history_limit: usize,
    resource_version: u64,
}

impl Default for CacheIndex {
    fn default() -> Self {
        Self::with_history(DEFAULT_HISTORY)
    }
}

/// Changes kept for watch resumption by default.
pub const DEFAULT_HISTORY: usize = 1024;

impl CacheIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index keeping the last `limit` changes for watch resumption.
    pub fn with_history(limit: usize) -> Self {
        Self {
            revs: HashMap::new(),
            members: HashMap::new(),
            repos: BTreeMap::new(),
            views: HashMap::new(),
            ordered: BTreeMap::new(),
            served: HashMap::new(),
            history: VecDeque::new(),
            history_limit: limit,
            resource_version: 0,
        }
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

    /// The metadata the stored PackageRev of a revision was created with: its
    /// `creationTimestamp`, `resourceVersion` and `uid` (the rest is not kept).
    pub fn package_rev_meta(&self, namespace: &str, name: &str) -> Option<&ObjectMeta> {
        self.revs
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|m| &m.meta)
    }

    /// The served view of one revision.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<ServedRevision>> {
        self.views
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|(_, v)| v.clone())
    }

    /// Every visible revision of `namespace` (all when empty), in list order (§1.16).
    pub fn iter(&self, namespace: &str) -> impl Iterator<Item = &Arc<ServedRevision>> {
        let all = namespace.is_empty();
        let from: SortKey = (
            namespace.to_owned(),
            String::new(),
            String::new(),
            i64::MIN,
            String::new(),
            String::new(),
        );
        self.ordered
            .range(from..)
            .take_while(move |(k, _)| all || k.0 == namespace)
            .map(|(_, v)| v)
    }

    /// [`Self::iter`] collected.
    pub fn list(&self, namespace: &str) -> Vec<Arc<ServedRevision>> {
        self.iter(namespace).cloned().collect()
    }

    /// The changes after `resource_version`, or why they are gone. A resourceVersion ahead of
    /// this cache (one from before a restart, as the counter starts over) is gone too: the
    /// client must re-list.
    pub fn changes_since(&self, resource_version: u64) -> Result<Vec<Change>, Expired> {
        let oldest = self
            .history
            .front()
            .map_or(self.resource_version, |c| c.resource_version - 1);
        if resource_version < oldest || resource_version > self.resource_version {
            return Err(Expired {
                requested: resource_version,
                oldest,
            });
        }
        Ok(self
            .history
            .iter()
            .filter(|c| c.resource_version > resource_version)
            .cloned()
            .collect())
    }

    /// Adds or replaces a PackageRev.
    pub fn apply_package_rev(&mut self, rev: PackageRev) -> Vec<Change> {
        let key = key_of(&rev.metadata);
        let member = Member::new(&rev);
        let group = member.group.clone();
        let mut groups = BTreeSet::from([group.clone()]);
        self.members.entry(group).or_default().insert(key.clone());
        if let Some(old) = self.revs.insert(key.clone(), member) {
            let old_group = old.group;
            if !groups.contains(&old_group) {
                self.remove_member(&old_group, &key);
                groups.insert(old_group);
            }
        }
        self.recompute(groups)
    }

    /// Removes a PackageRev.
    pub fn delete_package_rev(&mut self, namespace: &str, name: &str) -> Vec<Change> {
        let key = (namespace.to_owned(), name.to_owned());
        match self.revs.remove(&key) {
            Some(old) => {
                let group = old.group;
                self.remove_member(&group, &key);
                self.recompute(BTreeSet::from([group]))
            }
            None => Vec::new(),
        }
    }

    /// Replaces every PackageRev (a watcher re-list).
    pub fn reset_package_revs(&mut self, revs: Vec<PackageRev>) -> Vec<Change> {
        let mut groups: BTreeSet<PackageGroup> = self.members.keys().cloned().collect();
        self.revs.clear();
        self.members.clear();
        for rev in revs {
            let key = key_of(&rev.metadata);
            let member = Member::new(&rev);
            self.members
                .entry(member.group.clone())
                .or_default()
                .insert(key.clone());
            self.revs.insert(key, member);
        }
        groups.extend(self.members.keys().cloned());
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

    fn remove_member(&mut self, group: &PackageGroup, key: &ObjectKey) {
        if let Some(set) = self.members.get_mut(group) {
            set.remove(key);
            if set.is_empty() {
                self.members.remove(group);
            }
        }
    }

    fn groups_of_repo(&self, (ns, repo): &ObjectKey) -> BTreeSet<PackageGroup> {
        self.members
            .keys()
            .chain(self.served.keys())
            .filter(|(n, r, _)| n == ns && r == repo)
            .cloned()
            .collect()
    }

    /// Whether revisions of this repository are served. A revision whose Repository is unknown
    /// is still served (the Repository watch may lag behind); v1alpha2-managed ones are not.
    fn repo_visible(&self, namespace: &str, repo: &str) -> bool {
        self.repository(namespace, repo)
            .is_none_or(|r| !is_v1alpha2_managed(r))
    }

    /// Serves `view` under `key`, moving it in list order and between packages as needed.
    fn insert_view(&mut self, key: ObjectKey, view: Arc<ServedRevision>) {
        let order = sort_key(&view);
        self.served
            .entry(view_group(&view))
            .or_default()
            .insert(key.clone());
        if let Some((old_order, old)) = self.views.remove(&key) {
            self.ordered.remove(&old_order);
            let old_group = view_group(&old);
            if old_group != view_group(&view)
                && let Some(set) = self.served.get_mut(&old_group)
            {
                set.remove(&key);
                if set.is_empty() {
                    self.served.remove(&old_group);
                }
            }
        }
        self.ordered.insert(order.clone(), view.clone());
        self.views.insert(key, (order, view));
    }

    fn remove_view(&mut self, key: &ObjectKey) -> Option<Arc<ServedRevision>> {
        let (order, old) = self.views.remove(key)?;
        self.ordered.remove(&order);
        let group = view_group(&old);
        if let Some(set) = self.served.get_mut(&group) {
            set.remove(key);
            if set.is_empty() {
                self.served.remove(&group);
            }
        }
        Some(old)
    }

    /// Rebuilds the views of `groups` and reports what changed.
    fn recompute(&mut self, groups: BTreeSet<PackageGroup>) -> Vec<Change> {
        let mut changes = Vec::new();
        for group in groups {
            let (ns, repo, _) = &group;
            let visible = self.repo_visible(ns, repo);
            let mut fresh: BTreeMap<ObjectKey, Arc<ServedRevision>> = BTreeMap::new();
            let mut latest = None;
            if visible && let Some(keys) = self.members.get(&group) {
                let members: Vec<(&ObjectKey, &Member)> = keys
                    .iter()
                    .filter_map(|k| self.revs.get(k).map(|m| (k, m)))
                    .collect();
                latest = latest_of(members.iter().map(|(k, m)| (*k, *m)));
                for (key, member) in members {
                    let view = if latest.as_ref() == Some(key) {
                        let mut view = member.base.object().clone();
                        view.metadata
                            .labels
                            .get_or_insert_with(BTreeMap::new)
                            .insert(
                                LATEST_REVISION_LABEL.to_owned(),
                                LATEST_REVISION_VALUE.to_owned(),
                            );
                        Arc::new(ServedRevision::new(view))
                    } else {
                        member.base.clone()
                    };
                    fresh.insert(key.clone(), view);
                }
            }
            // Views currently served for this package that are no longer in it.
            let stale: Vec<ObjectKey> = self
                .served
                .get(&group)
                .into_iter()
                .flatten()
                .filter(|k| !fresh.contains_key(*k))
                .cloned()
                .collect();
            for key in stale {
                // A revision that moved to another (visible) package is re-served by that
                // package's pass.
                let moved = self.revs.get(&key).is_some_and(|m| {
                    let g = &m.group;
                    *g != group && self.repo_visible(&g.0, &g.1)
                });
                if moved {
                    continue;
                }
                if let Some(old) = self.remove_view(&key) {
                    changes.push(self.stamp(ChangeKind::Deleted, old.clone(), Some(old)));
                }
            }
            for (key, view) in fresh {
                let previous = match self.views.get(&key) {
                    Some((_, old)) if Arc::ptr_eq(old, &view) => continue,
                    Some((_, old)) if old.object() == view.object() => {
                        // Unchanged: keep serving the old view (and its serialisations), and
                        // share it as the base again rather than hold two equal copies.
                        let old = old.clone();
                        if latest.as_ref() != Some(&key)
                            && let Some(m) = self.revs.get_mut(&key)
                        {
                            m.base = old;
                        }
                        continue;
                    }
                    Some((_, old)) => Some(old.clone()),
                    None => None,
                };
                let kind = if previous.is_some() {
                    ChangeKind::Modified
                } else {
                    ChangeKind::Added
                };
                self.insert_view(key, view.clone());
                changes.push(self.stamp(kind, view, previous));
            }
        }
        changes
    }

    fn stamp(
        &mut self,
        kind: ChangeKind,
        object: Arc<ServedRevision>,
        previous: Option<Arc<ServedRevision>>,
    ) -> Change {
        self.resource_version += 1;
        let change = Change {
            kind,
            object,
            previous,
            resource_version: self.resource_version,
        };
        if self.history_limit > 0 {
            if self.history.len() >= self.history_limit {
                self.history.pop_front();
            }
            self.history.push_back(change.clone());
        }
        change
    }
}

/// The latest revision of one package (`revision::latest_per_package`, grouped by full path).
fn latest_of<'a>(revs: impl Iterator<Item = (&'a ObjectKey, &'a Member)>) -> Option<ObjectKey> {
    let candidates = revs.map(|(key, m)| LatestCandidate {
        package: (),
        revision: m.revision,
        published: m.published,
        id: key.clone(),
    });
    latest_per_package(candidates)
        .into_values()
        .next()
        .map(|(_, key)| key)
}
