//! Render results: what `kpt fn render` reported (`RenderStatus`, kpt's `FunctionResultList`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `apiVersion` of a [`ResultList`].
pub const RESULT_LIST_API_VERSION: &str = "kpt.dev/v1";
/// The `kind` of a [`ResultList`].
pub const RESULT_LIST_KIND: &str = "FunctionResultList";

/// The outcome of a render. Both fields are always serialized (`"error": ""` on success).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenderStatus {
    /// The function results.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub result: ResultList,
    /// The render error, empty on success.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub error: String,
}

/// kpt's `FunctionResultList`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultList {
    /// Normally [`RESULT_LIST_API_VERSION`]; empty in a zero value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Normally [`RESULT_LIST_KIND`]; empty in a zero value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata (always serialized).
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    #[schemars(schema_with = "crate::schema::object_meta")]
    pub metadata: ObjectMeta,
    /// The exit code of the whole pipeline (always serialized).
    #[serde(default)]
    pub exit_code: i64,
    /// One result per function run.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub items: Vec<FunctionResult>,
}

/// The result of one function (kpt's `Result`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResult {
    /// The function image, for container functions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// The executable path, for exec functions.
    #[serde(rename = "exec", default, skip_serializing_if = "String::is_empty")]
    pub exec_path: String,
    /// The function's stderr.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    /// The function's exit code (always serialized).
    #[serde(default)]
    pub exit_code: i64,
    /// Structured results.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub results: Vec<ResultItem>,
}

/// One structured result of a function.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultItem {
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// `error`, `warning` or `info`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub severity: String,
    /// The resource the result is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_ref: Option<ResourceIdentifier>,
    /// The field the result is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    /// The file the result is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    /// Free-form tags.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub tags: BTreeMap<String, String>,
}

/// Identifies a resource by apiVersion, kind, name and namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIdentifier {
    /// The apiVersion.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// A field of a resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    /// The field path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The current value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub current_value: String,
    /// The proposed value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub proposed_value: String,
}

/// A file (and resource index within it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct File {
    /// The file path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The index of the resource in the file.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub index: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_render_status_keeps_error_and_result() {
        assert_eq!(
            serde_json::to_string(&RenderStatus::default()).unwrap(),
            r#"{"result":{"metadata":{},"exitCode":0},"error":""}"#
        );
    }

    #[test]
    fn render_status_round_trips() {
        let text = r#"{"result":{"apiVersion":"kpt.dev/v1","kind":"FunctionResultList","metadata":{"name":"fnresults"},"exitCode":1,"items":[{"image":"ghcr.io/kptdev/krm-functions-catalog/kubeval:v0.3","stderr":"boom","exitCode":1,"results":[{"message":"bad","severity":"error","resourceRef":{"apiVersion":"v1","kind":"ConfigMap","name":"cm"},"field":{"path":"data.x"},"file":{"path":"cm.yaml","index":1},"tags":{"a":"b"}}]}]},"error":"fn failed"}"#;
        let status: RenderStatus = serde_json::from_str(text).unwrap();
        assert_eq!(
            status.result.items[0].results[0]
                .file
                .as_ref()
                .unwrap()
                .index,
            1
        );
        assert_eq!(serde_json::to_string(&status).unwrap(), text);
    }
}
