//! The no-I/O CR cache index: PackageRev and Repository objects in, PackageRevision views out.
//!
//! Fed by `apply` / `delete` / `reset` (from watchers or from the write path), it keeps the served
//! view of every revision, computes the `kpt.dev/latest-revision` label per package path and turns
//! every visible change into ADDED / MODIFIED / DELETED events stamped with a monotonically
//! increasing list resourceVersion.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_crds::labels::{
    LATEST_REVISION_LABEL, LATEST_REVISION_VALUE, V1ALPHA2_MIGRATION_ANNOTATION,
    V1ALPHA2_MIGRATION_VALUE,
};
use porch_crds::porch::v1alpha1::PackageRevision;
use porch_crds::revision::{LatestCandidate, latest_per_package};

use super::served::ServedRevision;

/// Shared text: a namespace, repository or package path repeats across every revision of it,
/// and a revision's name across every map that refers to it, so each is allocated once.
type Text = Arc<str>;

/// `(namespace, name)`.
pub type ObjectKey = (Text, Text);

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
type PackageGroup = (Text, Text, Text);

fn lookup_key(namespace: &str, name: &str) -> ObjectKey {
    (Text::from(namespace), Text::from(name))
}

/// A served view in list order (§1.16) within its namespace: repository, package name,
/// revision, lifecycle, name. The order is read from the view itself, so no copy of the
/// fields is kept beside it.
#[derive(Debug, Clone)]
struct ListOrder(Arc<ServedRevision>);

impl ListOrder {
    fn key(&self) -> (&str, &str, i64, &str, Option<&str>) {
        let pr = &self.0;
        (
            pr.spec.repository.as_str(),
            pr.spec.package_name.as_str(),
            pr.spec.revision,
            pr.spec.lifecycle.as_str(),
            pr.metadata.name.as_deref(),
        )
    }
}

impl PartialEq for ListOrder {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ListOrder {}

impl PartialOrd for ListOrder {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ListOrder {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// One copy of each namespace, repository and package path in use.
#[derive(Debug, Default)]
struct Interner {
    texts: HashSet<Text>,
    /// Size after the last prune; pruning again once it doubles keeps the cost amortised.
    pruned_at: usize,
}

impl Interner {
    fn get(&mut self, s: &str) -> Text {
        if let Some(t) = self.texts.get(s) {
            return t.clone();
        }
        if self.texts.len() > 2 * self.pruned_at + 64 {
            // Texts only the interner still holds belong to packages that are gone.
            self.texts.retain(|t| Arc::strong_count(t) > 1);
            self.pruned_at = self.texts.len();
        }
        let t = Text::from(s);
        self.texts.insert(t.clone());
        t
    }
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

/// The metadata of a stored PackageRev that its served view does not carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredMeta {
    pub creation_timestamp: Option<Time>,
    pub resource_version: Option<String>,
    pub uid: Option<String>,
}

/// What the index keeps of one stored PackageRev: the PackageRev itself is not kept, only its
/// served view without the latest label (built once, and shared with `views` by every revision
/// that is not its package's latest) and what grouping and ordering read.
#[derive(Debug)]
struct Member {
    group: PackageGroup,
    revision: i64,
    published: bool,
    meta: StoredMeta,
    base: Arc<ServedRevision>,
}

/// The index. Not thread-safe by itself; [`super::CrCache`] wraps it in a lock.
///
/// Revisions are indexed by package so a change recomputes only its package; served views are
/// kept in list order so a list is a range scan, never a sort. Keys share their text (see
/// [`Text`]): with 10,000 revisions the maps would otherwise hold more strings than the views.
#[derive(Debug)]
pub struct CacheIndex {
    revs: HashMap<ObjectKey, Member>,
    /// The stored revisions of each package.
    members: HashMap<PackageGroup, BTreeSet<ObjectKey>>,
    repos: BTreeMap<(String, String), Repository>,
    /// The served view of each visible revision (with the latest label).
    views: HashMap<ObjectKey, Arc<ServedRevision>>,
    /// The same views in list order, by namespace.
    ordered: BTreeMap<Text, BTreeSet<ListOrder>>,
    /// The served revisions of each package, by the package recorded in the view.
    served: HashMap<PackageGroup, BTreeSet<ObjectKey>>,
    texts: Interner,
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
            texts: Interner::default(),
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
    pub fn package_rev_meta(&self, namespace: &str, name: &str) -> Option<&StoredMeta> {
        self.revs.get(&lookup_key(namespace, name)).map(|m| &m.meta)
    }

    /// The served view of one revision.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<ServedRevision>> {
        self.views.get(&lookup_key(namespace, name)).cloned()
    }

    /// Every visible revision of `namespace` (all when empty), in list order (§1.16).
    pub fn iter(&self, namespace: &str) -> impl Iterator<Item = &Arc<ServedRevision>> {
        let sets: Box<dyn Iterator<Item = &BTreeSet<ListOrder>>> = if namespace.is_empty() {
            Box::new(self.ordered.values())
        } else {
            Box::new(self.ordered.get(namespace).into_iter())
        };
        sets.flatten().map(|o| &o.0)
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

    /// The key of a PackageRev, sharing the text already held for it.
    fn key_of(&mut self, meta: &ObjectMeta) -> ObjectKey {
        let ns = meta.namespace.as_deref().unwrap_or_default();
        let name = meta.name.as_deref().unwrap_or_default();
        let probe = lookup_key(ns, name);
        if let Some((key, _)) = self.revs.get_key_value(&probe) {
            return key.clone();
        }
        if let Some((key, _)) = self.views.get_key_value(&probe) {
            return key.clone();
        }
        (self.texts.get(ns), probe.1)
    }

    fn member(&mut self, rev: &PackageRev) -> Member {
        let ns = rev.metadata.namespace.as_deref().unwrap_or_default();
        Member {
            group: (
                self.texts.get(ns),
                self.texts.get(&rev.spec.repository),
                self.texts.get(&rev.spec.package_name),
            ),
            revision: rev.spec.revision,
            published: rev.spec.lifecycle.is_published(),
            meta: StoredMeta {
                creation_timestamp: rev.metadata.creation_timestamp.clone(),
                resource_version: rev.metadata.resource_version.clone(),
                uid: rev.metadata.uid.clone(),
            },
            base: Arc::new(ServedRevision::new(rev.to_package_revision())),
        }
    }

    /// The package a served view is recorded under.
    fn view_group(&mut self, pr: &PackageRevision) -> PackageGroup {
        (
            self.texts
                .get(pr.metadata.namespace.as_deref().unwrap_or_default()),
            self.texts.get(&pr.spec.repository),
            self.texts.get(&pr.spec.package_name),
        )
    }

    /// Adds or replaces a PackageRev.
    pub fn apply_package_rev(&mut self, rev: PackageRev) -> Vec<Change> {
        let key = self.key_of(&rev.metadata);
        let member = self.member(&rev);
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
        let key = lookup_key(namespace, name);
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
            let key = self.key_of(&rev.metadata);
            let member = self.member(&rev);
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
        let key = repo_key(&repo.metadata);
        self.repos.insert(key.clone(), repo);
        self.recompute(self.groups_of_repo(&key))
    }

    pub fn delete_repository(&mut self, namespace: &str, name: &str) -> Vec<Change> {
        let key = (namespace.to_owned(), name.to_owned());
        self.repos.remove(&key);
        self.recompute(self.groups_of_repo(&key))
    }

    pub fn reset_repositories(&mut self, repos: Vec<Repository>) -> Vec<Change> {
        let mut keys: BTreeSet<(String, String)> = self.repos.keys().cloned().collect();
        self.repos = repos
            .into_iter()
            .map(|r| (repo_key(&r.metadata), r))
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

    fn groups_of_repo(&self, (ns, repo): &(String, String)) -> BTreeSet<PackageGroup> {
        self.members
            .keys()
            .chain(self.served.keys())
            .filter(|(n, r, _)| **n == **ns && **r == **repo)
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
        let group = self.view_group(&view);
        self.served
            .entry(group.clone())
            .or_default()
            .insert(key.clone());
        if let Some(old) = self.views.remove(&key) {
            self.unorder(&key.0, &old);
            let old_group = self.view_group(&old);
            if old_group != group
                && let Some(set) = self.served.get_mut(&old_group)
            {
                set.remove(&key);
                if set.is_empty() {
                    self.served.remove(&old_group);
                }
            }
        }
        self.ordered
            .entry(key.0.clone())
            .or_default()
            .insert(ListOrder(view.clone()));
        self.views.insert(key, view);
    }

    /// Takes `view` out of its namespace's list order.
    fn unorder(&mut self, namespace: &Text, view: &Arc<ServedRevision>) {
        if let Some(set) = self.ordered.get_mut(namespace) {
            set.remove(&ListOrder(view.clone()));
            if set.is_empty() {
                self.ordered.remove(namespace);
            }
        }
    }

    fn remove_view(&mut self, key: &ObjectKey) -> Option<Arc<ServedRevision>> {
        let old = self.views.remove(key)?;
        self.unorder(&key.0, &old);
        let group = self.view_group(&old);
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
                    Some(old) if Arc::ptr_eq(old, &view) => continue,
                    Some(old) if old.object() == view.object() => {
                        // Unchanged: keep serving the old view, and share it as the base
                        // again rather than hold two equal copies.
                        let old = old.clone();
                        if latest.as_ref() != Some(&key)
                            && let Some(m) = self.revs.get_mut(&key)
                        {
                            m.base = old;
                        }
                        continue;
                    }
                    Some(old) => Some(old.clone()),
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

fn repo_key(meta: &ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
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

#[cfg(test)]
mod sharing_tests {
    use serde_json::json;

    use super::*;

    fn rev(name: &str, pkg: &str, revision: i64) -> PackageRev {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"repository": "repo", "packageName": pkg, "workspaceName": format!("v{revision}"),
                "revision": revision, "lifecycle": "Published"},
        }))
        .unwrap()
    }

    #[test]
    fn keys_share_one_copy_of_their_text() {
        let mut index = CacheIndex::new();
        index.apply_package_rev(rev("repo.p.v1", "p", 1));
        index.apply_package_rev(rev("repo.p.v2", "p", 2));
        // Applied again (a watch echo): the key already held is reused.
        index.apply_package_rev(rev("repo.p.v1", "p", 1));
        let (k1, m1) = index
            .revs
            .get_key_value(&lookup_key("ns", "repo.p.v1"))
            .unwrap();
        let (_, m2) = index
            .revs
            .get_key_value(&lookup_key("ns", "repo.p.v2"))
            .unwrap();
        assert!(Arc::ptr_eq(&m1.group.0, &m2.group.0));
        assert!(Arc::ptr_eq(&m1.group.1, &m2.group.1));
        assert!(Arc::ptr_eq(&m1.group.2, &m2.group.2));
        assert!(Arc::ptr_eq(&k1.0, &m1.group.0));
        let (view_key, _) = index
            .views
            .get_key_value(&lookup_key("ns", "repo.p.v1"))
            .unwrap();
        assert!(Arc::ptr_eq(&k1.1, &view_key.1));
        let member_key = index.members[&m1.group]
            .get(&lookup_key("ns", "repo.p.v1"))
            .unwrap();
        assert!(Arc::ptr_eq(&k1.1, &member_key.1));
    }

    #[test]
    fn texts_of_packages_that_are_gone_are_let_go() {
        let mut index = CacheIndex::new();
        for i in 0..1000 {
            let name = format!("repo.p{i}.v1");
            index.apply_package_rev(rev(&name, &format!("p{i}"), 1));
            index.delete_package_rev("ns", &name);
        }
        assert!(index.views.is_empty() && index.ordered.is_empty());
        // Only a bounded number of dead package paths is ever held.
        assert!(index.texts.texts.len() < 200, "{}", index.texts.texts.len());
    }

    #[test]
    fn list_order_holds_within_and_across_namespaces() {
        let mut index = CacheIndex::new();
        let mut other = rev("repo.a.v1", "a", 1);
        other.metadata.namespace = Some("alpha".into());
        index.apply_package_rev(rev("repo.b.v1", "b", 1));
        index.apply_package_rev(rev("repo.a.v2", "a", 2));
        index.apply_package_rev(other);
        index.apply_package_rev(rev("repo.a.v1", "a", 1));
        let names = |ns: &str| -> Vec<String> {
            index
                .iter(ns)
                .map(|p| {
                    format!(
                        "{}/{}",
                        p.metadata.namespace.as_deref().unwrap_or_default(),
                        p.metadata.name.as_deref().unwrap_or_default()
                    )
                })
                .collect()
        };
        assert_eq!(
            names(""),
            [
                "alpha/repo.a.v1",
                "ns/repo.a.v1",
                "ns/repo.a.v2",
                "ns/repo.b.v1"
            ]
        );
        assert_eq!(names("alpha"), ["alpha/repo.a.v1"]);
        assert!(names("beta").is_empty());
        index.delete_package_rev("alpha", "repo.a.v1");
        assert!(!index.ordered.contains_key("alpha"));
    }
}
