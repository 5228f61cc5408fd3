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
    if dst.comments.head.is_empty() {
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
            for e in &mut b.entries {
                let Some(k) = e.key.as_str() else { continue };
                if let Some(se) = a.entry(k) {
                    heal_key(&se.key, &mut e.key);
                    heal_node(&se.value, &mut e.value, depth + 1);
                }
            }
            // field order: input order first, new fields keep their relative order after
            let pos = |k: Option<&str>| {
                k.and_then(|k| a.entries.iter().position(|e| e.key.as_str() == Some(k)))
            };
            let mut keyed: Vec<(usize, usize)> = b
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (pos(e.key.as_str()).unwrap_or(usize::MAX), i))
                .collect();
            if keyed.windows(2).any(|w| w[0].0 > w[1].0) {
                keyed.sort();
                let mut old: Vec<Option<_>> = std::mem::take(&mut b.entries)
                    .into_iter()
                    .map(Some)
                    .collect();
                b.entries = keyed.iter().filter_map(|(_, i)| old[*i].take()).collect();
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

fn heal_key(src: &Node, dst: &mut Node) {
    if dst.comments.head.is_empty() {
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
