//! A YAML document model that keeps what people wrote: comments, blank lines, key
//! order, quoting and block styles, multi-document files.
//!
//! `parse` → edit the [`Node`] tree → `emit`. Unchanged kpt-formatted input re-emits
//! byte for byte. [`heal()`] restores comments (and order, and styles) that a function
//! dropped, by field path.

pub mod emit;
pub mod heal;
pub mod json;
pub mod node;
pub mod parse;
pub mod resolve;

pub use emit::{emit_node, emit_stream};
pub use heal::heal;
pub use json::{from_json, to_json};
pub use node::{Comments, Entry, Mapping, Node, Scalar, ScalarStyle, Sequence, Value};
pub use parse::{parse_document, parse_stream};

/// A parse error with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl YamlError {
    /// A new error.
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        YamlError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// A sequence of documents (one file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    /// The documents in order.
    pub docs: Vec<Document>,
}

/// One YAML document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// Began with an explicit `---` (always emitted between documents).
    pub explicit_start: bool,
    /// A comment on the `---` line.
    pub start_comment: Option<String>,
    /// The content, `None` for an empty or comment-only document.
    pub root: Option<Node>,
    /// Comment and blank lines after the content that no node claimed.
    pub foot: Vec<String>,
    /// Ended with `...`.
    pub explicit_end: bool,
}

impl Document {
    /// A document holding `root`.
    pub fn new(root: Node) -> Self {
        Document {
            root: Some(root),
            ..Document::default()
        }
    }

    /// No content and no comments.
    pub fn is_empty(&self) -> bool {
        self.root.is_none() && self.foot.iter().all(|l| l.is_empty())
    }

    /// The root is a null scalar, or missing.
    pub fn is_null(&self) -> bool {
        self.root.as_ref().is_none_or(Node::is_null)
    }
}

impl Stream {
    /// Emit the stream.
    pub fn emit(&self) -> String {
        emit_stream(self)
    }
}
