//! `porchctl rpkg push NAME [DIR|-]`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::api::PACKAGE_REVISION_RESOURCES;
use crate::cli::PushArgs;
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;
use crate::pull_push::{self, METADATA_FILE};

const STDIN_WARNING: &str = "Warning: This way of using stdin will be deprecated in Porch release 5.x.x. Please use '-' to provide stdin.\n";

/// Reads the resources, updates the PRR and reports the render result.
pub async fn run(session: &Session, a: &PushArgs, io: &mut Io) -> Result<(), CliError> {
    let ns = session.namespace();
    let name = &a.args[0];
    let mut files = match a.args.get(1).map(String::as_str) {
        Some("-") => read_stdin(io)?,
        Some(dir) => {
            pull_push::read_dir(Path::new(dir)).map_err(|e| CliError::cmd(e.to_string()))?
        }
        None => {
            io.err(STDIN_WARNING);
            read_stdin(io)?
        }
    };
    let Some(meta) = files.remove(METADATA_FILE) else {
        return Err(CliError::cmd(format!(
            "{METADATA_FILE:?} not found in PackageRevisionResources '{ns}/{name}'\nuse \"porchctl rpkg pull\" to download the remote package metadata before pushing"
        )));
    };
    let rv =
        pull_push::metadata_resource_version(&meta).map_err(|e| CliError::cmd(e.to_string()))?;
    let mut metadata = json!({"name": name, "namespace": ns});
    if !rv.is_empty() {
        metadata["resourceVersion"] = json!(rv);
    }
    let body = json!({
        "apiVersion": PACKAGE_REVISION_RESOURCES.api_version(),
        "kind": PACKAGE_REVISION_RESOURCES.kind,
        "metadata": metadata,
        "spec": {"resources": files},
    });
    let updated = session
        .rest
        .update(&PACKAGE_REVISION_RESOURCES.item(Some(&ns), name), &body)
        .await
        .map_err(|e| e.into_cli(&PACKAGE_REVISION_RESOURCES, Some(name)))?;
    io.err(&render_report(updated.pointer("/status/renderStatus")));
    io.out(&format!("{name} pushed\n"));
    Ok(())
}

fn read_stdin(io: &mut Io) -> Result<BTreeMap<String, String>, CliError> {
    let bytes = io.read_stdin().map_err(|e| CliError::cmd(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| CliError::cmd("stdin is not valid UTF-8"))?;
    pull_push::files_from_stream(&text).map_err(|e| CliError::cmd(e.to_string()))
}

/// The stderr report of a render result, in upstream's `[RUNNING]`/`[PASS]`/`[Results]` form.
pub fn render_report(render_status: Option<&Value>) -> String {
    let mut out = String::new();
    let Some(rs) = render_status else { return out };
    if let Some(err) = rs
        .get("error")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
    {
        out.push_str("Package is updated, but failed to render the package.\n");
        out.push_str(&format!("Error: {err}\n"));
    }
    for result in rs
        .pointer("/result/items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let image = result.get("image").and_then(Value::as_str).unwrap_or("");
        let quoted = crate::api::go_quote(image);
        out.push_str(&format!("[RUNNING] {quoted} \n"));
        let failed = result.get("exitCode").and_then(Value::as_i64).unwrap_or(0) != 0;
        out.push_str(&format!(
            "[{}] {quoted}\n",
            if failed { "FAIL" } else { "PASS" }
        ));
        let lines: Vec<String> = result
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(result_item)
            .collect();
        if !lines.is_empty() {
            out.push_str(&format!("[Results]: {}\n", lines.join(", ")));
        }
    }
    out
}

/// `[severity] apiVersion/kind/namespace/name field.path: message`.
fn result_item(i: &Value) -> String {
    let severity = i
        .get("severity")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("info");
    let mut s = format!("[{severity}]");
    if let Some(r) = i.get("resourceRef") {
        let ids: Vec<&str> = ["apiVersion", "kind", "namespace", "name"]
            .iter()
            .filter_map(|k| r.get(*k).and_then(Value::as_str).filter(|v| !v.is_empty()))
            .collect();
        if !ids.is_empty() {
            s.push(' ');
            s.push_str(&ids.join("/"));
        }
    }
    if let Some(f) = i.get("field") {
        s.push(' ');
        s.push_str(f.get("path").and_then(Value::as_str).unwrap_or(""));
    }
    s.push_str(": ");
    s.push_str(
        &i.get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .replace('\n', " "),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_report_format() {
        let rs = json!({"error": "", "result": {"items": [{
            "image": "ghcr.io/kptdev/krm-functions-catalog/apply-setters:v0.2",
            "exitCode": 0,
            "results": [{"message": "set field", "severity": "info",
                         "resourceRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "c"},
                         "field": {"path": "data.x"}}]}]}});
        assert_eq!(
            render_report(Some(&rs)),
            "[RUNNING] \"ghcr.io/kptdev/krm-functions-catalog/apply-setters:v0.2\" \n[PASS] \"ghcr.io/kptdev/krm-functions-catalog/apply-setters:v0.2\"\n[Results]: [info] v1/ConfigMap/c data.x: set field\n"
        );
        assert_eq!(
            render_report(Some(&json!({"error": "boom", "result": {}}))),
            "Package is updated, but failed to render the package.\nError: boom\n"
        );
        assert_eq!(render_report(None), "");
    }
}
