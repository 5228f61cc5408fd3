//! Talking to the remote: fetch with gix, push with `git push --atomic
//! --force-with-lease` (gix cannot push yet). Both sit behind [`GitRemote`].
//! Credentials travel only as an `Authorization` header: in gix's transport
//! options and in the git CLI's environment, never in argv, URLs or on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use futures::future::BoxFuture;
use gix::ObjectId;

use crate::config::Credentials;
use crate::error::{GitError, Result, gix_chain};
use crate::refs;

/// One ref change of an atomic push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// Full ref name on the remote, e.g. `refs/heads/main`.
    pub name: String,
    /// The value the ref must have now; `None` = it must not exist.
    pub expected: Option<ObjectId>,
    /// The new value; `None` = delete the ref.
    pub new: Option<ObjectId>,
}

/// Outcome of a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOutcome {
    /// Whether any local cache ref changed (updated, created or pruned).
    pub changed: bool,
}

/// Remote operations of a repository, over a local bare cache directory.
pub trait GitRemote: Send + Sync + 'static {
    /// The remote URL without credentials (for messages).
    fn url(&self) -> &str;
    /// Brings all remote branches (`refs/remotes/origin/*`) and tags
    /// (`refs/tags/*`) into `cache`, pruning refs the remote no longer has.
    fn fetch<'a>(&'a self, cache: &'a Path) -> BoxFuture<'a, Result<FetchOutcome>>;
    /// Pushes all `updates` atomically; every update carries its expected old value.
    /// A changed ref gives [`GitError::Conflict`].
    fn push<'a>(&'a self, cache: &'a Path, updates: Vec<RefUpdate>) -> BoxFuture<'a, Result<()>>;
}

/// The smart-HTTP remote: gix for fetch, the `git` CLI for push.
pub struct HttpRemote {
    url: String,
    authorization: Option<String>,
    git: PathBuf,
}

impl std::fmt::Debug for HttpRemote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRemote")
            .field("url", &self.url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl HttpRemote {
    /// A remote at `url` (which must not carry credentials; see
    /// [`crate::config::split_url_credentials`]).
    pub fn new(url: &str, credentials: Option<&Credentials>) -> Self {
        HttpRemote {
            url: url.to_string(),
            authorization: credentials.map(Credentials::authorization),
            git: PathBuf::from(std::env::var_os("PORCH_GIT_BIN").unwrap_or_else(|| "git".into())),
        }
    }

    /// Uses another `git` binary for pushes (default: `$PORCH_GIT_BIN` or `git`).
    pub fn with_git_binary(mut self, git: impl Into<PathBuf>) -> Self {
        self.git = git.into();
        self
    }

    fn transport_options(&self) -> gix::protocol::transport::client::blocking_io::http::Options {
        let mut opts = gix::protocol::transport::client::blocking_io::http::Options::default();
        if let Some(auth) = &self.authorization {
            opts.extra_headers = vec![format!("Authorization: {auth}")];
        }
        opts.connect_timeout = Some(Duration::from_secs(15));
        // Abort transfers that stall (a server dying mid-fetch) instead of hanging.
        opts.low_speed_limit_bytes_per_second = 1;
        opts.low_speed_time_seconds = 60;
        opts.user_agent = Some("porch-rs".to_string());
        opts
    }

    fn fetch_blocking(&self, cache: &Path) -> Result<FetchOutcome> {
        let url = self.url.as_str();
        let repo = gix::open(cache).map_err(|e| {
            GitError::other(
                url,
                format!("cannot open cache {}: {}", cache.display(), gix_chain(&e)),
            )
        })?;
        let before = local_refs(&repo, url)?;
        let remote = repo
            .remote_at(url)
            .and_then(|r| {
                r.with_refspecs(
                    [
                        "+refs/heads/*:refs/remotes/origin/*",
                        "+refs/tags/*:refs/tags/*",
                    ],
                    gix::remote::Direction::Fetch,
                )
            })
            .map_err(|e| GitError::invalid(url, format!("invalid remote URL: {}", gix_chain(&e))))?
            .with_fetch_tags(gix::remote::fetch::Tags::None);
        let mut conn = remote
            .connect(gix::remote::Direction::Fetch)
            .map_err(|e| classify_fetch_error(url, &e, self.authorization.is_some()))?;
        // Never consult credential helpers or prompt: the header is all we send.
        conn.set_credentials(|_| Ok(None));
        conn.set_transport_options(Box::new(self.transport_options()));
        let prepared = conn
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|e| classify_fetch_error(url, &e, self.authorization.is_some()))?;
        // What the remote advertises, in cache ref names.
        let advertised: BTreeMap<String, ObjectId> = prepared
            .ref_map()
            .remote_refs
            .iter()
            .filter_map(|r| {
                let (name, target, _) = r.unpack();
                let local = refs::to_local(&name.to_string())?;
                Some((local, target?.to_owned()))
            })
            .collect();
        if advertised == before {
            // Nothing changed: skip negotiation and the ref update pass.
            return Ok(FetchOutcome { changed: false });
        }
        // Loose refs: gix's packed-only writing was 2x slower on a 5,000-tag first fetch.
        prepared
            .receive(gix::progress::Discard, &AtomicBool::new(false))
            .map_err(|e| classify_fetch_error(url, &e, self.authorization.is_some()))?;

        // Prune what the remote no longer has (gix has no prune yet).
        let stale: Vec<String> = before
            .keys()
            .filter(|name| !advertised.contains_key(*name))
            .cloned()
            .collect();
        if !stale.is_empty() {
            delete_local_refs(&repo, url, &stale)?;
        }
        let after = local_refs(&repo, url)?;
        Ok(FetchOutcome {
            changed: before != after,
        })
    }

    async fn push_async(&self, cache: &Path, updates: Vec<RefUpdate>) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let url = self.url.as_str();
        let mut cmd = tokio::process::Command::new(&self.git);
        cmd.arg("--git-dir")
            .arg(cache)
            .args(["push", "--atomic", "--porcelain"]);
        for u in &updates {
            let expected = u.expected.map(|id| id.to_string()).unwrap_or_default();
            cmd.arg(format!("--force-with-lease={}:{}", u.name, expected));
        }
        cmd.arg(url);
        for u in &updates {
            match u.new {
                Some(id) => cmd.arg(format!("{id}:{}", u.name)),
                None => cmd.arg(format!(":{}", u.name)),
            };
        }
        // Isolate from user/system config and pass the credentials only here.
        let mut config: Vec<(&str, String)> = vec![("credential.helper", String::new())];
        if let Some(auth) = &self.authorization {
            config.push(("http.extraHeader", format!("Authorization: {auth}")));
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_ASKPASS", "")
            .env("SSH_ASKPASS", "")
            .env("GIT_CONFIG_COUNT", config.len().to_string())
            .env_remove("GIT_TRACE")
            .env_remove("GIT_TRACE_CURL")
            .env_remove("GIT_CURL_VERBOSE")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        for (i, (k, v)) in config.iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{i}"), k)
                .env(format!("GIT_CONFIG_VALUE_{i}"), v);
        }
        let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
            .await
            .map_err(|_| GitError::Unreachable {
                url: url.to_string(),
                message: "git push timed out after 300s".to_string(),
            })?
            .map_err(|e| GitError::other(url, format!("cannot run git: {e}")))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report = parse_porcelain(&stdout);
        if out.status.success() && report.values().all(|s| s.ok) {
            return Ok(());
        }
        Err(classify_push_error(
            url,
            &report,
            &stderr,
            self.authorization.is_some(),
        ))
    }
}

impl GitRemote for HttpRemote {
    fn url(&self) -> &str {
        &self.url
    }

    fn fetch<'a>(&'a self, cache: &'a Path) -> BoxFuture<'a, Result<FetchOutcome>> {
        Box::pin(async move {
            let cache = cache.to_path_buf();
            let this = HttpRemote {
                url: self.url.clone(),
                authorization: self.authorization.clone(),
                git: self.git.clone(),
            };
            tokio::task::spawn_blocking(move || this.fetch_blocking(&cache))
                .await
                .map_err(|e| GitError::other(&self.url, format!("fetch task failed: {e}")))?
        })
    }

    fn push<'a>(&'a self, cache: &'a Path, updates: Vec<RefUpdate>) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.push_async(cache, updates))
    }
}

/// All local cache refs (remote-tracking branches and tags) with their targets.
pub(crate) fn local_refs(repo: &gix::Repository, url: &str) -> Result<BTreeMap<String, ObjectId>> {
    let mut out = BTreeMap::new();
    let platform = repo
        .references()
        .map_err(|e| crate::error::local(url, "cannot list refs", &e))?;
    let iter = platform
        .all()
        .map_err(|e| crate::error::local(url, "cannot list refs", &e))?;
    for r in iter {
        let r = r.map_err(|e| GitError::other(url, format!("cannot read ref: {e}")))?;
        let name = r.name().as_bstr().to_string();
        if !(name.starts_with(refs::LOCAL_HEADS) || name.starts_with(refs::TAGS)) {
            continue;
        }
        if let Some(id) = r.try_id() {
            out.insert(name, id.detach());
        }
    }
    Ok(out)
}

fn delete_local_refs(repo: &gix::Repository, url: &str, names: &[String]) -> Result<()> {
    use gix::refs::transaction::{Change, PreviousValue, RefEdit, RefLog};
    let mut edits = Vec::new();
    for name in names {
        let full: gix::refs::FullName = name
            .as_str()
            .try_into()
            .map_err(|e| GitError::other(url, format!("bad ref name {name}: {e}")))?;
        edits.push(RefEdit {
            change: Change::Delete {
                expected: PreviousValue::Any,
                log: RefLog::AndReference,
            },
            name: full,
            deref: false,
        });
    }
    repo.edit_references_as(edits, None)
        .map_err(|e| crate::error::local(url, "cannot prune refs", &e))?;
    Ok(())
}

/// Classifies a gix fetch error.
fn classify_fetch_error(url: &str, err: &gix::Error, has_credentials: bool) -> GitError {
    let text = gix_chain(err);
    let lower = text.to_lowercase();
    if err.is_unauthenticated()
        || err.is_permission_denied()
        || lower.contains("401")
        || lower.contains("403")
        || lower.contains("authentication")
        || lower.contains("no credentials")
    {
        return GitError::Auth {
            url: url.to_string(),
            message: auth_message(has_credentials),
        };
    }
    if lower.contains("404") || lower.contains("not found") {
        return GitError::not_found(url, format!("repository not found: {text}"));
    }
    if lower.contains("invalid url") || lower.contains("unsupported") && lower.contains("scheme") {
        return GitError::invalid(url, text);
    }
    // Everything else in a fetch is the network or the server going away.
    GitError::Unreachable {
        url: url.to_string(),
        message: text,
    }
}

fn auth_message(has_credentials: bool) -> String {
    if has_credentials {
        "the server rejected the credentials (HTTP 401)".to_string()
    } else {
        "the server requires credentials and the Repository has none".to_string()
    }
}

/// Status of one ref in `git push --porcelain` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefStatus {
    pub ok: bool,
    pub summary: String,
}

/// Parses `git push --porcelain` lines: `<flag>\t<from>:<to>\t<summary>`.
pub(crate) fn parse_porcelain(stdout: &str) -> BTreeMap<String, RefStatus> {
    let mut out = BTreeMap::new();
    for line in stdout.lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(flag), Some(spec), summary) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Some((_, to)) = spec.rsplit_once(':') else {
            continue;
        };
        let ok = matches!(flag, " " | "+" | "-" | "*" | "=");
        if flag.len() == 1 && (ok || flag == "!") {
            out.insert(
                to.to_string(),
                RefStatus {
                    ok,
                    summary: summary.unwrap_or_default().to_string(),
                },
            );
        }
    }
    out
}

/// Turns a failed push into a typed error.
pub(crate) fn classify_push_error(
    url: &str,
    report: &BTreeMap<String, RefStatus>,
    stderr: &str,
    has_credentials: bool,
) -> GitError {
    let rejected: Vec<String> = report
        .iter()
        .filter(|(_, s)| {
            !s.ok
                && [
                    "stale info",
                    "fetch first",
                    "non-fast-forward",
                    "already exists",
                    "failed to update ref",
                    "failed to lock",
                ]
                .iter()
                .any(|p| s.summary.contains(p))
        })
        .map(|(name, s)| format!("{name} {}", s.summary))
        .collect();
    // A concurrent push that won the race on the server side (the lease was
    // fine when advertised, the ref moved before the locked update).
    let lower_err = stderr.to_lowercase();
    let raced = ["cannot lock ref", "but expected", "incorrect old value"]
        .iter()
        .any(|p| lower_err.contains(p));
    if rejected.is_empty() && raced {
        let names: Vec<&str> = report.keys().map(String::as_str).collect();
        return GitError::conflict(
            url,
            format!(
                "a concurrent push moved a ref while updating {}",
                names.join(", ")
            ),
        );
    }
    if !rejected.is_empty() {
        return GitError::conflict(
            url,
            format!("the remote rejected the push: {}", rejected.join(", ")),
        );
    }
    let lower = stderr.to_lowercase();
    let detail = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if lower.contains("authentication failed")
        || lower.contains("could not read username")
        || lower.contains("could not read password")
        || lower.contains("401")
        || lower.contains("403")
    {
        return GitError::Auth {
            url: url.to_string(),
            message: format!("push refused: {}", auth_message(has_credentials)),
        };
    }
    if lower.contains("repository not found") || lower.contains("404") {
        return GitError::not_found(url, format!("repository not found: {detail}"));
    }
    let refused: Vec<String> = report
        .iter()
        .filter(|(_, s)| !s.ok)
        .map(|(name, s)| format!("{name} {}", s.summary))
        .collect();
    if !refused.is_empty() && !lower.contains("hung up") && !lower.contains("rpc failed") {
        return GitError::other(
            url,
            format!(
                "the remote refused the push: {}; {detail}",
                refused.join(", ")
            ),
        );
    }
    GitError::Unreachable {
        url: url.to_string(),
        message: format!("push failed: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_lease_rejection_is_a_conflict() {
        let out = "To http://127.0.0.1:1/r.git\n!\trefs/heads/main:refs/heads/main\t[rejected] (stale info)\n!\t0123:refs/tags/p/v1\t[rejected] (atomic push failed)\nDone\n";
        let report = parse_porcelain(out);
        assert_eq!(report.len(), 2);
        assert!(!report["refs/heads/main"].ok);
        let err = classify_push_error(
            "http://127.0.0.1:1/r.git",
            &report,
            "error: failed to push some refs",
            true,
        );
        assert!(matches!(err, GitError::Conflict { .. }), "{err}");
        assert!(err.to_string().contains("http://127.0.0.1:1/r.git"));
    }

    #[test]
    fn server_side_lock_race_is_a_conflict() {
        let out = "To u\n!\trefs/heads/main:refs/heads/main\t[remote rejected] (atomic transaction failed)\nDone\n";
        let report = parse_porcelain(out);
        let err = classify_push_error(
            "u",
            &report,
            "remote: error: cannot lock ref 'refs/heads/main': is at 21 but expected 55\n",
            true,
        );
        assert!(matches!(err, GitError::Conflict { .. }), "{err}");
    }

    #[test]
    fn auth_and_network_failures() {
        let empty = BTreeMap::new();
        let e = classify_push_error("u", &empty, "fatal: Authentication failed for 'u'\n", true);
        assert!(matches!(e, GitError::Auth { .. }));
        let e = classify_push_error(
            "u",
            &empty,
            "fatal: unable to access 'u': Failed to connect to 127.0.0.1 port 9: Connection refused\n",
            true,
        );
        assert!(matches!(e, GitError::Unreachable { .. }));
        let ok = parse_porcelain(
            "To u\n*\tabc:refs/heads/x\t[new branch]\n-\t:refs/heads/y\t[deleted]\nDone\n",
        );
        assert!(ok.values().all(|s| s.ok));
        assert_eq!(ok.len(), 2);
    }
}
