//! `porchctl repo unreg`: delete the Repository and, unless kept, its auth Secret.

use crate::api::{REPOSITORIES, SECRETS, str_at};
use crate::cli::UnregisterArgs;
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;

/// Checks the arguments and returns the repository name.
pub fn validate(a: &UnregisterArgs) -> Result<String, CliError> {
    a.repository
        .first()
        .cloned()
        .ok_or_else(|| CliError::cmd("REPOSITORY is a required positional argument"))
}

/// Deletes the repository (and secret). Prints nothing on success.
pub async fn run(
    session: &Session,
    name: &str,
    keep_secret: bool,
    _io: &mut Io,
) -> Result<(), CliError> {
    let ns = session.namespace();
    let path = REPOSITORIES.item(Some(&ns), name);
    let repo = session
        .rest
        .get(&path)
        .await
        .map_err(|e| e.into_cli(&REPOSITORIES, Some(name)))?;
    session
        .rest
        .delete(&path)
        .await
        .map_err(|e| e.into_cli(&REPOSITORIES, Some(name)))?;
    if keep_secret {
        return Ok(());
    }
    let secret = str_at(&repo, &["spec", "git", "secretRef", "name"])
        .or_else(|| str_at(&repo, &["spec", "oci", "secretRef", "name"]))
        .filter(|s| !s.is_empty());
    if let Some(secret) = secret {
        match session.rest.delete(&SECRETS.item(Some(&ns), secret)).await {
            Ok(_) => {}
            // Already gone is what we wanted (upstream reports it; nothing is left to clean).
            Err(e) if e.code() == Some(404) => {}
            Err(e) => {
                return Err(CliError::cmd(format!(
                    "failed to delete Secret {secret}: {}",
                    e.message(&SECRETS, Some(secret))
                )));
            }
        }
    }
    Ok(())
}
