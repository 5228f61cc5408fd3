//! The `builtins/gen-pkg-context` function: `package-context.yaml`, ConfigMap
//! `kptfile.kpt.dev`.

use crate::error::Result;
use crate::path;
use crate::resource::{self, PATH};
use crate::results::{File, ResultItem};
use crate::yaml::{self, Node};

/// File name of the package context.
pub const PACKAGE_CONTEXT_FILE: &str = "package-context.yaml";
/// Name of the package-context ConfigMap.
pub const PACKAGE_CONTEXT_NAME: &str = "kptfile.kpt.dev";
/// Data key for the package path.
pub const PACKAGE_PATH_KEY: &str = "package-path";

/// The placeholder package context `kpt pkg init` writes.
pub fn abstract_package_context() -> String {
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ndata:\n  name: example\n".to_string()
}

fn is_context(n: &Node) -> bool {
    n.str_at(&["apiVersion"]) == Some("v1")
        && n.str_at(&["kind"]) == Some("ConfigMap")
        && n.str_at(&["metadata", "name"]) == Some(PACKAGE_CONTEXT_NAME)
}

/// Run the generator over resources (as read from a package): drop every existing
/// package-context ConfigMap and add one next to the root Kptfile (path annotation
/// exactly `Kptfile`), with `data.name` and, when given, `data.package-path`.
pub fn package_context(
    items: Vec<Node>,
    package_path: Option<&str>,
) -> Result<(Vec<Node>, Vec<ResultItem>)> {
    let mut out = Vec::with_capacity(items.len() + 1);
    let mut generated = Vec::new();
    for item in items {
        if is_context(&item) {
            continue;
        }
        let is_root_kptfile = item.str_at(&["apiVersion"]) == Some(crate::kptfile::API_VERSION)
            && item.str_at(&["kind"]) == Some("Kptfile")
            && resource::path_index(&item).0.as_deref() == Some(crate::kptfile::KPTFILE);
        if is_root_kptfile {
            let kpath = resource::path_index(&item).0.unwrap_or_default();
            let cm_path = path::join(path::parent(&kpath), PACKAGE_CONTEXT_FILE);
            let doc = yaml::parse_document(&abstract_package_context())
                .map_err(|e| crate::KptError::yaml(PACKAGE_CONTEXT_FILE, e))?;
            let mut cm = doc.root.unwrap_or_else(Node::mapping);
            resource::set_annotation(&mut cm, PATH, &cm_path);
            resource::set_annotation(&mut cm, resource::LEGACY_PATH, &cm_path);
            let mut data = Node::mapping();
            data.set(
                "name",
                Node::string(item.str_at(&["metadata", "name"]).unwrap_or("")),
            );
            if let Some(pp) = package_path.filter(|p| !p.is_empty()) {
                data.set(PACKAGE_PATH_KEY, Node::string(pp));
            }
            cm.set("data", data);
            generated.push((cm, cm_path));
        }
        out.push(item);
    }
    let mut results = Vec::new();
    for (cm, p) in generated {
        out.push(cm);
        results.push(ResultItem {
            message: "generated package context".to_string(),
            severity: "info".to_string(),
            file: Some(File { path: p, index: 0 }),
            ..ResultItem::default()
        });
    }
    Ok((out, results))
}

/// The package context over a whole package map.
pub fn package_context_files(
    pkg: &crate::Package,
    package_path: Option<&str>,
) -> Result<crate::Package> {
    let read = pkg.read()?;
    let (items, _) = package_context(read.items, package_path)?;
    pkg.write_owned(items)
}
