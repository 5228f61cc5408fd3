//! `set-enforcement-action` (kpt-fn.md §6.12).

use serde_json::Value;

use super::config::{config_map_data, wrong_kind};
use super::{FnFailure, FnResult};
use crate::krm;
use crate::resource_list::ResourceList;
use crate::results::KrmResult;

const ACTIONS: &[&str] = &["deny", "warn", "dryrun"];

pub fn run(rl: &mut ResourceList) -> FnResult {
    let fc = rl
        .function_config
        .as_ref()
        .ok_or_else(|| FnFailure::msg("`functionConfig` is not given"))?;
    let data = config_map_data(Some(fc)).ok_or_else(|| wrong_kind(fc, "a ConfigMap"))?;
    let action = match (data.len(), data.get("enforcementAction")) {
        (1, Some(a)) => a.clone(),
        _ => {
            return Err(FnFailure::msg(
                "`data` must contain exactly one key, `enforcementAction`",
            ));
        }
    };
    if !ACTIONS.contains(&action.as_str()) {
        return Err(FnFailure::msg(format!(
            "enforcementAction {action:?} is not one of deny, warn, dryrun"
        )));
    }
    let mut found = false;
    for item in rl.items.iter_mut() {
        if krm::api_version(item) != "constraints.gatekeeper.sh/v1beta1"
            || krm::name(item).is_empty()
            || krm::kind(item).is_empty()
        {
            continue;
        }
        found = true;
        if let Some(spec) = krm::ensure_object(item, &["spec"]) {
            spec.insert("enforcementAction".into(), Value::String(action.clone()));
        }
        let r = KrmResult::info(format!("set enforcementAction to {action:?}")).about(item);
        rl.results.push(r.field(
            "spec.enforcementAction",
            None,
            Some(Value::String(action.clone())),
        ));
    }
    if !found {
        rl.results.push(KrmResult::warning(
            "no gatekeeper constraints (constraints.gatekeeper.sh/v1beta1) found",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::native::testutil::golden;

    #[test]
    fn sets_action_on_constraints() {
        golden(
            "set-enforcement-action",
            r#"
items:
- {apiVersion: constraints.gatekeeper.sh/v1beta1, kind: K8sRequiredLabels, metadata: {name: c}, spec: {enforcementAction: deny}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}
functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {enforcementAction: dryrun}}
"#,
            r#"
items:
- {apiVersion: constraints.gatekeeper.sh/v1beta1, kind: K8sRequiredLabels, metadata: {name: c}, spec: {enforcementAction: dryrun}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}
results:
- {message: 'set enforcementAction to "dryrun"', severity: info, resourceRef: {apiVersion: constraints.gatekeeper.sh/v1beta1, kind: K8sRequiredLabels, name: c}, field: {path: spec.enforcementAction, proposedValue: dryrun}}
"#,
            0,
        );
    }

    #[test]
    fn rejects_bad_config() {
        golden(
            "set-enforcement-action",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {enforcementAction: block}}\n",
            "items: []\nresults:\n- {message: 'enforcementAction \"block\" is not one of deny, warn, dryrun', severity: error}\n",
            1,
        );
        golden(
            "set-enforcement-action",
            "items: []\nfunctionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {enforcementAction: warn, x: y}}\n",
            "items: []\nresults:\n- {message: '`data` must contain exactly one key, `enforcementAction`', severity: error}\n",
            1,
        );
    }
}
