//! Porch's git repository adapter: reads and writes package revisions in
//! upstream Porch's git layout (`spec/porch-api.md` §6), plus a loopback
//! smart-HTTP git server for tests ([`testserver`]).
//!
//! Reads and object writes use gix (from `spawn_blocking`); pushes run
//! `git push --atomic --force-with-lease`, behind [`remote::GitRemote`].

mod advertisement;
pub mod annotation;
mod commit_graph;
pub mod config;
pub mod discovery;
pub mod error;
pub mod listing;
mod loose;
mod objects;
mod packed;
pub mod refs;
pub mod remote;
mod repo;
pub mod testserver;
pub mod types;

pub use config::{Author, CaBundle, ConnectionOptions, Credentials, RepoConfig, RetryPolicy};
pub use error::{GitError, Result};
pub use listing::latest_revisions;
pub use remote::{GitRemote, HttpRemote, RefUpdate};
pub use repo::{DraftChange, GitRepository, NewDraft};
pub use types::{Lifecycle, PackageRevision, PackageRevisionKey, RefreshOutcome, RevisionDetails};
