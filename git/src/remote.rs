//! Talking to the remote: fetch with gix, push with `git push --atomic
//! --force-with-lease` (gix cannot push yet). Both sit behind [`GitRemote`].
//! Credentials travel only as an `Authorization` header: in gix's transport
//! options and in the git CLI's environment, never in argv, URLs or on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use gix::ObjectId;

use crate::advertisement;
use crate::config::{ConnectionOptions, Credentials, RetryPolicy};
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
#[derive(Clone)]
pub struct HttpRemote {
    url: String,
    authorization: Option<String>,
    git: PathBuf,
    trust: Option<Arc<Trust>>,
    retry: RetryPolicy,
    /// For the one-request ref check with a custom CA; built on first use.
    client: OnceLock<reqwest::Client>,
    /// When the cache's commit-graph is rewritten (see [`crate::commit_graph`]).
    commit_graph: Arc<crate::commit_graph::CommitGraph>,
}

/// A custom CA bundle, parsed once.
struct Trust {
    pem: String,
    certs: Vec<reqwest::Certificate>,
}

impl std::fmt::Debug for HttpRemote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRemote")
            .field("url", &self.url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("custom_ca", &self.trust.is_some())
            .field("retry", &self.retry)
            .finish()
    }
}

impl HttpRemote {
    /// A remote at `url` (which must not carry credentials; see
    /// [`crate::config::split_url_credentials`]), with default
    /// [`ConnectionOptions`].
    pub fn new(url: &str, credentials: Option<&Credentials>) -> Self {
        HttpRemote {
            url: url.to_string(),
            authorization: credentials.map(Credentials::authorization),
            git: PathBuf::from(std::env::var_os("PORCH_GIT_BIN").unwrap_or_else(|| "git".into())),
            trust: None,
            retry: RetryPolicy::default(),
            client: OnceLock::new(),
            commit_graph: Arc::default(),
        }
    }

    /// Applies a CA bundle and a retry policy. A bundle without any valid
    /// certificate is [`GitError::Invalid`].
    pub fn with_options(mut self, options: &ConnectionOptions) -> Result<Self> {
        self.retry = options.retry.clone();
        self.trust = match &options.ca_bundle {
            None => None,
            Some(bundle) => {
                let certs = reqwest::Certificate::from_pem_bundle(bundle.pem().as_bytes())
                    .ok()
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| {
                        GitError::invalid(
                            &self.url,
                            "the CA bundle holds no valid PEM certificate; check key ca.crt of the CA bundle secret",
                        )
                    })?;
                Some(Arc::new(Trust {
                    pem: bundle.pem().to_string(),
                    certs,
                }))
            }
        };
        self.client = OnceLock::new();
        Ok(self)
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
        if let Some(trust) = &self.trust {
            // gix's reqwest backend ignores `ssl_ca_info`; roots go in through the client builder.
            let certs = trust.certs.clone();
            let backend = gix::protocol::transport::client::blocking_io::http::reqwest::Options {
                configure_client: Some(Box::new(move |builder| {
                    Ok(builder.tls_certs_merge(certs.clone()))
                })),
                configure_request: None,
            };
            opts.backend = Some(Arc::new(std::sync::Mutex::new(backend)));
        }
        opts
    }

    fn client(&self) -> Option<&reqwest::Client> {
        // Without a custom CA all remotes share one client (one root store,
        // one connection pool), so a repository costs no TLS state of its own.
        static SHARED: OnceLock<reqwest::Client> = OnceLock::new();
        let cell = if self.trust.is_some() {
            &self.client
        } else {
            &SHARED
        };
        if let Some(c) = cell.get() {
            return Some(c);
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .user_agent("porch-rs");
        if let Some(trust) = &self.trust {
            builder = builder.tls_certs_merge(trust.certs.clone());
        }
        match builder.build() {
            Ok(c) => Some(cell.get_or_init(|| c)),
            Err(e) => {
                tracing::debug!(error = %e, "cannot build HTTP client; using full fetches");
                None
            }
        }
    }

    /// The remote's refs from one `info/refs` request (protocol v0), or `None`
    /// when that did not work for any reason (the full fetch then reports it).
    async fn advertised_refs(&self) -> Option<BTreeMap<String, ObjectId>> {
        let client = self.client()?;
        let base = self.url.trim_end_matches('/');
        let mut req = client.get(format!("{base}/info/refs?service=git-upload-pack"));
        if let Some(auth) = &self.authorization {
            req = req.header(http::header::AUTHORIZATION, auth);
        }
        let resp = req.send().await.ok()?;
        let is_advertisement = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(advertisement::CONTENT_TYPE));
        if !resp.status().is_success() || !is_advertisement {
            return None;
        }
        let body = resp.bytes().await.ok()?;
        advertisement::parse(&body)
    }

    /// The remote's refs (one `info/refs` request) in cache names, or `None`
    /// when the quick request did not work.
    async fn advertised_local_refs(&self) -> Option<BTreeMap<String, ObjectId>> {
        Some(
            self.advertised_refs()
                .await?
                .into_iter()
                .filter_map(|(name, id)| Some((refs::to_local(&name)?, id)))
                .collect(),
        )
    }

    /// Fetches into the cache. `hint` is the remote's ref set (cache names)
    /// from the quick request: then gix only asks for the objects of the refs
    /// that changed (object-id refspecs: no ref matching, which is quadratic
    /// in gix, and no ref writes by gix); without it gix maps every branch and tag.
    fn fetch_blocking(
        &self,
        cache: &Path,
        hint: Option<BTreeMap<String, ObjectId>>,
    ) -> Result<FetchOutcome> {
        let url = self.url.as_str();
        let repo = gix::open(cache).map_err(|e| {
            GitError::other(
                url,
                format!("cannot open cache {}: {}", cache.display(), gix_chain(&e)),
            )
        })?;
        let before = local_refs(&repo, url)?;
        if hint.as_ref() == Some(&before) {
            return Ok(FetchOutcome { changed: false });
        }
        let wanted = match hint {
            Some(hint) => {
                // The new targets of refs that changed or appeared.
                let ids: BTreeSet<ObjectId> = hint
                    .iter()
                    .filter(|(name, id)| before.get(*name) != Some(*id))
                    .map(|(_, id)| *id)
                    .collect();
                if !ids.is_empty() {
                    let specs: Vec<String> = ids.iter().map(ObjectId::to_string).collect();
                    self.receive(&repo, &specs)?;
                }
                hint
            }
            None => self.receive(
                &repo,
                &[
                    format!("+{}*:{}*", refs::HEADS, refs::LOCAL_HEADS),
                    format!("+{}*:{}*", refs::TAGS, refs::TAGS),
                ],
            )?,
        };
        if wanted == before {
            return Ok(FetchOutcome { changed: false });
        }
        // The objects are in; now the refs, all at once (this also prunes
        // what the remote no longer has).
        crate::packed::replace_all(cache, &wanted).map_err(|e| {
            GitError::other(
                url,
                format!("cannot write refs in cache {}: {e}", cache.display()),
            )
        })?;
        Ok(FetchOutcome { changed: true })
    }

    /// Runs a gix fetch with `specs`; returns the branches and tags (cache
    /// names) gix saw on the remote.
    fn receive(
        &self,
        repo: &gix::Repository,
        specs: &[String],
    ) -> Result<BTreeMap<String, ObjectId>> {
        let url = self.url.as_str();
        let remote = repo
            .remote_at(url)
            .and_then(|r| {
                r.with_refspecs(
                    specs.iter().map(String::as_str),
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
        // What gix saw on the remote.
        let seen: BTreeMap<String, ObjectId> = prepared
            .ref_map()
            .remote_refs
            .iter()
            .filter_map(|r| {
                let (name, target, _) = r.unpack();
                let local = refs::to_local(&name.to_string())?;
                Some((local, target?.to_owned()))
            })
            .collect();
        prepared
            .receive(gix::progress::Discard, &AtomicBool::new(false))
            .map_err(|e| classify_fetch_error(url, &e, self.authorization.is_some()))?;
        Ok(seen)
    }

    /// Pushes with upstream's retry rule: a failure whose output holds a
    /// retryable string is repeated (same leases, so a ref that moved in between
    /// still turns into [`GitError::Conflict`]) up to `retry.attempts` times.
    async fn push_async(&self, cache: &Path, updates: Vec<RefUpdate>) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let attempts = self.retry.attempts.max(1);
        let mut retried = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (error, output) = match self.push_once(cache, &updates).await {
                Ok(()) => {
                    self.commit_graph.pushed(&self.git, cache);
                    return Ok(());
                }
                Err(failure) => failure,
            };
            if attempt < attempts && self.retry.is_retryable(&output) {
                tracing::info!(url = %self.url, attempt, error = %error, "retrying push");
                retried = true;
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                continue;
            }
            // An earlier attempt may have landed although its answer was lost:
            // then the leases fail now, yet the remote holds exactly our values.
            if retried && self.remote_has(&updates).await {
                return Ok(());
            }
            return Err(error);
        }
    }

    /// Whether every ref of `updates` already has its new value on the remote.
    async fn remote_has(&self, updates: &[RefUpdate]) -> bool {
        let Some(remote) = self.advertised_refs().await else {
            return false;
        };
        updates
            .iter()
            .all(|u| remote.get(&u.name) == u.new.as_ref())
    }

    /// One `git push`; on failure the typed error and the raw output (for the retry rule).
    async fn push_once(
        &self,
        cache: &Path,
        updates: &[RefUpdate],
    ) -> std::result::Result<(), (GitError, String)> {
        let url = self.url.as_str();
        let mut cmd = tokio::process::Command::new(&self.git);
        cmd.arg("--git-dir")
            .arg(cache)
            .args(["push", "--atomic", "--porcelain"]);
        for u in updates {
            let expected = u.expected.map(|id| id.to_string()).unwrap_or_default();
            cmd.arg(format!("--force-with-lease={}:{}", u.name, expected));
        }
        cmd.arg(url);
        for u in updates {
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
        // The CA bundle goes to a private temporary file for this push only
        // (certificates are public; nothing lands in the cache's config).
        let ca_file = match &self.trust {
            Some(trust) => Some(write_ca_file(&trust.pem).map_err(|e| {
                (
                    GitError::other(
                        url,
                        format!("cannot write the CA bundle to a temporary file: {e}"),
                    ),
                    String::new(),
                )
            })?),
            None => None,
        };
        if let Some(f) = &ca_file {
            config.push(("http.sslCAInfo", f.path().to_string_lossy().into_owned()));
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_ASKPASS", "")
            .env("SSH_ASKPASS", "")
            .env("GIT_CONFIG_COUNT", config.len().to_string())
            .env_remove("GIT_SSL_CAINFO")
            .env_remove("GIT_SSL_NO_VERIFY")
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
            .map_err(|_| {
                (
                    GitError::Unreachable {
                        url: url.to_string(),
                        message: "git push timed out after 300s".to_string(),
                    },
                    String::new(),
                )
            })?
            .map_err(|e| {
                (
                    GitError::other(url, format!("cannot run git: {e}")),
                    String::new(),
                )
            })?;
        drop(ca_file);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report = parse_porcelain(&stdout);
        if out.status.success() && report.values().all(|s| s.ok) {
            return Ok(());
        }
        let error = classify_push_error(url, &report, &stderr, self.authorization.is_some());
        Err((error, format!("{stdout}\n{stderr}")))
    }
}

/// Writes the CA bundle (plus the system roots, which git would otherwise stop
/// trusting once `http.sslCAInfo` is set) to a private temporary file.
fn write_ca_file(pem: &str) -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::Write as _;
    let mut f = tempfile::Builder::new()
        .prefix("porch-ca-")
        .suffix(".pem")
        .tempfile()?;
    f.write_all(pem.as_bytes())?;
    f.write_all(b"\n")?;
    for system in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ] {
        if let Ok(roots) = std::fs::read(system) {
            f.write_all(&roots)?;
            break;
        }
    }
    f.flush()?;
    Ok(f)
}

impl GitRemote for HttpRemote {
    fn url(&self) -> &str {
        &self.url
    }

    fn fetch<'a>(&'a self, cache: &'a Path) -> BoxFuture<'a, Result<FetchOutcome>> {
        Box::pin(async move {
            // One request tells whether anything changed (the common refresh)
            // and which refs to ask gix for.
            let hint = self.advertised_local_refs().await;
            let owned = cache.to_path_buf();
            let this = self.clone();
            let fetched = tokio::task::spawn_blocking(move || this.fetch_blocking(&owned, hint))
                .await
                .map_err(|e| GitError::other(&self.url, format!("fetch task failed: {e}")))??;
            if fetched.changed {
                self.commit_graph.fetched(&self.git, cache);
            }
            Ok(fetched)
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

/// Classifies a gix fetch error.
fn classify_fetch_error(url: &str, err: &gix::Error, has_credentials: bool) -> GitError {
    let text = gix_chain(err);
    let lower = text.to_lowercase();
    if let Some(e) = untrusted_certificate(url, &text) {
        return e;
    }
    if err.is_unauthenticated()
        || err.is_permission_denied()
        || http_status_in(&lower, &["401", "403"])
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

/// A TLS verification failure (gix/rustls or git/curl wording) as an error
/// that says where the CA goes.
fn untrusted_certificate(url: &str, text: &str) -> Option<GitError> {
    let lower = text.to_lowercase();
    let tls = [
        "invalid peer certificate",
        "unknownissuer",
        "certificate verify failed",
        "certificate verification failed",
        "ssl certificate problem",
        "self-signed certificate",
        "self signed certificate",
        "unable to get local issuer certificate",
    ]
    .iter()
    .any(|p| lower.contains(p));
    tls.then(|| {
        let detail = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        GitError::other(
            url,
            format!(
                "the server's TLS certificate is not trusted ({detail}); if it is signed by a private CA, \
                 provide that CA as the CA bundle (secret `<namespace>-ca-bundle`, key `ca.crt`, with --use-user-cabundle)"
            ),
        )
    })
}

/// Whether lower-cased git or gix error text reports one of `codes` as an HTTP status. A bare
/// substring test is not enough: object ids, ports and paths contain such digits too (a
/// declined hook once read as a 401 that way).
fn http_status_in(lower: &str, codes: &[&str]) -> bool {
    codes.iter().any(|code| {
        lower.match_indices(code).any(|(at, _)| {
            let before = lower[..at].trim_end_matches([' ', ':']);
            let after = &lower[at + code.len()..];
            let bounded = !after.starts_with(|c: char| c.is_ascii_alphanumeric())
                && !lower[..at].ends_with(|c: char| c.is_ascii_alphanumeric());
            bounded
                && (before.ends_with("error")
                    || before.ends_with("status")
                    || before.ends_with("http")
                    || before.ends_with("code")
                    || after.trim_start().starts_with("unauthorized")
                    || after.trim_start().starts_with("forbidden"))
        })
    })
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
    if let Some(e) = untrusted_certificate(url, stderr) {
        return e;
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
        || http_status_in(&lower, &["401", "403"])
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
                "the remote refused the push: {}; {detail}; the server's hooks or policy \
                 rejected it: see its message above, fix the cause, then retry",
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
    fn only_a_reported_http_status_is_an_auth_error() {
        for text in [
            "fatal: unable to access 'http://h/r.git/': the requested url returned error: 401",
            "fatal: unable to access 'http://h/r.git/': the requested url returned error: 403",
            "received http status 401",
            "http 401 unauthorized",
            "401 unauthorized",
        ] {
            assert!(http_status_in(text, &["401", "403"]), "{text}");
        }
        for text in [
            "to http://127.0.0.1:40123/r.git",
            "! [remote rejected] drafts/p/w (pre-receive hook declined) a401bc",
            "remote: error 14010",
            "/tmp/.tmp401xyz/hooks/pre-receive",
        ] {
            assert!(!http_status_in(text, &["401", "403"]), "{text}");
        }
    }

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
