//! Porch engine: turns API requests into repository changes. It runs creation tasks, renders, moves
//! package revisions through their lifecycle and enforces every rule, with no HTTP in it.
//!
//! The core is pure (rules, planner, selectors, names, latest marker); I/O sits behind the
//! [`backend::RepositoryBackend`], [`backend::MetadataStore`] and [`ops::PackageOps`] traits.

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
