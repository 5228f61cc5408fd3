#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The four shared golden cases (`../shared/conformance/cases`) run by the conformance runner
//! through the real porchctl binary, against a stateful simulation of the Porch API. This pins
//! porchctl's side of every expected line; the full run against `porch standalone` and the git
//! server is `just conformance`.

mod support;

use std::time::Duration;

use porchctl::cli::KubeFlags;
use porchctl::conformance::case::load_cases;
use porchctl::conformance::runner::{Runner, Settings, UPSTREAM_GIT_BASE};
use porchctl::connect::Connector;
use support::porch_sim::PorchSim;

#[tokio::test]
async fn shared_cases_pass_against_the_simulated_api() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // SHARED_DIR points at shared/conformance when it is not next to the repository.
    let dir = std::env::var_os("SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../shared/conformance")
        })
        .join("cases");
    if !dir.is_dir() {
        eprintln!("skipping: {} not present", dir.display());
        return;
    }
    let cases = load_cases(&dir).unwrap();
    assert!(cases.len() >= 4);
    let sim = PorchSim::default();
    let (addr, server) = sim.serve().await;
    let tmp = tempfile::tempdir().unwrap();
    let kc = tmp.path().join("kubeconfig");
    std::fs::write(&kc, format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n")).unwrap();
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
            "http://127.0.0.1:9".to_string(),
        )],
        workdir: tmp.path().to_path_buf(),
        reset_repo_cmd: None,
        ready_timeout: Duration::from_secs(5),
        keep_namespaces: false,
    };
    let results = Runner::new(session.rest.clone(), settings)
        .run_all(&cases)
        .await;
    server.abort();
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| {
            format!(
                "{} #{}: {}\n{}",
                r.case,
                r.index,
                r.args.join(" "),
                r.failures.join("\n")
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "failed commands:\n{}",
        failed.join("\n\n")
    );
    assert_eq!(results.len(), 7 + 8 + 5 + 23);
}
