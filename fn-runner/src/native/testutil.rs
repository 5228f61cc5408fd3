//! Golden-test helper: run a native function on a ResourceList body and compare.

use std::time::Duration;

use serde_json::Value;

const HEADER: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n";

/// Run `name` on `input` (ResourceList body without apiVersion/kind) and
/// compare the output with `expected` (same form; its `functionConfig` defaults
/// to the input's). Returns the output text for further checks.
pub fn golden(name: &str, input: &str, expected: &str, exit_code: i32) -> String {
    let f = super::lookup(name).unwrap();
    let input = format!("{HEADER}{}", input.trim_start_matches('\n'));
    let out = super::run_native(f, input.as_bytes(), Duration::from_secs(5)).unwrap();
    let text = String::from_utf8(out.resource_list).unwrap();
    let got: Value = crate::yaml::parse_str(&text).unwrap();
    // Expected text goes through the reference parser, so the fast reader is checked too.
    let mut want: Value =
        crate::yaml::parse_str_reference(&format!("{HEADER}{}", expected.trim_start_matches('\n')))
            .unwrap();
    let input_v: Value = crate::yaml::parse_str_reference(&input).unwrap();
    if want.get("functionConfig").is_none()
        && let Some(fc) = input_v.get("functionConfig")
    {
        want["functionConfig"] = fc.clone();
    }
    if want.get("items").is_none() {
        want["items"] = Value::Array(vec![]);
    }
    assert_eq!(
        got,
        want,
        "output of {name}:\n{text}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.exit_code, exit_code,
        "exit code of {name}; output:\n{text}"
    );
    text
}
