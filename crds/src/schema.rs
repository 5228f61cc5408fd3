//! Schema helpers (`#[schemars(schema_with = ...)]`) that keep CRD schemas structural.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Nested object metadata: a plain object, as controller-gen writes it (only the root
/// `metadata` gets the apiserver's own schema).
pub(crate) fn object_meta(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object" })
}

/// An optional (or Go-zero, serialized as `null`) `metav1.Time`: a nullable RFC 3339 string.
pub(crate) fn optional_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time", "nullable": true })
}
