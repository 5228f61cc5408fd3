//! `ensure-name-substring` (kpt-fn.md §6.10).
//!
//! Name references are updated for the common subset of kustomize's
//! name-reference table: ConfigMap, Secret, ServiceAccount and
//! PersistentVolumeClaim references in pod specs, RBAC `roleRef` and
//! ServiceAccount `subjects`, and `depends-on` annotations. Other entries of
//! that table (e.g. Ingress backends, HPA targets) are not followed.

use std::collections::HashMap;

use serde_json::Value;

use super::config::{config_map_data, is_fn_kind, wrong_kind};
use super::{FnFailure, FnResult};
use crate::krm;
use crate::resource_list::ResourceList;
use crate::results::KrmResult;

const SKIPPED_KINDS: &[&str] = &["CustomResourceDefinition", "Namespace", "APIService"];
const DEPENDS_ON: &str = "config.kubernetes.io/depends-on";

struct Config {
    substring: String,
    prepend: bool,
    extra: Vec<(String, Vec<String>)>,
}

fn read_config(fc: Option<&Value>) -> Result<Config, FnFailure> {
    let fc = fc.ok_or_else(|| FnFailure::msg("`functionConfig` is not given"))?;
    if let Some(data) = config_map_data(Some(fc)) {
        return match (data.get("prepend"), data.get("append")) {
            (Some(p), None) => Ok(Config {
                substring: p.clone(),
                prepend: true,
                extra: Vec::new(),
            }),
            (None, Some(a)) => Ok(Config {
                substring: a.clone(),
                prepend: false,
                extra: Vec::new(),
            }),
            _ => Err(FnFailure::msg(
                "the ConfigMap must have exactly one of `data.prepend` or `data.append`",
            )),
        };
    }
    if !is_fn_kind(fc, "EnsureNameSubstring") {
        return Err(wrong_kind(fc, "a ConfigMap or EnsureNameSubstring"));
    }
    let substring = fc
        .get("substring")
        .and_then(krm::scalar_text)
        .unwrap_or_default();
    let prepend = match fc
        .get("editMode")
        .and_then(Value::as_str)
        .unwrap_or("prepend")
    {
        "prepend" => true,
        "append" => false,
        other => {
            return Err(FnFailure::msg(format!(
                "editMode must be prepend or append, not {other:?}"
            )));
        }
    };
    let extra = fc
        .get("additionalNameFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| {
                    let kind = f
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let path = f
                        .get("path")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .split('/')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    (kind, path)
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Config {
        substring,
        prepend,
        extra,
    })
}

fn with_substring(name: &str, cfg: &Config) -> String {
    if name.contains(&cfg.substring) {
        name.to_string()
    } else if cfg.prepend {
        format!("{}{name}", cfg.substring)
    } else {
        format!("{name}{}", cfg.substring)
    }
}

type Renames = HashMap<(String, String, String), String>;

pub fn run(rl: &mut ResourceList) -> FnResult {
    let cfg = read_config(rl.function_config.as_ref())?;
    if cfg.substring.is_empty() {
        return Err(FnFailure::msg("the substring must not be empty"));
    }
    let mut renames = Renames::new();
    for item in rl.items.iter_mut() {
        if krm::is_local_config(item) || SKIPPED_KINDS.contains(&krm::kind(item)) {
            continue;
        }
        let old = krm::name(item).to_string();
        let new = with_substring(&old, &cfg);
        for (kind, path) in &cfg.extra {
            if kind.is_empty() || kind == krm::kind(item) {
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                if let Some(v) = krm::get_mut(item, &p)
                    && let Some(s) = v.as_str()
                {
                    *v = Value::String(with_substring(s, &cfg));
                }
            }
        }
        if new != old {
            renames.insert(
                (
                    krm::kind(item).to_string(),
                    krm::namespace(item).to_string(),
                    old,
                ),
                new.clone(),
            );
            if let Some(m) = krm::ensure_object(item, &["metadata"]) {
                m.insert("name".into(), Value::String(new));
            }
            rl.results.push(
                KrmResult::info(format!(
                    "renamed {} to {:?}",
                    krm::kind(item),
                    krm::name(item)
                ))
                .about(item),
            );
        }
    }
    for item in rl.items.iter_mut() {
        update_references(item, &renames);
    }
    Ok(())
}

fn rename(renames: &Renames, kind: &str, ns: &str, v: &mut Value) {
    if let Some(s) = v.as_str()
        && let Some(new) = renames.get(&(kind.to_string(), ns.to_string(), s.to_string()))
    {
        *v = Value::String(new.clone());
    }
}

fn at<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    krm::get_mut(v, path)
}

fn update_pod_spec(spec: &mut Value, ns: &str, r: &Renames) {
    if let Some(v) = at(spec, &["serviceAccountName"]) {
        rename(r, "ServiceAccount", ns, v);
    }
    for list in ["containers", "initContainers"] {
        let Some(cs) = at(spec, &[list]).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in cs {
            if let Some(env) = at(c, &["env"]).and_then(Value::as_array_mut) {
                for e in env {
                    if let Some(v) = at(e, &["valueFrom", "configMapKeyRef", "name"]) {
                        rename(r, "ConfigMap", ns, v);
                    }
                    if let Some(v) = at(e, &["valueFrom", "secretKeyRef", "name"]) {
                        rename(r, "Secret", ns, v);
                    }
                }
            }
            if let Some(env_from) = at(c, &["envFrom"]).and_then(Value::as_array_mut) {
                for e in env_from {
                    if let Some(v) = at(e, &["configMapRef", "name"]) {
                        rename(r, "ConfigMap", ns, v);
                    }
                    if let Some(v) = at(e, &["secretRef", "name"]) {
                        rename(r, "Secret", ns, v);
                    }
                }
            }
        }
    }
    if let Some(vols) = at(spec, &["volumes"]).and_then(Value::as_array_mut) {
        for vol in vols {
            if let Some(v) = at(vol, &["configMap", "name"]) {
                rename(r, "ConfigMap", ns, v);
            }
            if let Some(v) = at(vol, &["secret", "secretName"]) {
                rename(r, "Secret", ns, v);
            }
            if let Some(v) = at(vol, &["persistentVolumeClaim", "claimName"]) {
                rename(r, "PersistentVolumeClaim", ns, v);
            }
        }
    }
    if let Some(ps) = at(spec, &["imagePullSecrets"]).and_then(Value::as_array_mut) {
        for p in ps {
            if let Some(v) = at(p, &["name"]) {
                rename(r, "Secret", ns, v);
            }
        }
    }
}

fn update_references(item: &mut Value, r: &Renames) {
    let ns = krm::namespace(item).to_string();
    let kind = krm::kind(item).to_string();
    let pod_spec: Option<&[&str]> = match kind.as_str() {
        "Pod" => Some(&["spec"]),
        "Deployment"
        | "StatefulSet"
        | "ReplicaSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController"
        | "PodTemplate" => Some(&["spec", "template", "spec"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    };
    if let Some(p) = pod_spec
        && let Some(spec) = at(item, p)
    {
        update_pod_spec(spec, &ns, r);
    }
    if kind == "RoleBinding" || kind == "ClusterRoleBinding" {
        let role_kind = krm::str_at(item, &["roleRef", "kind"])
            .unwrap_or("")
            .to_string();
        let role_ns = if role_kind == "Role" {
            ns.clone()
        } else {
            String::new()
        };
        if let Some(v) = at(item, &["roleRef", "name"]) {
            rename(r, &role_kind, &role_ns, v);
        }
        if let Some(subjects) = at(item, &["subjects"]).and_then(Value::as_array_mut) {
            for s in subjects {
                if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount") {
                    let sns = s
                        .get("namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(&ns)
                        .to_string();
                    if let Some(v) = at(s, &["name"]) {
                        rename(r, "ServiceAccount", &sns, v);
                    }
                }
            }
        }
    }
    if let Some(dep) = krm::annotation(item, DEPENDS_ON).map(str::to_string) {
        let new: Vec<String> = dep
            .split(',')
            .map(|reference| {
                let parts: Vec<&str> = reference.split('/').collect();
                let (kind, ns, name) = match parts.as_slice() {
                    [_, "namespaces", ns, kind, name] => (*kind, *ns, *name),
                    [_, kind, name] => (*kind, "", *name),
                    _ => return reference.to_string(),
                };
                match r.get(&(kind.to_string(), ns.to_string(), name.to_string())) {
                    Some(n) => {
                        let mut p: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
                        if let Some(last) = p.last_mut() {
                            *last = n.clone();
                        }
                        p.join("/")
                    }
                    None => reference.to_string(),
                }
            })
            .collect();
        let new = new.join(",");
        if new != dep {
            krm::set_annotation(item, DEPENDS_ON, &new);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn prepends_and_updates_references() {
        golden(
            "ensure-name-substring",
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: n}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: prod-already, namespace: n}}
- {apiVersion: v1, kind: Namespace, metadata: {name: n}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: n, annotations: {config.kubernetes.io/depends-on: /namespaces/n/ConfigMap/cfg}}
  spec: {template: {spec: {volumes: [{name: v, configMap: {name: cfg}}, {name: w, configMap: {name: external}}], containers: [{name: c, envFrom: [{configMapRef: {name: cfg}}]}]}}}
functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {prepend: prod-}}
"#,
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: prod-cfg, namespace: n}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: prod-already, namespace: n}}
- {apiVersion: v1, kind: Namespace, metadata: {name: n}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: prod-web, namespace: n, annotations: {config.kubernetes.io/depends-on: /namespaces/n/ConfigMap/prod-cfg}}
  spec: {template: {spec: {volumes: [{name: v, configMap: {name: prod-cfg}}, {name: w, configMap: {name: external}}], containers: [{name: c, envFrom: [{configMapRef: {name: prod-cfg}}]}]}}}
results:
- {message: 'renamed ConfigMap to "prod-cfg"', severity: info, resourceRef: {apiVersion: v1, kind: ConfigMap, name: prod-cfg, namespace: n}}
- {message: 'renamed Deployment to "prod-web"', severity: info, resourceRef: {apiVersion: apps/v1, kind: Deployment, name: prod-web, namespace: n}}
"#,
            0,
        );
    }

    #[test]
    fn typed_append_and_errors() {
        golden(
            "ensure-name-substring",
            "items:\n- {apiVersion: v1, kind: Service, metadata: {name: s}}\nfunctionConfig: {apiVersion: fn.kpt.dev/v1alpha1, kind: EnsureNameSubstring, metadata: {name: e}, substring: -x, editMode: append}\n",
            "items:\n- {apiVersion: v1, kind: Service, metadata: {name: s-x}}\nresults:\n- {message: 'renamed Service to \"s-x\"', severity: info, resourceRef: {apiVersion: v1, kind: Service, name: s-x}}\n",
            0,
        );
        golden(
            "ensure-name-substring",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {prepend: a, append: b}}\n",
            "items: []\nresults:\n- {message: 'the ConfigMap must have exactly one of `data.prepend` or `data.append`', severity: error}\n",
            1,
        );
    }
}
