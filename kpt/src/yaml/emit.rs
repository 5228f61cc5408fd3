//! The emitter: kyaml's layout (2-space indent, compact or wide sequences) with the
//! comments, blank lines and scalar styles kept on the nodes.

use super::node::{Mapping, Node, Scalar, ScalarStyle, Sequence, Value};
use super::parse::{decode_block, decode_quoted};
use super::{Document, Stream};

/// Emit a whole stream.
pub fn emit_stream(s: &Stream) -> String {
    // most kpt files are a few hundred bytes to a few KiB: start big enough to skip
    // the first rounds of regrowth
    let mut out = String::with_capacity(1024);
    for (i, d) in s.docs.iter().enumerate() {
        emit_document_into(d, i > 0, &mut out);
    }
    out
}

/// Emit one document; `separator` forces a leading `---`.
pub fn emit_document_into(d: &Document, separator: bool, out: &mut String) {
    if separator || d.explicit_start {
        out.push_str("---");
        if let Some(c) = &d.start_comment {
            out.push(' ');
            out.push_str(c);
        }
        out.push('\n');
    }
    if let Some(root) = &d.root {
        emit_root(root, out);
    }
    for l in &d.foot {
        out.push_str(l);
        out.push('\n');
    }
    if d.explicit_end {
        out.push_str("...\n");
    }
}

/// Emit a node as a document body.
pub fn emit_node(n: &Node) -> String {
    let mut out = String::with_capacity(1024);
    emit_root(n, &mut out);
    out
}

fn emit_root(n: &Node, out: &mut String) {
    head(&n.comments.head, 0, out);
    let props = props(n);
    match &n.value {
        Value::Mapping(m) if !m.flow && !m.entries.is_empty() => {
            if !props.is_empty() {
                out.push_str(props.trim_start());
                out.push('\n');
            }
            mapping(m, 0, false, out);
        }
        Value::Sequence(s) if !s.flow && !s.items.is_empty() => {
            if !props.is_empty() {
                out.push_str(props.trim_start());
                out.push('\n');
            }
            sequence(s, 0, false, out);
        }
        Value::Scalar(s) if is_block(s) => {
            out.push_str(props.trim_start());
            if !props.is_empty() {
                out.push(' ');
            }
            block_scalar(s, n.comments.line.as_deref(), 2, out);
        }
        _ => {
            out.push_str(props.trim_start());
            if !props.is_empty() {
                out.push(' ');
            }
            inline(n, false, out);
            line_comment(n.comments.line.as_deref(), out);
            out.push('\n');
        }
    }
}

fn head(lines: &[String], indent: usize, out: &mut String) {
    for l in lines {
        if !l.is_empty() {
            pad(indent, out);
            out.push_str(l);
        }
        out.push('\n');
    }
}

fn pad(n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn line_comment(c: Option<&str>, out: &mut String) {
    if let Some(c) = c {
        out.push(' ');
        out.push_str(c);
    }
}

fn props(n: &Node) -> String {
    let mut s = String::new();
    if let Some(t) = &n.tag {
        s.push(' ');
        s.push_str(t);
    }
    if let Some(a) = &n.anchor {
        s.push_str(" &");
        s.push_str(a);
    }
    s
}

fn is_block(s: &Scalar) -> bool {
    match s.style {
        ScalarStyle::Literal | ScalarStyle::Folded => true,
        // multi-line strings are written as literal blocks, like go-yaml
        ScalarStyle::DoubleQuoted => false,
        _ => false,
    }
}

/// A non-empty block collection (as opposed to an inline value).
fn is_block_collection(n: &Node) -> bool {
    match &n.value {
        Value::Mapping(m) => !m.flow && !m.entries.is_empty(),
        Value::Sequence(s) => !s.flow && !s.items.is_empty(),
        _ => false,
    }
}

fn mapping(m: &Mapping, indent: usize, inline_first: bool, out: &mut String) {
    for (i, e) in m.entries.iter().enumerate() {
        if !(i == 0 && inline_first) {
            head(&e.key.comments.head, indent, out);
            pad(indent, out);
        }
        key(&e.key, out);
        if matches!(e.key.value, Value::Alias(_)) {
            out.push(' ');
        }
        out.push(':');
        value_after(&e.key, &e.value, indent, out);
    }
    head(&m.foot, indent, out);
}

fn key(k: &Node, out: &mut String) {
    if let Some(t) = &k.tag {
        out.push_str(t);
        out.push(' ');
    }
    inline(k, false, out);
}

fn value_after(k: &Node, v: &Node, indent: usize, out: &mut String) {
    let key_comment = k.comments.line.as_deref();
    let props = props(v);
    match &v.value {
        Value::Mapping(m) if !m.flow && !m.entries.is_empty() => {
            out.push_str(&props);
            line_comment(key_comment.or(v.comments.line.as_deref()), out);
            out.push('\n');
            head(&v.comments.head, indent + 2, out);
            mapping(m, indent + 2, false, out);
        }
        Value::Sequence(s) if !s.flow && !s.items.is_empty() => {
            out.push_str(&props);
            line_comment(key_comment.or(v.comments.line.as_deref()), out);
            out.push('\n');
            let ind = if s.wide { indent + 2 } else { indent };
            head(&v.comments.head, ind, out);
            sequence(s, ind, false, out);
        }
        Value::Scalar(s)
            if is_block(s)
                || (s.value.contains('\n') && s.raw.is_none() && literal_ok(&s.value)) =>
        {
            out.push_str(&props);
            out.push(' ');
            block_scalar(
                s,
                v.comments.line.as_deref().or(key_comment),
                indent + 2,
                out,
            );
        }
        _ => {
            let null = v.is_null() && v.tag.is_none() && v.as_str() == Some("");
            if !null || !props.is_empty() {
                out.push_str(&props);
                if !null {
                    out.push(' ');
                    inline(v, false, out);
                }
            }
            line_comment(v.comments.line.as_deref().or(key_comment), out);
            out.push('\n');
        }
    }
}

fn sequence(s: &Sequence, indent: usize, inline_first: bool, out: &mut String) {
    sequence_items(&s.items, indent, inline_first, out);
    head(&s.foot, indent, out);
}

/// Emit block sequence items (`- …`) at `indent`.
pub fn emit_items(items: &[Node], indent: usize, out: &mut String) {
    sequence_items(items, indent, false, out);
}

/// [`emit_items`] over borrowed nodes (no need to collect them into a slice).
pub fn emit_item_refs<'a>(
    items: impl IntoIterator<Item = &'a Node>,
    indent: usize,
    out: &mut String,
) {
    sequence_items(items, indent, false, out);
}

fn sequence_items<'a>(
    items: impl IntoIterator<Item = &'a Node>,
    indent: usize,
    inline_first: bool,
    out: &mut String,
) {
    for (i, item) in items.into_iter().enumerate() {
        let first_inline = i == 0 && inline_first;
        if !first_inline {
            head(&item.comments.head, indent, out);
        }
        let props = props(item);
        let plain_block =
            is_block_collection(item) && item.comments.line.is_none() && props.is_empty();
        if plain_block && let Value::Mapping(m) = &item.value {
            // comments above the first key go above the `- `
            if !first_inline {
                head(&m.entries[0].key.comments.head, indent, out);
                pad(indent, out);
            }
            out.push_str("- ");
            mapping(m, indent + 2, true, out);
            continue;
        }
        if !first_inline {
            pad(indent, out);
        }
        out.push('-');
        match &item.value {
            Value::Sequence(inner) if plain_block => {
                out.push(' ');
                sequence(inner, indent + 2, true, out);
            }
            Value::Mapping(m) if is_block_collection(item) => {
                out.push_str(&props);
                line_comment(item.comments.line.as_deref(), out);
                out.push('\n');
                mapping(m, indent + 2, false, out);
            }
            Value::Sequence(inner) if is_block_collection(item) => {
                out.push_str(&props);
                line_comment(item.comments.line.as_deref(), out);
                out.push('\n');
                sequence(inner, indent + 2, false, out);
            }
            Value::Scalar(sc)
                if is_block(sc)
                    || (sc.value.contains('\n') && sc.raw.is_none() && literal_ok(&sc.value)) =>
            {
                out.push_str(&props);
                out.push(' ');
                block_scalar(sc, item.comments.line.as_deref(), indent + 2, out);
            }
            _ => {
                out.push_str(&props);
                let null = item.is_null() && item.tag.is_none() && item.as_str() == Some("");
                if !null {
                    out.push(' ');
                    inline(item, false, out);
                }
                line_comment(item.comments.line.as_deref(), out);
                out.push('\n');
            }
        }
    }
}

/// Whether a multi-line string can be a literal block (no trailing spaces on lines,
/// no control characters, no leading blank-with-spaces weirdness).
fn literal_ok(v: &str) -> bool {
    !v.chars()
        .any(|c| (c.is_control() && c != '\n') || c == '\u{feff}')
        && !v.split('\n').any(|l| l.ends_with(' ') || l.ends_with('\t'))
}

fn block_scalar(s: &Scalar, comment: Option<&str>, indent: usize, out: &mut String) {
    if let Some(raw) = &s.raw
        && matches!(s.style, ScalarStyle::Literal | ScalarStyle::Folded)
    {
        let mut parts = raw.split('\n');
        let header = parts.next().unwrap_or("|");
        let lines: Vec<&str> = parts.collect();
        if decode_block(header, &lines) == s.value && (!header.bytes().any(|b| b.is_ascii_digit()))
        {
            out.push_str(header);
            line_comment(comment, out);
            out.push('\n');
            for l in lines {
                if !l.is_empty() {
                    pad(indent, out);
                    out.push_str(l);
                }
                out.push('\n');
            }
            return;
        }
    }
    let v = &s.value;
    if v.bytes().all(|b| b == b'\n') {
        // a block without a content line takes its indentation from whatever line
        // comes next (at the document root: any line): write it quoted instead
        double_quote(v, out);
        line_comment(comment, out);
        out.push('\n');
        return;
    }
    let (chomp, body) = if let Some(b) = v.strip_suffix('\n') {
        if b.ends_with('\n') || b.is_empty() {
            ("+", b)
        } else {
            ("", b)
        }
    } else {
        ("-", v.as_str())
    };
    out.push('|');
    if body.starts_with(' ') || body.starts_with('\n') {
        out.push('2');
    }
    out.push_str(chomp);
    line_comment(comment, out);
    out.push('\n');
    for l in body.split('\n') {
        if !l.is_empty() {
            pad(indent, out);
            out.push_str(l);
        }
        out.push('\n');
    }
}

/// A node written on one line (scalars, aliases, flow collections).
fn inline(n: &Node, flow: bool, out: &mut String) {
    match &n.value {
        Value::Scalar(s) => scalar(s, flow, out),
        Value::Alias(a) => {
            out.push('*');
            out.push_str(a);
        }
        Value::Mapping(m) => {
            if m.entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, e) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inline(&e.key, true, out);
                if matches!(e.key.value, Value::Alias(_)) {
                    out.push(' ');
                }
                out.push(':');
                if !(e.value.is_null() && e.value.as_str() == Some("")) {
                    out.push(' ');
                    let p = props(&e.value);
                    out.push_str(p.trim_start());
                    if !p.is_empty() {
                        out.push(' ');
                    }
                    inline(&e.value, true, out);
                }
            }
            out.push('}');
        }
        Value::Sequence(s) => {
            out.push('[');
            for (i, item) in s.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let p = props(item);
                out.push_str(p.trim_start());
                if !p.is_empty() {
                    out.push(' ');
                }
                inline(item, true, out);
            }
            out.push(']');
        }
    }
}

fn scalar(s: &Scalar, flow: bool, out: &mut String) {
    if let Some(raw) = &s.raw
        && matches!(
            s.style,
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted
        )
        && raw_matches(raw, &s.value)
    {
        out.push_str(raw);
        return;
    }
    match s.style {
        ScalarStyle::Plain if s.value.is_empty() => {}
        ScalarStyle::Plain if plain_safe_in(&s.value, flow) => out.push_str(&s.value),
        ScalarStyle::SingleQuoted if !s.value.contains(|c: char| c.is_control()) => {
            out.push('\'');
            out.push_str(&s.value.replace('\'', "''"));
            out.push('\'');
        }
        _ => double_quote(&s.value, out),
    }
}

/// Whether the source text of a quoted scalar still decodes to `value` (fast path
/// for the common escape-free case).
fn raw_matches(raw: &str, value: &str) -> bool {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    if raw.len() >= 2 && !inner.contains(['\\', '\'', '"']) {
        return inner == value;
    }
    decode_quoted(raw).as_deref() == Some(value)
}

fn double_quote(v: &str, out: &mut String) {
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || c == '\u{feff}' => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else {
                    out.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// True when `s` can be written as a plain scalar in block context.
pub fn plain_safe(s: &str) -> bool {
    plain_safe_in(s, false)
}

fn plain_safe_in(s: &str, flow: bool) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if first == b' ' || b[b.len() - 1] == b' ' || first == b'\t' || b[b.len() - 1] == b'\t' {
        return false;
    }
    let next = b.get(1).copied();
    match first {
        b'-' | b'?' | b':' => {
            if matches!(next, None | Some(b' ' | b'\t')) {
                return false;
            }
            if flow && first == b':' {
                return false;
            }
        }
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' => return false,
        _ => {}
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if s.ends_with(':') {
        return false;
    }
    if !s.is_ascii()
        && s.chars()
            .any(|c| c.is_control() || matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}'))
    {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        if !SPECIAL[c as usize] {
            continue;
        }
        match c {
            0..=0x1f | 0x7f => return false,
            b':' if matches!(b.get(i + 1), Some(b' ' | b'\t')) => return false,
            b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t') => return false,
            b',' | b'[' | b']' | b'{' | b'}' if flow => return false,
            b':' if flow && matches!(b.get(i + 1), Some(b',' | b']' | b'}')) => return false,
            _ => {}
        }
    }
    true
}

/// Bytes that need a closer look inside a plain scalar.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[0x7f] = true;
    t[b':' as usize] = true;
    t[b'#' as usize] = true;
    t[b',' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t
};
