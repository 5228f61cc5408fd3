//! The error shapes porchctl prints (spec/porch-api.md §5.1) and their exit code.

use crate::io::Io;

/// A failed command. Every variant exits with code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A command error wrapped like kpt's `errors.E`: printed as `Error: <msg> \n`
    /// (note the space before the newline).
    #[error("{0}")]
    Command(String),
    /// An error that goes through kubectl's `CheckErr`: printed as `error: <msg>\n`.
    #[error("{0}")]
    Check(String),
}

impl CliError {
    /// A kpt-style command error.
    pub fn cmd(msg: impl Into<String>) -> Self {
        CliError::Command(msg.into())
    }

    /// A kubectl-style error.
    pub fn check(msg: impl Into<String>) -> Self {
        CliError::Check(msg.into())
    }

    /// The batch error of multi-name commands: `errors:\n  <e1>\n  <e2>`.
    pub fn batch(errors: &[String]) -> Self {
        CliError::Command(format!("errors:\n  {}", errors.join("\n  ")))
    }

    /// The message without decoration.
    pub fn message(&self) -> &str {
        match self {
            CliError::Command(m) | CliError::Check(m) => m,
        }
    }

    /// Writes the error in its upstream form to stderr.
    pub fn print(&self, io: &mut Io) {
        match self {
            CliError::Command(m) => io.err(&format!("Error: {m} \n")),
            CliError::Check(m) => io.err(&format!("error: {m}\n")),
        }
    }
}

/// The exit code of a failed command (upstream has no other).
pub const EXIT_FAILURE: i32 = 1;
