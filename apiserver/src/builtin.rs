//! Built-in kinds: the few core kinds the system needs, checked by typed decoding through
//! k8s-openapi (which also reveals unknown fields), with their kind-specific rules and tables.

use crate::registry::{ResourceInfo, VersionInfo};
use porch_apimachinery::status::FieldError;
use porch_apimachinery::table::{Column, TableSpec, age_cell};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// The built-in kinds served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinKind {
    Namespace,
    ConfigMap,
    Secret,
    Event,
    ServiceAccount,
    Lease,
    EventsV1Event,
    CustomResourceDefinition,
}

pub(crate) fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn age(obj: &Value) -> Value {
    age_cell(obj, now_unix())
}

fn count(v: Option<&Value>) -> usize {
    match v {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

fn configmap_data(obj: &Value) -> Value {
    json!(count(obj.get("data")) + count(obj.get("binaryData")))
}
fn secret_data(obj: &Value) -> Value {
    json!(count(obj.get("data")))
}
fn secret_type(obj: &Value) -> Value {
    obj.get("type").cloned().unwrap_or(Value::Null)
}
fn ns_status(obj: &Value) -> Value {
    obj.pointer("/status/phase").cloned().unwrap_or(Value::Null)
}
fn sa_secrets(obj: &Value) -> Value {
    json!(count(obj.get("secrets")))
}
fn lease_holder(obj: &Value) -> Value {
    obj.pointer("/spec/holderIdentity")
        .cloned()
        .unwrap_or_else(|| json!(""))
}
fn crd_created(obj: &Value) -> Value {
    obj.pointer("/metadata/creationTimestamp")
        .cloned()
        .unwrap_or(Value::Null)
}
fn event_last_seen(obj: &Value) -> Value {
    let ts = obj
        .get("lastTimestamp")
        .or_else(|| obj.get("eventTime"))
        .or_else(|| obj.pointer("/metadata/creationTimestamp"))
        .and_then(Value::as_str)
        .and_then(porch_apimachinery::table::parse_unix);
    match ts {
        Some(t) => Value::String(porch_apimachinery::table::human_duration(now_unix() - t)),
        None => Value::String("<unknown>".into()),
    }
}
fn event_type(obj: &Value) -> Value {
    obj.get("type").cloned().unwrap_or(Value::Null)
}
fn event_reason(obj: &Value) -> Value {
    obj.get("reason").cloned().unwrap_or(Value::Null)
}
fn event_object(obj: &Value) -> Value {
    let io = obj.get("involvedObject").or_else(|| obj.get("regarding"));
    let kind = io
        .and_then(|i| i.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase();
    let name = io
        .and_then(|i| i.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    Value::String(format!("{kind}/{name}"))
}
fn event_message(obj: &Value) -> Value {
    obj.get("message")
        .or_else(|| obj.get("note"))
        .cloned()
        .unwrap_or(Value::Null)
}
fn name_cell(obj: &Value) -> Value {
    obj.pointer("/metadata/name")
        .cloned()
        .unwrap_or(Value::Null)
}

fn table(extra: Vec<Column>, with_age: bool) -> TableSpec {
    let mut columns = vec![Column::name()];
    columns.extend(extra);
    if with_age {
        columns.push(Column::computed("Age", "string", 0, age));
    }
    TableSpec { columns }
}

fn permissive_schema(kind: &str) -> Value {
    json!({
        "type": "object",
        "description": format!("{kind} (built in)"),
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
        },
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

struct Def {
    kind: BuiltinKind,
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    kind_name: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    status: bool,
    fields: &'static [&'static str],
}

const DEFS: &[Def] = &[
    Def {
        kind: BuiltinKind::Namespace,
        group: "",
        version: "v1",
        resource: "namespaces",
        kind_name: "Namespace",
        namespaced: false,
        short: &["ns"],
        status: true,
        fields: &["status.phase"],
    },
    Def {
        kind: BuiltinKind::ConfigMap,
        group: "",
        version: "v1",
        resource: "configmaps",
        kind_name: "ConfigMap",
        namespaced: true,
        short: &["cm"],
        status: false,
        fields: &[],
    },
    Def {
        kind: BuiltinKind::Secret,
        group: "",
        version: "v1",
        resource: "secrets",
        kind_name: "Secret",
        namespaced: true,
        short: &[],
        status: false,
        fields: &["type"],
    },
    Def {
        kind: BuiltinKind::Event,
        group: "",
        version: "v1",
        resource: "events",
        kind_name: "Event",
        namespaced: true,
        short: &["ev"],
        status: false,
        fields: &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
    },
    Def {
        kind: BuiltinKind::ServiceAccount,
        group: "",
        version: "v1",
        resource: "serviceaccounts",
        kind_name: "ServiceAccount",
        namespaced: true,
        short: &["sa"],
        status: false,
        fields: &[],
    },
    Def {
        kind: BuiltinKind::Lease,
        group: "coordination.k8s.io",
        version: "v1",
        resource: "leases",
        kind_name: "Lease",
        namespaced: true,
        short: &[],
        status: false,
        fields: &[],
    },
    Def {
        kind: BuiltinKind::EventsV1Event,
        group: "events.k8s.io",
        version: "v1",
        resource: "events",
        kind_name: "Event",
        namespaced: true,
        short: &["ev"],
        status: false,
        fields: &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "reason",
            "type",
        ],
    },
    Def {
        kind: BuiltinKind::CustomResourceDefinition,
        group: "apiextensions.k8s.io",
        version: "v1",
        resource: "customresourcedefinitions",
        kind_name: "CustomResourceDefinition",
        namespaced: false,
        short: &["crd", "crds"],
        status: true,
        fields: &[],
    },
];

fn table_for(kind: BuiltinKind) -> TableSpec {
    match kind {
        BuiltinKind::Namespace => table(
            vec![Column::computed("Status", "string", 0, ns_status)],
            true,
        ),
        BuiltinKind::ConfigMap => table(
            vec![Column::computed("Data", "string", 0, configmap_data)],
            true,
        ),
        BuiltinKind::Secret => table(
            vec![
                Column::computed("Type", "string", 0, secret_type),
                Column::computed("Data", "string", 0, secret_data),
            ],
            true,
        ),
        BuiltinKind::ServiceAccount => table(
            vec![Column::computed("Secrets", "string", 0, sa_secrets)],
            true,
        ),
        BuiltinKind::Lease => table(
            vec![Column::computed("Holder", "string", 0, lease_holder)],
            true,
        ),
        BuiltinKind::CustomResourceDefinition => table(
            vec![Column::computed("Created At", "date", 0, crd_created)],
            false,
        ),
        BuiltinKind::Event | BuiltinKind::EventsV1Event => TableSpec {
            columns: vec![
                Column::computed("Last Seen", "string", 0, event_last_seen),
                Column::computed("Type", "string", 0, event_type),
                Column::computed("Reason", "string", 0, event_reason),
                Column::computed("Object", "string", 0, event_object),
                Column::computed("Message", "string", 0, event_message),
                Column {
                    priority: 1,
                    ..Column::computed("Name", "string", 1, name_cell)
                },
            ],
        },
    }
}

/// Every built-in resource.
pub fn builtin_resources() -> Vec<ResourceInfo> {
    DEFS.iter()
        .map(|d| ResourceInfo {
            group: d.group.into(),
            resource: d.resource.into(),
            singular: d.kind_name.to_lowercase(),
            kind: d.kind_name.into(),
            list_kind: format!("{}List", d.kind_name),
            namespaced: d.namespaced,
            short_names: d.short.iter().map(|s| s.to_string()).collect(),
            categories: vec![],
            versions: vec![VersionInfo {
                name: d.version.into(),
                storage: true,
                schema: None,
                openapi: permissive_schema(d.kind_name),
                table: table_for(d.kind),
                status_subresource: d.status,
                selectable_fields: d.fields.iter().map(|s| s.to_string()).collect(),
            }],
            builtin: Some(d.kind),
        })
        .collect()
}

fn roundtrip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// Typed decode; returns the fields the type does not know (for `fieldValidation=Strict`).
pub fn decode_check(kind: BuiltinKind, v: &Value) -> Result<Vec<String>, String> {
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Secret, ServiceAccount};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let typed = match kind {
        BuiltinKind::Namespace => roundtrip::<Namespace>(v)?,
        BuiltinKind::ConfigMap => roundtrip::<ConfigMap>(v)?,
        BuiltinKind::Secret => roundtrip::<Secret>(v)?,
        BuiltinKind::Event => roundtrip::<Event>(v)?,
        BuiltinKind::ServiceAccount => roundtrip::<ServiceAccount>(v)?,
        BuiltinKind::Lease => roundtrip::<Lease>(v)?,
        BuiltinKind::EventsV1Event => roundtrip::<k8s_openapi::api::events::v1::Event>(v)?,
        BuiltinKind::CustomResourceDefinition => roundtrip::<CustomResourceDefinition>(v)?,
    };
    let mut unknown = Vec::new();
    diff_unknown(v, &typed, "", &mut unknown);
    unknown.sort();
    Ok(unknown)
}

fn diff_unknown(input: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (input, known) {
        (Value::Object(a), Value::Object(b)) => {
            // Opaque maps (labels, data, ...) round-trip whole, so every key is present in `b`.
            for (k, v) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(bv) => diff_unknown(v, bv, &p, out),
                    None if !v.is_null() && !is_empty_container(v) => out.push(p),
                    None => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_unknown(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn is_empty_container(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty()) || matches!(v, Value::Array(a) if a.is_empty())
}

/// Kind-specific normalisation on every write (before validation).
pub fn prepare(kind: BuiltinKind, obj: &mut Value, creating: bool) {
    match kind {
        BuiltinKind::Secret => {
            if let Some(Value::Object(sd)) =
                obj.as_object_mut().and_then(|m| m.remove("stringData"))
            {
                use base64::Engine;
                let data = obj
                    .as_object_mut()
                    .map(|m| m.entry("data").or_insert_with(|| Value::Object(Map::new())));
                if let Some(Value::Object(d)) = data {
                    for (k, v) in sd {
                        let s = v.as_str().unwrap_or_default();
                        d.insert(
                            k,
                            Value::String(base64::engine::general_purpose::STANDARD.encode(s)),
                        );
                    }
                }
            }
            if obj.get("type").is_none()
                && let Some(m) = obj.as_object_mut()
            {
                m.insert("type".into(), json!("Opaque"));
            }
        }
        BuiltinKind::Namespace if creating => {
            if let Some(m) = obj.as_object_mut() {
                m.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
                m.insert("status".into(), json!({"phase": "Active"}));
            }
        }
        _ => {}
    }
}

/// Kind-specific validation (beyond names and typed decoding).
pub fn validate(kind: BuiltinKind, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match kind {
        BuiltinKind::ConfigMap | BuiltinKind::Secret => {
            if let Some(old) = old
                && old.get("immutable").and_then(Value::as_bool) == Some(true)
            {
                for field in ["data", "binaryData"] {
                    if old.get(field) != obj.get(field) {
                        errs.push(FieldError::forbidden(
                            field,
                            "field is immutable when `immutable` is set",
                        ));
                    }
                }
                if obj.get("immutable").and_then(Value::as_bool) != Some(true) {
                    errs.push(FieldError::forbidden(
                        "immutable",
                        "field is immutable when `immutable` is set",
                    ));
                }
            }
            if kind == BuiltinKind::Secret
                && let (Some(old), Some(t)) = (old, obj.get("type"))
                && old.get("type") != Some(t)
            {
                errs.push(FieldError::invalid("type", t, "field is immutable"));
            }
        }
        BuiltinKind::Lease => {
            if let Some(d) = obj
                .pointer("/spec/leaseDurationSeconds")
                .and_then(Value::as_i64)
                && d <= 0
            {
                errs.push(FieldError::invalid(
                    "spec.leaseDurationSeconds",
                    &json!(d),
                    "must be greater than 0",
                ));
            }
        }
        _ => {}
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_found_by_roundtrip() {
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"x":"y"},"bogus":1},"data":{"k":"v"},"spec":{"foo":1}});
        assert_eq!(
            decode_check(BuiltinKind::ConfigMap, &cm).unwrap(),
            vec!["metadata.bogus".to_string(), "spec".to_string()]
        );
        let bad =
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":1}});
        assert!(decode_check(BuiltinKind::ConfigMap, &bad).is_err());
    }

    #[test]
    fn secret_string_data_is_encoded() {
        let mut s = json!({"metadata":{"name":"a"},"stringData":{"u":"me"}});
        prepare(BuiltinKind::Secret, &mut s, true);
        assert_eq!(s["data"]["u"], "bWU=");
        assert_eq!(s["type"], "Opaque");
        assert!(s.get("stringData").is_none());
    }

    #[test]
    fn immutable_configmap() {
        let old = json!({"immutable":true,"data":{"a":"1"}});
        let new = json!({"immutable":true,"data":{"a":"2"}});
        let errs = validate(BuiltinKind::ConfigMap, &new, Some(&old));
        assert_eq!(
            errs[0].render(),
            "data: Forbidden: field is immutable when `immutable` is set"
        );
    }
}
