//! Three-way field merge (kyaml `merge3`): sources dest (local), original (old
//! upstream), updated (new upstream).
//!
//! * maps merge field by field; fields new in updated are appended (sorted by name);
//! * scalars and atomic lists: upstream wins a change, else local stays;
//! * associative lists (Kubernetes patch merge keys, or `name` when inference is on)
//!   merge element by element.
//!
//! Null handling follows kpt HEAD ("keep-tagged-null"): a side clears a field only
//! when it *newly* became null; the pinned kpt deleted any explicit null, which
//! silently dropped values such as `creationTimestamp: null`.

use crate::yaml::{Mapping, Node, Sequence, Value};

/// How lists are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeOptions {
    /// Key lists whose every element has `name` by that field (used for Kptfiles).
    pub infer_by_name: bool,
    /// Use the built-in Kubernetes patch merge keys (for built-in API groups).
    pub kubernetes_keys: bool,
}

/// Merge three versions of one resource. `None` means "delete".
pub fn merge(
    dest: Option<&Node>,
    original: Option<&Node>,
    updated: Option<&Node>,
    opts: MergeOptions,
) -> Option<Node> {
    let builtin = [dest, original, updated]
        .iter()
        .flatten()
        .next()
        .and_then(|n| n.str_at(&["apiVersion"]))
        .is_some_and(is_builtin_api);
    let opts = MergeOptions {
        kubernetes_keys: opts.kubernetes_keys && builtin,
        ..opts
    };
    let kind = [dest, original, updated]
        .iter()
        .flatten()
        .next()
        .and_then(|n| n.str_at(&["kind"]))
        .unwrap_or("")
        .to_string();
    let mut path = Vec::new();
    merge_node(dest, original, updated, opts, &kind, &mut path, 0)
}

fn is_builtin_api(api: &str) -> bool {
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    group.is_empty()
        || matches!(
            group,
            "apps"
                | "batch"
                | "policy"
                | "autoscaling"
                | "extensions"
                | "networking.k8s.io"
                | "rbac.authorization.k8s.io"
                | "storage.k8s.io"
                | "scheduling.k8s.io"
                | "coordination.k8s.io"
                | "discovery.k8s.io"
                | "admissionregistration.k8s.io"
                | "apiextensions.k8s.io"
                | "certificates.k8s.io"
                | "node.k8s.io"
        )
}

/// The patch merge key of a list at `path` (field names, `[]` for list items).
fn kubernetes_merge_key(kind: &str, path: &[String]) -> Option<&'static str> {
    let last = path.last()?.as_str();
    let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
    match last {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env"
        | "resourceClaims"
        | "readinessGates" => match last {
            "readinessGates" => Some("conditionType"),
            _ => Some("name"),
        },
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "hostAliases" => Some("ip"),
        "ownerReferences" => Some("uid"),
        "conditions" => Some("type"),
        "ports" if parent == Some("[]") => Some("containerPort"),
        "ports" if kind == "Service" && parent == Some("spec") => Some("port"),
        _ => None,
    }
}

fn is_null(n: Option<&Node>) -> bool {
    n.is_some_and(|n| n.is_null())
}

#[allow(clippy::too_many_arguments)]
fn merge_node(
    dest: Option<&Node>,
    original: Option<&Node>,
    updated: Option<&Node>,
    opts: MergeOptions,
    kind: &str,
    path: &mut Vec<String>,
    depth: usize,
) -> Option<Node> {
    if depth > 100 {
        return dest.cloned();
    }
    // newly null on one side clears the field
    if is_null(updated) && original.is_some() && !is_null(original) {
        return None;
    }
    if is_null(dest)
        && original.is_some()
        && !is_null(original)
        && !is_null(updated)
        && updated.is_some_and(|u| !u.same_data(original.unwrap_or(u)))
    {
        // locally cleared, upstream changed it: upstream wins like any scalar conflict
        return updated.cloned();
    }
    if is_null(dest) && original.is_some() && !is_null(original) {
        return None;
    }
    let is_map = |n: Option<&Node>| n.is_some_and(|n| matches!(n.value, Value::Mapping(_)));
    let is_seq = |n: Option<&Node>| n.is_some_and(|n| matches!(n.value, Value::Sequence(_)));
    let all_maps = [dest, original, updated]
        .iter()
        .all(|n| n.is_none() || is_map(*n));
    if all_maps && (is_map(dest) || is_map(updated)) {
        return merge_map(dest, original, updated, opts, kind, path, depth);
    }
    let all_seqs = [dest, original, updated]
        .iter()
        .all(|n| n.is_none() || is_seq(*n));
    if all_seqs && (is_seq(dest) || is_seq(updated)) {
        let key = list_key(dest, original, updated, opts, kind, path);
        if let Some(key) = key {
            return merge_assoc(dest, original, updated, &key, opts, kind, path, depth);
        }
    }
    merge_scalar(dest, original, updated)
}

/// The rule for scalars and atomic values.
fn merge_scalar(
    dest: Option<&Node>,
    original: Option<&Node>,
    updated: Option<&Node>,
) -> Option<Node> {
    match (original, updated) {
        (None, None) => dest.cloned(),
        (Some(_), None) => None,
        (None, Some(u)) => match dest {
            // added on both sides: upstream wins unless equal
            Some(d) if d.same_data(u) => Some(d.clone()),
            _ => Some(u.clone()),
        },
        (Some(o), Some(u)) => {
            if !u.same_data(o) {
                match dest {
                    Some(d) if d.same_data(u) => Some(d.clone()),
                    _ => Some(u.clone()),
                }
            } else {
                dest.cloned()
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn merge_map(
    dest: Option<&Node>,
    original: Option<&Node>,
    updated: Option<&Node>,
    opts: MergeOptions,
    kind: &str,
    path: &mut Vec<String>,
    depth: usize,
) -> Option<Node> {
    if dest.is_none() && updated.is_none() {
        return None;
    }
    // dest's own shape (comments, style, keys) without its values: every value is
    // set or removed by the per-key merge below, so a deep copy would be wasted
    let mut out = match dest.or(updated) {
        Some(n) => shell(n, dest.is_some()),
        None => Node::mapping(),
    };
    let dm = dest.and_then(Node::as_mapping);
    let om = original.and_then(Node::as_mapping);
    let um = updated.and_then(Node::as_mapping);
    let mut keys: Vec<String> = Vec::new();
    for m in [dm, om, um].into_iter().flatten() {
        for k in m.keys() {
            if !keys.iter().any(|x| x == k) {
                keys.push(k.to_string());
            }
        }
    }
    keys.sort();
    let Some(outm) = out.as_mapping_mut() else {
        return Some(out);
    };
    for k in keys {
        let d = dm.and_then(|m| m.get(&k));
        let o = om.and_then(|m| m.get(&k));
        let u = um.and_then(|m| m.get(&k));
        path.push(k.clone());
        let r = merge_node(d, o, u, opts, kind, path, depth + 1);
        path.pop();
        match r {
            Some(v) => {
                if let Some(e) = outm.entry_mut(&k) {
                    // a value taken from updated brings its own comments (kpt)
                    e.value = v;
                } else {
                    let key_node = um
                        .and_then(|m| m.entry(&k))
                        .map(|e| e.key.clone())
                        .unwrap_or_else(|| Node::string(k.clone()));
                    outm.entries.push(crate::yaml::Entry {
                        key: key_node,
                        value: v,
                    });
                }
            }
            None => {
                outm.remove(&k);
            }
        }
    }
    let was_nonempty = dm.is_none_or(|m| !m.entries.is_empty());
    if outm.entries.is_empty() && was_nonempty && depth > 0 {
        return None;
    }
    if outm.entries.is_empty() {
        outm.flow = true;
    }
    Some(out)
}

/// A copy of a collection node without its contents: a mapping keeps its entries'
/// keys (with null values) when `keep_keys`, else has none; a sequence has no items.
fn shell(n: &Node, keep_keys: bool) -> Node {
    let value = match &n.value {
        Value::Mapping(m) => Value::Mapping(Mapping {
            entries: if keep_keys {
                // the merge visits the first entry of each string key; others
                // (non-string or repeated keys) keep their value
                let mut seen = std::collections::HashSet::new();
                m.entries
                    .iter()
                    .map(|e| crate::yaml::Entry {
                        key: e.key.clone(),
                        value: match e.key.as_str() {
                            Some(k) if seen.insert(k) => Node::null(),
                            _ => e.value.clone(),
                        },
                    })
                    .collect()
            } else {
                Vec::new()
            },
            flow: m.flow,
            foot: m.foot.clone(),
        }),
        Value::Sequence(s) => Value::Sequence(Sequence {
            items: Vec::new(),
            flow: s.flow,
            wide: s.wide,
            foot: s.foot.clone(),
        }),
        other => other.clone(),
    };
    Node {
        value,
        comments: n.comments.clone(),
        tag: n.tag.clone(),
        anchor: n.anchor.clone(),
        line: n.line,
    }
}

fn list_key(
    dest: Option<&Node>,
    original: Option<&Node>,
    updated: Option<&Node>,
    opts: MergeOptions,
    kind: &str,
    path: &[String],
) -> Option<String> {
    if opts.kubernetes_keys
        && let Some(k) = kubernetes_merge_key(kind, path)
    {
        return Some(k.to_string());
    }
    if opts.infer_by_name {
        let all_named = [dest, original, updated].iter().flatten().all(|n| {
            n.as_sequence().is_some_and(|s| {
                s.items.iter().all(|i| {
                    i.get("name")
                        .and_then(Node::as_str)
                        .is_some_and(|s| !s.is_empty())
                })
            })
        });
        let any_items = [dest, original, updated]
            .iter()
            .flatten()
            .any(|n| n.as_sequence().is_some_and(|s| !s.items.is_empty()));
        if all_named && any_items {
            return Some("name".to_string());
        }
    }
    None
}

fn find<'a>(s: Option<&'a Sequence>, key: &str, k: &str) -> Option<&'a Node> {
    s.and_then(|s| {
        s.items
            .iter()
            .find(|i| key_of(i, key).as_deref() == Some(k))
    })
}

fn key_of(n: &Node, key: &str) -> Option<String> {
    match &n.value {
        Value::Mapping(_) => n.get(key).map(|v| {
            v.as_str()
                .map_or_else(|| format!("{:?}", crate::yaml::to_json(v)), str::to_string)
        }),
        Value::Scalar(s) => Some(s.value.clone()),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn merge_assoc(
    dest: Option<&Node>,
    original: Option<&Node>,
    updated: Option<&Node>,
    key: &str,
    opts: MergeOptions,
    kind: &str,
    path: &mut Vec<String>,
    depth: usize,
) -> Option<Node> {
    if updated.is_none() && original.is_some() {
        return None;
    }
    let ds = dest.and_then(Node::as_sequence);
    let os = original.and_then(Node::as_sequence);
    let us = updated.and_then(Node::as_sequence);
    let mut keys: Vec<String> = Vec::new();
    for s in [ds, os, us].into_iter().flatten() {
        for i in &s.items {
            if let Some(k) = key_of(i, key)
                && !keys.contains(&k)
            {
                keys.push(k);
            }
        }
    }
    let mut out = match dest.or(updated) {
        Some(n) => shell(n, false),
        None => Node::sequence(),
    };
    let Some(outs) = out.as_sequence_mut() else {
        return Some(out);
    };
    // items without a key in dest are kept as they are
    let mut items: Vec<Node> = ds
        .map(|s| {
            s.items
                .iter()
                .filter(|i| key_of(i, key).is_none())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut merged_keyed: Vec<(String, Node)> = Vec::new();
    path.push("[]".to_string());
    for k in &keys {
        let d = find(ds, key, k);
        let o = find(os, key, k);
        let u = find(us, key, k);
        let r = match (d, o, u) {
            (Some(d), _, _) if !matches!(d.value, Value::Mapping(_)) => merge_scalar(Some(d), o, u),
            (None, _, Some(u)) if !matches!(u.value, Value::Mapping(_)) => {
                merge_scalar(None, o, Some(u))
            }
            _ => {
                if u.is_none() && o.is_some() {
                    // deleted upstream: gone unless changed locally
                    match (d, o) {
                        (Some(d), Some(o)) if !d.same_data(o) => Some(d.clone()),
                        _ => None,
                    }
                } else {
                    merge_node(d, o, u, opts, kind, path, depth + 1)
                }
            }
        };
        if let Some(r) = r
            && !r.as_mapping().is_some_and(|m| m.entries.is_empty())
        {
            merged_keyed.push((k.clone(), r));
        }
    }
    path.pop();
    // order: dest's elements in dest order, then new ones
    let dest_keys: Vec<String> = ds
        .map(|s| s.items.iter().filter_map(|i| key_of(i, key)).collect())
        .unwrap_or_default();
    let mut ordered: Vec<Node> = Vec::new();
    for k in &dest_keys {
        if let Some(pos) = merged_keyed.iter().position(|(mk, _)| mk == k) {
            ordered.push(merged_keyed.remove(pos).1);
        }
    }
    ordered.extend(merged_keyed.into_iter().map(|(_, n)| n));
    items.splice(0..0, ordered);
    outs.items = items;
    if outs.items.is_empty() {
        outs.flow = true;
    }
    Some(out)
}

/// Inject `_kpt-merge_<image-or-exec>` names into unnamed pipeline functions when no
/// function in any of the Kptfiles has a name and the keys are unique per list.
pub fn add_synthetic_names(kptfiles: &mut [&mut Node]) -> bool {
    let lists = ["mutators", "validators"];
    let any_named = kptfiles.iter().any(|k| {
        lists.iter().any(|l| {
            k.get_path(&["pipeline", l])
                .and_then(Node::as_sequence)
                .is_some_and(|s| s.items.iter().any(|f| f.get("name").is_some()))
        })
    });
    if any_named {
        return false;
    }
    let fn_key = |f: &Node| -> Option<String> {
        if let Some(img) = f.get("image").and_then(Node::as_str) {
            let last_slash = img.rfind('/').map_or(0, |i| i + 1);
            let cut = img[last_slash..]
                .find([':', '@'])
                .map_or(img.len(), |i| last_slash + i);
            return Some(img[..cut].to_string());
        }
        f.get("exec").and_then(Node::as_str).map(str::to_string)
    };
    for k in kptfiles.iter() {
        for l in lists {
            if let Some(s) = k.get_path(&["pipeline", l]).and_then(Node::as_sequence) {
                let keys: Vec<Option<String>> = s.items.iter().map(fn_key).collect();
                let mut uniq = keys.clone();
                uniq.sort();
                uniq.dedup();
                if keys.iter().any(Option::is_none) || uniq.len() != keys.len() {
                    return false;
                }
            }
        }
    }
    for k in kptfiles.iter_mut() {
        for l in lists {
            if let Some(s) = k
                .get_mut("pipeline")
                .and_then(|p| p.get_mut(l))
                .and_then(Node::as_sequence_mut)
            {
                for f in &mut s.items {
                    if let Some(key) = fn_key(f) {
                        f.set("name", Node::string(format!("_kpt-merge_{key}")));
                    }
                }
            }
        }
    }
    true
}

/// Remove the synthetic names again.
pub fn remove_synthetic_names(kf: &mut Node) {
    for l in ["mutators", "validators"] {
        if let Some(s) = kf
            .get_mut("pipeline")
            .and_then(|p| p.get_mut(l))
            .and_then(Node::as_sequence_mut)
        {
            for f in &mut s.items {
                if f.get("name")
                    .and_then(Node::as_str)
                    .is_some_and(|n| n.starts_with("_kpt-merge_"))
                {
                    f.remove("name");
                }
            }
        }
    }
}

/// An empty mapping node (used by callers building trees).
pub fn empty_map() -> Node {
    Node::new(Value::Mapping(Mapping::default()))
}
