//! FunctionConfig objects (`config.porch.kpt.dev/v1alpha1`, porch-api.md §3.2), read
//! from a YAML file: the parts the function runner uses.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// `spec` of a FunctionConfig.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionConfigSpec {
    /// Short image name (`set-namespace`).
    pub image: String,
    /// Registry prefixes the image may carry (`""` = the default prefix).
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Pod runtime settings.
    #[serde(default)]
    pub pod_executor: Option<PodExecutor>,
    /// Executable runtime settings.
    #[serde(default)]
    pub binary_executor: Option<BinaryExecutor>,
}

/// `spec.podExecutor`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodExecutor {
    /// Tags to warm up and serve.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Idle time before a pod is reclaimed (Go duration).
    #[serde(default)]
    pub time_to_live: Option<String>,
    /// Most pods for this image.
    #[serde(default)]
    pub max_parallel_executions: Option<usize>,
    /// Queue length at which another pod is started.
    #[serde(default)]
    pub preferred_max_queue_length: Option<usize>,
    /// Overrides for the pod template.
    #[serde(default)]
    pub template_overrides: Option<Value>,
}

/// `spec.binaryExecutor`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BinaryExecutor {
    /// Tags this binary serves.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Path of the executable (relative to `--functions`).
    pub path: String,
}

/// One FunctionConfig: its name and spec.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    /// `metadata.name`.
    pub name: String,
    /// `spec`.
    pub spec: FunctionConfigSpec,
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FunctionConfigError {
    /// Reading the file failed.
    #[error("cannot read function config {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The content is not FunctionConfigs.
    #[error("invalid function config {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Parse every FunctionConfig in a (multi-document) YAML text; `List`s are flattened
/// and other kinds are skipped.
pub fn parse_all(text: &str, origin: &str) -> Result<Vec<FunctionConfig>, FunctionConfigError> {
    let invalid = |message: String| FunctionConfigError::Invalid {
        path: origin.to_string(),
        message,
    };
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, crate::yaml::options())
        .map_err(|e| invalid(e.to_string()))?;
    let mut out = Vec::new();
    let mut pending: Vec<Value> = docs;
    while let Some(doc) = pending.pop() {
        match doc.get("kind").and_then(Value::as_str) {
            Some("List") => {
                if let Some(items) = doc.get("items").and_then(Value::as_array) {
                    pending.extend(items.iter().rev().cloned());
                }
            }
            Some("FunctionConfig") => {
                let name = doc
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let spec: FunctionConfigSpec =
                    serde_json::from_value(doc.get("spec").cloned().unwrap_or(Value::Null))
                        .map_err(|e| invalid(format!("FunctionConfig {name:?}: {e}")))?;
                if spec.image.is_empty() {
                    return Err(invalid(format!(
                        "FunctionConfig {name:?}: spec.image is required"
                    )));
                }
                out.push(FunctionConfig { name, spec });
            }
            _ => {}
        }
    }
    out.reverse();
    Ok(out)
}

/// Read FunctionConfigs from a file.
pub fn load(path: &Path) -> Result<Vec<FunctionConfig>, FunctionConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| FunctionConfigError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_all(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_documents_and_lists() {
        let text = r#"
apiVersion: config.porch.kpt.dev/v1alpha1
kind: FunctionConfig
metadata: {name: set-labels, namespace: porch-fn-system}
spec:
  image: set-labels
  prefixes: ["", "gcr.io/kpt-fn/"]
  binaryExecutor: {path: set-labels, tags: [v0.2.2]}
  podExecutor: {tags: [v0.2.2], timeToLive: 10m}
---
kind: List
items:
- {kind: FunctionConfig, metadata: {name: b}, spec: {image: b}}
- {kind: ConfigMap, metadata: {name: c}}
"#;
        let all = parse_all(text, "t").unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[0].spec.binary_executor.as_ref().unwrap().tags,
            vec!["v0.2.2"]
        );
        assert_eq!(
            all[0]
                .spec
                .pod_executor
                .as_ref()
                .unwrap()
                .time_to_live
                .as_deref(),
            Some("10m")
        );
        assert_eq!(all[1].name, "b");
        assert!(parse_all("kind: FunctionConfig\nspec: {}\n", "t").is_err());
    }
}
