//! The resource registry: built-in kinds plus every established CRD, with what the handlers
//! need per version (schema, CEL rules, printer columns, subresources, selectable fields).

use crate::builtin::BuiltinKind;
use crate::store::GroupResource;
use porch_apimachinery::discovery::{
    GroupVersions, ResourceDescriptor, SubresourceDescriptor, standard_verbs,
};
use porch_apimachinery::openapi::ResourceSchema;
use porch_apimachinery::schema::StructuralSchema;
use porch_apimachinery::status::FieldError;
use porch_apimachinery::table::TableSpec;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// One served version of a resource.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    pub name: String,
    pub storage: bool,
    /// CRD schema (None for built-ins, which are checked by typed decoding).
    pub schema: Option<StructuralSchema>,
    /// OpenAPI schema for documents.
    pub openapi: Value,
    pub table: TableSpec,
    pub status_subresource: bool,
    /// Extra `fieldSelector` fields besides `metadata.name` / `metadata.namespace`.
    pub selectable_fields: Vec<String>,
}

/// A served resource.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    pub group: String,
    pub resource: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub versions: Vec<VersionInfo>,
    pub builtin: Option<BuiltinKind>,
}

impl ResourceInfo {
    pub fn gr(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.resource)
    }

    pub fn version(&self, v: &str) -> Option<&VersionInfo> {
        self.versions.iter().find(|x| x.name == v)
    }

    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{}", self.group, version)
        }
    }

    /// Whether this is a custom resource (served from a CRD).
    pub fn is_custom(&self) -> bool {
        self.builtin.is_none()
    }

    fn descriptor(&self, v: &VersionInfo) -> ResourceDescriptor {
        let mut subresources = Vec::new();
        if v.status_subresource {
            subresources.push(SubresourceDescriptor {
                name: "status".into(),
                kind: self.kind.clone(),
                verbs: vec!["get".into(), "patch".into(), "update".into()],
            });
        }
        if self.builtin == Some(BuiltinKind::Namespace) {
            subresources.push(SubresourceDescriptor {
                name: "finalize".into(),
                kind: self.kind.clone(),
                verbs: vec!["update".into()],
            });
        }
        ResourceDescriptor {
            group: self.group.clone(),
            version: v.name.clone(),
            resource: self.resource.clone(),
            singular: self.singular.clone(),
            kind: self.kind.clone(),
            namespaced: self.namespaced,
            verbs: standard_verbs(),
            short_names: self.short_names.clone(),
            categories: self.categories.clone(),
            subresources,
        }
    }
}

/// All served resources.
#[derive(Default)]
pub struct Registry {
    by_gr: RwLock<BTreeMap<(String, String), Arc<ResourceInfo>>>,
}

impl Registry {
    pub fn insert(&self, info: ResourceInfo) {
        let mut m = self
            .by_gr
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.insert((info.group.clone(), info.resource.clone()), Arc::new(info));
    }

    pub fn remove(&self, group: &str, resource: &str) {
        let mut m = self
            .by_gr
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.remove(&(group.to_string(), resource.to_string()));
    }

    fn all(&self) -> Vec<Arc<ResourceInfo>> {
        self.by_gr
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Look up by group and plural resource name, served at `version`.
    pub fn lookup(&self, group: &str, version: &str, resource: &str) -> Option<Arc<ResourceInfo>> {
        let m = self
            .by_gr
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.get(&(group.to_string(), resource.to_string()))
            .filter(|r| r.version(version).is_some())
            .cloned()
    }

    /// Look up by group and plural resource name, whatever the version.
    pub fn lookup_any_version(&self, group: &str, resource: &str) -> Option<Arc<ResourceInfo>> {
        let m = self
            .by_gr
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.get(&(group.to_string(), resource.to_string())).cloned()
    }

    /// Groups with their versions (core group first, then sorted), the preferred version first.
    pub fn groups(&self) -> Vec<GroupVersions> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self.all() {
            let e = groups.entry(r.group.clone()).or_default();
            // Preferred: the storage version first.
            let mut vs: Vec<&VersionInfo> = r.versions.iter().collect();
            vs.sort_by_key(|v| !v.storage);
            for v in vs {
                if !e.contains(&v.name) {
                    e.push(v.name.clone());
                }
            }
        }
        groups
            .into_iter()
            .map(|(group, versions)| GroupVersions { group, versions })
            .collect()
    }

    /// Discovery descriptors of every resource version in `group` (all groups when None).
    pub fn descriptors(&self, group: Option<&str>) -> Vec<ResourceDescriptor> {
        let mut out = Vec::new();
        for r in self.all() {
            if group.is_some_and(|g| g != r.group) {
                continue;
            }
            for v in &r.versions {
                out.push(r.descriptor(v));
            }
        }
        out
    }

    /// Resources with schemas of one group version (for OpenAPI).
    pub fn schemas(&self, group: &str, version: &str) -> Vec<ResourceSchema> {
        let mut out = Vec::new();
        for r in self.all() {
            if r.group != group {
                continue;
            }
            if let Some(v) = r.version(version) {
                out.push(ResourceSchema {
                    descriptor: r.descriptor(v),
                    schema: v.openapi.clone(),
                });
            }
        }
        out
    }

    /// Every resource version with its schema.
    pub fn all_schemas(&self) -> Vec<ResourceSchema> {
        let mut out = Vec::new();
        for r in self.all() {
            for v in &r.versions {
                out.push(ResourceSchema {
                    descriptor: r.descriptor(v),
                    schema: v.openapi.clone(),
                });
            }
        }
        out
    }

    /// Find a resource by kind (for ownerReferences).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceInfo>> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.all()
            .into_iter()
            .find(|r| r.group == group && r.kind == kind && r.version(version).is_some())
    }
}

/// Turn a CRD object into a resource, compiling its schemas and CEL rules.
pub fn resource_from_crd(crd: &Value) -> Result<ResourceInfo, Vec<FieldError>> {
    let spec = crd.get("spec").cloned().unwrap_or(Value::Null);
    let s = |p: &str| {
        spec.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let strings = |p: &str| -> Vec<String> {
        spec.pointer(p)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut versions = Vec::new();
    for (i, v) in spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if !v.get("served").and_then(Value::as_bool).unwrap_or(false) {
            continue;
        }
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let raw_schema = v
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or_else(
                || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            );
        let schema = match StructuralSchema::compile(&raw_schema) {
            Ok(s) => Some(s),
            Err(errs) => {
                errors.extend(errs.into_iter().map(|mut e| {
                    e.field = e.field.replacen(
                        "spec.validation.",
                        &format!("spec.versions[{i}].schema."),
                        1,
                    );
                    e
                }));
                None
            }
        };
        let cols: Vec<Value> = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let table = match TableSpec::from_printer_columns(&cols) {
            Ok(t) => t,
            Err(e) => {
                errors.push(FieldError::invalid(
                    format!("spec.versions[{i}].additionalPrinterColumns"),
                    &Value::String(e.path.clone()),
                    e.why,
                ));
                continue;
            }
        };
        let selectable_fields = v
            .get("selectableFields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                    .map(|p| p.trim_start_matches('.').to_string())
                    .collect()
            })
            .unwrap_or_default();
        let mut openapi = raw_schema.clone();
        if let Some(props) = openapi.get_mut("properties").and_then(Value::as_object_mut) {
            props
                .entry("apiVersion")
                .or_insert(json!({"type": "string"}));
            props.entry("kind").or_insert(json!({"type": "string"}));
            props.entry("metadata").or_insert(json!({"type": "object"}));
        }
        versions.push(VersionInfo {
            name,
            storage: v.get("storage").and_then(Value::as_bool).unwrap_or(false),
            schema,
            openapi,
            table,
            status_subresource: v.pointer("/subresources/status").is_some(),
            selectable_fields,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let kind = s("/names/kind");
    Ok(ResourceInfo {
        group: s("/group"),
        resource: s("/names/plural"),
        singular: {
            let sing = s("/names/singular");
            if sing.is_empty() {
                kind.to_lowercase()
            } else {
                sing
            }
        },
        list_kind: {
            let lk = s("/names/listKind");
            if lk.is_empty() {
                format!("{kind}List")
            } else {
                lk
            }
        },
        kind,
        namespaced: s("/scope") != "Cluster",
        short_names: strings("/names/shortNames"),
        categories: strings("/names/categories"),
        versions,
        builtin: None,
    })
}
