//! `porch apiserver`: the porch.kpt.dev aggregated API server for a real cluster. It serves
//! only the aggregated groups given to it (plus health, discovery and OpenAPI), over TLS, with
//! authentication and authorization delegated to the kube-apiserver:
//! - front-proxy client certificates (kube-aggregator) checked against the requestheader CA of
//!   `kube-system/extension-apiserver-authentication`, users read from `X-Remote-*` headers;
//! - client certificates signed by its `client-ca-file`;
//! - bearer tokens through TokenReview (cached briefly by token hash);
//! - every request but health and discovery authorized through SubjectAccessReview (cached
//!   briefly by the whole attribute set).
//!
//! The pure parts ([`request_info`], [`front_proxy`], [`authz`]'s spec and message,
//! [`cache`]) are tested by feeding data; [`middleware`] and [`server`] do the I/O.

pub mod authn;
pub mod authz;
pub mod backend;
pub mod cache;
pub mod certs;
pub mod front_proxy;
pub mod middleware;
pub mod request_info;
pub mod routes;
pub mod server;
pub mod tls;
pub mod user;

pub use routes::ReadyCheck;
pub use server::{
    DelegatedArgs, DelegatedError, RunningDelegated, run, start, start_full, start_with,
};
pub use user::AuthenticatedUser;
