//! The Kubernetes API server of Porch: a generic, store-backed API machinery (built-in core
//! kinds, CRDs and their instances) with an embedded SQLite store, used by
//! `porch standalone`, plus the extension point for the porch.kpt.dev aggregated group.

pub mod aggregated;
pub mod api;
pub mod builtin;
pub mod controllers;
pub mod delegated;
pub mod kubeconfig;
pub mod registry;
pub mod server;
pub mod standalone;
pub mod store;
pub mod tls;

pub use aggregated::{AggregatedApiGroup, UserInfo};
pub use server::{RunningServer, ServerError, ServerOptions, build_app, start};
pub use standalone::{StandaloneArgs, run_standalone, start_standalone};
