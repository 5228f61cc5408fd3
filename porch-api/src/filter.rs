//! Request selectors over served PackageRevisions: field selectors (porch-api.md §1.11, the
//! engine's parser) and label selectors (which see the computed latest label).

use porch_apimachinery::labels::LabelSelector;
use porch_crds::porch::v1alpha1::PackageRevision;
use porch_engine::model::{Lifecycle, split_package_name};
use porch_engine::selectors::{FieldFilter, FieldRequirement};
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
        self.fields
            .requirements
            .iter()
            .all(|req| field_matches(req, pr))
    }
}

/// One field requirement against the served object, with the engine's semantics (§1.11) but
/// without converting the object into the engine's model for every candidate of a list.
fn field_matches(req: &FieldRequirement, pr: &PackageRevision) -> bool {
    match req {
        FieldRequirement::Name(name) => pr.metadata.name.as_deref() == Some(name.as_str()),
        FieldRequirement::Namespace(ns) => {
            pr.metadata.namespace.as_deref().unwrap_or_default() == ns
        }
        FieldRequirement::Revision(rev) => pr.spec.revision == *rev,
        FieldRequirement::PackageName { path, package } => {
            let (pr_path, pr_pkg) = split_package_name(&pr.spec.package_name);
            pr_pkg == package && path.as_deref().is_none_or(|p| p == pr_path)
        }
        FieldRequirement::Repository(repo) => &pr.spec.repository == repo,
        FieldRequirement::Workspace(ws) => &pr.spec.workspace_name == ws,
        FieldRequirement::Lifecycle(l) => {
            let served = pr.spec.lifecycle.as_str();
            let served = if served.is_empty() { "Draft" } else { served };
            Lifecycle::parse(served) == Some(*l)
        }
        FieldRequirement::KptfileLabel { key, value } => pr
            .spec
            .package_metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref())
            .and_then(|l| l.get(key))
            .is_some_and(|v| v == value),
    }
}
