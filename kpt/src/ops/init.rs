//! `kpt pkg init`: Kptfile, README.md and package-context.yaml.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::kptfile::{self, KPTFILE, Kptfile, ObjectMeta, PackageInfo};
use crate::package::Package;
use crate::path;
use crate::resource::LOCAL_CONFIG;

use super::context::{PACKAGE_CONTEXT_FILE, abstract_package_context};

/// What to initialise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitOptions {
    /// Package name (`metadata.name`).
    pub name: String,
    /// Sub-directory to initialise ("" for the top).
    pub dir: String,
    /// `info.description`.
    pub description: String,
    /// `info.keywords`.
    pub keywords: Vec<String>,
    /// `info.site`.
    pub site: String,
}

/// Add the files `kpt pkg init` writes to `existing` (files already present are kept).
pub fn init(existing: &Package, opts: &InitOptions) -> Result<Package> {
    if !opts.dir.is_empty() {
        path::validate(&opts.dir)?;
    }
    let mut files: BTreeMap<String, String> = existing.files.clone();
    let kf_path = path::join(&opts.dir, KPTFILE);
    if let std::collections::btree_map::Entry::Vacant(slot) = files.entry(kf_path) {
        let mut annotations = BTreeMap::new();
        annotations.insert(LOCAL_CONFIG.to_string(), "true".to_string());
        let kf = Kptfile {
            api_version: kptfile::API_VERSION.to_string(),
            kind: "Kptfile".to_string(),
            metadata: ObjectMeta {
                name: opts.name.clone(),
                annotations,
                ..ObjectMeta::default()
            },
            info: Some(PackageInfo {
                site: opts.site.clone(),
                description: opts.description.clone(),
                keywords: opts.keywords.clone(),
                ..PackageInfo::default()
            }),
            ..Kptfile::default()
        };
        slot.insert(kf.to_yaml());
    }
    let readme = path::join(&opts.dir, "README.md");
    files
        .entry(readme)
        .or_insert_with(|| readme_text(&opts.name, &opts.description));
    let ctx = path::join(&opts.dir, PACKAGE_CONTEXT_FILE);
    files.entry(ctx).or_insert_with(abstract_package_context);
    Package::new(files)
}

/// The generated README.md (kpt's man template).
pub fn readme_text(name: &str, description: &str) -> String {
    let name = html_escape(name);
    let description = html_escape(description);
    format!(
        "# {name}\n\n## Description\n{description}\n\n## Usage\n\n### Fetch the package\n\
`kpt pkg get REPO_URI[.git]/PKG_PATH[@VERSION] {name}`\n\
Details: https://kpt.dev/reference/cli/pkg/get/\n\n### View package content\n\
`kpt pkg tree {name}`\nDetails: https://kpt.dev/reference/cli/pkg/tree/\n\n### Apply the package\n\
```\nkpt live init {name}\nkpt live apply {name} --reconcile-timeout=2m --output=table\n```\n\
Details: https://kpt.dev/reference/cli/live/\n"
    )
}

/// Go's html/template escaping of text (what the README template applies).
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            // kpt turns ' into ` after templating, so an escaped quote stays an entity
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
