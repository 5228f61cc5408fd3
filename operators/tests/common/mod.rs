//! Set-up shared by the integration tests that sync into an in-process API server.
#![allow(dead_code, clippy::unwrap_used)]

use porch_apiserver::{ServerOptions, api, build_app};

/// The conformance suite's test-blueprints bundle (read at run time, so a moved checkout works).
pub fn bundle() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../shared/conformance/test-blueprints.bundle")
}

/// A kube client served in-process by a standalone API server storing under `dir`.
pub async fn in_process_client(dir: &std::path::Path) -> kube::Client {
    let opts = ServerOptions::new(dir, "127.0.0.1:0".parse().unwrap());
    let app = build_app(&opts, None, "in-process".into()).await.unwrap();
    kube::Client::new(api::router(app), "default")
}
