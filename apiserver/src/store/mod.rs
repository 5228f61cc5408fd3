//! The object store: an in-memory index of every object (the watch cache) in front of a
//! durable [`Backend`] (SQLite now; the trait is what a PostgreSQL backend would implement).
//!
//! Writes go through one writer thread that checks preconditions, assigns the global
//! monotonic resourceVersion, commits a whole batch of concurrent writes in one durable
//! transaction (group commit: one fsync for many clients), then publishes the events.
//! Nothing is acknowledged before its transaction is durable.

mod sqlite;

pub use sqlite::SqliteBackend;

use porch_apimachinery::watch::EventType;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use tokio::sync::{broadcast, oneshot};

/// A resource type, as stored (versions share storage).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: &str, resource: &str) -> Self {
        Self {
            group: group.to_string(),
            resource: resource.to_string(),
        }
    }
}

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub type NsName = (String, String);

/// One stored object: its serialized form (served as-is on the hot path) and nothing parsed
/// but its `apiVersion`. A parsed `Value` weighs several times its JSON (and every version the
/// watch history holds would carry one), so readers parse what they need:
/// [`StoredObject::head`] for metadata, [`StoredObject::value`] for the whole object.
#[derive(Debug)]
pub struct StoredObject {
    pub rv: u64,
    api_version: Box<str>,
    pub json: Arc<str>,
}

/// The fields [`StoredObject::head`] parses; the rest of the object is skipped.
#[derive(serde::Deserialize)]
struct HeadFields {
    #[serde(rename = "apiVersion")]
    api_version: Option<Value>,
    kind: Option<Value>,
    metadata: Option<Value>,
}

fn api_version_of(value: &Value) -> Box<str> {
    value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .into()
}

impl StoredObject {
    fn new(rv: u64, mut value: Value) -> Self {
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        Self::unstored(rv, &value)
    }

    fn from_json(rv: u64, json: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(json).ok()?;
        Some(Self {
            rv,
            api_version: api_version_of(&value),
            json: json.into(),
        })
    }

    /// An object as it would be stored, not stamped (a dry run's answer).
    pub fn unstored(rv: u64, value: &Value) -> Self {
        Self {
            rv,
            api_version: api_version_of(value),
            json: serde_json::to_string(value).unwrap_or_default().into(),
        }
    }

    /// The stored `apiVersion`.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// `apiVersion`, `kind` and `metadata`, parsed from the stored JSON (the rest of the
    /// object is absent).
    pub fn head(&self) -> Value {
        let mut head = serde_json::Map::new();
        // The JSON was written by `unstored` or checked by `from_json`: it always parses.
        if let Ok(h) = serde_json::from_str::<HeadFields>(&self.json) {
            for (k, v) in [
                ("apiVersion", h.api_version),
                ("kind", h.kind),
                ("metadata", h.metadata),
            ] {
                if let Some(v) = v {
                    head.insert(k.to_string(), v);
                }
            }
        }
        Value::Object(head)
    }

    /// The whole object, parsed from its stored JSON.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or_else(|_| self.head())
    }
}

/// A change, as watchers see it.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub kind: EventType,
    pub gr: GroupResource,
    pub namespace: String,
    pub name: String,
    /// The new object (for DELETED: the last state, stamped with the deletion's resourceVersion).
    pub object: Arc<StoredObject>,
    /// The previous object, if any (to notice objects leaving a selector).
    pub prev: Option<Arc<StoredObject>>,
}

/// A durable row.
#[derive(Debug, Clone)]
pub struct Row {
    pub gr: GroupResource,
    pub namespace: String,
    pub name: String,
    pub rv: u64,
    pub json: Arc<str>,
}

/// One change within a committed batch (`json: None` = delete).
#[derive(Debug, Clone)]
pub struct Mutation {
    pub gr: GroupResource,
    pub namespace: String,
    pub name: String,
    pub rv: u64,
    pub json: Option<Arc<str>>,
}

/// Errors of the storage layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    #[error("conflict")]
    Conflict,
    #[error("storage error: {0}")]
    Backend(String),
}

/// Durable storage for the latest state of every object.
pub trait Backend: Send + 'static {
    /// Every row and the last resourceVersion handed out.
    fn load(&mut self) -> Result<(u64, Vec<Row>), StoreError>;
    /// Make a batch durable atomically; `rv` is the newest resourceVersion in it.
    fn commit(&mut self, rv: u64, mutations: &[Mutation]) -> Result<(), StoreError>;
}

/// A write's guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    None,
    MustNotExist,
    /// The object must exist at exactly this resourceVersion.
    ResourceVersion(u64),
    /// The object must exist (any version).
    MustExist,
}

/// What a write does.
#[derive(Debug, Clone)]
pub enum Action {
    Put(Value),
    Delete,
}

/// A single-object write.
#[derive(Debug, Clone)]
pub struct WriteOp {
    pub gr: GroupResource,
    pub namespace: String,
    pub name: String,
    pub precondition: Precondition,
    pub action: Action,
}

/// What a successful write did.
#[derive(Debug, Clone)]
pub enum WriteOutcome {
    Put {
        object: Arc<StoredObject>,
        created: bool,
    },
    Deleted(Arc<StoredObject>),
}

impl WriteOutcome {
    pub fn object(&self) -> &Arc<StoredObject> {
        match self {
            Self::Put { object, .. } | Self::Deleted(object) => object,
        }
    }
}

struct Request {
    op: WriteOp,
    reply: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

#[derive(Default)]
struct State {
    objects: HashMap<GroupResource, BTreeMap<NsName, Arc<StoredObject>>>,
    ring: VecDeque<Arc<Event>>,
    /// Serialized bytes of the objects the ring's events carry (their memory, roughly).
    ring_bytes: usize,
    current_rv: u64,
    /// Every event with rv > `compacted_rv` is in the ring.
    compacted_rv: u64,
}

/// The store handle (cheap to clone).
#[derive(Clone)]
pub struct Store {
    state: Arc<RwLock<State>>,
    writer: std::sync::mpsc::Sender<Request>,
    events: broadcast::Sender<Arc<Event>>,
}

/// A subscription, the events it must replay first, and the newest resourceVersion.
pub type WatchStart = (broadcast::Receiver<Arc<Event>>, Vec<Arc<Event>>, u64);

/// Why a watch cannot start at the requested resourceVersion.
#[derive(Debug, Clone, Copy)]
pub struct TooOld {
    pub requested: u64,
    pub oldest: u64,
}

const MAX_BATCH: usize = 512;

/// Events buffered per subscriber; one that falls further behind is cut off and resumes from
/// the history. The channel keeps its last `EVENT_BUFFER` events (and the object versions they
/// carry) alive, so it stays well below what the history holds.
const EVENT_BUFFER: usize = 4_096;

/// How much watch history the store keeps: at most `events` events whose objects weigh at
/// most `bytes` (serialized) in all. The newest event is always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimit {
    pub events: usize,
    pub bytes: usize,
}

impl HistoryLimit {
    /// A limit by count only.
    pub fn events(events: usize) -> Self {
        Self {
            events,
            bytes: usize::MAX,
        }
    }
}

/// What one event in the ring costs, in serialized bytes of the object it carries.
fn event_weight(ev: &Event) -> usize {
    ev.object.json.len()
}

impl Store {
    /// Load everything from the backend and start the writer thread, keeping the last
    /// `ring_capacity` events for watch resumption.
    pub fn open(backend: impl Backend, ring_capacity: usize) -> Result<Self, StoreError> {
        Self::open_with_history(backend, HistoryLimit::events(ring_capacity))
    }

    /// [`Store::open`] with the watch history bounded by count and by bytes.
    pub fn open_with_history(
        mut backend: impl Backend,
        history: HistoryLimit,
    ) -> Result<Self, StoreError> {
        let (rv, rows) = backend.load()?;
        let mut state = State {
            current_rv: rv,
            compacted_rv: rv,
            ..Default::default()
        };
        for row in rows {
            if let Some(obj) = StoredObject::from_json(row.rv, &row.json) {
                state
                    .objects
                    .entry(row.gr)
                    .or_default()
                    .insert((row.namespace, row.name), Arc::new(obj));
            }
        }
        let state = Arc::new(RwLock::new(state));
        let (tx, rx) = std::sync::mpsc::channel::<Request>();
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let writer_state = state.clone();
        let writer_events = events.clone();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                writer_loop(
                    backend,
                    rx,
                    writer_state,
                    writer_events,
                    HistoryLimit {
                        events: history.events.max(1),
                        bytes: history.bytes,
                    },
                )
            })
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self {
            state,
            writer: tx,
            events,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The newest resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.read().current_rv
    }

    /// One object.
    pub fn get(
        &self,
        gr: &GroupResource,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<StoredObject>> {
        self.read()
            .objects
            .get(gr)?
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Objects of a resource (one namespace or all), ordered by (namespace, name), starting
    /// after `after` and at most `limit` (0 = all), with the resourceVersion of the snapshot
    /// and whether more remain.
    pub fn list(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
        after: Option<&NsName>,
        limit: usize,
        filter: &dyn Fn(&StoredObject) -> bool,
    ) -> (u64, Vec<Arc<StoredObject>>, bool) {
        let st = self.read();
        let rv = st.current_rv;
        let Some(map) = st.objects.get(gr) else {
            return (rv, Vec::new(), false);
        };
        let mut out = Vec::new();
        let range: Box<dyn Iterator<Item = (&NsName, &Arc<StoredObject>)>> =
            match (namespace, after) {
                (_, Some(a)) => Box::new(map.range::<NsName, _>((
                    std::ops::Bound::Excluded(a.clone()),
                    std::ops::Bound::Unbounded,
                ))),
                (Some(ns), None) => {
                    Box::new(map.range::<NsName, _>((ns.to_string(), String::new())..))
                }
                (None, None) => Box::new(map.iter()),
            };
        for ((ns, _), obj) in range {
            if let Some(want) = namespace {
                if ns.as_str() > want {
                    break;
                }
                if ns != want {
                    continue;
                }
            }
            if !filter(obj) {
                continue;
            }
            if limit > 0 && out.len() == limit {
                return (rv, out, true);
            }
            out.push(obj.clone());
        }
        (rv, out, false)
    }

    /// Every stored resource type with at least one object.
    pub fn resources(&self) -> Vec<GroupResource> {
        self.read()
            .objects
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Subscribe to events, plus a snapshot taken atomically with the subscription:
    /// either the events after `from_rv` (when still in the ring) or an error.
    pub fn watch_from(&self, from_rv: u64) -> Result<WatchStart, TooOld> {
        let rx = self.events.subscribe();
        let st = self.read();
        if from_rv < st.compacted_rv {
            return Err(TooOld {
                requested: from_rv,
                oldest: st.compacted_rv + 1,
            });
        }
        let backlog: Vec<Arc<Event>> = st.ring.iter().filter(|e| e.rv > from_rv).cloned().collect();
        Ok((rx, backlog, st.current_rv))
    }

    /// Subscribe to events and snapshot a resource's objects at the same instant.
    pub fn watch_with_snapshot(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
    ) -> (broadcast::Receiver<Arc<Event>>, Vec<Arc<StoredObject>>, u64) {
        let rx = self.events.subscribe();
        let (rv, objs, _) = self.list(gr, namespace, None, 0, &|_| true);
        (rx, objs, rv)
    }

    /// Subscribe to all future events.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// Perform one write; resolves once it is durable.
    pub async fn write(&self, op: WriteOp) -> Result<WriteOutcome, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(Request { op, reply })
            .map_err(|_| StoreError::Backend("store writer stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Backend("store writer stopped".into()))?
    }
}

type Key = (GroupResource, String, String);

fn writer_loop(
    mut backend: impl Backend,
    rx: std::sync::mpsc::Receiver<Request>,
    state: Arc<RwLock<State>>,
    events: broadcast::Sender<Arc<Event>>,
    history: HistoryLimit,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let base_rv = state
            .read()
            .map(|s| s.current_rv)
            .unwrap_or_else(|p| p.into_inner().current_rv);
        let mut rv = base_rv;
        let mut overlay: HashMap<Key, Option<Arc<StoredObject>>> = HashMap::new();
        let mut mutations = Vec::new();
        let mut new_events = Vec::new();
        let mut results = Vec::with_capacity(batch.len());
        {
            let st = state
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for req in &batch {
                let op = &req.op;
                let key: Key = (op.gr.clone(), op.namespace.clone(), op.name.clone());
                let current = match overlay.get(&key) {
                    Some(v) => v.clone(),
                    None => st
                        .objects
                        .get(&op.gr)
                        .and_then(|m| m.get(&(op.namespace.clone(), op.name.clone())))
                        .cloned(),
                };
                let check = match (&op.precondition, &current) {
                    (Precondition::MustNotExist, Some(_)) => Err(StoreError::AlreadyExists),
                    (Precondition::ResourceVersion(_) | Precondition::MustExist, None) => {
                        Err(StoreError::NotFound)
                    }
                    (Precondition::ResourceVersion(want), Some(cur)) if cur.rv != *want => {
                        Err(StoreError::Conflict)
                    }
                    (_, None) if matches!(op.action, Action::Delete) => Err(StoreError::NotFound),
                    _ => Ok(()),
                };
                if let Err(e) = check {
                    results.push(Err(e));
                    continue;
                }
                rv += 1;
                let (outcome, kind, object) = match &op.action {
                    Action::Put(v) => {
                        let obj = Arc::new(StoredObject::new(rv, v.clone()));
                        let created = current.is_none();
                        let kind = if created {
                            EventType::Added
                        } else {
                            EventType::Modified
                        };
                        (
                            WriteOutcome::Put {
                                object: obj.clone(),
                                created,
                            },
                            kind,
                            obj,
                        )
                    }
                    Action::Delete => {
                        let last = current.as_ref().map(|c| c.value()).unwrap_or(Value::Null);
                        let obj = Arc::new(StoredObject::new(rv, last));
                        (WriteOutcome::Deleted(obj.clone()), EventType::Deleted, obj)
                    }
                };
                mutations.push(Mutation {
                    gr: op.gr.clone(),
                    namespace: op.namespace.clone(),
                    name: op.name.clone(),
                    rv,
                    json: (kind != EventType::Deleted).then(|| object.json.clone()),
                });
                new_events.push(Arc::new(Event {
                    rv,
                    kind,
                    gr: op.gr.clone(),
                    namespace: op.namespace.clone(),
                    name: op.name.clone(),
                    object: object.clone(),
                    prev: current.clone(),
                }));
                overlay.insert(key, (kind != EventType::Deleted).then_some(object));
                results.push(Ok(outcome));
            }
        }
        if !mutations.is_empty()
            && let Err(e) = backend.commit(rv, &mutations)
        {
            tracing::error!(error = %e, "store commit failed");
            for req in batch {
                let _ = req.reply.send(Err(e.clone()));
            }
            continue;
        }
        {
            let mut st = state
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for ((gr, ns, name), obj) in overlay {
                let map = st.objects.entry(gr).or_default();
                match obj {
                    Some(o) => {
                        map.insert((ns, name), o);
                    }
                    None => {
                        map.remove(&(ns, name));
                    }
                }
            }
            for ev in &new_events {
                st.ring_bytes += event_weight(ev);
                st.ring.push_back(ev.clone());
            }
            // Old versions stay alive only as long as the history needs them.
            while st.ring.len() > history.events
                || (st.ring.len() > 1 && st.ring_bytes > history.bytes)
            {
                if let Some(old) = st.ring.pop_front() {
                    st.ring_bytes -= event_weight(&old);
                    st.compacted_rv = old.rv;
                }
            }
            st.current_rv = rv;
        }
        for ev in new_events {
            let _ = events.send(ev);
        }
        for (req, res) in batch.into_iter().zip(results) {
            let _ = req.reply.send(res);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(name: &str, pre: Precondition) -> WriteOp {
        WriteOp {
            gr: GroupResource::new("", "configmaps"),
            namespace: "default".into(),
            name: name.into(),
            precondition: pre,
            action: Action::Put(json!({"metadata":{"name": name, "namespace": "default"}})),
        }
    }

    #[tokio::test]
    async fn preconditions_rv_and_watch_ring() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            SqliteBackend::open(&dir.path().join("db.sqlite")).unwrap(),
            3,
        )
        .unwrap();
        let a = store
            .write(put("a", Precondition::MustNotExist))
            .await
            .unwrap();
        assert_eq!(a.object().rv, 1);
        assert_eq!(a.object().value()["metadata"]["resourceVersion"], "1");
        assert_eq!(a.object().head()["metadata"]["resourceVersion"], "1");
        assert!(matches!(
            store.write(put("a", Precondition::MustNotExist)).await,
            Err(StoreError::AlreadyExists)
        ));
        assert!(matches!(
            store
                .write(put("a", Precondition::ResourceVersion(7)))
                .await,
            Err(StoreError::Conflict)
        ));
        store
            .write(put("a", Precondition::ResourceVersion(1)))
            .await
            .unwrap();
        store.write(put("b", Precondition::None)).await.unwrap();
        store.write(put("c", Precondition::None)).await.unwrap();
        assert_eq!(store.current_rv(), 4);
        // Ring holds 3 events (rv 2..4): resuming from 1 works, from 0 is too old.
        let (_, backlog, _) = store.watch_from(1).unwrap();
        assert_eq!(
            backlog.iter().map(|e| e.rv).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        assert!(store.watch_from(0).is_err());
        let (_, items, more) = store.list(
            &GroupResource::new("", "configmaps"),
            Some("default"),
            None,
            2,
            &|_| true,
        );
        assert_eq!(items.len(), 2);
        assert!(more);
        drop(store);
        // Reopen: state and the RV counter survive.
        let store = Store::open(
            SqliteBackend::open(&dir.path().join("db.sqlite")).unwrap(),
            3,
        )
        .unwrap();
        assert_eq!(store.current_rv(), 4);
        assert!(
            store
                .get(&GroupResource::new("", "configmaps"), "default", "c")
                .is_some()
        );
        let del = WriteOp {
            action: Action::Delete,
            ..put("c", Precondition::None)
        };
        let out = store.write(del).await.unwrap();
        assert_eq!(out.object().rv, 5);
        assert!(
            store
                .get(&GroupResource::new("", "configmaps"), "default", "c")
                .is_none()
        );
    }

    #[tokio::test]
    async fn history_is_bounded_by_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with_history(
            SqliteBackend::open(&dir.path().join("db.sqlite")).unwrap(),
            HistoryLimit {
                events: 100,
                bytes: 1,
            },
        )
        .unwrap();
        for name in ["a", "b", "c"] {
            store.write(put(name, Precondition::None)).await.unwrap();
        }
        // Every object outweighs the budget: only the newest event is kept.
        let (_, backlog, _) = store.watch_from(2).unwrap();
        assert_eq!(backlog.iter().map(|e| e.rv).collect::<Vec<_>>(), vec![3]);
        let too_old = store.watch_from(1).err().unwrap();
        assert_eq!((too_old.requested, too_old.oldest), (1, 3));

        let one = put("x", Precondition::None);
        let Action::Put(v) = &one.action else {
            unreachable!()
        };
        let size = serde_json::to_string(v).unwrap().len() + r#","resourceVersion":"10""#.len();
        let store = Store::open_with_history(
            SqliteBackend::open(&dir.path().join("db2.sqlite")).unwrap(),
            HistoryLimit {
                events: 100,
                bytes: 2 * size,
            },
        )
        .unwrap();
        for name in ["a", "b", "c", "d"] {
            store.write(put(name, Precondition::None)).await.unwrap();
        }
        let (_, backlog, _) = store.watch_from(2).unwrap();
        assert_eq!(backlog.iter().map(|e| e.rv).collect::<Vec<_>>(), vec![3, 4]);
        assert!(store.watch_from(1).is_err());
    }
}
