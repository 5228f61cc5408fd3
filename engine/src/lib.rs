//! Porch engine: turns API requests into repository changes. It runs creation tasks, renders, moves
//! package revisions through their lifecycle and enforces every rule, with no HTTP in it.
//!
//! # Layout
//!
//! A pure core, tested by feeding it data:
//! - [`error`], [`messages`]: [`EngineError`] (one variant per Kubernetes error kind) and every
//!   upstream error text, exactly.
//! - [`lifecycle`], [`approval`]: the REST strategies (create, update, approval subresource).
//! - [`create`], [`delete`], [`plan`]: the engine's create checks, delete rules and the update
//!   planner (an ordered list of [`plan::Effect`]s).
//! - [`latest`], [`selectors`], [`names`]: revision numbers, the latest marker, list order,
//!   field selectors, object names and uids.
//! - [`locks`], [`content_cache`]: per-revision try-locks and the commit-keyed content cache.
//!
//! The seams, implemented elsewhere:
//! - [`backend::RepositoryBackend`]: the git adapter (porch-git), later OCI and the DB cache.
//! - [`backend::MetadataStore`]: PackageRev CRs (labels, annotations, finalizers, owners).
//! - [`ops::PackageOps`]: the kpt library (init, clone, copy, upgrade, Kptfile patch, render).
//!
//! The orchestration over them: [`Engine`] (`create`, `update` for both endpoints,
//! `update_resources`, `delete`, `list`, `get`, `get_resources`). [`convert`] maps the
//! `porch-crds` wire types to the engine's [`model`] and back. [`testing`] (feature `testing`)
//! holds in-memory test doubles, for unit tests only.

pub mod adapters;
pub mod approval;
pub mod backend;
pub mod content_cache;
pub mod convert;
pub mod create;
pub mod delete;
pub mod error;
pub mod latest;
pub mod lifecycle;
pub mod locks;
pub mod messages;
pub mod model;
pub mod names;
pub mod ops;
pub mod orchestrator;
pub mod plan;
pub mod record;
pub mod selectors;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{EngineError, FieldError};
pub use orchestrator::{
    DeleteOutcome, Engine, EngineOptions, ResourcesUpdate, ResourcesUpdated, Scope, UpdateKind,
    UpdateOutcome,
};
