//! Plain configuration types: what the engine knows about a Repository.

use base64::Engine as _;

/// Credentials taken from the Repository's Secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `kubernetes.io/basic-auth`: `username` and `password`.
    Basic { username: String, password: String },
    /// `Opaque` secret with `bearerToken`.
    Bearer { token: String },
}

impl std::fmt::Debug for Credentials {
    // Never print secrets, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Bearer { .. } => f
                .debug_struct("Bearer")
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}

impl Credentials {
    /// The value of the HTTP `Authorization` header.
    pub(crate) fn authorization(&self) -> String {
        match self {
            Credentials::Basic { username, password } => {
                let raw = format!("{username}:{password}");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            }
            Credentials::Bearer { token } => format!("Bearer {token}"),
        }
    }
}

/// A commit author (name and email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

impl Author {
    /// `Package Orchestration Service <porch@kpt.dev>`: the committer of every
    /// commit and the default author.
    pub fn porch() -> Self {
        Author {
            name: "Package Orchestration Service".to_string(),
            email: "porch@kpt.dev".to_string(),
        }
    }

    /// The author for a Kubernetes user: the username is both name and email.
    pub fn user(username: &str) -> Self {
        Author {
            name: username.to_string(),
            email: username.to_string(),
        }
    }
}

/// The `spec.git` part of a Repository, plus its resolved credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoConfig {
    /// `spec.git.repo`.
    pub url: String,
    /// `spec.git.branch` (default `main`).
    pub branch: String,
    /// `spec.git.directory` (`/` or empty = root; surrounding `/` trimmed).
    pub directory: String,
    /// `spec.git.createBranch`.
    pub create_branch: bool,
    /// `spec.git.author`.
    pub author: Option<String>,
    /// `spec.git.email`.
    pub email: Option<String>,
    /// Resolved from `spec.git.secretRef`.
    pub credentials: Option<Credentials>,
}

impl RepoConfig {
    /// A config for `url` with upstream's defaults (branch `main`, root directory).
    pub fn new(url: impl Into<String>) -> Self {
        RepoConfig {
            url: url.into(),
            branch: "main".to_string(),
            directory: String::new(),
            create_branch: false,
            author: None,
            email: None,
            credentials: None,
        }
    }

    /// The directory with surrounding `/` trimmed (`""` = root).
    pub fn normalized_directory(&self) -> String {
        self.directory.trim_matches('/').to_string()
    }

    /// The author of a commit: the Repository override if set (one field
    /// fills both when only one is set), else the user, else porch.
    pub fn commit_author(&self, user: Option<&Author>) -> Author {
        let author = self.author.as_deref().filter(|s| !s.is_empty());
        let email = self.email.as_deref().filter(|s| !s.is_empty());
        match (author, email) {
            (Some(a), Some(e)) => Author {
                name: a.to_string(),
                email: e.to_string(),
            },
            (Some(a), None) => Author::user(a),
            (None, Some(e)) => Author::user(e),
            (None, None) => user.cloned().unwrap_or_else(Author::porch),
        }
    }
}

/// A PEM bundle of CA certificates to trust for the repository's HTTPS server
/// (upstream: secret `<namespace>-ca-bundle`, key `ca.crt`, with `--use-user-cabundle`).
/// Trusted in addition to the system roots, by gix and by the git CLI.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    pem: String,
}

impl CaBundle {
    /// A bundle from PEM text (one or more `CERTIFICATE` blocks).
    pub fn from_pem(pem: impl Into<String>) -> Self {
        CaBundle { pem: pem.into() }
    }

    /// The PEM text.
    pub fn pem(&self) -> &str {
        &self.pem
    }
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaBundle")
            .field("bytes", &self.pem.len())
            .finish()
    }
}

/// Upstream's retryable push errors (`--retryable-git-errors` adds to them).
pub const RETRYABLE_GIT_ERRORS: &[&str] = &[
    "remote ref",
    "failed to update ref",
    "pre-receive hook declined",
    "non-fast-forward update",
    "stale file handle",
    "unable to migrate objects to permanent storage",
    "failed to lock",
    "broken pipe",
    "status code: 500",
    // The git CLI's wording of the last two (upstream's strings come from go-git).
    "the requested url returned error: 500",
    "the remote end hung up unexpectedly",
];

/// How pushes are retried (upstream `--repo-operation-retry-attempts`, default 3,
/// and `--retryable-git-errors`). A retry repeats the same push with the same
/// leases, so it can never overwrite a ref that moved in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per push, including the first (0 behaves as 1).
    pub attempts: u32,
    /// Extra substrings that make a push error retryable.
    pub extra_patterns: Vec<String>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            extra_patterns: Vec::new(),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            extra_patterns: Vec::new(),
        }
    }

    /// Whether a push failure with this output may be retried (case-insensitive).
    pub fn is_retryable(&self, output: &str) -> bool {
        let lower = output.to_lowercase();
        RETRYABLE_GIT_ERRORS
            .iter()
            .copied()
            .chain(self.extra_patterns.iter().map(String::as_str))
            .filter(|p| !p.is_empty())
            .any(|p| lower.contains(&p.to_lowercase()))
    }
}

/// How to talk to a repository beyond its `spec.git`: the namespace CA bundle
/// and the server-wide retry flags. `Default` = system roots, 3 attempts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionOptions {
    /// Extra CA certificates for HTTPS.
    pub ca_bundle: Option<CaBundle>,
    /// Push retries.
    pub retry: RetryPolicy,
}

/// Splits credentials out of a URL such as `https://user:pw@host/repo.git`.
/// Returns the URL without userinfo and the credentials it carried, so that
/// secrets never reach argv, logs or errors.
pub fn split_url_credentials(url: &str) -> (String, Option<Credentials>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), None);
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return (url.to_string(), None);
    };
    let userinfo = &authority[..at];
    let clean = format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]);
    let creds = match userinfo.split_once(':') {
        Some((u, p)) => Some(Credentials::Basic {
            username: u.to_string(),
            password: p.to_string(),
        }),
        None if !userinfo.is_empty() => Some(Credentials::Basic {
            username: userinfo.to_string(),
            password: String::new(),
        }),
        None => None,
    };
    (clean, creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_override_rules() {
        let mut cfg = RepoConfig::new("http://x/r.git");
        let user = Author::user("alice");
        assert_eq!(cfg.commit_author(None), Author::porch());
        assert_eq!(cfg.commit_author(Some(&user)), user);
        cfg.author = Some("Bot".into());
        assert_eq!(cfg.commit_author(Some(&user)), Author::user("Bot"));
        cfg.email = Some("bot@x".into());
        assert_eq!(
            cfg.commit_author(Some(&user)),
            Author {
                name: "Bot".into(),
                email: "bot@x".into()
            }
        );
        cfg.author = None;
        assert_eq!(cfg.commit_author(None), Author::user("bot@x"));
    }

    #[test]
    fn url_credentials_are_split_off() {
        let (u, c) = split_url_credentials("https://nephio:secret@host:3000/a/b.git");
        assert_eq!(u, "https://host:3000/a/b.git");
        assert_eq!(
            c,
            Some(Credentials::Basic {
                username: "nephio".into(),
                password: "secret".into()
            })
        );
        let (u, c) = split_url_credentials("http://host/a@b");
        assert_eq!(u, "http://host/a@b");
        assert!(c.is_none());
    }

    #[test]
    fn retry_patterns_match_upstream_and_extras() {
        let p = RetryPolicy::default();
        assert_eq!(p.attempts, 3);
        assert!(p.is_retryable(" ! [remote rejected] main -> main (pre-receive hook declined)"));
        assert!(p.is_retryable(
            "error: RPC failed; HTTP 500 curl 22 The requested URL returned error: 500"
        ));
        assert!(!p.is_retryable(" ! [rejected] main -> main (stale info)"));
        assert!(!p.is_retryable("fatal: Authentication failed"));
        let p = RetryPolicy {
            attempts: 2,
            extra_patterns: vec!["Try Again Later".into(), String::new()],
        };
        assert!(p.is_retryable("remote: try again later"));
        assert!(!p.is_retryable("anything else"));
        assert!(!format!("{:?}", CaBundle::from_pem("-----BEGIN")).contains("BEGIN"));
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let t = Credentials::Bearer {
            token: "tok123".into(),
        };
        assert!(!format!("{t:?}").contains("tok123"));
        assert_eq!(t.authorization(), "Bearer tok123");
        assert_eq!(c.authorization(), "Basic dTpodW50ZXIy");
    }
}
