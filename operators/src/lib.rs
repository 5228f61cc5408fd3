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

pub mod admin;
pub mod context;
pub mod decision;
pub mod desired;
pub mod error;
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
