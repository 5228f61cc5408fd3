//! `starlark` (kpt-fn.md §6.9) on the Rust `starlark` interpreter.
//!
//! The program sees `ctx.resource_list` (a dict with `items` and `functionConfig`)
//! and edits `ctx.resource_list["items"]` in place; results it writes are ignored.
//! Each statement checks a deadline, so a runaway loop stops with an error; the
//! evaluation also runs on its own thread, which is abandoned if it ever fails to
//! return in time (e.g. one huge builtin call).
//!
//! Gaps against the catalog function: `load()` of the starlib modules
//! (json, yaml, re, ...) is not available, `ctx.open_api` is an empty dict and
//! `ctx.environment` is empty on purpose (the server's environment may hold secrets).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use starlark::environment::{GlobalsBuilder, LibraryExtension, Module};
use starlark::eval::{BeforeStmtFunc, BeforeStmtFuncDyn, Evaluator};
use starlark::syntax::{AstModule, Dialect};
use starlark::values::structs::AllocStruct;

use super::config::{config_map_data, is_fn_kind, wrong_kind};
use super::{FnFailure, FnResult};
use crate::resource_list::ResourceList;

/// How long a starlark program may run unless configured otherwise.
pub const DEFAULT_STARLARK_TIMEOUT: Duration = Duration::from_secs(10);

fn source_of(fc: Option<&Value>) -> Result<String, FnFailure> {
    let fc = fc.ok_or_else(|| {
        FnFailure::msg(
            "`functionConfig` is not given: a StarlarkRun or ConfigMap with `source` is required",
        )
    })?;
    let source = if let Some(data) = config_map_data(Some(fc)) {
        data.get("source").cloned()
    } else if is_fn_kind(fc, "StarlarkRun") {
        fc.get("source").and_then(Value::as_str).map(str::to_string)
    } else {
        return Err(wrong_kind(fc, "a StarlarkRun or ConfigMap"));
    };
    source
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| FnFailure::msg("`source` must not be empty"))
}

struct Deadline(Instant);

impl<'e> BeforeStmtFuncDyn<'e> for Deadline {
    fn call<'v>(
        &mut self,
        _span: starlark::codemap::FileSpanRef,
        _continued: bool,
        _eval: &mut Evaluator<'v, '_, 'e>,
    ) -> starlark::Result<()> {
        if Instant::now() >= self.0 {
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "starlark program exceeded its time limit"
            )));
        }
        Ok(())
    }
}

/// Evaluate `source` over `resource_list`; returns the new `items`.
fn evaluate(source: String, resource_list: Value, deadline: Instant) -> Result<Vec<Value>, String> {
    let ast =
        AstModule::parse("main.star", source, &Dialect::Extended).map_err(|e| e.to_string())?;
    let globals = GlobalsBuilder::extended_by(&[
        LibraryExtension::StructType,
        LibraryExtension::Json,
        LibraryExtension::Print,
        LibraryExtension::SetType,
        LibraryExtension::Map,
        LibraryExtension::Filter,
    ])
    .build();
    let out = Module::with_temp_heap(|module| -> Result<Value, String> {
        let heap = module.heap();
        let rl = heap.alloc(&resource_list);
        let empty = Value::Object(Map::new());
        let ctx = heap.alloc(AllocStruct([
            ("resource_list", rl),
            ("open_api", heap.alloc(&empty)),
            ("environment", heap.alloc(&empty)),
        ]));
        module.set("ctx", ctx);
        {
            let mut eval = Evaluator::new(&module);
            eval.before_stmt_for_dap(BeforeStmtFunc::Dyn(Box::new(Deadline(deadline))));
            eval.eval_module(ast, &globals).map_err(|e| e.to_string())?;
        }
        rl.to_json_value()
            .map_err(|e| format!("ctx.resource_list is not serializable: {e}"))
    })?;
    match out.get("items") {
        Some(Value::Array(items)) => {
            if let Some(i) = items.iter().position(|x| !x.is_object()) {
                return Err(format!("ctx.resource_list[\"items\"][{i}] is not a dict"));
            }
            Ok(items.clone())
        }
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err("ctx.resource_list[\"items\"] must be a list".into()),
    }
}

pub fn run(rl: &mut ResourceList, timeout: Duration) -> FnResult {
    let source = source_of(rl.function_config.as_ref())?;
    let mut input = Map::new();
    input.insert("items".into(), Value::Array(std::mem::take(&mut rl.items)));
    if let Some(fc) = &rl.function_config {
        input.insert("functionConfig".into(), fc.clone());
    }
    let input = Value::Object(input);
    let keep = input.get("items").cloned();
    let deadline = Instant::now() + timeout;
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("starlark".into())
        .spawn(move || {
            let _ = tx.send(evaluate(source, input, deadline));
        });
    let restore = |rl: &mut ResourceList| {
        if let Some(Value::Array(items)) = keep.clone() {
            rl.items = items;
        }
    };
    if let Err(e) = spawned {
        restore(rl);
        return Err(FnFailure::msg(format!(
            "cannot start the starlark thread: {e}"
        )));
    }
    // The per-statement deadline normally fires first; the grace period covers a
    // single long builtin call, after which the thread is abandoned.
    match rx.recv_timeout(timeout + Duration::from_secs(1)) {
        Ok(Ok(items)) => {
            rl.items = items;
            Ok(())
        }
        Ok(Err(message)) => {
            restore(rl);
            Err(FnFailure::msg(message))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            restore(rl);
            Err(FnFailure::msg(format!(
                "starlark program exceeded its time limit of {timeout:?}"
            )))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            restore(rl);
            Err(FnFailure::msg("the starlark interpreter panicked"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::native::testutil::golden;

    #[test]
    fn edits_items_in_place() {
        golden(
            "starlark",
            r#"
items:
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}
- {apiVersion: v1, kind: Service, metadata: {name: svc}}
functionConfig:
  apiVersion: fn.kpt.dev/v1alpha1
  kind: StarlarkRun
  metadata: {name: set-replicas}
  params: {replicas: 5}
  source: |
    def run(items, params):
      for r in items:
        if r["kind"] == "Deployment":
          r.setdefault("spec", {})["replicas"] = params["replicas"]
    run(ctx.resource_list["items"], ctx.resource_list["functionConfig"]["params"])
    ctx.resource_list["items"].append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "made"}})
"#,
            r#"
items:
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 5}}
- {apiVersion: v1, kind: Service, metadata: {name: svc}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: made}}
"#,
            0,
        );
    }

    #[test]
    fn fail_and_syntax_errors_are_error_results() {
        let f = crate::native::lookup("starlark").unwrap();
        for (source, needle) in [
            ("fail(\"no good\")", "no good"),
            ("def (", "rror"),
            ("x = 1 // 0", "ivision"),
        ] {
            let input = format!(
                "kind: ResourceList\nitems:\n- {{apiVersion: v1, kind: Service, metadata: {{name: s}}}}\nfunctionConfig: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: f}}, data: {{source: {}}}}}\n",
                serde_json::Value::String(source.into())
            );
            let out =
                crate::native::run_native(f, input.as_bytes(), Duration::from_secs(5)).unwrap();
            assert_eq!(out.exit_code, 1, "{source}");
            let rl = crate::resource_list::ResourceList::parse(&out.resource_list).unwrap();
            assert_eq!(rl.items.len(), 1, "items survive a failed program");
            let v: serde_json::Value = crate::yaml::parse(&out.resource_list).unwrap();
            let msg = v["results"][0]["message"].as_str().unwrap();
            assert!(msg.contains(needle), "{source}: {msg}");
            assert_eq!(v["results"][0]["severity"], "error");
        }
    }

    #[test]
    fn runaway_loop_hits_the_time_limit() {
        let f = crate::native::lookup("starlark").unwrap();
        let input = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: f}\n  data:\n    source: |\n      def spin():\n        n = 0\n        for i in range(1000000000):\n          for j in range(1000000000):\n            n += 1\n      spin()\n";
        let out =
            crate::native::run_native(f, input.as_bytes(), Duration::from_millis(200)).unwrap();
        assert_eq!(out.exit_code, 1);
        let text = String::from_utf8(out.resource_list).unwrap();
        assert!(text.contains("time limit"), "{text}");
    }
}
