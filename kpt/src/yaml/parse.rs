//! A YAML parser that keeps comments, blank lines, key order and scalar styles.
//!
//! Block and flow collections, plain/quoted/block scalars, anchors, aliases and tags
//! (kept as written), multi-document streams with `---` and `...`.
//!
//! Limits, each a [`YamlError`] naming the line and the construct, never a silent
//! loss: complex keys (`? `); comments inside a flow collection nested in another
//! flow collection or inside an empty one. A flow collection with comments at block
//! level becomes a block collection that keeps them (flow style is one line).

use super::node::{Entry, Mapping, Node, Scalar, ScalarStyle, Sequence, Value};
use super::{Document, Stream, YamlError};

type Result<T> = std::result::Result<T, YamlError>;

/// Parse a stream of YAML documents.
pub fn parse_stream(text: &str) -> Result<Stream> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let owned;
    let text = if text.contains('\r') {
        // CR LF and a lone CR are both line breaks
        owned = text.replace("\r\n", "\n").replace('\r', "\n");
        owned.as_str()
    } else {
        text
    };
    let mut p = Parser {
        src: text.as_bytes(),
        text,
        pos: 0,
        line: 1,
        line_start: 0,
        depth: 0,
        flow_level: 0,
        entries: Vec::new(),
        items: Vec::new(),
        eol: std::cell::Cell::new((usize::MAX, 0)),
    };
    p.stream()
}

/// Parse a single YAML document (error if there are several).
pub fn parse_document(text: &str) -> Result<Document> {
    let mut s = parse_stream(text)?;
    let n = s.docs.iter().filter(|d| d.root.is_some()).count();
    if n > 1 {
        return Err(YamlError::new(
            1,
            1,
            "expected a single YAML document, found several",
        ));
    }
    let i = s.docs.iter().position(|d| d.root.is_some()).unwrap_or(0);
    if s.docs.is_empty() {
        return Ok(Document::default());
    }
    Ok(s.docs.swap_remove(i))
}

const MAX_DEPTH: usize = 128;

/// YAML's white space (other Unicode spaces are content).
const YAML_SPACE: [char; 2] = [' ', '\t'];

struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
    line_start: usize,
    depth: usize,
    /// How many flow collections enclose the cursor.
    flow_level: usize,
    /// Entries of the block mappings being parsed (innermost last).
    entries: Vec<Entry>,
    /// Items of the block sequences being parsed (innermost last).
    items: Vec<Node>,
    /// The last line end found: `(from, end)` where `end` is the first `\n` at or
    /// after `from` (or the input's length); valid for any position in `from..=end`.
    eol: std::cell::Cell<(usize, usize)>,
}

/// What follows at block level: the comment lines (not consumed) and the next content line.
struct Lookahead {
    comments: Vec<(String, usize)>,
    /// (byte offset of line start, indent, line number), None at end of input.
    content: Option<(usize, usize, usize)>,
    /// The content line is a document marker (`---` / `...`).
    marker: bool,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T> {
        Err(YamlError::new(self.line, self.col() + 1, msg))
    }

    fn col(&self) -> usize {
        self.pos - self.line_start
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }

    fn at_eol(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n'))
    }

    fn is_blank_or_eol(b: Option<u8>) -> bool {
        matches!(b, None | Some(b' ' | b'\t' | b'\n'))
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Move to the start of the next line (or the end).
    fn next_line(&mut self) {
        let end = self.line_end();
        if end < self.src.len() {
            self.pos = end + 1;
            self.line += 1;
            self.line_start = self.pos;
        } else {
            self.pos = self.src.len();
        }
    }

    /// The offset of the `\n` ending the cursor's line (or the input's length).
    fn line_end(&self) -> usize {
        let (from, end) = self.eol.get();
        if from <= self.pos && self.pos <= end {
            return end;
        }
        let end = find_newline(self.src, self.pos);
        self.eol.set((self.pos, end));
        end
    }

    fn seek_line(&mut self, start: usize, line: usize) {
        self.pos = start;
        self.line_start = start;
        self.line = line;
    }

    fn rest_of_line(&self) -> &'a str {
        let end = self.line_end().min(self.src.len());
        self.text.get(self.pos..end).unwrap_or("")
    }

    fn is_marker_line(src: &[u8], start: usize) -> bool {
        let l = &src[start..];
        (l.starts_with(b"---") || l.starts_with(b"..."))
            && matches!(l.get(3), None | Some(b' ' | b'\t' | b'\n'))
    }

    /// Look past blank and comment lines from the current line start.
    fn lookahead(&self) -> Result<Lookahead> {
        let mut comments = Vec::new();
        // from the start of the next unread line (at the end when the input ends mid-line)
        let (mut pos, mut line) = if self.pos == self.line_start {
            (self.pos, self.line)
        } else {
            match self.line_end() {
                e if e < self.src.len() => (e + 1, self.line + 1),
                _ => (self.src.len(), self.line),
            }
        };
        loop {
            if pos >= self.src.len() {
                return Ok(Lookahead {
                    comments,
                    content: None,
                    marker: false,
                });
            }
            let mut i = pos;
            while i < self.src.len() && self.src[i] == b' ' {
                i += 1;
            }
            let indent = i - pos;
            let end = find_newline(self.src, i);
            self.eol.set((pos, end));
            let rest = &self.text[i..end];
            let trimmed = rest.trim_end_matches(YAML_SPACE);
            if trimmed.is_empty() {
                comments.push((String::new(), 0));
            } else if trimmed.starts_with('#') {
                comments.push((trimmed.to_string(), indent));
            } else if rest.starts_with('\t') && trimmed.trim_start().starts_with('#') {
                comments.push((trimmed.trim_start().to_string(), indent));
            } else {
                if rest.starts_with('\t') {
                    return Err(YamlError::new(
                        line,
                        indent + 1,
                        "found a tab character where an indentation space is expected",
                    ));
                }
                let marker = indent == 0 && Self::is_marker_line(self.src, pos);
                return Ok(Lookahead {
                    comments,
                    content: Some((pos, indent, line)),
                    marker,
                });
            }
            pos = end + 1;
            line += 1;
        }
    }

    fn stream(&mut self) -> Result<Stream> {
        let mut docs = Vec::new();
        let mut explicit_start = false;
        let mut start_comment = None;
        let mut inline_root = false;
        loop {
            // at a line start (or just after `---` when inline_root)
            let mut doc = Document {
                explicit_start,
                start_comment: start_comment.take(),
                ..Document::default()
            };
            if inline_root {
                let (root, _) = self.value(-1, false, false)?;
                doc.root = Some(root);
            } else {
                let la = self.lookahead()?;
                if let Some((start, indent, line)) = la.content
                    && !la.marker
                {
                    let _ = indent;
                    let _ = (start, line);
                    doc.root = Some(self.block(-1)?);
                }
            }
            // trailing comments up to the next marker / EOF
            let la = self.lookahead()?;
            if let Some((start, indent, line)) = la.content
                && !la.marker
            {
                let _ = start;
                return Err(YamlError::new(
                    line,
                    indent + 1,
                    "unexpected content after the document",
                ));
            }
            doc.foot = la.comments.into_iter().map(|(c, _)| c).collect();
            match la.content {
                None => {
                    self.pos = self.src.len();
                    push_doc(&mut docs, doc);
                    break;
                }
                Some((start, _, line)) => {
                    self.seek_line(start, line);
                    if self.src[start..].starts_with(b"...") {
                        doc.explicit_end = true;
                        push_doc(&mut docs, doc);
                        self.pos += 3;
                        self.skip_spaces();
                        self.next_line();
                        // after `...` a new document needs `---` or only comments follow
                        let la = self.lookahead()?;
                        match la.content {
                            None => {
                                let rest: Vec<String> =
                                    la.comments.into_iter().map(|(c, _)| c).collect();
                                if rest.iter().any(|c| !c.is_empty()) {
                                    docs.push(Document {
                                        foot: rest,
                                        ..Document::default()
                                    });
                                }
                                break;
                            }
                            Some((s, _, l)) => {
                                if !la.marker {
                                    // a bare document after `...`
                                    explicit_start = false;
                                    inline_root = false;
                                    continue;
                                }
                                self.seek_line(s, l);
                                if self.src[s..].starts_with(b"...") {
                                    return self.err("unexpected document end marker");
                                }
                                // fallthrough to `---` handling below
                                let (c, inl) = self.start_marker();
                                start_comment = c;
                                inline_root = inl;
                                explicit_start = true;
                                continue;
                            }
                        }
                    }
                    push_doc(&mut docs, doc);
                    let (c, inl) = self.start_marker();
                    start_comment = c;
                    inline_root = inl;
                    explicit_start = true;
                }
            }
        }
        // a leading `---` only produces an empty first document when nothing precedes it
        if docs.len() > 1 && docs[0].is_empty() && !docs[0].explicit_start {
            docs.remove(0);
        }
        Ok(Stream { docs })
    }

    /// Consume a `---` marker; returns its comment and whether content follows inline.
    fn start_marker(&mut self) -> (Option<String>, bool) {
        self.pos += 3;
        self.skip_spaces();
        if self.peek() == Some(b'#') {
            let c = self.rest_of_line().trim_end().to_string();
            self.next_line();
            (Some(c), false)
        } else if self.at_eol() {
            self.next_line();
            (None, false)
        } else {
            (None, true)
        }
    }

    /// Parse a block node whose content line is found by lookahead from the current
    /// line start. Comment lines before it become the node's (or first entry's) head.
    fn block(&mut self, parent_indent: isize) -> Result<Node> {
        let la = self.lookahead()?;
        self.block_at(la, parent_indent)
    }

    /// [`Parser::block`] with the lookahead already taken from the current line start.
    fn block_at(&mut self, la: Lookahead, parent_indent: isize) -> Result<Node> {
        let Some((start, indent, line)) = la.content else {
            return Ok(Node::null());
        };
        // nesting is counted once per value (in `value`), so a block collection and
        // its inline form (`- - x`) cost the same depth
        let head: Vec<String> = la.comments.into_iter().map(|(c, _)| c).collect();
        self.seek_line(start, line);
        self.pos += indent;
        let kind = self.classify()?;
        let mut node = match kind {
            Kind::Sequence => {
                let mut n = self.sequence(indent, head)?;
                if let Value::Sequence(s) = &mut n.value {
                    s.wide = indent as isize > parent_indent;
                }
                n
            }
            Kind::Mapping => self.mapping(indent, head)?,
            Kind::Other => {
                let (mut n, _) = self.value(parent_indent, false, false)?;
                n.comments.head = head;
                n
            }
        };
        if node.line == 0 {
            node.line = line;
        }
        Ok(node)
    }

    /// What starts at the cursor: a block sequence, a block mapping, or something else.
    fn classify(&self) -> Result<Kind> {
        let b = self.peek();
        if b == Some(b'-') && Self::is_blank_or_eol(self.peek_at(1)) {
            return Ok(Kind::Sequence);
        }
        if self.line_has_key()? {
            return Ok(Kind::Mapping);
        }
        Ok(Kind::Other)
    }

    /// Whether the text from the cursor is `key:` (a mapping entry).
    fn line_has_key(&self) -> Result<bool> {
        let rest = self.rest_of_line().as_bytes();
        let mut i = 0;
        // skip properties
        while i < rest.len() && (rest[i] == b'&' || rest[i] == b'!') {
            while i < rest.len() && rest[i] != b' ' {
                i += 1;
            }
            while i < rest.len() && rest[i] == b' ' {
                i += 1;
            }
        }
        match rest.get(i) {
            Some(b'"') | Some(b'\'') => {
                let q = rest[i];
                let mut j = i + 1;
                while j < rest.len() {
                    if rest[j] == b'\\' && q == b'"' {
                        j += 2;
                        continue;
                    }
                    if rest[j] == q {
                        if q == b'\'' && rest.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                let mut k = j + 1;
                while k < rest.len() && rest[k] == b' ' {
                    k += 1;
                }
                Ok(k < rest.len()
                    && rest[k] == b':'
                    && matches!(rest.get(k + 1), None | Some(b' ' | b'\t')))
            }
            Some(b'[' | b'{' | b'|' | b'>' | b'#' | b'*') | None => Ok(false),
            Some(b'?') if matches!(rest.get(i + 1), None | Some(b' ')) => {
                self.err("complex mapping keys (`? `) are not supported")
            }
            _ => Ok(find_plain_colon(&rest[i..]).is_some()),
        }
    }

    fn mapping(&mut self, indent: usize, mut head: Vec<String>) -> Result<Node> {
        let line = self.line;
        let mut m = Mapping::default();
        // entries gather on a shared stack and move into a vector of the exact size
        // at the end (fewer, smaller allocations than growing one per mapping)
        let base = self.entries.len();
        loop {
            // cursor at the key, column == indent
            let key_line = self.line;
            let mut key = self.key()?;
            key.line = key_line;
            key.comments.head = std::mem::take(&mut head);
            self.skip_spaces();
            if self.peek() != Some(b':') {
                return self.err("could not find expected ':'");
            }
            self.pos += 1;
            let (value, key_comment) = self.value(indent as isize, true, false)?;
            key.comments.line = key_comment;
            self.entries.push(Entry { key, value });
            // next entry?
            let la = self.lookahead()?;
            match la.content {
                Some((start, ind, l)) if ind == indent && !la.marker => {
                    head = la.comments.into_iter().map(|(c, _)| c).collect();
                    self.seek_line(start, l);
                    self.pos += indent;
                    if self.peek() == Some(b'-') && Self::is_blank_or_eol(self.peek_at(1)) {
                        return self.err("did not find expected key");
                    }
                    if !self.line_has_key()? {
                        return self.err("could not find expected ':'");
                    }
                }
                Some((_, ind, l)) if ind > indent && !la.marker => {
                    return Err(YamlError::new(
                        l,
                        ind + 1,
                        "mapping values are not allowed in this context (bad indentation)",
                    ));
                }
                _ => {
                    m.foot = self.take_foot(&la, indent);
                    break;
                }
            }
        }
        m.entries = self.entries.drain(base..).collect();
        let mut n = Node::new(Value::Mapping(m));
        n.line = line;
        Ok(n)
    }

    /// Consume comment lines at or right of `indent` that precede a dedent.
    fn take_foot(&mut self, la: &Lookahead, indent: usize) -> Vec<String> {
        let mut n = 0;
        for (c, col) in &la.comments {
            if c.is_empty() || *col >= indent {
                n += 1;
            } else {
                break;
            }
        }
        // trailing blank lines belong to whatever follows
        while n > 0 && la.comments[n - 1].0.is_empty() {
            n -= 1;
        }
        if n == 0 || indent == 0 && la.content.is_some() && !la.marker {
            return Vec::new();
        }
        let foot: Vec<String> = la.comments[..n].iter().map(|(c, _)| c.clone()).collect();
        for _ in 0..n {
            self.next_line();
        }
        foot
    }

    fn sequence(&mut self, indent: usize, mut head: Vec<String>) -> Result<Node> {
        let line = self.line;
        let mut s = Sequence::default();
        let base = self.items.len();
        loop {
            // cursor at `-`
            let item_line = self.line;
            self.pos += 1;
            let (mut item, lc) = self.value(indent as isize, false, true)?;
            if lc.is_some() {
                item.comments.line = lc;
            }
            item.comments.head = std::mem::take(&mut head);
            if item.line == 0 {
                item.line = item_line;
            }
            self.items.push(item);
            let la = self.lookahead()?;
            match la.content {
                Some((start, ind, l)) if ind == indent && !la.marker => {
                    let b = self.src.get(start + ind).copied();
                    let b1 = self.src.get(start + ind + 1).copied();
                    if b == Some(b'-') && Self::is_blank_or_eol(b1) {
                        head = la.comments.into_iter().map(|(c, _)| c).collect();
                        self.seek_line(start, l);
                        self.pos += indent;
                        continue;
                    }
                    s.foot = self.take_foot(&la, indent + 1);
                    break;
                }
                Some((_, ind, l)) if ind > indent && !la.marker => {
                    return Err(YamlError::new(
                        l,
                        ind + 1,
                        "did not find expected '-' indicator (bad indentation)",
                    ));
                }
                _ => {
                    s.foot = self.take_foot(&la, indent);
                    break;
                }
            }
        }
        s.items = self.items.drain(base..).collect();
        let mut n = Node::new(Value::Sequence(s));
        n.line = line;
        Ok(n)
    }

    fn key(&mut self) -> Result<Node> {
        let (tag, anchor) = self.props()?;
        let mut key = match self.peek() {
            Some(b'"') => self.double_quoted(-1)?,
            Some(b'\'') => self.single_quoted(-1)?,
            _ => {
                let rest = self.rest_of_line().as_bytes();
                let Some(i) = find_plain_colon(rest) else {
                    return self.err("could not find expected ':'");
                };
                let k = self.text[self.pos..self.pos + i]
                    .trim_end_matches(YAML_SPACE)
                    .to_string();
                self.pos += i;
                Node::plain(k)
            }
        };
        key.tag = tag;
        key.anchor = anchor;
        Ok(key)
    }

    /// Anchor and tag in any order.
    fn props(&mut self) -> Result<(Option<String>, Option<String>)> {
        let mut tag = None;
        let mut anchor = None;
        loop {
            match self.peek() {
                Some(b'!') => {
                    let t = self.word()?;
                    tag = Some(t);
                }
                Some(b'&') => {
                    let a = self.word()?;
                    anchor = Some(a[1..].to_string());
                }
                _ => return Ok((tag, anchor)),
            }
            self.skip_spaces();
        }
    }

    /// An anchor, alias or tag (indicator included).
    fn word(&mut self) -> Result<String> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if matches!(b, b' ' | b'\t' | b'\n' | b',' | b']' | b'}') {
                break;
            }
            self.pos += 1;
        }
        let w = &self.text[start..self.pos];
        if w.chars().any(char::is_control) {
            return Err(YamlError::new(
                self.line,
                start - self.line_start + 1,
                "found a control character in an anchor, alias or tag",
            ));
        }
        Ok(w.to_string())
    }

    /// Parse the value after `key:` or `- ` (or a document root). Returns the node and,
    /// when the value is a block that starts on the next line, the comment on this line.
    fn value(
        &mut self,
        parent_indent: isize,
        compact_seq_ok: bool,
        inline_map_ok: bool,
    ) -> Result<(Node, Option<String>)> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("document is nested too deeply");
        }
        let r = self.value_inner(parent_indent, compact_seq_ok, inline_map_ok);
        self.depth -= 1;
        r
    }

    fn value_inner(
        &mut self,
        parent_indent: isize,
        compact_seq_ok: bool,
        inline_map_ok: bool,
    ) -> Result<(Node, Option<String>)> {
        self.skip_spaces();
        let props_start = self.pos;
        let (mut tag, mut anchor) = self.props()?;
        let mut node;
        let mut key_comment = None;
        let start_col = self.col();
        match self.peek() {
            None | Some(b'\n') | Some(b'#') => {
                if self.peek() == Some(b'#') {
                    key_comment = Some(self.rest_of_line().trim_end().to_string());
                }
                self.next_line();
                let la = self.lookahead()?;
                let child = match la.content {
                    Some((start, ind, _)) if !la.marker => {
                        let is_dash = self.src.get(start + ind) == Some(&b'-')
                            && Self::is_blank_or_eol(self.src.get(start + ind + 1).copied());
                        (ind as isize) > parent_indent
                            || (compact_seq_ok && is_dash && ind as isize == parent_indent)
                    }
                    _ => false,
                };
                node = if child {
                    self.block_at(la, parent_indent)?
                } else {
                    Node::null()
                };
            }
            Some(b'|') | Some(b'>') => {
                node = self.block_scalar(parent_indent)?;
                if node.comments.line.is_some() {
                    key_comment = None;
                }
            }
            Some(b'*') => {
                let w = self.word()?;
                node = Node::new(Value::Alias(w[1..].to_string()));
                self.end_of_value(&mut node)?;
            }
            Some(b'[') | Some(b'{') => {
                node = self.flow(parent_indent)?;
                self.end_of_value(&mut node)?;
            }
            Some(b'-') if inline_map_ok && Self::is_blank_or_eol(self.peek_at(1)) => {
                node = self.sequence(start_col, Vec::new())?;
            }
            Some(_) => {
                let has_key = self.line_has_key()?;
                if inline_map_ok && has_key {
                    // properties before an implicit key belong to the key (`- !t k: v`),
                    // as the emitter writes them
                    self.pos = props_start;
                    (tag, anchor) = (None, None);
                    node = self.mapping(props_start - self.line_start, Vec::new())?;
                } else {
                    if has_key {
                        return self.err("mapping values are not allowed in this context");
                    }
                    node = match self.peek() {
                        Some(b'"') => self.double_quoted(parent_indent)?,
                        Some(b'\'') => self.single_quoted(parent_indent)?,
                        _ => self.plain(parent_indent)?,
                    };
                    self.end_of_value(&mut node)?;
                }
            }
        }
        node.tag = tag.or(node.tag.take());
        if anchor.is_some() {
            node.anchor = anchor;
        }
        Ok((node, key_comment))
    }

    /// After an inline value: optional comment, then end of line.
    fn end_of_value(&mut self, node: &mut Node) -> Result<()> {
        self.skip_spaces();
        match self.peek() {
            Some(b'#') => {
                node.comments.line = Some(self.rest_of_line().trim_end().to_string());
                self.next_line();
            }
            None | Some(b'\n') => self.next_line(),
            Some(_) => {
                return self
                    .err("did not find expected end of value (unexpected characters after it)");
            }
        }
        Ok(())
    }

    fn plain(&mut self, parent_indent: isize) -> Result<Node> {
        let line = self.line;
        let first = self.plain_line_end();
        let mut value = self.text[self.pos..first]
            .trim_end_matches(YAML_SPACE)
            .to_string();
        self.pos = first;
        // continuation lines
        loop {
            self.skip_spaces();
            if !self.at_eol() {
                break;
            }
            let save = (self.pos, self.line, self.line_start);
            self.next_line();
            let mut blanks = 0;
            let mut found = None;
            let mut p = self.pos;
            let mut l = self.line;
            while p < self.src.len() {
                let mut i = p;
                while i < self.src.len() && self.src[i] == b' ' {
                    i += 1;
                }
                if i >= self.src.len() || self.src[i] == b'\n' {
                    blanks += 1;
                    p = i + 1;
                    l += 1;
                    continue;
                }
                found = Some((p, i - p, l));
                break;
            }
            match found {
                Some((start, ind, l))
                    if (ind as isize) > parent_indent
                        && self.src[start + ind] != b'#'
                        && !(ind == 0 && Self::is_marker_line(self.src, start)) =>
                {
                    self.seek_line(start, l);
                    self.pos += ind;
                    if self.line_has_key()?
                        || (self.peek() == Some(b'-') && Self::is_blank_or_eol(self.peek_at(1)))
                    {
                        (self.pos, self.line, self.line_start) = save;
                        break;
                    }
                    let end = self.plain_line_end();
                    let piece = self.text[self.pos..end].trim_end_matches(YAML_SPACE);
                    if blanks == 0 {
                        value.push(' ');
                    } else {
                        for _ in 0..blanks {
                            value.push('\n');
                        }
                    }
                    value.push_str(piece);
                    self.pos = end;
                }
                _ => {
                    (self.pos, self.line, self.line_start) = save;
                    break;
                }
            }
        }
        let mut n = Node::plain(value);
        n.line = line;
        Ok(n)
    }

    /// End of a plain scalar on this line: before ` #`, or `: ` in flow-free context.
    fn plain_line_end(&self) -> usize {
        let rest = self.rest_of_line().as_bytes();
        let mut i = 0;
        while i < rest.len() {
            if rest[i] == b'#' && i > 0 && matches!(rest[i - 1], b' ' | b'\t') {
                break;
            }
            i += 1;
        }
        self.pos + i
    }

    fn double_quoted(&mut self, _parent_indent: isize) -> Result<Node> {
        let line = self.line;
        let start = self.pos;
        let start_col = self.col();
        self.pos += 1;
        let mut out = String::new();
        let mut multiline = false;
        let mut escaped = false;
        loop {
            let Some(b) = self.peek() else {
                return Err(YamlError::new(
                    line,
                    start_col + 1,
                    "found unexpected end of stream while scanning a quoted scalar",
                ));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    escaped = true;
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return self.err("found unexpected end of stream in an escape");
                    };
                    self.pos += 1;
                    match e {
                        b'0' => out.push('\0'),
                        b'a' => out.push('\x07'),
                        b'b' => out.push('\x08'),
                        b't' | b'\t' => out.push('\t'),
                        b'n' => out.push('\n'),
                        b'v' => out.push('\x0b'),
                        b'f' => out.push('\x0c'),
                        b'r' => out.push('\r'),
                        b'e' => out.push('\x1b'),
                        b' ' => out.push(' '),
                        b'"' => out.push('"'),
                        b'/' => out.push('/'),
                        b'\\' => out.push('\\'),
                        b'N' => out.push('\u{85}'),
                        b'_' => out.push('\u{a0}'),
                        b'L' => out.push('\u{2028}'),
                        b'P' => out.push('\u{2029}'),
                        b'x' | b'u' | b'U' => {
                            let n = match e {
                                b'x' => 2,
                                b'u' => 4,
                                _ => 8,
                            };
                            let hex = self.text.get(self.pos..self.pos + n).unwrap_or("");
                            let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                            match c {
                                Some(c) if hex.len() == n => out.push(c),
                                _ => return self.err(
                                    "found an invalid escape sequence in a double-quoted scalar",
                                ),
                            }
                            self.pos += n;
                        }
                        b'\n' => {
                            // escaped line break: join without a space
                            multiline = true;
                            self.line += 1;
                            self.line_start = self.pos;
                            self.skip_spaces();
                        }
                        _ => {
                            return self.err(
                                "found unknown escape character while parsing a quoted scalar",
                            );
                        }
                    }
                }
                b'\n' => {
                    multiline = true;
                    self.fold_break(&mut out)?;
                }
                _ => {
                    let ch_len = utf8_len(b);
                    out.push_str(&self.text[self.pos..self.pos + ch_len]);
                    self.pos += ch_len;
                }
            }
        }
        // the source text is kept only where the emitter would write it differently
        let raw = if multiline || (!escaped && !needs_escape(&out)) {
            None
        } else {
            Some(self.text[start..self.pos].to_string())
        };
        let mut n = Node::new(Value::Scalar(Scalar {
            value: out,
            style: ScalarStyle::DoubleQuoted,
            raw,
        }));
        n.line = line;
        Ok(n)
    }

    /// A line break inside a quoted scalar: trailing spaces dropped, one break → space,
    /// each further empty line → `\n`.
    fn fold_break(&mut self, out: &mut String) -> Result<()> {
        while out.ends_with([' ', '\t']) {
            out.pop();
        }
        let mut breaks = 0;
        while self.peek() == Some(b'\n') {
            self.pos += 1;
            self.line += 1;
            self.line_start = self.pos;
            breaks += 1;
            self.skip_spaces();
            if self.col() == 0 && Self::is_marker_line(self.src, self.pos) {
                return self.err("found unexpected document marker while scanning a quoted scalar");
            }
        }
        if breaks == 1 {
            out.push(' ');
        } else {
            for _ in 1..breaks {
                out.push('\n');
            }
        }
        Ok(())
    }

    fn single_quoted(&mut self, _parent_indent: isize) -> Result<Node> {
        let line = self.line;
        let start = self.pos;
        let start_col = self.col();
        self.pos += 1;
        let mut out = String::new();
        let mut multiline = false;
        loop {
            let Some(b) = self.peek() else {
                return Err(YamlError::new(
                    line,
                    start_col + 1,
                    "found unexpected end of stream while scanning a quoted scalar",
                ));
            };
            match b {
                b'\'' => {
                    if self.peek_at(1) == Some(b'\'') {
                        out.push('\'');
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        break;
                    }
                }
                b'\n' => {
                    multiline = true;
                    self.fold_break(&mut out)?;
                }
                _ => {
                    let ch_len = utf8_len(b);
                    out.push_str(&self.text[self.pos..self.pos + ch_len]);
                    self.pos += ch_len;
                }
            }
        }
        let raw = if multiline || !needs_escape(&out) {
            None
        } else {
            Some(self.text[start..self.pos].to_string())
        };
        let mut n = Node::new(Value::Scalar(Scalar {
            value: out,
            style: ScalarStyle::SingleQuoted,
            raw,
        }));
        n.line = line;
        Ok(n)
    }

    fn block_scalar(&mut self, parent_indent: isize) -> Result<Node> {
        let line = self.line;
        let literal = self.peek() == Some(b'|');
        let hstart = self.pos;
        self.pos += 1;
        let mut chomp = 0i8; // -1 strip, 0 clip, 1 keep
        let mut explicit: Option<usize> = None;
        for _ in 0..2 {
            match self.peek() {
                Some(b'-') => {
                    chomp = -1;
                    self.pos += 1;
                }
                Some(b'+') => {
                    chomp = 1;
                    self.pos += 1;
                }
                Some(d @ b'1'..=b'9') => {
                    explicit = Some((d - b'0') as usize);
                    self.pos += 1;
                }
                _ => {}
            }
        }
        let header = self.text[hstart..self.pos].to_string();
        self.skip_spaces();
        let mut comment = None;
        match self.peek() {
            Some(b'#') => comment = Some(self.rest_of_line().trim_end().to_string()),
            None | Some(b'\n') => {}
            _ => {
                return self.err(
                    "did not find expected comment or line break after a block scalar header",
                );
            }
        }
        self.next_line();
        let base = if parent_indent < 0 {
            0
        } else {
            parent_indent as usize
        };
        let mut indent = explicit.map(|e| base + e);
        let mut lines: Vec<&str> = Vec::new();
        loop {
            if self.pos >= self.src.len() {
                break;
            }
            let l = self.rest_of_line();
            let spaces = l.bytes().take_while(|&b| b == b' ').count();
            let blank = l.trim_start_matches(' ').is_empty();
            if indent.is_none() && !blank {
                if (spaces as isize) <= parent_indent {
                    break;
                }
                indent = Some(spaces);
            }
            if blank {
                let ind = indent.unwrap_or(usize::MAX);
                lines.push(if spaces > ind { &l[ind..] } else { "" });
                self.next_line();
                continue;
            }
            let Some(ind) = indent else { break };
            if spaces < ind || (spaces == 0 && Self::is_marker_line(self.src, self.pos)) {
                break;
            }
            lines.push(&l[ind..]);
            self.next_line();
        }
        let content_end = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        let trailing = lines.len() - content_end;
        let kept = if chomp == 1 { lines.len() } else { content_end };
        let value = decode_block(&header, &lines[..kept]);
        let mut raw = header.clone();
        for l in &lines[..kept] {
            raw.push('\n');
            raw.push_str(l);
        }
        // Blank lines after a clipped/stripped block belong to what follows: give them back.
        if chomp != 1 && trailing > 0 {
            let mut back = trailing;
            while back > 0 && self.pos > 0 {
                // step back one line
                let mut p = self.pos - 1; // the '\n' ending the previous line
                while p > 0 && self.src[p - 1] != b'\n' {
                    p -= 1;
                }
                self.pos = p;
                self.line_start = p;
                self.line -= 1;
                back -= 1;
            }
        }
        let style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        let mut n = Node::new(Value::Scalar(Scalar {
            value,
            style,
            raw: Some(raw),
        }));
        n.comments.line = comment;
        n.line = line;
        Ok(n)
    }

    /// A flow collection starting at `[` or `{`.
    fn flow(&mut self, parent_indent: isize) -> Result<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("document is nested too deeply");
        }
        self.flow_level += 1;
        let r = self.flow_inner(parent_indent);
        self.flow_level -= 1;
        self.depth -= 1;
        r
    }

    fn flow_inner(&mut self, parent_indent: isize) -> Result<Node> {
        let line = self.line;
        let open = self.peek();
        self.pos += 1;
        let close = if open == Some(b'[') { b']' } else { b'}' };
        let mut items: Vec<Node> = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        let mut comments: Vec<FlowComment> = Vec::new();
        let done = |items: &Vec<Node>, entries: &Vec<Entry>| items.len() + entries.len();
        loop {
            self.flow_gap(done(&items, &entries), &mut comments);
            match self.peek() {
                None => {
                    return self
                        .err("did not find expected ',' or closing bracket in a flow collection");
                }
                Some(b) if b == close => {
                    self.pos += 1;
                    break;
                }
                Some(b'?') if Self::is_blank_or_eol(self.peek_at(1)) => {
                    return self.err("complex mapping keys (`? `) are not supported");
                }
                _ => {}
            }
            let first = self.flow_scalar_or_collection(parent_indent)?;
            self.flow_gap(done(&items, &entries), &mut comments);
            if self.peek() == Some(b':') {
                self.pos += 1;
                self.flow_gap(done(&items, &entries), &mut comments);
                let v = if matches!(self.peek(), Some(b',')) || self.peek() == Some(close) {
                    Node::null()
                } else {
                    self.flow_scalar_or_collection(parent_indent)?
                };
                if close == b'}' {
                    entries.push(Entry {
                        key: first,
                        value: v,
                    });
                } else {
                    // single-pair mapping inside a sequence
                    let mut m = Mapping {
                        flow: true,
                        ..Mapping::default()
                    };
                    m.entries.push(Entry {
                        key: first,
                        value: v,
                    });
                    items.push(Node::new(Value::Mapping(m)));
                }
            } else if close == b'}' {
                entries.push(Entry {
                    key: first,
                    value: Node::null(),
                });
            } else {
                items.push(first);
            }
            self.flow_gap(done(&items, &entries), &mut comments);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {}
                _ => {
                    return self
                        .err("did not find expected ',' or closing bracket in a flow collection");
                }
            }
        }
        let mut n = if close == b']' {
            Node::new(Value::Sequence(Sequence {
                items,
                flow: true,
                ..Sequence::default()
            }))
        } else {
            Node::new(Value::Mapping(Mapping {
                entries,
                flow: true,
                foot: Vec::new(),
            }))
        };
        n.line = line;
        if let Some(c) = comments.first() {
            // A flow collection is written on one line, where comments cannot go: one
            // with comments becomes a block collection that keeps them.
            let unsupported = if self.flow_level > 1 {
                Some("comments inside nested flow collections are not supported")
            } else if done_of(&n) == 0 {
                Some("comments inside an empty flow collection are not supported")
            } else {
                None
            };
            if let Some(msg) = unsupported {
                return Err(YamlError::new(c.line, c.column, msg));
            }
            attach_flow_comments(&mut n, comments);
        }
        Ok(n)
    }

    /// Skip blanks, line breaks and comments between flow tokens, recording each
    /// comment with the number of items completed before it.
    fn flow_gap(&mut self, done: usize, out: &mut Vec<FlowComment>) {
        let mut crossed = false;
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\n') => {
                    self.next_line();
                    crossed = true;
                }
                Some(b'#') => {
                    out.push(FlowComment {
                        text: self.rest_of_line().trim_end().to_string(),
                        same_line: !crossed,
                        after: done,
                        line: self.line,
                        column: self.col() + 1,
                    });
                    self.pos = self.line_end();
                }
                _ => return,
            }
        }
    }

    fn flow_scalar_or_collection(&mut self, parent_indent: isize) -> Result<Node> {
        let (tag, anchor) = self.props()?;
        let mut n = match self.peek() {
            Some(b'[' | b'{') => self.flow(parent_indent)?,
            Some(b'"') => self.double_quoted(parent_indent)?,
            Some(b'\'') => self.single_quoted(parent_indent)?,
            Some(b'*') => {
                let w = self.word()?;
                Node::new(Value::Alias(w[1..].to_string()))
            }
            _ => {
                let start = self.pos;
                let line = self.line;
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b']' | b'}' | b'[' | b'{' | b'\n') {
                        break;
                    }
                    if b == b':'
                        && matches!(
                            self.peek_at(1),
                            Some(b' ' | b',' | b']' | b'}' | b'\n') | None
                        )
                    {
                        break;
                    }
                    if b == b'#' && self.pos > start && matches!(self.src[self.pos - 1], b' ') {
                        break;
                    }
                    self.pos += 1;
                }
                let s = self.text[start..self.pos]
                    .trim_matches(YAML_SPACE)
                    .to_string();
                if s.is_empty() {
                    return self.err("did not find expected node content in a flow collection");
                }
                let mut n = Node::plain(s);
                n.line = line;
                n
            }
        };
        n.tag = tag.or(n.tag.take());
        if anchor.is_some() {
            n.anchor = anchor;
        }
        Ok(n)
    }
}

/// A comment found inside a flow collection.
struct FlowComment {
    text: String,
    /// On the line where the previous item ended (its line comment).
    same_line: bool,
    /// Items completed before it.
    after: usize,
    line: usize,
    column: usize,
}

fn done_of(n: &Node) -> usize {
    match &n.value {
        Value::Sequence(s) => s.items.len(),
        Value::Mapping(m) => m.entries.len(),
        _ => 0,
    }
}

/// Turn a (non-empty) flow collection into a block one carrying its comments: a
/// comment on the line where an item ended is that item's line comment, others are
/// head lines of the next item, or foot lines after the last.
fn attach_flow_comments(n: &mut Node, comments: Vec<FlowComment>) {
    for c in comments {
        match &mut n.value {
            Value::Sequence(s) => {
                s.flow = false;
                attach_one(c, &mut s.items, &mut s.foot);
            }
            Value::Mapping(m) => {
                m.flow = false;
                // an entry's line comment sits on its value, head lines on its key
                if c.same_line
                    && c.after > 0
                    && let Some(e) = m.entries.get_mut(c.after - 1)
                    && e.value.comments.line.is_none()
                {
                    e.value.comments.line = Some(c.text);
                    continue;
                }
                match m.entries.get_mut(c.after) {
                    Some(e) => e.key.comments.head.push(c.text),
                    None => m.foot.push(c.text),
                }
            }
            _ => {}
        }
    }
}

fn attach_one(c: FlowComment, items: &mut [Node], foot: &mut Vec<String>) {
    if c.same_line
        && c.after > 0
        && let Some(prev) = items.get_mut(c.after - 1)
        && prev.comments.line.is_none()
    {
        prev.comments.line = Some(c.text);
        return;
    }
    match items.get_mut(c.after) {
        Some(next) => next.comments.head.push(c.text),
        None => foot.push(c.text),
    }
}

enum Kind {
    Sequence,
    Mapping,
    Other,
}

fn push_doc(docs: &mut Vec<Document>, doc: Document) {
    docs.push(doc);
}

/// The offset of the first `\n` at or after `from`, or `src.len()`; eight bytes at
/// a time.
fn find_newline(src: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(chunk) = src.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        let zero = x.wrapping_sub(ONES) & !x & HIGH;
        if zero != 0 {
            return i + (zero.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < src.len() {
        if src[i] == b'\n' {
            return i;
        }
        i += 1;
    }
    src.len()
}

/// Whether the emitter would escape (or switch quotes for) a character of `v`: then
/// a quoted scalar's source text must be kept to re-emit it as written.
fn needs_escape(v: &str) -> bool {
    v.chars().any(|c| c.is_control() || c == '\u{feff}')
}

fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Position of the `:` that ends a plain key on this line (followed by space or EOL),
/// ignoring anything after a ` #` comment.
fn find_plain_colon(rest: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < rest.len() {
        let b = rest[i];
        if b == b'#' && i > 0 && matches!(rest[i - 1], b' ' | b'\t') {
            return None;
        }
        if b == b':' && matches!(rest.get(i + 1), None | Some(b' ' | b'\t')) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The value of a block scalar from its header (`|-`, `>2`, …) and dedented lines.
pub(crate) fn decode_block(header: &str, lines: &[&str]) -> String {
    let literal = header.starts_with('|');
    let chomp = if header.contains('-') {
        -1
    } else if header.contains('+') {
        1
    } else {
        0
    };
    let content_end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    let trailing = lines.len() - content_end;
    let body = &lines[..content_end];
    let mut value = if literal {
        body.join("\n")
    } else {
        fold_lines(body)
    };
    if chomp >= 0 && content_end > 0 {
        value.push('\n');
    }
    if chomp == 1 {
        let n = trailing;
        for _ in 0..n {
            value.push('\n');
        }
    }
    value
}

/// Folded block scalar lines → text.
fn fold_lines(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut prev_more_indented = false;
    let mut pending_breaks = 0;
    let mut first = true;
    for l in lines {
        if l.is_empty() {
            pending_breaks += 1;
            continue;
        }
        let more = l.starts_with(' ') || l.starts_with('\t');
        if !first {
            if pending_breaks == 0 && !more && !prev_more_indented {
                out.push(' ');
            } else {
                out.push('\n');
                for _ in 0..pending_breaks {
                    out.push('\n');
                }
                if pending_breaks > 0 && !more && !prev_more_indented {
                    out.pop();
                }
            }
        } else {
            for _ in 0..pending_breaks {
                out.push('\n');
            }
        }
        pending_breaks = 0;
        out.push_str(l);
        prev_more_indented = more;
        first = false;
    }
    out
}

/// Decode the source text of a single-line quoted scalar (quotes included).
pub(crate) fn decode_quoted(raw: &str) -> Option<String> {
    let mut p = Parser {
        src: raw.as_bytes(),
        text: raw,
        pos: 0,
        line: 1,
        line_start: 0,
        depth: 0,
        flow_level: 0,
        entries: Vec::new(),
        items: Vec::new(),
        eol: std::cell::Cell::new((usize::MAX, 0)),
    };
    let n = match raw.as_bytes().first()? {
        b'"' => p.double_quoted(-1).ok()?,
        b'\'' => p.single_quoted(-1).ok()?,
        _ => return None,
    };
    if p.pos != raw.len() {
        return None;
    }
    n.as_str().map(str::to_string)
}
