//! OpenAPI v3 schemas of the porch.kpt.dev kinds, for the API server's `/openapi/v3`.
//!
//! Schemas are generated the way kube generates CRD schemas: OpenAPI 3 dialect, every
//! subschema inlined (no `$ref`), `nullable` for options. Each root schema carries the
//! `x-kubernetes-group-version-kind` extension kubectl uses to find a kind's schema.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::porch::v1alpha1::{
    GROUP, PackageRevision, PackageRevisionList, PackageRevisionResources,
    PackageRevisionResourcesList, PorchPackage, PorchPackageList, VERSION,
};

/// The inlined OpenAPI v3 schema of `T`.
pub fn openapi_schema<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(kube::core::schema::OptionalEnum)
        .with_transform(kube::core::schema::OptionalIntOrString)
        .into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// The schema of one kind, tagged with its group, version and kind.
#[derive(Debug, Clone, PartialEq)]
pub struct KindSchema {
    /// The API group.
    pub group: &'static str,
    /// The API version.
    pub version: &'static str,
    /// The kind (including `...List` kinds).
    pub kind: &'static str,
    /// The schema, with `x-kubernetes-group-version-kind` set.
    pub schema: Value,
}

impl KindSchema {
    fn of<T: JsonSchema>(kind: &'static str) -> Self {
        let mut schema = openapi_schema::<T>();
        if let Some(map) = schema.as_object_mut() {
            map.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{ "group": GROUP, "version": VERSION, "kind": kind }]),
            );
        }
        Self {
            group: GROUP,
            version: VERSION,
            kind,
            schema,
        }
    }

    /// The OpenAPI definition name Kubernetes uses: `dev.kpt.porch.v1alpha1.<Kind>`.
    pub fn definition_name(&self) -> String {
        let reversed: Vec<&str> = self.group.split('.').rev().collect();
        format!("{}.{}.{}", reversed.join("."), self.version, self.kind)
    }
}

/// The schemas of every porch.kpt.dev/v1alpha1 kind and list kind.
pub fn porch_kind_schemas() -> Vec<KindSchema> {
    vec![
        KindSchema::of::<PackageRevision>(PackageRevision::KIND),
        KindSchema::of::<PackageRevisionList>(PackageRevisionList::KIND),
        KindSchema::of::<PackageRevisionResources>(PackageRevisionResources::KIND),
        KindSchema::of::<PackageRevisionResourcesList>(PackageRevisionResourcesList::KIND),
        KindSchema::of::<PorchPackage>(PorchPackage::KIND),
        KindSchema::of::<PorchPackageList>(PorchPackageList::KIND),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_inlined_and_tagged() {
        let schemas = porch_kind_schemas();
        assert_eq!(schemas.len(), 6);
        for kind in &schemas {
            let text = kind.schema.to_string();
            assert!(!text.contains("$ref"), "{} has a $ref", kind.kind);
            assert!(!text.contains("$defs"), "{} has $defs", kind.kind);
            assert_eq!(
                kind.schema["x-kubernetes-group-version-kind"][0]["kind"],
                kind.kind
            );
            assert_eq!(kind.schema["type"], "object");
        }
        let pr = &schemas[0];
        assert_eq!(
            pr.definition_name(),
            "dev.kpt.porch.v1alpha1.PackageRevision"
        );
        let status = &pr.schema["properties"]["status"]["properties"];
        assert_eq!(status["publishTimestamp"]["nullable"], true);
        assert_eq!(status["upstreamLock"]["type"], "object");
        let spec = &pr.schema["properties"]["spec"]["properties"];
        assert_eq!(spec["lifecycle"]["type"], "string");
        assert_eq!(
            spec["tasks"]["items"]["properties"]["clone"]["properties"]["upstreamRef"]["properties"]
                ["upstreamRef"]["properties"]["name"]["type"],
            "string"
        );
        let prr = &schemas[2].schema["properties"]["spec"]["properties"]["resources"];
        assert_eq!(prr["additionalProperties"]["type"], "string");
    }
}
