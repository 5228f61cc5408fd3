//! Watch: newline-delimited events, resumable from a resourceVersion, with bookmarks,
//! `sendInitialEvents`, selectors, and Table / PartialObjectMetadata event objects.

use super::objects::{Ctx, Selectors};
use super::response::{ApiError, object_json, object_value, table_for};
use crate::store::{Event, StoredObject};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use porch_apimachinery::StatusError;
use porch_apimachinery::negotiate::{OBJECT_REPRESENTATIONS, Representation, negotiate};
use porch_apimachinery::table::{IncludeObject, partial_object_metadata};
use porch_apimachinery::watch::{EventType, bookmark_object, event_line, event_line_raw};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

struct Encoder {
    rep: Representation,
    info: Arc<crate::registry::ResourceInfo>,
    version: String,
    api_version: String,
    include: IncludeObject,
    sent_columns: bool,
}

impl Encoder {
    fn line(&mut self, kind: EventType, obj: &StoredObject) -> Vec<u8> {
        match self.rep {
            Representation::Table { v1beta1 } => {
                let with_defs = !self.sent_columns;
                self.sent_columns = true;
                let t = table_for(
                    &self.info,
                    &self.version,
                    &[object_value(obj, &self.api_version)],
                    &obj.rv.to_string(),
                    "",
                    self.include,
                    with_defs,
                    v1beta1,
                );
                event_line(kind, &t)
            }
            Representation::PartialObjectMetadata | Representation::PartialObjectMetadataList => {
                event_line(kind, &partial_object_metadata(&obj.head()))
            }
            _ => event_line_raw(kind, &object_json(obj, &self.api_version)),
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Vec<u8> {
        event_line(
            EventType::Bookmark,
            &bookmark_object(&self.api_version, &self.info.kind, rv, initial_end),
        )
    }
}

fn event_in_scope(ctx: &Ctx, ev: &Event) -> bool {
    ev.gr.group == ctx.info.group
        && ev.gr.resource == ctx.info.resource
        && ctx.namespace.as_ref().is_none_or(|ns| *ns == ev.namespace)
}

/// What a change looks like through a selector.
fn translate(sel: &Selectors, ev: &Event) -> Option<EventType> {
    let now = sel.matches_stored(&ev.object);
    match ev.kind {
        EventType::Added => now.then_some(EventType::Added),
        EventType::Deleted => now.then_some(EventType::Deleted),
        _ => {
            let before = ev.prev.as_ref().is_some_and(|p| sel.matches_stored(p));
            match (before, now) {
                (true, true) => Some(EventType::Modified),
                (false, true) => Some(EventType::Added),
                (true, false) => Some(EventType::Deleted),
                (false, false) => None,
            }
        }
    }
}

/// GET with `watch=true`.
pub async fn watch(ctx: Ctx) -> Result<Response, ApiError> {
    let rep = negotiate(
        ctx.headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
        OBJECT_REPRESENTATIONS,
    )
    .ok_or_else(StatusError::not_acceptable)?;
    let sel = Selectors::parse(&ctx)?;
    let q = |k: &str| ctx.query.get(k).map(String::as_str);
    let bookmarks = q("allowWatchBookmarks") == Some("true");
    let send_initial = q("sendInitialEvents") == Some("true");
    if send_initial && q("resourceVersionMatch") != Some("NotOlderThan") {
        return Err(StatusError::invalid("meta.k8s.io", "ListOptions", "", &[porch_apimachinery::FieldError::forbidden("sendInitialEvents", "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan")]).into());
    }
    let timeout = q("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let rv_param = q("resourceVersion").filter(|r| !r.is_empty());
    let mut enc = Encoder {
        rep,
        api_version: ctx.info.api_version(&ctx.version),
        info: ctx.info.clone(),
        version: ctx.version.clone(),
        include: ctx.include(),
        sent_columns: false,
    };
    let mut initial: Vec<Vec<u8>> = Vec::new();
    let (rx, mut last_rv) = match rv_param {
        Some(r) if r != "0" && !send_initial => {
            let from: u64 = r
                .parse()
                .map_err(|_| StatusError::bad_request(format!("invalid resource version {r:?}")))?;
            match ctx.app.store.watch_from(from) {
                Ok((rx, backlog, current)) => {
                    for ev in backlog.iter().filter(|e| event_in_scope(&ctx, e)) {
                        if let Some(kind) = translate(&sel, ev) {
                            initial.push(enc.line(kind, &ev.object));
                        }
                    }
                    (rx, current.max(from))
                }
                Err(too_old) => {
                    let err = StatusError::expired(too_old.requested, too_old.oldest);
                    let line = event_line(EventType::Error, &err.to_json());
                    return Ok(stream_response(vec![line], None));
                }
            }
        }
        _ => {
            let (rx, objs, rv) = ctx
                .app
                .store
                .watch_with_snapshot(&ctx.info.gr(), ctx.namespace.as_deref());
            for o in objs.iter().filter(|o| sel.matches_stored(o)) {
                initial.push(enc.line(EventType::Added, o));
            }
            if send_initial && bookmarks {
                initial.push(enc.bookmark(rv, true));
            }
            (rx, rv)
        }
    };
    let (tx, out_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    let bookmark_every = ctx.app.bookmark_interval;
    tokio::spawn(async move {
        for line in initial {
            if tx.send(Ok(Bytes::from(line))).await.is_err() {
                return;
            }
        }
        pump(
            ctx,
            sel,
            enc,
            rx,
            &tx,
            &mut last_rv,
            bookmarks.then_some(bookmark_every),
            timeout,
        )
        .await;
    });
    Ok(stream_response(Vec::new(), Some(out_rx)))
}

#[allow(clippy::too_many_arguments)]
async fn pump(
    ctx: Ctx,
    sel: Selectors,
    mut enc: Encoder,
    mut rx: broadcast::Receiver<Arc<Event>>,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
    last_rv: &mut u64,
    bookmark_every: Option<Duration>,
    timeout: Duration,
) {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval(bookmark_every.unwrap_or(Duration::from_secs(3600)));
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            _ = tx.closed() => return,
            _ = ticker.tick(), if bookmark_every.is_some() => {
                if tx.send(Ok(Bytes::from(enc.bookmark(*last_rv, false)))).await.is_err() {
                    return;
                }
            }
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    if ev.rv <= *last_rv {
                        continue;
                    }
                    *last_rv = ev.rv;
                    if !event_in_scope(&ctx, &ev) {
                        continue;
                    }
                    if let Some(kind) = translate(&sel, &ev) {
                        let line = enc.line(kind, &ev.object);
                        if tx.send(Ok(Bytes::from(line))).await.is_err() {
                            return;
                        }
                    }
                }
                // A watcher that falls behind is closed; the client resumes from its last resourceVersion.
                Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

fn stream_response(
    first: Vec<Vec<u8>>,
    rest: Option<mpsc::Receiver<Result<Bytes, std::io::Error>>>,
) -> Response {
    let body = match rest {
        Some(rx) => Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
        None => Body::from(first.concat()),
    };
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    r
}
