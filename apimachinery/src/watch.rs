//! Watch stream framing: one JSON object per line.

use serde_json::{Value, json};

/// The `type` of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
            Self::Bookmark => "BOOKMARK",
            Self::Error => "ERROR",
        }
    }

    /// Parse the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ADDED" => Self::Added,
            "MODIFIED" => Self::Modified,
            "DELETED" => Self::Deleted,
            "BOOKMARK" => Self::Bookmark,
            "ERROR" => Self::Error,
            _ => return None,
        })
    }
}

/// One framed event line (with its trailing newline).
pub fn event_line(kind: EventType, object: &Value) -> Vec<u8> {
    let mut out =
        serde_json::to_vec(&json!({"type": kind.as_str(), "object": object})).unwrap_or_default();
    out.push(b'\n');
    out
}

/// One framed event line from an already-serialized object (avoids a re-parse on the hot path).
pub fn event_line_raw(kind: EventType, object_json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(object_json.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object_json.as_bytes());
    out.extend_from_slice(b"}\n");
    out
}

/// The object of a BOOKMARK event.
pub fn bookmark_object(
    api_version: &str,
    kind: &str,
    resource_version: u64,
    initial_events_end: bool,
) -> Value {
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if initial_events_end && let Some(m) = metadata.as_object_mut() {
        m.insert(
            "annotations".into(),
            json!({"k8s.io/initial-events-end": "true"}),
        );
    }
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let l = event_line(EventType::Added, &json!({"a":1}));
        assert_eq!(l, b"{\"type\":\"ADDED\",\"object\":{\"a\":1}}\n");
        assert_eq!(
            event_line_raw(EventType::Deleted, "{}"),
            b"{\"type\":\"DELETED\",\"object\":{}}\n"
        );
        let parsed: Value =
            serde_json::from_slice(&event_line_raw(EventType::Modified, "{\"x\":2}")).unwrap();
        assert_eq!(parsed["object"]["x"], 2);
        let b = bookmark_object("v1", "ConfigMap", 9, true);
        assert_eq!(
            b["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        assert_eq!(EventType::parse("BOOKMARK"), Some(EventType::Bookmark));
    }
}
