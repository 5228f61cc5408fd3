//! `porchctl repo get`.

use crate::api::REPOSITORIES;
use crate::cli::RepoGetArgs;
use crate::commands::get::{GetQuery, fetch, print_and_finish, print_options};
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;

/// Lists or gets repositories and prints them.
pub async fn run(session: &Session, a: &RepoGetArgs, io: &mut Io) -> Result<(), CliError> {
    let opts = print_options(&a.print, a.all_namespaces)?;
    let ns = session.namespace();
    let q = GetQuery {
        resource: &REPOSITORIES,
        namespace: if a.all_namespaces { None } else { Some(&ns) },
        names: &a.names,
        field_selector: None,
    };
    let (fetched, errors) = fetch(&session.rest, &q, opts.format.wants_table()).await;
    let (out, result) = print_and_finish(&fetched, errors, &REPOSITORIES, &opts);
    io.out(&out);
    result
}
