//! Errors that name the file, the line and what is wrong.

use crate::yaml::YamlError;

/// Everything that can go wrong reading, transforming or writing a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KptError {
    /// A file is not valid YAML.
    #[error("{file}:{line}:{column}: invalid YAML: {message}")]
    Yaml {
        /// The file, relative to the package root.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A document in a KRM file is not a KRM object.
    #[error(
        "{file}:{line}: input resource list must contain only KRM resources: document {index} is not a KRM object ({reason})"
    )]
    NotKrm {
        /// The file.
        file: String,
        /// Line of the document start.
        line: usize,
        /// 0-based document index.
        index: usize,
        /// What is missing.
        reason: String,
    },
    /// The same resource twice in one file.
    #[error("{file}:{line}: found duplicate resource {id} (first at line {first_line})")]
    Duplicate {
        /// The file.
        file: String,
        /// Line of the second occurrence.
        line: usize,
        /// Line of the first occurrence.
        first_line: usize,
        /// `group/Kind namespace/name`.
        id: String,
    },
    /// A path that leaves the package or is otherwise unusable.
    #[error("invalid path {path:?}: {reason}")]
    BadPath {
        /// The offending path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A Kptfile that does not decode.
    #[error("{file}:{line}: invalid Kptfile: {message}")]
    Kptfile {
        /// The Kptfile's path.
        file: String,
        /// Line (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A problem with a resource list (function input or output).
    #[error("{0}")]
    ResourceList(String),
    /// An operation could not be carried out.
    #[error("{0}")]
    Operation(String),
}

impl KptError {
    /// Attach a file name to a YAML parse error.
    pub fn yaml(file: &str, e: YamlError) -> Self {
        KptError::Yaml {
            file: file.to_string(),
            line: e.line,
            column: e.column,
            message: e.message,
        }
    }
}

/// Result with [`KptError`].
pub type Result<T> = std::result::Result<T, KptError>;
