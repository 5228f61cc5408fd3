//! Restore what a function dropped: comments (only where the output has none), field
//! order (input order first, new fields after) and scalar/collection styles where the
//! value did not change. Matching is by field path; list items by `name` when every
//! item has one, else by position.

use super::node::{Node, Value};
use super::resolve::is_string_scalar;

/// Heal `dst` (a function's output) from `src` (the same resource before the call).
pub fn heal(src: &Node, dst: &mut Node) {
    heal_node(src, dst, 0);
}

fn heal_node(src: &Node, dst: &mut Node, depth: usize) {
    if depth > 128 {
        return;
    }
    // Above a block mapping the emitter writes the node's head and then its first
    // key's head: the two are one run of lines, healed together below.
    let split_head = is_block_mapping(src) && is_block_mapping(dst);
    if dst.comments.head.is_empty() && !split_head {
        dst.comments.head.clone_from(&src.comments.head);
    }
    if dst.comments.line.is_none() {
        dst.comments.line.clone_from(&src.comments.line);
    }
    let dst_is_str = is_string_scalar(dst);
    let dst_is_null = dst.is_null();
    match (&src.value, &mut dst.value) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            let same_typed = || {
                !is_string_scalar(src)
                    && !dst_is_str
                    && super::json::to_json(src)
                        == super::json::to_json(&Node::new(Value::Scalar(b.clone())))
            };
            if (src.is_null() && dst_is_null) || (a.value != b.value && same_typed()) {
                *b = a.clone();
            } else if a.value == b.value && b.raw.is_none() && is_string_scalar(src) == dst_is_str {
                b.style = a.style;
                b.raw.clone_from(&a.raw);
                if dst.tag.is_none() && src.tag.as_deref() != Some("!!str") {
                    dst.tag.clone_from(&src.tag);
                }
            }
        }
        (Value::Mapping(a), Value::Mapping(b)) => {
            if b.foot.is_empty() {
                b.foot.clone_from(&a.foot);
            }
            if a.flow && !b.entries.is_empty() {
                b.flow = true;
            }
            let src_first = a.entries.first().and_then(|e| e.key.as_str());
            for e in &mut b.entries {
                let Some(k) = e.key.as_str() else { continue };
                if let Some(se) = a.entry(k) {
                    let copy_head = !split_head || Some(k) != src_first;
                    heal_key(&se.key, &mut e.key, copy_head);
                    heal_node(&se.value, &mut e.value, depth + 1);
                }
            }
            // field order: input order first, new fields keep their relative order after
            let pos = |k: Option<&str>| {
                k.and_then(|k| a.entries.iter().position(|e| e.key.as_str() == Some(k)))
            };
            let rank = |e: &super::node::Entry| pos(e.key.as_str()).unwrap_or(usize::MAX);
            let in_order = b
                .entries
                .iter()
                .map(rank)
                .try_fold(0, |prev, r| (r >= prev).then_some(r))
                .is_some();
            if !in_order {
                let mut keyed: Vec<(usize, usize)> = b
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (rank(e), i))
                    .collect();
                keyed.sort();
                let mut old: Vec<Option<_>> = std::mem::take(&mut b.entries)
                    .into_iter()
                    .map(Some)
                    .collect();
                b.entries = keyed.iter().filter_map(|(_, i)| old[*i].take()).collect();
            }
            if split_head {
                heal_split_head(&src.comments.head, a, &mut dst.comments.head, b);
            }
        }
        (Value::Sequence(a), Value::Sequence(b)) => {
            b.wide = a.wide;
            if b.foot.is_empty() {
                b.foot.clone_from(&a.foot);
            }
            if a.flow && !b.items.is_empty() {
                b.flow = true;
            }
            let by_name = |items: &[Node]| {
                items
                    .iter()
                    .all(|i| i.get("name").and_then(Node::as_str).is_some())
            };
            if !a.items.is_empty() && by_name(&a.items) && by_name(&b.items) {
                for item in &mut b.items {
                    let name = item.get("name").and_then(Node::as_str).map(str::to_string);
                    if let Some(si) = a
                        .items
                        .iter()
                        .find(|s| s.get("name").and_then(Node::as_str) == name.as_deref())
                    {
                        heal_node(si, item, depth + 1);
                    }
                }
            } else {
                for (si, item) in a.items.iter().zip(b.items.iter_mut()) {
                    let comparable = match (&si.value, &item.value) {
                        (Value::Scalar(_), Value::Scalar(_)) => si.same_data(item),
                        (Value::Mapping(_), Value::Mapping(_))
                        | (Value::Sequence(_), Value::Sequence(_)) => true,
                        _ => false,
                    };
                    if comparable {
                        heal_node(si, item, depth + 1);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Heal the lines above a block mapping: `src_head`/`dst_head` are the nodes' own
/// heads, the first entries' key heads follow them. When the output has none of these
/// lines, or the same lines split differently (a function moved a document's head
/// comment onto its list item), the input's lines and split come back.
fn heal_split_head(
    src_head: &[String],
    a: &super::node::Mapping,
    dst_head: &mut Vec<String>,
    b: &mut super::node::Mapping,
) {
    let Some(sf) = a.entries.first() else { return };
    let Some(df) = b.entries.first_mut() else {
        return;
    };
    let same_first = sf.key.as_str().is_some() && sf.key.as_str() == df.key.as_str();
    let src_lines = src_head.iter().chain(
        same_first
            .then_some(&sf.key.comments.head)
            .into_iter()
            .flatten(),
    );
    let dst_empty = dst_head.is_empty() && df.key.comments.head.is_empty();
    let same_lines = src_lines.eq(dst_head.iter().chain(&df.key.comments.head));
    if dst_empty || same_lines {
        *dst_head = src_head.to_vec();
        if same_first {
            df.key.comments.head.clone_from(&sf.key.comments.head);
        }
    }
    // the input's first key moved down: it keeps its own lines
    if !same_first
        && let Some(k) = sf.key.as_str()
        && let Some(e) = b.entries.iter_mut().find(|e| e.key.as_str() == Some(k))
        && e.key.comments.head.is_empty()
    {
        e.key.comments.head.clone_from(&sf.key.comments.head);
    }
}

fn is_block_mapping(n: &Node) -> bool {
    matches!(&n.value, Value::Mapping(m) if !m.flow && !m.entries.is_empty())
}

fn heal_key(src: &Node, dst: &mut Node, copy_head: bool) {
    if copy_head && dst.comments.head.is_empty() {
        dst.comments.head.clone_from(&src.comments.head);
    }
    if dst.comments.line.is_none() {
        dst.comments.line.clone_from(&src.comments.line);
    }
    if let (Value::Scalar(a), Value::Scalar(b)) = (&src.value, &mut dst.value)
        && a.value == b.value
        && b.raw.is_none()
    {
        b.style = a.style;
        b.raw.clone_from(&a.raw);
    }
}
