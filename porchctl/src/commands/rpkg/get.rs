//! `porchctl rpkg get`: the Table (default), objects (`-o yaml|json|jsonpath|custom-columns`),
//! client-side filters, and `--show-kptfile`.

use serde_json::Value;

use crate::api::{PACKAGE_REVISION_RESOURCES, PACKAGE_REVISIONS};
use crate::cli::RpkgGetArgs;
use crate::commands::get::{Fetched, GetQuery, fetch, print_and_finish, print_options};
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;

/// Flag checks that need no server (kubectl-style `error:` messages).
pub fn validate(a: &RpkgGetArgs, namespace_flag: Option<&str>) -> Result<(), CliError> {
    if namespace_flag == Some("") {
        return Err(CliError::check(
            "namespace flag specified without a value; please provide a value for --namespace/-n or omit the flag",
        ));
    }
    if a.show_kptfile {
        if a.names.len() != 1 {
            return Err(CliError::check(
                "--show-kptfile requires exactly one package revision name as an argument",
            ));
        }
        if !a.name.is_empty() || a.revision != -2 || !a.workspace.is_empty() {
            return Err(CliError::check(
                "--show-kptfile cannot be combined with --name, --revision, or --workspace",
            ));
        }
        if a.all_namespaces {
            return Err(CliError::check(
                "--show-kptfile cannot be combined with --all-namespaces",
            ));
        }
    }
    Ok(())
}

/// The one field selector upstream sends: `--name` > `--workspace` > `--revision`.
pub fn field_selector(a: &RpkgGetArgs) -> Option<String> {
    if !a.name.is_empty() {
        Some(format!("spec.packageName={}", a.name))
    } else if !a.workspace.is_empty() {
        Some(format!("spec.workspaceName={}", a.workspace))
    } else if a.revision != -2 {
        Some(format!("spec.revision={}", a.revision))
    } else {
        None
    }
}

/// Client-side filter on a full object.
pub fn object_matches(a: &RpkgGetArgs, o: &Value) -> bool {
    let pkg = o
        .pointer("/spec/packageName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ws = o
        .pointer("/spec/workspaceName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let rev = o
        .pointer("/spec/revision")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    (a.name.is_empty() || a.name == pkg)
        && (a.revision == -2 || a.revision == rev)
        && (a.workspace.is_empty() || a.workspace == ws)
}

/// Client-side filter on Table rows (by the Package, Revision and WorkspaceName columns).
pub fn filter_table(a: &RpkgGetArgs, table: &mut Value) {
    let col = |name: &str| -> Option<usize> {
        table
            .get("columnDefinitions")?
            .as_array()?
            .iter()
            .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
    };
    let (pkg_col, rev_col, ws_col) = (col("Package"), col("Revision"), col("WorkspaceName"));
    if let Some(rows) = table.get_mut("rows").and_then(Value::as_array_mut) {
        rows.retain(|row| {
            let cell = |i: Option<usize>| i.and_then(|i| row.get("cells")?.get(i).cloned());
            if let Some(Value::String(p)) = cell(pkg_col)
                && !a.name.is_empty()
                && a.name != p
            {
                return false;
            }
            if let Some(r) = cell(rev_col).and_then(|v| v.as_i64())
                && a.revision != -2
                && a.revision != r
            {
                return false;
            }
            if let Some(Value::String(w)) = cell(ws_col)
                && !a.workspace.is_empty()
                && a.workspace != w
            {
                return false;
            }
            true
        });
    }
}

/// Runs `rpkg get`.
pub async fn run(session: &Session, a: &RpkgGetArgs, io: &mut Io) -> Result<(), CliError> {
    let ns = session.namespace();
    if a.show_kptfile {
        return show_kptfile(session, &ns, &a.names[0], io).await;
    }
    let opts = print_options(&a.print, a.all_namespaces)?;
    let q = GetQuery {
        resource: &PACKAGE_REVISIONS,
        namespace: if a.all_namespaces { None } else { Some(&ns) },
        names: &a.names,
        // With names kubectl cannot send selectors; the client-side filters still apply.
        field_selector: if a.names.is_empty() {
            field_selector(a)
        } else {
            None
        },
    };
    let (mut fetched, errors) = fetch(&session.rest, &q, opts.format.wants_table()).await;
    match &mut fetched {
        Fetched::Tables(tables) => tables.iter_mut().for_each(|t| filter_table(a, t)),
        Fetched::Objects(objs) => objs.retain(|o| object_matches(a, o)),
    }
    let (out, result) = print_and_finish(&fetched, errors, &PACKAGE_REVISIONS, &opts);
    io.out(&out);
    result
}

async fn show_kptfile(
    session: &Session,
    ns: &str,
    name: &str,
    io: &mut Io,
) -> Result<(), CliError> {
    if ns.is_empty() {
        return Err(CliError::check(
            "namespace is not configured; please provide --namespace or set a default namespace in your kubeconfig",
        ));
    }
    let prr = session
        .rest
        .get(&PACKAGE_REVISION_RESOURCES.item(Some(ns), name))
        .await
        .map_err(|e| e.into_cli(&PACKAGE_REVISION_RESOURCES, Some(name)))?;
    match prr
        .pointer("/spec/resources/Kptfile")
        .and_then(Value::as_str)
    {
        Some(k) => {
            io.out(k);
            Ok(())
        }
        None => Err(CliError::cmd(format!(
            "package revision {name:?} does not contain a root Kptfile"
        ))),
    }
}
