//! OpenAPI documents: the v3 index, one v3 document per group version, and a v2 document.
//! The PATCH operations carry `fieldValidation` and `dryRun` parameters and the
//! `x-kubernetes-group-version-kind` extension, which is how kubectl decides to let the
//! server validate (`queryParamVerifierV3`).

use crate::discovery::ResourceDescriptor;
use serde_json::{Map, Value, json};

/// A resource with the schema of its kind.
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    pub descriptor: ResourceDescriptor,
    /// OpenAPI v3 schema of the whole object.
    pub schema: Value,
}

/// The index path of a group version: `api/v1` or `apis/<group>/<version>`.
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The `components.schemas` key of a kind: `io.k8s.api.core.v1.ConfigMap`, `com.example.v1.Widget`.
pub fn schema_name(group: &str, version: &str, kind: &str) -> String {
    let prefix = match group {
        "" => "io.k8s.api.core".to_string(),
        "coordination.k8s.io" => "io.k8s.api.coordination".to_string(),
        "apiextensions.k8s.io" => {
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".to_string()
        }
        g => g.split('.').rev().collect::<Vec<_>>().join("."),
    };
    format!("{prefix}.{version}.{kind}")
}

/// `GET /openapi/v3`: `{"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=..."}}}`.
pub fn v3_index(entries: &[(String, String)]) -> Value {
    let mut paths = Map::new();
    for (path, hash) in entries {
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

fn gvk(d: &ResourceDescriptor) -> Value {
    json!({"group": d.group, "version": d.version, "kind": d.kind})
}

fn param(name: &str, location: &str, description: &str) -> Value {
    json!({"name": name, "in": location, "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

fn write_params() -> Vec<Value> {
    vec![
        param(
            "dryRun",
            "query",
            "When present, indicates that modifications should not be persisted.",
        ),
        param(
            "fieldManager",
            "query",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        param(
            "fieldValidation",
            "query",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
        ),
    ]
}

fn op(
    d: &ResourceDescriptor,
    action: &str,
    op_id: &str,
    schema_ref: &Value,
    extra_params: Vec<Value>,
    body: Option<Vec<&str>>,
) -> Value {
    let mut o = json!({
        "operationId": op_id,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema_ref}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(d),
    });
    if let Some(m) = o.as_object_mut() {
        if !extra_params.is_empty() {
            m.insert("parameters".into(), Value::Array(extra_params));
        }
        if let Some(types) = body {
            let mut content = Map::new();
            for t in types {
                content.insert(t.to_string(), json!({"schema": schema_ref}));
            }
            m.insert(
                "requestBody".into(),
                json!({"content": content, "required": true}),
            );
        }
    }
    o
}

/// A per-group-version OpenAPI v3 document.
pub fn v3_group_version(group: &str, version: &str, resources: &[ResourceSchema]) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let gv = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    for rs in resources {
        let d = &rs.descriptor;
        let name = schema_name(&d.group, &d.version, &d.kind);
        let mut schema = rs.schema.clone();
        if let Some(m) = schema.as_object_mut() {
            m.insert("x-kubernetes-group-version-kind".into(), json!([gvk(d)]));
        }
        schemas.insert(name.clone(), schema);
        let list_name = format!("{name}List");
        schemas.insert(
            list_name.clone(),
            json!({
                "type": "object",
                "required": ["items"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                    "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}},
                },
                "x-kubernetes-group-version-kind": [{"group": d.group, "version": d.version, "kind": format!("{}List", d.kind)}],
            }),
        );
        let item_ref = json!({"$ref": format!("#/components/schemas/{name}")});
        let list_ref = json!({"$ref": format!("#/components/schemas/{list_name}")});
        let base = if d.namespaced {
            format!("{gv}/namespaces/{{namespace}}/{}", d.resource)
        } else {
            format!("{gv}/{}", d.resource)
        };
        let kind = &d.kind;
        let mut scope_params = vec![];
        if d.namespaced {
            scope_params.push(json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}}));
        }
        let mut collection = Map::new();
        collection.insert(
            "get".into(),
            op(d, "list", &format!("list{kind}"), &list_ref, vec![], None),
        );
        collection.insert(
            "post".into(),
            op(
                d,
                "post",
                &format!("create{kind}"),
                &item_ref,
                write_params(),
                Some(vec!["*/*"]),
            ),
        );
        collection.insert(
            "delete".into(),
            op(
                d,
                "deletecollection",
                &format!("deletecollection{kind}"),
                &item_ref,
                vec![],
                None,
            ),
        );
        collection.insert("parameters".into(), Value::Array(scope_params.clone()));
        paths.insert(base.clone(), Value::Object(collection));

        let mut item_params = scope_params.clone();
        item_params.push(
            json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}),
        );
        let patch_types = vec![
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
        ];
        let mut item = Map::new();
        item.insert(
            "get".into(),
            op(d, "get", &format!("read{kind}"), &item_ref, vec![], None),
        );
        item.insert(
            "put".into(),
            op(
                d,
                "put",
                &format!("replace{kind}"),
                &item_ref,
                write_params(),
                Some(vec!["*/*"]),
            ),
        );
        let mut patch_params = write_params();
        patch_params.push(param(
            "force",
            "query",
            "Force is going to \"force\" Apply requests.",
        ));
        item.insert(
            "patch".into(),
            op(
                d,
                "patch",
                &format!("patch{kind}"),
                &item_ref,
                patch_params.clone(),
                Some(patch_types.clone()),
            ),
        );
        item.insert(
            "delete".into(),
            op(
                d,
                "delete",
                &format!("delete{kind}"),
                &item_ref,
                vec![param("dryRun", "query", "")],
                None,
            ),
        );
        item.insert("parameters".into(), Value::Array(item_params.clone()));
        paths.insert(format!("{base}/{{name}}"), Value::Object(item));

        for sub in &d.subresources {
            let mut s = Map::new();
            s.insert(
                "get".into(),
                op(
                    d,
                    "get",
                    &format!("read{kind}{}", capitalize(&sub.name)),
                    &item_ref,
                    vec![],
                    None,
                ),
            );
            s.insert(
                "put".into(),
                op(
                    d,
                    "put",
                    &format!("replace{kind}{}", capitalize(&sub.name)),
                    &item_ref,
                    write_params(),
                    Some(vec!["*/*"]),
                ),
            );
            s.insert(
                "patch".into(),
                op(
                    d,
                    "patch",
                    &format!("patch{kind}{}", capitalize(&sub.name)),
                    &item_ref,
                    patch_params.clone(),
                    Some(patch_types.clone()),
                ),
            );
            s.insert("parameters".into(), Value::Array(item_params.clone()));
            paths.insert(format!("{base}/{{name}}/{}", sub.name), Value::Object(s));
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

/// A Swagger 2.0 document with the definitions of every kind (for clients that fetch `/openapi/v2` as JSON).
pub fn v2_document(resources: &[ResourceSchema]) -> Value {
    let mut defs = Map::new();
    for rs in resources {
        let d = &rs.descriptor;
        let mut schema = rs.schema.clone();
        if let Some(m) = schema.as_object_mut() {
            m.insert("x-kubernetes-group-version-kind".into(), json!([gvk(d)]));
        }
        defs.insert(schema_name(&d.group, &d.version, &d.kind), schema);
    }
    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": {}, "definitions": defs})
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::{SubresourceDescriptor, standard_verbs};

    #[test]
    fn names_and_index() {
        assert_eq!(
            schema_name("", "v1", "ConfigMap"),
            "io.k8s.api.core.v1.ConfigMap"
        );
        assert_eq!(
            schema_name("config.porch.kpt.dev", "v1alpha1", "Repository"),
            "dev.kpt.porch.config.v1alpha1.Repository"
        );
        let idx = v3_index(&[("api/v1".into(), "abc".into())]);
        assert_eq!(
            idx["paths"]["api/v1"]["serverRelativeURL"],
            "/openapi/v3/api/v1?hash=abc"
        );
    }

    #[test]
    fn patch_carries_field_validation() {
        let d = ResourceDescriptor {
            group: "example.com".into(),
            version: "v1".into(),
            resource: "widgets".into(),
            singular: "widget".into(),
            kind: "Widget".into(),
            namespaced: true,
            verbs: standard_verbs(),
            short_names: vec![],
            categories: vec![],
            subresources: vec![SubresourceDescriptor {
                name: "status".into(),
                kind: "Widget".into(),
                verbs: vec![],
            }],
        };
        let doc = v3_group_version(
            "example.com",
            "v1",
            &[ResourceSchema {
                descriptor: d,
                schema: json!({"type":"object"}),
            }],
        );
        let patch =
            &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Widget");
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        assert!(
            doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/status"]
                .is_object()
        );
        assert_eq!(
            doc["components"]["schemas"]["com.example.v1.Widget"]["x-kubernetes-group-version-kind"]
                [0]["kind"],
            "Widget"
        );
    }
}
