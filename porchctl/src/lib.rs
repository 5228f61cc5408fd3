//! `porchctl`: the command-line client for Porch, byte-compatible with upstream's output
//! (spec/porch-api.md §5), plus the runner of upstream's data-driven CLI conformance cases.
//!
//! Entry points: [`run`] executes one command line against a [`Connector`] and returns the exit
//! code, writing into an [`Io`]; the `porchctl` binary wraps it with the real streams.

pub mod api;
pub mod cli;
pub mod commands;
pub mod conformance;
pub mod connect;
pub mod errors;
pub mod io;
pub mod printers;
pub mod pull_push;

use clap::Parser;
use clap::error::ErrorKind;

pub use cli::Cli;
pub use connect::Connector;
pub use errors::CliError;
pub use io::Io;

/// The message printed when `git` is missing (spec/porch-api.md §5.1).
pub const GIT_MISSING: &str = "porchctl requires that `git` is installed and on the PATH";

/// Runs one porchctl command line (`args[0]` is the program name) and returns the exit code.
pub async fn run(args: Vec<String>, connector: Connector, io: &mut Io) -> i32 {
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    io.out(&e.render().to_string());
                    0
                }
                _ => {
                    io.err(&e.render().to_string());
                    errors::EXIT_FAILURE
                }
            };
        }
    };
    match commands::dispatch(cli, &connector, io).await {
        Ok(()) => 0,
        Err(e) => {
            e.print(io);
            errors::EXIT_FAILURE
        }
    }
}

/// Whether an executable named `git` is on `PATH`.
pub fn git_on_path() -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let candidate = dir.join("git");
        std::fs::metadata(&candidate).is_ok_and(|m| m.is_file())
    })
}
