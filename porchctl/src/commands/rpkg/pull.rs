//! `porchctl rpkg pull NAME [DIR]`.

use std::path::Path;

use serde_json::Value;

use crate::api::PACKAGE_REVISION_RESOURCES;
use crate::cli::PullArgs;
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;
use crate::pull_push;

/// Argument checks before connecting.
pub fn validate(a: &PullArgs) -> Result<(), CliError> {
    if a.args.is_empty() {
        return Err(CliError::cmd("PACKAGE is a required positional argument"));
    }
    if let Some(dir) = a.args.get(1)
        && Path::new(dir).exists()
    {
        return Err(CliError::cmd(format!(
            "directory {dir:?} already exists, please delete the directory and retry"
        )));
    }
    Ok(())
}

/// Fetches the PRR and prints it or writes it to the directory.
pub async fn run(session: &Session, a: &PullArgs, io: &mut Io) -> Result<(), CliError> {
    let ns = session.namespace();
    let name = &a.args[0];
    let prr = session
        .rest
        .get(&PACKAGE_REVISION_RESOURCES.item(Some(&ns), name))
        .await
        .map_err(|e| e.into_cli(&PACKAGE_REVISION_RESOURCES, Some(name)))?;
    let resources = prr
        .pointer("/spec/resources")
        .cloned()
        .unwrap_or(Value::Null);
    let metadata = prr.get("metadata").cloned().unwrap_or(Value::Null);
    let files = pull_push::with_metadata(&resources, &metadata);
    match a.args.get(1) {
        Some(dir) => {
            pull_push::write_dir(Path::new(dir), &files).map_err(|e| CliError::cmd(e.to_string()))
        }
        None => {
            let out = pull_push::resource_list(&files).map_err(|e| CliError::cmd(e.to_string()))?;
            io.out(&out);
            Ok(())
        }
    }
}
