//! Typed view: node tree ⇄ `serde_json::Value`.

use std::collections::HashMap;

use serde_json::{Map, Number, Value as Json};

use super::node::{Entry, Mapping, Node, Sequence, Value};
use super::resolve::{Resolved, resolve_node};

/// Convert a node tree to JSON (aliases resolved against anchors in the tree).
pub fn to_json(n: &Node) -> Json {
    let mut anchors = HashMap::new();
    collect_anchors(n, &mut anchors);
    convert(n, &anchors, 0)
}

fn collect_anchors<'a>(n: &'a Node, out: &mut HashMap<&'a str, &'a Node>) {
    if let Some(a) = &n.anchor {
        out.insert(a.as_str(), n);
    }
    match &n.value {
        Value::Mapping(m) => {
            for e in &m.entries {
                collect_anchors(&e.value, out);
            }
        }
        Value::Sequence(s) => {
            for i in &s.items {
                collect_anchors(i, out);
            }
        }
        _ => {}
    }
}

fn convert(n: &Node, anchors: &HashMap<&str, &Node>, depth: usize) -> Json {
    if depth > 64 {
        return Json::Null;
    }
    match &n.value {
        Value::Scalar(s) => match resolve_node(n) {
            Resolved::Null => Json::Null,
            Resolved::Bool(b) => Json::Bool(b),
            Resolved::Int(i) => Json::Number(i.into()),
            Resolved::Float(f) => {
                Number::from_f64(f).map_or_else(|| Json::String(s.value.clone()), Json::Number)
            }
            Resolved::Str => Json::String(s.value.clone()),
        },
        Value::Mapping(m) => {
            let mut out = Map::new();
            for e in &m.entries {
                if e.key.as_str() == Some("<<") {
                    // merge key: bring in the aliased mapping's fields
                    if let Json::Object(o) = convert(&e.value, anchors, depth + 1) {
                        for (k, v) in o {
                            out.entry(k).or_insert(v);
                        }
                    }
                    continue;
                }
                let k = match convert(&e.key, anchors, depth + 1) {
                    Json::String(s) => s,
                    Json::Null => "null".to_string(),
                    other => other.to_string(),
                };
                out.insert(k, convert(&e.value, anchors, depth + 1));
            }
            Json::Object(out)
        }
        Value::Sequence(s) => Json::Array(
            s.items
                .iter()
                .map(|i| convert(i, anchors, depth + 1))
                .collect(),
        ),
        Value::Alias(a) => anchors
            .get(a.as_str())
            .map_or(Json::Null, |t| convert(t, anchors, depth + 1)),
    }
}

/// Convert JSON to a node tree in kyaml's style (block collections, strings quoted
/// only where needed, empty collections as `{}` / `[]`).
pub fn from_json(v: &Json) -> Node {
    match v {
        Json::Null => Node::plain("null"),
        Json::Bool(b) => Node::plain(if *b { "true" } else { "false" }),
        Json::Number(n) => Node::plain(n.to_string()),
        Json::String(s) => Node::string(s.clone()),
        Json::Array(a) => {
            let items = a.iter().map(from_json).collect::<Vec<_>>();
            Node::new(Value::Sequence(Sequence {
                flow: items.is_empty(),
                items,
                ..Sequence::default()
            }))
        }
        Json::Object(o) => {
            let entries = o
                .iter()
                .map(|(k, v)| Entry {
                    key: Node::string(k.clone()),
                    value: from_json(v),
                })
                .collect::<Vec<_>>();
            Node::new(Value::Mapping(Mapping {
                flow: entries.is_empty(),
                entries,
                foot: Vec::new(),
            }))
        }
    }
}
