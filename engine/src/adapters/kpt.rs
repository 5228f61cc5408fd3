//! [`KptOps`]: the engine's [`PackageOps`] over the kpt library. Everything but `render` is pure;
//! render runs the Kptfile pipeline through the evaluator the binary passes in.

use std::collections::BTreeMap;
use std::sync::Arc;

use kpt::fn_eval::Evaluator;
use kpt::ops::{CloneOptions, InitOptions, UpdateStrategy};
use kpt::yaml::{self, Node};
use kpt::{Package, RenderOptions};

use crate::content_cache::PackageFiles;
use crate::model::{Condition, GitLock, split_package_name};
use crate::ops::{
    CloneRequest, InitRequest, KptfilePatch, OpsError, PackageOps, PatchMode, RenderOutcome,
    RenderStatus, UpgradeRequest,
};

const KPTFILE: &str = "Kptfile";

/// kpt operations with an evaluator for render.
#[derive(Clone)]
pub struct KptOps {
    evaluator: Arc<dyn Evaluator>,
    render_options: RenderOptions,
}

impl std::fmt::Debug for KptOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KptOps")
            .field("render_options", &self.render_options)
            .finish_non_exhaustive()
    }
}

fn ops_error(e: impl std::fmt::Display) -> OpsError {
    OpsError(e.to_string())
}

fn package(files: PackageFiles) -> Result<Package, OpsError> {
    Package::new(files).map_err(ops_error)
}

fn kpt_lock(lock: &GitLock) -> kpt::kptfile::GitLock {
    kpt::kptfile::GitLock {
        repo: lock.repo.clone(),
        directory: lock.directory.clone(),
        r#ref: lock.git_ref.clone(),
        commit: lock.commit.clone(),
    }
}

impl KptOps {
    pub fn new(evaluator: Arc<dyn Evaluator>) -> Self {
        Self {
            evaluator,
            // Porch never runs `exec:` functions.
            render_options: RenderOptions::default(),
        }
    }

    /// Replaces the render options (image prefix for short function names).
    pub fn with_render_options(mut self, options: RenderOptions) -> Self {
        self.render_options = options;
        self
    }
}

/// A string map as a block mapping (`None` when empty, so the key is removed).
fn string_map(map: &BTreeMap<String, String>) -> Option<Node> {
    if map.is_empty() {
        return None;
    }
    let mut n = Node::mapping();
    for (k, v) in map {
        n.set(k, Node::string(v.clone()));
    }
    Some(n)
}

fn set_or_remove(parent: &mut Node, key: &str, value: Option<Node>) {
    match value {
        Some(v) => parent.set(key, v),
        None => {
            parent.remove(key);
        }
    }
}

/// Upserts `entries` into the mapping at `key` of `parent` (existing entries keep their comments).
fn merge_map(parent: &mut Node, key: &str, entries: &BTreeMap<String, String>) {
    if entries.is_empty() {
        return;
    }
    if parent.get(key).and_then(Node::as_mapping).is_none() {
        parent.set(key, Node::mapping());
    }
    if let Some(m) = parent.get_mut(key) {
        for (k, v) in entries {
            m.set(k, Node::string(v.clone()));
        }
    }
}

fn condition_node(c: &Condition) -> Node {
    let mut n = Node::mapping();
    n.set("type", Node::string(c.condition_type.clone()));
    n.set("status", Node::string(c.status.clone()));
    if !c.reason.is_empty() {
        n.set("reason", Node::string(c.reason.clone()));
    }
    if !c.message.is_empty() {
        n.set("message", Node::string(c.message.clone()));
    }
    n
}

/// Applies `patch` to the Kptfile text, keeping its comments and field order.
pub fn patch_kptfile_text(text: &str, patch: &KptfilePatch) -> Result<String, OpsError> {
    let mut doc = yaml::parse_document(text).map_err(|e| OpsError(format!("Kptfile: {e}")))?;
    let Some(root) = doc.root.as_mut() else {
        return Err(OpsError("Kptfile is empty".to_owned()));
    };
    if let Some(pm) = &patch.package_metadata {
        if root.get("metadata").and_then(Node::as_mapping).is_none() {
            root.set("metadata", Node::mapping());
        }
        if let Some(meta) = root.get_mut("metadata") {
            match patch.mode {
                PatchMode::Merge => {
                    merge_map(meta, "labels", &pm.labels);
                    merge_map(meta, "annotations", &pm.annotations);
                }
                PatchMode::Replace => {
                    set_or_remove(meta, "labels", string_map(&pm.labels));
                    set_or_remove(meta, "annotations", string_map(&pm.annotations));
                }
            }
        }
    }
    if let Some(gates) = patch
        .readiness_gates
        .as_ref()
        .filter(|g| !g.is_empty() || root.get("info").is_some())
    {
        if root.get("info").and_then(Node::as_mapping).is_none() {
            root.set("info", Node::mapping());
        }
        if let Some(info) = root.get_mut("info") {
            let value = (!gates.is_empty()).then(|| {
                let mut seq = Node::sequence();
                if let Some(s) = seq.as_sequence_mut() {
                    for g in gates {
                        let mut item = Node::mapping();
                        item.set("conditionType", Node::string(g.clone()));
                        s.items.push(item);
                    }
                }
                seq
            });
            set_or_remove(info, "readinessGates", value);
        }
    }
    if let Some(conditions) = &patch.conditions {
        if root.get("status").and_then(Node::as_mapping).is_none() {
            root.set("status", Node::mapping());
        }
        if let Some(status) = root.get_mut("status") {
            let value = (!conditions.is_empty()).then(|| {
                let mut seq = Node::sequence();
                if let Some(s) = seq.as_sequence_mut() {
                    s.items.extend(conditions.iter().map(condition_node));
                }
                seq
            });
            set_or_remove(status, "conditions", value);
        }
        if root
            .get("status")
            .and_then(Node::as_mapping)
            .is_some_and(|m| m.entries.is_empty())
        {
            root.remove("status");
        }
    }
    finish(&doc)
}

fn finish(doc: &yaml::Document) -> Result<String, OpsError> {
    let mut out = String::new();
    yaml::emit::emit_document_into(doc, false, &mut out);
    Ok(out)
}

/// The identity a resource is matched by when healing comments.
fn identity(n: &Node) -> (String, String, String, String) {
    let s = |p: &[&str]| n.str_at(p).unwrap_or_default().to_owned();
    (
        s(&["apiVersion"]),
        s(&["kind"]),
        s(&["metadata", "namespace"]),
        s(&["metadata", "name"]),
    )
}

fn is_yaml(path: &str) -> bool {
    path == KPTFILE || path.ends_with(".yaml") || path.ends_with(".yml")
}

/// Heals one file's comments from its previous version; `None` when nothing applies.
fn heal_file(old: &str, new: &str) -> Option<String> {
    // ytt templates carry their logic in comments: never touch them (upstream's rule).
    if old.contains("#@") || new.contains("#@") {
        return None;
    }
    let old_stream = yaml::parse_stream(old).ok()?;
    let mut new_stream = yaml::parse_stream(new).ok()?;
    let mut healed = false;
    for doc in &mut new_stream.docs {
        let Some(dst) = doc.root.as_mut() else {
            continue;
        };
        let id = identity(dst);
        let src = old_stream
            .docs
            .iter()
            .filter_map(|d| d.root.as_ref())
            .find(|s| identity(s) == id);
        if let Some(src) = src {
            yaml::heal(src, dst);
            healed = true;
        }
    }
    healed.then(|| yaml::emit_stream(&new_stream))
}

impl PackageOps for KptOps {
    fn init(&self, req: &InitRequest) -> Result<PackageFiles, OpsError> {
        let (_, leaf) = split_package_name(&req.package_name);
        let opts = InitOptions {
            name: leaf.to_owned(),
            dir: req.task.subpackage.clone(),
            description: req.task.description.clone(),
            keywords: req.task.keywords.clone(),
            site: req.task.site.clone(),
        };
        let empty = package(PackageFiles::new())?;
        kpt::ops::init(&empty, &opts)
            .map(|p| p.files)
            .map_err(ops_error)
    }

    fn clone_package(&self, req: &CloneRequest) -> Result<PackageFiles, OpsError> {
        let (_, leaf) = split_package_name(&req.package_name);
        let opts = CloneOptions {
            name: leaf.to_owned(),
            upstream: kpt_lock(&req.upstream_lock),
            update_strategy: String::new(),
            existing: BTreeMap::new(),
            deployment: req.deployment,
            package_path: Some(req.package_path.clone()).filter(|p| !p.is_empty()),
        };
        let source = package(req.upstream_files.clone())?;
        kpt::ops::clone(&source, &opts)
            .map(|p| p.files)
            .map_err(ops_error)
    }

    fn upgrade(&self, req: &UpgradeRequest) -> Result<PackageFiles, OpsError> {
        let local = package(req.local.clone())?;
        let old = package(req.old_upstream.clone())?;
        let new = package(req.new_upstream.clone())?;
        let lock = kpt_lock(&req.new_upstream_lock);
        kpt::ops::upgrade(
            &local,
            &old,
            &new,
            UpdateStrategy::parse(&req.strategy),
            Some(&lock),
        )
        .map(|p| p.files)
        .map_err(ops_error)
    }

    fn patch_kptfile(
        &self,
        mut files: PackageFiles,
        patch: &KptfilePatch,
    ) -> Result<PackageFiles, OpsError> {
        let Some(text) = files.get(KPTFILE) else {
            return Err(OpsError("package has no Kptfile".to_owned()));
        };
        let patched = patch_kptfile_text(text, patch)?;
        files.insert(KPTFILE.to_owned(), patched);
        Ok(files)
    }

    fn heal_comments(&self, old: &PackageFiles, mut new: PackageFiles) -> PackageFiles {
        for (path, text) in &mut new {
            if !is_yaml(path) {
                continue;
            }
            if let Some(previous) = old.get(path)
                && let Some(healed) = heal_file(previous, text)
            {
                *text = healed;
            }
        }
        new
    }

    async fn render(&self, files: PackageFiles) -> RenderOutcome {
        let pkg = match Package::new(files.clone()) {
            Ok(p) => p,
            Err(e) => {
                let error = e.to_string();
                return RenderOutcome {
                    files,
                    status: RenderStatus {
                        result: serde_json::Value::Null,
                        error: error.clone(),
                    },
                    error: Some(error),
                };
            }
        };
        let out = kpt::render(&pkg, self.evaluator.as_ref(), &self.render_options).await;
        RenderOutcome {
            files: out.package.files,
            status: RenderStatus {
                result: serde_json::to_value(&out.results).unwrap_or_default(),
                error: out.error.clone().unwrap_or_default(),
            },
            error: out.error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PackageMetadata;

    const KF: &str = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p # the name\n  labels:\n    keep: me\n# info below\ninfo:\n  description: d\n";

    #[test]
    fn patch_keeps_comments_and_replaces_labels() {
        let mut pm = PackageMetadata::default();
        pm.labels.insert("a".into(), "b".into());
        let out = patch_kptfile_text(
            KF,
            &KptfilePatch {
                mode: PatchMode::Replace,
                package_metadata: Some(pm.clone()),
                readiness_gates: Some(vec!["Ready".into()]),
                conditions: Some(vec![Condition {
                    condition_type: "Ready".into(),
                    status: "True".into(),
                    ..Condition::default()
                }]),
            },
        )
        .unwrap();
        assert!(out.contains("# the name"), "{out}");
        assert!(out.contains("# info below"), "{out}");
        assert!(!out.contains("keep: me"), "{out}");
        assert!(out.contains("a: b"), "{out}");
        let kf = kpt::Kptfile::parse("Kptfile", &out).unwrap();
        assert_eq!(kf.info.unwrap().readiness_gates[0].condition_type, "Ready");
        assert_eq!(kf.status.unwrap().conditions[0].status, "True");

        let merged = patch_kptfile_text(
            KF,
            &KptfilePatch {
                mode: PatchMode::Merge,
                package_metadata: Some(pm),
                readiness_gates: None,
                conditions: None,
            },
        )
        .unwrap();
        assert!(
            merged.contains("keep: me") && merged.contains("a: b"),
            "{merged}"
        );
    }

    #[test]
    fn heal_restores_comments_by_identity() {
        let old = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c # keep\ndata:\n  a: b\n";
        let new = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: x\n";
        let healed = heal_file(old, new).unwrap();
        assert!(healed.contains("# keep"), "{healed}");
        assert!(healed.contains("a: x"), "{healed}");
        assert!(heal_file("#@ load(\"x\")\na: 1\n", "a: 2\n").is_none());
    }
}
