//! The desired-set diff: the PackageRevs a repository should have, from its discovered
//! revisions, against the PackageRevs it has (stackable's "apply the desired set, delete the
//! orphans", computed without I/O).
//!
//! Only what the cache serves is compared (spec, status, the latest marker, the internal
//! label and finalizer), so a sync that finds nothing new plans no write. User-owned
//! metadata (labels, annotations, finalizers, ownerReferences) is never touched, except the
//! internal label, the internal finalizer and the porch-managed latest label.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use porch_crds::config::v1alpha1::{PackageRev, PackageRevSpec, PackageRevStatus};
use porch_crds::labels::{
    INTERNAL_PACKAGE_REVISION_FINALIZER, INTERNAL_REPOSITORY_LABEL, LATEST_REVISION_LABEL,
    LATEST_REVISION_VALUE,
};
use porch_crds::names::{compose_pkg_rev_obj_name, split_package_path, valid_pkg_rev_obj_name};
use porch_crds::porch::v1alpha1::PackageMetadata;
use porch_crds::uid::package_revision_uid;
use serde_json::{Value, json};

use crate::latest::{RevisionKey, latest_names};
use crate::source::DiscoveredRevision;

/// The repository a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoContext<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// `spec.deployment`, copied to every revision's status.
    pub deployment: bool,
}

/// One PackageRev as the repository says it should be.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRevision {
    pub name: String,
    pub spec: PackageRevSpec,
    pub status: PackageRevStatus,
    pub latest: bool,
}

/// A discovered revision that cannot become a PackageRev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRevision {
    pub package_path: String,
    pub workspace_name: String,
    pub reason: String,
}

/// Changes to one existing PackageRev.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageRevUpdate {
    pub name: String,
    /// A JSON Merge Patch of the main resource (metadata and spec); `None` when only the
    /// status changed.
    pub patch: Option<Value>,
    /// The new status (written through the status subresource), when it changed.
    pub status: Option<PackageRevStatus>,
}

/// A PackageRev whose revision vanished from the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRevDelete {
    pub name: String,
    /// The resourceVersion seen when planning: the delete is conditional on it, so a
    /// PackageRev rewritten since (e.g. by the API server) survives until the next sync.
    pub resource_version: Option<String>,
    /// Already terminating (a user finalizer holds it): only the internal finalizer goes.
    pub terminating: bool,
    /// Its finalizers when planned (to remove ours by a guarded patch).
    pub finalizers: Vec<String>,
}

/// What a sync writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// New PackageRevs, complete with status (which the API server ignores on create when
    /// the status subresource is on, so it is written by a second request).
    pub creates: Vec<PackageRev>,
    pub updates: Vec<PackageRevUpdate>,
    pub deletes: Vec<PackageRevDelete>,
    pub skipped: Vec<SkippedRevision>,
    /// Existing PackageRevs that are already right.
    pub unchanged: usize,
}

impl Plan {
    /// Whether the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.updates.is_empty() && self.deletes.is_empty()
    }
}

/// `Some({})` and `None` serve the same PackageRevision (`packageMetadata: {}`), and empty
/// maps the same as absent ones.
fn normalize_metadata(m: &Option<PackageMetadata>) -> PackageMetadata {
    let m = m.clone().unwrap_or_default();
    PackageMetadata {
        labels: m.labels.filter(|l| !l.is_empty()),
        annotations: m.annotations.filter(|a| !a.is_empty()),
    }
}

/// Whether two specs serve the same PackageRevision.
pub fn same_spec(a: &PackageRevSpec, b: &PackageRevSpec) -> bool {
    a.repository == b.repository
        && a.package_name == b.package_name
        && a.workspace_name == b.workspace_name
        && a.revision == b.revision
        && a.lifecycle == b.lifecycle
        && a.tasks == b.tasks
        && a.readiness_gates == b.readiness_gates
        && normalize_metadata(&a.package_metadata) == normalize_metadata(&b.package_metadata)
}

/// Kubernetes serializes times to the second; compare and store at that precision so a
/// read-back value equals the planned one.
fn to_time(t: Option<Timestamp>) -> Option<Time> {
    t.map(|t| Time(Timestamp::from_second(t.as_second()).unwrap_or(t)))
}

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A fast check that implies upstream's `ValidPkgRevObjName` passes (every part a label, the
/// name a subdomain composed without path cleaning); the regex-based validator then only runs
/// for the rare names that fail it, to produce upstream's message. Syncs validate every
/// revision of a repository, so this is on the hot path.
fn plainly_valid(repo: &str, path: &str, package: &str, workspace: &str, name: &str) -> bool {
    let path_ok = path.is_empty() || (!path.contains("//") && is_label(&path.replace('/', "")));
    let naive = if path.is_empty() {
        format!("{repo}.{package}.{workspace}")
    } else {
        format!("{repo}.{}.{package}.{workspace}", path.replace('/', "."))
    };
    is_label(repo)
        && is_label(package)
        && is_label(workspace)
        && path_ok
        && name == naive
        && name.len() <= 253
        && name.split('.').all(is_label)
}

/// The desired PackageRevs of a repository, with the latest marker computed per package
/// path, and the revisions that cannot be stored (invalid or duplicate object names).
///
/// Owned revisions are moved into their desired form, borrowed ones copied.
pub fn desired_revisions<'d>(
    repo: RepoContext<'_>,
    discovered: impl IntoIterator<Item = Cow<'d, DiscoveredRevision>>,
) -> (Vec<DesiredRevision>, Vec<SkippedRevision>) {
    let discovered = discovered.into_iter();
    let mut out: Vec<DesiredRevision> = Vec::with_capacity(discovered.size_hint().0);
    let mut skipped = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(discovered.size_hint().0);
    for d in discovered {
        let (path, package) = split_package_path(&d.package_path);
        let skip = |reason: String| SkippedRevision {
            package_path: d.package_path.clone(),
            workspace_name: d.workspace_name.clone(),
            reason,
        };
        let name = compose_pkg_rev_obj_name(repo.name, path, package, &d.workspace_name);
        if !plainly_valid(repo.name, path, package, &d.workspace_name, &name)
            && let Err(e) = valid_pkg_rev_obj_name(repo.name, path, package, &d.workspace_name)
        {
            skipped.push(skip(e.message));
            continue;
        }
        if seen.contains_key(&name) {
            skipped.push(skip(format!("duplicate package revision name {name:?}")));
            continue;
        }
        seen.insert(name.clone(), out.len());
        let d = d.into_owned();
        out.push(DesiredRevision {
            name,
            spec: PackageRevSpec {
                repository: repo.name.to_string(),
                package_name: d.package_path,
                workspace_name: d.workspace_name,
                revision: d.revision,
                lifecycle: d.lifecycle,
                tasks: d.tasks,
                readiness_gates: d.readiness_gates,
                package_metadata: Some(d.package_metadata.unwrap_or_default()),
            },
            status: PackageRevStatus {
                commit: d.commit,
                upstream_lock: d.upstream_lock,
                self_lock: d.self_lock,
                published_by: d.published_by,
                publish_timestamp: to_time(d.publish_timestamp),
                deployment: repo.deployment,
                conditions: d.conditions,
            },
            latest: false,
        });
    }
    let latest = latest_names(out.iter().map(|r| RevisionKey {
        name: &r.name,
        package_path: &r.spec.package_name,
        revision: r.spec.revision,
        lifecycle: &r.spec.lifecycle,
    }));
    for r in &mut out {
        r.latest = latest.contains(&r.name);
    }
    (out, skipped)
}

/// The PackageRev to create for a desired revision (internal label, internal finalizer and
/// the ownerReference to its PackageRevision, as upstream's CR cache writes them).
pub fn new_package_rev(repo: RepoContext<'_>, desired: DesiredRevision) -> PackageRev {
    let mut labels = BTreeMap::new();
    labels.insert(INTERNAL_REPOSITORY_LABEL.to_string(), repo.name.to_string());
    if desired.latest {
        labels.insert(
            LATEST_REVISION_LABEL.to_string(),
            LATEST_REVISION_VALUE.to_string(),
        );
    }
    PackageRev {
        metadata: ObjectMeta {
            name: Some(desired.name.clone()),
            namespace: Some(repo.namespace.to_string()),
            labels: Some(labels),
            finalizers: Some(vec![INTERNAL_PACKAGE_REVISION_FINALIZER.to_string()]),
            owner_references: Some(vec![OwnerReference {
                api_version: porch_crds::porch::v1alpha1::API_VERSION.to_string(),
                kind: "PackageRevision".to_string(),
                uid: package_revision_uid(repo.namespace, &desired.name),
                name: desired.name,
                ..OwnerReference::default()
            }]),
            ..ObjectMeta::default()
        },
        spec: desired.spec,
        status: Some(desired.status),
    }
}

/// The JSON Merge Patch (RFC 7386) that turns `old` into `new`: changed members carry their
/// new value, removed ones `null`, nested objects recurse, arrays are replaced whole.
pub fn merge_patch_diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = serde_json::Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = merge_patch_diff(ov, nv) {
                            patch.insert(k.clone(), d);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        (o, n) if o == n => None,
        (_, n) => Some(n.clone()),
    }
}

/// The JSON Merge Patch that brings an existing PackageRev's internal label, latest marker,
/// internal finalizer and spec to the desired ones, touching nothing else; `None` when
/// nothing differs. Label changes are per key, so they are idempotent and cannot race with a
/// user's labels (or with the PackageRev controller setting the same marker). A finalizer
/// change replaces the list, so it carries the resourceVersion seen (optimistic lock).
pub fn metadata_and_spec_patch(
    repo_name: &str,
    existing: &PackageRev,
    desired_spec: Option<&PackageRevSpec>,
    latest: bool,
) -> Option<Value> {
    let label = |k: &str| {
        existing
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(k))
            .map(String::as_str)
    };
    let mut labels = serde_json::Map::new();
    if label(INTERNAL_REPOSITORY_LABEL) != Some(repo_name) {
        labels.insert(INTERNAL_REPOSITORY_LABEL.into(), json!(repo_name));
    }
    match (label(LATEST_REVISION_LABEL), latest) {
        (Some(v), true) if v == LATEST_REVISION_VALUE => {}
        (_, true) => {
            labels.insert(LATEST_REVISION_LABEL.into(), json!(LATEST_REVISION_VALUE));
        }
        (Some(_), false) => {
            labels.insert(LATEST_REVISION_LABEL.into(), Value::Null);
        }
        (None, false) => {}
    }
    let mut metadata = serde_json::Map::new();
    if !labels.is_empty() {
        metadata.insert("labels".into(), Value::Object(labels));
    }
    let finalizers = existing.metadata.finalizers.clone().unwrap_or_default();
    if !finalizers
        .iter()
        .any(|f| f == INTERNAL_PACKAGE_REVISION_FINALIZER)
    {
        let mut all = finalizers;
        all.push(INTERNAL_PACKAGE_REVISION_FINALIZER.to_string());
        metadata.insert("finalizers".into(), json!(all));
        if let Some(rv) = &existing.metadata.resource_version {
            metadata.insert("resourceVersion".into(), json!(rv));
        }
    }
    let mut patch = serde_json::Map::new();
    if !metadata.is_empty() {
        patch.insert("metadata".into(), Value::Object(metadata));
    }
    if let Some(spec) = desired_spec {
        let old = serde_json::to_value(&existing.spec).unwrap_or(Value::Null);
        let new = serde_json::to_value(spec).unwrap_or(Value::Null);
        if let Some(diff) = merge_patch_diff(&old, &new) {
            patch.insert("spec".into(), diff);
        }
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

/// The guarded JSON Patch that removes `finalizer` from `current` (the object's finalizers as
/// last seen), or `None` when it is not there. The `test` makes a concurrent change fail the
/// patch instead of being overwritten.
pub fn remove_finalizer_ops(current: &[String], finalizer: &str) -> Option<Vec<Value>> {
    if !current.iter().any(|f| f == finalizer) {
        return None;
    }
    let rest: Vec<&String> = current.iter().filter(|f| *f != finalizer).collect();
    Some(vec![
        json!({"op": "test", "path": "/metadata/finalizers", "value": current}),
        json!({"op": "replace", "path": "/metadata/finalizers", "value": rest}),
    ])
}

/// Plan the writes that make `existing` (the PackageRevs labelled with this repository)
/// match `discovered`.
pub fn plan<'a>(
    repo: RepoContext<'_>,
    discovered: &[DiscoveredRevision],
    existing: impl IntoIterator<Item = &'a PackageRev>,
) -> Plan {
    plan_from(repo, discovered.iter().map(Cow::Borrowed), existing)
}

/// [`plan`] from revisions that may be owned: a sync hands over what it fetched, so each
/// revision is moved into its create instead of being held twice at the sync's peak.
pub fn plan_from<'a, 'd>(
    repo: RepoContext<'_>,
    discovered: impl IntoIterator<Item = Cow<'d, DiscoveredRevision>>,
    existing: impl IntoIterator<Item = &'a PackageRev>,
) -> Plan {
    let (desired, skipped) = desired_revisions(repo, discovered);
    let mut by_name: HashMap<&str, &PackageRev> = existing
        .into_iter()
        .filter_map(|p| p.metadata.name.as_deref().map(|n| (n, p)))
        .collect();
    let mut plan = Plan {
        skipped,
        ..Plan::default()
    };
    // By value: a desired revision becomes its create without a copy, which keeps a first
    // sync of thousands of revisions from holding both at once.
    for d in desired {
        let Some(current) = by_name.remove(d.name.as_str()) else {
            plan.creates.push(new_package_rev(repo, d));
            continue;
        };
        if current.metadata.deletion_timestamp.is_some() {
            // Being deleted by a user; the API server finishes it. Leave it alone.
            plan.unchanged += 1;
            continue;
        }
        let spec_changed = !same_spec(&current.spec, &d.spec);
        let patch = metadata_and_spec_patch(
            repo.name,
            current,
            spec_changed.then_some(&d.spec),
            d.latest,
        );
        let current_status = current.status.clone().unwrap_or_default();
        let status_changed = current_status != d.status;
        if patch.is_none() && !status_changed {
            plan.unchanged += 1;
            continue;
        }
        plan.updates.push(PackageRevUpdate {
            name: d.name,
            patch,
            status: status_changed.then_some(d.status),
        });
    }
    // Within a package, the highest revision first: every prefix of the creates then agrees
    // with the final latest marker, so the PackageRev controller (which sees them arrive one
    // by one) has nothing to correct mid-sync.
    plan.creates.sort_by(|a, b| {
        (
            a.spec.package_name.as_str(),
            std::cmp::Reverse(a.spec.revision),
        )
            .cmp(&(
                b.spec.package_name.as_str(),
                std::cmp::Reverse(b.spec.revision),
            ))
    });
    let mut orphans: Vec<&PackageRev> = by_name.into_values().collect();
    orphans.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for o in orphans {
        let terminating = o.metadata.deletion_timestamp.is_some();
        let holds_ours = o
            .metadata
            .finalizers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|f| f == INTERNAL_PACKAGE_REVISION_FINALIZER);
        if terminating && !holds_ours {
            continue;
        }
        plan.deletes.push(PackageRevDelete {
            name: o.metadata.name.clone().unwrap_or_default(),
            resource_version: o.metadata.resource_version.clone(),
            terminating,
            finalizers: o.metadata.finalizers.clone().unwrap_or_default(),
        });
    }
    plan
}
