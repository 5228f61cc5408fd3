//! The repository source: what the Repository controller needs from a git (or OCI) adapter.
//! The git adapter implements [`RepositorySource`]; unit tests use a double.

use std::fmt;

use futures::future::BoxFuture;
use jiff::Timestamp;
use porch_crds::config::v1alpha1::Repository;
use porch_crds::porch::v1alpha1::{
    Condition, Locator, PackageMetadata, PackageRevisionLifecycle, ReadinessGate, Task,
};

/// One package revision found in a repository, with everything the CR cache serves.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DiscoveredRevision {
    /// Package path relative to the repository directory (`basedir/subdir/pkg`).
    pub package_path: String,
    /// Workspace name (the branch name for the placeholder, `vN` or the `kpt:` annotation's
    /// workspace for tags).
    pub workspace_name: String,
    /// 0 for Draft/Proposed, -1 for the placeholder, ≥ 1 when published.
    pub revision: i64,
    pub lifecycle: PackageRevisionLifecycle,
    /// The commit SHA of the revision.
    pub commit: String,
    /// The creation task (0 or 1 element).
    pub tasks: Vec<Task>,
    /// The Kptfile's upstream lock, when it has one.
    pub upstream_lock: Option<Locator>,
    /// Where the revision lives (`{type: git, git: {repo, directory, ref, commit}}`).
    pub self_lock: Option<Locator>,
    pub published_by: String,
    pub publish_timestamp: Option<Timestamp>,
    pub package_metadata: Option<PackageMetadata>,
    pub readiness_gates: Vec<ReadinessGate>,
    /// The Kptfile's `status.conditions`.
    pub conditions: Vec<Condition>,
}

/// The result of fetching a repository.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchedRepository {
    /// The head commit of the configured branch (`status.gitCommitHash`).
    pub head_commit: String,
    /// Every package revision in the repository.
    pub revisions: Vec<DiscoveredRevision>,
    /// An opaque version of the remote refs (e.g. a hash of every ref name and target), the
    /// same value [`RepositorySource::check`] returns; `None` when the source cannot tell.
    pub version: Option<String>,
}

/// Credentials resolved from the Repository's `secretRef`. `Debug` never prints a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A `kubernetes.io/basic-auth` Secret.
    Basic { username: String, password: String },
    /// An `Opaque` Secret with `bearerToken`.
    BearerToken(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::BearerToken(_) => f.write_str("BearerToken(<redacted>)"),
        }
    }
}

/// What a source needs to reach a repository: the credentials of its `secretRef` and, with
/// `--repositories.use-user-defined-ca-bundle`, the PEM CA bundle of its namespace (Secret
/// `<namespace>-ca-bundle`, key `ca.crt`). `Debug` never prints a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub credentials: Option<Credentials>,
    pub ca_bundle: Option<String>,
}

impl From<Credentials> for Access {
    fn from(credentials: Credentials) -> Self {
        Access {
            credentials: Some(credentials),
            ca_bundle: None,
        }
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("credentials", &self.credentials)
            .field("ca_bundle", &self.ca_bundle.as_ref().map(|_| "<pem>"))
            .finish()
    }
}

/// Why a fetch or check failed. Messages must name the repository URL without credentials
/// (see [`crate::redact::redact_url`]); they become the `Ready` condition's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The server did not answer (DNS, connection refused, timeout).
    #[error("{0}")]
    Unreachable(String),
    /// The server refused the credentials, or they could not be resolved.
    #[error("{0}")]
    Auth(String),
    /// The repository or branch does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl SourceError {
    /// A stable label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "unreachable",
            Self::Auth(_) => "auth",
            Self::NotFound(_) => "not_found",
            Self::Other(_) => "other",
        }
    }
}

/// A repository adapter. Implementations keep whatever local state they need (a bare clone
/// per URL, say) and must be safe to call for many repositories at once.
pub trait RepositorySource: Send + Sync {
    /// Fetch the repository described by `repo.spec` and list every package revision.
    fn fetch<'a>(
        &'a self,
        repo: &'a Repository,
        access: &'a Access,
    ) -> BoxFuture<'a, Result<FetchedRepository, SourceError>>;

    /// A cheap connectivity check (`git ls-remote`), returning the remote refs' version when
    /// the source can compute it (as in [`FetchedRepository::version`]). A version different
    /// from the last sync's triggers a full sync at once, so a push by anyone else shows up
    /// within a health-check period.
    fn check<'a>(
        &'a self,
        repo: &'a Repository,
        access: &'a Access,
    ) -> BoxFuture<'a, Result<Option<String>, SourceError>>;

    /// The Repository is gone: drop any local state kept for it. Never touches the remote.
    fn release<'a>(&'a self, repo: &'a Repository) -> BoxFuture<'a, ()>;
}
