//! The `porch` binary: every server part of Porch in Rust behind one command.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "porch", version, about = "Package orchestration for kpt packages")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the version and exit.
    Version,
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("porch {}", env!("CARGO_PKG_VERSION")),
    }
}
