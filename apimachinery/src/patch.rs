//! PATCH bodies: JSON Patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch
//! (with the patch strategies of the built-in kinds we serve) and the apply-patch media type.

use crate::status::StatusError;
use serde_json::{Map, Value};

/// The four PATCH media types Kubernetes knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
    Apply,
}

impl PatchType {
    /// Map a request `Content-Type` to a patch type.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let essence = ct.split(';').next().unwrap_or_default().trim();
        match essence {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Some(Self::Apply),
            _ => None,
        }
    }

    /// The media type string.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json-patch+json",
            Self::Merge => "application/merge-patch+json",
            Self::StrategicMerge => "application/strategic-merge-patch+json",
            Self::Apply => "application/apply-patch+yaml",
        }
    }
}

/// How a list at a given path merges under a strategic merge patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListStrategy {
    /// The patch's list replaces the original (the default).
    Replace,
    /// Lists of objects merged by a key field (`name`, `uid`, ...).
    MergeByKey(String),
    /// Lists of scalars merged as a set union.
    MergePrimitive,
}

/// Patch strategies of the metadata every object shares.
pub fn metadata_list_strategy(path: &[&str]) -> ListStrategy {
    match path {
        ["metadata", "finalizers"] => ListStrategy::MergePrimitive,
        ["metadata", "ownerReferences"] => ListStrategy::MergeByKey("uid".into()),
        _ => ListStrategy::Replace,
    }
}

/// Apply an RFC 6902 JSON patch body.
pub fn apply_json_patch(doc: &Value, body: &[u8]) -> Result<Value, StatusError> {
    let ops: json_patch::Patch = serde_json::from_slice(body)
        .map_err(|e| StatusError::bad_request(format!("error decoding patch: {e}")))?;
    let mut out = doc.clone();
    for op in &ops.0 {
        // kube-apiserver treats `test` of null against a missing path as a match; kube-runtime's
        // finalizer helper relies on it (`{"op":"test","path":"/metadata/finalizers","value":null}`).
        if let json_patch::PatchOperation::Test(t) = op
            && t.value.is_null()
            && out.pointer(t.path.as_str()).is_none()
        {
            continue;
        }
        apply_one(&mut out, op)?;
    }
    Ok(out)
}

fn apply_one(out: &mut Value, op: &json_patch::PatchOperation) -> Result<(), StatusError> {
    json_patch::patch(out, std::slice::from_ref(op)).map_err(|e| {
        // kube-apiserver reports failed `test` ops and bad paths as 422 Invalid via the generic handler;
        // the message format mirrors its wording.
        StatusError {
            code: 422,
            reason: "Invalid".into(),
            message: format!("the server rejected our request due to an error in our request: {e}"),
            details: None,
        }
    })
}

/// Apply an RFC 7386 merge patch body.
pub fn apply_merge_patch(doc: &Value, body: &[u8]) -> Result<Value, StatusError> {
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| StatusError::bad_request(format!("error decoding patch: {e}")))?;
    if !patch.is_object() {
        return Err(StatusError::bad_request(
            "error decoding patch: a merge patch must be a JSON object",
        ));
    }
    let mut out = doc.clone();
    json_patch::merge(&mut out, &patch);
    Ok(out)
}

/// Apply a strategic merge patch, using `strategy` to look up how each list merges.
pub fn apply_strategic_merge_patch(
    doc: &Value,
    body: &[u8],
    strategy: &dyn Fn(&[&str]) -> ListStrategy,
) -> Result<Value, StatusError> {
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| StatusError::bad_request(format!("error decoding patch: {e}")))?;
    let Value::Object(patch) = patch else {
        return Err(StatusError::bad_request(
            "error decoding patch: a strategic merge patch must be a JSON object",
        ));
    };
    let mut out = doc.clone();
    let mut path = Vec::new();
    smp_object(&mut out, &patch, &mut path, strategy)?;
    Ok(out)
}

fn smp_object(
    target: &mut Value,
    patch: &Map<String, Value>,
    path: &mut Vec<String>,
    strategy: &dyn Fn(&[&str]) -> ListStrategy,
) -> Result<(), StatusError> {
    if let Some(directive) = patch.get("$patch").and_then(Value::as_str) {
        match directive {
            "replace" => {
                let mut clean = patch.clone();
                clean.remove("$patch");
                *target = Value::Object(clean);
                return Ok(());
            }
            "delete" => {
                *target = Value::Null;
                return Ok(());
            }
            "merge" => {}
            other => {
                return Err(StatusError::bad_request(format!(
                    "Unknown patch type: {other}"
                )));
            }
        }
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(tmap) = target else {
        return Ok(());
    };
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        tmap.retain(|k, _| keep.contains(&k.as_str()) || patch.contains_key(k));
    }
    // Primitive-list deletions apply before merges, as in Go.
    for (k, v) in patch {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/")
            && let (Some(Value::Array(list)), Some(del)) = (tmap.get_mut(field), v.as_array())
        {
            list.retain(|item| !del.contains(item));
        }
    }
    for (k, v) in patch {
        if k.starts_with('$') {
            continue;
        }
        path.push(k.clone());
        if v.is_null() {
            tmap.remove(k);
        } else if let Value::Object(pv) = v {
            let entry = tmap.entry(k.clone()).or_insert(Value::Null);
            smp_object(entry, pv, path, strategy)?;
            if entry.is_null() {
                tmap.remove(k);
            }
        } else if let Value::Array(pl) = v {
            let segs: Vec<&str> = path.iter().map(String::as_str).collect();
            match strategy(&segs) {
                ListStrategy::Replace => {
                    tmap.insert(k.clone(), v.clone());
                }
                ListStrategy::MergePrimitive => {
                    let list = tmap
                        .entry(k.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(items) = list {
                        for item in pl {
                            if !items.contains(item) {
                                items.push(item.clone());
                            }
                        }
                    } else {
                        *list = v.clone();
                    }
                }
                ListStrategy::MergeByKey(key) => {
                    let list = tmap
                        .entry(k.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if !list.is_array() {
                        *list = Value::Array(Vec::new());
                    }
                    if let Value::Array(items) = list {
                        merge_keyed_list(items, pl, &key, path, strategy)?;
                    }
                }
            }
        } else {
            tmap.insert(k.clone(), v.clone());
        }
        path.pop();
    }
    Ok(())
}

fn merge_keyed_list(
    items: &mut Vec<Value>,
    patch: &[Value],
    key: &str,
    path: &mut Vec<String>,
    strategy: &dyn Fn(&[&str]) -> ListStrategy,
) -> Result<(), StatusError> {
    for p in patch {
        let Some(pobj) = p.as_object() else {
            return Err(StatusError::bad_request(format!(
                "strategic merge patch: list item is not an object at {}",
                path.join(".")
            )));
        };
        let pkey = pobj.get(key);
        let pos = items
            .iter()
            .position(|it| it.get(key) == pkey && pkey.is_some());
        let delete = pobj.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                items.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => smp_object(&mut items[i], pobj, path, strategy)?,
            (None, false) => {
                let mut fresh = Value::Object(Map::new());
                smp_object(&mut fresh, pobj, path, strategy)?;
                items.push(fresh);
            }
        }
    }
    Ok(())
}

/// Whether an object's spec changed between two versions (everything but metadata and status).
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        let mut m = v.as_object().cloned().unwrap_or_default();
        for k in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(k);
        }
        m
    };
    strip(old) != strip(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types() {
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json; charset=utf-8"),
            Some(PatchType::Merge)
        );
        assert_eq!(
            PatchType::from_content_type("application/apply-patch+yaml"),
            Some(PatchType::Apply)
        );
        assert_eq!(PatchType::from_content_type("text/plain"), None);
    }

    #[test]
    fn merge_removes_nulls() {
        let out =
            apply_merge_patch(&json!({"a":1,"b":{"c":2}}), br#"{"b":{"c":null},"d":3}"#).unwrap();
        assert_eq!(out, json!({"a":1,"b":{},"d":3}));
    }

    #[test]
    fn json_patch_test_op_fails_422() {
        let doc = json!({"metadata":{"finalizers":["a"]}});
        let absent = apply_json_patch(
            &json!({"metadata": {"name": "x"}}),
            br#"[{"op":"test","path":"/metadata/finalizers","value":null},{"op":"add","path":"/metadata/finalizers","value":["f"]}]"#,
        )
        .unwrap();
        assert_eq!(absent["metadata"]["finalizers"], json!(["f"]));
        let ok = apply_json_patch(&doc, br#"[{"op":"test","path":"/metadata/finalizers/0","value":"a"},{"op":"remove","path":"/metadata/finalizers/0"}]"#).unwrap();
        assert_eq!(ok, json!({"metadata":{"finalizers":[]}}));
        let err = apply_json_patch(
            &doc,
            br#"[{"op":"test","path":"/metadata/finalizers/0","value":"b"}]"#,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(apply_json_patch(&doc, b"nope").unwrap_err().code, 400);
    }

    #[test]
    fn strategic_merges_finalizers_and_owner_refs() {
        let doc = json!({"metadata":{"finalizers":["a"],"ownerReferences":[{"uid":"1","name":"x"}]},"data":{"k":"v"}});
        let out = apply_strategic_merge_patch(
            &doc,
            br#"{"metadata":{"finalizers":["b"],"ownerReferences":[{"uid":"1","name":"y"},{"uid":"2","name":"z"}]},"data":{"k2":"v2"}}"#,
            &metadata_list_strategy,
        )
        .unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(
            out["metadata"]["ownerReferences"],
            json!([{"uid":"1","name":"y"},{"uid":"2","name":"z"}])
        );
        assert_eq!(out["data"], json!({"k":"v","k2":"v2"}));
        let out = apply_strategic_merge_patch(
            &out,
            br#"{"$deleteFromPrimitiveList/finalizers":["a"]}"#,
            &|_| ListStrategy::Replace,
        );
        assert_eq!(
            out.unwrap()["metadata"]["finalizers"],
            json!(["a", "b"]),
            "directive applies at its own level only"
        );
        let out = apply_strategic_merge_patch(
            &doc,
            br#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}"#,
            &metadata_list_strategy,
        )
        .unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!([]));
    }

    #[test]
    fn strategic_replace_and_delete_directives() {
        let doc = json!({"spec":{"a":1,"b":2}});
        let out = apply_strategic_merge_patch(
            &doc,
            br#"{"spec":{"$patch":"replace","c":3}}"#,
            &metadata_list_strategy,
        )
        .unwrap();
        assert_eq!(out, json!({"spec":{"c":3}}));
        let out = apply_strategic_merge_patch(
            &doc,
            br#"{"spec":{"$patch":"delete"}}"#,
            &metadata_list_strategy,
        )
        .unwrap();
        assert_eq!(out, json!({}));
    }

    #[test]
    fn spec_change_detection() {
        assert!(!spec_changed(
            &json!({"metadata":{"a":1},"spec":{"x":1}}),
            &json!({"metadata":{"a":2},"spec":{"x":1},"status":{}})
        ));
        assert!(spec_changed(
            &json!({"spec":{"x":1}}),
            &json!({"spec":{"x":2}})
        ));
    }
}
