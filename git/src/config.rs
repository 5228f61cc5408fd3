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
