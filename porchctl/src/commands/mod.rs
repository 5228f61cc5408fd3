//! One module per command; `dispatch` routes a parsed command line.

pub mod get;
pub mod repo;
pub mod rpkg;

use crate::cli::{Cli, Command};
use crate::connect::Connector;
use crate::errors::CliError;
use crate::io::Io;

/// Runs a parsed command.
pub async fn dispatch(cli: Cli, connector: &Connector, io: &mut Io) -> Result<(), CliError> {
    match cli.command {
        Command::Version => {
            io.out(&version_text());
            Ok(())
        }
        Command::Repo(args) => repo::run(args, connector, io).await,
        Command::Rpkg(args) => rpkg::run(args, connector, io).await,
    }
}

/// `Version: <v>\nGit commit: <sha>\n`.
pub fn version_text() -> String {
    let commit = env!("PORCHCTL_GIT_COMMIT");
    format!(
        "Version: {}\nGit commit: {}\n",
        env!("CARGO_PKG_VERSION"),
        commit
    )
}
