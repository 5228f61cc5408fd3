//! Typed errors of the git adapter. Every message names the repository URL
//! (never with credentials) and says what to do about it.

/// Errors returned by the git adapter.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// A branch, ref or package revision does not exist.
    #[error("{message} (repository {url})")]
    NotFound { url: String, message: String },
    /// The remote changed under us: a lease was rejected or a ref moved.
    #[error(
        "conflict in repository {url}: {message}; refresh the repository and retry the operation"
    )]
    Conflict { url: String, message: String },
    /// The remote rejected the credentials (or none were given).
    #[error(
        "authentication to repository {url} failed: {message}; check the credentials in the Repository's secret"
    )]
    Auth { url: String, message: String },
    /// The remote could not be reached or the connection broke mid-transfer.
    #[error(
        "repository {url} is unreachable: {message}; check the URL and the network, then retry"
    )]
    Unreachable { url: String, message: String },
    /// The request itself is invalid (bad path, wrong lifecycle, nested package...).
    #[error("invalid request for repository {url}: {message}")]
    Invalid { url: String, message: String },
    /// Anything else (local I/O, corrupt objects, unexpected git output).
    #[error("git operation on repository {url} failed: {message}")]
    Other { url: String, message: String },
}

impl GitError {
    /// The repository URL (without credentials) the error is about.
    pub fn url(&self) -> &str {
        match self {
            GitError::NotFound { url, .. }
            | GitError::Conflict { url, .. }
            | GitError::Auth { url, .. }
            | GitError::Unreachable { url, .. }
            | GitError::Invalid { url, .. }
            | GitError::Other { url, .. } => url,
        }
    }

    pub(crate) fn other(url: &str, message: impl Into<String>) -> Self {
        GitError::Other {
            url: url.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(url: &str, message: impl Into<String>) -> Self {
        GitError::Invalid {
            url: url.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn not_found(url: &str, message: impl Into<String>) -> Self {
        GitError::NotFound {
            url: url.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn conflict(url: &str, message: impl Into<String>) -> Self {
        GitError::Conflict {
            url: url.to_string(),
            message: message.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = GitError> = std::result::Result<T, E>;

/// Renders a gix error with its whole chain of causes.
pub(crate) fn gix_chain(err: &gix::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in err.iter_errors() {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

/// Maps a gix error from a local (non-network) operation.
pub(crate) fn local(url: &str, context: &str, err: &gix::Error) -> GitError {
    GitError::other(url, format!("{context}: {}", gix_chain(err)))
}
