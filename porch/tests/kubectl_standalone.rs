#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The kubectl suite (`porch_e2e::kubectl_suite`, the same steps as
//! `porch-api/tests/kubectl_suite.rs`) against the `porch` binary: `porch standalone` as a
//! child process with its own data directory on a free loopback port, the repository on the
//! loopback git server in this process, registered through the binary's API and synced by its
//! operators. One binary start, the steps in order.

use std::time::{Duration, Instant};

use kube::api::Api;
use porch_crds::config::v1alpha1::Repository;
use porch_e2e::kubectl_suite::{self, NS, REPO, Target};
use porch_e2e::standalone::Standalone;
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions};

const USER: &str = "porch";
const PASSWORD: &str = "kubectl-standalone-pw";

/// Wait (bounded) until the operators report the Repository `Ready=True`.
async fn await_ready(client: &kube::Client, porch: &Standalone) {
    let repos: Api<Repository> = Api::namespaced(client.clone(), NS);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let repo = repos.get(REPO).await.unwrap();
        let ready = repo.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        });
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "repository never became ready: {:?}\nporch stderr:\n{}",
            repo.status,
            porch.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_suite_against_porch_standalone() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().unwrap();
    let git = GitServer::start(
        tmp.path().join("git"),
        ServerOptions::with_user(USER, PASSWORD),
    )
    .await
    .unwrap();
    let url = git
        .create_repo(
            REPO,
            RepoOptions {
                anonymous_read: false,
                initial_readme: true,
            },
        )
        .await
        .unwrap();

    let porch = Standalone::start(
        env!("CARGO_BIN_EXE_porch").as_ref(),
        &tmp.path().join("porch"),
        tmp.path(),
        "info",
    );
    let client = porch.client().await;
    kubectl_suite::register_repository(&client, &url, USER, PASSWORD).await;
    await_ready(&client, &porch).await;

    kubectl_suite::run(&Target {
        kubeconfig: porch.kubeconfig.clone(),
        kubectl_cache: tmp.path().join("kubectl-cache"),
        client,
        operators: true,
    })
    .await;

    assert!(
        !porch.log().contains(PASSWORD),
        "a credential reached the log"
    );
    drop(porch);
    git.stop().await;
}

async fn git(args: &[&str], cwd: &std::path::Path) -> String {
    let out = tokio::process::Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PackageRev the operators synced from a git tag carries an ownerReference to its
/// porch.kpt.dev PackageRevision, which lives in an aggregated group, not in the API server's
/// store. The garbage collector once took that owner for gone and marked every synced
/// PackageRev for deletion, and the engine then read the next metadata update as the removal
/// of the last finalizer and deleted the revision, tag included. A label patch must keep it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_patch_keeps_a_synced_published_revision() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().unwrap();
    let git_server = GitServer::start(
        tmp.path().join("git"),
        ServerOptions::with_user(USER, PASSWORD),
    )
    .await
    .unwrap();
    let url = git_server
        .create_repo(
            REPO,
            RepoOptions {
                anonymous_read: false,
                initial_readme: true,
            },
        )
        .await
        .unwrap();
    // Someone publishes pkg v1 the upstream way: a commit on main and the tag pkg/v1.
    let work = tmp.path().join("clone");
    let push_url = url.replacen("http://", &format!("http://{USER}:{PASSWORD}@"), 1);
    git(
        &["clone", "-q", &push_url, &work.display().to_string()],
        tmp.path(),
    )
    .await;
    std::fs::create_dir_all(work.join("pkg")).unwrap();
    std::fs::write(
        work.join("pkg/Kptfile"),
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n",
    )
    .unwrap();
    for args in [
        &["add", "pkg"][..],
        &[
            "-c",
            "user.name=e2e",
            "-c",
            "user.email=e2e@example.com",
            "commit",
            "-q",
            "-m",
            "pkg v1",
        ],
        &["tag", "pkg/v1"],
        &["push", "-q", "origin", "main", "pkg/v1"],
    ] {
        git(args, &work).await;
    }

    let porch = Standalone::start(
        env!("CARGO_BIN_EXE_porch").as_ref(),
        &tmp.path().join("porch"),
        tmp.path(),
        "info",
    );
    let client = porch.client().await;
    kubectl_suite::register_repository(&client, &url, USER, PASSWORD).await;
    await_ready(&client, &porch).await;
    let k = porch_e2e::kubectl::Kubectl {
        kubeconfig: porch.kubeconfig.clone(),
        cache: tmp.path().join("kubectl-cache"),
    };
    let name = format!("{REPO}.pkg.v1");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !k.run(&["get", "packagerevision", &name]).await.ok {
        assert!(Instant::now() < deadline, "{name} never synced");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give the API server's garbage collector a sweep.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let rev = k
        .json(&["get", "packagerevs.config.porch.kpt.dev", &name])
        .await;
    assert!(
        rev["metadata"]["deletionTimestamp"].is_null(),
        "a freshly synced PackageRev is being deleted: {}",
        rev["metadata"]
    );
    for value in ["a", "b"] {
        k.run(&[
            "label",
            "packagerevision",
            &name,
            &format!("team={value}"),
            "--overwrite",
        ])
        .await
        .success();
    }
    let tags = git(&["ls-remote", "--tags", &push_url], tmp.path()).await;
    assert!(tags.contains("refs/tags/pkg/v1"), "the tag is gone: {tags}");
    drop(porch);
    git_server.stop().await;
}
