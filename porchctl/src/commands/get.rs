//! The `kubectl get`-like fetch-and-print flow shared by `repo get` and `rpkg get`.

use serde_json::Value;

use crate::api::{RequestError, Resource, RestClient, with_query};
use crate::cli::PrintFlags;
use crate::errors::CliError;
use crate::printers::{OutputFormat, PrintOptions, print_objects, print_tables};

/// What to fetch.
pub struct GetQuery<'a> {
    /// The resource type.
    pub resource: &'a Resource,
    /// The namespace, or `None` for all namespaces.
    pub namespace: Option<&'a str>,
    /// Object names; empty lists the collection.
    pub names: &'a [String],
    /// A field selector for list requests.
    pub field_selector: Option<String>,
}

/// Builds print options from the flags.
pub fn print_options(flags: &PrintFlags, all_namespaces: bool) -> Result<PrintOptions, CliError> {
    Ok(PrintOptions {
        format: OutputFormat::parse(flags.output.as_deref())?,
        no_headers: flags.no_headers,
        show_labels: flags.show_labels,
        show_kind: flags.show_kind,
        label_columns: flags.label_columns.clone(),
        with_namespace: all_namespaces,
    })
}

/// The fetched result: server Tables or full objects.
pub enum Fetched {
    /// One Table per response.
    Tables(Vec<Value>),
    /// Objects (list items flattened).
    Objects(Vec<Value>),
}

/// Fetches tables or objects. Like kubectl's `ContinueOnError`, it keeps what it found and
/// returns the errors next to it.
pub async fn fetch(rest: &RestClient, q: &GetQuery<'_>, table: bool) -> (Fetched, Vec<String>) {
    let mut errors = Vec::new();
    let mut found = Vec::new();
    let paths: Vec<(String, Option<&str>)> = if q.names.is_empty() {
        let mut params = Vec::new();
        if let Some(fs) = &q.field_selector {
            params.push(("fieldSelector", fs.clone()));
        }
        vec![(
            with_query(&q.resource.collection(q.namespace), &params),
            None,
        )]
    } else {
        q.names
            .iter()
            .map(|n| (q.resource.item(q.namespace, n), Some(n.as_str())))
            .collect()
    };
    for (path, name) in paths {
        let res = if table {
            rest.get_table(&path).await
        } else {
            rest.get(&path).await
        };
        match res {
            Ok(v) => found.push(v),
            Err(e) => errors.push(error_text(&e, q.resource, name, table)),
        }
    }
    if table {
        let tables = found
            .into_iter()
            .map(|v| ensure_table(v, q.resource))
            .collect();
        (Fetched::Tables(tables), errors)
    } else {
        let mut objs = Vec::new();
        for v in found {
            flatten(v, &mut objs);
        }
        (Fetched::Objects(objs), errors)
    }
}

fn error_text(e: &RequestError, res: &Resource, name: Option<&str>, table: bool) -> String {
    if table {
        e.table_message(res, name)
    } else {
        e.message(res, name)
    }
}

/// A server that ignores the Table Accept header answers with plain objects; build kubectl's
/// default `NAME` table from them so printing still works.
fn ensure_table(v: Value, res: &Resource) -> Value {
    if v.get("kind").and_then(Value::as_str) == Some("Table") {
        return v;
    }
    let mut objs = Vec::new();
    flatten(v, &mut objs);
    let _ = res;
    let rows: Vec<Value> = objs
        .into_iter()
        .map(|o| {
            let name = o.pointer("/metadata/name").cloned().unwrap_or(Value::Null);
            serde_json::json!({"cells": [name], "object": {"metadata": o.get("metadata").cloned().unwrap_or(Value::Null)}})
        })
        .collect();
    serde_json::json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "columnDefinitions": [{"name": "Name", "type": "string", "format": "name", "priority": 0}],
        "rows": rows,
    })
}

/// Flattens a list into its items, giving each item the list's apiVersion and item kind.
pub fn flatten(v: Value, out: &mut Vec<Value>) {
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match v.get("items").and_then(Value::as_array) {
        Some(items) if kind.ends_with("List") || v.get("metadata").is_some() => {
            let api_version = v.get("apiVersion").cloned();
            let item_kind = kind.strip_suffix("List").unwrap_or(&kind).to_string();
            for item in items {
                let mut item = item.clone();
                if let Some(obj) = item.as_object_mut() {
                    if !obj.contains_key("kind") && !item_kind.is_empty() {
                        obj.insert("kind".into(), Value::String(item_kind.clone()));
                    }
                    if !obj.contains_key("apiVersion")
                        && let Some(av) = &api_version
                    {
                        obj.insert("apiVersion".into(), av.clone());
                    }
                }
                // Put apiVersion and kind first, as the server's objects have them.
                out.push(reorder_type_meta(item));
            }
        }
        _ => out.push(v),
    }
}

fn reorder_type_meta(v: Value) -> Value {
    let Value::Object(m) = v else { return v };
    let mut out = serde_json::Map::new();
    for k in ["apiVersion", "kind"] {
        if let Some(x) = m.get(k) {
            out.insert(k.to_string(), x.clone());
        }
    }
    for (k, x) in m {
        if k != "apiVersion" && k != "kind" {
            out.insert(k, x);
        }
    }
    Value::Object(out)
}

/// Prints fetched data, then fails with the collected errors (kubectl prints what it found
/// before reporting what it did not).
pub fn print_and_finish(
    fetched: &Fetched,
    errors: Vec<String>,
    res: &Resource,
    opts: &PrintOptions,
) -> (String, Result<(), CliError>) {
    let out = match fetched {
        Fetched::Tables(t) => print_tables(t, res, opts),
        Fetched::Objects(o) => print_objects(o, res, opts),
    };
    let result = match errors.len() {
        0 => Ok(()),
        1 => Err(CliError::cmd(errors.into_iter().next().unwrap_or_default())),
        _ => Err(CliError::cmd(format!("[{}]", errors.join(", ")))),
    };
    (out, result)
}
