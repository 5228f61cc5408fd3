//! `apply-replacements` (kpt-fn.md §6.3): kustomize replacements, api v0.19 semantics.

use serde_json::Value;

use super::config::wrong_kind;
use super::fieldpath::{self, Seg};
use super::{FnFailure, FnResult};
use crate::krm;
use crate::resource_list::ResourceList;

/// GVK + name/namespace + label/annotation selectors (empty = wildcard).
#[derive(Debug, Default)]
struct Selector {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
    labels: String,
    annotations: String,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(krm::scalar_text).unwrap_or_default()
}

impl Selector {
    fn from_value(v: &Value) -> Selector {
        Selector {
            group: s(v, "group"),
            version: s(v, "version"),
            kind: s(v, "kind"),
            name: s(v, "name"),
            namespace: s(v, "namespace"),
            labels: s(v, "labelSelector"),
            annotations: s(v, "annotationSelector"),
        }
    }

    fn matches(&self, item: &Value) -> bool {
        let av = krm::api_version(item);
        let version = av.rsplit('/').next().unwrap_or(av);
        let eff_ns = |ns: &str| {
            if ns.is_empty() {
                "default".to_string()
            } else {
                ns.to_string()
            }
        };
        (self.group.is_empty() || self.group == krm::group_of(av))
            && (self.version.is_empty() || self.version == version)
            && (self.kind.is_empty() || self.kind == krm::kind(item))
            && (self.name.is_empty() || self.name == krm::name(item))
            && (self.namespace.is_empty()
                || eff_ns(&self.namespace) == eff_ns(krm::namespace(item)))
            && label_selector_matches(&self.labels, |k| krm::label(item, k))
            && label_selector_matches(&self.annotations, |k| krm::annotation(item, k))
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("group", &self.group),
            ("version", &self.version),
            ("kind", &self.kind),
            ("name", &self.name),
            ("namespace", &self.namespace),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}: {v}"));
            }
        }
        format!("[{}]", parts.join(", "))
    }
}

/// `a=b,c!=d,e,!f` over a lookup function.
fn label_selector_matches<'a>(sel: &str, get: impl Fn(&str) -> Option<&'a str>) -> bool {
    sel.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                get(k.trim()) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                get(k.trim()) == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                get(k.trim()).is_none()
            } else {
                get(term).is_some()
            }
        })
}

struct Options {
    delimiter: String,
    index: i64,
    create: bool,
}

fn options(v: Option<&Value>) -> Options {
    let v = v.cloned().unwrap_or(Value::Null);
    Options {
        delimiter: s(&v, "delimiter"),
        index: v.get("index").and_then(Value::as_i64).unwrap_or(0),
        create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
    }
}

pub fn run(rl: &mut ResourceList) -> FnResult {
    let fc = rl
        .function_config
        .as_ref()
        .ok_or_else(|| FnFailure::msg("`functionConfig` is not given"))?;
    if krm::api_version(fc) != "fn.kpt.dev/v1alpha1" || krm::kind(fc) != "ApplyReplacements" {
        return Err(wrong_kind(fc, "fn.kpt.dev/v1alpha1 ApplyReplacements"));
    }
    let replacements = match fc.get("replacements") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(FnFailure::msg("`replacements` must be a list")),
    };
    for (i, r) in replacements.iter().enumerate() {
        apply_one(&mut rl.items, r)
            .map_err(|e| FnFailure::msg(format!("replacement {i}: {}", e.0)))?;
    }
    Ok(())
}

fn source_value(items: &[Value], r: &Value) -> Result<Value, FnFailure> {
    let has_literal = r.get("sourceValue").is_some_and(|v| !v.is_null());
    let source = r.get("source").filter(|v| !v.is_null());
    match (has_literal, source) {
        (true, Some(_)) => Err(FnFailure::msg(
            "value and resource selectors are mutually exclusive",
        )),
        (true, None) => Ok(r.get("sourceValue").cloned().unwrap_or(Value::Null)),
        (false, None) => Err(FnFailure::msg("`source` or `sourceValue` is required")),
        (false, Some(src)) => {
            let sel = Selector::from_value(src);
            let found: Vec<&Value> = items.iter().filter(|i| sel.matches(i)).collect();
            let item = match found.as_slice() {
                [one] => *one,
                [] => {
                    return Err(FnFailure::msg(format!(
                        "nothing selected by {}",
                        sel.describe()
                    )));
                }
                _ => {
                    return Err(FnFailure::msg(format!(
                        "multiple matches for selector {}",
                        sel.describe()
                    )));
                }
            };
            let path = src
                .get("fieldPath")
                .and_then(Value::as_str)
                .unwrap_or("metadata.name");
            let mut copy = item.clone();
            let paths = fieldpath::resolve(&mut copy, &fieldpath::parse(path), false);
            let value = paths
                .first()
                .and_then(|p| fieldpath::get(&copy, p))
                .filter(|v| !v.is_null() && *v != &Value::String(String::new()))
                .cloned()
                .ok_or_else(|| {
                    FnFailure::msg(format!(
                        "fieldPath `{path}` is missing for replacement source {}",
                        sel.describe()
                    ))
                })?;
            let opts = options(src.get("options"));
            if opts.delimiter.is_empty() {
                return Ok(value);
            }
            let text = krm::scalar_text(&value).unwrap_or_default();
            let parts: Vec<&str> = text.split(opts.delimiter.as_str()).collect();
            usize::try_from(opts.index)
                .ok()
                .and_then(|i| parts.get(i))
                .map(|p| Value::String((*p).to_string()))
                .ok_or_else(|| {
                    FnFailure::msg(format!(
                        "options.index {} is out of bounds for value {text}",
                        opts.index
                    ))
                })
        }
    }
}

fn apply_one(items: &mut [Value], r: &Value) -> FnResult {
    let value = source_value(items, r)?;
    let targets = r
        .get("targets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for t in &targets {
        let select = Selector::from_value(t.get("select").unwrap_or(&Value::Null));
        let rejects: Vec<Selector> = t
            .get("reject")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(Selector::from_value).collect())
            .unwrap_or_default();
        let field_paths: Vec<String> = match t.get("fieldPaths").and_then(Value::as_array) {
            Some(a) if !a.is_empty() => a
                .iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect(),
            _ => vec!["metadata.name".to_string()],
        };
        let opts = options(t.get("options"));
        for item in items
            .iter_mut()
            .filter(|i| select.matches(i) && !rejects.iter().any(|rj| rj.matches(i)))
        {
            for fp in &field_paths {
                let segs: Vec<Seg> = fieldpath::parse(fp);
                let paths = fieldpath::resolve(item, &segs, opts.create);
                if paths.is_empty() {
                    return Err(FnFailure::msg(format!(
                        "unable to find field \"{fp}\" in replacement target"
                    )));
                }
                for p in paths {
                    if let Some(slot) = fieldpath::get_mut(item, &p) {
                        *slot = replaced(slot, &value, &opts);
                    }
                }
            }
        }
    }
    Ok(())
}

fn replaced(target: &Value, value: &Value, opts: &Options) -> Value {
    if opts.delimiter.is_empty() {
        return value.clone();
    }
    let new = krm::scalar_text(value).unwrap_or_default();
    let current = krm::scalar_text(target).unwrap_or_default();
    let mut parts: Vec<String> = current
        .split(opts.delimiter.as_str())
        .map(str::to_string)
        .collect();
    match usize::try_from(opts.index) {
        Err(_) => parts.insert(0, new),
        Ok(i) if i >= parts.len() => parts.push(new),
        Ok(i) => parts[i] = new,
    }
    Value::String(parts.join(&opts.delimiter))
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    const CONFIG: &str = r#"
functionConfig:
  apiVersion: fn.kpt.dev/v1alpha1
  kind: ApplyReplacements
  metadata: {name: r}
  replacements:
  - source: {kind: ConfigMap, name: env, fieldPath: data.image}
    targets:
    - select: {kind: Deployment}
      fieldPaths: ['spec.template.spec.containers.[name=app].image']
  - source: {kind: ConfigMap, name: env, fieldPath: data.domain, options: {delimiter: '.', index: 0}}
    targets:
    - select: {kind: Deployment}
      reject: [{name: other}]
      fieldPaths: [metadata.annotations.host]
      options: {create: true}
    - select: {kind: Service}
      fieldPaths: [metadata.name]
      options: {delimiter: '-', index: 1}
"#;

    #[test]
    fn copies_values_with_delimiters_and_create() {
        let input = format!(
            "{}{CONFIG}",
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: env}, data: {image: 'nginx:1.25', domain: shop.example.com}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec: {template: {spec: {containers: [{name: app, image: old}, {name: side, image: keep}]}}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: other}
  spec: {template: {spec: {containers: [{name: app, image: old}]}}}
- {apiVersion: v1, kind: Service, metadata: {name: web-svc}}
"#
        );
        golden(
            "apply-replacements",
            &input,
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: env}, data: {image: 'nginx:1.25', domain: shop.example.com}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, annotations: {host: shop}}
  spec: {template: {spec: {containers: [{name: app, image: 'nginx:1.25'}, {name: side, image: keep}]}}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: other}
  spec: {template: {spec: {containers: [{name: app, image: 'nginx:1.25'}]}}}
- {apiVersion: v1, kind: Service, metadata: {name: web-shop}}
"#,
            0,
        );
    }

    #[test]
    fn errors() {
        let input = format!(
            "items:\n- {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: web}}}}\n{CONFIG}"
        );
        golden(
            "apply-replacements",
            &input,
            "items:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}\nresults:\n- {message: 'replacement 0: nothing selected by [kind: ConfigMap, name: env]', severity: error}\n",
            1,
        );
        golden(
            "apply-replacements",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n",
            "items: []\nresults:\n- {message: '`functionConfig` must be fn.kpt.dev/v1alpha1 ApplyReplacements, got v1/ConfigMap \"x\"', severity: error}\n",
            1,
        );
        golden(
            "apply-replacements",
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {x: '1'}}
- {apiVersion: v1, kind: Service, metadata: {name: s}}
functionConfig:
  apiVersion: fn.kpt.dev/v1alpha1
  kind: ApplyReplacements
  metadata: {name: r}
  replacements:
  - source: {kind: ConfigMap, fieldPath: data.x}
    targets: [{select: {kind: Service}, fieldPaths: [spec.missing]}]
"#,
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {x: '1'}}
- {apiVersion: v1, kind: Service, metadata: {name: s}}
results:
- {message: 'replacement 0: unable to find field "spec.missing" in replacement target', severity: error}
"#,
            1,
        );
    }
}
