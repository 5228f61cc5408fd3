//! `porch_resource!`: the apiVersion/kind plumbing of the hand-written porch.kpt.dev kinds.
//!
//! These kinds are served by our API server rather than installed as CRDs, so there is no
//! `CustomResource` derive. The macro gives each root type (`metadata`, `spec`, `status`)
//! a [`kube::Resource`] impl (so `kube::Api<T>` works), serialization that always writes
//! `apiVersion` and `kind`, a JSON schema with those fields, and a `...List` type.

/// See the module documentation.
macro_rules! porch_resource {
    (
        $root:ident, list = $list:ident, kind = $kind:literal, plural = $plural:literal,
        spec = $spec:ty, status = $status:ty $(,)?
    ) => {
        impl kube::Resource for $root {
            type DynamicType = ();
            type Scope = kube::core::NamespaceResourceScope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::porch::v1alpha1::GROUP.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::porch::v1alpha1::VERSION.into()
            }
            fn api_version(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::porch::v1alpha1::API_VERSION.into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }

        impl kube::core::object::HasSpec for $root {
            type Spec = $spec;
            fn spec(&self) -> &$spec {
                &self.spec
            }
            fn spec_mut(&mut self) -> &mut $spec {
                &mut self.spec
            }
        }

        impl $root {
            /// The `kind` of this type.
            pub const KIND: &'static str = $kind;
            /// The resource (plural) name this kind is served at.
            pub const PLURAL: &'static str = $plural;

            /// A new object with the given name and spec (no namespace, empty status).
            pub fn new(name: &str, spec: $spec) -> Self {
                Self {
                    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                        name: Some(name.to_string()),
                        ..Default::default()
                    },
                    spec,
                    status: Default::default(),
                }
            }
        }

        impl serde::Serialize for $root {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut state = serializer.serialize_struct($kind, 5)?;
                state.serialize_field("apiVersion", $crate::porch::v1alpha1::API_VERSION)?;
                state.serialize_field("kind", $kind)?;
                state.serialize_field("metadata", &self.metadata)?;
                state.serialize_field("spec", &self.spec)?;
                state.serialize_field("status", &self.status)?;
                state.end()
            }
        }

        impl schemars::JsonSchema for $root {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $kind.into()
            }
            fn schema_id() -> std::borrow::Cow<'static, str> {
                concat!("porch.kpt.dev/v1alpha1/", $kind).into()
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $crate::porch::v1alpha1::resource::root_schema(
                    generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(),
                    generator.subschema_for::<$spec>(),
                    generator.subschema_for::<$status>(),
                )
            }
        }

        #[doc = concat!("A list of ", $kind, " objects (`kind: ", $kind, "List`).")]
        #[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
        pub struct $list {
            /// List metadata (Porch's lists carry no resourceVersion).
            #[serde(default, deserialize_with = "crate::serde_util::null_default")]
            pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta,
            /// The objects.
            #[serde(default, deserialize_with = "crate::serde_util::null_default")]
            pub items: Vec<$root>,
        }

        impl $list {
            /// The `kind` of this list type.
            pub const KIND: &'static str = concat!($kind, "List");
        }

        impl serde::Serialize for $list {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut state = serializer.serialize_struct(concat!($kind, "List"), 4)?;
                state.serialize_field("apiVersion", $crate::porch::v1alpha1::API_VERSION)?;
                state.serialize_field("kind", concat!($kind, "List"))?;
                state.serialize_field("metadata", &self.metadata)?;
                state.serialize_field("items", &self.items)?;
                state.end()
            }
        }

        impl schemars::JsonSchema for $list {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                concat!($kind, "List").into()
            }
            fn schema_id() -> std::borrow::Cow<'static, str> {
                concat!("porch.kpt.dev/v1alpha1/", $kind, "List").into()
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $crate::porch::v1alpha1::resource::list_schema(
                    generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta>(),
                    generator.subschema_for::<$root>(),
                )
            }
        }
    };
}

pub(crate) use porch_resource;

use schemars::Schema;
use serde_json::{Map, Value, json};

/// The schema of a root object: `apiVersion`, `kind`, `metadata`, `spec`, `status`.
pub(crate) fn root_schema(metadata: Schema, spec: Schema, status: Schema) -> Schema {
    let mut properties = Map::new();
    properties.insert("apiVersion".into(), json!({"type": "string"}));
    properties.insert("kind".into(), json!({"type": "string"}));
    properties.insert("metadata".into(), metadata.to_value());
    properties.insert("spec".into(), spec.to_value());
    properties.insert("status".into(), status.to_value());
    object_schema(properties)
}

/// The schema of a list: `apiVersion`, `kind`, `metadata`, `items`.
pub(crate) fn list_schema(metadata: Schema, item: Schema) -> Schema {
    let mut properties = Map::new();
    properties.insert("apiVersion".into(), json!({"type": "string"}));
    properties.insert("kind".into(), json!({"type": "string"}));
    properties.insert("metadata".into(), metadata.to_value());
    properties.insert(
        "items".into(),
        json!({"type": "array", "items": item.to_value()}),
    );
    let mut schema = object_schema(properties);
    schema.insert("required".into(), json!(["items"]));
    schema
}

fn object_schema(properties: Map<String, Value>) -> Schema {
    let mut map = Map::new();
    map.insert("type".into(), json!("object"));
    map.insert("properties".into(), Value::Object(properties));
    Schema::from(map)
}
