//! The seam between render and whatever runs KRM functions.

use std::future::Future;
use std::pin::Pin;

/// How a pipeline step names its function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FunctionRef {
    /// A container image reference, e.g. `ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4`.
    Image(String),
    /// A local executable path (`exec:` in a Kptfile pipeline).
    Exec(String),
}

impl FunctionRef {
    /// The image or executable, as the pipeline wrote it.
    pub fn name(&self) -> &str {
        match self {
            FunctionRef::Image(s) | FunctionRef::Exec(s) => s,
        }
    }
}

/// What a function returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvalOutput {
    /// The serialized ResourceList (YAML) the function wrote to stdout.
    pub resource_list: Vec<u8>,
    /// What the function wrote to stderr.
    pub stderr: Vec<u8>,
    /// The function's exit code; non-zero means the function failed, and the
    /// ResourceList (when it parses) carries its results.
    pub exit_code: i32,
}

/// Why a function could not be evaluated at all.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EvalError {
    /// No evaluator knows this function. Evaluator chains fall through on this only.
    #[error("function {0:?} not found")]
    NotFound(String),
    /// The function could not be run, or ran out of time.
    #[error("failed to evaluate function {function:?}: {message}")]
    Failed {
        /// The image or executable.
        function: String,
        /// What went wrong, including the function's stderr where there is one.
        message: String,
    },
}

/// A boxed future, so that `dyn Evaluator` works without extra crates.
pub type EvalFuture<'a> = Pin<Box<dyn Future<Output = Result<EvalOutput, EvalError>> + Send + 'a>>;

/// Runs one KRM function over a serialized ResourceList.
pub trait Evaluator: Send + Sync {
    /// Evaluate `function` with `resource_list` (ResourceList YAML) as its input.
    fn evaluate<'a>(&'a self, function: &'a FunctionRef, resource_list: &'a [u8])
    -> EvalFuture<'a>;
}
