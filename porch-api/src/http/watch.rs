//! Watch of packagerevisions: the initial events (every match as ADDED), the initial-events-end
//! bookmark, then live changes from the CR cache filtered by the request's selectors, with
//! periodic bookmarks. (Upstream filters live events only by namespace: a bug we do not copy.)
//!
//! A revision that stops matching the selectors is sent as DELETED and one that starts matching
//! as ADDED, as the Kubernetes watch cache does.

use std::collections::HashSet;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use porch_apimachinery::negotiate::Representation;
use porch_apimachinery::watch::{EventType, bookmark_object, event_line};
use porch_crds::porch::v1alpha1::{API_VERSION, PackageRevision};
use serde_json::Value;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;

use super::{Params, Shared, respond};
use crate::cache::{Change, ChangeKind};
use crate::error::ApiResult;
use crate::filter::Selectors;
use crate::tables;

/// Per-watch state: which objects this client currently sees.
struct WatchFilter {
    namespace: String,
    selectors: Selectors,
    visible: HashSet<(String, String)>,
}

fn key(pr: &PackageRevision) -> (String, String) {
    (
        pr.metadata.namespace.clone().unwrap_or_default(),
        pr.metadata.name.clone().unwrap_or_default(),
    )
}

impl WatchFilter {
    /// The event this client should see for a cache change, if any.
    fn translate(&mut self, change: &Change) -> Option<EventType> {
        let pr = &change.object;
        if !self.namespace.is_empty() && pr.metadata.namespace.as_deref() != Some(&self.namespace) {
            return None;
        }
        let k = key(pr);
        let was = self.visible.contains(&k);
        let now = change.kind != ChangeKind::Deleted && self.selectors.matches(pr);
        match (was, now) {
            (false, true) => {
                self.visible.insert(k);
                Some(EventType::Added)
            }
            (true, true) => Some(EventType::Modified),
            (true, false) => {
                self.visible.remove(&k);
                Some(EventType::Deleted)
            }
            (false, false) => None,
        }
    }
}

fn flag(params: &Params, name: &str) -> bool {
    params.get(name).is_some_and(|v| v == "true" || v == "1")
}

/// Renders one event object in the negotiated representation (Tables for `kubectl get -w`).
fn render(rep: Representation, obj: &Value, params: &Params) -> Value {
    match rep {
        Representation::Table { .. } => {
            let rv = obj["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default();
            respond::table(
                &tables::package_revisions(),
                std::slice::from_ref(obj),
                rv,
                params,
            )
        }
        Representation::PartialObjectMetadata | Representation::PartialObjectMetadataList => {
            porch_apimachinery::table::partial_object_metadata(obj)
        }
        _ => obj.clone(),
    }
}

fn line(rep: Representation, kind: EventType, pr: &PackageRevision, params: &Params) -> Bytes {
    let obj = serde_json::to_value(pr).unwrap_or(Value::Null);
    Bytes::from(event_line(kind, &render(rep, &obj, params)))
}

fn bookmark(rv: u64, initial_end: bool) -> Bytes {
    let obj = bookmark_object(API_VERSION, PackageRevision::KIND, rv, initial_end);
    Bytes::from(event_line(EventType::Bookmark, &obj))
}

/// Whether the watch starts with every match as ADDED. Upstream always replays (it ignores the
/// request's resourceVersion). We replay too, except when the client asks for
/// `sendInitialEvents=false`, or resumes from exactly the current list resourceVersion (the
/// `kubectl get -w` list-then-watch case), where a replay would only repeat what it has.
fn send_initial_events(params: &Params, current_rv: u64) -> bool {
    match params.get("sendInitialEvents").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => params
            .get("resourceVersion")
            .and_then(|v| v.parse::<u64>().ok())
            .is_none_or(|v| v == 0 || v != current_rv),
    }
}

/// Starts a watch response.
pub fn watch(
    state: Shared,
    namespace: String,
    selectors: Selectors,
    params: Params,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let rep = respond::object_representation(headers)?;
    let bookmarks = flag(&params, "allowWatchBookmarks");
    let (snapshot, rv, rx) = state.cache.snapshot_and_subscribe(&namespace);
    let initial = send_initial_events(&params, rv);
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut filter = WatchFilter {
        namespace,
        selectors,
        visible: HashSet::new(),
    };

    let (tx, out) = mpsc::channel::<Bytes>(64);
    let interval = state.options.bookmark_interval;
    tokio::spawn(async move {
        let mut sent_rv = rv;
        for pr in snapshot.iter().filter(|pr| filter.selectors.matches(pr)) {
            filter.visible.insert(key(pr));
            if initial
                && tx
                    .send(line(rep, EventType::Added, pr, &params))
                    .await
                    .is_err()
            {
                return;
            }
        }
        if bookmarks && tx.send(bookmark(sent_rv, true)).await.is_err() {
            return;
        }
        stream_changes(
            rx,
            tx,
            &mut filter,
            &mut sent_rv,
            rep,
            &params,
            bookmarks,
            interval,
            timeout,
        )
        .await;
    });

    let body = Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(out).map(Ok::<Bytes, std::convert::Infallible>),
    );
    let content_type = match rep {
        Representation::Table { .. } => rep.content_type(),
        _ => "application/json",
    };
    Ok((
        StatusCode::OK,
        [
            (http::header::CONTENT_TYPE, content_type),
            (http::header::CACHE_CONTROL, "no-cache, private"),
        ],
        body,
    )
        .into_response())
}

#[allow(clippy::too_many_arguments)]
async fn stream_changes(
    mut rx: broadcast::Receiver<Change>,
    tx: mpsc::Sender<Bytes>,
    filter: &mut WatchFilter,
    sent_rv: &mut u64,
    rep: Representation,
    params: &Params,
    bookmarks: bool,
    interval: Duration,
    timeout: Option<Duration>,
) {
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        tokio::select! {
            () = &mut deadline => return,
            () = tx.closed() => return,
            _ = ticker.tick(), if bookmarks => {
                if tx.send(bookmark(*sent_rv, false)).await.is_err() {
                    return;
                }
            }
            change = rx.recv() => match change {
                Ok(change) => {
                    *sent_rv = change.resource_version;
                    if let Some(kind) = filter.translate(&change)
                        && tx.send(line(rep, kind, &change.object, params)).await.is_err()
                    {
                        return;
                    }
                }
                // A watcher too slow to keep up is closed; the client re-watches.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
            }
        }
    }
}
