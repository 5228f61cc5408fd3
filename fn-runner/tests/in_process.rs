#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The in-process chain through the kpt `Evaluator` trait: kpt exit-code semantics.

use kpt::fn_eval::{EvalError, FunctionRef};
use porch_fn_runner::{InProcessConfig, in_process_evaluator};

const RL: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: s}}\n";

#[tokio::test]
async fn failures_carry_results_and_unknown_images_are_not_found() {
    let eval = in_process_evaluator(InProcessConfig::default());

    let out = eval
        .evaluate(&FunctionRef::Image("set-labels:v0.2".into()), RL.as_bytes())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 1);
    let v = porch_fn_runner::yaml::parse(&out.resource_list).unwrap();
    assert_eq!(v["results"][0]["severity"], "error");
    assert_eq!(v["items"][0]["metadata"]["name"], "s");
    assert!(String::from_utf8_lossy(&out.stderr).contains("functionConfig"));

    // set-namespace reports config errors as results but exits 0, as upstream does.
    let out = eval
        .evaluate(
            &FunctionRef::Image("set-namespace:v0.4".into()),
            RL.as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let v = porch_fn_runner::yaml::parse(&out.resource_list).unwrap();
    assert_eq!(v["results"][0]["severity"], "error");

    let err = eval
        .evaluate(
            &FunctionRef::Image("ghcr.io/someone/else:v1".into()),
            RL.as_bytes(),
        )
        .await
        .unwrap_err();
    assert_eq!(err, EvalError::NotFound("ghcr.io/someone/else:v1".into()));
    let err = eval
        .evaluate(&FunctionRef::Exec("./fn".into()), RL.as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, EvalError::NotFound(_)));
}

#[tokio::test]
async fn exec_entries_come_from_a_function_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("echo-fn");
    std::fs::write(&bin, "#!/bin/sh\ncat\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let cfg = dir.path().join("fc.yaml");
    std::fs::write(
        &cfg,
        "apiVersion: config.porch.kpt.dev/v1alpha1\nkind: FunctionConfig\nmetadata: {name: echo-fn}\nspec:\n  image: echo-fn\n  prefixes: ['']\n  binaryExecutor: {path: echo-fn, tags: [v1]}\n",
    )
    .unwrap();
    let config = InProcessConfig::default()
        .with_function_config_file(&cfg, dir.path())
        .unwrap();
    let eval = in_process_evaluator(config);
    let out = eval
        .evaluate(&FunctionRef::Image("echo-fn:v1".into()), RL.as_bytes())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.resource_list, RL.as_bytes());
    let err = eval
        .evaluate(&FunctionRef::Image("echo-fn:v2".into()), RL.as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, EvalError::NotFound(_)));
}
