//! Pure, reusable Kubernetes API machinery (no I/O): `Status` errors, selectors, patches,
//! tables, content negotiation, discovery and OpenAPI documents, structural schemas with
//! CEL rules, name validators and watch framing.

pub mod cel;
pub mod discovery;
pub mod fields;
pub mod jsonpath;
pub mod labels;
pub mod negotiate;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod schema;
pub mod status;
pub mod table;
pub mod validation;
pub mod watch;

pub use status::{FieldError, StatusError};
