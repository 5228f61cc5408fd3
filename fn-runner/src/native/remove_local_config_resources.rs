//! `remove-local-config-resources` (kpt-fn.md §6.13).

use super::FnResult;
use crate::krm;
use crate::resource_list::ResourceList;
use crate::results::KrmResult;

pub fn run(rl: &mut ResourceList) -> FnResult {
    let before = rl.items.len();
    let mut removed = Vec::new();
    rl.items.retain(|item| {
        let local = krm::is_local_config(item);
        if local {
            removed.push(
                KrmResult::info(format!(
                    "removed local config resource {}/{} {:?}",
                    krm::api_version(item),
                    krm::kind(item),
                    krm::name(item)
                ))
                .about(item),
            );
        }
        !local
    });
    if rl.items.len() == before {
        rl.results
            .push(KrmResult::warning("no local config resources found"));
    }
    rl.results.extend(removed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn removes_local_config() {
        golden(
            "remove-local-config-resources",
            r#"
items:
- {apiVersion: kpt.dev/v1, kind: Kptfile, metadata: {name: p, annotations: {config.kubernetes.io/local-config: "TRUE"}}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: keep, annotations: {config.kubernetes.io/local-config: "false"}}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: gone, annotations: {config.kubernetes.io/local-config: "true", internal.config.kubernetes.io/path: x.yaml, internal.config.kubernetes.io/index: '1'}}}
"#,
            r#"
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: keep, annotations: {config.kubernetes.io/local-config: "false"}}}
results:
- {message: 'removed local config resource kpt.dev/v1/Kptfile "p"', severity: info, resourceRef: {apiVersion: kpt.dev/v1, kind: Kptfile, name: p}}
- {message: 'removed local config resource v1/ConfigMap "gone"', severity: info, resourceRef: {apiVersion: v1, kind: ConfigMap, name: gone}, file: {path: x.yaml, index: 1}}
"#,
            0,
        );
        golden(
            "remove-local-config-resources",
            "items: []\n",
            "items: []\nresults:\n- {message: no local config resources found, severity: warning}\n",
            0,
        );
    }
}
