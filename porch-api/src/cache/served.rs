//! One served PackageRevision, shared by the index, lists, gets and every watcher of a change.
//!
//! Its wire forms are not kept: with 10,000 revisions cached they cost about 15 MB, while
//! serialising on each request keeps lists well inside their latency budget (see the
//! `standalone_api` bench).

use std::ops::Deref;

use bytes::Bytes;
use porch_crds::porch::v1alpha1::PackageRevision;

/// A PackageRevision as served, immutable once built.
#[derive(Debug, PartialEq)]
pub struct ServedRevision {
    object: PackageRevision,
}

impl ServedRevision {
    pub fn new(object: PackageRevision) -> Self {
        Self { object }
    }

    pub fn object(&self) -> &PackageRevision {
        &self.object
    }

    /// The object as JSON.
    pub fn json(&self) -> Bytes {
        let mut out = Vec::with_capacity(1024);
        self.write_json(&mut out);
        Bytes::from(out)
    }

    /// Appends the object as JSON to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Serialising a derived-Serialize struct into a Vec cannot fail.
        let _ = serde_json::to_writer(out, &self.object);
    }
}

impl Deref for ServedRevision {
    type Target = PackageRevision;

    fn deref(&self) -> &PackageRevision {
        &self.object
    }
}
