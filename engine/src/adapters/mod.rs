//! The engine's seams wired to real parts: git repositories ([`git::GitBackend`] over
//! `porch-git`), the kpt library ([`kpt::KptOps`]) and Kubernetes ([`kube`]: Repository specs,
//! Secrets and PackageRev metadata). [`build_engine`] assembles the production engine.
//!
//! Caching in front of git and the API server: [`fetch::SharedFetchRemote`] shares concurrent
//! fetches of a repository and skips one that follows another within
//! [`EngineOptions::fetch_fresh_for`](crate::EngineOptions); [`GitBackend`] reuses a resolved
//! Repository spec and Secret for [`EngineOptions::repository_spec_ttl`](crate::EngineOptions)
//! and a listing while the cache's refs are unchanged. [`cache_refs`] answers the writes that
//! need one fact (a tag's commit) from the ref alone.

pub mod cache_refs;
pub mod fetch;
pub mod git;
pub mod kpt;
pub mod kube;
pub mod record;
pub mod upstream;

use std::path::PathBuf;
use std::sync::Arc;

use crate::{Engine, EngineOptions};

pub use self::fetch::FetchPolicy;
pub use self::git::{BackendOptions, CredentialSource, GitBackend, GitRepoSpec, RepositorySpecs};
pub use self::kpt::KptOps;
pub use self::kube::{KubeRepositories, KubeSecrets, PackageRevMetadata};

/// The git backend as production wires it: Repository specs and Secrets from the API server.
pub type KubeGitBackend = GitBackend<KubeRepositories, KubeSecrets>;

/// The production engine.
pub type RealEngine = Engine<KubeGitBackend, PackageRevMetadata, KptOps>;

/// Builds the production engine: git repositories cached under `cache_dir`, Repository CRs,
/// Secrets and PackageRevs read through `client`, renders through `evaluator`.
pub fn build_engine(
    client: ::kube::Client,
    cache_dir: impl Into<PathBuf>,
    evaluator: Arc<dyn ::kpt::fn_eval::Evaluator>,
    options: EngineOptions,
) -> RealEngine {
    let backend = GitBackend::new(
        KubeRepositories::new(client.clone()),
        KubeSecrets::new(client.clone()),
        cache_dir,
    )
    .with_options(BackendOptions {
        fetch: FetchPolicy {
            fresh_for: options.fetch_fresh_for,
        },
        spec_ttl: options.repository_spec_ttl,
        use_user_ca_bundle: options.use_user_ca_bundle,
    });
    Engine::new(
        backend,
        PackageRevMetadata::new(client),
        KptOps::new(evaluator),
        options,
    )
}
