//! `apply-setters` (kpt-fn.md §6.5): values flow into fields marked with
//! `# kpt-set: <pattern>` line comments.

use regex::Regex;
use serde_json::Value;

use super::config::{config_map_data, wrong_kind};
use super::fieldpath;
use super::{FnFailure, FnResult};
use crate::krm::{self, infer_scalar};
use crate::resource_list::ResourceList;
use crate::results::KrmResult;
use crate::yaml::{CommentMap, PathSeg};

/// The pattern of a `kpt-set:` comment.
pub fn setter_pattern(comment: &str) -> Option<&str> {
    comment.trim().strip_prefix("kpt-set:").map(str::trim)
}

fn setter_names(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push(rest[start + 2..start + end].to_string());
        rest = &rest[start + end + 1..];
    }
    out
}

/// Recover setter values from `current` by matching it against `pattern`.
fn recover(pattern: &str, current: &str) -> Option<Vec<(String, String)>> {
    let names = setter_names(pattern);
    let mut re = String::from("^");
    let mut rest = pattern;
    for _ in &names {
        let start = rest.find("${")?;
        let end = start + rest[start..].find('}')?;
        re.push_str(&regex::escape(&rest[..start]));
        re.push_str("(.*)");
        rest = &rest[end + 1..];
    }
    re.push_str(&regex::escape(rest));
    re.push('$');
    let caps = Regex::new(&re).ok()?.captures(current)?;
    let values: Vec<(String, String)> = names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n,
                caps.get(i + 1)
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    values.iter().all(|(_, v)| !v.is_empty()).then_some(values)
}

fn parse_list(text: &str) -> Option<Vec<Value>> {
    if text.trim().is_empty() {
        return Some(Vec::new());
    }
    match crate::yaml::parse_str(text) {
        Ok(Value::Array(a)) => Some(a),
        _ => None,
    }
}

pub fn run(rl: &mut ResourceList, comments: &mut CommentMap) -> FnResult {
    let fc = rl.function_config.as_ref();
    let setters = match fc {
        None => Default::default(),
        Some(fc) => config_map_data(Some(fc)).ok_or_else(|| wrong_kind(fc, "a ConfigMap"))?,
    };
    if setters.is_empty() {
        rl.results
            .push(KrmResult::info("FunctionConfig is not given"));
        return Ok(());
    }
    // Comments on this item's nodes, most specific first is irrelevant: each is independent.
    let mut marked: Vec<(Vec<PathSeg>, String)> = comments
        .iter()
        .filter_map(|(p, c)| setter_pattern(c).map(|pat| (p.clone(), pat.to_string())))
        .filter(|(p, _)| matches!(p.as_slice(), [PathSeg::Key(k), PathSeg::Index(_), ..] if k == "items"))
        .collect();
    marked.sort();
    let mut results = Vec::new();
    for (path, pattern) in marked {
        let PathSeg::Index(idx) = path[1] else {
            continue;
        };
        let names = setter_names(&pattern);
        if !names.iter().any(|n| setters.contains_key(n)) {
            continue;
        }
        let Some(item) = rl.items.get_mut(idx) else {
            continue;
        };
        let rel = &path[2..];
        let Some(current) = fieldpath::get(item, rel).cloned() else {
            continue;
        };
        let new = match &current {
            Value::Array(_) => {
                if names.len() != 1 || pattern != format!("${{{}}}", names[0]) {
                    return Err(FnFailure::msg(format!(
                        "invalid setter pattern for array node: {pattern:?}"
                    )));
                }
                let text = setters.get(&names[0]).cloned().unwrap_or_default();
                let list = parse_list(&text).ok_or_else(|| {
                    FnFailure::msg(format!(
                        "input to array setter {:?} must be a YAML sequence, got {text:?}",
                        names[0]
                    ))
                })?;
                Value::Array(list)
            }
            Value::Object(_) => continue,
            scalar => {
                let text = krm::scalar_text(scalar).unwrap_or_default();
                let mut values: Vec<(String, String)> = Vec::new();
                let missing: Vec<&String> =
                    names.iter().filter(|n| !setters.contains_key(*n)).collect();
                if !missing.is_empty() {
                    let recovered = recover(&pattern, &text).ok_or_else(|| {
                        FnFailure::msg(format!(
                            "values for setters [{}] must be provided",
                            missing
                                .iter()
                                .map(|m| format!("${{{m}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                    values.extend(
                        recovered
                            .into_iter()
                            .filter(|(n, _)| !setters.contains_key(n)),
                    );
                }
                let mut out = pattern.clone();
                for n in &names {
                    let v = setters
                        .get(n)
                        .cloned()
                        .or_else(|| values.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
                        .unwrap_or_default();
                    out = out.replace(&format!("${{{n}}}"), &v);
                }
                if out.is_empty() {
                    Value::String(String::new())
                } else {
                    infer_scalar(&out)
                }
            }
        };
        if new != current {
            if let Some(slot) = fieldpath::get_mut(item, rel) {
                *slot = new.clone();
            }
            results.push(
                KrmResult::info(format!(
                    "set field value to {}",
                    krm::scalar_text(&new).unwrap_or_else(|| new.to_string())
                ))
                .about(item)
                .field(fieldpath::display(rel), None, Some(new)),
            );
        }
    }
    if results.is_empty() {
        rl.results
            .push(KrmResult::info("no matches for input setter(s)"));
    }
    rl.results.extend(results);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    const INPUT: &str = r#"items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: app # kpt-set: ${name}
    annotations:
      internal.config.kubernetes.io/path: d.yaml
  spec:
    replicas: 1 # kpt-set: ${replicas}
    template:
      spec:
        containers:
        - name: c
          image: nginx:1.1 # kpt-set: ${image}:${tag}
          args: # kpt-set: ${args}
          - old
"#;

    #[test]
    fn applies_scalars_patterns_and_lists() {
        let input = format!(
            "{INPUT}functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: setters}}\n  data: {{replicas: '3', tag: '1.25', args: '[a, b]'}}\n"
        );
        let out = golden(
            "apply-setters",
            &input,
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: app, annotations: {internal.config.kubernetes.io/path: d.yaml}}
  spec:
    replicas: 3
    template: {spec: {containers: [{name: c, image: 'nginx:1.25', args: [a, b]}]}}
results:
- {message: 'set field value to 3', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: app}, file: {path: d.yaml}, field: {path: spec.replicas, proposedValue: 3}}
- {message: 'set field value to ["a","b"]', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: app}, file: {path: d.yaml}, field: {path: 'spec.template.spec.containers[0].args', proposedValue: [a, b]}}
- {message: 'set field value to nginx:1.25', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: app}, file: {path: d.yaml}, field: {path: 'spec.template.spec.containers[0].image', proposedValue: 'nginx:1.25'}}
"#,
            0,
        );
        assert!(
            out.contains("image: nginx:1.25 # kpt-set: ${image}:${tag}"),
            "{out}"
        );
        assert!(out.contains("replicas: 3 # kpt-set: ${replicas}"), "{out}");
    }

    #[test]
    fn unresolvable_setter_is_an_error() {
        let input = format!("{INPUT}functionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: s}}, data: {{tag: '2'}}}}\n")
            .replace("nginx:1.1 #", "nginx #");
        golden(
            "apply-setters",
            &input,
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: app, annotations: {internal.config.kubernetes.io/path: d.yaml}}
  spec:
    replicas: 1
    template: {spec: {containers: [{name: c, image: nginx, args: [old]}]}}
results:
- {message: 'values for setters [${image}] must be provided', severity: error}
"#,
            1,
        );
    }
}
