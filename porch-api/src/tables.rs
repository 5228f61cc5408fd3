//! Server-side Table layouts with upstream's columns (porch-api.md §1.12): no Age column, no
//! priorities, definitions carrying only a name and a type.

use porch_apimachinery::table::{Column, TableSpec};
use porch_crds::labels::{LATEST_REVISION_LABEL, LATEST_REVISION_VALUE};
use serde_json::Value;

fn at<'a>(obj: &'a Value, path: &[&str]) -> &'a Value {
    path.iter()
        .fold(obj, |v, k| v.get(k).unwrap_or(&Value::Null))
}

fn text(obj: &Value, path: &[&str]) -> Value {
    Value::String(at(obj, path).as_str().unwrap_or_default().to_owned())
}

fn int(obj: &Value, path: &[&str]) -> Value {
    Value::from(at(obj, path).as_i64().unwrap_or(0))
}

fn name(o: &Value) -> Value {
    text(o, &["metadata", "name"])
}
fn package(o: &Value) -> Value {
    text(o, &["spec", "packageName"])
}
fn workspace(o: &Value) -> Value {
    text(o, &["spec", "workspaceName"])
}
fn revision(o: &Value) -> Value {
    int(o, &["spec", "revision"])
}
fn repository(o: &Value) -> Value {
    text(o, &["spec", "repository"])
}
fn lifecycle(o: &Value) -> Value {
    text(o, &["spec", "lifecycle"])
}
fn latest(o: &Value) -> Value {
    Value::Bool(
        at(o, &["metadata", "labels", LATEST_REVISION_LABEL]).as_str()
            == Some(LATEST_REVISION_VALUE),
    )
}
fn files(o: &Value) -> Value {
    Value::from(
        at(o, &["spec", "resources"])
            .as_object()
            .map_or(0, |m| m.len()),
    )
}
fn latest_revision(o: &Value) -> Value {
    int(o, &["status", "latestRevision"])
}

fn col(n: &str, t: &str, f: fn(&Value) -> Value) -> Column {
    Column::computed(n, t, 0, f)
}

pub fn package_revisions() -> TableSpec {
    TableSpec {
        columns: vec![
            col("Name", "string", name),
            col("Package", "string", package),
            col("WorkspaceName", "string", workspace),
            col("Revision", "int", revision),
            col("Latest", "boolean", latest),
            col("Lifecycle", "string", lifecycle),
            col("Repository", "string", repository),
        ],
    }
}

pub fn package_revision_resources() -> TableSpec {
    TableSpec {
        columns: vec![
            col("Name", "string", name),
            col("Package", "string", package),
            col("WorkspaceName", "string", workspace),
            col("Revision", "int", revision),
            col("Repository", "string", repository),
            col("Files", "integer", files),
        ],
    }
}

pub fn packages() -> TableSpec {
    TableSpec {
        columns: vec![
            col("Name", "string", name),
            col("Package", "string", package),
            col("Repository", "string", repository),
            col("Latest Revision", "int", latest_revision),
        ],
    }
}
