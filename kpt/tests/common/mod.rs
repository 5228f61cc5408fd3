#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]
//! Test doubles and helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use kpt::fn_eval::{EvalError, EvalFuture, EvalOutput, Evaluator, FunctionRef};
use kpt::{Package, ResourceList, yaml};

/// A function written in Rust for tests: ResourceList in, (ResourceList, stderr, exit) out.
pub type TestFn = Box<dyn Fn(ResourceList) -> (ResourceList, String, i32) + Send + Sync>;

/// An evaluator serving functions by image name (without tag), recording calls.
#[derive(Default)]
pub struct FakeEvaluator {
    pub fns: BTreeMap<String, TestFn>,
    pub calls: Mutex<Vec<(String, String)>>,
}

impl FakeEvaluator {
    pub fn with(
        mut self,
        image: &str,
        f: impl Fn(ResourceList) -> (ResourceList, String, i32) + Send + Sync + 'static,
    ) -> Self {
        self.fns.insert(image.to_string(), Box::new(f));
        self
    }

    pub fn calls(&self) -> Vec<(String, String)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Evaluator for FakeEvaluator {
    fn evaluate<'a>(
        &'a self,
        function: &'a FunctionRef,
        resource_list: &'a [u8],
    ) -> EvalFuture<'a> {
        Box::pin(async move {
            let name = function.name().to_string();
            let input = String::from_utf8(resource_list.to_vec()).unwrap();
            self.calls
                .lock()
                .unwrap()
                .push((name.clone(), input.clone()));
            let short = name
                .rsplit('/')
                .next()
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .to_string();
            let f = self
                .fns
                .get(&short)
                .ok_or(EvalError::NotFound(name.clone()))?;
            let rl = ResourceList::from_yaml(&input).unwrap();
            let (out, stderr, code) = f(rl);
            Ok(EvalOutput {
                resource_list: out.to_yaml().into_bytes(),
                stderr: stderr.into_bytes(),
                exit_code: code,
            })
        })
    }
}

/// Like a JSON-speaking function: items lose comments and get sorted keys.
pub fn through_json(rl: &ResourceList) -> Vec<yaml::Node> {
    rl.items
        .iter()
        .map(|n| {
            let j = yaml::to_json(n);
            let sorted: serde_json::Value = sort_keys(&j);
            yaml::from_json(&sorted)
        })
        .collect()
}

fn sort_keys(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(o) => {
            let mut keys: Vec<_> = o.keys().collect();
            keys.sort();
            let mut m = serde_json::Map::new();
            for k in keys {
                m.insert(k.clone(), sort_keys(&o[k]));
            }
            serde_json::Value::Object(m)
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// set-namespace-like function (via JSON, so comments must be healed by render).
pub fn set_namespace(
    ns: &'static str,
) -> impl Fn(ResourceList) -> (ResourceList, String, i32) + Send + Sync {
    move |rl: ResourceList| {
        let ns = rl
            .function_config
            .as_ref()
            .and_then(|c| c.str_at(&["data", "namespace"]).map(str::to_string))
            .unwrap_or_else(|| ns.to_string());
        let mut items = through_json(&rl);
        for n in &mut items {
            if n.str_at(&["kind"]) == Some("Kptfile") {
                continue;
            }
            n.ensure_mapping(&["metadata"])
                .unwrap()
                .set("namespace", yaml::Node::string(ns.clone()));
        }
        (
            ResourceList {
                items,
                ..ResourceList::default()
            },
            String::new(),
            0,
        )
    }
}

pub fn pkg(files: &[(&str, &str)]) -> Package {
    Package::new(
        files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
    )
    .unwrap()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}
