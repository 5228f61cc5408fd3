//! Clone (from a package and its git locator) and copy (edit).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::kptfile::{self, GitLock, KPTFILE};
use crate::package::Package;
use crate::yaml::{self, Node};

use super::{context, kptfile_node, merge_key, set_kptfile_field};

/// How to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloneOptions {
    /// New package name (`metadata.name`).
    pub name: String,
    /// The upstream's resolved locator (repo, directory, ref, commit).
    pub upstream: GitLock,
    /// `upstream.updateStrategy` (default `resource-merge`).
    pub update_strategy: String,
    /// Files already in the draft; kept unless the source has the same path.
    pub existing: BTreeMap<String, String>,
    /// The target repository is a deployment repository: generate the package context.
    pub deployment: bool,
    /// `package-path` for the generated package context.
    pub package_path: Option<String>,
}

/// Normalise a git locator like kpt: `.git` suffix on the repo, no leading `/` on
/// the directory.
pub fn normalize_lock(lock: &GitLock) -> GitLock {
    let mut l = lock.clone();
    if !l.repo.is_empty() && !l.repo.ends_with(".git") {
        l.repo.push_str(".git");
    }
    l.directory = l.directory.trim_start_matches('/').to_string();
    l
}

/// Clone `source` into a new package named `opts.name`.
pub fn clone(source: &Package, opts: &CloneOptions) -> Result<Package> {
    let mut files = source.files.clone();
    for (p, t) in &opts.existing {
        files.entry(p.clone()).or_insert_with(|| t.clone());
    }
    let mut kf = kptfile_node(&files, "")?.unwrap_or_else(|| {
        let mut n = Node::mapping();
        n.set("apiVersion", Node::string(kptfile::API_VERSION));
        n.set("kind", Node::string("Kptfile"));
        n.set("metadata", Node::mapping());
        n
    });
    update_upstream(&mut kf, &opts.name, &opts.upstream, &opts.update_strategy);
    files.insert(KPTFILE.to_string(), yaml::emit_node(&kf));
    let mut pkg = Package::new(files)?;
    if opts.deployment {
        pkg = context::package_context_files(&pkg, opts.package_path.as_deref())?;
    }
    Ok(add_merge_keys(&pkg))
}

/// Set `metadata.name`, `upstream` and `upstreamLock` on a Kptfile node.
pub fn update_upstream(kf: &mut Node, name: &str, lock: &GitLock, strategy: &str) {
    let lock = normalize_lock(lock);
    if let Some(meta) = kf.ensure_mapping(&["metadata"]) {
        meta.set("name", Node::string(name));
    }
    let upstream = kptfile::Upstream {
        origin_type: "git".to_string(),
        git: Some(kptfile::Git {
            repo: lock.repo.clone(),
            directory: lock.directory.clone(),
            r#ref: lock.r#ref.clone(),
        }),
        update_strategy: if strategy.is_empty() {
            "resource-merge".to_string()
        } else {
            strategy.to_string()
        },
    };
    let upstream_lock = kptfile::UpstreamLock {
        origin_type: "git".to_string(),
        git: Some(lock),
        generic: None,
    };
    let to_node = |v: serde_json::Value| yaml::from_json(&v);
    set_kptfile_field(
        kf,
        "upstream",
        to_node(serde_json::to_value(&upstream).unwrap_or_default()),
    );
    set_kptfile_field(
        kf,
        "upstreamLock",
        to_node(serde_json::to_value(&upstream_lock).unwrap_or_default()),
    );
}

/// Best-effort merge keys over every KRM file (errors leave the package unchanged).
pub fn add_merge_keys(pkg: &Package) -> Package {
    let Ok(read) = pkg.read() else {
        return pkg.clone();
    };
    let mut items = read.items;
    merge_key::ensure_merge_key(&mut items);
    pkg.write_owned(items).unwrap_or_else(|_| pkg.clone())
}

/// Copy (the `edit` task): the same files, verbatim.
pub fn copy(source: &Package) -> Result<Package> {
    Package::new(source.files.clone())
}
