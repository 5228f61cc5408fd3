//! Package operations: init, clone, copy, upgrade, package context, merge keys.

pub mod clone;
pub mod context;
pub mod init;
pub mod merge_key;
pub mod upgrade;

pub use clone::{CloneOptions, clone, copy};
pub use context::{PACKAGE_CONTEXT_FILE, PACKAGE_CONTEXT_NAME, package_context};
pub use init::{InitOptions, init};
pub use merge_key::ensure_merge_key;
pub use upgrade::{UpdateStrategy, upgrade};

use crate::error::{KptError, Result};
use crate::kptfile::KPTFILE;
use crate::path;
use crate::yaml::{self, Node};

/// Kptfile top-level field order (kpt's typed struct order).
const KPTFILE_ORDER: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "upstream",
    "upstreamLock",
    "info",
    "pipeline",
    "inventory",
    "status",
];

/// Set a top-level Kptfile field, inserting a new one at its typed position.
pub(crate) fn set_kptfile_field(root: &mut Node, key: &str, value: Node) {
    let Some(m) = root.as_mapping_mut() else {
        return;
    };
    if m.get(key).is_some() {
        m.set(key, value);
        return;
    }
    let rank = |k: &str| {
        KPTFILE_ORDER
            .iter()
            .position(|o| *o == k)
            .unwrap_or(usize::MAX)
    };
    let my = rank(key);
    let at = m
        .entries
        .iter()
        .position(|e| e.key.as_str().is_some_and(|k| rank(k) > my))
        .unwrap_or(m.entries.len());
    m.entries.insert(
        at,
        yaml::Entry {
            key: Node::string(key),
            value,
        },
    );
}

/// Parse the Kptfile at `dir` of a package as a node tree.
pub(crate) fn kptfile_node(
    files: &std::collections::BTreeMap<String, String>,
    dir: &str,
) -> Result<Option<Node>> {
    let p = path::join(dir, KPTFILE);
    let Some(text) = files.get(&p) else {
        return Ok(None);
    };
    let doc = yaml::parse_document(text).map_err(|e| KptError::yaml(&p, e))?;
    Ok(doc.root)
}
