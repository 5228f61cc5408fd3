//! `set-namespace` (kpt-fn.md §6.4). Config problems are error results with
//! exit code 0, as upstream does.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::FnResult;
use super::config::{config_map_data, is_fn_kind};
use crate::krm;
use crate::resource_list::ResourceList;
use crate::results::KrmResult;

const DEPENDS_ON: &str = "config.kubernetes.io/depends-on";

struct Config {
    namespace: String,
    matcher: String,
}

fn read_config(fc: Option<&Value>) -> Result<Config, String> {
    let Some(fc) = fc else {
        return Err("`functionConfig` is missing: expected a ConfigMap with `data.namespace` or a SetNamespace".into());
    };
    let cfg = if let Some(data) = config_map_data(Some(fc)) {
        if krm::name(fc) == "kptfile.kpt.dev" {
            Config {
                namespace: data.get("name").cloned().unwrap_or_default(),
                matcher: String::new(),
            }
        } else {
            Config {
                namespace: data.get("namespace").cloned().unwrap_or_default(),
                matcher: data.get("namespaceMatcher").cloned().unwrap_or_default(),
            }
        }
    } else if is_fn_kind(fc, "SetNamespace") {
        let s = |k: &str| fc.get(k).and_then(krm::scalar_text).unwrap_or_default();
        Config {
            namespace: s("namespace"),
            matcher: s("namespaceMatcher"),
        }
    } else {
        return Err(format!(
            "unknown functionConfig Kind={} ApiVersion={}, expect `ConfigMap` or `SetNamespace`",
            krm::kind(fc),
            krm::api_version(fc)
        ));
    };
    if cfg.namespace.is_empty() {
        return Err("`data.namespace` should not be empty".into());
    }
    Ok(cfg)
}

/// `group|Kind|namespace|name` from the upstream-identifier annotation.
fn origin(item: &Value) -> Option<(String, String, String, String)> {
    let id = krm::annotation(item, krm::UPSTREAM_IDENTIFIER)?;
    let mut parts = id.splitn(4, '|').map(str::to_string);
    Some((parts.next()?, parts.next()?, parts.next()?, parts.next()?))
}

pub fn run(rl: &mut ResourceList) -> FnResult {
    let cfg = match read_config(rl.function_config.as_ref()) {
        Ok(c) => c,
        Err(message) => {
            rl.results.push(KrmResult::error(message));
            return Ok(());
        }
    };
    let mut origins = BTreeSet::new();
    for item in rl.items.iter().filter(|i| !krm::is_local_config(i)) {
        match origin(item) {
            Some((_, _, ns, _)) if krm::is_namespaced(item) => {
                origins.insert(ns);
            }
            Some(_) => {}
            None => rl.results.push(
                KrmResult::warning(format!(
                    "{}/{} {:?} does not have upstream origin",
                    krm::api_version(item),
                    krm::kind(item),
                    krm::name(item)
                ))
                .about(item),
            ),
        }
    }
    if cfg.matcher.is_empty() && origins.len() > 1 {
        let list: Vec<_> = origins.into_iter().collect();
        rl.results.push(KrmResult::error(format!(
            "all namespace-scoped resources should be in the same namespace (found {}); \
             set `namespaceMatcher` to choose which namespace to change",
            list.join(", ")
        )));
        return Ok(());
    }

    // Identities present in the input, for depends-on rewriting.
    let present: BTreeSet<(String, String, String, String)> = rl
        .items
        .iter()
        .map(|i| {
            (
                krm::group(i).to_string(),
                krm::kind(i).to_string(),
                krm::namespace(i).to_string(),
                krm::name(i).to_string(),
            )
        })
        .collect();

    let mut changed: BTreeMap<String, usize> = BTreeMap::new();
    let should_change = |current: &str, orig: &str| {
        cfg.matcher.is_empty() || cfg.matcher == current || cfg.matcher == orig
    };
    for item in rl.items.iter_mut().filter(|i| !krm::is_local_config(i)) {
        let up = origin(item);
        let mut set = |item: &mut Value, path: &[&str], orig: Option<&str>| {
            let current = krm::str_at(item, path).unwrap_or("");
            let current = if current.is_empty() {
                "default"
            } else {
                current
            }
            .to_string();
            let orig = orig.unwrap_or(&current).to_string();
            if should_change(&current, &orig) && current != cfg.namespace {
                let (parent, last) = path.split_at(path.len() - 1);
                if let Some(m) = krm::ensure_object(item, parent) {
                    m.insert(last[0].to_string(), Value::String(cfg.namespace.clone()));
                    *changed.entry(current).or_default() += 1;
                }
            }
            // Upstream also writes an explicit `default` on unchanged items that had
            // no namespace; we leave those untouched.
        };
        let group = krm::group(item).to_string();
        let kind = krm::kind(item).to_string();
        if krm::api_version(item) == "v1" && kind == "Namespace" {
            set(
                item,
                &["metadata", "name"],
                up.as_ref().map(|o| o.3.as_str()),
            );
        } else if krm::is_namespaced(item) {
            set(
                item,
                &["metadata", "namespace"],
                up.as_ref().map(|o| o.2.as_str()),
            );
        }
        const CRD_SERVICE: &[&str] = &["spec", "conversion", "webhook", "clientConfig", "service"];
        if group == "apiextensions.k8s.io"
            && kind == "CustomResourceDefinition"
            && krm::get(item, CRD_SERVICE).is_some_and(Value::is_object)
        {
            let mut path = CRD_SERVICE.to_vec();
            path.push("namespace");
            set(item, &path, None);
        }
        if group == "apiregistration.k8s.io"
            && kind == "APIService"
            && krm::get(item, &["spec", "service"]).is_some_and(Value::is_object)
        {
            set(item, &["spec", "service", "namespace"], None);
        }
        if group == "rbac.authorization.k8s.io"
            && (kind == "RoleBinding" || kind == "ClusterRoleBinding")
            && let Some(subjects) = krm::get_mut(item, &["subjects"]).and_then(Value::as_array_mut)
        {
            for s in subjects.iter_mut() {
                if s.get("namespace").is_some() {
                    set(s, &["namespace"], None);
                }
            }
        }
        if let Some(dep) = krm::annotation(item, DEPENDS_ON).map(str::to_string) {
            let rewritten = rewrite_depends_on(&dep, &present, &cfg.namespace, &|cur, orig| {
                should_change(cur, orig)
            });
            if rewritten != dep {
                krm::set_annotation(item, DEPENDS_ON, &rewritten);
            }
        }
    }
    if changed.is_empty() {
        rl.results.push(KrmResult::info(format!(
            "all namespaces are already {:?}. no value changed",
            cfg.namespace
        )));
    } else {
        for (old, n) in changed {
            rl.results.push(KrmResult::info(format!(
                "namespace {old:?} updated to {:?}, {n} value(s) changed",
                cfg.namespace
            )));
        }
    }
    Ok(())
}

/// Rewrite `<group>/namespaces/<ns>/<kind>/<name>` references to resources in the input.
fn rewrite_depends_on(
    value: &str,
    present: &BTreeSet<(String, String, String, String)>,
    namespace: &str,
    should_change: &dyn Fn(&str, &str) -> bool,
) -> String {
    value
        .split(',')
        .map(|reference| {
            let parts: Vec<&str> = reference.split('/').collect();
            if parts.len() == 5 && parts[1] == "namespaces" {
                let key = (
                    parts[0].to_string(),
                    parts[3].to_string(),
                    parts[2].to_string(),
                    parts[4].to_string(),
                );
                if present.contains(&key) && should_change(parts[2], parts[2]) {
                    return format!(
                        "{}/namespaces/{}/{}/{}",
                        parts[0], namespace, parts[3], parts[4]
                    );
                }
            }
            reference.to_string()
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn sets_namespace_everywhere() {
        golden(
            "set-namespace",
            r#"
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: old, annotations: {internal.kpt.dev/upstream-identifier: '|Namespace|default|old'}}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: d
    namespace: old
    annotations:
      internal.kpt.dev/upstream-identifier: 'apps|Deployment|old|d'
      config.kubernetes.io/depends-on: /namespaces/old/ServiceAccount/sa,/namespaces/old/ServiceAccount/missing
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: sa, namespace: old, annotations: {internal.kpt.dev/upstream-identifier: '|ServiceAccount|old|sa'}}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: crb, annotations: {internal.kpt.dev/upstream-identifier: 'rbac.authorization.k8s.io|ClusterRoleBinding|default|crb'}}
  subjects:
  - {kind: ServiceAccount, name: sa, namespace: old}
  - {kind: User, name: u}
- apiVersion: apiextensions.k8s.io/v1
  kind: CustomResourceDefinition
  metadata: {name: crd, annotations: {internal.kpt.dev/upstream-identifier: 'apiextensions.k8s.io|CustomResourceDefinition|default|crd'}}
  spec: {conversion: {strategy: None}}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: local, namespace: old, annotations: {config.kubernetes.io/local-config: "true"}}
functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: function-input}, data: {namespace: prod}}
"#,
            r#"
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: prod, annotations: {internal.kpt.dev/upstream-identifier: '|Namespace|default|old'}}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: d
    namespace: prod
    annotations:
      internal.kpt.dev/upstream-identifier: 'apps|Deployment|old|d'
      config.kubernetes.io/depends-on: /namespaces/prod/ServiceAccount/sa,/namespaces/old/ServiceAccount/missing
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: sa, namespace: prod, annotations: {internal.kpt.dev/upstream-identifier: '|ServiceAccount|old|sa'}}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: crb, annotations: {internal.kpt.dev/upstream-identifier: 'rbac.authorization.k8s.io|ClusterRoleBinding|default|crb'}}
  subjects:
  - {kind: ServiceAccount, name: sa, namespace: prod}
  - {kind: User, name: u}
- apiVersion: apiextensions.k8s.io/v1
  kind: CustomResourceDefinition
  metadata: {name: crd, annotations: {internal.kpt.dev/upstream-identifier: 'apiextensions.k8s.io|CustomResourceDefinition|default|crd'}}
  spec: {conversion: {strategy: None}}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: local, namespace: old, annotations: {config.kubernetes.io/local-config: "true"}}
results:
- {message: 'namespace "old" updated to "prod", 4 value(s) changed', severity: info}
"#,
            0,
        );
    }

    #[test]
    fn matcher_and_package_context() {
        golden(
            "set-namespace",
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b, namespace: y}}
functionConfig: {apiVersion: fn.kpt.dev/v1alpha1, kind: SetNamespace, metadata: {name: s}, namespace: z, namespaceMatcher: x}
"#,
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: z}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b, namespace: y}}
results:
- {message: 'v1/ConfigMap "a" does not have upstream origin', severity: warning, resourceRef: {apiVersion: v1, kind: ConfigMap, name: a, namespace: x}}
- {message: 'v1/ConfigMap "b" does not have upstream origin', severity: warning, resourceRef: {apiVersion: v1, kind: ConfigMap, name: b, namespace: y}}
- {message: 'namespace "x" updated to "z", 1 value(s) changed', severity: info}
"#,
            0,
        );
        golden(
            "set-namespace",
            r#"
items:
- {apiVersion: v1, kind: Service, metadata: {name: a}}
functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: kptfile.kpt.dev}, data: {name: pkg}}
"#,
            r#"
items:
- {apiVersion: v1, kind: Service, metadata: {name: a, namespace: pkg}}
results:
- {message: 'v1/Service "a" does not have upstream origin', severity: warning, resourceRef: {apiVersion: v1, kind: Service, name: a}}
- {message: 'namespace "default" updated to "pkg", 1 value(s) changed', severity: info}
"#,
            0,
        );
    }

    #[test]
    fn config_errors_are_results_with_exit_zero() {
        golden(
            "set-namespace",
            "items:\n- {apiVersion: v1, kind: Service, metadata: {name: a, namespace: x}}\nfunctionConfig: {apiVersion: v1, kind: Secret, metadata: {name: s}}\n",
            "items:\n- {apiVersion: v1, kind: Service, metadata: {name: a, namespace: x}}\nresults:\n- {message: 'unknown functionConfig Kind=Secret ApiVersion=v1, expect `ConfigMap` or `SetNamespace`', severity: error}\n",
            0,
        );
        golden(
            "set-namespace",
            r#"
items:
- {apiVersion: v1, kind: Service, metadata: {name: a, namespace: x, annotations: {internal.kpt.dev/upstream-identifier: '|Service|x|a'}}}
- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: y, annotations: {internal.kpt.dev/upstream-identifier: '|Service|y|b'}}}
functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: function-input}, data: {namespace: z}}
"#,
            r#"
items:
- {apiVersion: v1, kind: Service, metadata: {name: a, namespace: x, annotations: {internal.kpt.dev/upstream-identifier: '|Service|x|a'}}}
- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: y, annotations: {internal.kpt.dev/upstream-identifier: '|Service|y|b'}}}
results:
- {message: 'all namespace-scoped resources should be in the same namespace (found x, y); set `namespaceMatcher` to choose which namespace to change', severity: error}
"#,
            0,
        );
    }
}
