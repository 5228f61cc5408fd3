#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The conformance runner end to end: the real porchctl binary, a kubeconfig, and a fake API
//! served over loopback HTTP.

mod support;

use std::path::Path;
use std::time::Duration;

use porchctl::cli::KubeFlags;
use porchctl::conformance::case::parse_case;
use porchctl::conformance::runner::{Runner, Settings, UPSTREAM_GIT_BASE};
use porchctl::connect::Connector;
use serde_json::json;
use support::*;

const CASE: &str = r#"
commands:
  - args: [porchctl, repo, register, --namespace=demo, --name=git, --repo-basic-password=secret, --repo-basic-username=nephio, "http://gitea.gitea.svc.cluster.local:3000/nephio/porch-test"]
  - args: [porchctl, rpkg, init, --namespace=demo, --repository=git, --workspace=ws, pkg]
    stdout: |
      git.pkg.ws created
  - args: [porchctl, rpkg, get, git.pkg.ws, --namespace=demo]
    stdout: |
      NAME         PACKAGE   WORKSPACENAME   REVISION   LATEST   LIFECYCLE   REPOSITORY
      git.pkg.ws   pkg       ws              0          false    Draft       git
  - args: [porchctl, rpkg, get, git.gone.ws, --namespace=demo]
    stderr: "Error: the server could not find the requested resource (get packagerevisions.porch.kpt.dev git.gone.ws) \n"
    exitCode: 1
  - args: [sh, -c, "printf 'b\na\n' >&2; printf 'H\nz\ny\n'"]
    stdout: "H\ny\nz\n"
    stderr: "b\na\n"
  - args: [porchctl, rpkg, init, --namespace=demo, --repository=git, --workspace=ws, pkg]
    stdout: "something else\n"
"#;

fn kubeconfig(dir: &Path, addr: std::net::SocketAddr) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n    namespace: default\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    path
}

#[tokio::test]
async fn runs_a_case_against_a_live_server() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeApi::new();
    let base = "/apis/porch.kpt.dev/v1alpha1/namespaces/demo/packagerevisions";
    let repos = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/demo/repositories";
    fake.on("POST", "/api/v1/namespaces", 201, json!({}));
    fake.on("POST", "/api/v1/namespaces/demo/secrets", 201, json!({}));
    fake.on("POST", repos, 201, json!({}));
    fake.on(
        "GET",
        &format!("{repos}/git"),
        200,
        json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    );
    fake.on(
        "POST",
        base,
        201,
        json!({"metadata": {"name": "git.pkg.ws"}}),
    );
    fake.on(
        "GET",
        &format!("{base}/git.pkg.ws"),
        200,
        pr_table(&[("git.pkg.ws", "pkg", "ws", 0, false, "Draft", "git")]),
    );
    fake.on("DELETE", "/api/v1/namespaces/demo", 200, json!({}));
    let revs = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/demo/packagerevs";
    fake.on(
        "GET",
        revs,
        200,
        list(
            "PackageRevList",
            "config.porch.kpt.dev/v1alpha1",
            vec![json!({"metadata": {"name": "git.pkg.ws", "finalizers": ["x"]}})],
        ),
    );
    fake.on("PATCH", &format!("{revs}/git.pkg.ws"), 200, json!({}));
    let (addr, server) = fake.serve().await;

    let tmp = tempfile::tempdir().unwrap();
    let kc = kubeconfig(tmp.path(), addr);
    let flags = KubeFlags {
        kubeconfig: Some(kc.display().to_string()),
        ..Default::default()
    };
    let session = Connector::Kubeconfig.connect(&flags).await.unwrap();
    let settings = Settings {
        porchctl: env!("CARGO_BIN_EXE_porchctl").into(),
        kubeconfig: kc,
        substitutions: vec![(
            UPSTREAM_GIT_BASE.to_string(),
            "http://127.0.0.1:1".to_string(),
        )],
        workdir: tmp.path().to_path_buf(),
        reset_repo_cmd: None,
        ready_timeout: Duration::from_secs(5),
        keep_namespaces: false,
    };
    let case = parse_case("demo", Path::new("demo.yaml"), CASE).unwrap();
    let results = Runner::new(session.rest.clone(), settings)
        .run_all(&[case])
        .await;
    server.abort();

    let passed: Vec<bool> = results.iter().map(|r| r.passed()).collect();
    assert_eq!(
        passed,
        vec![true, true, true, true, true, false],
        "{results:#?}"
    );
    let last = &results[5];
    assert!(
        last.failures[0].contains("-something else")
            && last.failures[0].contains("+git.pkg.ws created"),
        "{last:?}"
    );
    // The git URL was substituted before porchctl ran.
    assert_eq!(
        fake.body_of("POST", repos)["spec"]["git"]["repo"],
        "http://127.0.0.1:1/nephio/porch-test"
    );
    let lines = fake.request_lines();
    assert_eq!(
        lines.first().map(String::as_str),
        Some("POST /api/v1/namespaces")
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("DELETE /api/v1/namespaces/demo")
    );
    assert_eq!(
        fake.body_of("PATCH", &format!("{revs}/git.pkg.ws")),
        json!({"metadata": {"finalizers": null}})
    );
}

#[tokio::test]
async fn binary_reads_kubeconfig_env_and_namespace_from_context() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeApi::new();
    fake.on(
        "GET",
        "/apis/porch.kpt.dev/v1alpha1/namespaces/default/packagerevisions",
        200,
        pr_table(&[("git.pkg.ws", "pkg", "ws", 0, false, "Draft", "git")]),
    );
    let (addr, server) = fake.serve().await;
    let tmp = tempfile::tempdir().unwrap();
    let kc = kubeconfig(tmp.path(), addr);
    let out = porchctl::conformance::runner::run_process(
        Path::new(env!("CARGO_BIN_EXE_porchctl")),
        &["rpkg".into(), "get".into()],
        None,
        &kc,
        tmp.path(),
    )
    .await
    .unwrap();
    server.abort();
    assert_eq!((out.exit_code, out.stderr.as_str()), (0, ""));
    assert!(
        out.stdout.starts_with("NAME         PACKAGE"),
        "{}",
        out.stdout
    );
}

#[test]
fn binary_requires_git_on_path() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_porchctl"))
        .args(["rpkg", "get"])
        .env("PATH", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "porchctl requires that `git` is installed and on the PATH\n"
    );
    assert!(out.stdout.is_empty());
}
