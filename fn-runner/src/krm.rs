//! Accessors for KRM objects held as JSON values.

use serde_json::{Map, Value};

use crate::results::{FileRef, ResourceRef};

/// Annotation: resource is not for the cluster.
pub const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";
/// Annotation: file path of the resource (current key).
pub const PATH: &str = "internal.config.kubernetes.io/path";
/// Annotation: index within the file (current key).
pub const INDEX: &str = "internal.config.kubernetes.io/index";
/// Annotation: file path (legacy key).
pub const LEGACY_PATH: &str = "config.kubernetes.io/path";
/// Annotation: index (legacy key).
pub const LEGACY_INDEX: &str = "config.kubernetes.io/index";
/// Annotation: identity of the resource upstream.
pub const UPSTREAM_IDENTIFIER: &str = "internal.kpt.dev/upstream-identifier";

/// A string at `path` (object keys only).
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path)?.as_str()
}

/// The value at `path` (object keys only).
pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for k in path {
        cur = cur.as_object()?.get(*k)?;
    }
    Some(cur)
}

/// The value at `path`, mutably.
pub fn get_mut<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut cur = v;
    for k in path {
        cur = cur.as_object_mut()?.get_mut(*k)?;
    }
    Some(cur)
}

/// The object at `path`, created (with intermediate objects) when missing.
/// `None` when something on the way is not an object (or null).
pub fn ensure_object<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut cur = v;
    for k in path {
        if cur.is_null() {
            *cur = Value::Object(Map::new());
        }
        let m = cur.as_object_mut()?;
        cur = m
            .entry((*k).to_string())
            .or_insert(Value::Object(Map::new()));
    }
    if cur.is_null() {
        *cur = Value::Object(Map::new());
    }
    cur.as_object_mut()
}

/// `apiVersion`.
pub fn api_version(v: &Value) -> &str {
    str_at(v, &["apiVersion"]).unwrap_or("")
}
/// `kind`.
pub fn kind(v: &Value) -> &str {
    str_at(v, &["kind"]).unwrap_or("")
}
/// `metadata.name`.
pub fn name(v: &Value) -> &str {
    str_at(v, &["metadata", "name"]).unwrap_or("")
}
/// `metadata.namespace`.
pub fn namespace(v: &Value) -> &str {
    str_at(v, &["metadata", "namespace"]).unwrap_or("")
}
/// API group of an apiVersion (`apps/v1` -> `apps`, `v1` -> ``).
pub fn group_of(api_version: &str) -> &str {
    match api_version.rsplit_once('/') {
        Some((g, _)) => g,
        None => "",
    }
}
/// API group of the item.
pub fn group(v: &Value) -> &str {
    group_of(api_version(v))
}

/// An annotation value.
pub fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    get(v, &["metadata", "annotations", key])?.as_str()
}

/// A label value.
pub fn label<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    get(v, &["metadata", "labels", key])?.as_str()
}

/// Set an annotation, creating `metadata.annotations` when needed.
pub fn set_annotation(v: &mut Value, key: &str, value: &str) {
    if let Some(m) = ensure_object(v, &["metadata", "annotations"]) {
        m.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// Remove an annotation; drop `annotations` when it becomes empty.
pub fn remove_annotation(v: &mut Value, key: &str) {
    if let Some(meta) = get_mut(v, &["metadata"]).and_then(Value::as_object_mut) {
        let mut empty = false;
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove(key);
            empty = a.is_empty();
        }
        if empty {
            meta.remove("annotations");
        }
    }
}

/// `config.kubernetes.io/local-config: "true"` (case-insensitive).
pub fn is_local_config(v: &Value) -> bool {
    annotation(v, LOCAL_CONFIG).is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

/// File path annotation (current key, then legacy).
pub fn path_annotation(v: &Value) -> Option<&str> {
    annotation(v, PATH).or_else(|| annotation(v, LEGACY_PATH))
}

/// The resource reference of an item.
pub fn resource_ref(v: &Value) -> ResourceRef {
    ResourceRef {
        api_version: api_version(v).to_string(),
        kind: kind(v).to_string(),
        name: name(v).to_string(),
        namespace: namespace(v).to_string(),
    }
}

/// The file reference of an item, from its path/index annotations.
pub fn file_ref(v: &Value) -> Option<FileRef> {
    let path = path_annotation(v)?;
    let index = annotation(v, INDEX)
        .or_else(|| annotation(v, LEGACY_INDEX))
        .and_then(|s| s.parse::<i64>().ok());
    Some(FileRef {
        path: path.to_string(),
        index,
    })
}

/// Render a scalar the way Go's `fmt` would print a YAML scalar's text.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Whether a kind is cluster-scoped, per the Go SDK's built-in table
/// (unknown kinds are namespaced iff they carry `metadata.namespace`).
pub fn is_namespaced(v: &Value) -> bool {
    const CLUSTER_SCOPED: &[&str] = &[
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ];
    const NAMESPACED: &[&str] = &[
        "Binding",
        "ConfigMap",
        "ControllerRevision",
        "CronJob",
        "DaemonSet",
        "Deployment",
        "Endpoints",
        "EndpointSlice",
        "Event",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "Lease",
        "LimitRange",
        "LocalSubjectAccessReview",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "Pod",
        "PodDisruptionBudget",
        "PodTemplate",
        "ReplicaSet",
        "ReplicationController",
        "ResourceQuota",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    ];
    let k = kind(v);
    if CLUSTER_SCOPED.contains(&k) {
        return false;
    }
    if NAMESPACED.contains(&k) {
        return true;
    }
    get(v, &["metadata", "namespace"]).is_some()
}

/// A YAML scalar's value after its tag is cleared: the type is re-inferred from the text
/// (`"3"` becomes 3, `"true"` becomes true), as kyaml does when a function writes plain text.
pub fn infer_scalar(text: &str) -> Value {
    match text {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        "null" | "Null" | "NULL" | "~" => return Value::Null,
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    if text.contains('.')
        && !text.starts_with('.')
        && let Ok(f) = text.parse::<f64>()
        && f.is_finite()
    {
        return Value::from(f);
    }
    Value::String(text.to_string())
}
