//! What kube-controller-manager does in a cluster, for the kinds served here: the garbage
//! collector (ownerReferences with background, foreground and orphan propagation), the
//! namespace lifecycle (finalize contents, then remove) and CRD instance cleanup.

use crate::api::App;
use crate::api::objects::{CRD_CLEANUP_FINALIZER, Ctx, DeleteOptions, delete_object};
use crate::registry::{Registry, ResourceInfo};
use crate::store::{Action, Precondition, StoredObject, WriteOp};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

fn uid(o: &Value) -> &str {
    o.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The owner references the garbage collector can judge: those whose kind this store holds.
/// An owner served elsewhere (an aggregated group, such as the porch.kpt.dev PackageRevision
/// that owns every synced PackageRev) is not in the store, so its absence here proves nothing:
/// such references are never taken for gone.
fn judged_owner_uids(registry: &Registry, o: &Value) -> Vec<String> {
    owner_refs(o)
        .filter(|r| {
            let api_version = r.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let kind = r.get("kind").and_then(Value::as_str).unwrap_or("");
            registry.by_kind(api_version, kind).is_some()
        })
        .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
        .collect()
}

/// What a sweep first reads from every object, borrowing from its JSON: enough to tell the
/// few objects it may act on from the many it only needs the uid of.
#[derive(serde::Deserialize, Default)]
struct Peek<'a> {
    #[serde(borrow, default)]
    metadata: PeekMeta<'a>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PeekMeta<'a> {
    #[serde(borrow, default)]
    uid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    owner_references: Vec<PeekOwner<'a>>,
    #[serde(default)]
    deletion_timestamp: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PeekOwner<'a> {
    #[serde(borrow, default)]
    api_version: Cow<'a, str>,
    #[serde(borrow, default)]
    kind: Cow<'a, str>,
}

impl Peek<'_> {
    fn of(json: &str) -> Peek<'_> {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// Being deleted, or owned by something this store holds.
    fn may_need_work(&self, registry: &Registry) -> bool {
        self.metadata.deletion_timestamp.is_some()
            || self
                .metadata
                .owner_references
                .iter()
                .any(|r| registry.by_kind(&r.api_version, &r.kind).is_some())
    }
}

fn owner_refs(o: &Value) -> impl Iterator<Item = &Value> {
    o.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn has_finalizer(o: &Value, f: &str) -> bool {
    o.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == f))
}

fn deleting(o: &Value) -> bool {
    o.pointer("/metadata/deletionTimestamp").is_some()
}

/// Run the controllers until the process stops: a sweep at start and after every nudge.
pub async fn run(app: App) {
    let mut events = app.store.subscribe();
    let nudge = app.controllers.clone();
    let app2 = app.clone();
    // Deletions and ownerReferences arriving through any path (including aggregated groups) wake the sweep.
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ev) => {
                    // Owner references to kinds served elsewhere (a PackageRev's
                    // PackageRevision) are never judged: no sweep for those.
                    let relevant = ev.kind == porch_apimachinery::watch::EventType::Deleted
                        || Peek::of(&ev.object.json).may_need_work(&app2.registry);
                    if relevant {
                        app2.controllers.notify_one();
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    app2.controllers.notify_one()
                }
                Err(_) => return,
            }
        }
    });
    loop {
        let busy = sweep(&app).await;
        // Debounce bursts of changes into one sweep. Re-check soon while work is pending
        // (objects being deleted); otherwise only a nudge, or the rare safety-net sweep,
        // reads every object again.
        let recheck = Duration::from_secs(if busy { 5 } else { 60 });
        let _ = tokio::time::timeout(recheck, nudge.notified()).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Item {
    info: Arc<ResourceInfo>,
    obj: SweptObject,
}

/// A stored object as a sweep reads it: for most kinds only the metadata fields the sweep
/// reads ([`SWEPT_META_FIELDS`]), so a sweep over every object stays small; the whole object
/// for the kinds whose spec the sweep reads (namespaces, CRDs).
struct SweptObject {
    rv: u64,
    value: Value,
    whole: bool,
    stored: Arc<StoredObject>,
}

/// The metadata fields a sweep reads and may change.
const SWEPT_META_FIELDS: [&str; 6] = [
    "name",
    "namespace",
    "uid",
    "ownerReferences",
    "finalizers",
    "deletionTimestamp",
];

/// The part of an object a sweep parses (everything else is skipped unparsed).
#[derive(serde::Deserialize)]
struct SweptFields {
    #[serde(default)]
    metadata: SweptMeta,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SweptMeta {
    name: Option<Value>,
    namespace: Option<Value>,
    uid: Option<Value>,
    owner_references: Option<Value>,
    finalizers: Option<Value>,
    deletion_timestamp: Option<Value>,
}

fn swept_fields(json: &str) -> Value {
    let m = serde_json::from_str::<SweptFields>(json)
        .map(|f| f.metadata)
        .unwrap_or_default();
    let mut meta = serde_json::Map::new();
    for (k, v) in SWEPT_META_FIELDS.into_iter().zip([
        m.name,
        m.namespace,
        m.uid,
        m.owner_references,
        m.finalizers,
        m.deletion_timestamp,
    ]) {
        if let Some(v) = v {
            meta.insert(k.to_string(), v);
        }
    }
    json!({ "metadata": meta })
}

/// Kinds whose spec a sweep reads: namespaces and CRDs.
fn swept_whole(info: &ResourceInfo) -> bool {
    (info.group.is_empty() && info.resource == "namespaces") || info.group == "apiextensions.k8s.io"
}

impl SweptObject {
    fn new(info: &ResourceInfo, stored: Arc<StoredObject>) -> Self {
        let whole = swept_whole(info);
        let value = if whole {
            stored.value()
        } else {
            swept_fields(&stored.json)
        };
        Self {
            rv: stored.rv,
            value,
            whole,
            stored,
        }
    }

    /// The object to write back for `changed` (this sweep value, edited): for a partial value,
    /// the stored object with the swept metadata fields taken from `changed`.
    fn whole_with(&self, changed: Value) -> Value {
        if self.whole {
            return changed;
        }
        let mut whole = self.stored.value();
        if let Some(meta) = whole.get_mut("metadata").and_then(Value::as_object_mut) {
            for f in SWEPT_META_FIELDS {
                match changed.pointer(&format!("/metadata/{f}")) {
                    Some(v) => {
                        meta.insert(f.to_string(), v.clone());
                    }
                    None => {
                        meta.remove(f);
                    }
                }
            }
        }
        whole
    }
}

fn ctx_for(app: &App, info: &Arc<ResourceInfo>, ns: &str) -> Ctx {
    let version = info
        .versions
        .iter()
        .find(|v| v.storage)
        .or(info.versions.first())
        .map(|v| v.name.clone())
        .unwrap_or_default();
    Ctx {
        app: app.clone(),
        info: info.clone(),
        version,
        namespace: info.namespaced.then(|| ns.to_string()),
        query: HashMap::new(),
        headers: http::HeaderMap::new(),
    }
}

fn ns_of(o: &Value) -> &str {
    o.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
fn name_of(o: &Value) -> &str {
    o.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

async fn delete_item(app: &App, it: &Item) {
    let ctx = ctx_for(app, &it.info, ns_of(&it.obj.value));
    if let Err(e) = delete_object(&ctx, name_of(&it.obj.value), &DeleteOptions::default()).await
        && e.code != 404
    {
        tracing::warn!(error = %e.message, "controller delete failed");
    }
}

/// Write a modified object back with optimistic concurrency (a conflict is retried by the next sweep).
async fn put_back(app: &App, it: &Item, value: Value) {
    let value = it.obj.whole_with(value);
    let op = WriteOp {
        gr: it.info.gr(),
        namespace: ns_of(&it.obj.value).to_string(),
        name: name_of(&it.obj.value).to_string(),
        precondition: Precondition::ResourceVersion(it.obj.rv),
        action: if deleting(&value)
            && value
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            && !is_namespace_pending(&it.info, &value)
        {
            Action::Delete
        } else {
            Action::Put(value)
        },
    };
    if let Err(e) = app.store.write(op).await {
        tracing::debug!(error = %e, "controller write skipped");
    } else {
        app.controllers.notify_one();
    }
}

fn is_namespace_pending(info: &ResourceInfo, v: &Value) -> bool {
    info.group.is_empty()
        && info.resource == "namespaces"
        && v.pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
}

fn remove_finalizer(v: &Value, f: &str) -> Value {
    let mut v = v.clone();
    if let Some(a) = v
        .pointer_mut("/metadata/finalizers")
        .and_then(Value::as_array_mut)
    {
        a.retain(|x| x != f);
    }
    v
}

/// One pass over every object; returns whether work is pending (objects being deleted).
async fn sweep(app: &App) -> bool {
    let mut resources = Vec::new();
    for gr in app.store.resources() {
        if let Some(info) = app.registry.lookup_any_version(&gr.group, &gr.resource) {
            resources.push((gr, info));
        }
    }
    // Namespaces and CRDs (kept whole) first: while one is being deleted, every object may be
    // its content and is kept; otherwise a sweep keeps only the objects it may act on (judged
    // owners, or being deleted), so it never holds all 10,000 PackageRevs at once.
    resources.sort_by_key(|(_, info)| !swept_whole(info));
    let mut items = Vec::new();
    let mut uids: HashSet<String> = HashSet::new();
    let mut keep_all = false;
    for (gr, info) in &resources {
        let whole = swept_whole(info);
        let (_, objs, _) = app.store.list(gr, None, None, 0, &|_| true);
        for obj in objs {
            let peek = Peek::of(&obj.json);
            if let Some(u) = &peek.metadata.uid {
                uids.insert(u.to_string());
            }
            let deleting = peek.metadata.deletion_timestamp.is_some();
            keep_all |= whole && deleting;
            if keep_all || whole || peek.may_need_work(&app.registry) {
                drop(peek);
                items.push(Item {
                    info: info.clone(),
                    obj: SweptObject::new(info, obj),
                });
            }
        }
    }
    let busy = items.iter().any(|it| deleting(&it.obj.value));
    let mut dependents: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        for o in judged_owner_uids(&app.registry, &it.obj.value) {
            dependents.entry(o).or_default().push(i);
        }
    }
    for it in &items {
        let v = &it.obj.value;
        // Garbage collection: every owner gone -> delete; some gone -> drop the dangling references.
        let owners = judged_owner_uids(&app.registry, v);
        if !owners.is_empty() {
            let alive: Vec<&String> = owners.iter().filter(|o| uids.contains(*o)).collect();
            // Owners that cannot be judged count as alive.
            let unjudged = owner_refs(v).count() > owners.len();
            if alive.is_empty() && !unjudged {
                if !deleting(v) {
                    delete_item(app, it).await;
                }
                continue;
            }
            if alive.len() < owners.len() {
                let mut nv = v.clone();
                if let Some(refs) = nv
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| {
                        r.get("uid")
                            .and_then(Value::as_str)
                            .is_none_or(|u| uids.contains(u) || !owners.iter().any(|o| o == u))
                    });
                }
                put_back(app, it, nv).await;
                continue;
            }
        }
        if !deleting(v) {
            continue;
        }
        let deps = dependents.get(uid(v)).cloned().unwrap_or_default();
        if has_finalizer(v, "orphan") {
            for d in &deps {
                let dep = &items[*d];
                let mut nv = dep.obj.value.clone();
                if let Some(refs) = nv
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid(v)));
                    if refs.is_empty()
                        && let Some(m) = nv.get_mut("metadata").and_then(Value::as_object_mut)
                    {
                        m.remove("ownerReferences");
                    }
                }
                put_back(app, dep, nv).await;
            }
            if deps.is_empty() {
                put_back(app, it, remove_finalizer(v, "orphan")).await;
            }
            continue;
        }
        if has_finalizer(v, "foregroundDeletion") {
            for d in &deps {
                if !deleting(&items[*d].obj.value) {
                    delete_item(app, &items[*d]).await;
                }
            }
            if deps.is_empty() {
                put_back(app, it, remove_finalizer(v, "foregroundDeletion")).await;
            }
            continue;
        }
        // Namespace lifecycle.
        if it.info.group.is_empty() && it.info.resource == "namespaces" {
            let ns = name_of(v);
            let content: Vec<&Item> = items
                .iter()
                .filter(|c| c.info.namespaced && ns_of(&c.obj.value) == ns)
                .collect();
            for c in &content {
                if !deleting(&c.obj.value) {
                    delete_item(app, c).await;
                }
            }
            if content.is_empty() && is_namespace_pending(&it.info, v) {
                let mut nv = v.clone();
                if let Some(spec) = nv.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.insert("finalizers".into(), json!([]));
                }
                put_back(app, it, nv).await;
            }
            continue;
        }
        // CRD cleanup: remove every instance, then let the CRD go.
        if it.info.group == "apiextensions.k8s.io" && has_finalizer(v, CRD_CLEANUP_FINALIZER) {
            let group = v
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let plural = v
                .pointer("/spec/names/plural")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let instances: Vec<&Item> = items
                .iter()
                .filter(|c| c.info.group == group && c.info.resource == plural)
                .collect();
            for c in &instances {
                if !deleting(&c.obj.value) {
                    delete_item(app, c).await;
                }
            }
            if instances.is_empty() {
                put_back(app, it, remove_finalizer(v, CRD_CLEANUP_FINALIZER)).await;
                app.registry.remove(group, plural);
            }
        }
    }
    busy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peek_tells_objects_to_act_on_from_the_rest() {
        let registry = Registry::default();
        for r in crate::builtin::builtin_resources() {
            registry.insert(r);
        }
        let peek = |v: Value| {
            let json = v.to_string();
            let p = Peek::of(&json);
            (
                p.metadata.uid.as_deref().map(String::from),
                p.may_need_work(&registry),
            )
        };
        // Owned by a stored kind: judged. Owned only by a kind served elsewhere: not.
        let owned_here = json!({"metadata": {"uid": "u\"1", "ownerReferences": [
            {"apiVersion": "porch.kpt.dev/v1alpha1", "kind": "PackageRevision", "uid": "p"},
            {"apiVersion": "v1", "kind": "ConfigMap", "uid": "c"}]}});
        assert_eq!(peek(owned_here), (Some("u\"1".into()), true));
        let owned_elsewhere = json!({"metadata": {"uid": "u2", "ownerReferences": [
            {"apiVersion": "porch.kpt.dev/v1alpha1", "kind": "PackageRevision", "uid": "p"}]}});
        assert_eq!(peek(owned_elsewhere), (Some("u2".into()), false));
        let deleting =
            json!({"metadata": {"uid": "u3", "deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert_eq!(peek(deleting), (Some("u3".into()), true));
        assert_eq!(peek(json!({"kind": "X"})), (None, false));
    }

    #[test]
    fn a_swept_object_written_back_keeps_the_rest_of_the_object() {
        let stored = Arc::new(StoredObject::unstored(
            7,
            &json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "a",
                    "labels": {"x": "y"},
                    "finalizers": ["orphan"],
                    "ownerReferences": [{"uid": "u1"}],
                },
                "data": {"k": "v"},
            }),
        ));
        let swept = SweptObject {
            rv: stored.rv,
            value: swept_fields(&stored.json),
            whole: false,
            stored,
        };
        assert_eq!(
            swept.value,
            json!({"metadata": {"name": "a", "ownerReferences": [{"uid": "u1"}], "finalizers": ["orphan"]}})
        );
        let mut edited = remove_finalizer(&swept.value, "orphan");
        if let Some(m) = edited.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("ownerReferences");
        }
        let whole = swept.whole_with(edited);
        assert_eq!(whole["data"], json!({"k": "v"}));
        assert_eq!(whole["metadata"]["labels"], json!({"x": "y"}));
        assert_eq!(whole["metadata"]["finalizers"], json!([]));
        assert!(whole["metadata"].get("ownerReferences").is_none());
        assert_eq!(whole["kind"], "ConfigMap");
    }
}
