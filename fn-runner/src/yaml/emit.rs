//! A block-style YAML emitter for JSON values, optionally writing line comments.
//! Formatting is not contractual (kpt re-applies the input's style and comments
//! in its heal step); correctness of scalars is: every string must read back as
//! the same string.

use serde_json::Value;

use super::comments::{CommentMap, PathSeg};

/// Emit `value` as a YAML document (no `---`).
pub fn to_yaml(value: &Value) -> String {
    let mut e = Emitter {
        out: String::with_capacity(4096),
        comments: None,
        path: Vec::new(),
    };
    e.document(value);
    e.out
}

/// Emit `value`, writing `comments` as line comments at their paths.
pub fn to_yaml_with_comments(value: &Value, comments: &CommentMap) -> String {
    let mut e = Emitter {
        out: String::with_capacity(4096),
        comments: Some(comments),
        path: Vec::new(),
    };
    e.document(value);
    e.out
}

struct Emitter<'a> {
    out: String,
    comments: Option<&'a CommentMap>,
    path: Vec<PathSeg>,
}

impl Emitter<'_> {
    fn document(&mut self, v: &Value) {
        match v {
            Value::Object(m) if !m.is_empty() => self.map_body(m, 0),
            Value::Array(a) if !a.is_empty() => self.seq_body(a, 0),
            other => {
                self.inline(other);
                self.out.push('\n');
            }
        }
    }

    fn comment(&mut self) {
        if let Some(c) = self.comments.and_then(|c| c.get(&self.path)) {
            self.out.push_str(" # ");
            self.out.push_str(c);
        }
    }

    fn indent(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    fn map_body(&mut self, m: &serde_json::Map<String, Value>, ind: usize) {
        let mut first = true;
        for (k, v) in m {
            if !first {
                self.indent(ind);
            }
            first = false;
            if self.comments.is_some() {
                self.path.push(PathSeg::Key(k.clone()));
            }
            write_scalar_str(&mut self.out, k, ind);
            self.out.push(':');
            self.value_after_key(v, ind);
            if self.comments.is_some() {
                self.path.pop();
            }
        }
    }

    /// Everything after `key:`; `ind` is the key's indentation.
    fn value_after_key(&mut self, v: &Value, ind: usize) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                self.comment();
                self.out.push('\n');
                self.indent(ind + 2);
                self.map_body(m, ind + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                self.comment();
                self.out.push('\n');
                self.indent(ind);
                self.seq_body(a, ind);
            }
            Value::String(s) if is_block_literal(s) => {
                self.out.push(' ');
                write_block_literal(&mut self.out, s, ind + 2);
            }
            other => {
                self.out.push(' ');
                self.inline(other);
                self.comment();
                self.out.push('\n');
            }
        }
    }

    fn seq_body(&mut self, a: &[Value], ind: usize) {
        for (i, v) in a.iter().enumerate() {
            if i > 0 {
                self.indent(ind);
            }
            if self.comments.is_some() {
                self.path.push(PathSeg::Index(i));
            }
            self.out.push_str("- ");
            match v {
                Value::Object(m) if !m.is_empty() => self.map_body(m, ind + 2),
                Value::Array(inner) if !inner.is_empty() => self.seq_body(inner, ind + 2),
                Value::String(s) if is_block_literal(s) => {
                    write_block_literal(&mut self.out, s, ind + 2)
                }
                other => {
                    self.inline(other);
                    self.comment();
                    self.out.push('\n');
                }
            }
            if self.comments.is_some() {
                self.path.pop();
            }
        }
    }

    /// Scalars and empty collections on one line.
    fn inline(&mut self, v: &Value) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                use std::fmt::Write;
                let _ = write!(self.out, "{n}");
            }
            Value::String(s) => write_scalar_str(&mut self.out, s, 0),
            Value::Array(_) => self.out.push_str("[]"),
            Value::Object(_) => self.out.push_str("{}"),
        }
    }
}

fn is_block_literal(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && s.chars().all(|c| c == '\n' || !c.is_control())
        && !s.lines().any(|l| l.ends_with(' '))
}

fn write_block_literal(out: &mut String, s: &str, ind: usize) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push('|');
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    out.push('\n');
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            for _ in 0..ind {
                out.push(' ');
            }
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// Write a string scalar: plain when it reads back as the same string, else quoted.
fn write_scalar_str(out: &mut String, s: &str, _ind: usize) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !s.contains('\'') && s.chars().all(|c| !c.is_control()) {
        out.push('\'');
        out.push_str(s);
        out.push('\'');
    } else {
        // A JSON string is a valid YAML double-quoted scalar.
        out.push_str(&Value::String(s.to_string()).to_string());
    }
}

fn is_plain_safe(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if first == b' ' || b[b.len() - 1] == b' ' || b[b.len() - 1] == b':' {
        return false;
    }
    if b"-?:,[]{}#&*!|>'\"%@`+.".contains(&first) || first.is_ascii_digit() {
        // Indicators, and anything that might read as a number.
        return false;
    }
    // One pass: no `: `, no ` #`, no control characters, no BOM.
    let mut prev = 0u8;
    for &c in b {
        if c < 0x20 || c == 0x7f || (prev == b':' && c == b' ') || (prev == b' ' && c == b'#') {
            return false;
        }
        prev = c;
    }
    if !s.is_ascii() && s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return false;
    }
    // Flow indicators are fine in block context but a '{' or '[' start is excluded above.
    if b.len() > 5 {
        return true;
    }
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | ".inf" | ".nan"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_awkward_scalars() {
        let v = json!({
            "a": ["", " x", "true", "No", "1", "1.5", "-3", "0x1f", "a: b", "c #d", "x:", "it's",
                  "multi\nline\n", "nolf\nend", "tab\there", "~", "null", "@at", "*star", "- dash",
                  "ok-value", "v1.2.3", "with\"quote", "lead\n\nblank\n\n"],
            "n": 5, "f": 1.5, "b": false, "z": null, "e": {}, "l": [],
            "nested": {"deep": [{"k": "v", "m": {"x": [1, 2]}}, [3, [4]]]},
            "key: colon": "v", "": "empty key"
        });
        let y = to_yaml(&v);
        let back: Value = crate::yaml::parse_str(&y).unwrap();
        assert_eq!(back, v, "emitted:\n{y}");
    }

    #[test]
    fn writes_comments() {
        let v = json!({"spec": {"image": "nginx", "args": ["a"]}});
        let mut c = CommentMap::new();
        c.insert(
            vec![PathSeg::Key("spec".into()), PathSeg::Key("image".into())],
            "kpt-set: ${image}".into(),
        );
        c.insert(
            vec![PathSeg::Key("spec".into()), PathSeg::Key("args".into())],
            "kpt-set: ${args}".into(),
        );
        let y = to_yaml_with_comments(&v, &c);
        assert_eq!(
            y,
            "spec:\n  image: nginx # kpt-set: ${image}\n  args: # kpt-set: ${args}\n  - a\n"
        );
    }
}
