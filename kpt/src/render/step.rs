//! One package's pipeline: mutators then validators, each through the Evaluator.

use std::collections::{HashMap, HashSet};

use super::select;
use super::{Failure, Records, RenderOptions, package_path};
use crate::fn_eval::{EvalOutput, Evaluator, FunctionRef};
use crate::kptfile::{Function, Kptfile, PipelineStepResult};
use crate::path;
use crate::resource::{
    self, ID, INDEX, LEGACY_ID, LEGACY_INDEX, LEGACY_PATH, PACKAGE_PATH, PATH, ResourceList,
};
use crate::results::FunctionResult;
use crate::yaml::{self, Node};

/// Resolve an image like kpt: a bare name gets the prefix, no tag gets the
/// function's `tag` (when given) or `latest`.
pub fn resolve_image(image: &str, tag: &str, prefix: &str) -> String {
    let mut img = if image.contains('/') || prefix.is_empty() {
        image.to_string()
    } else {
        format!("{}/{image}", prefix.trim_end_matches('/'))
    };
    let last = img.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && !img.contains('@') {
        img.push(':');
        img.push_str(if tag.is_empty() { "latest" } else { tag });
    }
    img
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Mutator,
    Validator,
}

/// Run the pipeline of the package at `dir` over `input`.
pub(crate) async fn run_pipeline(
    kf: &Kptfile,
    dir: &str,
    mut input: Vec<Node>,
    evaluator: &dyn Evaluator,
    opts: &RenderOptions,
    rec: &mut Records,
) -> Result<Vec<Node>, Failure> {
    let pp = package_path(dir);
    let fail = |error: String, partial: Vec<Node>| Failure { error, partial };
    for n in &input {
        if let Some(reason) = resource::not_krm_reason(n) {
            let (p, _) = resource::path_index(n);
            return Err(fail(
                format!(
                    "pkg {pp}: input resource list must contain only KRM resources: {} ({reason})",
                    p.unwrap_or_default()
                ),
                input,
            ));
        }
    }
    let Some(pipeline) = kf.pipeline.clone().filter(|p| !p.is_empty()) else {
        return Ok(input);
    };
    // every configPath must name a resource of this package
    for f in pipeline.mutators.iter().chain(&pipeline.validators) {
        if !f.config_path.is_empty() && config_from_path(&input, &pp, &f.config_path).is_none() {
            let msg = format!(
                "pkg {pp}: missing function config {:?} for function {:?}",
                f.config_path,
                f.display()
            );
            rec.error_summary
                .push_str(&format!("{}: {msg}\n", step_name(f)));
            return Err(fail(msg, input));
        }
    }
    for f in &pipeline.mutators {
        match run_step(f, Phase::Mutator, &pp, &mut input, evaluator, opts, rec).await {
            Ok(()) => {}
            Err(msg) => {
                for n in &mut input {
                    resource::remove_annotation(n, resource::KPT_RESOURCE_ID);
                    resource::remove_annotation(n, ID);
                    resource::remove_annotation(n, LEGACY_ID);
                }
                return Err(fail(msg, input));
            }
        }
    }
    for f in &pipeline.validators {
        if let Err(msg) = run_step(f, Phase::Validator, &pp, &mut input, evaluator, opts, rec).await
        {
            return Err(fail(msg, input));
        }
    }
    Ok(input)
}

fn step_name(f: &Function) -> String {
    if f.name.is_empty() {
        f.display().to_string()
    } else {
        f.name.clone()
    }
}

/// The current in-memory resource at `config_path` of package `pp`.
fn config_from_path(items: &[Node], pp: &str, config_path: &str) -> Option<Node> {
    let want = path::clean(config_path).ok()?;
    items
        .iter()
        .find(|n| {
            resource::annotation(n, PACKAGE_PATH) == Some(pp)
                && resource::path_index(n)
                    .0
                    .and_then(|p| path::clean(&p).ok())
                    .as_deref()
                    == Some(want.as_str())
        })
        .cloned()
}

/// `configMap:` → ConfigMap `function-input` with string values.
fn config_from_map(map: &std::collections::BTreeMap<String, String>) -> Node {
    let mut cm = Node::mapping();
    cm.set("apiVersion", Node::string("v1"));
    cm.set("kind", Node::string("ConfigMap"));
    let mut meta = Node::mapping();
    meta.set("name", Node::string("function-input"));
    cm.set("metadata", meta);
    let mut data = Node::mapping();
    for (k, v) in map {
        data.set(k, Node::string(v.clone()));
    }
    cm.set("data", data);
    cm
}

/// Run one function: a mutator replaces `input` with its output, a validator leaves
/// it as it was. On failure `input` holds the resources as they were before the step.
async fn run_step(
    f: &Function,
    phase: Phase,
    pp: &str,
    input: &mut Vec<Node>,
    evaluator: &dyn Evaluator,
    opts: &RenderOptions,
    rec: &mut Records,
) -> Result<(), String> {
    let mut record = PipelineStepResult {
        name: f.name.clone(),
        image: f.image.clone(),
        exec: f.exec.clone(),
        ..PipelineStepResult::default()
    };
    let name = step_name(f);
    let function = if !f.image.is_empty() {
        FunctionRef::Image(resolve_image(&f.image, &f.tag, &opts.image_prefix))
    } else {
        FunctionRef::Exec(f.exec.clone())
    };
    let mut fn_result = FunctionResult {
        image: if f.image.is_empty() {
            String::new()
        } else {
            function.name().to_string()
        },
        exec_path: f.exec.clone(),
        ..FunctionResult::default()
    };
    let step_fail = |rec: &mut Records,
                     mut record: PipelineStepResult,
                     fn_result: FunctionResult,
                     msg: String| {
        rec.error_summary
            .push_str(&format!("{name}: {}\n", record_error(&record, &msg)));
        record.error_results = record
            .results
            .iter()
            .filter(|r| r.is_error())
            .cloned()
            .collect();
        push_record(rec, phase, record);
        rec.results.items.push(fn_result);
        Err(msg)
    };
    if matches!(function, FunctionRef::Exec(_)) && !opts.allow_exec {
        let msg = format!("pkg {pp}: exec function {:?} is not allowed", f.exec);
        record.exit_code = 1;
        record.execution_error = msg.clone();
        fn_result.exit_code = 1;
        fn_result.stderr = msg.clone();
        return step_fail(rec, record, fn_result, msg);
    }

    // function config
    let function_config = if !f.config_map.is_empty() {
        Some(config_from_map(&f.config_map))
    } else if !f.config_path.is_empty() {
        config_from_path(input, pp, &f.config_path)
    } else {
        None
    };

    // selection: with selectors the selected resources are copies (merged back
    // later); without, every resource is sent and the ids are stamped in place
    let with_selectors =
        f.selectors.iter().any(|s| !s.is_empty()) || f.exclude.iter().any(|s| !s.is_empty());
    let mut all: Vec<Node> = Vec::new();
    let selected_idx: Vec<usize>;
    let wire = if with_selectors {
        all = input.clone();
        select::stamp_ids(&mut all);
        selected_idx = select::select(&all, &f.selectors, &f.exclude);
        let mut selected: Vec<Node> = selected_idx.iter().map(|&i| all[i].clone()).collect();
        stamp_call_ids(selected.iter_mut());
        resource::resource_list_yaml(&selected, function_config.as_ref(), &[])
    } else {
        selected_idx = (0..input.len()).collect();
        stamp_call_ids(input.iter_mut());
        let wire = resource::resource_list_yaml(input.iter(), function_config.as_ref(), &[]);
        for n in input.iter_mut() {
            resource::remove_annotation(n, ID);
            resource::remove_annotation(n, LEGACY_ID);
        }
        wire
    };
    drop(function_config);
    let out: EvalOutput = match evaluator.evaluate(&function, wire.as_bytes()).await {
        Ok(o) => o,
        Err(e) => {
            let msg = format!("pkg {pp}: function {:?}: {e}", function.name());
            record.exit_code = 1;
            record.execution_error = e.to_string();
            fn_result.exit_code = 1;
            fn_result.stderr = e.to_string();
            return step_fail(rec, record, fn_result, msg);
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    fn_result.stderr.clone_from(&stderr);
    fn_result.exit_code = out.exit_code;
    record.stderr = stderr.clone();
    record.exit_code = out.exit_code;
    let text = String::from_utf8_lossy(&out.resource_list);
    let parsed = ResourceList::from_yaml(&text);
    if let Ok(rl) = &parsed {
        fn_result.results = rl.results.clone();
        record.results = rl.results.clone();
    }
    if out.exit_code != 0 {
        let mut msg = format!(
            "pkg {pp}: function {:?} failed with exit code {}",
            function.name(),
            out.exit_code
        );
        let detail = stderr.trim();
        if !detail.is_empty() {
            msg.push_str(": ");
            msg.push_str(detail);
        }
        return step_fail(rec, record, fn_result, msg);
    }
    let rl = match parsed {
        Ok(rl) => rl,
        Err(e) => {
            let msg = format!(
                "pkg {pp}: function {:?} returned an invalid ResourceList: {e}",
                function.name()
            );
            record.exit_code = 1;
            fn_result.exit_code = 1;
            return step_fail(rec, record, fn_result, msg);
        }
    };
    if phase == Phase::Validator {
        record.error_results = record
            .results
            .iter()
            .filter(|r| r.is_error())
            .cloned()
            .collect();
        push_record(rec, phase, record);
        rec.results.items.push(fn_result);
        return Ok(());
    }
    // ids for comment/order copy-back: id → the resource before the call
    let originals: HashMap<String, &Node> = selected_idx
        .iter()
        .enumerate()
        .map(|(i, &at)| ((i + 1).to_string(), &input[at]))
        .collect();
    let config_dir = if f.config_path.is_empty() {
        String::new()
    } else {
        path::parent(&f.config_path).to_string()
    };
    let output = match post_process(rl.items, &originals, pp, &config_dir) {
        Ok(o) => o,
        Err(e) => {
            let msg = format!("pkg {pp}: function {:?}: {e}", function.name());
            record.exit_code = 1;
            fn_result.exit_code = 1;
            return step_fail(rec, record, fn_result, msg);
        }
    };
    record.error_results = record
        .results
        .iter()
        .filter(|r| r.is_error())
        .cloned()
        .collect();
    push_record(rec, phase, record);
    rec.results.items.push(fn_result);
    *input = if with_selectors {
        select::merge_back(all, &selected_idx, output)
    } else {
        output
    };
    Ok(())
}

/// The `internal.config.kubernetes.io/id` (and legacy) of each resource sent: 1, 2, …
fn stamp_call_ids<'a>(items: impl Iterator<Item = &'a mut Node>) {
    for (i, n) in items.enumerate() {
        let id = (i + 1).to_string();
        resource::set_annotation(n, ID, &id);
        resource::set_annotation(n, LEGACY_ID, &id);
    }
}

fn record_error(record: &PipelineStepResult, msg: &str) -> String {
    if !record.execution_error.is_empty() {
        record.execution_error.clone()
    } else if record.exit_code != 0 {
        format!("exit code {}", record.exit_code)
    } else {
        msg.to_string()
    }
}

fn push_record(rec: &mut Records, phase: Phase, record: PipelineStepResult) {
    match phase {
        Phase::Mutator => rec.mutation_steps.push(record),
        Phase::Validator => rec.validation_steps.push(record),
    }
}

/// Heal comments/order from inputs, drop ids, reconcile path annotations, enforce
/// the path invariants and KRM-ness.
fn post_process(
    items: Vec<Node>,
    originals: &HashMap<String, &Node>,
    pp: &str,
    config_dir: &str,
) -> Result<Vec<Node>, String> {
    let mut out = Vec::with_capacity(items.len());
    let mut seen: HashSet<(String, String, String)> = HashSet::new();
    for mut n in items {
        let id = resource::annotation(&n, ID)
            .or_else(|| resource::annotation(&n, LEGACY_ID))
            .map(str::to_string);
        let original = id.as_ref().and_then(|id| originals.get(id)).copied();
        if let Some(orig) = original {
            yaml::heal(orig, &mut n);
        }
        resource::remove_annotation(&mut n, ID);
        resource::remove_annotation(&mut n, LEGACY_ID);
        if let Some(reason) = resource::not_krm_reason(&n) {
            return Err(format!(
                "output resource list must contain only KRM resources ({reason})"
            ));
        }
        reconcile(&mut n, original, PATH, LEGACY_PATH)?;
        reconcile(&mut n, original, INDEX, LEGACY_INDEX)?;
        if resource::annotation(&n, PACKAGE_PATH).is_none() {
            resource::set_annotation(&mut n, PACKAGE_PATH, pp);
        }
        let (p, idx) = resource::path_index(&n);
        match p {
            Some(p) => {
                let clean = path::clean(&p)
                    .map_err(|e| format!("resource {}: {e}", resource::ResourceId::of(&n)))?;
                let key = (
                    resource::annotation(&n, PACKAGE_PATH)
                        .unwrap_or("")
                        .to_string(),
                    clean,
                    idx.map(|i| i.to_string()).unwrap_or_default(),
                );
                if !seen.insert(key.clone()) {
                    return Err(format!(
                        "resource at path {:?} and index {:?} already exists",
                        key.1, key.2
                    ));
                }
            }
            None => {
                let p = path::join(config_dir, &crate::package::default_path(&n));
                resource::set_annotation(&mut n, PATH, &p);
                resource::set_annotation(&mut n, LEGACY_PATH, &p);
            }
        }
        out.push(n);
    }
    Ok(out)
}

/// kyaml's reconciliation of the new and legacy annotation keys.
fn reconcile(n: &mut Node, original: Option<&Node>, new: &str, legacy: &str) -> Result<(), String> {
    let a = resource::annotation(n, new).map(str::to_string);
    let b = resource::annotation(n, legacy).map(str::to_string);
    match (a, b) {
        (Some(a), None) => resource::set_annotation(n, legacy, &a),
        (None, Some(b)) => resource::set_annotation(n, new, &b),
        (Some(a), Some(b)) if a != b => {
            let before = original
                .and_then(|o| resource::annotation(o, new))
                .map(str::to_string);
            if before.as_deref() == Some(a.as_str()) {
                resource::set_annotation(n, new, &b);
            } else if before.as_deref() == Some(b.as_str()) {
                resource::set_annotation(n, legacy, &a);
            } else {
                return Err(format!(
                    "annotations {new} ({a:?}) and {legacy} ({b:?}) are inconsistent"
                ));
            }
        }
        _ => {}
    }
    Ok(())
}
