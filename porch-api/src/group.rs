//! `PorchApiGroup`: porch.kpt.dev/v1alpha1 as an [`AggregatedApiGroup`] of the API server.

use std::sync::Arc;

use porch_apimachinery::discovery::{ResourceDescriptor, SubresourceDescriptor};
use porch_apimachinery::openapi::ResourceSchema;
use porch_apiserver::aggregated::AggregatedApiGroup;
use porch_crds::openapi::porch_kind_schemas;
use porch_crds::porch::v1alpha1::{GROUP, VERSION};

use crate::cache::CrCache;
use crate::engine::PackageEngine;
use crate::http::{ApiOptions, AppState, Shared, router};

fn verbs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn descriptor(resource: &str, singular: &str, kind: &str, v: &[&str]) -> ResourceDescriptor {
    ResourceDescriptor {
        group: GROUP.into(),
        version: VERSION.into(),
        resource: resource.into(),
        singular: singular.into(),
        kind: kind.into(),
        namespaced: true,
        verbs: verbs(v),
        short_names: Vec::new(),
        categories: Vec::new(),
        subresources: Vec::new(),
    }
}

/// The served resources (porch-api.md §1.1), as discovery lists them.
pub fn resource_descriptors() -> Vec<ResourceDescriptor> {
    let mut prs = descriptor(
        "packagerevisions",
        "packagerevision",
        "PackageRevision",
        &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
    );
    prs.subresources.push(SubresourceDescriptor {
        name: "approval".into(),
        kind: "PackageRevision".into(),
        verbs: verbs(&["get", "patch", "update"]),
    });
    vec![
        prs,
        descriptor(
            "packagerevisionresources",
            "packagerevisionresources",
            "PackageRevisionResources",
            &["get", "list", "patch", "update"],
        ),
        descriptor(
            "packages",
            "package",
            "PorchPackage",
            &["create", "delete", "get", "list", "patch", "update"],
        ),
    ]
}

/// The OpenAPI schemas of the three kinds.
pub fn resource_schemas() -> Vec<ResourceSchema> {
    let kinds = porch_kind_schemas();
    resource_descriptors()
        .into_iter()
        .filter_map(|d| {
            let k = kinds.iter().find(|k| k.kind == d.kind)?;
            Some(ResourceSchema {
                descriptor: d,
                schema: k.schema.clone(),
            })
        })
        .collect()
}

/// porch.kpt.dev served by these handlers.
#[derive(Clone)]
pub struct PorchApiGroup {
    state: Shared,
}

impl PorchApiGroup {
    pub fn new(engine: Arc<dyn PackageEngine>, cache: CrCache, options: ApiOptions) -> Self {
        Self {
            state: Arc::new(AppState {
                engine,
                cache,
                options,
            }),
        }
    }

    pub fn cache(&self) -> &CrCache {
        &self.state.cache
    }
}

impl AggregatedApiGroup for PorchApiGroup {
    fn group(&self) -> String {
        GROUP.into()
    }

    fn versions(&self) -> Vec<String> {
        vec![VERSION.into()]
    }

    fn resources(&self) -> Vec<ResourceDescriptor> {
        resource_descriptors()
    }

    fn schemas(&self, version: &str) -> Vec<ResourceSchema> {
        if version == VERSION {
            resource_schemas()
        } else {
            Vec::new()
        }
    }

    fn router(&self) -> axum::Router {
        router(self.state.clone())
    }
}
