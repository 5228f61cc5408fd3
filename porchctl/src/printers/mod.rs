//! kubectl-compatible printing: server-side Tables, `-o name|yaml|json|jsonpath|custom-columns`.

pub mod jsonpath;
pub mod tabwriter;
pub mod yaml;

use serde_json::Value;

use crate::api::Resource;
use crate::errors::CliError;
use jsonpath::JsonPath;
use tabwriter::TabWriter;

/// An `-o/--output` choice.
#[derive(Debug, Clone)]
pub enum OutputFormat {
    /// The human-readable Table (default; `wide` adds priority columns).
    Table {
        /// `-o wide`.
        wide: bool,
    },
    /// `-o name`.
    Name,
    /// `-o yaml`.
    Yaml,
    /// `-o json`.
    Json,
    /// `-o jsonpath=...`.
    JsonPath(JsonPath),
    /// `-o custom-columns=HEADER:path,...`.
    CustomColumns(Vec<(String, JsonPath)>),
}

impl OutputFormat {
    /// Parses the `-o` value.
    pub fn parse(output: Option<&str>) -> Result<Self, CliError> {
        let Some(o) = output.filter(|o| !o.is_empty()) else {
            return Ok(OutputFormat::Table { wide: false });
        };
        let (kind, arg) = match o.split_once('=') {
            Some((k, a)) => (k, Some(a)),
            None => (o, None),
        };
        match (kind, arg) {
            ("wide", None) => Ok(OutputFormat::Table { wide: true }),
            ("name", None) => Ok(OutputFormat::Name),
            ("yaml", None) => Ok(OutputFormat::Yaml),
            ("json", None) => Ok(OutputFormat::Json),
            ("jsonpath", Some(t)) => JsonPath::parse(t)
                .map(OutputFormat::JsonPath)
                .map_err(|e| CliError::check(format!("error parsing jsonpath {t}, {e}"))),
            ("custom-columns", Some(spec)) => {
                parse_custom_columns(spec).map(OutputFormat::CustomColumns)
            }
            _ => Err(CliError::check(format!(
                "unable to match a printer suitable for the output format {:?}, allowed formats are: custom-columns,json,jsonpath,name,wide,yaml",
                o
            ))),
        }
    }

    /// Whether upstream asks the server for a Table with this output (porchctl `rpkg get` rule:
    /// anything containing `custom-columns` or `json`, or exactly `yaml`, fetches objects).
    pub fn wants_table(&self) -> bool {
        matches!(self, OutputFormat::Table { .. } | OutputFormat::Name)
    }
}

fn parse_custom_columns(spec: &str) -> Result<Vec<(String, JsonPath)>, CliError> {
    if spec.is_empty() {
        return Err(CliError::check(
            "custom-columns format specified but no custom columns given",
        ));
    }
    let mut cols = Vec::new();
    for part in spec.split(',') {
        let Some((header, path)) = part.split_once(':') else {
            return Err(CliError::check(format!(
                "unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
            )));
        };
        let jp = JsonPath::parse(&jsonpath::relaxed(path))
            .map_err(|e| CliError::check(format!("{e}")))?;
        cols.push((header.to_string(), jp));
    }
    Ok(cols)
}

/// The printing flags kubectl's `get` shares.
#[derive(Debug, Clone)]
pub struct PrintOptions {
    /// The output format.
    pub format: OutputFormat,
    /// `--no-headers`.
    pub no_headers: bool,
    /// `--show-labels`.
    pub show_labels: bool,
    /// `--show-kind`.
    pub show_kind: bool,
    /// `-L/--label-columns`.
    pub label_columns: Vec<String>,
    /// Prepend a NAMESPACE column (`-A`).
    pub with_namespace: bool,
}

impl PrintOptions {
    /// Default table printing.
    pub fn table() -> Self {
        PrintOptions {
            format: OutputFormat::Table { wide: false },
            no_headers: false,
            show_labels: false,
            show_kind: false,
            label_columns: Vec::new(),
            with_namespace: false,
        }
    }
}

/// Prints server-side Tables (one per response) into one aligned block, as kubectl does.
pub fn print_tables(tables: &[Value], res: &Resource, opts: &PrintOptions) -> String {
    let wide = matches!(opts.format, OutputFormat::Table { wide: true });
    if matches!(opts.format, OutputFormat::Name) {
        let mut out = String::new();
        for t in tables {
            for row in t
                .get("rows")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = row
                    .pointer("/object/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                out.push_str(&format!("{}.{}/{}\n", res.singular, res.group, name));
            }
        }
        return out;
    }
    let mut w = TabWriter::new();
    let mut last_columns: Option<Value> = None;
    for t in tables {
        let defs = t.get("columnDefinitions").cloned().unwrap_or(Value::Null);
        let rows: Vec<&Value> = t
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let same_as_last = last_columns.as_ref() == Some(&defs);
        let cols: Vec<(usize, &Value)> = defs
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, c)| wide || c.get("priority").and_then(Value::as_i64).unwrap_or(0) == 0)
            .collect();
        if rows.is_empty() {
            last_columns = Some(defs);
            continue;
        }
        if !opts.no_headers && !same_as_last {
            let mut header = Vec::new();
            if opts.with_namespace {
                header.push("NAMESPACE".to_string());
            }
            for (_, c) in &cols {
                header.push(
                    c.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_uppercase(),
                );
            }
            for l in &opts.label_columns {
                header.push(label_column_header(l));
            }
            if opts.show_labels {
                header.push("LABELS".to_string());
            }
            w.line(&header);
        }
        last_columns = Some(defs.clone());
        for row in rows {
            let cells = row
                .get("cells")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let meta = row
                .pointer("/object/metadata")
                .cloned()
                .unwrap_or(Value::Null);
            let mut line = Vec::new();
            if opts.with_namespace {
                line.push(
                    meta.get("namespace")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                );
            }
            for (pos, (idx, _)) in cols.iter().enumerate() {
                let mut text = cells.get(*idx).map(format_cell).unwrap_or_default();
                if pos == 0 && opts.show_kind {
                    text = format!("{}.{}/{}", res.singular, res.group, text);
                }
                line.push(text);
            }
            let labels = meta.get("labels");
            for l in &opts.label_columns {
                line.push(
                    labels
                        .and_then(|m| m.get(l))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                );
            }
            if opts.show_labels {
                line.push(format_labels(labels));
            }
            w.line(&line);
        }
    }
    w.finish()
}

fn label_column_header(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).to_uppercase()
}

/// A table cell as kubectl prints it (`%v`, strings cut at the first line break with `...`).
pub fn format_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => match s.find(['\n', '\r', '\x0c']) {
            Some(i) => format!("{}...", &s[..i]),
            None => s.clone(),
        },
        other => jsonpath::go_format(other),
    }
}

/// `k=v,k2=v2` sorted, or `<none>`.
pub fn format_labels(labels: Option<&Value>) -> String {
    let Some(m) = labels.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return "<none>".to_string();
    };
    let mut pairs: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// Prints objects one by one with a non-table format.
pub fn print_objects(objs: &[Value], res: &Resource, opts: &PrintOptions) -> String {
    let mut out = String::new();
    match &opts.format {
        OutputFormat::Yaml => {
            for (i, o) in objs.iter().enumerate() {
                if i > 0 {
                    out.push_str("---\n");
                }
                out.push_str(&yaml::to_yaml(o, true));
            }
        }
        OutputFormat::Json => {
            for o in objs {
                out.push_str(&go_json_indent(o));
                out.push('\n');
            }
        }
        OutputFormat::JsonPath(jp) => {
            for o in objs {
                out.push_str(&jp.render(o));
            }
        }
        OutputFormat::CustomColumns(cols) => {
            if objs.is_empty() {
                return out;
            }
            let mut w = TabWriter::new();
            if !opts.no_headers {
                let headers: Vec<&str> = cols.iter().map(|(h, _)| h.as_str()).collect();
                w.line(&headers);
            }
            for o in objs {
                let cells: Vec<String> = cols
                    .iter()
                    .map(|(_, jp)| custom_column_cell(jp, o))
                    .collect();
                w.line(&cells);
            }
            out = w.finish();
        }
        OutputFormat::Name => {
            for o in objs {
                let name = o
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                out.push_str(&format!("{}.{}/{}\n", res.singular, res.group, name));
            }
        }
        OutputFormat::Table { .. } => {}
    }
    out
}

fn custom_column_cell(jp: &JsonPath, obj: &Value) -> String {
    let results = jp.find_results(obj);
    if results.is_empty() || results[0].is_empty() {
        return "<none>".to_string();
    }
    let vals: Vec<String> = results.iter().flatten().map(jsonpath::go_format).collect();
    vals.join(",")
}

/// `json.MarshalIndent(v, "", "    ")` of a Go map: sorted keys, 4 spaces, HTML-escaped.
pub fn go_json_indent(v: &Value) -> String {
    let sorted = yaml::sort_keys(v);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if serde::Serialize::serialize(&sorted, &mut ser).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&buf)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{PACKAGE_REVISIONS, REPOSITORIES};
    use serde_json::json;

    fn pr_table(rows: Vec<Value>) -> Value {
        let cols: Vec<Value> = [
            ("Name", "string"),
            ("Package", "string"),
            ("WorkspaceName", "string"),
            ("Revision", "integer"),
            ("Latest", "boolean"),
            ("Lifecycle", "string"),
            ("Repository", "string"),
        ]
        .iter()
        .map(|(n, t)| json!({"name": n, "type": t, "format": "", "description": "", "priority": 0}))
        .collect();
        json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "columnDefinitions": cols, "rows": rows})
    }

    fn row(name: &str, rev: i64, latest: bool, lc: &str) -> Value {
        json!({"cells": [name, "lifecycle-package", "lifecycle", rev, latest, lc, "git"],
               "object": {"metadata": {"name": name, "namespace": "ns", "labels": {"b": "2", "a": "1"}}}})
    }

    #[test]
    fn table_matches_golden_spacing() {
        let t = pr_table(vec![row(
            "git.lifecycle-package.lifecycle",
            1,
            true,
            "DeletionProposed",
        )]);
        let out = print_tables(&[t], &PACKAGE_REVISIONS, &PrintOptions::table());
        assert_eq!(
            out,
            "NAME                              PACKAGE             WORKSPACENAME   REVISION   LATEST   LIFECYCLE          REPOSITORY\ngit.lifecycle-package.lifecycle   lifecycle-package   lifecycle       1          true     DeletionProposed   git\n"
        );
    }

    #[test]
    fn table_options() {
        let t = pr_table(vec![row("a", 0, false, "Draft")]);
        let mut o = PrintOptions::table();
        o.with_namespace = true;
        o.show_labels = true;
        o.no_headers = true;
        assert_eq!(
            print_tables(std::slice::from_ref(&t), &PACKAGE_REVISIONS, &o),
            "ns    a     lifecycle-package   lifecycle   0     false   Draft   git   a=1,b=2\n"
        );
        assert_eq!(
            print_tables(
                &[pr_table(vec![])],
                &PACKAGE_REVISIONS,
                &PrintOptions::table()
            ),
            ""
        );
        let mut n = PrintOptions::table();
        n.format = OutputFormat::Name;
        assert_eq!(
            print_tables(&[t], &PACKAGE_REVISIONS, &n),
            "packagerevision.porch.kpt.dev/a\n"
        );
    }

    #[test]
    fn headers_once_for_many_tables() {
        let a = pr_table(vec![row("a", 0, false, "Draft")]);
        let b = pr_table(vec![row("bb", 1, true, "Published")]);
        let out = print_tables(&[a, b], &PACKAGE_REVISIONS, &PrintOptions::table());
        assert_eq!(out.lines().count(), 3);
        assert!(out.starts_with("NAME   PACKAGE"));
    }

    #[test]
    fn custom_columns_with_none_and_filters() {
        let mut o = PrintOptions::table();
        o.format = OutputFormat::parse(Some("custom-columns=NAME:.metadata.name,REV:.spec.revision,READY:.status.conditions[?(@.type=='Ready')].status")).unwrap();
        let objs = vec![
            json!({"metadata": {"name": "x"}, "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            json!({"metadata": {"name": "y"}, "spec": {"revision": -1}}),
        ];
        assert_eq!(
            print_objects(&objs, &REPOSITORIES, &o),
            "NAME   REV      READY\nx      <none>   True\ny      -1       <none>\n"
        );
        o.no_headers = true;
        assert_eq!(
            print_objects(&objs[1..], &REPOSITORIES, &o),
            "y     -1    <none>\n"
        );
    }

    #[test]
    fn yaml_and_json_per_object() {
        let mut o = PrintOptions::table();
        o.format = OutputFormat::Yaml;
        let objs = vec![json!({"b": 1, "a": "x"}), json!({"c": "<"})];
        assert_eq!(
            print_objects(&objs, &REPOSITORIES, &o),
            "a: x\nb: 1\n---\nc: <\n"
        );
        o.format = OutputFormat::Json;
        assert_eq!(
            print_objects(&objs[1..], &REPOSITORIES, &o),
            "{\n    \"c\": \"\\u003c\"\n}\n"
        );
    }

    #[test]
    fn bad_formats() {
        assert!(OutputFormat::parse(Some("xml")).is_err());
        assert!(OutputFormat::parse(Some("custom-columns=NOPATH")).is_err());
        assert!(OutputFormat::parse(Some("yaml")).is_ok_and(|f| !f.wants_table()));
        assert!(OutputFormat::parse(None).is_ok_and(|f| f.wants_table()));
    }
}
