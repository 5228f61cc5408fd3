//! `porchctl`: the command-line client for Porch.

use std::io::Write;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !porchctl::git_on_path() {
        eprintln!("{}", porchctl::GIT_MISSING);
        std::process::exit(1);
    }
    let mut io = porchctl::Io::new(Box::new(std::io::stdin()));
    let code = porchctl::run(
        std::env::args().collect(),
        porchctl::Connector::Kubeconfig,
        &mut io,
    )
    .await;
    let _ = std::io::stdout().write_all(&io.stdout);
    let _ = std::io::stderr().write_all(&io.stderr);
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}
