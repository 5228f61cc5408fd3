//! `upsert-resource` (kpt-fn.md §6.11): the functionConfig is the resource (or a List of them).

use serde_json::Value;

use super::{FnFailure, FnResult};
use crate::krm;
use crate::resource_list::ResourceList;
use crate::results::KrmResult;

const TARGET_PATH: &str = "config.kubernetes.io/target-path";
const FUNCTION_ANNOTATIONS: &[&str] = &["config.kubernetes.io/function", "config.k8s.io/function"];
const KEPT: &[&str] = &[krm::PATH, krm::INDEX, krm::LEGACY_PATH, krm::LEGACY_INDEX];

fn is_function_config(item: &Value) -> bool {
    FUNCTION_ANNOTATIONS
        .iter()
        .any(|a| krm::annotation(item, a).is_some())
}

fn same_identity(a: &Value, b: &Value) -> bool {
    krm::group(a) == krm::group(b)
        && krm::kind(a) == krm::kind(b)
        && krm::name(a) == krm::name(b)
        && krm::namespace(a) == krm::namespace(b)
}

pub fn run(rl: &mut ResourceList) -> FnResult {
    let fc = rl.function_config.clone().ok_or_else(|| {
        FnFailure::msg("`functionConfig` is not given: it must be the resource to upsert")
    })?;
    let inputs = if krm::kind(&fc) == "List" {
        fc.get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    } else {
        vec![fc]
    };
    for input in inputs {
        if krm::kind(&input).is_empty() || krm::name(&input).is_empty() {
            return Err(FnFailure::msg(
                "the resource to upsert needs a kind and metadata.name",
            ));
        }
        let target = krm::annotation(&input, TARGET_PATH).map(str::to_string);
        let mut clean = input.clone();
        krm::remove_annotation(&mut clean, TARGET_PATH);
        for a in FUNCTION_ANNOTATIONS {
            krm::remove_annotation(&mut clean, a);
        }
        let mut replaced = 0;
        for item in rl.items.iter_mut() {
            if is_function_config(item) || !same_identity(item, &input) {
                continue;
            }
            if let Some(t) = &target
                && krm::path_annotation(item) != Some(t.as_str())
            {
                continue;
            }
            let mut new = clean.clone();
            for key in KEPT {
                if let Some(v) = krm::annotation(item, key).map(str::to_string) {
                    krm::set_annotation(&mut new, key, &v);
                }
            }
            *item = new;
            replaced += 1;
            rl.results
                .push(KrmResult::info("replaced resource").about(item));
        }
        if replaced == 0 {
            let mut new = clean;
            let path = match &target {
                Some(t) => t.clone(),
                None => default_path(&new),
            };
            krm::set_annotation(&mut new, krm::PATH, &path);
            rl.results
                .push(KrmResult::info("added resource").about(&new));
            rl.items.push(new);
        }
    }
    Ok(())
}

/// kyaml's default path for a new resource: `[<namespace>/]<kind>_<name>.yaml`.
fn default_path(v: &Value) -> String {
    let file = format!("{}_{}.yaml", krm::kind(v).to_lowercase(), krm::name(v));
    match krm::namespace(v) {
        "" => file,
        ns => format!("{ns}/{file}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn replaces_and_adds() {
        golden(
            "upsert-resource",
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {internal.config.kubernetes.io/path: cm.yaml, internal.config.kubernetes.io/index: '0'}}, data: {old: x}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {config.kubernetes.io/function: 'x'}}, data: {fn: y}}
functionConfig:
  kind: List
  items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n}, data: {new: z}}
  - {apiVersion: v1, kind: Service, metadata: {name: s, namespace: n}}
  - {apiVersion: v1, kind: Secret, metadata: {name: t, annotations: {config.kubernetes.io/target-path: secrets/t.yaml}}}
"#,
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {internal.config.kubernetes.io/path: cm.yaml, internal.config.kubernetes.io/index: '0'}}, data: {new: z}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n, annotations: {config.kubernetes.io/function: 'x'}}, data: {fn: y}}
- {apiVersion: v1, kind: Service, metadata: {name: s, namespace: n, annotations: {internal.config.kubernetes.io/path: n/service_s.yaml}}}
- {apiVersion: v1, kind: Secret, metadata: {name: t, annotations: {internal.config.kubernetes.io/path: secrets/t.yaml}}}
results:
- {message: replaced resource, severity: info, resourceRef: {apiVersion: v1, kind: ConfigMap, name: a, namespace: n}, file: {path: cm.yaml, index: 0}}
- {message: added resource, severity: info, resourceRef: {apiVersion: v1, kind: Service, name: s, namespace: n}, file: {path: n/service_s.yaml}}
- {message: added resource, severity: info, resourceRef: {apiVersion: v1, kind: Secret, name: t}, file: {path: secrets/t.yaml}}
"#,
            0,
        );
    }

    #[test]
    fn needs_config() {
        golden(
            "upsert-resource",
            "items: []\n",
            "items: []\nresults:\n- {message: '`functionConfig` is not given: it must be the resource to upsert', severity: error}\n",
            1,
        );
    }
}
