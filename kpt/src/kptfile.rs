//! The Kptfile (`kpt.dev/v1`, kind `Kptfile`), decoded strictly like kpt:
//! an unknown field is an error that names it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{KptError, Result};
use crate::results::ResultItem;
use crate::yaml::{self, Node};

/// File name of a Kptfile.
pub const KPTFILE: &str = "Kptfile";
/// `kpt.dev/v1`.
pub const API_VERSION: &str = "kpt.dev/v1";
/// Root-Kptfile annotation selecting breadth-first render.
pub const BFS_RENDERING: &str = "kpt.dev/bfs-rendering";
/// Root-Kptfile annotation keeping partial output when render fails.
pub const SAVE_ON_RENDER_FAILURE: &str = "kpt.dev/save-on-render-failure";
/// The condition render sets.
pub const RENDERED: &str = "Rendered";

fn is_empty_str(s: &str) -> bool {
    s.is_empty()
}

/// A Kptfile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kptfile {
    /// `kpt.dev/v1`.
    pub api_version: String,
    /// `Kptfile`.
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Where the package was cloned from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    /// The resolved locator of the last fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_lock: Option<UpstreamLock>,
    /// Package information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<PackageInfo>,
    /// The function pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Pipeline>,
    /// Inventory for `kpt live`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// Conditions and render status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// `metadata` (kyaml `ObjectMeta`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Package name.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub namespace: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `upstream`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Upstream {
    /// `git` or `generic`.
    #[serde(default, rename = "type", skip_serializing_if = "is_empty_str")]
    pub origin_type: String,
    /// Git locator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Git>,
    /// `resource-merge`, `fast-forward`, `force-delete-replace`, `copy-merge`.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub update_strategy: String,
}

/// A git locator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Git {
    /// Repository URL.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub repo: String,
    /// Directory in the repository.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub directory: String,
    /// Branch, tag or commit.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub r#ref: String,
}

/// `upstreamLock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamLock {
    /// `git` or `generic`.
    #[serde(default, rename = "type", skip_serializing_if = "is_empty_str")]
    pub origin_type: String,
    /// Resolved git locator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitLock>,
    /// DB-backed repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic: Option<GenericLock>,
}

/// A resolved git locator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitLock {
    /// Repository URL.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub repo: String,
    /// Directory.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub directory: String,
    /// Resolved ref.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub r#ref: String,
    /// Commit SHA.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub commit: String,
}

/// A lock for a DB-backed repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericLock {
    /// Store id.
    #[serde(default, rename = "storeID", skip_serializing_if = "is_empty_str")]
    pub store_id: String,
    /// Resource id.
    #[serde(default, rename = "resourceID", skip_serializing_if = "is_empty_str")]
    pub resource_id: String,
    /// Resource version.
    #[serde(
        default,
        rename = "resourceVersion",
        skip_serializing_if = "is_empty_str"
    )]
    pub resource_version: String,
}

/// `info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PackageInfo {
    /// Web page.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub site: String,
    /// Author emails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// SPDX license.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub license: String,
    /// License file path.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub license_file: String,
    /// Description.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub description: String,
    /// Keywords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Documentation path.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub man: String,
    /// Readiness gates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readiness_gates: Vec<ReadinessGate>,
}

/// A readiness gate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReadinessGate {
    /// Condition type that must be True.
    #[serde(default)]
    pub condition_type: String,
}

/// `pipeline`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Pipeline {
    /// Run first, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutators: Vec<Function>,
    /// Then these, on copies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validators: Vec<Function>,
}

impl Pipeline {
    /// No function at all.
    pub fn is_empty(&self) -> bool {
        self.mutators.is_empty() && self.validators.is_empty()
    }
}

/// One pipeline step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Function {
    /// Container image.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub image: String,
    /// Executable path.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub exec: String,
    /// Function config file (package-relative).
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub config_path: String,
    /// Inline ConfigMap data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config_map: BTreeMap<String, String>,
    /// Merge key for updates.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    /// Semver constraint for the image tag.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub tag: String,
    /// Run only on these resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<Selector>,
    /// Never run on these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Selector>,
}

impl Function {
    /// The image or exec, for messages.
    pub fn display(&self) -> &str {
        if self.image.is_empty() {
            &self.exec
        } else {
            &self.image
        }
    }
}

/// A resource selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    /// apiVersion.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub api_version: String,
    /// kind.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub kind: String,
    /// name.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    /// namespace.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub namespace: String,
    /// Labels that must all be present.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations that must all be present.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Selector {
    /// No criterion set.
    pub fn is_empty(&self) -> bool {
        self.api_version.is_empty()
            && self.kind.is_empty()
            && self.name.is_empty()
            && self.namespace.is_empty()
            && self.labels.is_empty()
            && self.annotations.is_empty()
    }
}

/// `inventory`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Inventory {
    /// Namespace.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub namespace: String,
    /// Name.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    /// Inventory id.
    #[serde(default, rename = "inventoryID", skip_serializing_if = "is_empty_str")]
    pub inventory_id: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Status {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// What the last render did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_status: Option<RenderStatus>,
}

/// A condition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Condition {
    /// Type, e.g. `Rendered`.
    #[serde(rename = "type", default)]
    pub condition_type: String,
    /// `True`, `False`, `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Reason.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub reason: String,
    /// Message.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub message: String,
}

/// `status.renderStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RenderStatus {
    /// Mutator records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutation_steps: Vec<PipelineStepResult>,
    /// Validator records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_steps: Vec<PipelineStepResult>,
    /// `<step>: <error>` lines.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub error_summary: String,
}

/// One step's record in `renderStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PipelineStepResult {
    /// Step name.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    /// Image.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub image: String,
    /// Exec.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub exec: String,
    /// Why it could not run.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub execution_error: String,
    /// Function stderr.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub stderr: String,
    /// Exit code.
    #[serde(default)]
    pub exit_code: i32,
    /// Results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<ResultItem>,
    /// Results with severity `error`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_results: Vec<ResultItem>,
}

impl Kptfile {
    /// Parse and validate Kptfile text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Kptfile> {
        let doc = yaml::parse_document(text).map_err(|e| KptError::yaml(file, e))?;
        let root = doc.root.unwrap_or_else(Node::null);
        Kptfile::from_node(file, &root)
    }

    /// Decode and validate a Kptfile node.
    pub fn from_node(file: &str, root: &Node) -> Result<Kptfile> {
        let err = |line: usize, message: String| KptError::Kptfile {
            file: file.to_string(),
            line,
            message,
        };
        let api = root.str_at(&["apiVersion"]).unwrap_or("");
        let kind = root.str_at(&["kind"]).unwrap_or("");
        if kind != "Kptfile" {
            return Err(err(
                root.line,
                format!("unknown resource type {api}/{kind}, expected kind Kptfile"),
            ));
        }
        match api {
            API_VERSION => {}
            "kpt.dev/v1alpha1" | "kpt.dev/v1alpha2" => {
                return Err(err(
                    root.line,
                    format!(
                        "old resource version {api:?} found in Kptfile; upgrade the package to kpt.dev/v1"
                    ),
                ));
            }
            _ => {
                return Err(err(
                    root.line,
                    format!("unknown resource type {api}/{kind}"),
                ));
            }
        }
        let mut json = yaml::to_json(root);
        stringify_scalars(&mut json, "");
        let kf: Kptfile = serde_json::from_value(json).map_err(|e| {
            let msg = e.to_string();
            let line = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("unknown field"))
                .and_then(|f| find_key_line(root, f))
                .unwrap_or(root.line);
            err(line, msg)
        })?;
        kf.validate().map_err(|m| err(root.line, m))?;
        Ok(kf)
    }

    /// kpt's semantic checks on the pipeline.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(p) = &self.pipeline {
            for (kind, fns) in [("mutators", &p.mutators), ("validators", &p.validators)] {
                for (i, f) in fns.iter().enumerate() {
                    let at = format!("pipeline.{kind}[{i}]");
                    match (f.image.is_empty(), f.exec.is_empty()) {
                        (true, true) => {
                            return Err(format!(
                                "{at}: must specify exactly one of `image` or `exec`"
                            ));
                        }
                        (false, false) => {
                            return Err(format!("{at}: must not specify both `image` and `exec`"));
                        }
                        _ => {}
                    }
                    if !f.image.is_empty() {
                        validate_image(&f.image).map_err(|m| format!("{at}.image: {m}"))?;
                    }
                    if !f.config_path.is_empty() && !f.config_map.is_empty() {
                        return Err(format!(
                            "{at}: must not specify both `configPath` and `configMap`"
                        ));
                    }
                    if !f.config_path.is_empty() {
                        crate::path::clean(&f.config_path)
                            .map_err(|e| format!("{at}.configPath: {e}"))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The Kptfile as a node tree in kyaml's style.
    pub fn to_node(&self) -> Node {
        let json = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        yaml::from_json(&json)
    }

    /// The Kptfile as YAML text.
    pub fn to_yaml(&self) -> String {
        yaml::emit_node(&self.to_node())
    }

    /// The root-Kptfile annotation `key` is `"true"` (case-insensitive).
    pub fn annotation_true(&self, key: &str) -> bool {
        self.metadata
            .annotations
            .get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// A minimal docker reference check: lower-case path components, a host, a tag or digest.
pub fn validate_image(image: &str) -> std::result::Result<(), String> {
    let (name, _) = match image.split_once('@') {
        Some((n, d)) => {
            if !d.contains(':') {
                return Err(format!("invalid digest in image {image:?}"));
            }
            (n, Some(d))
        }
        None => (image, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, _tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if path.is_empty() {
        return Err(format!("image {image:?} has no name"));
    }
    for (i, comp) in path.split('/').enumerate() {
        if comp.is_empty() {
            return Err(format!("image {image:?} has an empty path component"));
        }
        let host = i == 0
            && path.contains('/')
            && (comp.contains('.') || comp.contains(':') || comp == "localhost");
        if !host
            && comp.chars().any(|c| {
                c.is_ascii_uppercase() || !(c.is_ascii_alphanumeric() || "._-".contains(c))
            })
        {
            return Err(format!(
                "image {image:?}: repository name must be lowercase alphanumerics separated by '.', '_' or '-'"
            ));
        }
    }
    Ok(())
}

/// go-yaml decodes any scalar into a string field: `replicas: 5` in a `configMap`
/// is the string "5". Every scalar becomes a string except the integer fields.
fn stringify_scalars(v: &mut serde_json::Value, key: &str) {
    match v {
        serde_json::Value::Object(o) => o.iter_mut().for_each(|(k, v)| stringify_scalars(v, k)),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|v| stringify_scalars(v, key)),
        serde_json::Value::Number(n) if !matches!(key, "exitCode" | "index") => {
            *v = serde_json::Value::String(n.to_string())
        }
        serde_json::Value::Bool(b) => *v = serde_json::Value::String(b.to_string()),
        _ => {}
    }
}

fn find_key_line(n: &Node, key: &str) -> Option<usize> {
    match &n.value {
        yaml::Value::Mapping(m) => {
            for e in &m.entries {
                if e.key.as_str() == Some(key) {
                    return Some(e.key.line);
                }
            }
            m.entries.iter().find_map(|e| find_key_line(&e.value, key))
        }
        yaml::Value::Sequence(s) => s.items.iter().find_map(|i| find_key_line(i, key)),
        _ => None,
    }
}

/// Replace (or add) the `Rendered` condition and the render status in a Kptfile
/// node, keeping everything else (including comments) as written.
pub fn set_render_status(
    kptfile: &mut Node,
    condition: &Condition,
    render_status: Option<&RenderStatus>,
) {
    let Some(status) = kptfile.ensure_mapping(&["status"]) else {
        return;
    };
    let cond_node = yaml::from_json(&serde_json::to_value(condition).unwrap_or_default());
    let has_conditions = status
        .get("conditions")
        .and_then(Node::as_sequence)
        .is_some();
    if !has_conditions {
        status.set("conditions", Node::sequence());
    }
    if let Some(seq) = status.get_mut("conditions").and_then(Node::as_sequence_mut) {
        seq.flow = false;
        let mut replaced = false;
        for item in &mut seq.items {
            if item.str_at(&["type"]) == Some(condition.condition_type.as_str()) && !replaced {
                *item = cond_node.clone();
                replaced = true;
            }
        }
        if replaced {
            let mut seen = false;
            seq.items.retain(|i| {
                if i.str_at(&["type"]) == Some(condition.condition_type.as_str()) {
                    let keep = !seen;
                    seen = true;
                    keep
                } else {
                    true
                }
            });
        } else {
            seq.items.push(cond_node);
        }
    }
    match render_status {
        Some(rs) => status.set(
            "renderStatus",
            yaml::from_json(&serde_json::to_value(rs).unwrap_or_default()),
        ),
        None => {
            status.remove("renderStatus");
        }
    }
}
