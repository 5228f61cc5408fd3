//! Function results in kpt's shapes: `FunctionResultList` (`kpt.dev/v1`) and the
//! per-function result items a ResourceList carries (list or legacy `{items}` map).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

fn is_empty_str(s: &str) -> bool {
    s.is_empty()
}

/// `kpt.dev/v1` `FunctionResultList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResultList {
    /// `kpt.dev/v1`.
    pub api_version: String,
    /// `FunctionResultList`.
    pub kind: String,
    /// `{name: fnresults}`.
    pub metadata: ResultListMeta,
    /// 0, or 1 when a function failed.
    pub exit_code: i32,
    /// One record per function run, in execution order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<FunctionResult>,
}

/// `metadata` of the result list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultListMeta {
    /// Always `fnresults`.
    pub name: String,
}

impl Default for FunctionResultList {
    fn default() -> Self {
        FunctionResultList {
            api_version: "kpt.dev/v1".to_string(),
            kind: "FunctionResultList".to_string(),
            metadata: ResultListMeta {
                name: "fnresults".to_string(),
            },
            exit_code: 0,
            items: Vec::new(),
        }
    }
}

/// What one function run produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResult {
    /// Image, for image functions.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub image: String,
    /// Executable, for exec functions.
    #[serde(default, rename = "exec", skip_serializing_if = "is_empty_str")]
    pub exec_path: String,
    /// stderr.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub stderr: String,
    /// Exit code.
    pub exit_code: i32,
    /// Structured results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<ResultItem>,
}

/// One structured result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultItem {
    /// Message.
    #[serde(default)]
    pub message: String,
    /// `error`, `warning`, `info`.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub severity: String,
    /// The resource concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_ref: Option<ResourceRef>,
    /// The field concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    /// The file concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A resource reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
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
}

/// A field reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    /// Field path.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub path: String,
    /// Current value (any YAML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_value: Option<Json>,
    /// Proposed value (any YAML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_value: Option<Json>,
}

/// A file reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct File {
    /// Path.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub path: String,
    /// Document index.
    #[serde(default)]
    pub index: i64,
}

impl ResultItem {
    /// Severity is exactly `error`.
    pub fn is_error(&self) -> bool {
        self.severity == "error"
    }
}

/// Read `results` from a function's output in either shape: a list, or the legacy
/// `{name, items}` map whose items carry `resourceRef.metadata.{name,namespace}` and
/// `field.suggestedValue`.
pub fn parse_results(results: &Json) -> Vec<ResultItem> {
    let list = match results {
        Json::Array(a) => a.clone(),
        Json::Object(o) => match o.get("items") {
            Some(Json::Array(a)) => a.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    list.into_iter()
        .map(|mut item| {
            if let Some(rr) = item.get_mut("resourceRef").and_then(Json::as_object_mut)
                && let Some(Json::Object(meta)) = rr.remove("metadata")
            {
                for k in ["name", "namespace"] {
                    if let Some(v) = meta.get(k) {
                        rr.entry(k.to_string()).or_insert(v.clone());
                    }
                }
            }
            if let Some(f) = item.get_mut("field").and_then(Json::as_object_mut)
                && let Some(v) = f.remove("suggestedValue")
            {
                f.entry("proposedValue".to_string()).or_insert(v);
            }
            serde_json::from_value::<ResultItem>(item.clone()).unwrap_or_else(|_| ResultItem {
                message: item
                    .get("message")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string(),
                severity: item
                    .get("severity")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string(),
                ..ResultItem::default()
            })
        })
        .collect()
}
