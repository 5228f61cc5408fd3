//! Watch of packagerevisions, with the Kubernetes watch cache's semantics over the CR cache:
//!
//! - no resourceVersion, `0`, or `sendInitialEvents=true`: every match as ADDED, then (with
//!   `allowWatchBookmarks`) the initial-events-end bookmark, then live changes;
//! - a list resourceVersion: the changes after it, from the cache's history, then live ones; one
//!   older than the history (or ahead of this process: the counter starts over on restart) gets
//!   an ERROR event with a 410 `Expired` Status, and the client re-lists;
//! - a resourceVersion that is not a number (an object's resourceVersion, which is a commit)
//!   replays everything, as upstream does for every watch.
//!
//! Live changes honour the request's selectors (upstream filters them only by namespace: a bug
//! we do not copy): an object that stops matching is sent as DELETED and one that starts
//! matching as ADDED, as the Kubernetes watch cache does.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use porch_apimachinery::negotiate::Representation;
use porch_apimachinery::status::StatusError;
use porch_apimachinery::watch::{EventType, bookmark_object, event_line};
use porch_crds::porch::v1alpha1::{API_VERSION, PackageRevision};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;

use super::{Params, Shared, respond};
use crate::cache::{Change, ChangeKind, Expired, ServedRevision};
use crate::error::ApiResult;
use crate::filter::Selectors;

/// Which events one watch wants.
struct WatchFilter {
    namespace: String,
    selectors: Selectors,
}

impl WatchFilter {
    /// The event this client should see for a cache change, and the object to send with it.
    fn translate<'a>(&self, change: &'a Change) -> Option<(EventType, &'a ServedRevision)> {
        let pr: &ServedRevision = &change.object;
        if !self.namespace.is_empty() && pr.metadata.namespace.as_deref() != Some(&self.namespace) {
            return None;
        }
        let was = change
            .previous
            .as_ref()
            .is_some_and(|p| self.selectors.matches(p));
        let now = change.kind != ChangeKind::Deleted && self.selectors.matches(pr);
        match (was, now, &change.previous) {
            (false, true, _) => Some((EventType::Added, pr)),
            (true, true, _) => Some((EventType::Modified, pr)),
            // The last state the client saw matching.
            (true, false, Some(previous)) => Some((EventType::Deleted, &**previous)),
            _ => None,
        }
    }
}

fn flag(params: &Params, name: &str) -> bool {
    params.get(name).is_some_and(|v| v == "true" || v == "1")
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Every current match as ADDED first.
    Replay,
    /// The changes after this list resourceVersion.
    Since(u64),
    /// Only changes from now on.
    Now,
}

fn start_of(params: &Params) -> Start {
    let rv = params
        .get("resourceVersion")
        .map(String::as_str)
        .unwrap_or_default();
    let numeric = rv.parse::<u64>().ok();
    match params.get("sendInitialEvents").map(String::as_str) {
        Some("true") => Start::Replay,
        Some("false") => numeric.map_or(Start::Now, Start::Since),
        _ => match numeric {
            None | Some(0) => Start::Replay,
            Some(n) => Start::Since(n),
        },
    }
}

/// One framed event for a cached object.
fn line(rep: Representation, kind: EventType, pr: &ServedRevision, params: &Params) -> Bytes {
    let object = match rep {
        Representation::Table { .. } => {
            let row = respond::package_revision_row(pr, params);
            let rv = pr.metadata.resource_version.clone().unwrap_or_default();
            let size = row.len();
            Bytes::from(respond::package_revision_table(
                std::iter::once(row),
                &rv,
                params,
                size,
            ))
        }
        Representation::PartialObjectMetadata | Representation::PartialObjectMetadataList => {
            let obj = serde_json::to_value(pr.object()).unwrap_or_default();
            Bytes::from(
                serde_json::to_vec(&porch_apimachinery::table::partial_object_metadata(&obj))
                    .unwrap_or_default(),
            )
        }
        _ => pr.json(),
    };
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(&object);
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

fn bookmark(rv: u64, initial_end: bool) -> Bytes {
    let obj = bookmark_object(API_VERSION, PackageRevision::KIND, rv, initial_end);
    Bytes::from(event_line(EventType::Bookmark, &obj))
}

fn expired_event(e: Expired) -> Bytes {
    let status = StatusError::expired(e.requested, e.oldest).to_json();
    Bytes::from(event_line(EventType::Error, &status))
}

fn stream_response(rep: Representation, out: mpsc::Receiver<Bytes>) -> Response {
    let body = Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(out).map(Ok::<Bytes, std::convert::Infallible>),
    );
    let content_type = match rep {
        Representation::Table { .. } => rep.content_type(),
        _ => "application/json",
    };
    (
        StatusCode::OK,
        [
            (http::header::CONTENT_TYPE, content_type),
            (http::header::CACHE_CONTROL, "no-cache, private"),
        ],
        body,
    )
        .into_response()
}

/// What a watch sends before live changes.
enum Backlog {
    Initial(Vec<std::sync::Arc<ServedRevision>>),
    Missed(Vec<Change>),
}

/// Starts a watch response.
pub fn watch(
    state: Shared,
    namespace: String,
    selectors: Selectors,
    params: Params,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let rep = respond::watch_representation(headers)?;
    let bookmarks = flag(&params, "allowWatchBookmarks");
    let (tx, out) = mpsc::channel::<Bytes>(64);
    let (backlog, rv, rx) = match start_of(&params) {
        Start::Replay => {
            let (snapshot, rv, rx) = state.cache.snapshot_and_subscribe(&namespace);
            (Backlog::Initial(snapshot), rv, rx)
        }
        Start::Since(from) => match state.cache.subscribe_since(from) {
            Ok((missed, rv, rx)) => (Backlog::Missed(missed), rv, rx),
            Err(expired) => {
                // A watch that cannot start is a 200 carrying one ERROR event, as from kube's
                // watch cache.
                let _ = tx.try_send(expired_event(expired));
                return Ok(stream_response(rep, out));
            }
        },
        Start::Now => {
            let (_, rv, rx) = state.cache.snapshot_and_subscribe(&namespace);
            (Backlog::Missed(Vec::new()), rv, rx)
        }
    };
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let filter = WatchFilter {
        namespace,
        selectors,
    };
    let interval = state.options.bookmark_interval;
    tokio::spawn(async move {
        let mut sent_rv = rv;
        match backlog {
            Backlog::Initial(snapshot) => {
                for pr in snapshot.iter().filter(|pr| filter.selectors.matches(pr)) {
                    if tx
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
            }
            Backlog::Missed(changes) => {
                for change in &changes {
                    if let Some((kind, obj)) = filter.translate(change)
                        && tx.send(line(rep, kind, obj, &params)).await.is_err()
                    {
                        return;
                    }
                }
            }
        }
        let live = Live {
            tx,
            filter,
            rep,
            params,
            bookmarks,
            interval,
        };
        live.stream(rx, &mut sent_rv, timeout).await;
    });
    Ok(stream_response(rep, out))
}

/// The live half of one watch.
struct Live {
    tx: mpsc::Sender<Bytes>,
    filter: WatchFilter,
    rep: Representation,
    params: Params,
    bookmarks: bool,
    interval: Duration,
}

impl Live {
    async fn stream(
        &self,
        mut rx: broadcast::Receiver<Change>,
        sent_rv: &mut u64,
        timeout: Option<Duration>,
    ) {
        let deadline = async {
            match timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(self.interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                () = &mut deadline => return,
                () = self.tx.closed() => return,
                _ = ticker.tick(), if self.bookmarks => {
                    if self.tx.send(bookmark(*sent_rv, false)).await.is_err() {
                        return;
                    }
                }
                change = rx.recv() => match change {
                    Ok(change) => {
                        // Changes already covered by the backlog are skipped.
                        if change.resource_version <= *sent_rv {
                            continue;
                        }
                        *sent_rv = change.resource_version;
                        if let Some((kind, obj)) = self.filter.translate(&change)
                            && self.tx.send(line(self.rep, kind, obj, &self.params)).await.is_err()
                        {
                            return;
                        }
                    }
                    // A watcher too slow to keep up is closed; the client re-watches from its
                    // last resourceVersion (and gets 410 when that is gone).
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn start_points_follow_kube() {
        assert_eq!(start_of(&params(&[])), Start::Replay);
        assert_eq!(
            start_of(&params(&[("resourceVersion", "0")])),
            Start::Replay
        );
        assert_eq!(
            start_of(&params(&[("resourceVersion", "17")])),
            Start::Since(17)
        );
        // An object's resourceVersion (a commit) replays, as upstream does.
        assert_eq!(
            start_of(&params(&[("resourceVersion", "1551b2c42e2254f8")])),
            Start::Replay
        );
        assert_eq!(
            start_of(&params(&[
                ("resourceVersion", "17"),
                ("sendInitialEvents", "true")
            ])),
            Start::Replay
        );
        assert_eq!(
            start_of(&params(&[("sendInitialEvents", "false")])),
            Start::Now
        );
    }
}
