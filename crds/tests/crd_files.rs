#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The committed `crds/*.yaml` files must match the types. On failure run `just crds`
//! (`cargo run -p porch-crds --bin crdgen -- crds`) and commit the result.

use std::collections::BTreeSet;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use porch_crds::crdgen::{GENERATED_HEADER, rendered_files};

/// Read at run time: a test binary reused from a build in another checkout must not look there.
fn crate_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
}

#[test]
fn committed_crd_yaml_matches_the_types() {
    let mut stale = Vec::new();
    for (name, expected) in rendered_files().unwrap() {
        let path = crate_dir().join(&name);
        match std::fs::read_to_string(&path) {
            Ok(actual) if actual == expected => {}
            Ok(_) => stale.push(format!("{name} differs")),
            Err(err) => stale.push(format!("{name} unreadable: {err}")),
        }
    }
    assert!(
        stale.is_empty(),
        "CRD YAML out of date ({}); run `just crds` (cargo run -p porch-crds --bin crdgen -- crds)",
        stale.join(", ")
    );
}

#[test]
fn no_stray_generated_files() {
    let expected: BTreeSet<String> = rendered_files()
        .unwrap()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for entry in std::fs::read_dir(crate_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") {
            let text = std::fs::read_to_string(crate_dir().join(&name)).unwrap();
            if text.starts_with(GENERATED_HEADER) {
                assert!(
                    expected.contains(&name),
                    "{name} is generated but no type produces it any more; delete it"
                );
            }
        }
    }
}

#[test]
fn committed_yaml_decodes_into_apiextensions_types() {
    for (name, text) in rendered_files().unwrap() {
        let crd: CustomResourceDefinition = serde_saphyr::from_str(&text)
            .unwrap_or_else(|err| panic!("{name} does not decode: {err}"));
        let again = porch_crds::crdgen::crd_yaml(&crd).unwrap();
        assert_eq!(
            again, text,
            "{name} does not survive a decode/encode round trip"
        );
    }
}
