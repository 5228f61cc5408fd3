//! Porch's operators: the kube-runtime controllers that maintain the CR cache.
//!
//! - [`repository`]: syncs each Repository into one PackageRev per package revision and keeps
//!   the Repository's status true.
//! - [`packagerev`]: keeps derived state true across the revisions of a package (latest
//!   marker, placeholders, orphan cleanup).
//! - [`lease`]: leader election through a coordination.k8s.io Lease.
//! - [`admin`]: `/healthz`, `/readyz` and `/metrics`.
//! - [`run`](mod@run): the `porch operators` entry point ([`OperatorsArgs`], [`run()`]).
//!
//! The decisions are a pure core, tested by feeding objects: [`decision`] (what a reconcile
//! does and when to look again), [`desired`] (the desired-set diff), [`latest`] (the latest
//! marker and placeholder rules) and [`status`] (the Repository status).
//!
//! # The CR cache contract (what the API server can rely on)
//!
//! - One `PackageRev` per package revision, with the PackageRevision's namespace and name,
//!   holding everything needed to serve it without git: `spec` (repository, packageName,
//!   workspaceName, revision, lifecycle, tasks, readinessGates, packageMetadata) and `status`
//!   (commit, upstreamLock, selfLock, publishedBy, publishTimestamp, deployment, conditions).
//! - Label `internal.porch.kpt.dev/repository=<repo>`, finalizer
//!   `internal.porch.kpt.dev/packagerevision`, and (on create) an ownerReference to the
//!   `porch.kpt.dev/v1alpha1` PackageRevision with its deterministic uid.
//! - Label `kpt.dev/latest-revision: "true"` on exactly the latest revision of each package
//!   path ([`latest::latest_names`]); absent elsewhere. Both controllers maintain it with
//!   idempotent merge patches; an API server write may set it too, with the same function.
//! - Every other label, annotation, finalizer and ownerReference belongs to users and is never
//!   changed by a sync.
//! - A sync writes only what differs: a no-change sync writes no PackageRev and no
//!   Repository status ([`status`] explains `lastFullSyncTime`); writes of one sync go
//!   with bounded concurrency ([`context::DEFAULT_WRITE_CONCURRENCY`]).
//! - A honoured `spec.sync.runOnceAt` is recorded in `status.observedRunOnceAt` and cleared
//!   from the spec (as upstream does), guarded by the generation the sync read.
//! - A sync lists a repository's PackageRevs *before* fetching git and deletes those whose
//!   revision is gone, conditionally on the resourceVersion it listed. So the API server must
//!   push a revision to git before it creates its PackageRev (a PackageRev created after the
//!   listing is never deleted by that sync).

pub mod admin;
pub mod context;
pub mod decision;
pub mod desired;
pub mod error;
pub mod git_source;
pub mod latest;
pub mod lease;
pub mod metrics;
pub mod packagerev;
pub mod redact;
pub mod repository;
pub mod run;
pub mod schedule;
pub mod source;
pub mod status;

pub use run::{OperatorsArgs, RunError, run};
pub use source::{
    Credentials, DiscoveredRevision, FetchedRepository, RepositorySource, SourceError,
};

#[cfg(test)]
mod decision_tests;
#[cfg(test)]
mod desired_tests;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod lease_tests;
#[cfg(test)]
mod packagerev_tests;
#[cfg(test)]
mod repository_tests;
