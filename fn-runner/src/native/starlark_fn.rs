//! `starlark` (kpt-fn.md §6.9) on the Rust `starlark` interpreter.
//!
//! The program sees `ctx.resource_list` (a dict with `items` and `functionConfig`)
//! and edits `ctx.resource_list["items"]` in place; results it writes are ignored.
//! Each statement checks a deadline, so a runaway loop stops with an error; the
//! evaluation also runs on its own thread, which is abandoned if it ever fails to
//! return in time (e.g. one huge builtin call).
//!
//! `load()` serves `krmfn.star` and part of starlib (see `starlib.rs`).
//! Gaps against the catalog function: the Rust interpreter has no `while`
//! statement (go-starlark's is enabled upstream); `ctx.open_api` is an empty dict and
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
            let loader = super::starlib::StarlibLoader;
            let mut eval = Evaluator::new(&module);
            eval.set_loader(&loader);
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

    fn run_source(source: &str) -> (i32, serde_json::Value) {
        let f = crate::native::lookup("starlark").unwrap();
        let input = format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: web, namespace: prod}}}}\n- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: cfg}}, data: {{k: v}}}}\nfunctionConfig:\n  apiVersion: fn.kpt.dev/v1alpha1\n  kind: StarlarkRun\n  metadata: {{name: f}}\n  source: {}\n",
            serde_json::Value::String(source.into())
        );
        let out = crate::native::run_native(f, input.as_bytes(), Duration::from_secs(5)).unwrap();
        let v = crate::yaml::parse_str_reference(std::str::from_utf8(&out.resource_list).unwrap())
            .unwrap();
        (out.exit_code, v)
    }

    #[test]
    fn loads_krmfn_and_starlib_modules() {
        let (code, v) = run_source(
            r#"load("krmfn.star", "krmfn")
load("encoding/json.star", "json")
load("encoding/yaml.star", "yaml")
load("encoding/base64.star", "base64")
load("re.star", "re")
load("math.star", "math")
load("hash.star", "hash")
out = {}
for r in ctx.resource_list["items"]:
    if krmfn.match_gvk(r, "apps/v1", "Deployment") and krmfn.match_name(r, "web") and krmfn.match_namespace(r, "prod"):
        out["gvk"] = "deployment"
    if krmfn.match_gvk(r, "v1", "ConfigMap"):
        out["json"] = json.dumps(r["data"])
        out["json_back"] = json.loads('{"a": [1, 2]}')["a"][1]
        out["yaml"] = yaml.dumps(r["data"])
        out["yaml_back"] = yaml.loads("x: [1, two]\n")["x"][1]
out["b64"] = base64.encode("hello")
out["b64_back"] = base64.decode("aGVsbG8=")
out["b64_url"] = base64.encode("??>", encoding="url_raw")
out["findall"] = re.findall("[0-9]+", "a1b22c333")
out["split"] = re.split(",\\s*", "a, b,c")
out["sub"] = re.sub("(\\w+)@(\\w+)", "\\2 at \\1", "me@host, $x")
out["match"] = re.match("(a)(b)?", "acb")
out["nomatch"] = str(re.match("b", "ab"))
out["ceil"] = math.ceil(1.2)
out["pow"] = math.pow(2, 10)
out["pi"] = math.pi > 3.14
out["sha"] = hash.sha256("abc")
ctx.resource_list["items"].append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "out"}, "data": out})
"#,
        );
        assert_eq!(code, 0, "{v}");
        let data = &v["items"][2]["data"];
        assert_eq!(data["gvk"], "deployment");
        assert_eq!(data["json"], "{\"k\":\"v\"}");
        assert_eq!(data["json_back"], 2);
        assert_eq!(data["yaml"], "k: v\n");
        assert_eq!(data["yaml_back"], "two");
        assert_eq!(data["b64"], "aGVsbG8=");
        assert_eq!(data["b64_back"], "hello");
        assert_eq!(data["b64_url"], "Pz8-");
        assert_eq!(data["findall"], serde_json::json!(["1", "22", "333"]));
        assert_eq!(data["split"], serde_json::json!(["a", "b", "c"]));
        assert_eq!(data["sub"], "host at me, $x");
        assert_eq!(data["match"], serde_json::json!(["a", "a", ""]));
        assert_eq!(data["nomatch"], "None");
        assert_eq!(data["ceil"], 2);
        assert_eq!(data["pow"], 1024.0);
        assert_eq!(data["pi"], true);
        assert_eq!(
            data["sha"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn unknown_and_left_out_modules_are_clear_errors() {
        for (module, needle) in [
            ("nope.star", "is not a known module"),
            (
                "http.star",
                "is not available in the native starlark runtime",
            ),
            (
                "time.star",
                "is not available in the native starlark runtime",
            ),
        ] {
            let (code, v) = run_source(&format!("load(\"{module}\", \"x\")\n"));
            assert_eq!(code, 1);
            let msg = v["results"][0]["message"].as_str().unwrap();
            assert!(msg.contains(needle), "{module}: {msg}");
            assert!(
                msg.contains("encoding/json.star"),
                "lists what is available: {msg}"
            );
            assert_eq!(v["items"].as_array().unwrap().len(), 2, "items survive");
        }
        let (code, v) = run_source("load(\"krmfn.star\", \"nothing\")\n");
        assert_eq!(code, 1);
        assert!(
            v["results"][0]["message"]
                .as_str()
                .unwrap()
                .contains("nothing")
        );
    }
}
