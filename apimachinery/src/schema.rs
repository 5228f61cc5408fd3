//! Structural OpenAPI v3 schemas of CRDs: pruning of nulls, defaulting, unknown-field detection
//! (for `fieldValidation=Strict`), value validation and `x-kubernetes-validations` CEL rules.

use crate::cel::{CelError, Program};
use crate::status::{FieldError, json_type_name};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A compiled `x-kubernetes-validations` entry.
#[derive(Debug, Clone)]
struct Rule {
    source: String,
    program: Program,
    message: Option<String>,
    message_expression: Option<Program>,
    reason: Option<String>,
    field_path: Option<String>,
}

/// A CRD version's schema with its CEL rules compiled.
#[derive(Debug, Clone)]
pub struct StructuralSchema {
    schema: Value,
    /// Compiled rules keyed by the JSON pointer of their schema node.
    rules: HashMap<String, Vec<Rule>>,
}

/// How a field path prints: the root is `<nil>`, like Go's `field.Path` errors for root rules.
fn path_str(path: &str) -> String {
    if path.is_empty() {
        "<nil>".to_string()
    } else {
        path.to_string()
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn is_root_meta(path: &str, key: &str) -> bool {
    path.is_empty() && matches!(key, "apiVersion" | "kind" | "metadata")
}

impl StructuralSchema {
    /// Compile a schema's CEL rules. Errors name the rule's location and why it was rejected.
    pub fn compile(schema: &Value) -> Result<Self, Vec<FieldError>> {
        let mut rules = HashMap::new();
        let mut errors = Vec::new();
        compile_rules(schema, "", "openAPIV3Schema", &mut rules, &mut errors);
        if errors.is_empty() {
            Ok(Self {
                schema: schema.clone(),
                rules,
            })
        } else {
            Err(errors)
        }
    }

    /// The raw schema.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Drop nulls of non-nullable fields and apply `default`s, recursively.
    pub fn default(&self, obj: &mut Value) {
        default_node(&self.schema, obj, "");
    }

    /// Fields not declared by the schema, as `spec.foo` paths (sorted, as Go reports them).
    pub fn unknown_fields(&self, obj: &Value) -> Vec<String> {
        let mut out = Vec::new();
        unknown(&self.schema, obj, "", &mut out, true);
        out.sort();
        out
    }

    /// Remove fields not declared by the schema (what the apiserver does without Strict).
    pub fn prune(&self, obj: &mut Value) {
        prune_node(&self.schema, obj, "");
    }

    /// Validate values and CEL rules. `old` is the stored object on update (for transition rules).
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        let mut errs = Vec::new();
        self.validate_node(&self.schema, obj, old, "", "", &mut errs);
        errs
    }

    fn validate_node(
        &self,
        schema: &Value,
        v: &Value,
        old: Option<&Value>,
        path: &str,
        ptr: &str,
        errs: &mut Vec<FieldError>,
    ) {
        let nullable = schema
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if v.is_null() {
            if !nullable && !path.is_empty() {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    format!(
                        "{path} in body must be of type {}: \"null\"",
                        schema_type(schema)
                    ),
                ));
            }
            return;
        }
        let int_or_string = schema
            .get("x-kubernetes-int-or-string")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
        let type_ok = match ty {
            "" => true,
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string() || (int_or_string && (v.is_i64() || v.is_u64())),
            "integer" => v.is_i64() || v.is_u64() || (int_or_string && v.is_string()),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            _ => true,
        };
        if !type_ok {
            let shown = json_type_name(v);
            errs.push(FieldError::type_invalid(
                path,
                v,
                format!(
                    "{} in body must be of type {ty}: \"{shown}\"",
                    path_str(path)
                ),
            ));
            return;
        }
        if let Some(en) = schema.get("enum").and_then(Value::as_array)
            && !en.contains(v)
        {
            errs.push(FieldError::not_supported(path, v, en));
        }
        if let Some(s) = v.as_str() {
            let len = s.chars().count() as u64;
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                errs.push(FieldError {
                    reason: "FieldValueTooLong",
                    field: path.to_string(),
                    detail: format!("Too long: may not be more than {max} bytes"),
                });
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    format!(
                        "{} in body should be at least {min} chars long",
                        path_str(path)
                    ),
                ));
            }
            if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                && regex::Regex::new(p).is_ok_and(|re| !re.is_match(s))
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    format!("{} in body should match '{p}'", path_str(path)),
                ));
            }
        }
        if let Some(n) = v.as_f64().filter(|_| v.is_number()) {
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    format!(
                        "{} in body should be greater than or equal to {}",
                        path_str(path),
                        fmt_num(min)
                    ),
                ));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    format!(
                        "{} in body should be less than or equal to {}",
                        path_str(path),
                        fmt_num(max)
                    ),
                ));
            }
        }
        match v {
            Value::Object(m) => {
                if let Some(req) = schema.get("required").and_then(Value::as_array) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !m.contains_key(r) {
                            errs.push(FieldError::required(child(path, r), ""));
                        }
                    }
                }
                if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
                    && m.len() as u64 > max
                {
                    errs.push(FieldError {
                        reason: "FieldValueTooMany",
                        field: path.into(),
                        detail: format!("Too many: {}: must have at most {max} items", m.len()),
                    });
                }
                let props = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties").filter(|a| a.is_object());
                for (k, cv) in m {
                    if is_root_meta(path, k) {
                        continue;
                    }
                    let old_child = old.and_then(|o| o.get(k));
                    if let Some(ps) = props.and_then(|p| p.get(k)) {
                        self.validate_node(
                            ps,
                            cv,
                            old_child,
                            &child(path, k),
                            &format!("{ptr}/properties/{}", escape_ptr(k)),
                            errs,
                        );
                    } else if let Some(ap) = additional {
                        self.validate_node(
                            ap,
                            cv,
                            old_child,
                            &format!("{}[{k}]", path_str(path)),
                            &format!("{ptr}/additionalProperties"),
                            errs,
                        );
                    }
                }
            }
            Value::Array(items) => {
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                    && items.len() as u64 > max
                {
                    errs.push(FieldError {
                        reason: "FieldValueTooMany",
                        field: path.into(),
                        detail: format!("Too many: {}: must have at most {max} items", items.len()),
                    });
                }
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                    && (items.len() as u64) < min
                {
                    errs.push(FieldError::invalid(
                        path,
                        &Value::from(items.len()),
                        format!(
                            "{} in body should have at least {min} items",
                            path_str(path)
                        ),
                    ));
                }
                if let Some(is) = schema.get("items") {
                    let old_items = old.and_then(Value::as_array);
                    // Transition rules on list items only correlate for map-type lists; positional otherwise is wrong, so skip oldSelf there.
                    let _ = old_items;
                    for (i, item) in items.iter().enumerate() {
                        self.validate_node(
                            is,
                            item,
                            None,
                            &format!("{}[{i}]", path_str(path)),
                            &format!("{ptr}/items"),
                            errs,
                        );
                    }
                }
            }
            _ => {}
        }
        if let Some(rules) = self.rules.get(ptr) {
            for rule in rules {
                if rule.program.uses_old_self() && old.is_none() {
                    continue;
                }
                let outcome = rule.program.eval_bool(v, old);
                let field = match &rule.field_path {
                    Some(fp) => child(path, fp.trim_start_matches('.')),
                    None => path.to_string(),
                };
                match outcome {
                    Ok(true) => {}
                    Ok(false) => {
                        let msg = rule
                            .message_expression
                            .as_ref()
                            .and_then(|p| p.eval(v, old).ok())
                            .and_then(|m| m.as_str().map(String::from))
                            .or_else(|| rule.message.clone())
                            .unwrap_or_else(|| format!("failed rule: {}", rule.source));
                        let reason = match rule.reason.as_deref() {
                            Some("FieldValueForbidden") => "FieldValueForbidden",
                            Some("FieldValueRequired") => "FieldValueRequired",
                            Some("FieldValueDuplicate") => "FieldValueDuplicate",
                            _ => "FieldValueInvalid",
                        };
                        let detail = match reason {
                            "FieldValueForbidden" => format!("Forbidden: {msg}"),
                            "FieldValueRequired" => format!("Required value: {msg}"),
                            "FieldValueDuplicate" => format!("Duplicate value: {msg}"),
                            _ => format!("Invalid value: \"{}\": {msg}", schema_type(schema)),
                        };
                        errs.push(FieldError {
                            reason,
                            field: path_str(&field),
                            detail,
                        });
                    }
                    Err(e) => errs.push(FieldError {
                        reason: "FieldValueInvalid",
                        field: path_str(&field),
                        detail: format!(
                            "Invalid value: \"{}\": rule evaluation error: {e}",
                            schema_type(schema)
                        ),
                    }),
                }
            }
        }
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn schema_type(schema: &Value) -> &str {
    schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object")
}

fn escape_ptr(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn compile_rules(
    schema: &Value,
    ptr: &str,
    loc: &str,
    out: &mut HashMap<String, Vec<Rule>>,
    errors: &mut Vec<FieldError>,
) {
    if let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        for (i, r) in rules.iter().enumerate() {
            let source = r
                .get("rule")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let field = format!("spec.validation.{loc}.x-kubernetes-validations[{i}].rule");
            match Program::compile(&source) {
                Ok(program) => {
                    let message_expression =
                        match r.get("messageExpression").and_then(Value::as_str) {
                            Some(me) => match Program::compile(me) {
                                Ok(p) => Some(p),
                                Err(e) => {
                                    errors.push(FieldError::invalid(
                                        field.replace(".rule", ".messageExpression"),
                                        &Value::String(me.into()),
                                        cel_message(&e),
                                    ));
                                    None
                                }
                            },
                            None => None,
                        };
                    out.entry(ptr.to_string()).or_default().push(Rule {
                        source,
                        program,
                        message: r.get("message").and_then(Value::as_str).map(String::from),
                        message_expression,
                        reason: r.get("reason").and_then(Value::as_str).map(String::from),
                        field_path: r.get("fieldPath").and_then(Value::as_str).map(String::from),
                    });
                }
                Err(e) => errors.push(FieldError::invalid(
                    field,
                    &Value::String(source.clone()),
                    cel_message(&e),
                )),
            }
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, s) in props {
            compile_rules(
                s,
                &format!("{ptr}/properties/{}", escape_ptr(k)),
                &format!("{loc}.properties[{k}]"),
                out,
                errors,
            );
        }
    }
    if let Some(s) = schema.get("items").filter(|s| s.is_object()) {
        compile_rules(
            s,
            &format!("{ptr}/items"),
            &format!("{loc}.items"),
            out,
            errors,
        );
    }
    if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object()) {
        compile_rules(
            s,
            &format!("{ptr}/additionalProperties"),
            &format!("{loc}.additionalProperties"),
            out,
            errors,
        );
    }
}

fn cel_message(e: &CelError) -> String {
    format!("{e}")
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn embedded(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn default_node(schema: &Value, v: &mut Value, path: &str) {
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(props) = props {
                // Nulls of non-nullable fields are dropped first, so that defaults can apply.
                m.retain(|k, cv| {
                    !(cv.is_null()
                        && props.get(k).is_some_and(|ps| {
                            !ps.get("nullable").and_then(Value::as_bool).unwrap_or(false)
                        }))
                });
                for (k, ps) in props {
                    if is_root_meta(path, k) {
                        continue;
                    }
                    if !m.contains_key(k)
                        && let Some(d) = ps.get("default")
                    {
                        m.insert(k.clone(), d.clone());
                    }
                    if let Some(cv) = m.get_mut(k) {
                        default_node(ps, cv, &child(path, k));
                    }
                }
            }
            if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, cv) in m.iter_mut() {
                    default_node(ap, cv, &child(path, k));
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = schema.get("items") {
                for item in items.iter_mut() {
                    default_node(is, item, path);
                }
            }
        }
        _ => {}
    }
}

fn unknown(schema: &Value, v: &Value, path: &str, out: &mut Vec<String>, _root: bool) {
    if preserves_unknown(schema) && schema.get("properties").is_none() {
        return;
    }
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (k, cv) in m {
                if is_root_meta(path, k)
                    || (embedded(schema)
                        && matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
                {
                    continue;
                }
                if let Some(ps) = props.and_then(|p| p.get(k)) {
                    unknown(ps, cv, &child(path, k), out, false);
                } else if let Some(ap) = additional {
                    if ap.is_object() {
                        unknown(ap, cv, &child(path, k), out, false);
                    }
                } else if !preserves_unknown(schema) {
                    out.push(child(path, k));
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    unknown(is, item, &format!("{path}[{i}]"), out, false);
                }
            }
        }
        _ => {}
    }
}

fn prune_node(schema: &Value, v: &mut Value, path: &str) {
    if preserves_unknown(schema) && schema.get("properties").is_none() {
        return;
    }
    match v {
        Value::Object(m) => {
            let props = schema
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let additional = schema.get("additionalProperties").cloned();
            let keep_unknown = preserves_unknown(schema);
            let is_embedded = embedded(schema);
            let mut pruned = Map::new();
            for (k, mut cv) in std::mem::take(m) {
                if is_root_meta(path, &k)
                    || (is_embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
                {
                    pruned.insert(k, cv);
                } else if let Some(ps) = props.get(&k) {
                    prune_node(ps, &mut cv, &child(path, &k));
                    pruned.insert(k, cv);
                } else if let Some(ap) = &additional {
                    if ap.is_object() {
                        prune_node(ap, &mut cv, &child(path, &k));
                    }
                    pruned.insert(k, cv);
                } else if keep_unknown {
                    pruned.insert(k, cv);
                }
            }
            *m = pruned;
        }
        Value::Array(items) => {
            if let Some(is) = schema.get("items") {
                for item in items.iter_mut() {
                    prune_node(is, item, path);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo_schema() -> Value {
        json!({
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')", "message": "metadata.name must conform to the RFC1123 DNS label standard"}
            ],
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "type": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "spec.type is immutable"}]},
                        "content": {"type": "string", "default": "Package"},
                        "replicas": {"type": "integer", "minimum": 1},
                        "mode": {"type": "string", "enum": ["a", "b"]},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}}}
                    }
                },
                "status": {"type": "object", "properties": {"ok": {"type": "boolean"}}}
            }
        })
    }

    #[test]
    fn defaults_and_unknown_fields() {
        let s = StructuralSchema::compile(&repo_schema()).unwrap();
        let mut obj = json!({"apiVersion":"x/v1","kind":"R","metadata":{"name":"a"},"spec":{"type":"git","content":null,"foo":1,"free":{"x":1},"items":[{"n":"a","z":1}],"labels":{"k":"v"}}});
        s.default(&mut obj);
        assert_eq!(obj["spec"]["content"], "Package");
        assert_eq!(
            s.unknown_fields(&obj),
            vec!["spec.foo".to_string(), "spec.items[0].z".to_string()]
        );
        s.prune(&mut obj);
        assert!(obj["spec"].get("foo").is_none());
        assert_eq!(obj["spec"]["free"]["x"], 1);
        assert!(obj["spec"]["items"][0].get("z").is_none());
        assert!(s.validate(&obj, None).is_empty());
    }

    #[test]
    fn value_errors() {
        let s = StructuralSchema::compile(&repo_schema()).unwrap();
        let obj = json!({"metadata":{"name":"a"},"spec":{"replicas":"x","mode":"c"}});
        let errs: Vec<String> = s
            .validate(&obj, None)
            .iter()
            .map(FieldError::render)
            .collect();
        assert!(
            errs.contains(&"spec.type: Required value".to_string()),
            "{errs:?}"
        );
        assert!(errs.contains(&"spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"".to_string()), "{errs:?}");
        assert!(
            errs.contains(
                &"spec.mode: Unsupported value: \"c\": supported values: \"a\", \"b\"".to_string()
            ),
            "{errs:?}"
        );
        let obj = json!({"metadata":{"name":"a"},"spec":{"type":"git","replicas":0}});
        let errs: Vec<String> = s
            .validate(&obj, None)
            .iter()
            .map(FieldError::render)
            .collect();
        assert_eq!(errs, vec!["spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1".to_string()]);
    }

    #[test]
    fn cel_rules() {
        let s = StructuralSchema::compile(&repo_schema()).unwrap();
        let old = json!({"metadata":{"name":"a"},"spec":{"type":"git"}});
        let new = json!({"metadata":{"name":"a"},"spec":{"type":"oci"}});
        assert!(
            s.validate(&new, None).is_empty(),
            "transition rules are skipped on create"
        );
        let errs: Vec<String> = s
            .validate(&new, Some(&old))
            .iter()
            .map(FieldError::render)
            .collect();
        assert_eq!(
            errs,
            vec!["spec.type: Invalid value: \"string\": spec.type is immutable".to_string()]
        );
        let bad = json!({"metadata":{"name":"A_B"},"spec":{"type":"git"}});
        let errs: Vec<String> = s
            .validate(&bad, None)
            .iter()
            .map(FieldError::render)
            .collect();
        assert_eq!(errs, vec!["<nil>: Invalid value: \"object\": metadata.name must conform to the RFC1123 DNS label standard".to_string()]);
    }

    #[test]
    fn unsupported_rule_rejected_at_compile() {
        let bad = json!({"type":"object","properties":{"spec":{"type":"object","x-kubernetes-validations":[{"rule":"self.isSorted()"}]}}});
        let errs = StructuralSchema::compile(&bad).unwrap_err();
        assert_eq!(
            errs[0].field,
            "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
        );
    }
}
