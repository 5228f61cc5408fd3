//! A fast reader for the everyday subset of YAML that kpt, kyaml and people write
//! into ResourceLists: block mappings and sequences, single-line plain and quoted
//! scalars, literal block scalars and single-line flow collections.
//!
//! It is a pure optimisation: anything outside that subset (anchors, tags,
//! multi-line plain or quoted scalars, folded scalars, several documents,
//! duplicate keys, odd characters...) makes it give up with `None`, and the
//! caller parses the text with serde-saphyr instead. Plain scalars that could be
//! anything but a string (numbers, booleans, nulls) are resolved by
//! serde-saphyr as well, one scalar at a time, so both paths agree on types.

use serde_json::{Map, Value};

/// Deeper documents go to the full parser (which enforces its own budget).
const MAX_DEPTH: usize = 100;

/// Parse `text` when it stays inside the subset; the root must be a mapping.
pub fn parse(text: &str) -> Option<Value> {
    if !clean_characters(text.as_bytes()) {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut p = Reader {
        lines,
        next: 0,
        depth: 0,
        ends_with_newline: text.ends_with('\n'),
    };
    let mut start = p.next_content(0)?;
    if p.lines[start.0] == "---" {
        start = p.next_content(start.0 + 1)?;
    }
    // Further documents or directives belong to the full parser.
    if p.lines[start.0..].iter().any(|l| is_marker(l)) {
        return None;
    }
    if start.1 != 0 {
        return None;
    }
    let root = p.block_node(start.0, 0, 0)?;
    if p.next_content(p.next).is_some() || !root.is_object() {
        return None;
    }
    Some(root)
}

fn is_marker(l: &str) -> bool {
    l.starts_with("---") || l.starts_with("...") || l.starts_with('%')
}

/// Only printable characters, spaces and `\n` (no tabs, CR, BOM or C1 controls).
fn clean_characters(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if (c < 0x20 && c != b'\n') || c == 0x7f {
            return false;
        }
        if c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)) {
            return false;
        }
        // U+2028/U+2029: line separators some parsers treat as breaks.
        if c == 0xe2 && b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xa8 | 0xa9)) {
            return false;
        }
        if c == 0xef
            && matches!(
                (b.get(i + 1), b.get(i + 2)),
                (Some(0xbb), Some(0xbf)) | (Some(0xbf), Some(0xbe | 0xbf))
            )
        {
            return false;
        }
        i += 1;
    }
    true
}

struct Reader<'a> {
    lines: Vec<&'a str>,
    /// First line not consumed by the node parsed last.
    next: usize,
    depth: usize,
    ends_with_newline: bool,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_seq_entry(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ")
}

/// Blank or comment-only.
fn is_empty_or_comment(rest: &str) -> bool {
    let t = rest.trim_start_matches(' ');
    t.is_empty() || t.starts_with('#')
}

impl Reader<'_> {
    /// The first line at or after `from` with content: (index, indentation).
    fn next_content(&self, from: usize) -> Option<(usize, usize)> {
        (from..self.lines.len()).find_map(|i| {
            let l = self.lines[i];
            (!is_empty_or_comment(l)).then(|| (i, indent_of(l)))
        })
    }

    /// A node starting at `(line, col)`, inside a collection indented `owner`.
    fn block_node(&mut self, line: usize, col: usize, owner: usize) -> Option<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let rest = &self.lines[line][col..];
        let v = if is_seq_entry(rest) {
            self.sequence(line, col)
        } else if split_key(rest)?.is_some() {
            self.mapping(line, col)
        } else {
            self.inline_value(line, col, owner)
        };
        self.depth -= 1;
        v
    }

    fn mapping(&mut self, mut line: usize, col: usize) -> Option<Value> {
        let mut m = Map::new();
        loop {
            let rest = &self.lines[line][col..];
            let (key, after_colon) = split_key(rest)??;
            let after = &rest[after_colon..];
            let value = if is_empty_or_comment(after) {
                match self.next_content(line + 1) {
                    Some((j, ind)) if ind > col => self.block_node(j, ind, col)?,
                    Some((j, ind)) if ind == col && is_seq_entry(&self.lines[j][ind..]) => {
                        self.depth += 1;
                        let s = self.sequence(j, ind)?;
                        self.depth -= 1;
                        s
                    }
                    _ => {
                        self.next = line + 1;
                        Value::Null
                    }
                }
            } else {
                let vcol = col + after_colon + (after.len() - after.trim_start_matches(' ').len());
                self.inline_value(line, vcol, col)?
            };
            if m.insert(key, value).is_some() {
                return None;
            }
            match self.next_content(self.next) {
                Some((j, ind)) if ind == col => line = j,
                Some((_, ind)) if ind > col => return None,
                _ => return Some(Value::Object(m)),
            }
        }
    }

    fn sequence(&mut self, mut line: usize, col: usize) -> Option<Value> {
        let mut items = Vec::new();
        loop {
            let after = &self.lines[line][col + 1..];
            let item = if is_empty_or_comment(after) {
                match self.next_content(line + 1) {
                    Some((j, ind)) if ind > col => self.block_node(j, ind, col)?,
                    _ => {
                        self.next = line + 1;
                        Value::Null
                    }
                }
            } else {
                let ccol = col + 1 + (after.len() - after.trim_start_matches(' ').len());
                self.block_node(line, ccol, col)?
            };
            items.push(item);
            match self.next_content(self.next) {
                Some((j, ind)) if ind == col && is_seq_entry(&self.lines[j][col..]) => line = j,
                Some((_, ind)) if ind > col => return None,
                _ => return Some(Value::Array(items)),
            }
        }
    }

    /// A scalar or flow collection starting at `(line, col)`; consumes its lines.
    fn inline_value(&mut self, line: usize, col: usize, owner: usize) -> Option<Value> {
        let rest = &self.lines[line][col..];
        let (value, used) = match rest.as_bytes().first()? {
            b'|' => return self.literal(line, rest, owner),
            b'"' | b'\'' => {
                let (s, used) = quoted(rest)?;
                (Value::String(s), used)
            }
            b'[' | b'{' => flow_node(rest, 0)?,
            _ => {
                let end = rest.find(" #").unwrap_or(rest.len());
                let s = rest[..end].trim_end_matches(' ');
                (plain_block(s)?, end)
            }
        };
        let after = &rest[used..];
        if !(after.is_empty() || after.starts_with(' ') && is_empty_or_comment(after)) {
            return None;
        }
        self.next = line + 1;
        Some(value)
    }

    /// A literal block scalar (`|`, `|-`, `|+`) whose header is `header` on `line`.
    fn literal(&mut self, line: usize, header: &str, owner: usize) -> Option<Value> {
        let (chomp, tail) = match header.as_bytes().get(1) {
            Some(b'-') => (Chomp::Strip, &header[2..]),
            Some(b'+') => (Chomp::Keep, &header[2..]),
            _ => (Chomp::Clip, &header[1..]),
        };
        if !tail.is_empty() && !tail.starts_with(' ') || !is_empty_or_comment(tail) {
            return None;
        }
        // The content indentation is the first non-blank line's.
        let first = (line + 1..self.lines.len())
            .find(|&j| !self.lines[j].trim_start_matches(' ').is_empty());
        let n = match first {
            Some(j) => indent_of(self.lines[j]),
            None => 0,
        };
        if n <= owner {
            // Empty scalar; keep-chomping of the blank lines is left to the full parser.
            if chomp == Chomp::Keep
                || (line + 1..first.unwrap_or(self.lines.len()))
                    .next()
                    .is_some()
            {
                return None;
            }
            self.next = line + 1;
            return Some(Value::String(String::new()));
        }
        let mut body: Vec<&str> = Vec::new();
        let mut j = line + 1;
        while j < self.lines.len() {
            let l = self.lines[j];
            let ind = indent_of(l);
            if ind == l.len() {
                if ind > n {
                    return None;
                }
                body.push("");
            } else if ind >= n {
                body.push(&l[n..]);
            } else {
                break;
            }
            j += 1;
        }
        if j == self.lines.len() && !self.ends_with_newline {
            return None;
        }
        let trailing = body.iter().rev().take_while(|l| l.is_empty()).count();
        let kept = &body[..body.len() - trailing];
        let mut s = kept.join("\n");
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => s.push('\n'),
            Chomp::Keep => {
                s.push('\n');
                for _ in 0..trailing {
                    s.push('\n');
                }
            }
        }
        self.next = j;
        Some(Value::String(s))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chomp {
    Clip,
    Strip,
    Keep,
}

/// `Ok(Some((key, offset after the colon)))` when `rest` starts a mapping entry,
/// `Ok(None)` when it is a plain value, `Err` (as `None`) when unsure.
fn split_key(rest: &str) -> Option<Option<(String, usize)>> {
    let b = rest.as_bytes();
    match b.first()? {
        b'"' | b'\'' => {
            let (key, used) = quoted(rest)?;
            match &rest[used..] {
                ":" => Some(Some((key, used + 1))),
                r if r.starts_with(": ") => Some(Some((key, used + 1))),
                _ => {
                    // A quoted value, unless a colon comes later (a key we do not handle).
                    if rest[used..].contains(':') {
                        None
                    } else {
                        Some(None)
                    }
                }
            }
        }
        b'[' | b'{' | b'|' | b'>' => Some(None),
        b'&' | b'*' | b'!' | b'?' | b'%' | b'@' | b'`' | b',' | b']' | b'}' | b':' | b'#' => None,
        _ => {
            // The first `:` followed by a space or the end, before any ` #` comment.
            let mut prev = 0u8;
            for (at, &c) in b.iter().enumerate() {
                if c == b'#' && prev == b' ' {
                    break;
                }
                if c == b':' && (at + 1 == b.len() || b[at + 1] == b' ') {
                    let key = rest[..at].trim_end_matches(' ');
                    if key.is_empty()
                        || key == "<<"
                        || !plain_is_string(key)
                        || key.starts_with("- ")
                        || key == "-"
                    {
                        return None;
                    }
                    return Some(Some((key.to_string(), at + 1)));
                }
                prev = c;
            }
            Some(None)
        }
    }
}

/// A single-line quoted scalar at the start of `s`: (value, bytes used).
fn quoted(s: &str) -> Option<(String, usize)> {
    let b = s.as_bytes();
    let q = b[0];
    let mut out = String::new();
    let mut i = 1;
    let mut run = 1;
    while i < b.len() {
        let c = b[i];
        if q == b'\'' && c == b'\'' {
            out.push_str(&s[run..i]);
            if b.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                run = i;
                continue;
            }
            return Some((out, i + 1));
        }
        if q == b'"' && c == b'"' {
            out.push_str(&s[run..i]);
            return Some((out, i + 1));
        }
        if q == b'"' && c == b'\\' {
            out.push_str(&s[run..i]);
            let (ch, len) = escape(&s[i + 1..])?;
            out.push(ch);
            i += 1 + len;
            run = i;
            continue;
        }
        i += 1;
    }
    None
}

/// A double-quoted escape after the backslash: (character, bytes used).
fn escape(s: &str) -> Option<(char, usize)> {
    let c = *s.as_bytes().first()?;
    let simple = match c {
        b'0' => Some('\0'),
        b'a' => Some('\u{7}'),
        b'b' => Some('\u{8}'),
        b't' => Some('\t'),
        b'n' => Some('\n'),
        b'v' => Some('\u{b}'),
        b'f' => Some('\u{c}'),
        b'r' => Some('\r'),
        b'e' => Some('\u{1b}'),
        b' ' => Some(' '),
        b'"' => Some('"'),
        b'/' => Some('/'),
        b'\\' => Some('\\'),
        b'N' => Some('\u{85}'),
        b'_' => Some('\u{a0}'),
        b'L' => Some('\u{2028}'),
        b'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(ch) = simple {
        return Some((ch, 1));
    }
    let digits = match c {
        b'x' => 2,
        b'u' => 4,
        b'U' => 8,
        _ => return None,
    };
    let hex = s.get(1..1 + digits)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((ch, 1 + digits))
}

/// A plain scalar in block context, already cut at a comment and trimmed.
fn plain_block(s: &str) -> Option<Value> {
    let first = *s.as_bytes().first()?;
    if b"?:,[]{}#&*!|>'\"%@`".contains(&first)
        || (first == b'-' && (s.len() == 1 || s.as_bytes()[1] == b' '))
        || s.contains(": ")
        || s.ends_with(':')
    {
        return None;
    }
    resolve_plain(s)
}

/// Whether a plain scalar certainly reads as a string (no number, bool or null form).
fn plain_is_string(s: &str) -> bool {
    let Some(first) = s.bytes().next() else {
        return false;
    };
    if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.' | b'~') {
        return false;
    }
    if s.len() <= 8 {
        let l = s.to_ascii_lowercase();
        if matches!(
            l.as_str(),
            "null"
                | "true"
                | "false"
                | "yes"
                | "no"
                | "on"
                | "off"
                | "y"
                | "n"
                | "inf"
                | "infinity"
                | "nan"
        ) {
            return false;
        }
    }
    true
}

/// The value of a plain scalar: a string, a simple integer, or whatever
/// serde-saphyr makes of it.
fn resolve_plain(s: &str) -> Option<Value> {
    if plain_is_string(s) {
        return Some(Value::String(s.to_string()));
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && !(s.starts_with('-') && digits == "0")
    {
        let n: i64 = s.parse().ok()?;
        return Some(Value::from(n));
    }
    match super::parse_str_reference(s) {
        Ok(v @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_))) => Some(v),
        _ => None,
    }
}

/// A flow node at the start of `s` (single line): (value, bytes used).
fn flow_node(s: &str, depth: usize) -> Option<(Value, usize)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let b = s.as_bytes();
    match b.first()? {
        b'[' => {
            let mut items = Vec::new();
            let mut i = skip_spaces(s, 1);
            if b.get(i) == Some(&b']') {
                return Some((Value::Array(items), i + 1));
            }
            loop {
                let (v, used) = flow_scalar_or_collection(&s[i..], depth, false)?;
                items.push(v);
                i = skip_spaces(s, i + used);
                match b.get(i)? {
                    b',' => {
                        i = skip_spaces(s, i + 1);
                        if b.get(i) == Some(&b']') {
                            return Some((Value::Array(items), i + 1));
                        }
                    }
                    b']' => return Some((Value::Array(items), i + 1)),
                    _ => return None,
                }
            }
        }
        b'{' => {
            let mut m = Map::new();
            let mut i = skip_spaces(s, 1);
            if b.get(i) == Some(&b'}') {
                return Some((Value::Object(m), i + 1));
            }
            loop {
                let (k, used) = flow_scalar_or_collection(&s[i..], depth, true)?;
                let Value::String(k) = k else { return None };
                if k == "<<" || m.contains_key(&k) {
                    return None;
                }
                i += used;
                if b.get(i) != Some(&b':') || b.get(i + 1) != Some(&b' ') {
                    return None;
                }
                i = skip_spaces(s, i + 1);
                let (v, used) = flow_scalar_or_collection(&s[i..], depth, false)?;
                m.insert(k, v);
                i = skip_spaces(s, i + used);
                match b.get(i)? {
                    b',' => {
                        i = skip_spaces(s, i + 1);
                        if b.get(i) == Some(&b'}') {
                            return Some((Value::Object(m), i + 1));
                        }
                    }
                    b'}' => return Some((Value::Object(m), i + 1)),
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

fn skip_spaces(s: &str, from: usize) -> usize {
    from + s
        .get(from..)
        .map_or(0, |r| r.len() - r.trim_start_matches(' ').len())
}

/// One entry inside a flow collection. Keys must be strings.
fn flow_scalar_or_collection(s: &str, depth: usize, key: bool) -> Option<(Value, usize)> {
    let b = s.as_bytes();
    match b.first()? {
        b'[' | b'{' if !key => flow_node(s, depth + 1),
        b'"' | b'\'' => {
            let (v, used) = quoted(s)?;
            Some((Value::String(v), used))
        }
        c if b"?:,[]{}#&*!|>%@`".contains(c) => None,
        _ => {
            let end = s
                .bytes()
                .enumerate()
                .position(|(i, c)| {
                    matches!(c, b',' | b'[' | b']' | b'{' | b'}' | b'#')
                        || (c == b':'
                            && matches!(b.get(i + 1), None | Some(b' ' | b',' | b']' | b'}')))
                })
                .unwrap_or(s.len());
            // `#` only starts a comment after a space; inside a word it is unusual: leave it.
            if b.get(end) == Some(&b'#') {
                return None;
            }
            // A `: ` outside a mapping key would be a single-pair mapping.
            if !key && b.get(end) == Some(&b':') {
                return None;
            }
            let text = s[..end].trim_end_matches(' ');
            if text.is_empty()
                || (text.starts_with('-') && (text.len() == 1 || text.as_bytes()[1] == b' '))
            {
                return None;
            }
            let v = if key {
                if !plain_is_string(text) {
                    return None;
                }
                Value::String(text.to_string())
            } else {
                resolve_plain(text)?
            };
            Some((v, text.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the fast reader answers, it must answer exactly as serde-saphyr does.
    fn agrees(text: &str) -> bool {
        let fast = parse(text);
        if let Some(v) = &fast {
            let reference = super::super::parse_str_reference(text);
            assert_eq!(
                Ok(v),
                reference.as_ref(),
                "fast reader disagrees on:\n{text}"
            );
        }
        fast.is_some()
    }

    const TYPICAL: &[&str] = &[
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: app # the app\n    namespace: old\n    annotations:\n      internal.config.kubernetes.io/path: 'app.yaml'\n      internal.config.kubernetes.io/index: '0'\n  spec:\n    replicas: 3\n    template:\n      spec:\n        containers:\n        - name: app\n          image: nginx:1.1\n          args: [\"--a\", b, 'c d', 12, -3, true]\n          ports:\n          - containerPort: 80\n            protocol: TCP\n",
        "---\n# leading comment\nkind: ResourceList\nitems: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {namespace: prod, num: 3, e: {}, l: [], q: \"x, y\"}}\n",
        "a:\n  b:\n    - x\n    -   y\n    -\n      z: 1\n    - - nested\n      - more\n  c: \"esc \\\" \\\\ \\n \\t \\u00e9 \\x41 \\/\"\n  d: 'it''s'\n  e:\n  f: ~\n  g: null\n",
        "script: |\n  line one\n    indented\n\n  after blank\nstrip: |-\n  no newline\nkeep: |+\n  kept\n\n\nnext: 1\nempty: |\nafter: x\nseq:\n- |\n  in a seq\n- |-\n  # not a comment\n  text\n",
        "k:\n  - a\n  # comment between\n  - b # trailing\n\n\nm: v\nunicode: héllo wörld ✓\n\"quoted key\": 1\n'single key': 2\nurl: http://example.com:8080/path?x=1#frag\nhash: a#b\n",
        "scalars:\n  k_i: 0\n  k_j: -17\n  k_big: 123456789012345678\n  k_huge: 12345678901234567890123\n  k_f: 1.5\n  k_e: 1e3\n  k_neg: -1.5e-3\n  k_plus: +1\n  k_oct: 0o17\n  k_hex: 0x1F\n  k_lead: 007\n  k_under: 1_000\n  k_dot: .5\n  k_winf: inf\n  k_wnan: nan\n  k_t: true\n  k_T: True\n  k_TT: TRUE\n  k_f2: false\n  k_y: y\n  k_yes: yes\n  k_No: No\n  k_on: on\n  k_off: off\n  k_tilde: ~\n  k_Null: Null\n  k_NULL: NULL\n  k_mz: -0\n  k_date: 2024-01-01\n  k_time: 12:30:00\n  k_ver: 1.2.3\n  k_dash: -foo\n",
    ];

    #[test]
    fn typical_documents_take_the_fast_path_and_agree() {
        for t in TYPICAL {
            agrees(t);
        }
        // The shapes kpt writes must not fall back.
        assert!(agrees(TYPICAL[0]));
        assert!(agrees(TYPICAL[1]));
        assert!(agrees(TYPICAL[2]));
        assert!(agrees(TYPICAL[3]));
        assert!(agrees(TYPICAL[4]));
        assert!(agrees(TYPICAL[5]));
    }

    #[test]
    fn unusual_documents_fall_back() {
        for t in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: >\n  folded\n  text\n",
            "a: multi\n  line plain\n",
            "a: \"multi\n  line\"\n",
            "a: 1\n---\nb: 2\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\na: 2\n",
            "<<: {a: 1}\nb: 2\n",
            "a:\tb\n",
            "a: b\r\n",
            "\u{feff}a: 1\n",
            "- a\n- b\n",
            "just a scalar\n",
            "? complex\n: key\n",
            "a: [b,\n  c]\n",
            "a: |2\n   x\n",
            "a: b: c\n",
            "1: x\n",
            "a:\n  b: 1\n c: 2\n",
            "",
        ] {
            assert!(!agrees(t), "should fall back:\n{t}");
        }
    }

    #[test]
    fn edge_cases_agree_when_accepted() {
        for t in [
            "a: |\n\n  x\n",
            "a: |\n  x\n\n",
            "a: |+\n  x\n\n",
            "a: |-\n  x\n\n",
            "a: |\n  x\n   \n  y\n",
            "a: |\n  x\n# c\nb: 1\n",
            "a: |\n  x",
            "a: |\n    deep\n  shallow\n",
            "a:\n- |\n  x\n-\n- y\n",
            "a: {b: [1, {c: d}], 'e': \"f\"}\n",
            "a: [ ]\n",
            "a: [a, b, ]\n",
            "a: {b: c,}\n",
            "a: [a:b, http://x]\n",
            "a: [a: b]\n",
            "a: {b}\n",
            "a: '' # c\n",
            "a: \"\" \n",
            "a: x #c\nb: y#z\n",
            "a:    spaced   \n",
            "a: \"\\U0001F600 \\N \\_ \\e\"\n",
            "a: \"\\q\"\n",
            "a: 'x' y\n",
            "a: -\n",
            "a: - b\n",
            "key with spaces: v\n",
            "a:\n  - b: 1\n    c: 2\n  - d\n",
            "a:\n -   b: 1\n     c: 2\n",
            "a: 1 # c: d\n",
            "a: x:\n",
            "a: x:y\n",
            "a:\n\n  b: 1\n\n",
            "a:\n  b\n",
            "a:\n  b\n  c\n",
            "- x\n",
            "a: .inf\n",
            "a: -.Inf\n",
        ] {
            agrees(t);
        }
    }

    /// Set `FAST_YAML_CORPUS` to a directory to compare both readers on every
    /// `.yaml`/`.yml` file under it (each document separately).
    #[test]
    #[ignore = "needs a corpus directory"]
    fn corpus_agrees() {
        let Ok(dir) = std::env::var("FAST_YAML_CORPUS") else {
            return;
        };
        let (mut fast, mut total) = (0, 0);
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                    let Ok(text) = std::fs::read_to_string(&p) else {
                        continue;
                    };
                    for doc in text.split("\n---\n") {
                        total += 1;
                        if parse(doc).is_some() {
                            let r = super::super::parse_str_reference(doc);
                            assert_eq!(
                                parse(doc).as_ref(),
                                r.as_ref().ok(),
                                "{}:\n{doc}",
                                p.display()
                            );
                            fast += 1;
                        }
                    }
                }
            }
        }
        eprintln!("fast path took {fast} of {total} documents");
    }
}
