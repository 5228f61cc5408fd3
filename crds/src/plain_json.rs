//! Serializing `serde_json::Value` through non-JSON serializers (YAML) with plain numbers.
//!
//! A dependency of the function runner (starlark) turns on serde_json's `arbitrary_precision`,
//! and Cargo unifies that feature across every crate built together. With it, a `Number`
//! serializes as a private one-field struct, so YAML output would read
//! `{"$serde_json::private::Number": "0"}` instead of `0`. [`PlainJson`] writes numbers as
//! integers or floats whatever serde_json's features are.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A borrowed JSON value that serializes its numbers as plain numbers.
#[derive(Debug, Clone, Copy)]
pub struct PlainJson<'a>(pub &'a Value);

impl Serialize for PlainJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    s.serialize_i64(i)
                } else if let Some(u) = n.as_u64() {
                    s.serialize_u64(u)
                } else {
                    s.serialize_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(text) => s.serialize_str(text),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&PlainJson(item))?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, &PlainJson(value))?;
                }
                map.end()
            }
        }
    }
}

/// YAML text of any serializable value, with plain numbers.
pub fn to_yaml_string<T: Serialize>(value: &T) -> Result<String, String> {
    let json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    serde_saphyr::to_string(&PlainJson(&json)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_stay_numbers() {
        let v = json!({"a": 0, "b": -3, "c": 1.5, "d": [18446744073709551615u64], "e": null});
        let yaml = to_yaml_string(&v).unwrap();
        assert!(!yaml.contains("serde_json"), "{yaml}");
        assert!(yaml.contains("a: 0"), "{yaml}");
        assert!(yaml.contains("b: -3"), "{yaml}");
        assert!(yaml.contains("c: 1.5"), "{yaml}");
        assert!(yaml.contains("18446744073709551615"), "{yaml}");
    }
}
