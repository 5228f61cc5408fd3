//! One served PackageRevision with its wire forms memoised: a list, a get and every watcher of
//! a change share one serialisation instead of each making its own.

use std::ops::Deref;
use std::sync::OnceLock;

use bytes::Bytes;
use porch_crds::porch::v1alpha1::PackageRevision;

/// A PackageRevision as served, immutable once built.
#[derive(Debug)]
pub struct ServedRevision {
    object: PackageRevision,
    json: OnceLock<Bytes>,
    table_row: OnceLock<Bytes>,
}

impl ServedRevision {
    pub fn new(object: PackageRevision) -> Self {
        Self {
            object,
            json: OnceLock::new(),
            table_row: OnceLock::new(),
        }
    }

    pub fn object(&self) -> &PackageRevision {
        &self.object
    }

    /// The object as JSON, serialised on first use.
    pub fn json(&self) -> &Bytes {
        self.json.get_or_init(|| {
            // Serialising a derived-Serialize struct into a Vec cannot fail.
            Bytes::from(serde_json::to_vec(&self.object).unwrap_or_default())
        })
    }

    /// A Table row of this object, built by `render` on first use. The caller always passes
    /// the same renderer (the PackageRevision columns with `includeObject=Metadata`).
    pub fn table_row(&self, render: impl FnOnce(&PackageRevision) -> Bytes) -> &Bytes {
        self.table_row.get_or_init(|| render(&self.object))
    }
}

impl Deref for ServedRevision {
    type Target = PackageRevision;

    fn deref(&self) -> &PackageRevision {
        &self.object
    }
}

impl PartialEq for ServedRevision {
    fn eq(&self, other: &Self) -> bool {
        self.object == other.object
    }
}
