#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Structural-schema checks for every generated CRD: the rules a kube-apiserver enforces
//! that can be checked without one (see
//! <https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema>).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use porch_crds::all_crds;
use serde_json::{Map, Value};

const KNOWN_FORMATS: &[&str] = &[
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "date",
    "date-time",
    "duration",
    "password",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "uuid",
    "mac",
    "binary",
];

/// Collects problems in one schema node and its children.
struct Checker {
    crd: String,
    problems: Vec<String>,
}

impl Checker {
    fn problem(&mut self, path: &str, message: &str) {
        self.problems
            .push(format!("{}: {path}: {message}", self.crd));
    }

    fn check_node(&mut self, path: &str, node: &Map<String, Value>, under_metadata: bool) {
        let int_or_string = node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
        let preserve = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        let ty = node.get("type").and_then(Value::as_str);

        for forbidden in [
            "$ref",
            "definitions",
            "$defs",
            "$schema",
            "patternProperties",
            "dependencies",
            "id",
        ] {
            if node.contains_key(forbidden) {
                self.problem(path, &format!("`{forbidden}` is not allowed"));
            }
        }
        match (ty, int_or_string, preserve) {
            (None, false, false) => self.problem(path, "node has no type"),
            (Some(_), true, _) => self.problem(path, "int-or-string node must not set a type"),
            (Some(t), _, _)
                if !["object", "array", "string", "integer", "number", "boolean"].contains(&t) =>
            {
                self.problem(path, &format!("unknown type {t}"))
            }
            _ => {}
        }
        if node.get("type").is_some_and(Value::is_array) {
            self.problem(path, "type must be a single string");
        }
        for junctor in ["anyOf", "oneOf", "allOf", "not"] {
            if let Some(value) = node.get(junctor) {
                // Only value validations are allowed inside junctors: no types, no structure.
                // The int-or-string pattern `anyOf: [{type: integer}, {type: string}]` is the
                // one exception.
                let children: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                for child in children {
                    let allowed_int_or_string = int_or_string
                        && junctor == "anyOf"
                        && child.as_object().is_some_and(|c| {
                            c.len() == 1
                                && matches!(
                                    c.get("type").and_then(Value::as_str),
                                    Some("integer" | "string")
                                )
                        });
                    let structural = child.as_object().is_some_and(|c| {
                        [
                            "type",
                            "properties",
                            "items",
                            "additionalProperties",
                            "default",
                            "nullable",
                            "description",
                        ]
                        .iter()
                        .any(|k| c.contains_key(*k))
                    });
                    if structural && !allowed_int_or_string {
                        self.problem(
                            path,
                            &format!("{junctor} carries structure (types/properties)"),
                        );
                    }
                }
            }
        }
        if node.contains_key("properties") && node.contains_key("additionalProperties") {
            self.problem(path, "properties and additionalProperties together");
        }
        if node.get("additionalProperties") == Some(&Value::Bool(false)) {
            self.problem(path, "additionalProperties: false is not structural");
        }
        if (node.contains_key("properties") || node.contains_key("additionalProperties"))
            && ty != Some("object")
        {
            self.problem(path, "properties on a non-object node");
        }
        if preserve && ty.is_some_and(|t| t != "object") {
            self.problem(path, "x-kubernetes-preserve-unknown-fields on a non-object");
        }
        if ty == Some("array") && !node.contains_key("items") {
            self.problem(path, "array without items");
        }
        if let Some(format) = node.get("format").and_then(Value::as_str)
            && !KNOWN_FORMATS.contains(&format)
        {
            self.problem(path, &format!("unknown format {format}"));
        }
        if let Some(default) = node.get("default") {
            if under_metadata {
                self.problem(path, "defaults are not allowed under metadata");
            }
            if !value_matches_type(default, ty, int_or_string) {
                self.problem(
                    path,
                    &format!("default {default} does not match type {ty:?}"),
                );
            }
        }
        if let Some(values) = node.get("enum").and_then(Value::as_array) {
            for value in values {
                if !value_matches_type(value, ty, int_or_string) {
                    self.problem(
                        path,
                        &format!("enum value {value} does not match type {ty:?}"),
                    );
                }
            }
        }
        if let Some(required) = node.get("required").and_then(Value::as_array) {
            let props = node.get("properties").and_then(Value::as_object);
            for name in required {
                let name = name.as_str().unwrap_or_default();
                if !props.is_some_and(|p| p.contains_key(name)) {
                    self.problem(path, &format!("required field {name} is not a property"));
                }
            }
        }
        if let Some(rules) = node.get("x-kubernetes-validations") {
            for rule in rules.as_array().into_iter().flatten() {
                if rule
                    .get("rule")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    self.problem(path, "validation without a rule");
                }
            }
        }

        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (name, child) in props {
                self.check_child(&format!("{path}.{name}"), child, under_metadata);
            }
        }
        if let Some(child) = node.get("additionalProperties")
            && child.is_object()
        {
            self.check_child(&format!("{path}[*]"), child, under_metadata);
        }
        if let Some(child) = node.get("items") {
            self.check_child(&format!("{path}[]"), child, under_metadata);
        }
    }

    fn check_child(&mut self, path: &str, child: &Value, under_metadata: bool) {
        match child.as_object() {
            Some(map) => self.check_node(path, map, under_metadata),
            None => self.problem(path, "schema node is not an object"),
        }
    }

    fn check_root(&mut self, root: &Map<String, Value>) {
        if root.get("type").and_then(Value::as_str) != Some("object") {
            self.problem("<root>", "root must be type: object");
        }
        if root.contains_key("nullable") {
            self.problem("<root>", "root must not be nullable");
        }
        if root.contains_key("default") {
            self.problem("<root>", "root must not have a default");
        }
        if let Some(meta) = root
            .get("properties")
            .and_then(|p| p.get("metadata"))
            .and_then(Value::as_object)
        {
            // Only name/generateName may be constrained, and only with type string.
            for (key, value) in meta {
                match key.as_str() {
                    "type" | "description" => {}
                    "properties" => {
                        for (name, field) in value.as_object().into_iter().flatten() {
                            if !["name", "generateName"].contains(&name.as_str()) {
                                self.problem(
                                    "<root>.metadata",
                                    &format!("metadata.{name} may not be specified"),
                                );
                            }
                            if field.get("type").and_then(Value::as_str) != Some("string") {
                                self.problem(
                                    "<root>.metadata",
                                    "metadata name fields must be strings",
                                );
                            }
                        }
                    }
                    other => self.problem(
                        "<root>.metadata",
                        &format!("`{other}` not allowed on metadata"),
                    ),
                }
            }
        }
        for (name, value) in root
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            self.check_child(&format!(".{name}"), value, name == "metadata");
        }
        for key in root.keys() {
            if ![
                "type",
                "description",
                "properties",
                "required",
                "title",
                "x-kubernetes-validations",
                "x-kubernetes-preserve-unknown-fields",
            ]
            .contains(&key.as_str())
            {
                self.problem("<root>", &format!("unexpected root key {key}"));
            }
        }
    }
}

fn value_matches_type(value: &Value, ty: Option<&str>, int_or_string: bool) -> bool {
    if int_or_string {
        return value.is_string() || value.is_i64() || value.is_u64();
    }
    match ty {
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        _ => true,
    }
}

/// A JSONPath as kubectl's printer accepts it: starts with `.`, balanced brackets and quotes.
fn json_path_is_well_formed(path: &str) -> bool {
    if !path.starts_with('.') {
        return false;
    }
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in path.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && quote.is_none() && !path.ends_with('.')
}

fn schema_of(crd: &CustomResourceDefinition, version: &str) -> Map<String, Value> {
    let v = crd
        .spec
        .versions
        .iter()
        .find(|v| v.name == version)
        .unwrap();
    let schema = v
        .schema
        .as_ref()
        .unwrap()
        .open_api_v3_schema
        .as_ref()
        .unwrap();
    serde_json::to_value(schema)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn every_crd_is_structural() {
    let mut problems = Vec::new();
    for crd in all_crds() {
        let name = crd.metadata.name.clone().unwrap();
        for version in &crd.spec.versions {
            let mut checker = Checker {
                crd: format!("{name}/{}", version.name),
                problems: Vec::new(),
            };
            let root = schema_of(&crd, &version.name);
            checker.check_root(&root);
            problems.extend(checker.problems);
        }
    }
    assert!(
        problems.is_empty(),
        "non-structural schemas:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_catches_what_it_claims_to() {
    let bad: Value = serde_json::json!({
        "type": "object",
        "nullable": true,
        "properties": {
            "a": {"description": "no type"},
            "b": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "c": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
            "d": {"type": "string", "default": 3},
            "e": {"type": "array"},
            "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}
        }
    });
    let mut checker = Checker {
        crd: "test".into(),
        problems: Vec::new(),
    };
    checker.check_root(bad.as_object().unwrap());
    let text = checker.problems.join("\n");
    for expected in [
        "root must not be nullable",
        ".a: node has no type",
        ".b: anyOf carries structure",
        ".c: properties and additionalProperties together",
        ".d: default 3 does not match",
        ".e: array without items",
        "metadata.labels may not be specified",
    ] {
        assert!(
            text.contains(expected),
            "checker missed {expected:?} in:\n{text}"
        );
    }
}

#[test]
fn versions_are_served_and_stored_as_upstream() {
    for crd in all_crds() {
        let name = crd.metadata.name.clone().unwrap();
        let storage: Vec<&str> = crd
            .spec
            .versions
            .iter()
            .filter(|v| v.storage)
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(
            storage.len(),
            1,
            "{name}: exactly one storage version, got {storage:?}"
        );
        assert!(
            crd.spec.versions.iter().any(|v| v.served),
            "{name}: nothing served"
        );
        assert!(
            crd.spec
                .versions
                .iter()
                .filter(|v| v.storage)
                .all(|v| v.served),
            "{name}: the storage version must be served"
        );
        assert_eq!(crd.spec.group, "config.porch.kpt.dev");
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(
            name,
            format!("{}.{}", crd.spec.names.plural, crd.spec.group)
        );
    }
    let pvs = all_crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "PackageVariantSet")
        .unwrap();
    let versions: Vec<(&str, bool, bool)> = pvs
        .spec
        .versions
        .iter()
        .map(|v| (v.name.as_str(), v.served, v.storage))
        .collect();
    assert_eq!(
        versions,
        vec![("v1alpha1", false, false), ("v1alpha2", true, true)]
    );
}

#[test]
fn printer_columns_are_well_formed() {
    for crd in all_crds() {
        for version in &crd.spec.versions {
            for column in version.additional_printer_columns.iter().flatten() {
                assert!(
                    json_path_is_well_formed(&column.json_path),
                    "{}: bad JSONPath {}",
                    crd.spec.names.kind,
                    column.json_path
                );
                assert!(
                    ["integer", "number", "string", "boolean", "date"]
                        .contains(&column.type_.as_str()),
                    "bad column type {}",
                    column.type_
                );
            }
        }
    }
    assert!(!json_path_is_well_formed(".spec['git'"));
    assert!(!json_path_is_well_formed("spec.x"));
}

#[test]
fn repository_crd_matches_upstream_surface() {
    let crd = all_crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "Repository")
        .unwrap();
    assert_eq!(crd.spec.names.short_names, Some(vec!["repo".to_string()]));
    assert_eq!(crd.spec.names.singular.as_deref(), Some("repository"));
    let version = &crd.spec.versions[0];
    assert!(version.subresources.as_ref().unwrap().status.is_some());
    let columns: Vec<String> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.to_uppercase())
        .collect();
    // kubectl prints NAME first, then these.
    assert_eq!(
        columns,
        [
            "TYPE",
            "CONTENT",
            "SYNC SCHEDULE",
            "DEPLOYMENT",
            "READY",
            "ADDRESS",
            "BRANCH",
            "AGE"
        ]
    );
    let root = schema_of(&crd, "v1alpha1");
    let messages: Vec<&str> = root["x-kubernetes-validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "metadata.name must conform to the RFC1123 DNS label standard",
            "metadata.name must be no more than 63 characters",
            "spec.type is immutable",
            "spec.git.repo is immutable",
            "spec.git.branch is immutable",
            "spec.git.directory is immutable",
            "spec.oci.registry is immutable",
        ]
    );
    let spec = &root["properties"]["spec"]["properties"];
    assert_eq!(spec["content"]["default"], "Package");
    assert_eq!(
        spec["content"]["x-kubernetes-validations"][0]["message"],
        "The 'content' field is deprecated, its only valid value is 'Package'"
    );
    assert_eq!(spec["git"]["properties"]["branch"]["default"], "main");
    assert_eq!(spec["git"]["properties"]["branch"]["minLength"], 1);
    assert_eq!(spec["git"]["required"], serde_json::json!(["repo"]));
}

#[test]
fn function_config_has_its_cel_rule() {
    let crd = all_crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "FunctionConfig")
        .unwrap();
    let root = schema_of(&crd, "v1alpha1");
    let spec = &root["properties"]["spec"];
    assert_eq!(
        spec["x-kubernetes-validations"][0]["message"],
        "At least one configuration must be specified"
    );
    assert_eq!(
        spec["x-kubernetes-validations"][0]["rule"],
        "has(self.podExecutor) || has(self.binaryExecutor) || has(self.goExecutor)"
    );
    assert_eq!(
        spec["properties"]["podExecutor"]["properties"]["timeToLive"]["default"],
        "30m"
    );
}
