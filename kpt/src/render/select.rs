//! Selectors, exclusions and the merge-back of a selected subset by
//! `internal.config.k8s.io/kpt-resource-id`.

use crate::kptfile::Selector;
use crate::resource::{self, KPT_RESOURCE_ID};
use crate::yaml::Node;

/// Does `n` match every field set in `s`?
pub fn matches(s: &Selector, n: &Node) -> bool {
    let field = |p: &[&str]| n.str_at(p).unwrap_or("");
    if !s.api_version.is_empty() && field(&["apiVersion"]) != s.api_version {
        return false;
    }
    if !s.kind.is_empty() && field(&["kind"]) != s.kind {
        return false;
    }
    if !s.name.is_empty() && field(&["metadata", "name"]) != s.name {
        return false;
    }
    if !s.namespace.is_empty() && field(&["metadata", "namespace"]) != s.namespace {
        return false;
    }
    let all_in = |want: &std::collections::BTreeMap<String, String>, key: &str| {
        want.iter().all(|(k, v)| {
            n.get_path(&["metadata", key, k]).and_then(Node::as_str) == Some(v.as_str())
        })
    };
    all_in(&s.labels, "labels") && all_in(&s.annotations, "annotations")
}

/// Indices of the inputs a step runs on: all when there are no selectors, else those
/// matching any selector (each once), minus those matching any non-empty exclusion.
pub fn select(items: &[Node], selectors: &[Selector], exclude: &[Selector]) -> Vec<usize> {
    let selectors: Vec<&Selector> = selectors.iter().filter(|s| !s.is_empty()).collect();
    let exclude: Vec<&Selector> = exclude.iter().filter(|s| !s.is_empty()).collect();
    items
        .iter()
        .enumerate()
        .filter(|(_, n)| selectors.is_empty() || selectors.iter().any(|s| matches(s, n)))
        .filter(|(_, n)| !exclude.iter().any(|s| matches(s, n)))
        .map(|(i, _)| i)
        .collect()
}

/// Stamp `kpt-resource-id` "0", "1", … on all inputs.
pub fn stamp_ids(items: &mut [Node]) {
    for (i, n) in items.iter_mut().enumerate() {
        resource::set_annotation(n, KPT_RESOURCE_ID, &i.to_string());
    }
}

/// Merge a step's output back into its full input: unselected items stay as they
/// are; a selected item is replaced by the output item with the same id, or dropped
/// when the output lacks it; output items without an id (generated) are appended.
pub fn merge_back(input: Vec<Node>, selected: &[usize], output: Vec<Node>) -> Vec<Node> {
    let mut by_id: std::collections::HashMap<String, Node> = std::collections::HashMap::new();
    let mut generated = Vec::new();
    for o in output {
        match resource::annotation(&o, KPT_RESOURCE_ID).map(str::to_string) {
            Some(id) if !by_id.contains_key(&id) => {
                by_id.insert(id, o);
            }
            _ => generated.push(o),
        }
    }
    let mut out = Vec::with_capacity(input.len() + generated.len());
    for (i, n) in input.into_iter().enumerate() {
        if !selected.contains(&i) {
            out.push(n);
            continue;
        }
        let id = resource::annotation(&n, KPT_RESOURCE_ID)
            .unwrap_or("")
            .to_string();
        if let Some(o) = by_id.remove(&id) {
            out.push(o);
        }
    }
    out.extend(generated);
    for n in &mut out {
        resource::remove_annotation(n, KPT_RESOURCE_ID);
    }
    out
}
