//! KRM resources as nodes: annotations, identity, and the `ResourceList` wire object.

use crate::error::{KptError, Result};
use crate::results::{ResultItem, parse_results};
use crate::yaml::{self, Document, Node, Scalar, ScalarStyle, Stream, Value};

/// `internal.config.kubernetes.io/path`.
pub const PATH: &str = "internal.config.kubernetes.io/path";
/// `internal.config.kubernetes.io/index`.
pub const INDEX: &str = "internal.config.kubernetes.io/index";
/// Legacy `config.kubernetes.io/path`.
pub const LEGACY_PATH: &str = "config.kubernetes.io/path";
/// Legacy `config.kubernetes.io/index`.
pub const LEGACY_INDEX: &str = "config.kubernetes.io/index";
/// `internal.config.kubernetes.io/id`.
pub const ID: &str = "internal.config.kubernetes.io/id";
/// Legacy `config.k8s.io/id`.
pub const LEGACY_ID: &str = "config.k8s.io/id";
/// `internal.config.kubernetes.io/seqindent`.
pub const SEQINDENT: &str = "internal.config.kubernetes.io/seqindent";
/// `internal.config.kubernetes.io/package-path`.
pub const PACKAGE_PATH: &str = "internal.config.kubernetes.io/package-path";
/// `internal.config.k8s.io/kpt-resource-id`.
pub const KPT_RESOURCE_ID: &str = "internal.config.k8s.io/kpt-resource-id";
/// `internal.config.kubernetes.io/annotations-migration-resource-id`.
pub const MIGRATION_ID: &str = "internal.config.kubernetes.io/annotations-migration-resource-id";
/// `config.kubernetes.io/local-config`.
pub const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";
/// `internal.kpt.dev/upstream-identifier`.
pub const UPSTREAM_IDENTIFIER: &str = "internal.kpt.dev/upstream-identifier";
/// `config.kubernetes.io/merge-source`.
pub const MERGE_SOURCE: &str = "config.kubernetes.io/merge-source";
/// `cnrm.cloud.google.com/blueprint`.
pub const BLUEPRINT: &str = "cnrm.cloud.google.com/blueprint";

/// Annotations that only live while resources are in flight; stripped on write.
pub const INTERNAL_ANNOTATIONS: &[&str] = &[
    PATH,
    INDEX,
    LEGACY_PATH,
    LEGACY_INDEX,
    ID,
    LEGACY_ID,
    SEQINDENT,
    PACKAGE_PATH,
    KPT_RESOURCE_ID,
    MIGRATION_ID,
];

/// An annotation value.
pub fn annotation<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
    n.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// Set an annotation, written single-quoted like kyaml's `SetAnnotation`.
pub fn set_annotation(n: &mut Node, key: &str, value: &str) {
    if n.as_mapping().is_none() {
        return;
    }
    if let Some(ann) = n.ensure_mapping(&["metadata", "annotations"]) {
        if ann.as_mapping().is_some_and(|m| m.flow)
            && let Some(m) = ann.as_mapping_mut()
        {
            m.flow = false;
        }
        if ann.get(key).and_then(Node::as_str) == Some(value) {
            return;
        }
        ann.set(
            key,
            Node::new(Value::Scalar(Scalar {
                value: value.to_string(),
                style: ScalarStyle::SingleQuoted,
                raw: None,
            })),
        );
    }
}

/// Remove an annotation, and the `annotations` map if it becomes empty.
pub fn remove_annotation(n: &mut Node, key: &str) {
    let Some(meta) = n.get_mut("metadata") else {
        return;
    };
    let Some(ann) = meta.get_mut("annotations") else {
        return;
    };
    ann.remove(key);
    if ann.as_mapping().is_some_and(|m| m.entries.is_empty()) {
        meta.remove("annotations");
    }
}

/// Remove all in-flight annotations.
pub fn strip_internal(n: &mut Node) {
    for k in INTERNAL_ANNOTATIONS {
        remove_annotation(n, k);
    }
}

/// A resource's `(path, index)`, reconciling legacy keys.
pub fn path_index(n: &Node) -> (Option<String>, Option<usize>) {
    let p = annotation(n, PATH)
        .or_else(|| annotation(n, LEGACY_PATH))
        .map(str::to_string);
    let i = annotation(n, INDEX)
        .or_else(|| annotation(n, LEGACY_INDEX))
        .and_then(|s| s.parse().ok());
    (p, i)
}

/// Why a node is not a KRM object, if it is not.
pub fn not_krm_reason(n: &Node) -> Option<String> {
    if n.as_mapping().is_none() {
        return Some("not a mapping".to_string());
    }
    let api = n.str_at(&["apiVersion"]).unwrap_or("");
    let kind = n.str_at(&["kind"]).unwrap_or("");
    if api.starts_with("kustomize.config.k8s.io") || kind == "Kustomization" {
        return None;
    }
    if api.is_empty() {
        return Some("missing apiVersion".to_string());
    }
    if kind.is_empty() {
        return Some("missing kind".to_string());
    }
    if n.str_at(&["metadata", "name"]).unwrap_or("").is_empty() {
        return Some("missing metadata.name".to_string());
    }
    None
}

/// The API group of an apiVersion (`apps/v1` → `apps`, `v1` → ``).
pub fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Identity of a resource: group, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    /// API group (version ignored).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (as written).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResourceId {
    /// The identity of a node from its fields.
    pub fn of(n: &Node) -> ResourceId {
        ResourceId {
            group: group(n.str_at(&["apiVersion"]).unwrap_or("")).to_string(),
            kind: n.str_at(&["kind"]).unwrap_or("").to_string(),
            namespace: n
                .str_at(&["metadata", "namespace"])
                .unwrap_or("")
                .to_string(),
            name: n.str_at(&["metadata", "name"]).unwrap_or("").to_string(),
        }
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = if self.group.is_empty() {
            String::new()
        } else {
            format!("{}/", self.group)
        };
        if self.namespace.is_empty() {
            write!(f, "{g}{} {}", self.kind, self.name)
        } else {
            write!(f, "{g}{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The KRM function wire object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceList {
    /// Resources.
    pub items: Vec<Node>,
    /// Function configuration.
    pub function_config: Option<Node>,
    /// Structured results (output only).
    pub results: Vec<ResultItem>,
}

impl ResourceList {
    /// Serialize: `apiVersion, kind, items, functionConfig?` (results are never sent).
    pub fn to_yaml(&self) -> String {
        resource_list_yaml(&self.items, self.function_config.as_ref(), &self.results)
    }

    /// Parse a function's output. A single document of kind `ResourceList` or `List`
    /// with `items` or `functionConfig` is unwrapped; a multi-document stream is taken
    /// as plain resources.
    pub fn from_yaml(text: &str) -> Result<ResourceList> {
        let stream =
            yaml::parse_stream(text).map_err(|e| KptError::yaml("<function output>", e))?;
        let mut docs: Vec<Document> = stream.docs.into_iter().filter(|d| !d.is_null()).collect();
        let wrapped = docs.len() == 1
            && docs[0].root.as_ref().is_some_and(|root| {
                let kind = root.str_at(&["kind"]).unwrap_or("");
                (kind == "ResourceList" || kind == "List")
                    && (root.get("items").is_some() || root.get("functionConfig").is_some())
            });
        if wrapped && let Some(mut root) = docs.pop().and_then(|d| d.root) {
            let items = match root.remove("items").map(|n| n.value) {
                Some(Value::Sequence(s)) => s.items,
                Some(Value::Scalar(_)) | None => Vec::new(),
                Some(_) => {
                    return Err(KptError::ResourceList(
                        "ResourceList items must be a list".to_string(),
                    ));
                }
            };
            let results = root
                .get("results")
                .map(|r| parse_results(&yaml::to_json(r)))
                .unwrap_or_default();
            return Ok(ResourceList {
                items: items.into_iter().filter(|i| !i.is_null()).collect(),
                function_config: root.remove("functionConfig").filter(|n| !n.is_null()),
                results,
            });
        }
        Ok(ResourceList {
            items: docs.into_iter().filter_map(|d| d.root).collect(),
            function_config: None,
            results: Vec::new(),
        })
    }
}

/// The `ResourceList` wire text of borrowed items (see [`ResourceList::to_yaml`]).
pub fn resource_list_yaml<'a>(
    items: impl IntoIterator<Item = &'a Node, IntoIter: ExactSizeIterator>,
    function_config: Option<&Node>,
    results: &[ResultItem],
) -> String {
    let items = items.into_iter();
    let mut out = String::with_capacity(64 + items.len() * 1024);
    out.push_str("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n");
    if items.len() == 0 {
        out.push_str("items: []\n");
    } else {
        out.push_str("items:\n");
        yaml::emit::emit_item_refs(items, 0, &mut out);
    }
    let mut tail = Node::mapping();
    if let Some(fc) = function_config {
        tail.set("functionConfig", fc.clone());
    }
    if !results.is_empty() {
        let j = serde_json::to_value(results).unwrap_or_default();
        tail.set("results", yaml::from_json(&j));
    }
    if tail.as_mapping().is_some_and(|m| !m.entries.is_empty()) {
        out.push_str(&yaml::emit_node(&tail));
    }
    out
}

/// Emit resources as a multi-document stream (kpt's file layout).
pub fn to_stream(items: &[Node]) -> Stream {
    Stream {
        docs: items.iter().cloned().map(Document::new).collect(),
    }
}

/// Heal function outputs from their inputs matched by resource identity (group,
/// kind, namespace, name): comments, field order and styles the function dropped come
/// back. For callers that did not stamp `internal.config.kubernetes.io/id`.
pub fn heal_by_identity(inputs: &[Node], outputs: &mut [Node]) {
    let mut by_id: std::collections::HashMap<ResourceId, &Node> = std::collections::HashMap::new();
    for n in inputs {
        by_id.entry(ResourceId::of(n)).or_insert(n);
    }
    for out in outputs.iter_mut() {
        if let Some(src) = by_id.get(&ResourceId::of(out)) {
            yaml::heal(src, out);
        }
    }
}
