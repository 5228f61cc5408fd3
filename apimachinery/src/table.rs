//! Server-side `Table` responses (`meta.k8s.io/v1`), built from printer columns.

use crate::jsonpath::{JsonPath, JsonPathError};
use serde_json::{Value, json};

/// `?includeObject=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}

impl IncludeObject {
    /// Parse the query parameter (unknown values fall back to the default, as Go does for empty).
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// Where a cell's value comes from.
#[derive(Debug, Clone)]
pub enum CellSource {
    /// `metadata.name`.
    Name,
    /// A JSONPath into the object, converted by the column type.
    Path(JsonPath),
    /// A computed cell (built-in kinds).
    Computed(fn(&Value) -> Value),
}

/// One column: its definition and how to fill it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub source: CellSource,
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

impl Column {
    /// The `Name` column every table starts with.
    pub fn name() -> Self {
        Self {
            name: "Name".into(),
            type_: "string".into(),
            format: "name".into(),
            description: NAME_DESCRIPTION.into(),
            priority: 0,
            source: CellSource::Name,
        }
    }
    /// The `Age` column (a `date` column over `metadata.creationTimestamp`).
    pub fn age() -> Self {
        Self {
            name: "Age".into(),
            type_: "date".into(),
            format: String::new(),
            description: AGE_DESCRIPTION.into(),
            priority: 0,
            source: CellSource::Path(JsonPath::fields(&["metadata", "creationTimestamp"])),
        }
    }
    /// A computed column for built-in kinds.
    pub fn computed(name: &str, type_: &str, priority: i64, f: fn(&Value) -> Value) -> Self {
        Self {
            name: name.into(),
            type_: type_.into(),
            format: String::new(),
            description: String::new(),
            priority,
            source: CellSource::Computed(f),
        }
    }

    fn definition(&self) -> Value {
        json!({"name": self.name, "type": self.type_, "format": self.format, "description": self.description, "priority": self.priority})
    }
}

/// A table layout for one resource.
#[derive(Debug, Clone)]
pub struct TableSpec {
    pub columns: Vec<Column>,
}

impl TableSpec {
    /// The layout of a CRD version: `Name` + its `additionalPrinterColumns` (or `Age` when none).
    pub fn from_printer_columns(cols: &[Value]) -> Result<Self, JsonPathError> {
        let mut columns = vec![Column::name()];
        if cols.is_empty() {
            columns.push(Column::age());
        }
        for c in cols {
            let path = c
                .get("jsonPath")
                .and_then(Value::as_str)
                .unwrap_or_default();
            columns.push(Column {
                name: c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
                type_: c
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("string")
                    .into(),
                format: c
                    .get("format")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
                description: c
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                source: CellSource::Path(JsonPath::parse(path)?),
            });
        }
        Ok(Self { columns })
    }

    /// The `columnDefinitions` array.
    pub fn column_definitions(&self) -> Vec<Value> {
        self.columns.iter().map(Column::definition).collect()
    }

    /// One row for an object.
    pub fn row(&self, obj: &Value, now_unix: i64, include: IncludeObject) -> Value {
        let cells: Vec<Value> = self
            .columns
            .iter()
            .map(|c| cell(c, obj, now_unix))
            .collect();
        let mut row = json!({"cells": cells});
        let object = match include {
            IncludeObject::None => None,
            IncludeObject::Metadata => Some(partial_object_metadata(obj)),
            IncludeObject::Object => Some(obj.clone()),
        };
        if let (Some(o), Some(m)) = (object, row.as_object_mut()) {
            m.insert("object".into(), o);
        }
        row
    }

    /// A whole `Table` for a list (or for one watch event, with `with_definitions` on the first).
    pub fn table(
        &self,
        objects: &[Value],
        resource_version: &str,
        continue_token: &str,
        include: IncludeObject,
        now_unix: i64,
        with_definitions: bool,
    ) -> Value {
        let rows: Vec<Value> = objects
            .iter()
            .map(|o| self.row(o, now_unix, include))
            .collect();
        let mut metadata = json!({"resourceVersion": resource_version});
        if !continue_token.is_empty()
            && let Some(m) = metadata.as_object_mut()
        {
            m.insert("continue".into(), Value::String(continue_token.into()));
        }
        let defs = if with_definitions {
            self.column_definitions()
        } else {
            Vec::new()
        };
        json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
            "columnDefinitions": defs,
            "rows": rows,
        })
    }
}

/// `PartialObjectMetadata` for an object (`meta.k8s.io/v1`).
pub fn partial_object_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

fn cell(col: &Column, obj: &Value, now_unix: i64) -> Value {
    match &col.source {
        CellSource::Name => obj
            .pointer("/metadata/name")
            .cloned()
            .unwrap_or(Value::Null),
        CellSource::Computed(f) => f(obj),
        CellSource::Path(p) => {
            let found = p.find(obj);
            if found.is_empty() {
                return Value::Null;
            }
            if col.type_ == "date" {
                return match found[0].as_str().and_then(parse_unix) {
                    Some(t) => Value::String(human_duration(now_unix - t)),
                    None => Value::Null,
                };
            }
            if found.len() == 1 && !found[0].is_object() && !found[0].is_array() {
                return match (&col.type_[..], &found[0]) {
                    ("string", Value::String(_)) => found[0].clone(),
                    ("string", v) => Value::String(v.to_string()),
                    _ => found[0].clone(),
                };
            }
            let parts: Vec<String> = found
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            Value::String(parts.join(" "))
        }
    }
}

/// Seconds since the epoch of an RFC 3339 timestamp.
pub fn parse_unix(ts: &str) -> Option<i64> {
    ts.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// Age of an object (`metadata.creationTimestamp`) as kubectl prints it.
pub fn age_cell(obj: &Value, now_unix: i64) -> Value {
    match obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(parse_unix)
    {
        Some(t) => Value::String(human_duration(now_unix - t)),
        None => Value::String("<unknown>".into()),
    }
}

/// Go's `duration.HumanDuration` (seconds in, `5m`, `3h2m`, `4d` out).
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(125), "2m5s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
        assert_eq!(human_duration(50 * 3600), "2d2h");
        assert_eq!(human_duration(-5), "<invalid>");
    }

    #[test]
    fn crd_table() {
        let spec = TableSpec::from_printer_columns(&[
            json!({"name":"Type","type":"string","jsonPath":".spec.type"}),
            json!({"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}),
            json!({"name":"Count","type":"integer","jsonPath":".status.n","priority":1}),
            json!({"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}),
        ])
        .unwrap();
        let obj = json!({"metadata":{"name":"r","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"type":"git"},"status":{"n":3,"conditions":[{"type":"Ready","status":"True"}]}});
        let now = parse_unix("2026-01-01T00:05:00Z").unwrap();
        let t = spec.table(&[obj], "7", "", IncludeObject::Metadata, now, true);
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 5);
        assert_eq!(t["columnDefinitions"][3]["priority"], 1);
        assert_eq!(t["rows"][0]["cells"], json!(["r", "git", "True", 3, "5m"]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn default_columns_are_name_and_age() {
        let spec = TableSpec::from_printer_columns(&[]).unwrap();
        let names: Vec<String> = spec.columns.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["Name", "Age"]);
        let row = spec.row(&json!({"metadata":{"name":"x"}}), 0, IncludeObject::None);
        assert_eq!(row, json!({"cells":["x", null]}));
    }
}
