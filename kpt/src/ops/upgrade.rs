//! Upgrade a local package from an old upstream (original) to a new one (updated)
//! with one of kpt's four strategies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::{KptError, Result};
use crate::kptfile::{GitLock, KPTFILE};
use crate::merge3::{self, MergeOptions};
use crate::package::{self, Package};
use crate::path;
use crate::resource::{self, BLUEPRINT};
use crate::yaml::{self, Node};

use super::clone::{add_merge_keys, update_upstream};
use super::merge_key::{merge_comment_id, metadata_comment};
use super::{kptfile_node, set_kptfile_field};

/// `upstream.updateStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdateStrategy {
    /// 3-way merge of resources (the default, also for unknown names).
    #[default]
    ResourceMerge,
    /// Fail unless the local package equals the old upstream, then replace.
    FastForward,
    /// Replace the local package with the new upstream.
    ForceDeleteReplace,
    /// Copy upstream files over local ones, keep local-only files.
    CopyMerge,
}

impl UpdateStrategy {
    /// Porch's mapping: unknown or empty → resource-merge.
    pub fn parse(s: &str) -> UpdateStrategy {
        match s {
            "fast-forward" => UpdateStrategy::FastForward,
            "force-delete-replace" => UpdateStrategy::ForceDeleteReplace,
            "copy-merge" => UpdateStrategy::CopyMerge,
            _ => UpdateStrategy::ResourceMerge,
        }
    }

    /// The Kptfile spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStrategy::ResourceMerge => "resource-merge",
            UpdateStrategy::FastForward => "fast-forward",
            UpdateStrategy::ForceDeleteReplace => "force-delete-replace",
            UpdateStrategy::CopyMerge => "copy-merge",
        }
    }
}

/// Upgrade `local` from `original` to `updated`. When `new_lock` is given the root
/// Kptfile's `upstream`/`upstreamLock` are pointed at it and merge keys are added
/// (what Porch's upgrade task does afterwards).
pub fn upgrade(
    local: &Package,
    original: &Package,
    updated: &Package,
    strategy: UpdateStrategy,
    new_lock: Option<&GitLock>,
) -> Result<Package> {
    let merged = match strategy {
        UpdateStrategy::ResourceMerge => resource_merge(local, original, updated)?,
        UpdateStrategy::FastForward => fast_forward(local, original, updated)?,
        UpdateStrategy::ForceDeleteReplace => force_delete_replace(local, original, updated)?,
        UpdateStrategy::CopyMerge => copy_merge(local, original, updated)?,
    };
    let Some(lock) = new_lock else {
        return Ok(merged);
    };
    let mut files = merged.files;
    if let Some(mut kf) = kptfile_node(&files, "")? {
        let name = kf.str_at(&["metadata", "name"]).unwrap_or("").to_string();
        let strategy_name = kf
            .str_at(&["upstream", "updateStrategy"])
            .unwrap_or(strategy.as_str())
            .to_string();
        update_upstream(&mut kf, &name, lock, &strategy_name);
        files.insert(KPTFILE.to_string(), yaml::emit_node(&kf));
    }
    Ok(add_merge_keys(&Package::new(files)?))
}

// ---------------------------------------------------------------------------
// Kptfile merge

/// 3-way merge of the Kptfile at `dir`: pipeline keyed by function name (synthetic
/// names when none has one); annotations, labels, info, pipeline, inventory and
/// status come from the merge, name/namespace/upstream/upstreamLock stay local.
fn merge_kptfile(
    local: Option<Node>,
    original: Option<Node>,
    updated: Option<Node>,
    take_upstream: bool,
) -> Option<Node> {
    let mut l = local?;
    let mut o = original;
    let mut u = updated;
    let synthetic = {
        let mut refs: Vec<&mut Node> = Vec::new();
        refs.push(&mut l);
        if let Some(o) = o.as_mut() {
            refs.push(o);
        }
        if let Some(u) = u.as_mut() {
            refs.push(u);
        }
        merge3::add_synthetic_names(&mut refs)
    };
    let opts = MergeOptions {
        infer_by_name: true,
        kubernetes_keys: false,
    };
    let mut merged =
        merge3::merge(Some(&l), o.as_ref(), u.as_ref(), opts).unwrap_or_else(|| l.clone());
    if synthetic {
        merge3::remove_synthetic_names(&mut merged);
        merge3::remove_synthetic_names(&mut l);
    }
    let mut out = l;
    for key in ["info", "pipeline", "inventory", "status"] {
        match merged.get(key) {
            Some(v) => set_kptfile_field(&mut out, key, v.clone()),
            None => {
                out.remove(key);
            }
        }
    }
    for key in ["annotations", "labels"] {
        let v = merged.get_path(&["metadata", key]).cloned();
        if let Some(meta) = out.ensure_mapping(&["metadata"]) {
            match v {
                Some(v) => meta.set(key, v),
                None => {
                    meta.remove(key);
                }
            }
        }
    }
    if take_upstream && let Some(u) = &u {
        for key in ["upstream", "upstreamLock"] {
            if let Some(v) = u.get(key) {
                set_kptfile_field(&mut out, key, v.clone());
            }
        }
    }
    Some(out)
}

fn merged_kptfile_text(
    local: &Package,
    original: &Package,
    updated: &Package,
    dir: &str,
    take_upstream: bool,
) -> Result<Option<String>> {
    let l = kptfile_node(&local.files, dir)?;
    let o = kptfile_node(&original.files, dir)?;
    let u = kptfile_node(&updated.files, dir)?;
    if l.is_none() {
        return Ok(None);
    }
    let same_as_local = u.is_none() && o.is_none();
    let merged = merge_kptfile(l, o, u, take_upstream);
    if same_as_local {
        return Ok(local.files.get(&path::join(dir, KPTFILE)).cloned());
    }
    Ok(merged.map(|n| yaml::emit_node(&n)))
}

// ---------------------------------------------------------------------------
// resource-merge

fn resource_merge(local: &Package, original: &Package, updated: &Package) -> Result<Package> {
    let mut files = local.files.clone();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for p in [local, original, updated] {
        dirs.extend(p.package_dirs());
    }
    dirs.insert(String::new());
    let mut dirs: Vec<String> = dirs.into_iter().collect();
    dirs.sort_by_key(|d| {
        (
            if d.is_empty() {
                0
            } else {
                d.split('/').count()
            },
            d.clone(),
        )
    });
    for dir in dirs {
        let kf = path::join(&dir, KPTFILE);
        let (o, l, u) = (
            original.files.contains_key(&kf),
            local.files.contains_key(&kf),
            updated.files.contains_key(&kf),
        );
        if !dir.is_empty() {
            match (o, l, u) {
                (false, true, true) => {
                    return Err(KptError::Operation(format!(
                        "subpackage {dir:?} added in both upstream and local"
                    )));
                }
                (false, false, true) => {
                    for f in updated.own_files(&dir) {
                        files.insert(f.to_string(), updated.files[f].clone());
                    }
                    continue;
                }
                (false, true, false) | (true, false, _) => continue,
                (true, true, false) => {
                    if own_equal(local, original, &dir) {
                        for f in local.own_files(&dir) {
                            files.remove(f);
                        }
                    }
                    continue;
                }
                _ => {}
            }
        }
        merge_package_dir(local, original, updated, &dir, &mut files)?;
    }
    Package::new(files)
}

fn own_equal(a: &Package, b: &Package, dir: &str) -> bool {
    let fa: BTreeMap<&str, &String> = a
        .own_files(dir)
        .into_iter()
        .map(|f| (f, &a.files[f]))
        .collect();
    let fb: BTreeMap<&str, &String> = b
        .own_files(dir)
        .into_iter()
        .map(|f| (f, &b.files[f]))
        .collect();
    fa == fb
}

/// Merge one package directory (its own files) into `files`.
fn merge_package_dir(
    local: &Package,
    original: &Package,
    updated: &Package,
    dir: &str,
    files: &mut BTreeMap<String, String>,
) -> Result<()> {
    // Kptfile
    if let Some(text) = merged_kptfile_text(local, original, updated, dir, !dir.is_empty())? {
        files.insert(path::join(dir, KPTFILE), text);
    }
    // resources (*.yaml / *.yml, not Kptfile, not JSON)
    let is_merge_file = |p: &str| p.ends_with(".yaml") || p.ends_with(".yml");
    let read = |pkg: &Package| -> Result<Vec<Node>> {
        let mut out = Vec::new();
        for f in pkg.own_files(dir) {
            if is_merge_file(f) {
                let rel = path::strip_dir(f, dir).unwrap_or(f);
                out.extend(package::read_file(f, &pkg.files[f], rel)?);
            }
        }
        Ok(out)
    };
    let dest = read(local)?;
    let orig = read(original)?;
    let upd = read(updated)?;
    // a local file whose resources all come out of the merge unchanged keeps its text
    let mut local_counts: HashMap<String, usize> = HashMap::new();
    for n in &dest {
        *local_counts.entry(package::file_of(n, dir)?).or_default() += 1;
    }
    let merged = merge_resources_marked(dest, orig, upd)?;
    let mut changed: BTreeSet<String> = BTreeSet::new();
    let mut merged_counts: HashMap<String, usize> = HashMap::new();
    for (n, unchanged) in &merged {
        let f = package::file_of(n, dir)?;
        if !unchanged {
            changed.insert(f.clone());
        }
        *merged_counts.entry(f).or_default() += 1;
    }
    let merged: Vec<Node> = merged.into_iter().map(|(n, _)| n).collect();
    // rewrite the local yaml files of this dir
    let old_local: Vec<String> = local
        .own_files(dir)
        .into_iter()
        .filter(|f| is_merge_file(f))
        .map(str::to_string)
        .collect();
    let grouped = package::group_by_file_owned(merged, dir)?;
    for f in &old_local {
        if !grouped.contains_key(f) {
            files.remove(f);
        }
    }
    for (p, docs) in grouped {
        let untouched = !changed.contains(&p)
            && local.files.contains_key(&p)
            && local_counts.get(&p) == merged_counts.get(&p);
        if untouched {
            continue;
        }
        let text = package::emit_file(&p, docs)?;
        if local.files.get(&p) != Some(&text) {
            files.insert(p, text);
        }
    }
    // non-KRM files
    let non_krm = |pkg: &Package| -> BTreeMap<String, String> {
        pkg.own_files(dir)
            .into_iter()
            .filter(|f| path::base(f) != KPTFILE && !is_merge_file(f))
            .map(|f| (f.to_string(), pkg.files[f].clone()))
            .collect()
    };
    let (l, o, u) = (non_krm(local), non_krm(original), non_krm(updated));
    for (p, text) in &l {
        let modified = o.get(p) != Some(text);
        if !modified && !u.contains_key(p) {
            files.remove(p);
        }
    }
    for (p, text) in &u {
        let locally_modified = l.get(p).is_some_and(|lt| o.get(p) != Some(lt));
        if !locally_modified {
            files.insert(p.clone(), text.clone());
        }
    }
    Ok(())
}

/// Identity used by resource-merge: group, kind, namespace/name (from the
/// `kpt-merge` comment when present) and file path.
fn merge_identity(n: &Node) -> (String, String, String, String, String) {
    let id = resource::ResourceId::of(n);
    let (ns, name) = metadata_comment(n)
        .and_then(merge_comment_id)
        .unwrap_or((id.namespace, id.name));
    let p = resource::path_index(n).0.unwrap_or_default();
    (id.group, id.kind, ns, name, p)
}

type Identity = (String, String, String, String, String);

fn index_by_identity(
    items: Vec<Node>,
    source: &str,
) -> Result<(Vec<Identity>, HashMap<Identity, Node>)> {
    let mut order = Vec::new();
    let mut map = HashMap::new();
    for n in items {
        let id = merge_identity(&n);
        if map.contains_key(&id) {
            return Err(KptError::Operation(format!(
                "found duplicate {source} resources in file {:?}: {}/{} {}/{}",
                id.4, id.0, id.1, id.2, id.3
            )));
        }
        order.push(id.clone());
        map.insert(id, n);
    }
    Ok((order, map))
}

/// The per-tuple decisions and field merges of resource-merge.
pub fn merge_resources(
    dest: Vec<Node>,
    original: Vec<Node>,
    updated: Vec<Node>,
) -> Result<Vec<Node>> {
    Ok(merge_resources_marked(dest, original, updated)?
        .into_iter()
        .map(|(n, _)| n)
        .collect())
}

/// [`merge_resources`], each result marked `true` when it is the local resource
/// unchanged.
fn merge_resources_marked(
    dest: Vec<Node>,
    original: Vec<Node>,
    updated: Vec<Node>,
) -> Result<Vec<(Node, bool)>> {
    let (dorder, dmap) = index_by_identity(dest, "local")?;
    let (_, omap) = index_by_identity(original, "original")?;
    let (uorder, umap) = index_by_identity(updated, "updated")?;
    let mut out = Vec::new();
    let opts = MergeOptions {
        infer_by_name: false,
        kubernetes_keys: true,
    };
    let mut ids: Vec<Identity> = dorder.clone();
    for id in uorder {
        if !dmap.contains_key(&id) {
            ids.push(id);
        }
    }
    for id in ids {
        let (o, u, d) = (omap.get(&id), umap.get(&id), dmap.get(&id));
        let result = match (o, u, d) {
            (None, None, Some(d)) => Some((d.clone(), true)),
            (None, Some(u), None) => Some((u.clone(), false)),
            (_, None, None) => None,
            (Some(o), None, Some(d)) => {
                if comparable_text(d) == comparable_text(o) {
                    None
                } else {
                    Some((d.clone(), true))
                }
            }
            (Some(_), Some(_), None) => None,
            (o, Some(u), Some(d)) => {
                let mut m = merge3::merge(Some(d), o, Some(u), opts).unwrap_or_else(|| d.clone());
                // keep the local file position
                for k in [
                    resource::PATH,
                    resource::INDEX,
                    resource::LEGACY_PATH,
                    resource::LEGACY_INDEX,
                ] {
                    if let Some(v) = resource::annotation(d, k) {
                        resource::set_annotation(&mut m, k, v);
                    }
                }
                let unchanged = m == *d;
                Some((m, unchanged))
            }
        };
        if let Some(r) = result {
            out.push(r);
        }
    }
    Ok(out)
}

/// A resource as text without path/index/merge-source/attribution annotations.
fn comparable_text(n: &Node) -> String {
    let mut c = n.clone();
    resource::strip_internal(&mut c);
    resource::remove_annotation(&mut c, resource::MERGE_SOURCE);
    resource::remove_annotation(&mut c, BLUEPRINT);
    yaml::emit_node(&c)
}

// ---------------------------------------------------------------------------
// fast-forward, force-delete-replace, copy-merge

fn fast_forward(local: &Package, original: &Package, updated: &Package) -> Result<Package> {
    if !original.files.is_empty() {
        let modified = modified_files(local, original)?;
        if !modified.is_empty() {
            return Err(KptError::Operation(format!(
                "local package files have been modified: {modified:?}.\n  use a different update --strategy."
            )));
        }
    }
    let mut out = force_delete_replace(local, original, updated)?;
    if let Some(mut kf) = kptfile_node(&out.files, "")? {
        clear_render_status(&mut kf);
        out.files.insert(KPTFILE.to_string(), yaml::emit_node(&kf));
    }
    Ok(out)
}

fn clear_render_status(kf: &mut Node) {
    if let Some(status) = kf.get_mut("status") {
        status.remove("renderStatus");
        if let Some(conds) = status.get_mut("conditions").and_then(Node::as_sequence_mut) {
            conds
                .items
                .retain(|c| c.str_at(&["type"]) != Some(crate::kptfile::RENDERED));
        }
        let empty_conditions = status
            .get("conditions")
            .and_then(Node::as_sequence)
            .is_some_and(|s| s.items.is_empty());
        if empty_conditions {
            status.remove("conditions");
        }
    }
    if kf
        .get("status")
        .and_then(Node::as_mapping)
        .is_some_and(|m| m.entries.is_empty())
    {
        kf.remove("status");
    }
}

/// Files where local differs from original (Kptfiles compared without upstream,
/// lock, name and render status; other files after a parse/emit round trip
/// without the attribution annotation).
fn modified_files(local: &Package, original: &Package) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let all: BTreeSet<&String> = local.files.keys().chain(original.files.keys()).collect();
    for p in all {
        let (l, o) = (local.files.get(p), original.files.get(p));
        let differs = match (l, o) {
            (Some(l), Some(o)) => {
                if path::base(p) == KPTFILE {
                    normalized_kptfile(l) != normalized_kptfile(o)
                } else if package::is_krm_file(p) {
                    normalized_resources(p, l) != normalized_resources(p, o)
                } else {
                    l != o
                }
            }
            (Some(l), None) => !(p == KPTFILE && is_default_kptfile(l)),
            (None, Some(_)) => true,
            (None, None) => false,
        };
        if differs {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn normalized_kptfile(text: &str) -> Option<String> {
    let mut n = yaml::parse_document(text).ok()?.root?;
    n.remove("upstream");
    n.remove("upstreamLock");
    if let Some(m) = n.get_mut("metadata") {
        m.remove("name");
    }
    clear_render_status(&mut n);
    n.clear_comments();
    Some(yaml::emit_node(&n))
}

fn is_default_kptfile(text: &str) -> bool {
    yaml::parse_document(text)
        .ok()
        .and_then(|d| d.root)
        .and_then(|n| {
            let mut n = n;
            n.remove("upstream");
            n.remove("upstreamLock");
            clear_render_status(&mut n);
            n.as_mapping().map(|m| {
                m.keys()
                    .all(|k| matches!(k, "apiVersion" | "kind" | "metadata"))
            })
        })
        .unwrap_or(false)
}

fn normalized_resources(p: &str, text: &str) -> Option<String> {
    let mut items = package::read_file(p, text, p).ok()?;
    for n in &mut items {
        resource::remove_annotation(n, BLUEPRINT);
    }
    package::emit_file(p, items).ok()
}

fn force_delete_replace(local: &Package, original: &Package, updated: &Package) -> Result<Package> {
    let kf = merged_kptfile_text(local, original, updated, "", true)?;
    let mut files: BTreeMap<String, String> = updated
        .files
        .iter()
        .filter(|(p, _)| p.as_str() != KPTFILE)
        .map(|(p, t)| (p.clone(), t.clone()))
        .collect();
    match kf {
        Some(k) => {
            files.insert(KPTFILE.to_string(), k);
        }
        None => {
            if let Some(k) = updated.files.get(KPTFILE) {
                files.insert(KPTFILE.to_string(), k.clone());
            }
        }
    }
    Package::new(files)
}

fn copy_merge(local: &Package, original: &Package, updated: &Package) -> Result<Package> {
    let mut files = local.files.clone();
    if let Some(k) = merged_kptfile_text(local, original, updated, "", false)? {
        files.insert(KPTFILE.to_string(), k);
    }
    for (p, t) in &updated.files {
        if p != KPTFILE {
            files.insert(p.clone(), t.clone());
        }
    }
    for p in original.files.keys() {
        if !updated.files.contains_key(p) && p != KPTFILE {
            files.remove(p);
        }
    }
    Package::new(files)
}
