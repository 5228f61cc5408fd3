//! `porchctl repo`: register, get, unregister, sync.

pub mod cron;
pub mod get;
pub mod register;
pub mod sync;
pub mod unregister;

use crate::cli::{RepoArgs, RepoCommand};
use crate::connect::Connector;
use crate::errors::CliError;
use crate::io::Io;

/// Runs a `repo` subcommand.
pub async fn run(args: RepoArgs, connector: &Connector, io: &mut Io) -> Result<(), CliError> {
    // Argument errors come before any connection attempt, as upstream's preRunE does.
    match args.command {
        RepoCommand::Reg(a) => {
            let plan = register::plan(&a)?;
            let session = connector.connect(&args.kube).await?;
            register::run(&session, plan, io).await
        }
        RepoCommand::Get(a) => {
            let session = connector.connect(&args.kube).await?;
            get::run(&session, &a, io).await
        }
        RepoCommand::Unreg(a) => {
            let name = unregister::validate(&a)?;
            let session = connector.connect(&args.kube).await?;
            unregister::run(&session, &name, a.keep_auth_secret, io).await
        }
        RepoCommand::Sync(a) => {
            let session = connector.connect(&args.kube).await?;
            sync::run(&session, &a, io).await
        }
    }
}
