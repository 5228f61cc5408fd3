//! KRM function results, in kpt's `results` shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::krm;

/// How bad a result is. kpt treats only `error` as an error result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A failure.
    Error,
    /// Worth a look.
    Warning,
    /// For the record.
    Info,
}

/// Which resource a result is about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    /// `apiVersion` of the resource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `kind` of the resource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// `metadata.name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `metadata.namespace`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// Which field a result is about.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldRef {
    /// Dotted path of the field.
    pub path: String,
    /// The value before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_value: Option<Value>,
    /// The value after (or suggested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_value: Option<Value>,
}

/// Which file a result is about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileRef {
    /// Path relative to the package.
    pub path: String,
    /// Index of the document within the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<i64>,
}

/// One result entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KrmResult {
    /// What happened.
    pub message: String,
    /// How bad it is.
    pub severity: Severity,
    /// The resource concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_ref: Option<ResourceRef>,
    /// The field concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldRef>,
    /// The file concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<std::collections::BTreeMap<String, String>>,
}

impl KrmResult {
    /// A result with only a message and severity.
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        KrmResult {
            message: message.into(),
            severity,
            resource_ref: None,
            field: None,
            file: None,
            tags: None,
        }
    }
    /// An info result.
    pub fn info(message: impl Into<String>) -> Self {
        Self::new(Severity::Info, message)
    }
    /// A warning result.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }
    /// An error result.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }
    /// Attach the resource and file of `item`.
    pub fn about(mut self, item: &Value) -> Self {
        self.resource_ref = Some(krm::resource_ref(item));
        self.file = krm::file_ref(item);
        self
    }
    /// Attach a field.
    pub fn field(
        mut self,
        path: impl Into<String>,
        current: Option<Value>,
        proposed: Option<Value>,
    ) -> Self {
        self.field = Some(FieldRef {
            path: path.into(),
            current_value: current,
            proposed_value: proposed,
        });
        self
    }
}
