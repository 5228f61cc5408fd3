//! `kpt fn render`: run the Kptfile pipelines of a package and its subpackages.

pub mod select;
mod step;

use std::collections::{BTreeMap, HashMap};

use crate::error::{KptError, Result};
use crate::fn_eval::Evaluator;
use crate::kptfile::{self, Condition, KPTFILE, Kptfile, PipelineStepResult, RenderStatus};
use crate::package::Package;
use crate::path;
use crate::resource::{self, BLUEPRINT, PACKAGE_PATH, PATH};
use crate::results::FunctionResultList;
use crate::yaml::{self, Node};

pub use step::resolve_image;

/// Default image prefix for images named without a registry.
pub const DEFAULT_IMAGE_PREFIX: &str = "ghcr.io/kptdev/krm-functions-catalog";

/// Render settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Prefix for images without a `/` (kpt `--image-prefix`).
    pub image_prefix: String,
    /// Allow `exec:` functions (Porch never does).
    pub allow_exec: bool,
    /// Skip the `cnrm.cloud.google.com/blueprint` attribution.
    pub disable_attribution: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            image_prefix: DEFAULT_IMAGE_PREFIX.to_string(),
            allow_exec: false,
            disable_attribution: false,
        }
    }
}

/// What a render produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOutcome {
    /// The package after render: rendered on success; on failure the input with only
    /// the root Kptfile status changed (or partial output with
    /// `kpt.dev/save-on-render-failure: "true"`).
    pub package: Package,
    /// All function results, in execution order.
    pub results: FunctionResultList,
    /// The render error, if it failed.
    pub error: Option<String>,
}

/// Per-step records for `status.renderStatus`.
#[derive(Debug, Default)]
pub(crate) struct Records {
    pub results: FunctionResultList,
    pub mutation_steps: Vec<PipelineStepResult>,
    pub validation_steps: Vec<PipelineStepResult>,
    pub error_summary: String,
}

/// A failed pipeline: the error and the resources as far as render got.
pub(crate) struct Failure {
    pub error: String,
    pub partial: Vec<Node>,
}

/// Render `pkg` (files relative to the map's top; the package root is the shallowest
/// directory holding a Kptfile — without one nothing happens).
pub async fn render(
    pkg: &Package,
    evaluator: &dyn Evaluator,
    opts: &RenderOptions,
) -> RenderOutcome {
    let Some(root) = pkg.root_dir() else {
        return RenderOutcome {
            package: pkg.clone(),
            results: FunctionResultList::default(),
            error: None,
        };
    };
    if root.is_empty() {
        return render_root(pkg, evaluator, opts).await;
    }
    // files outside the root package are not part of the render
    let inner: BTreeMap<String, String> = pkg
        .files
        .iter()
        .filter_map(|(p, t)| path::strip_dir(p, &root).map(|r| (r.to_string(), t.clone())))
        .collect();
    let mut out = render_root(&Package { files: inner }, evaluator, opts).await;
    let mut files: BTreeMap<String, String> = pkg
        .files
        .iter()
        .filter(|(p, _)| path::strip_dir(p, &root).is_none())
        .map(|(p, t)| (p.clone(), t.clone()))
        .collect();
    files.extend(
        out.package
            .files
            .into_iter()
            .map(|(p, t)| (path::join(&root, &p), t)),
    );
    out.package = Package { files };
    out
}

fn package_path(dir: &str) -> String {
    format!("/{dir}")
}

fn dir_of_package_path(pp: &str) -> &str {
    pp.trim_start_matches('/')
}

async fn render_root(
    pkg: &Package,
    evaluator: &dyn Evaluator,
    opts: &RenderOptions,
) -> RenderOutcome {
    let mut rec = Records::default();
    let root_kf = match pkg.files.get(KPTFILE).map(|t| Kptfile::parse(KPTFILE, t)) {
        Some(Ok(k)) => k,
        Some(Err(e)) => return fail_early(pkg, e.to_string()),
        None => return fail_early(pkg, "no Kptfile at the package root".to_string()),
    };
    let bfs = root_kf.annotation_true(kptfile::BFS_RENDERING);
    let result = if bfs {
        hydrate_bfs(pkg, evaluator, opts, &mut rec).await
    } else {
        hydrate_dfs(pkg, evaluator, opts, &mut rec).await
    };
    match result {
        Ok(items) => match finish_success(pkg, items, opts) {
            Ok(package) => {
                let package = write_status(package, &rec, None);
                RenderOutcome {
                    package,
                    results: rec.results,
                    error: None,
                }
            }
            Err(e) => {
                let msg = e.to_string();
                rec.results.exit_code = 1;
                let package = write_status(pkg.clone(), &rec, Some(&msg));
                RenderOutcome {
                    package,
                    results: rec.results,
                    error: Some(msg),
                }
            }
        },
        Err(f) => {
            rec.results.exit_code = 1;
            let base = if root_kf.annotation_true(kptfile::SAVE_ON_RENDER_FAILURE) {
                write_partial(pkg, f.partial).unwrap_or_else(|_| pkg.clone())
            } else {
                pkg.clone()
            };
            let package = write_status(base, &rec, Some(&f.error));
            RenderOutcome {
                package,
                results: rec.results,
                error: Some(f.error),
            }
        }
    }
}

fn fail_early(pkg: &Package, error: String) -> RenderOutcome {
    let results = FunctionResultList {
        exit_code: 1,
        ..FunctionResultList::default()
    };
    RenderOutcome {
        package: pkg.clone(),
        results,
        error: Some(error),
    }
}

/// Resources of one package with their package-path annotation.
fn local_resources(pkg: &Package, dir: &str) -> Result<Vec<Node>> {
    let mut items = pkg.read_local(dir)?;
    let pp = package_path(dir);
    for n in &mut items {
        resource::set_annotation(n, PACKAGE_PATH, &pp);
    }
    Ok(items)
}

fn post_order(pkg: &Package, dir: &str, out: &mut Vec<String>) {
    for sub in pkg.direct_subpackages(dir) {
        post_order(pkg, &sub, out);
    }
    out.push(dir.to_string());
}

async fn hydrate_dfs(
    pkg: &Package,
    evaluator: &dyn Evaluator,
    opts: &RenderOptions,
    rec: &mut Records,
) -> std::result::Result<Vec<Node>, Failure> {
    let mut order = Vec::new();
    post_order(pkg, "", &mut order);
    let mut rendered: HashMap<String, Vec<Node>> = HashMap::new();
    for dir in &order {
        let mut input = local_resources(pkg, dir).map_err(|e| Failure {
            error: e.to_string(),
            partial: collect_partial(&rendered, Vec::new()),
        })?;
        for sub in pkg.direct_subpackages(dir) {
            input.extend(rendered.remove(&sub).unwrap_or_default());
        }
        let kf = parse_kptfile(pkg, dir).map_err(|e| Failure {
            error: e.to_string(),
            partial: collect_partial(&rendered, input.clone()),
        })?;
        match step::run_pipeline(&kf, dir, input, evaluator, opts, rec).await {
            Ok(out) => {
                rendered.insert(dir.clone(), out);
            }
            Err(f) => {
                return Err(Failure {
                    error: f.error,
                    partial: collect_partial(&rendered, f.partial),
                });
            }
        }
    }
    Ok(rendered.remove("").unwrap_or_default())
}

fn collect_partial(rendered: &HashMap<String, Vec<Node>>, current: Vec<Node>) -> Vec<Node> {
    let mut out = current;
    let mut keys: Vec<&String> = rendered.keys().collect();
    keys.sort();
    for k in keys {
        out.extend(rendered[k].iter().cloned());
    }
    out
}

async fn hydrate_bfs(
    pkg: &Package,
    evaluator: &dyn Evaluator,
    opts: &RenderOptions,
    rec: &mut Records,
) -> std::result::Result<Vec<Node>, Failure> {
    // discover breadth-first
    let mut order = vec![String::new()];
    let mut i = 0;
    while i < order.len() {
        let subs = pkg.direct_subpackages(&order[i]);
        order.extend(subs);
        i += 1;
    }
    let mut state: BTreeMap<String, Vec<Node>> = BTreeMap::new();
    for dir in &order {
        let items = local_resources(pkg, dir).map_err(|e| Failure {
            error: e.to_string(),
            partial: Vec::new(),
        })?;
        state.insert(dir.clone(), items);
    }
    let all = |state: &BTreeMap<String, Vec<Node>>| {
        order
            .iter()
            .flat_map(|d| state[d].iter().cloned())
            .collect::<Vec<_>>()
    };
    for dir in &order {
        let mut input = Vec::new();
        for d in &order {
            if d == dir || path::strip_dir(d, dir).is_some() {
                input.extend(state[d].iter().cloned());
            }
        }
        let kf = parse_kptfile(pkg, dir).map_err(|e| Failure {
            error: e.to_string(),
            partial: all(&state),
        })?;
        let output = match step::run_pipeline(&kf, dir, input, evaluator, opts, rec).await {
            Ok(o) => o,
            Err(f) => {
                return Err(Failure {
                    error: f.error,
                    partial: all(&state),
                });
            }
        };
        // redistribute by package-path
        for d in &order {
            if (d == dir || path::strip_dir(d, dir).is_some())
                && let Some(v) = state.get_mut(d)
            {
                v.clear();
            }
        }
        for n in output {
            let owner = resource::annotation(&n, PACKAGE_PATH)
                .map(|pp| dir_of_package_path(pp).to_string())
                .filter(|d| state.contains_key(d))
                .unwrap_or_else(|| dir.clone());
            if let Some(v) = state.get_mut(&owner) {
                v.push(n);
            }
        }
    }
    Ok(all(&state))
}

fn parse_kptfile(pkg: &Package, dir: &str) -> Result<Kptfile> {
    let p = path::join(dir, KPTFILE);
    let text = pkg
        .files
        .get(&p)
        .ok_or_else(|| KptError::Operation(format!("{p}: missing Kptfile")))?;
    Kptfile::parse(&p, text)
}

/// Re-base paths to the root, add attribution, write everything (pruning emptied files).
fn finish_success(pkg: &Package, mut items: Vec<Node>, opts: &RenderOptions) -> Result<Package> {
    for n in &mut items {
        rebase(n)?;
        if !opts.disable_attribution {
            attribute(n);
        }
    }
    pkg.write_owned(items)
}

fn rebase(n: &mut Node) -> Result<()> {
    let pp = resource::annotation(n, PACKAGE_PATH)
        .unwrap_or("/")
        .to_string();
    let (p, _) = resource::path_index(n);
    if let Some(p) = p {
        let full = path::clean(&path::join(dir_of_package_path(&pp), &path::clean(&p)?))?;
        resource::set_annotation(n, PATH, &full);
        resource::set_annotation(n, resource::LEGACY_PATH, &full);
    } else {
        let dir = dir_of_package_path(&pp).to_string();
        let full = path::join(&dir, &crate::package::default_path(n));
        resource::set_annotation(n, PATH, &full);
        resource::set_annotation(n, resource::LEGACY_PATH, &full);
    }
    Ok(())
}

/// kpt's attribution: `cnrm.cloud.google.com/blueprint` gains `kpt-fn` on `*.cnrm.*`.
pub fn attribute(n: &mut Node) {
    let api = n.str_at(&["apiVersion"]).unwrap_or("");
    if !api.contains(".cnrm.") || n.get("metadata").is_none_or(Node::is_null) {
        return;
    }
    let cur = resource::annotation(n, BLUEPRINT).unwrap_or("").to_string();
    let v = record_action(&cur, "fn");
    resource::set_annotation(n, BLUEPRINT, &v);
}

/// Add `kpt-<group>` to an attribution value.
pub fn record_action(cur: &str, group: &str) -> String {
    if cur.is_empty() {
        return format!("kpt-{group}");
    }
    if !cur.contains("kpt-") {
        return format!("{cur},kpt-{group}");
    }
    cur.split(',')
        .map(|part| {
            if !part.contains("kpt") {
                return part.to_string();
            }
            let mut p = vec!["kpt"];
            for g in ["pkg", "fn", "live"] {
                if part.contains(g) || group == g {
                    p.push(g);
                }
            }
            p.join("-")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `kpt.dev/save-on-render-failure`: write what exists, no pruning.
fn write_partial(pkg: &Package, mut items: Vec<Node>) -> Result<Package> {
    for n in &mut items {
        rebase(n)?;
    }
    let written = pkg.write_owned(items)?;
    let mut files = pkg.files.clone();
    for (p, t) in written.files {
        files.insert(p, t);
    }
    Ok(Package { files })
}

/// Set the root Kptfile's `Rendered` condition (and render status).
fn write_status(mut pkg: Package, rec: &Records, error: Option<&str>) -> Package {
    let Some(text) = pkg.files.get(KPTFILE) else {
        return pkg;
    };
    let Ok(doc) = yaml::parse_document(text) else {
        return pkg;
    };
    let Some(mut root) = doc.root else { return pkg };
    let condition = match error {
        None => Condition {
            condition_type: kptfile::RENDERED.to_string(),
            status: "True".to_string(),
            reason: "RenderSuccess".to_string(),
            message: String::new(),
        },
        Some(e) => Condition {
            condition_type: kptfile::RENDERED.to_string(),
            status: "False".to_string(),
            reason: "RenderFailed".to_string(),
            message: e.to_string(),
        },
    };
    let rs = RenderStatus {
        mutation_steps: rec.mutation_steps.clone(),
        validation_steps: rec.validation_steps.clone(),
        error_summary: rec.error_summary.clone(),
    };
    let has_rs = !rs.mutation_steps.is_empty()
        || !rs.validation_steps.is_empty()
        || !rs.error_summary.is_empty();
    kptfile::set_render_status(&mut root, &condition, has_rs.then_some(&rs));
    pkg.files
        .insert(KPTFILE.to_string(), yaml::emit_node(&root));
    pkg
}
