//! `addmergecomment`: the `# kpt-merge: <ns>/<name>` comment on `metadata:` and the
//! `internal.kpt.dev/upstream-identifier` annotation.

use crate::resource::{self, UPSTREAM_IDENTIFIER, group};
use crate::yaml::{Node, Value};

/// `(namespace, name)` from a `kpt-merge:` comment.
pub fn merge_comment_id(comment: &str) -> Option<(String, String)> {
    let (_, rest) = comment.split_once("kpt-merge:")?;
    let (ns, name) = rest.trim().split_once('/')?;
    Some((ns.trim().to_string(), name.trim().to_string()))
}

/// The `metadata:` key's line comment.
pub fn metadata_comment(n: &Node) -> Option<&str> {
    n.as_mapping()?
        .entry("metadata")?
        .key
        .comments
        .line
        .as_deref()
}

/// Add merge comments and upstream identifiers to every resource that has a name,
/// namespace or labels (best effort; resources without metadata are skipped).
/// Sequences are normalised to compact indentation, as Porch's writer does.
pub fn ensure_merge_key(items: &mut [Node]) {
    for item in items.iter_mut() {
        let name = item.str_at(&["metadata", "name"]).unwrap_or("").to_string();
        let ns = item
            .str_at(&["metadata", "namespace"])
            .unwrap_or("")
            .to_string();
        let has_labels = item.get_path(&["metadata", "labels"]).is_some();
        if name.is_empty() && ns.is_empty() && !has_labels {
            continue;
        }
        let Some(m) = item.as_mapping_mut() else {
            continue;
        };
        let Some(meta) = m.entry_mut("metadata") else {
            continue;
        };
        let has = meta
            .key
            .comments
            .line
            .as_deref()
            .is_some_and(|c| c.contains("kpt-merge:"));
        if !has {
            meta.key.comments.line = Some(format!("# kpt-merge: {ns}/{name}"));
        }
        let (cns, cname) = meta
            .key
            .comments
            .line
            .as_deref()
            .and_then(merge_comment_id)
            .unwrap_or((ns, name));
        let g = group(item.str_at(&["apiVersion"]).unwrap_or("")).to_string();
        let kind = item.str_at(&["kind"]).unwrap_or("").to_string();
        let cns = if cns.is_empty() {
            "default".to_string()
        } else {
            cns
        };
        resource::set_annotation(
            item,
            UPSTREAM_IDENTIFIER,
            &format!("{g}|{kind}|{cns}|{cname}"),
        );
        compact_sequences(item);
    }
}

/// Set every block sequence below `n` to compact indentation.
pub fn compact_sequences(n: &mut Node) {
    match &mut n.value {
        Value::Mapping(m) => m
            .entries
            .iter_mut()
            .for_each(|e| compact_sequences(&mut e.value)),
        Value::Sequence(s) => {
            s.wide = false;
            s.items.iter_mut().for_each(compact_sequences);
        }
        _ => {}
    }
}
