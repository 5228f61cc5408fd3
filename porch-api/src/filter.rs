//! Request selectors over served PackageRevisions: field selectors (porch-api.md §1.11, the
//! engine's parser) and label selectors (which see the computed latest label).

use porch_apimachinery::labels::LabelSelector;
use porch_crds::porch::v1alpha1::PackageRevision;
use porch_engine::convert::package_revision_from_api;
use porch_engine::selectors::FieldFilter;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// The selectors of one list or watch request.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    fields: FieldFilter,
    labels: Option<LabelSelector>,
}

impl Selectors {
    /// Parses `fieldSelector` and `labelSelector`; `namespace` is the request namespace.
    pub fn parse(field: Option<&str>, label: Option<&str>, namespace: &str) -> ApiResult<Self> {
        let fields = match field {
            Some(f) if !f.trim().is_empty() => FieldFilter::parse(f, namespace)?,
            _ => FieldFilter::default(),
        };
        let labels = match label {
            Some(l) if !l.trim().is_empty() => {
                Some(LabelSelector::parse(l).map_err(|e| ApiError::bad_request(e.0))?)
            }
            _ => None,
        };
        Ok(Self { fields, labels })
    }

    /// The repository the field selector pins, if any.
    pub fn repository(&self) -> Option<&str> {
        self.fields.repository()
    }

    pub fn matches(&self, pr: &PackageRevision) -> bool {
        if let Some(sel) = &self.labels {
            let labels: Map<String, Value> = pr
                .metadata
                .labels
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            if !sel.matches(&labels) {
                return false;
            }
        }
        self.fields.requirements.is_empty() || self.fields.matches(&package_revision_from_api(pr))
    }
}
