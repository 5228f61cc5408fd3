//! `create-setters` (kpt-fn.md §6.6): mark fields whose values match setter values
//! with `# kpt-set:` comments.

use serde_json::Value;

use super::apply_setters::setter_pattern;
use super::config::{config_map_data, wrong_kind};
use super::{FnFailure, FnResult, fieldpath};
use crate::krm;
use crate::resource_list::ResourceList;
use crate::results::KrmResult;
use crate::yaml::{CommentMap, PathSeg};

fn sorted_texts(list: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = list
        .iter()
        .map(|x| krm::scalar_text(x).unwrap_or_else(|| x.to_string()))
        .collect();
    v.sort();
    v
}

/// Replace every occurrence of a setter value in `text` by `${name}` (longest value first).
fn mark(text: &str, scalars: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    let mut hit = false;
    'outer: while !rest.is_empty() {
        for (name, value) in scalars {
            if let Some(after) = rest.strip_prefix(value.as_str()) {
                out.push_str(&format!("${{{name}}}"));
                rest = after;
                hit = true;
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    hit.then_some(out)
}

fn walk(v: &Value, path: &mut Vec<PathSeg>, f: &mut dyn FnMut(&[PathSeg], &Value)) {
    f(path, v);
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                path.push(PathSeg::Key(k.clone()));
                walk(c, path, f);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                path.push(PathSeg::Index(i));
                walk(c, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

pub fn run(rl: &mut ResourceList, comments: &mut CommentMap) -> FnResult {
    let fc = rl
        .function_config
        .as_ref()
        .ok_or_else(|| FnFailure::msg("`functionConfig` is not given"))?;
    let data = config_map_data(Some(fc)).ok_or_else(|| wrong_kind(fc, "a ConfigMap"))?;
    if data.is_empty() {
        return Err(FnFailure::msg("config map cannot be empty"));
    }
    let mut scalars: Vec<(String, String)> = Vec::new();
    let mut arrays: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in &data {
        match crate::yaml::parse_str(value) {
            Ok(Value::Array(a)) if value.trim_start().starts_with(['[', '-']) => {
                arrays.push((name.clone(), sorted_texts(&a)))
            }
            _ if !value.is_empty() => scalars.push((name.clone(), value.clone())),
            _ => {}
        }
    }
    scalars.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let mut results = Vec::new();
    for (idx, item) in rl.items.iter().enumerate() {
        let mut found: Vec<(Vec<PathSeg>, String)> = Vec::new();
        walk(item, &mut Vec::new(), &mut |path, v| {
            // apiVersion and kind identify the resource; they are never parameters.
            if matches!(path, [PathSeg::Key(k)] if k == "apiVersion" || k == "kind") {
                return;
            }
            let marker = match v {
                Value::Array(a)
                    if !a.is_empty() && a.iter().all(|x| !x.is_object() && !x.is_array()) =>
                {
                    let texts = sorted_texts(a);
                    arrays
                        .iter()
                        .find(|(_, want)| *want == texts)
                        .map(|(name, _)| format!("${{{name}}}"))
                }
                Value::String(s) if s.contains('\n') => None,
                Value::Object(_) | Value::Array(_) | Value::Null => None,
                scalar => krm::scalar_text(scalar).and_then(|t| mark(&t, &scalars)),
            };
            if let Some(m) = marker {
                found.push((path.to_vec(), m));
            }
        });
        for (path, marker) in found {
            let mut full = vec![PathSeg::Key("items".into()), PathSeg::Index(idx)];
            full.extend(path.iter().cloned());
            let comment = format!("kpt-set: {marker}");
            if comments.get(&full).and_then(|c| setter_pattern(c)) == Some(marker.as_str()) {
                continue;
            }
            comments.insert(full, comment.clone());
            let current = fieldpath::get(item, &path).cloned();
            results.push(
                KrmResult::info(format!("added line comment \"{comment}\""))
                    .about(item)
                    .field(fieldpath::display(&path), current, None),
            );
        }
    }
    if results.is_empty() {
        rl.results.push(KrmResult::info(
            "no setters created: no field matched the setter values",
        ));
    }
    rl.results.extend(results);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn creates_scalar_and_array_setters() {
        let out = golden(
            "create-setters",
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: nginx-deployment}
  spec:
    replicas: 3
    template: {spec: {containers: [{name: c, image: 'nginx:1.1', args: [b, a]}]}}
functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {app: nginx, tag: '1.1', replicas: '3', args: '[a, b]'}}
"#,
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: nginx-deployment}
  spec:
    replicas: 3
    template: {spec: {containers: [{name: c, image: 'nginx:1.1', args: [b, a]}]}}
results:
- {message: 'added line comment "kpt-set: ${app}-deployment"', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: nginx-deployment}, field: {path: metadata.name, currentValue: nginx-deployment}}
- {message: 'added line comment "kpt-set: ${replicas}"', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: nginx-deployment}, field: {path: spec.replicas, currentValue: 3}}
- {message: 'added line comment "kpt-set: ${app}:${tag}"', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: nginx-deployment}, field: {path: 'spec.template.spec.containers[0].image', currentValue: 'nginx:1.1'}}
- {message: 'added line comment "kpt-set: ${args}"', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: nginx-deployment}, field: {path: 'spec.template.spec.containers[0].args', currentValue: [b, a]}}
"#,
            0,
        );
        assert!(
            out.contains("image: nginx:1.1 # kpt-set: ${app}:${tag}"),
            "{out}"
        );
        assert!(out.contains("args: # kpt-set: ${args}"), "{out}");
        // The output feeds apply-setters: a round trip changes the tag.
        let again = out.replace(
            "data:\n    app: nginx\n    tag: '1.1'\n    replicas: '3'\n    args: '[a, b]'",
            "data:\n    tag: '2.0'",
        );
        let f = crate::native::lookup("apply-setters").unwrap();
        let res = crate::native::run_native(f, again.as_bytes(), std::time::Duration::from_secs(1))
            .unwrap();
        let text = String::from_utf8(res.resource_list).unwrap();
        assert!(
            text.contains("image: nginx:2.0 # kpt-set: ${app}:${tag}"),
            "{text}"
        );
    }

    #[test]
    fn empty_config_fails() {
        golden(
            "create-setters",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}}\n",
            "items: []\nresults:\n- {message: config map cannot be empty, severity: error}\n",
            1,
        );
    }
}
