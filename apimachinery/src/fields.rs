//! Field selectors (`?fieldSelector=`): `=`, `==`, `!=`, comma = AND, backslash escapes.

use serde_json::Value;

/// One `field op value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub negate: bool,
    pub value: String,
}

/// A parsed field selector. Empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub requirements: Vec<FieldRequirement>,
}

/// A field selector string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector: '{0}'; can't understand '{1}'")]
pub struct FieldSelectorError(pub String, pub String);

impl FieldSelector {
    /// Whether nothing is selected against.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Parse `metadata.name=x,spec.lifecycle!=Draft`.
    pub fn parse(input: &str) -> Result<Self, FieldSelectorError> {
        let mut requirements = Vec::new();
        for term in split_unescaped(input, ',') {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let (field, negate, value) = if let Some(i) = find_unescaped(term, "!=") {
                (&term[..i], true, &term[i + 2..])
            } else if let Some(i) = find_unescaped(term, "==") {
                (&term[..i], false, &term[i + 2..])
            } else if let Some(i) = find_unescaped(term, "=") {
                (&term[..i], false, &term[i + 1..])
            } else {
                return Err(FieldSelectorError(input.to_string(), term.to_string()));
            };
            let field = field.trim();
            if field.is_empty() {
                return Err(FieldSelectorError(input.to_string(), term.to_string()));
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                negate,
                value: unescape(value.trim()),
            });
        }
        Ok(Self { requirements })
    }

    /// The fields the selector mentions (for checking them against what a resource supports).
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| r.field.as_str())
    }

    /// Whether the selector matches, given a lookup from field path to its string value.
    pub fn matches_with(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let v = lookup(&r.field).unwrap_or_default();
            (v == r.value) != r.negate
        })
    }

    /// Whether the selector matches a JSON object, reading dotted paths from it.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches_with(|f| object_field(obj, f))
    }

    /// The value required by an `=` term on `field`, if any (used to narrow a store query).
    pub fn exact(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && !r.negate)
            .map(|r| r.value.as_str())
    }
}

/// The string form of a dotted path in an object (`metadata.name`, `spec.type`); bools and numbers stringified.
pub fn object_field(obj: &Value, path: &str) -> Option<String> {
    let mut cur = obj;
    for seg in path.split('.') {
        cur = cur.get(seg)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn find_unescaped(s: &str, pat: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i..].starts_with(pat) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_and_match() {
        let s = FieldSelector::parse("metadata.name=a,spec.type!=oci").unwrap();
        assert_eq!(s.requirements.len(), 2);
        assert!(s.matches_object(&json!({"metadata":{"name":"a"},"spec":{"type":"git"}})));
        assert!(!s.matches_object(&json!({"metadata":{"name":"a"},"spec":{"type":"oci"}})));
        assert!(!s.matches_object(&json!({"metadata":{"name":"b"}})));
        assert_eq!(s.exact("metadata.name"), Some("a"));
    }

    #[test]
    fn escapes_and_errors() {
        let s = FieldSelector::parse(r"a==x\,y").unwrap();
        assert_eq!(s.requirements[0].value, "x,y");
        assert!(FieldSelector::parse("nonsense").is_err());
        assert!(FieldSelector::parse("").unwrap().is_empty());
    }

    #[test]
    fn missing_field_is_empty_string() {
        let s = FieldSelector::parse("spec.x!=").unwrap();
        assert!(!s.matches_object(&json!({})));
        assert!(s.matches_object(&json!({"spec":{"x":true}})));
    }
}
