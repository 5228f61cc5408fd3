//! `set-annotations` (kpt-fn.md §6.2): kustomize `commonAnnotations` field specs.
//! Local-config resources are annotated too, as upstream does.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde_json::Value;

use super::config::{config_map_data, string_map, wrong_kind};
use super::{FnFailure, FnResult};
use crate::krm;
use crate::resource_list::ResourceList;
use crate::results::KrmResult;

/// A kustomize FieldSpec: which resources (empty = any) and a `/`-separated path.
#[derive(Debug, Clone)]
struct FieldSpec {
    group: String,
    version: String,
    kind: String,
    path: String,
    create: bool,
}

impl FieldSpec {
    fn builtin(group: &str, kind: &str, path: &str) -> Self {
        FieldSpec {
            group: group.into(),
            version: String::new(),
            kind: kind.into(),
            path: path.into(),
            create: true,
        }
    }

    fn from_value(v: &Value) -> Result<Self, FnFailure> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let path = s("path");
        if path.is_empty() {
            return Err(FnFailure::msg(format!(
                "additionalAnnotationFields entry has no path: {v}"
            )));
        }
        Ok(FieldSpec {
            group: s("group"),
            version: s("version"),
            kind: s("kind"),
            path,
            create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    fn applies_to(&self, item: &Value) -> bool {
        let av = krm::api_version(item);
        let version = av.rsplit('/').next().unwrap_or(av);
        (self.group.is_empty() || self.group == krm::group_of(av))
            && (self.version.is_empty() || self.version == version)
            && (self.kind.is_empty() || self.kind == krm::kind(item))
    }
}

fn common_annotation_specs() -> Vec<FieldSpec> {
    let mut v = vec![FieldSpec::builtin("", "", "metadata/annotations")];
    for (g, k) in [
        ("", "ReplicationController"),
        ("", "Deployment"),
        ("", "ReplicaSet"),
        ("", "DaemonSet"),
        ("apps", "StatefulSet"),
        ("batch", "Job"),
    ] {
        v.push(FieldSpec::builtin(
            g,
            k,
            "spec/template/metadata/annotations",
        ));
    }
    v.push(FieldSpec::builtin(
        "batch",
        "CronJob",
        "spec/jobTemplate/metadata/annotations",
    ));
    v.push(FieldSpec::builtin(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/annotations",
    ));
    v
}

fn read_config(
    fc: Option<&Value>,
) -> Result<(IndexMap<String, String>, Vec<FieldSpec>), FnFailure> {
    let fc = fc.ok_or_else(|| FnFailure::msg("`functionConfig` is not given"))?;
    if let Some(data) = config_map_data(Some(fc)) {
        return Ok((data, Vec::new()));
    }
    let kind = krm::kind(fc);
    if krm::api_version(fc) != "fn.kpt.dev/v1alpha1"
        || (kind != "SetAnnotations" && kind != "SetAnnotationConfig")
    {
        return Err(wrong_kind(
            fc,
            "a ConfigMap or fn.kpt.dev/v1alpha1 SetAnnotations",
        ));
    }
    let annotations = string_map(fc, "annotations")?;
    let extra = fc
        .get("additionalAnnotationFields")
        .and_then(Value::as_array);
    let legacy = fc.get("fieldSpecs").and_then(Value::as_array);
    let specs = match (extra, legacy) {
        (Some(_), Some(_)) => {
            return Err(FnFailure::msg(
                "`fieldSpecs` is deprecated; use only `additionalAnnotationFields`",
            ));
        }
        (Some(a), None) | (None, Some(a)) => a
            .iter()
            .map(FieldSpec::from_value)
            .collect::<Result<_, _>>()?,
        (None, None) => Vec::new(),
    };
    Ok((annotations, specs))
}

/// Set the annotations at `path` (lists are walked element-wise); record each field path touched.
fn apply(
    v: &mut Value,
    segs: &[&str],
    create: bool,
    ann: &IndexMap<String, String>,
    at: &str,
    touched: &mut Vec<String>,
) {
    if let Some(a) = v.as_array_mut() {
        for e in a.iter_mut() {
            apply(e, segs, create, ann, at, touched);
        }
        return;
    }
    match segs.split_first() {
        None => {
            if v.is_null() {
                *v = Value::Object(Default::default());
            }
            if let Some(m) = v.as_object_mut() {
                for (k, val) in ann {
                    m.insert(k.clone(), Value::String(val.clone()));
                }
                touched.push(at.to_string());
            }
        }
        Some((key, rest)) => {
            if v.is_null() && create {
                *v = Value::Object(Default::default());
            }
            let Some(m) = v.as_object_mut() else { return };
            if !m.contains_key(*key) {
                if !create {
                    return;
                }
                m.insert((*key).to_string(), Value::Null);
            }
            if let Some(child) = m.get_mut(*key) {
                let at = if at.is_empty() {
                    (*key).to_string()
                } else {
                    format!("{at}.{key}")
                };
                apply(child, rest, create, ann, &at, touched);
            }
        }
    }
}

pub fn run(rl: &mut ResourceList) -> FnResult {
    let (annotations, extra) = read_config(rl.function_config.as_ref())?;
    if annotations.is_empty() {
        return Err(FnFailure::msg("input annotation list cannot be empty"));
    }
    let mut seen = BTreeSet::new();
    for item in &rl.items {
        let id = (
            krm::api_version(item),
            krm::kind(item),
            krm::namespace(item),
            krm::name(item),
        );
        if !seen.insert(id) {
            return Err(FnFailure::msg(format!(
                "may not add resource with an already registered id: {}/{} {}/{}",
                id.0, id.1, id.2, id.3
            )));
        }
    }
    let mut specs = common_annotation_specs();
    specs.extend(extra);
    let listed: Vec<String> = annotations
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    for item in rl.items.iter_mut() {
        let mut touched = Vec::new();
        let applicable: Vec<&FieldSpec> = specs.iter().filter(|s| s.applies_to(item)).collect();
        for spec in applicable {
            let segs: Vec<&str> = spec.path.split('/').filter(|s| !s.is_empty()).collect();
            apply(item, &segs, spec.create, &annotations, "", &mut touched);
        }
        touched.dedup();
        for path in touched {
            let r = KrmResult::info(format!("set annotations [{}]", listed.join(", "))).about(item);
            rl.results.push(r.field(path, None, None));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn annotates_templates_and_extra_fields() {
        golden(
            "set-annotations",
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d, annotations: {internal.config.kubernetes.io/path: d.yaml}}
  spec: {template: {spec: {}}}
- apiVersion: kpt.dev/v1
  kind: Kptfile
  metadata: {name: pkg, annotations: {config.kubernetes.io/local-config: "true"}}
- apiVersion: example.com/v1
  kind: Thing
  metadata: {name: t}
  spec: {parts: [{meta: {}}, {meta: {}}]}
functionConfig:
  apiVersion: fn.kpt.dev/v1alpha1
  kind: SetAnnotations
  metadata: {name: s}
  annotations: {owner: team}
  additionalAnnotationFields: [{group: example.com, kind: Thing, path: spec/parts/meta, create: true}]
"#,
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d, annotations: {internal.config.kubernetes.io/path: d.yaml, owner: team}}
  spec: {template: {spec: {}, metadata: {annotations: {owner: team}}}}
- apiVersion: kpt.dev/v1
  kind: Kptfile
  metadata: {name: pkg, annotations: {config.kubernetes.io/local-config: "true", owner: team}}
- apiVersion: example.com/v1
  kind: Thing
  metadata: {name: t, annotations: {owner: team}}
  spec: {parts: [{meta: {owner: team}}, {meta: {owner: team}}]}
results:
- {message: 'set annotations [owner: team]', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: d}, field: {path: metadata.annotations}, file: {path: d.yaml}}
- {message: 'set annotations [owner: team]', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: d}, field: {path: spec.template.metadata.annotations}, file: {path: d.yaml}}
- {message: 'set annotations [owner: team]', severity: info, resourceRef: {apiVersion: kpt.dev/v1, kind: Kptfile, name: pkg}, field: {path: metadata.annotations}}
- {message: 'set annotations [owner: team]', severity: info, resourceRef: {apiVersion: example.com/v1, kind: Thing, name: t}, field: {path: metadata.annotations}}
- {message: 'set annotations [owner: team]', severity: info, resourceRef: {apiVersion: example.com/v1, kind: Thing, name: t}, field: {path: spec.parts.meta}}
"#,
            0,
        );
    }

    #[test]
    fn errors() {
        golden(
            "set-annotations",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n",
            "items: []\nresults:\n- {message: input annotation list cannot be empty, severity: error}\n",
            1,
        );
        golden(
            "set-annotations",
            "items:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: b}}\n",
            "items:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\nresults:\n- {message: 'may not add resource with an already registered id: v1/Service /a', severity: error}\n",
            1,
        );
    }
}
