//! `set-labels` (kpt-fn.md §6.1).

use indexmap::IndexMap;
use serde_json::Value;

use super::config::{config_map_data, is_fn_kind, string_map, wrong_kind};
use super::{FnFailure, FnResult};
use crate::krm;
use crate::resource_list::ResourceList;
use crate::results::KrmResult;

/// Where labels go: a path (object keys; `[]` = every element of a list) and
/// whether the map is created when absent.
struct Spot {
    path: &'static [&'static str],
    create: bool,
}

const fn c(path: &'static [&'static str]) -> Spot {
    Spot { path, create: true }
}
const fn u(path: &'static [&'static str]) -> Spot {
    Spot {
        path,
        create: false,
    }
}

const TEMPLATE_KINDS: &[&str] = &[
    "ReplicationController",
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "Job",
];

fn spots(item: &Value) -> Vec<Spot> {
    let group = krm::group(item);
    let kind = krm::kind(item);
    let mut out = vec![c(&["metadata", "labels"])];
    match (group, kind) {
        ("", "Service") | ("", "ReplicationController") => out.push(c(&["spec", "selector"])),
        (_, "Deployment") | (_, "ReplicaSet") | (_, "DaemonSet") | ("apps", "StatefulSet") => {
            out.push(c(&["spec", "selector", "matchLabels"]))
        }
        ("batch", "Job") | ("policy", "PodDisruptionBudget") => {
            out.push(u(&["spec", "selector", "matchLabels"]))
        }
        (_, "NetworkPolicy") => {
            out.push(u(&["spec", "podSelector", "matchLabels"]));
            out.push(u(&[
                "spec",
                "ingress",
                "[]",
                "from",
                "[]",
                "podSelector",
                "matchLabels",
            ]));
            out.push(u(&[
                "spec",
                "egress",
                "[]",
                "to",
                "[]",
                "podSelector",
                "matchLabels",
            ]));
        }
        ("batch", "CronJob") => {
            out.push(c(&["spec", "jobTemplate", "metadata", "labels"]));
            out.push(u(&[
                "spec",
                "jobTemplate",
                "spec",
                "selector",
                "matchLabels",
            ]));
            out.push(c(&[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "metadata",
                "labels",
            ]));
        }
        _ => {}
    }
    if TEMPLATE_KINDS.contains(&kind) {
        out.push(c(&["spec", "template", "metadata", "labels"]));
        out.push(u(&[
            "spec",
            "template",
            "spec",
            "topologySpreadConstraints",
            "[]",
            "labelSelector",
            "matchLabels",
        ]));
    }
    if group == "apps" && kind == "StatefulSet" {
        out.push(c(&[
            "spec",
            "volumeClaimTemplates",
            "[]",
            "metadata",
            "labels",
        ]));
    }
    out
}

/// Apply `labels` at `path` under `v`; returns how many labels were set.
fn apply(v: &mut Value, path: &[&str], create: bool, labels: &IndexMap<String, String>) -> usize {
    match path.split_first() {
        None => {
            if v.is_null() && create {
                *v = Value::Object(Default::default());
            }
            let Some(m) = v.as_object_mut() else { return 0 };
            let mut n = 0;
            for (k, val) in labels {
                if create || m.contains_key(k) {
                    m.insert(k.clone(), Value::String(val.clone()));
                    n += 1;
                }
            }
            n
        }
        Some((&"[]", rest)) => match v.as_array_mut() {
            Some(a) => a.iter_mut().map(|e| apply(e, rest, create, labels)).sum(),
            None => 0,
        },
        Some((key, rest)) => {
            let Some(m) = v.as_object_mut() else { return 0 };
            if !m.contains_key(*key) {
                // Create only plain map paths, never through lists.
                if !create || rest.contains(&"[]") {
                    return 0;
                }
                m.insert((*key).to_string(), Value::Object(Default::default()));
            }
            match m.get_mut(*key) {
                Some(child) => apply(child, rest, create, labels),
                None => 0,
            }
        }
    }
}

pub fn run(rl: &mut ResourceList) -> FnResult {
    let fc = rl
        .function_config
        .as_ref()
        .ok_or_else(|| FnFailure::msg("`functionConfig` is not given"))?;
    let mut labels = if let Some(data) = config_map_data(Some(fc)) {
        if fc.get("data").is_none() {
            return Err(FnFailure::msg("`functionConfig` is not given"));
        }
        data
    } else if is_fn_kind(fc, "SetLabels") {
        string_map(fc, "labels")?
    } else {
        return Err(wrong_kind(fc, "a ConfigMap or SetLabels"));
    };
    if labels.is_empty() {
        rl.results.push(KrmResult::warning("no labels to set"));
        return Ok(());
    }
    labels.sort_keys();
    let mut total = 0;
    for item in rl.items.iter_mut().filter(|i| !krm::is_local_config(i)) {
        for spot in spots(item) {
            total += apply(item, spot.path, spot.create, &labels);
        }
    }
    rl.results
        .push(KrmResult::info(format!("set {total} labels in total")));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn labels_selectors_and_templates() {
        golden(
            "set-labels",
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d}
  spec:
    selector: {matchLabels: {app: x}}
    template:
      metadata: {labels: {app: x}}
      spec:
        topologySpreadConstraints:
        - labelSelector: {matchLabels: {app: x}}
        - labelSelector: {matchLabels: {color: red}}
- apiVersion: v1
  kind: Service
  metadata: {name: s, labels: {color: blue}}
  spec: {ports: [{port: 80}]}
- apiVersion: batch/v1
  kind: Job
  metadata: {name: j}
  spec: {template: {spec: {}}}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: np}
  spec:
    podSelector: {matchLabels: {color: old}}
    ingress:
    - from: [{podSelector: {matchLabels: {other: a}}}]
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: local, annotations: {config.kubernetes.io/local-config: "true"}}
functionConfig: {apiVersion: fn.kpt.dev/v1alpha1, kind: SetLabels, metadata: {name: s}, labels: {color: orange, tier: web}}
"#,
            r#"
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d, labels: {color: orange, tier: web}}
  spec:
    selector: {matchLabels: {app: x, color: orange, tier: web}}
    template:
      metadata: {labels: {app: x, color: orange, tier: web}}
      spec:
        topologySpreadConstraints:
        - labelSelector: {matchLabels: {app: x}}
        - labelSelector: {matchLabels: {color: orange}}
- apiVersion: v1
  kind: Service
  metadata: {name: s, labels: {color: orange, tier: web}}
  spec: {ports: [{port: 80}], selector: {color: orange, tier: web}}
- apiVersion: batch/v1
  kind: Job
  metadata: {name: j, labels: {color: orange, tier: web}}
  spec: {template: {spec: {}, metadata: {labels: {color: orange, tier: web}}}}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: np, labels: {color: orange, tier: web}}
  spec:
    podSelector: {matchLabels: {color: orange}}
    ingress:
    - from: [{podSelector: {matchLabels: {other: a}}}]
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: local, annotations: {config.kubernetes.io/local-config: "true"}}
results:
- {message: set 18 labels in total, severity: info}
"#,
            0,
        );
    }

    #[test]
    fn missing_or_wrong_config_fails() {
        golden(
            "set-labels",
            "items: []\n",
            "items: []\nresults:\n- {message: '`functionConfig` is not given', severity: error}\n",
            1,
        );
        golden(
            "set-labels",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: Secret, metadata: {name: x}}\n",
            "items: []\nresults:\n- {message: '`functionConfig` must be a ConfigMap or SetLabels, got v1/Secret \"x\"', severity: error}\n",
            1,
        );
        golden(
            "set-labels",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {}}\n",
            "items: []\nresults:\n- {message: no labels to set, severity: warning}\n",
            0,
        );
    }
}
