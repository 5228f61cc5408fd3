//! The engine's seams wired to real parts: git repositories ([`git::GitBackend`] over
//! `porch-git`), the kpt library ([`kpt::KptOps`]) and Kubernetes ([`kube`]: Repository specs,
//! Secrets and PackageRev metadata). [`build_engine`] assembles the production engine.

pub mod git;
pub mod kpt;
pub mod kube;
pub mod record;
pub mod upstream;

use std::path::PathBuf;
use std::sync::Arc;

use crate::{Engine, EngineOptions};

pub use self::git::{CredentialSource, GitBackend, GitRepoSpec, RepositorySpecs};
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
    );
    Engine::new(
        backend,
        PackageRevMetadata::new(client),
        KptOps::new(evaluator),
        options,
    )
}
