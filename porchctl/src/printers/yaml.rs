//! A YAML emitter for JSON values in the style of `sigs.k8s.io/yaml` (go-yaml v2): two-space
//! indentation, sequences not indented under their key, strings quoted (double quotes) only when
//! a plain scalar would read back as something else, multi-line strings as literal blocks.

use serde_json::Value;

/// Emits one document. `sort_keys` sorts map keys (what Go does for `map[string]any`);
/// otherwise keys keep their order.
pub fn to_yaml(v: &Value, sort_keys: bool) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => emit_map(v, 0, sort_keys, &mut out),
        Value::Array(a) if !a.is_empty() => emit_seq(a, 0, sort_keys, &mut out),
        other => {
            out.push_str(&scalar(other, 0));
            out.push('\n');
        }
    }
    out
}

fn entries(v: &Value, sort_keys: bool) -> Vec<(&String, &Value)> {
    let mut e: Vec<(&String, &Value)> = match v {
        Value::Object(m) => m.iter().collect(),
        _ => Vec::new(),
    };
    if sort_keys {
        e.sort_by(|a, b| a.0.cmp(b.0));
    }
    e
}

fn emit_map(v: &Value, indent: usize, sort_keys: bool, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, val) in entries(v, sort_keys) {
        out.push_str(&pad);
        out.push_str(&quote_if_needed(k));
        out.push(':');
        emit_value_after_key(val, indent, sort_keys, out);
    }
}

fn emit_value_after_key(val: &Value, indent: usize, sort_keys: bool, out: &mut String) {
    match val {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(val, indent + 2, sort_keys, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            emit_seq(a, indent, sort_keys, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, indent + 2));
            out.push('\n');
        }
    }
}

fn emit_seq(items: &[Value], indent: usize, sort_keys: bool, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        out.push_str(&pad);
        out.push('-');
        match item {
            Value::Object(m) if !m.is_empty() => {
                // The first key goes on the dash line; the rest align under it.
                let mut first = true;
                for (k, val) in entries(item, sort_keys) {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        out.push_str(&pad);
                        out.push_str("  ");
                    }
                    out.push_str(&quote_if_needed(k));
                    out.push(':');
                    emit_value_after_key(val, indent + 2, sort_keys, out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                emit_seq(a, indent + 2, sort_keys, out);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_scalar(s, indent),
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
    }
}

fn string_scalar(s: &str, indent: usize) -> String {
    if s.contains('\n') && literal_ok(s) {
        let chomp = if s.ends_with('\n') { "" } else { "-" };
        let pad = " ".repeat(indent);
        let body = s.strip_suffix('\n').unwrap_or(s);
        let mut out = format!("|{chomp}");
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
                out.push_str(line);
            }
        }
        return out;
    }
    quote_if_needed(s)
}

/// Whether a multi-line string can be a literal block without extra indicators.
fn literal_ok(s: &str) -> bool {
    !s.starts_with(' ')
        && !s.starts_with('\n')
        && !s.ends_with("\n\n")
        && !s.contains('\r')
        && !s.contains('\t')
        && !s.lines().any(|l| l.ends_with(' '))
}

/// The scalar as a plain string when it reads back as the same string, else double-quoted.
pub fn quote_if_needed(s: &str) -> String {
    if needs_quotes(s) {
        double_quote(s)
    } else {
        s.to_string()
    }
}

fn double_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    const SPECIAL: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", "-.inf", "+.inf",
        ".nan",
    ];
    if SPECIAL.contains(&lower.as_str()) {
        return true;
    }
    if looks_numeric(s) || looks_like_timestamp(s) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    // A leading "-" followed by a non-space is plain ("-1x"); "-" alone or "- x" is not.
    let dash_ok = first == '-' && s.len() > 1 && !s.starts_with("- ") && !s.starts_with("---");
    if !dash_ok && "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    if s.starts_with(' ') || s.ends_with(' ') {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return true;
    }
    s.chars().any(|c| c.is_control() || c == '\u{feff}')
}

fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    if let Some(hex) = t.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return !oct.is_empty() && oct.chars().all(|c| c.is_ascii_digit());
    }
    if let Some(bin) = t.strip_prefix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1' || c == '_');
    }
    let mut digits = 0;
    let mut dots = 0;
    let mut exp = false;
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '_' {
            digits += 1;
        } else if c == '.' && !exp {
            dots += 1;
        } else if (c == 'e' || c == 'E') && digits > 0 && !exp {
            exp = true;
            if i + 1 < chars.len() && (chars[i + 1] == '+' || chars[i + 1] == '-') {
                i += 1;
            }
            if i + 1 >= chars.len() {
                return false;
            }
        } else if c == ':' && digits > 0 {
            // sexagesimal (YAML 1.1), e.g. 1:20
        } else {
            return false;
        }
        i += 1;
    }
    digits > 0 && dots <= 1
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// Recursively sorts object keys (Go's JSON/YAML encoders of `map[string]any` do this).
pub fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), sort_keys(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_style() {
        let v = json!({
            "kind": "ResourceList",
            "apiVersion": "config.kubernetes.io/v1",
            "items": [{"apiVersion": "", "metadata": {"annotations": {"config.kubernetes.io/index": "0"}}},
                      {"list": ["a", "b"], "empty": {}, "none": [], "n": 1, "t": "True", "b": true}]
        });
        let want = "apiVersion: config.kubernetes.io/v1\nitems:\n- apiVersion: \"\"\n  metadata:\n    annotations:\n      config.kubernetes.io/index: \"0\"\n- b: true\n  empty: {}\n  list:\n  - a\n  - b\n  \"n\": 1\n  none: []\n  t: \"True\"\nkind: ResourceList\n";
        assert_eq!(to_yaml(&v, true), want);
    }

    #[test]
    fn keeps_order_unless_sorted() {
        let v = json!({"b": 1, "a": {"d": 1, "c": 2}});
        assert_eq!(to_yaml(&v, false), "b: 1\na:\n  d: 1\n  c: 2\n");
    }

    #[test]
    fn literal_blocks() {
        let v = json!({"k": "line1\nline2\n", "j": "a\nb"});
        assert_eq!(
            to_yaml(&v, false),
            "k: |\n  line1\n  line2\nj: |-\n  a\n  b\n"
        );
    }

    #[test]
    fn quoting() {
        for s in [
            "",
            "0",
            "1.5",
            "true",
            "yes",
            "null",
            "~",
            "a: b",
            "- x",
            " x",
            "2024-01-01T00:00:00Z",
            "@x",
            "#x",
        ] {
            assert!(needs_quotes(s), "{s:?} should be quoted");
        }
        for s in [
            "abc",
            "http://kpt.dev/x",
            "v1",
            "test-blueprints",
            "a.b.c",
            "-1x",
            "kpt.dev|Kptfile|default|x",
        ] {
            assert!(!needs_quotes(s), "{s:?} should be plain");
        }
    }

    #[test]
    fn round_trips_through_saphyr() {
        let v = json!({"a": ["x", {"b": "0", "c": "multi\nline\n"}], "d": "yes", "e": ""});
        let text = to_yaml(&v, false);
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}

/// Parser options: YAML 1.2 booleans (only `true`/`false`), as kyaml reads KRM, so `n`, `yes`
/// and `on` stay strings.
pub fn parse_options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.strict_booleans = true;
    o
}

/// Parses a YAML stream into its documents with [`parse_options`].
pub fn parse_multi(text: &str) -> Result<Vec<Value>, String> {
    serde_saphyr::from_multiple_with_options(text, parse_options()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let docs = parse_multi("a: n\nb: yes\nc: true\n---\nd: 1\n").unwrap();
        assert_eq!(
            docs,
            vec![
                serde_json::json!({"a": "n", "b": "yes", "c": true}),
                serde_json::json!({"d": 1})
            ]
        );
    }
}
