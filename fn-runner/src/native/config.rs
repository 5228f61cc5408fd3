//! Reading a function's `functionConfig`.

use indexmap::IndexMap;
use serde_json::Value;

use super::FnFailure;
use crate::krm;

/// The config's `data` as strings, when it is a ConfigMap; `None` for another kind.
/// A missing config or missing `data` gives an empty map.
pub fn config_map_data(fc: Option<&Value>) -> Option<IndexMap<String, String>> {
    let Some(fc) = fc else {
        return Some(IndexMap::new());
    };
    if krm::kind(fc) != "ConfigMap" {
        return None;
    }
    let mut out = IndexMap::new();
    if let Some(data) = fc.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            out.insert(
                k.clone(),
                krm::scalar_text(v).unwrap_or_else(|| v.to_string()),
            );
        }
    }
    Some(out)
}

/// Whether `fc` is `fn.kpt.dev/<any version>` of the given kind.
pub fn is_fn_kind(fc: &Value, kind: &str) -> bool {
    krm::group(fc) == "fn.kpt.dev" && krm::kind(fc) == kind
}

/// A string-map field of a typed config (`labels:`, `annotations:`), values as text.
pub fn string_map(fc: &Value, field: &str) -> Result<IndexMap<String, String>, FnFailure> {
    let mut out = IndexMap::new();
    match fc.get(field) {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let s = krm::scalar_text(v).ok_or_else(|| {
                    FnFailure::msg(format!("{field}.{k} must be a string, not {v}"))
                })?;
                out.insert(k.clone(), s);
            }
        }
        Some(other) => {
            return Err(FnFailure::msg(format!(
                "{field} must be a map, not {other}"
            )));
        }
    }
    Ok(out)
}

/// The error for a config of a kind the function does not take.
pub fn wrong_kind(fc: &Value, expected: &str) -> FnFailure {
    FnFailure::msg(format!(
        "`functionConfig` must be {expected}, got {}/{} {:?}",
        krm::api_version(fc),
        krm::kind(fc),
        krm::name(fc)
    ))
}
