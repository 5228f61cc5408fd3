//! The YAML node tree: values plus the comments and styles people wrote.

/// How a scalar was (or should be) written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScalarStyle {
    /// `value`
    #[default]
    Plain,
    /// `'value'`
    SingleQuoted,
    /// `"value"`
    DoubleQuoted,
    /// `|` block scalar.
    Literal,
    /// `>` block scalar.
    Folded,
}

/// A scalar: its decoded text plus how it was written.
#[derive(Debug, Clone, Default)]
pub struct Scalar {
    /// The decoded value (escapes resolved, quotes removed).
    pub value: String,
    /// The style it was written in.
    pub style: ScalarStyle,
    /// The exact source text (quotes included) of a single-line scalar, re-emitted
    /// as long as `value` is unchanged. Block scalars keep their header here (`|-`).
    pub raw: Option<String>,
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.is_quoted() == other.is_quoted()
    }
}

impl Scalar {
    /// Whether the scalar is a string by its style (quoted or block).
    pub fn is_quoted(&self) -> bool {
        !matches!(self.style, ScalarStyle::Plain)
    }
}

/// A YAML mapping: entries in the order they were written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping {
    /// Key/value pairs in order.
    pub entries: Vec<Entry>,
    /// Written as `{a: b}`.
    pub flow: bool,
    /// Comment lines after the last entry, before the mapping ends.
    pub foot: Vec<String>,
}

/// One `key: value` pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key (a scalar in practice). Its `comments.head` are the lines above the
    /// entry; its `comments.line` is the comment after `key:` when the value is a block.
    pub key: Node,
    /// The value.
    pub value: Node,
}

/// A YAML sequence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sequence {
    /// Items in order.
    pub items: Vec<Node>,
    /// Written as `[a, b]`.
    pub flow: bool,
    /// `- ` indented two columns deeper than its key (kyaml "wide") instead of at
    /// the key's column ("compact", the default).
    pub wide: bool,
    /// Comment lines after the last item.
    pub foot: Vec<String>,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar (string, number, bool, null).
    Scalar(Scalar),
    /// A mapping.
    Mapping(Mapping),
    /// A sequence.
    Sequence(Sequence),
    /// `*name`, tolerated and kept.
    Alias(String),
}

/// Comments attached to a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comments {
    /// Lines above the node: `# text` comments and empty strings for blank lines.
    pub head: Vec<String>,
    /// The comment at the end of the node's line, including `#`.
    pub line: Option<String>,
}

impl Comments {
    /// True when there is no comment and no blank line.
    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.line.is_none()
    }
}

/// A YAML node.
#[derive(Debug, Clone)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Comments.
    pub comments: Comments,
    /// Explicit tag (`!!str`, `!foo`), as written.
    pub tag: Option<String>,
    /// Anchor name (`&a`).
    pub anchor: Option<String>,
    /// 1-based source line (0 for nodes built in code).
    pub line: usize,
}

impl PartialEq for Node {
    /// Structural equality of values, comments, tags (not source lines).
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
            && self.comments == other.comments
            && self.tag == other.tag
            && self.anchor == other.anchor
    }
}

impl Node {
    /// A node from a value.
    pub fn new(value: Value) -> Self {
        Node {
            value,
            comments: Comments::default(),
            tag: None,
            anchor: None,
            line: 0,
        }
    }

    /// A string scalar, quoted when plain text would read as something else.
    pub fn string(s: impl Into<String>) -> Self {
        let value = s.into();
        let style = if crate::yaml::emit::plain_safe(&value)
            && crate::yaml::resolve::is_plain_string(&value)
        {
            ScalarStyle::Plain
        } else {
            ScalarStyle::DoubleQuoted
        };
        Node::new(Value::Scalar(Scalar {
            value,
            style,
            raw: None,
        }))
    }

    /// A plain scalar whose text is taken as written (numbers, bools, null).
    pub fn plain(s: impl Into<String>) -> Self {
        Node::new(Value::Scalar(Scalar {
            value: s.into(),
            style: ScalarStyle::Plain,
            raw: None,
        }))
    }

    /// An empty block mapping.
    pub fn mapping() -> Self {
        Node::new(Value::Mapping(Mapping::default()))
    }

    /// An empty block sequence.
    pub fn sequence() -> Self {
        Node::new(Value::Sequence(Sequence::default()))
    }

    /// The null scalar (emitted as nothing after `key:`).
    pub fn null() -> Self {
        Node::plain("")
    }

    /// The scalar, if this is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(|s| s.value.as_str())
    }

    /// True for `null`, `~` and empty plain scalars (unless tagged otherwise).
    pub fn is_null(&self) -> bool {
        match &self.value {
            Value::Scalar(s) => {
                if let Some(t) = &self.tag {
                    return t == "!!null";
                }
                s.style == ScalarStyle::Plain
                    && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    /// The mapping, if this is one.
    pub fn as_mapping(&self) -> Option<&Mapping> {
        match &self.value {
            Value::Mapping(m) => Some(m),
            _ => None,
        }
    }

    /// The mapping, mutably.
    pub fn as_mapping_mut(&mut self) -> Option<&mut Mapping> {
        match &mut self.value {
            Value::Mapping(m) => Some(m),
            _ => None,
        }
    }

    /// The sequence, if this is one.
    pub fn as_sequence(&self) -> Option<&Sequence> {
        match &self.value {
            Value::Sequence(s) => Some(s),
            _ => None,
        }
    }

    /// The sequence, mutably.
    pub fn as_sequence_mut(&mut self) -> Option<&mut Sequence> {
        match &mut self.value {
            Value::Sequence(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_mapping()?.get(key)
    }

    /// The value under `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_mapping_mut()?.get_mut(key)
    }

    /// Follow a path of mapping keys.
    pub fn get_path(&self, path: &[&str]) -> Option<&Node> {
        let mut n = self;
        for k in path {
            n = n.get(k)?;
        }
        Some(n)
    }

    /// The string at a path of mapping keys.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.get_path(path)?.as_str()
    }

    /// Set `key` to `value` in a mapping (keeping the entry's comments and position
    /// when it exists; appending otherwise). No-op on non-mappings.
    pub fn set(&mut self, key: &str, value: Node) {
        if let Some(m) = self.as_mapping_mut() {
            m.set(key, value);
        }
    }

    /// Remove `key` from a mapping, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        self.as_mapping_mut()?.remove(key)
    }

    /// The mapping at `path`, created (as empty block mappings) where missing or null.
    pub fn ensure_mapping(&mut self, path: &[&str]) -> Option<&mut Node> {
        let mut n = self;
        for k in path {
            let m = n.as_mapping_mut()?;
            let missing = match m.get(k) {
                None => true,
                Some(v) => v.is_null(),
            };
            if missing {
                m.set(k, Node::mapping());
            }
            n = m.get_mut(k)?;
        }
        if n.as_mapping().is_some() {
            Some(n)
        } else {
            None
        }
    }

    /// True when the two nodes hold the same data (comments and styles ignored,
    /// scalars compared by value and quotedness).
    pub fn same_data(&self, other: &Node) -> bool {
        if self.is_null() && other.is_null() {
            return true;
        }
        match (&self.value, &other.value) {
            (Value::Scalar(a), Value::Scalar(b)) => {
                let (sa, sb) = (
                    crate::yaml::resolve::is_string_scalar(self),
                    crate::yaml::resolve::is_string_scalar(other),
                );
                match (sa, sb) {
                    (true, true) => a.value == b.value,
                    (false, false) => {
                        a.value == b.value
                            || crate::yaml::to_json(self) == crate::yaml::to_json(other)
                    }
                    _ => false,
                }
            }
            (Value::Mapping(a), Value::Mapping(b)) => {
                a.entries.len() == b.entries.len()
                    && a.entries.iter().all(|e| {
                        e.key
                            .as_str()
                            .and_then(|k| b.get(k))
                            .is_some_and(|v| v.same_data(&e.value))
                    })
            }
            (Value::Sequence(a), Value::Sequence(b)) => {
                a.items.len() == b.items.len()
                    && a.items.iter().zip(&b.items).all(|(x, y)| x.same_data(y))
            }
            (Value::Alias(a), Value::Alias(b)) => a == b,
            _ => false,
        }
    }

    /// Drop every comment in this subtree.
    pub fn clear_comments(&mut self) {
        self.comments = Comments::default();
        match &mut self.value {
            Value::Mapping(m) => {
                m.foot.clear();
                for e in &mut m.entries {
                    e.key.clear_comments();
                    e.value.clear_comments();
                }
            }
            Value::Sequence(s) => {
                s.foot.clear();
                for i in &mut s.items {
                    i.clear_comments();
                }
            }
            _ => {}
        }
    }
}

impl Mapping {
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|e| e.key.as_str() == Some(key))
            .map(|e| &e.value)
    }

    /// The value under `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|e| e.key.as_str() == Some(key))
            .map(|e| &mut e.value)
    }

    /// The entry for `key`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key.as_str() == Some(key))
    }

    /// The entry for `key`, mutably.
    pub fn entry_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.entries
            .iter_mut()
            .find(|e| e.key.as_str() == Some(key))
    }

    /// Set `key` (keeping an existing entry's key comments and position).
    pub fn set(&mut self, key: &str, mut value: Node) {
        if let Some(e) = self.entry_mut(key) {
            if value.comments.is_empty() {
                value.comments = std::mem::take(&mut e.value.comments);
            }
            e.value = value;
        } else {
            self.entries.push(Entry {
                key: Node::string(key),
                value,
            });
        }
    }

    /// Remove `key`.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let i = self
            .entries
            .iter()
            .position(|e| e.key.as_str() == Some(key))?;
        Some(self.entries.remove(i).value)
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| e.key.as_str())
    }
}
