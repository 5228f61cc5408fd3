//! A package as PackageRevisionResources carries it (relative path → text), and its
//! conversion to and from annotated resources.

use std::collections::{BTreeMap, HashMap};

use crate::error::{KptError, Result};
use crate::kptfile::KPTFILE;
use crate::path;
use crate::resource::{self, LEGACY_INDEX, LEGACY_PATH, ResourceId};
use crate::yaml::{self, Document, Node, Stream};

/// A package: file path (slash-separated, relative) → content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    /// The files.
    pub files: BTreeMap<String, String>,
}

/// What [`Package::read`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageResources {
    /// KRM resources in walk order, annotated with path (relative to the package
    /// read) and index, legacy keys included.
    pub items: Vec<Node>,
    /// Files that are not read as KRM (README.md, scripts, ignored files).
    pub other_files: BTreeMap<String, String>,
}

/// Whether a file name is read as KRM (`Kptfile`, `*.yaml`, `*.yml`, `*.json`).
pub fn is_krm_file(p: &str) -> bool {
    let b = path::base(p);
    b == KPTFILE || b.ends_with(".yaml") || b.ends_with(".yml") || b.ends_with(".json")
}

impl Package {
    /// A package from files; every path must stay inside the package.
    pub fn new(files: BTreeMap<String, String>) -> Result<Package> {
        for p in files.keys() {
            path::validate(p)?;
        }
        Ok(Package { files })
    }

    /// Directories (relative, "" = top) that contain a Kptfile, in walk order.
    pub fn package_dirs(&self) -> Vec<String> {
        let mut dirs: Vec<String> = self
            .files
            .keys()
            .filter(|p| path::base(p) == KPTFILE)
            .map(|p| path::parent(p).to_string())
            .collect();
        dirs.sort_by(|a, b| path::walk_cmp(a, b));
        dirs
    }

    /// The shallowest directory holding a Kptfile (the package root), if any.
    pub fn root_dir(&self) -> Option<String> {
        self.package_dirs().into_iter().min_by_key(|d| {
            if d.is_empty() {
                0
            } else {
                d.split('/').count()
            }
        })
    }

    /// Paths of the files that belong to the package at `dir` itself (not to a
    /// subpackage below it), in walk order.
    pub fn own_files(&self, dir: &str) -> Vec<&str> {
        let subs: Vec<&str> = self
            .files
            .keys()
            .filter(|p| path::base(p) == KPTFILE)
            .map(|p| path::parent(p))
            .filter(|d| *d != dir && path::strip_dir(d, dir).is_some())
            .collect();
        let mut out: Vec<&str> = self
            .files
            .keys()
            .map(String::as_str)
            .filter(|p| path::strip_dir(p, dir).is_some())
            .filter(|p| !subs.iter().any(|s| path::strip_dir(p, s).is_some()))
            .collect();
        out.sort_by(|a, b| path::walk_cmp(a, b));
        out
    }

    /// Direct subpackages of the package at `dir`, sorted.
    pub fn direct_subpackages(&self, dir: &str) -> Vec<String> {
        let all = self.package_dirs();
        let below: Vec<&String> = all
            .iter()
            .filter(|d| *d != dir && path::strip_dir(d, dir).is_some())
            .collect();
        below
            .iter()
            .filter(|d| {
                !below
                    .iter()
                    .any(|o| o != *d && path::strip_dir(d, o).is_some())
            })
            .map(|d| (*d).clone())
            .collect()
    }

    /// Read every KRM resource of the whole tree (subpackages included), paths
    /// relative to the top of the file map.
    pub fn read(&self) -> Result<PackageResources> {
        let mut items = Vec::new();
        let mut other_files = BTreeMap::new();
        let mut paths: Vec<&String> = self.files.keys().collect();
        paths.sort_by(|a, b| path::walk_cmp(a, b));
        let ignored = self.ignored_files();
        for p in paths {
            path::validate(p)?;
            if is_krm_file(p) && !ignored.contains(p.as_str()) {
                items.extend(read_file(p, &self.files[p], p)?);
            } else {
                other_files.insert(p.clone(), self.files[p].clone());
            }
        }
        Ok(PackageResources { items, other_files })
    }

    /// Read the resources that belong to the package at `dir` only (no subpackage),
    /// paths relative to `dir`.
    pub fn read_local(&self, dir: &str) -> Result<Vec<Node>> {
        let ignored = self.ignored_files();
        let mut items = Vec::new();
        for p in self.own_files(dir) {
            if is_krm_file(p) && !ignored.contains(p) {
                let rel = path::strip_dir(p, dir).unwrap_or(p);
                items.extend(read_file(p, &self.files[p], rel)?);
            }
        }
        Ok(items)
    }

    /// Files matched by a `.krmignore` of their package.
    fn ignored_files(&self) -> std::collections::HashSet<&str> {
        let mut out = std::collections::HashSet::new();
        for (p, text) in &self.files {
            if path::base(p) != ".krmignore" {
                continue;
            }
            let dir = path::parent(p);
            let patterns: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect();
            for f in self.own_files(dir) {
                let rel = path::strip_dir(f, dir).unwrap_or(f);
                if patterns.iter().any(|pat| ignore_match(pat, rel)) {
                    out.insert(f);
                }
            }
        }
        out
    }

    /// Write resources back: KRM files are rebuilt from `items` (paths relative to the
    /// top of the file map), KRM files that had resources and have none left are
    /// removed, every other file is kept. A file whose resources did not change keeps
    /// its exact original text.
    pub fn write(&self, items: &[Node]) -> Result<Package> {
        self.write_owned(items.to_vec())
    }

    /// [`Package::write`] taking the resources by value (no copy).
    pub fn write_owned(&self, items: Vec<Node>) -> Result<Package> {
        let mut files = self.files.clone();
        let ignored: std::collections::HashSet<String> = self
            .ignored_files()
            .into_iter()
            .map(str::to_string)
            .collect();
        let grouped = group_by_file_owned(items, "")?;
        // files that held resources before
        for (p, text) in &self.files {
            if is_krm_file(p) && !ignored.contains(p) && !grouped.contains_key(p) {
                let had = yaml::parse_stream(text)
                    .map(|s| s.docs.iter().any(|d| !d.is_null()))
                    .unwrap_or(true);
                if had {
                    files.remove(p);
                }
            }
        }
        for (p, docs) in grouped {
            let text = emit_file(&p, docs)?;
            let keep_original = self.files.get(&p).is_some_and(|orig| {
                *orig == text || canonical(&p, orig).as_deref() == Some(text.as_str())
            });
            if !keep_original {
                files.insert(p, text);
            }
        }
        Ok(Package { files })
    }
}

/// The text a file would have after read + write without changes.
fn canonical(p: &str, text: &str) -> Option<String> {
    let items = read_file(p, text, p).ok()?;
    let mut grouped = group_by_file_owned(items, "").ok()?;
    let docs = grouped.remove(p)?;
    emit_file(p, docs).ok()
}

/// Parse one file into annotated resources (`rel` is the path recorded).
pub fn read_file(file: &str, text: &str, rel: &str) -> Result<Vec<Node>> {
    let stream = yaml::parse_stream(text).map_err(|e| KptError::yaml(file, e))?;
    let mut out = Vec::new();
    let mut seen: HashMap<ResourceId, usize> = HashMap::new();
    let mut index = 0usize;
    for doc in stream.docs {
        let Document {
            root,
            foot,
            start_comment,
            ..
        } = doc;
        let Some(mut root) = root else { continue };
        if root.is_null() {
            continue;
        }
        let line = first_line(&root);
        if let Some(reason) = resource::not_krm_reason(&root) {
            return Err(KptError::NotKrm {
                file: file.to_string(),
                line,
                index,
                reason,
            });
        }
        let id = ResourceId::of(&root);
        if let Some(first) = seen.insert(id.clone(), line) {
            return Err(KptError::Duplicate {
                file: file.to_string(),
                line,
                first_line: first,
                id: id.to_string(),
            });
        }
        if let Some(c) = start_comment {
            root.comments.head.insert(0, c);
        }
        if !foot.is_empty()
            && let Some(m) = root.as_mapping_mut()
        {
            m.foot.extend(foot);
        }
        let idx = index.to_string();
        resource::set_annotation(&mut root, resource::PATH, rel);
        resource::set_annotation(&mut root, resource::INDEX, &idx);
        resource::set_annotation(&mut root, LEGACY_PATH, rel);
        resource::set_annotation(&mut root, LEGACY_INDEX, &idx);
        out.push(root);
        index += 1;
    }
    Ok(out)
}

fn first_line(n: &Node) -> usize {
    n.as_mapping()
        .and_then(|m| m.entries.first())
        .map_or(n.line, |e| e.key.line)
        .max(1)
}

/// Group resources by their path annotation (prefixed with `dir`), each file's
/// resources sorted by index; resources without an index go last.
pub fn group_by_file(items: &[Node], dir: &str) -> Result<BTreeMap<String, Vec<Node>>> {
    group_by_file_owned(items.to_vec(), dir)
}

/// [`group_by_file`] taking the resources by value.
pub fn group_by_file_owned(items: Vec<Node>, dir: &str) -> Result<BTreeMap<String, Vec<Node>>> {
    let mut grouped: BTreeMap<String, Vec<(usize, usize, Node)>> = BTreeMap::new();
    for (order, item) in items.into_iter().enumerate() {
        let full = file_of(&item, dir)?;
        let idx = resource::path_index(&item).1;
        grouped
            .entry(full)
            .or_default()
            .push((idx.unwrap_or(usize::MAX), order, item));
    }
    Ok(grouped
        .into_iter()
        .map(|(p, mut v)| {
            v.sort_by_key(|(i, o, _)| (*i, *o));
            (p, v.into_iter().map(|(_, _, n)| n).collect())
        })
        .collect())
}

/// The file (prefixed with `dir`) a resource is written to: its path annotation,
/// else the default path.
pub fn file_of(item: &Node, dir: &str) -> Result<String> {
    let p = match resource::path_index(item).0 {
        Some(p) => path::clean(&p)?,
        None => default_path(item),
    };
    let full = path::join(dir, &p);
    path::validate(&full)?;
    Ok(full)
}

/// kyaml's default path for a resource without one: `<namespace>/<kind>_<name>.yaml`.
pub fn default_path(n: &Node) -> String {
    let kind = n.str_at(&["kind"]).unwrap_or("").to_lowercase();
    let name = n.str_at(&["metadata", "name"]).unwrap_or("");
    let file = format!("{kind}_{name}.yaml");
    match n.str_at(&["metadata", "namespace"]) {
        Some(ns) if !ns.is_empty() => format!("{ns}/{file}"),
        _ => file,
    }
}

/// Emit the resources of one file (internal annotations stripped).
pub fn emit_file(p: &str, docs: Vec<Node>) -> Result<String> {
    let mut clean = docs;
    for d in &mut clean {
        resource::strip_internal(d);
    }
    if p.ends_with(".json") && clean.len() == 1 {
        let j = yaml::to_json(&clean[0]);
        let mut s =
            serde_json::to_string_pretty(&j).map_err(|e| KptError::Operation(e.to_string()))?;
        s.push('\n');
        return Ok(s);
    }
    let stream = Stream {
        docs: clean.into_iter().map(Document::new).collect(),
    };
    Ok(stream.emit())
}

/// A small gitignore-style matcher: `*`, `?`, `**`, trailing `/` for directories,
/// patterns without `/` match any path segment.
fn ignore_match(pat: &str, rel: &str) -> bool {
    let pat = pat.trim_start_matches('/');
    if let Some(dirpat) = pat.strip_suffix('/') {
        let segs: Vec<&str> = rel.split('/').collect();
        return segs[..segs.len().saturating_sub(1)]
            .iter()
            .any(|s| glob(dirpat, s));
    }
    if pat.contains('/') {
        return glob(pat, rel) || rel.starts_with(&format!("{pat}/"));
    }
    rel.split('/').any(|s| glob(pat, s))
}

fn glob(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    fn rec(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => {
                let double = p.get(1) == Some(&'*');
                let rest = if double { &p[2..] } else { &p[1..] };
                (0..=t.len()).any(|i| (double || !t[..i].contains(&'/')) && rec(rest, &t[i..]))
            }
            Some('?') => !t.is_empty() && t[0] != '/' && rec(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && rec(&p[1..], &t[1..]),
        }
    }
    rec(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krmignore_patterns() {
        assert!(ignore_match("*.yaml", "a/b.yaml"));
        assert!(ignore_match("tmp/", "tmp/x.yaml"));
        assert!(!ignore_match("tmp/", "tmp.yaml"));
        assert!(ignore_match("a/b.yaml", "a/b.yaml"));
        assert!(!ignore_match("c.yaml", "a/b.yaml"));
    }
}
