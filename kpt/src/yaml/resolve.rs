//! Plain-scalar type resolution (the YAML 1.2 core schema, as go-yaml v3 applies it).

use super::node::{Node, ScalarStyle, Value};

/// What a plain scalar means.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// `null`, `~`, empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Anything else.
    Str,
}

/// Resolve plain text to its type.
pub fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Resolved::Str;
    }
    let body = s.trim_start_matches(['+', '-']);
    let neg = s.starts_with('-');
    if let Some(hex) = body.strip_prefix("0x")
        && let Ok(v) = i64::from_str_radix(hex, 16)
    {
        return Resolved::Int(if neg { -v } else { v });
    }
    if let Some(oct) = body.strip_prefix("0o")
        && let Ok(v) = i64::from_str_radix(oct, 8)
    {
        return Resolved::Int(if neg { -v } else { v });
    }
    if body.bytes().all(|b| b.is_ascii_digit()) && !body.is_empty() {
        if let Ok(v) = s.parse::<i64>() {
            return Resolved::Int(v);
        }
        if let Ok(v) = s.parse::<f64>() {
            return Resolved::Float(v);
        }
    }
    // floats: digits with . or exponent
    let looks_float = body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().any(|b| b.is_ascii_digit())
        && !body.starts_with(['e', 'E']);
    if looks_float && let Ok(v) = s.parse::<f64>() {
        return Resolved::Float(v);
    }
    Resolved::Str
}

/// True when `s` written plain would read back as a string.
pub fn is_plain_string(s: &str) -> bool {
    !s.is_empty() && resolve_plain(s) == Resolved::Str
}

/// True when the scalar node is a string (quoted, block, `!!str`, or plain text that
/// resolves to a string).
pub fn is_string_scalar(n: &Node) -> bool {
    match &n.value {
        Value::Scalar(s) => match n.tag.as_deref() {
            Some("!!str") => true,
            Some("!!int" | "!!float" | "!!bool" | "!!null") => false,
            _ => s.style != ScalarStyle::Plain || resolve_plain(&s.value) == Resolved::Str,
        },
        _ => false,
    }
}

/// The resolved type of a scalar node.
pub fn resolve_node(n: &Node) -> Resolved {
    match &n.value {
        Value::Scalar(s) => {
            if is_string_scalar(n) {
                Resolved::Str
            } else {
                resolve_plain(&s.value)
            }
        }
        _ => Resolved::Str,
    }
}
