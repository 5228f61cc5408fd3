//! The CustomResourceDefinitions of `config.porch.kpt.dev` and their YAML files.
//!
//! `crds/*.yaml` (one file per CRD, named `<group>_<plural>.yaml`) are generated from the
//! types by the `crdgen` binary (`just crds`, i.e.
//! `cargo run -p porch-crds --bin crdgen -- crds`); a test fails when they drift.

use std::path::{Path, PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::CustomResourceExt;

use crate::config::{v1alpha1, v1alpha2};

/// The header written at the top of every generated file.
pub const GENERATED_HEADER: &str =
    "# Generated from the porch-crds types by `just crds`. Do not edit.\n";

/// Failure to render or write the CRD files.
#[derive(Debug, thiserror::Error)]
pub enum CrdGenError {
    /// YAML serialization failed.
    #[error("serializing CRD {name} to YAML: {message}")]
    Yaml {
        /// The CRD name.
        name: String,
        /// The serializer's message.
        message: String,
    },
    /// Writing a file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Every CustomResourceDefinition the project installs, in a stable order.
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        v1alpha1::Repository::crd(),
        v1alpha1::PackageRev::crd(),
        v1alpha1::PackageVariant::crd(),
        package_variant_set_crd(),
        v1alpha1::FunctionConfig::crd(),
        v1alpha1::ServiceTemplate::crd(),
    ];
    for crd in &mut crds {
        add_type_and_object_meta(crd);
    }
    crds
}

/// Declares `apiVersion`, `kind` and `metadata` at the root of every version's schema, as
/// controller-gen does, so that `kubectl explain` lists them. (kube leaves them out; the
/// apiserver validates them either way.)
fn add_type_and_object_meta(crd: &mut CustomResourceDefinition) {
    let root_fields = [
        (
            "apiVersion",
            "string",
            "APIVersion defines the versioned schema of this representation of an object.",
        ),
        (
            "kind",
            "string",
            "Kind is a string value representing the REST resource this object represents.",
        ),
        ("metadata", "object", ""),
    ];
    for version in &mut crd.spec.versions {
        let Some(root) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let properties = root.properties.get_or_insert_with(Default::default);
        for (name, type_, description) in root_fields {
            properties
                .entry(name.to_string())
                .or_insert_with(|| JSONSchemaProps {
                    type_: Some(type_.to_string()),
                    description: (!description.is_empty()).then(|| description.to_string()),
                    ..Default::default()
                });
        }
    }
}

/// The PackageVariantSet CRD: v1alpha1 (neither served nor stored) and v1alpha2 (served and
/// stored), in that order, as upstream ships it.
fn package_variant_set_crd() -> CustomResourceDefinition {
    let mut crd = v1alpha2::PackageVariantSet::crd();
    let old = v1alpha1::package_variant_set::PackageVariantSet::crd();
    let mut versions = old.spec.versions;
    versions.append(&mut crd.spec.versions);
    crd.spec.versions = versions;
    crd
}

/// The file name of a CRD: `<group>_<plural>.yaml`.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// The YAML text of a CRD, with [`GENERATED_HEADER`].
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, CrdGenError> {
    let body = crate::plain_json::to_yaml_string(crd).map_err(|message| CrdGenError::Yaml {
        name: crd.metadata.name.clone().unwrap_or_default(),
        message,
    })?;
    Ok(format!("{GENERATED_HEADER}{body}"))
}

/// Every generated file: `(file name, YAML text)`.
pub fn rendered_files() -> Result<Vec<(String, String)>, CrdGenError> {
    all_crds()
        .iter()
        .map(|crd| Ok((crd_file_name(crd), crd_yaml(crd)?)))
        .collect()
}

/// Writes every generated file into `dir` (created if missing); returns the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, CrdGenError> {
    std::fs::create_dir_all(dir).map_err(|source| CrdGenError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for (name, text) in rendered_files()? {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| CrdGenError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}
