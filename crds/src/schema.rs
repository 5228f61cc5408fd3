//! Schema helpers (`#[schemars(schema_with = ...)]`) that keep CRD schemas structural.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Nested object metadata: a plain object, as controller-gen writes it (only the root
/// `metadata` gets the apiserver's own schema).
pub(crate) fn object_meta(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object" })
}

/// An optional `metav1.Time`: an RFC 3339 string.
pub(crate) fn optional_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time", "nullable": true })
}

/// A `metav1.Time` that Go always serializes, as `null` when unset.
pub(crate) fn nullable_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time", "nullable": true })
}
