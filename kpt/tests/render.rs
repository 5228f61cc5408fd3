#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Render (§3 and checklist items 1, 2, 5, 6, 7) through a test-double Evaluator.

mod common;

use common::{FakeEvaluator, block_on, pkg, set_namespace, through_json};
use kpt::render::{RenderOptions, render};
use kpt::{Package, ResourceList, yaml};

fn kptfile(name: &str, pipeline: &str) -> String {
    format!("apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {name}\n{pipeline}")
}

fn cm(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name} # the name\ndata:\n  k: v\n"
    )
}

/// A function that labels every item with `seen-by-<tag>=<count of items>`.
fn labeler(
    tag: &'static str,
) -> impl Fn(ResourceList) -> (ResourceList, String, i32) + Send + Sync {
    move |mut rl: ResourceList| {
        let n = rl.items.len().to_string();
        for item in &mut rl.items {
            item.ensure_mapping(&["metadata", "labels"])
                .unwrap()
                .set(&format!("seen-by-{tag}"), yaml::Node::string(n.clone()));
        }
        (rl, String::new(), 0)
    }
}

fn nested() -> Package {
    pkg(&[
        (
            "Kptfile",
            &kptfile("root", "pipeline:\n  mutators:\n  - image: label-root\n"),
        ),
        ("root.yaml", &cm("root-cm")),
        (
            "b/Kptfile",
            &kptfile("b", "pipeline:\n  mutators:\n  - image: label-b\n"),
        ),
        ("b/b.yaml", &cm("b-cm")),
        (
            "a/Kptfile",
            &kptfile("a", "pipeline:\n  mutators:\n  - image: label-a\n"),
        ),
        ("a/a.yaml", &cm("a-cm")),
        (
            "a/c/Kptfile",
            &kptfile("c", "pipeline:\n  mutators:\n  - image: label-c\n"),
        ),
        ("a/c/c.yaml", &cm("c-cm")),
        ("a/README.md", "not read\n"),
    ])
}

fn ev() -> FakeEvaluator {
    FakeEvaluator::default()
        .with("label-root", labeler("root"))
        .with("label-a", labeler("a"))
        .with("label-b", labeler("b"))
        .with("label-c", labeler("c"))
}

#[test]
fn depth_first_post_order_and_subtree_scope() {
    let e = ev();
    let out = block_on(render(&nested(), &e, &RenderOptions::default()));
    assert_eq!(out.error, None);
    let order: Vec<String> = e.calls().iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        order,
        vec![
            "ghcr.io/kptdev/krm-functions-catalog/label-c:latest",
            "ghcr.io/kptdev/krm-functions-catalog/label-a:latest",
            "ghcr.io/kptdev/krm-functions-catalog/label-b:latest",
            "ghcr.io/kptdev/krm-functions-catalog/label-root:latest",
        ]
    );
    let f = &out.package.files;
    // c's pipeline saw c only (Kptfile + cm); a saw a + c subtree (4); root saw all 8
    assert!(
        f["a/c/c.yaml"].contains("seen-by-c: \"2\""),
        "{}",
        f["a/c/c.yaml"]
    );
    assert!(f["a/c/c.yaml"].contains("seen-by-a: \"4\""));
    assert!(f["a/c/c.yaml"].contains("seen-by-root: \"8\""));
    assert!(!f["a/a.yaml"].contains("seen-by-c"));
    assert!(!f["b/b.yaml"].contains("seen-by-a"));
    assert!(f["root.yaml"].contains("seen-by-root: \"8\""));
    // comments kept, paths not leaking into files
    assert!(f["a/a.yaml"].contains("  name: a-cm # the name\n"));
    assert!(!f["a/a.yaml"].contains("internal.config"));
    assert!(!f["a/a.yaml"].contains("package-path"));
    assert_eq!(f["a/README.md"], "not read\n");
    assert_eq!(out.results.items.len(), 4);
    assert!(f["Kptfile"].contains("reason: RenderSuccess"));
    // the functions saw path/index and package-path annotations
    let (_, input) = &e.calls()[3];
    assert!(
        input.contains("internal.config.kubernetes.io/package-path: '/a/c'"),
        "{input}"
    );
    assert!(input.contains("internal.config.kubernetes.io/path: 'c.yaml'"));
    assert!(input.contains("config.kubernetes.io/index: '0'"));
}

#[test]
fn breadth_first_with_annotation() {
    let mut p = nested();
    p.files.insert(
        "Kptfile".into(),
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: root\n  annotations:\n    kpt.dev/bfs-rendering: \"TRUE\"\npipeline:\n  mutators:\n  - image: label-root\n".into(),
    );
    let e = ev();
    let out = block_on(render(&p, &e, &RenderOptions::default()));
    assert_eq!(out.error, None);
    let order: Vec<String> = e
        .calls()
        .iter()
        .map(|(n, _)| n.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        order,
        vec![
            "label-root:latest",
            "label-a:latest",
            "label-b:latest",
            "label-c:latest"
        ]
    );
    let f = &out.package.files;
    assert!(f["a/c/c.yaml"].contains("seen-by-root: \"8\""));
    assert!(f["a/c/c.yaml"].contains("seen-by-a: \"4\""));
    assert!(f["a/c/c.yaml"].contains("seen-by-c: \"2\""));
}

#[test]
fn comments_survive_a_json_function() {
    let p = pkg(&[
        (
            "Kptfile",
            &kptfile(
                "p",
                "pipeline:\n  mutators:\n  - image: set-namespace:v0.4\n    configMap:\n      namespace: prod\n",
            ),
        ),
        (
            "deploy.yaml",
            "# header comment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # web server\nspec:\n  replicas: 3 # kpt-set: ${replicas}\n  selector:\n    matchLabels: {app: web}\n",
        ),
    ]);
    let e = FakeEvaluator::default().with("set-namespace", set_namespace("x"));
    let out = block_on(render(&p, &e, &RenderOptions::default()));
    assert_eq!(out.error, None);
    assert_eq!(
        out.package.files["deploy.yaml"],
        "# header comment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # web server\n  namespace: prod\nspec:\n  replicas: 3 # kpt-set: ${replicas}\n  selector:\n    matchLabels: {app: web}\n"
    );
    // configMap → ConfigMap function-input with string values
    let (img, input) = &e.calls()[0];
    assert_eq!(
        img,
        "ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4"
    );
    assert!(input.contains("functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: function-input\n  data:\n    namespace: prod\n"), "{input}");
}

#[test]
fn config_map_values_are_strings() {
    let p = pkg(&[(
        "Kptfile",
        &kptfile(
            "p",
            "pipeline:\n  mutators:\n  - image: echo\n    configMap:\n      replicas: 5\n      flag: true\n",
        ),
    )]);
    let e = FakeEvaluator::default().with("echo", |rl| (rl, String::new(), 0));
    block_on(render(&p, &e, &RenderOptions::default()));
    let (_, input) = &e.calls()[0];
    assert!(
        input.contains("  data:\n    flag: \"true\"\n    replicas: \"5\"\n"),
        "{input}"
    );
}

#[test]
fn config_path_is_refreshed_from_memory_per_mutator() {
    let p = pkg(&[
        (
            "Kptfile",
            &kptfile(
                "p",
                "pipeline:\n  mutators:\n  - image: bump\n  - image: setns\n    configPath: fn/config.yaml\n",
            ),
        ),
        (
            "fn/config.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  namespace: before\n",
        ),
    ]);
    let bump = |mut rl: ResourceList| {
        for i in &mut rl.items {
            if i.str_at(&["metadata", "name"]) == Some("cfg") {
                i.get_mut("data")
                    .unwrap()
                    .set("namespace", yaml::Node::string("after"));
            }
        }
        (rl, String::new(), 0)
    };
    let e = FakeEvaluator::default()
        .with("bump", bump)
        .with("setns", set_namespace("unused"));
    let out = block_on(render(&p, &e, &RenderOptions::default()));
    assert_eq!(out.error, None);
    let (_, input) = &e.calls()[1];
    assert!(input.contains("functionConfig:"), "{input}");
    assert!(
        input
            .split("functionConfig:")
            .nth(1)
            .unwrap()
            .contains("namespace: after")
    );
    assert!(out.package.files["fn/config.yaml"].contains("namespace: after"));
}

#[test]
fn missing_config_path_fails() {
    let p = pkg(&[(
        "Kptfile",
        &kptfile(
            "p",
            "pipeline:\n  mutators:\n  - image: x\n    configPath: nope.yaml\n",
        ),
    )]);
    let out = block_on(render(
        &p,
        &FakeEvaluator::default(),
        &RenderOptions::default(),
    ));
    assert!(out.error.unwrap().contains("nope.yaml"));
}

#[test]
fn selectors_merge_back_in_place_with_deletions_and_generated() {
    let p = pkg(&[
        (
            "Kptfile",
            &kptfile(
                "p",
                "pipeline:\n  mutators:\n  - image: edit\n    selectors:\n    - kind: ConfigMap\n    - name: b\n    exclude:\n    - name: c\n",
            ),
        ),
        ("a.yaml", &cm("a")),
        ("b.yaml", &cm("b")),
        ("c.yaml", &cm("c")),
        ("d.yaml", &cm("d")),
        (
            "svc.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
        ),
    ]);
    let edit = |rl: ResourceList| {
        let mut items: Vec<yaml::Node> = Vec::new();
        for mut i in through_json(&rl) {
            let name = i.str_at(&["metadata", "name"]).unwrap().to_string();
            if name == "d" {
                continue; // delete d
            }
            i.get_mut("data")
                .unwrap()
                .set("k", yaml::Node::string("edited"));
            items.push(i);
        }
        let mut generated = yaml::parse_document(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gen\n  namespace: ns1\n",
        )
        .unwrap()
        .root
        .unwrap();
        generated.set("type", yaml::Node::string("Opaque"));
        items.push(generated);
        (
            ResourceList {
                items,
                ..ResourceList::default()
            },
            String::new(),
            0,
        )
    };
    let e = FakeEvaluator::default().with("edit", edit);
    let out = block_on(render(&p, &e, &RenderOptions::default()));
    assert_eq!(out.error, None);
    let (_, input) = &e.calls()[0];
    // a, b, d selected once each (b matches two selectors), c excluded, svc and Kptfile not selected
    assert_eq!(input.matches("kind: ConfigMap").count(), 3, "{input}");
    assert!(!input.contains("name: c "));
    assert!(input.contains("internal.config.k8s.io/kpt-resource-id"));
    let f = &out.package.files;
    assert!(f["a.yaml"].contains("k: edited") && f["a.yaml"].contains("name: a # the name"));
    assert!(f["b.yaml"].contains("k: edited"));
    assert!(f["c.yaml"].contains("k: v"));
    assert!(!f.contains_key("d.yaml"), "emptied file is pruned");
    assert_eq!(
        f["svc.yaml"],
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n"
    );
    assert_eq!(
        f["ns1/secret_gen.yaml"],
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gen\n  namespace: ns1\ntype: Opaque\n"
    );
    assert!(!f["a.yaml"].contains("kpt-resource-id"));
}

#[test]
fn failure_changes_only_root_kptfile_status() {
    let p = pkg(&[
        (
            "Kptfile",
            &kptfile("root", "pipeline:\n  mutators:\n  - image: label-root\n"),
        ),
        ("root.yaml", &cm("root-cm")),
        (
            "sub/Kptfile",
            &kptfile(
                "sub",
                "pipeline:\n  mutators:\n  - image: label-sub\n  - image: boom\n",
            ),
        ),
        ("sub/s.yaml", &cm("s")),
    ]);
    let boom = |rl: ResourceList| {
        let mut out = rl.clone();
        out.results = kpt::results::parse_results(
            &serde_json::json!({"name": "boom", "items": [{"message": "bad thing", "severity": "error", "resourceRef": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}}, "field": {"path": "data.k", "suggestedValue": "x"}}]}),
        );
        (out, "it broke\n".to_string(), 1)
    };
    let e = FakeEvaluator::default()
        .with("label-root", labeler("root"))
        .with("label-sub", labeler("sub"))
        .with("boom", boom);
    let out = block_on(render(&p, &e, &RenderOptions::default()));
    let err = out.error.clone().unwrap();
    assert!(
        err.contains("exit code 1") && err.contains("it broke"),
        "{err}"
    );
    assert_eq!(out.package.files["sub/s.yaml"], p.files["sub/s.yaml"]);
    assert_eq!(out.package.files["root.yaml"], p.files["root.yaml"]);
    assert_eq!(out.package.files["sub/Kptfile"], p.files["sub/Kptfile"]);
    let kf = &out.package.files["Kptfile"];
    assert!(
        kf.contains("  - type: Rendered\n    status: \"False\"\n    reason: RenderFailed\n"),
        "{kf}"
    );
    assert!(kf.contains("errorSummary:"), "{kf}");
    // label-root never ran; results list sub's two steps, exit code 1
    assert_eq!(e.calls().len(), 2);
    assert_eq!(out.results.exit_code, 1);
    assert_eq!(out.results.items.len(), 2);
    let failed = &out.results.items[1];
    assert_eq!(failed.exit_code, 1);
    assert_eq!(failed.stderr, "it broke\n");
    assert_eq!(failed.results[0].message, "bad thing");
    assert_eq!(failed.results[0].resource_ref.as_ref().unwrap().name, "s");
    assert_eq!(
        failed.results[0].field.as_ref().unwrap().proposed_value,
        Some(serde_json::json!("x"))
    );
    // the failed Kptfile still parses strictly
    kpt::Kptfile::parse("Kptfile", kf).unwrap();
}

#[test]
fn save_on_render_failure_keeps_partial_output() {
    let p = pkg(&[
        (
            "Kptfile",
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: root\n  annotations:\n    kpt.dev/save-on-render-failure: \"true\"\npipeline:\n  mutators:\n  - image: label-root\n  - image: boom\n",
        ),
        ("root.yaml", &cm("root-cm")),
        (
            "sub/Kptfile",
            &kptfile("sub", "pipeline:\n  mutators:\n  - image: label-sub\n"),
        ),
        ("sub/s.yaml", &cm("s")),
    ]);
    let e = FakeEvaluator::default()
        .with("label-root", labeler("root"))
        .with("label-sub", labeler("sub"))
        .with("boom", |rl| (rl, String::new(), 2));
    let out = block_on(render(&p, &e, &RenderOptions::default()));
    assert!(out.error.unwrap().contains("exit code 2"));
    assert!(out.package.files["root.yaml"].contains("seen-by-root"));
    assert!(out.package.files["sub/s.yaml"].contains("seen-by-sub"));
}

#[test]
fn severity_error_with_exit_zero_passes() {
    let p = pkg(&[
        (
            "Kptfile",
            &kptfile("p", "pipeline:\n  validators:\n  - image: warn\n"),
        ),
        ("a.yaml", &cm("a")),
    ]);
    let warn = |mut rl: ResourceList| {
        rl.results = kpt::results::parse_results(
            &serde_json::json!([{"message": "looks bad", "severity": "error"}]),
        );
        rl.items.clear(); // validator output is discarded
        (rl, String::new(), 0)
    };
    let out = block_on(render(
        &p,
        &FakeEvaluator::default().with("warn", warn),
        &RenderOptions::default(),
    ));
    assert_eq!(out.error, None);
    assert_eq!(out.package.files["a.yaml"], p.files["a.yaml"]);
    assert_eq!(out.results.items[0].results[0].severity, "error");
    assert!(out.package.files["Kptfile"].contains("validationSteps:"));
    assert!(out.package.files["Kptfile"].contains("errorResults:"));
}

#[test]
fn non_krm_yaml_fails_even_without_pipeline() {
    let p = pkg(&[
        ("Kptfile", &kptfile("p", "")),
        ("bad.yaml", "a: 1\n"),
        ("ok.yaml", &cm("ok")),
    ]);
    let out = block_on(render(
        &p,
        &FakeEvaluator::default(),
        &RenderOptions::default(),
    ));
    let err = out.error.unwrap();
    assert!(err.contains("bad.yaml:1") && err.contains("KRM"), "{err}");
    assert_eq!(out.package.files["bad.yaml"], "a: 1\n");
    assert!(out.package.files["Kptfile"].contains("RenderFailed"));
}

#[test]
fn output_path_invariants_are_enforced() {
    let escape = |mut rl: ResourceList| {
        for i in &mut rl.items {
            kpt::resource::set_annotation(i, "internal.config.kubernetes.io/path", "../evil.yaml");
        }
        (rl, String::new(), 0)
    };
    let dup = |mut rl: ResourceList| {
        for i in &mut rl.items {
            kpt::resource::set_annotation(i, "internal.config.kubernetes.io/path", "same.yaml");
            kpt::resource::set_annotation(i, "config.kubernetes.io/path", "same.yaml");
            kpt::resource::set_annotation(i, "internal.config.kubernetes.io/index", "0");
            kpt::resource::set_annotation(i, "config.kubernetes.io/index", "0");
        }
        (rl, String::new(), 0)
    };
    for (img, needle) in [("escape", "leaves the package"), ("dup", "already exists")] {
        let p = pkg(&[
            (
                "Kptfile",
                &kptfile("p", &format!("pipeline:\n  mutators:\n  - image: {img}\n")),
            ),
            ("a.yaml", &cm("a")),
            ("b.yaml", &cm("b")),
        ]);
        let e = FakeEvaluator::default()
            .with("escape", escape)
            .with("dup", dup);
        let out = block_on(render(&p, &e, &RenderOptions::default()));
        let err = out.error.unwrap();
        assert!(err.contains(needle), "{img}: {err}");
        assert_eq!(out.package.files["a.yaml"], p.files["a.yaml"]);
    }
}

#[test]
fn unknown_function_and_exec_fail() {
    let p = pkg(&[(
        "Kptfile",
        &kptfile("p", "pipeline:\n  mutators:\n  - image: nope\n"),
    )]);
    let out = block_on(render(
        &p,
        &FakeEvaluator::default(),
        &RenderOptions::default(),
    ));
    assert!(out.error.unwrap().contains("not found"));
    let p = pkg(&[(
        "Kptfile",
        &kptfile("p", "pipeline:\n  mutators:\n  - exec: ./fn.sh\n"),
    )]);
    let out = block_on(render(
        &p,
        &FakeEvaluator::default(),
        &RenderOptions::default(),
    ));
    assert!(out.error.unwrap().contains("not allowed"));
}

#[test]
fn function_emptying_the_list_prunes_all_files_and_attribution() {
    let p = pkg(&[
        (
            "Kptfile",
            &kptfile("p", "pipeline:\n  mutators:\n  - image: drop-cms\n"),
        ),
        ("a.yaml", &cm("a")),
        (
            "sql.yaml",
            "apiVersion: sql.cnrm.cloud.google.com/v1beta1\nkind: SQLInstance\nmetadata:\n  name: db\n  annotations:\n    cnrm.cloud.google.com/blueprint: 'kpt-pkg'\n",
        ),
    ]);
    let drop = |mut rl: ResourceList| {
        rl.items
            .retain(|i| i.str_at(&["kind"]) != Some("ConfigMap"));
        (rl, String::new(), 0)
    };
    let out = block_on(render(
        &p,
        &FakeEvaluator::default().with("drop-cms", drop),
        &RenderOptions::default(),
    ));
    assert_eq!(out.error, None);
    assert!(!out.package.files.contains_key("a.yaml"));
    assert!(
        out.package.files["sql.yaml"].contains("cnrm.cloud.google.com/blueprint: 'kpt-pkg-fn'"),
        "{}",
        out.package.files["sql.yaml"]
    );
}

#[test]
fn no_kptfile_means_no_render() {
    let p = pkg(&[("a.yaml", "not: krm\n")]);
    let out = block_on(render(
        &p,
        &FakeEvaluator::default(),
        &RenderOptions::default(),
    ));
    assert_eq!(out.error, None);
    assert_eq!(out.package, p);
}

#[test]
fn invalid_kptfile_is_an_error_naming_the_field() {
    let p = pkg(&[(
        "Kptfile",
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\npipeline:\n  mutators:\n  - image: x\n    bogus: 1\n",
    )]);
    let out = block_on(render(
        &p,
        &FakeEvaluator::default(),
        &RenderOptions::default(),
    ));
    let err = out.error.unwrap();
    assert!(err.contains("Kptfile:8") && err.contains("bogus"), "{err}");
}

#[test]
fn identity_function_keeps_files_byte_for_byte() {
    // Document head comments land on the list item inside the ResourceList; heal
    // must put them back above the first key exactly once.
    let deploy = "# The web tier.\n# Second line.\napiVersion: apps/v1\nkind: Deployment\nmetadata: # kpt-merge: shop/web\n  name: web\n  namespace: shop\nspec:\n  # how many\n  replicas: 3 # kpt-set: ${replicas}\n  template:\n    spec:\n      containers:\n      # the app\n      - name: app\n        image: nginx:1.21\n";
    let multi = "# first\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# second\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n";
    let p = pkg(&[
        (
            "Kptfile",
            &kptfile("shop", "pipeline:\n  mutators:\n  - image: identity\n"),
        ),
        ("deploy.yaml", deploy),
        ("multi.yaml", multi),
    ]);
    let e = FakeEvaluator::default().with("identity", |rl| (rl, String::new(), 0));
    let out = block_on(render(&p, &e, &RenderOptions::default()));
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.package.files["deploy.yaml"], deploy);
    assert_eq!(out.package.files["multi.yaml"], multi);
}

/// An evaluator answering every call with fixed wire text and exit code.
struct Raw(&'static str, i32);

impl kpt::fn_eval::Evaluator for Raw {
    fn evaluate<'a>(
        &'a self,
        _function: &'a kpt::fn_eval::FunctionRef,
        _resource_list: &'a [u8],
    ) -> kpt::fn_eval::EvalFuture<'a> {
        Box::pin(async move {
            Ok(kpt::fn_eval::EvalOutput {
                resource_list: self.0.as_bytes().to_vec(),
                stderr: Vec::new(),
                exit_code: self.1,
            })
        })
    }
}

#[test]
fn legacy_results_map_and_exit_status_decide_pass_or_fail() {
    // §8.5: results may come as the legacy `{items: [...]}` map; pass/fail is the
    // exit status only
    let p = pkg(&[
        (
            "Kptfile",
            &kptfile("p", "pipeline:\n  validators:\n  - image: check\n"),
        ),
        ("a.yaml", &cm("a")),
    ]);
    let out_text = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nresults:\n  items:\n  - message: looks wrong\n    severity: error\n    resourceRef:\n      apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: a\n";
    let out = block_on(render(&p, &Raw(out_text, 0), &RenderOptions::default()));
    assert_eq!(out.error, None);
    let r = &out.results.items[0].results;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].message, "looks wrong");
    assert_eq!(out.package.files["a.yaml"], cm("a"));

    let out = block_on(render(&p, &Raw(out_text, 1), &RenderOptions::default()));
    let err = out.error.unwrap();
    assert!(err.contains("exit code 1"), "{err}");
    assert_eq!(out.package.files["a.yaml"], cm("a"));
    assert!(
        out.package.files["Kptfile"].contains("reason: RenderFailed"),
        "{}",
        out.package.files["Kptfile"]
    );
}

#[test]
fn function_output_errors_name_what_is_wrong() {
    let p = pkg(&[
        (
            "Kptfile",
            &kptfile("p", "pipeline:\n  mutators:\n  - image: bad\n"),
        ),
        ("a.yaml", &cm("a")),
    ]);
    for (text, want) in [
        (
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [\n",
            "invalid ResourceList",
        ),
        (
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- foo: bar\n",
            "only KRM resources (missing apiVersion)",
        ),
        (
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: x\n    annotations:\n      internal.config.kubernetes.io/path: '../../etc/passwd'\n",
            "path leaves the package",
        ),
        (
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: x\n    annotations:\n      internal.config.kubernetes.io/path: '/etc/passwd'\n",
            "absolute paths are not allowed",
        ),
    ] {
        let out = block_on(render(&p, &Raw(text, 0), &RenderOptions::default()));
        let err = out.error.unwrap_or_default();
        assert!(err.contains(want), "{want:?} not in {err:?}");
        assert_eq!(out.package.files["a.yaml"], cm("a"), "nothing written");
    }
}
