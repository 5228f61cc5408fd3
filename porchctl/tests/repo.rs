#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `porchctl repo ...` and `version` against the in-process fake API.

mod support;

use serde_json::json;
use support::*;

#[tokio::test]
async fn version_prints_two_lines() {
    let (code, out, err) = FakeApi::new().run(&["version"], "").await;
    assert_eq!(code, 0);
    assert!(out.starts_with("Version: 0.1.0\nGit commit: "), "{out}");
    assert_eq!(out.lines().count(), 2);
    assert_eq!(err, "");
}

#[tokio::test]
async fn register_with_basic_auth_creates_secret_then_repository() {
    let fake = FakeApi::new();
    fake.on("POST", SECRET_BASE, 201, json!({}));
    fake.on("POST", REPO_BASE, 201, json!({}));
    let (code, out, err) = fake
        .run(
            &[
                "repo",
                "register",
                "--repo-basic-password=secret",
                "--repo-basic-username=nephio",
                "http://gitea.gitea.svc.cluster.local:3000/nephio/test-blueprints.git",
                "--namespace=ns",
                "--name=test-blueprints",
                "--description",
                "Test Blueprints",
            ],
            "",
        )
        .await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(
        fake.request_lines(),
        vec![format!("POST {SECRET_BASE}"), format!("POST {REPO_BASE}")]
    );
    assert_eq!(
        fake.body_of("POST", SECRET_BASE),
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "test-blueprints-auth", "namespace": "ns"},
            "type": "kubernetes.io/basic-auth",
            "data": {"username": "bmVwaGlv", "password": "c2VjcmV0"}
        })
    );
    assert_eq!(
        fake.body_of("POST", REPO_BASE),
        json!({
            "apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "Repository",
            "metadata": {"name": "test-blueprints", "namespace": "ns"},
            "spec": {"description": "Test Blueprints", "content": "Package", "type": "git",
                     "git": {"repo": "http://gitea.gitea.svc.cluster.local:3000/nephio/test-blueprints.git", "branch": "main", "directory": "/",
                             "secretRef": {"name": "test-blueprints-auth"}}}
        })
    );
}

#[tokio::test]
async fn register_oci_deployment_with_schedule_and_defaults() {
    let fake = FakeApi::new();
    fake.on(
        "POST",
        "/apis/config.porch.kpt.dev/v1alpha1/namespaces/default/repositories",
        201,
        json!({}),
    );
    let (code, _, err) = fake
        .run(
            &[
                "repo",
                "reg",
                "oci://registry.example/pkgs/",
                "--deployment",
                "--sync-schedule",
                "*/10 * * * *",
            ],
            "",
        )
        .await;
    assert_eq!((code, err.as_str()), (0, ""));
    let body = fake.body_of(
        "POST",
        "/apis/config.porch.kpt.dev/v1alpha1/namespaces/default/repositories",
    );
    assert_eq!(
        body["metadata"],
        json!({"name": "pkgs", "namespace": "default"})
    );
    assert_eq!(
        body["spec"],
        json!({"content": "Package", "deployment": true, "type": "oci",
        "oci": {"registry": "registry.example/pkgs/"}, "sync": {"schedule": "*/10 * * * *"}})
    );
}

#[tokio::test]
async fn register_git_flags() {
    let fake = FakeApi::new();
    fake.on("POST", REPO_BASE, 201, json!({}));
    let (code, _, _) = fake
        .run(
            &[
                "repo",
                "reg",
                "-n",
                "ns",
                "http://h/r.git",
                "--branch",
                "dev",
                "--create-branch",
                "--directory",
                "pkgs",
            ],
            "",
        )
        .await;
    assert_eq!(code, 0);
    assert_eq!(
        fake.body_of("POST", REPO_BASE)["spec"]["git"],
        json!({"repo": "http://h/r.git", "branch": "dev", "directory": "pkgs", "createBranch": true})
    );
}

#[tokio::test]
async fn register_errors() {
    let fake = FakeApi::new();
    let (code, out, err) = fake.run(&["repo", "reg"], "").await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "",
            "Error: repository is required positional argument \n"
        )
    );
    let (code, _, err) = fake
        .run(
            &[
                "repo",
                "reg",
                "http://h/r",
                "--repo-basic-username=u",
                "--repo-workload-identity",
            ],
            "",
        )
        .await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: both username/password and workload identity specified \n"
        )
    );
    let (code, _, err) = fake
        .run(
            &["repo", "reg", "http://h/r", "--sync-schedule", "every day"],
            "",
        )
        .await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: invalid sync-schedule cron expression: expected exactly 5 fields, found 2: [every day] \n"
        )
    );
    assert!(fake.requests().is_empty());
    fake.fail(
        "POST",
        REPO_BASE,
        409,
        "AlreadyExists",
        "repositories.config.porch.kpt.dev \"r\" already exists",
    );
    let (code, _, err) = fake
        .run(&["repo", "reg", "-n", "ns", "http://h/r"], "")
        .await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: repositories.config.porch.kpt.dev \"r\" already exists \n"
        )
    );
}

fn repo_obj(name: &str, ready: &str) -> serde_json::Value {
    json!({"metadata": {"name": name, "namespace": "ns"},
           "spec": {"type": "git", "content": "Package", "description": "Test Blueprints",
                    "git": {"repo": "http://h/nephio/test-blueprints.git", "branch": "main", "directory": "/", "secretRef": {"name": format!("{name}-auth")}}},
           "status": {"conditions": [{"type": "Ready", "status": ready, "reason": "Ready"}]}})
}

#[tokio::test]
async fn repo_get_custom_columns_and_no_headers() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        REPO_BASE,
        200,
        list(
            "RepositoryList",
            "config.porch.kpt.dev/v1alpha1",
            vec![repo_obj("test-blueprints", "True")],
        ),
    );
    let (code, out, err) = fake
        .run(&["repo", "get", "--namespace=ns", "--output=custom-columns=NAME:.metadata.name,TYPE:.spec.type,CONTENT:.spec.content,READY:.status.conditions[?(@.type=='Ready')].status,ADDRESS:.spec.git.repo,BRANCH:.spec.git.branch"], "")
        .await;
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "NAME              TYPE   CONTENT   READY   ADDRESS                               BRANCH\ntest-blueprints   git    Package   True    http://h/nephio/test-blueprints.git   main\n"
    );
    assert_eq!(fake.requests()[0].accept, "application/json");
    let (_, out, _) = fake
        .run(
            &[
                "repo",
                "get",
                "-n",
                "ns",
                "--no-headers",
                "-o",
                "custom-columns=NAME:.metadata.name,DESC:.spec.description",
            ],
            "",
        )
        .await;
    assert_eq!(out, "test-blueprints   Test Blueprints\n");
}

#[tokio::test]
async fn repo_get_table_and_empty_list() {
    let fake = FakeApi::new();
    let table = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
        "columnDefinitions": [{"name": "Name", "type": "string", "priority": 0}, {"name": "Type", "type": "string", "priority": 0}, {"name": "Age", "type": "date", "priority": 0}],
        "rows": [{"cells": ["blueprints", "git", "5m"], "object": {"metadata": {"name": "blueprints", "namespace": "ns"}}}]});
    fake.on("GET", REPO_BASE, 200, table);
    let (code, out, _) = fake.run(&["repo", "ls", "-n", "ns"], "").await;
    assert_eq!(code, 0);
    assert_eq!(out, "NAME         TYPE   AGE\nblueprints   git    5m\n");
    assert!(
        fake.requests()[0]
            .accept
            .starts_with("application/json;as=Table;g=meta.k8s.io;v=v1")
    );

    let empty = FakeApi::new();
    empty.on(
        "GET",
        REPO_BASE,
        200,
        list("RepositoryList", "config.porch.kpt.dev/v1alpha1", vec![]),
    );
    let (code, out, err) = empty
        .run(
            &[
                "repo",
                "get",
                "-n",
                "ns",
                "-o",
                "custom-columns=NAME:.metadata.name",
            ],
            "",
        )
        .await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    // A server answering the Table request with a plain (empty) list prints nothing either.
    let (code, out, err) = empty.run(&["repo", "get", "-n", "ns"], "").await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
}

#[tokio::test]
async fn repo_get_all_namespaces_uses_cluster_path() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        "/apis/config.porch.kpt.dev/v1alpha1/repositories",
        200,
        list(
            "RepositoryList",
            "config.porch.kpt.dev/v1alpha1",
            vec![repo_obj("a", "True")],
        ),
    );
    let (code, out, _) = fake.run(&["repo", "get", "-A", "-o", "name"], "").await;
    assert_eq!(code, 0);
    // -o name asks for the Table like upstream; a list answer still prints names.
    assert_eq!(out, "repository.config.porch.kpt.dev/a\n");
}

#[tokio::test]
async fn unregister_deletes_repository_then_secret() {
    let fake = FakeApi::new();
    let path = format!("{REPO_BASE}/test-blueprints");
    fake.on("GET", &path, 200, repo_obj("test-blueprints", "True"));
    fake.on("DELETE", &path, 200, json!({}));
    fake.on(
        "DELETE",
        &format!("{SECRET_BASE}/test-blueprints-auth"),
        200,
        json!({}),
    );
    let (code, out, err) = fake
        .run(
            &["repo", "unregister", "--namespace=ns", "test-blueprints"],
            "",
        )
        .await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(
        fake.request_lines(),
        vec![
            format!("GET {path}"),
            format!("DELETE {path}"),
            format!("DELETE {SECRET_BASE}/test-blueprints-auth")
        ]
    );

    let keep = FakeApi::new();
    keep.on("GET", &path, 200, repo_obj("test-blueprints", "True"));
    keep.on("DELETE", &path, 200, json!({}));
    let (code, _, _) = keep
        .run(
            &[
                "repo",
                "unreg",
                "-n",
                "ns",
                "test-blueprints",
                "--keep-auth-secret",
            ],
            "",
        )
        .await;
    assert_eq!(code, 0);
    assert_eq!(keep.request_lines().len(), 2);
}

#[tokio::test]
async fn unregister_errors() {
    let fake = FakeApi::new();
    let (code, _, err) = fake.run(&["repo", "unreg"], "").await;
    assert_eq!(
        (code, err.as_str()),
        (1, "Error: REPOSITORY is a required positional argument \n")
    );
    let path = format!("{REPO_BASE}/r");
    fake.on("GET", &path, 200, repo_obj("r", "True"));
    fake.on("DELETE", &path, 200, json!({}));
    fake.fail(
        "DELETE",
        &format!("{SECRET_BASE}/r-auth"),
        403,
        "Forbidden",
        "secrets \"r-auth\" is forbidden: no",
    );
    let (code, _, err) = fake.run(&["repo", "unreg", "-n", "ns", "r"], "").await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: failed to delete Secret r-auth: secrets \"r-auth\" is forbidden: no \n"
        )
    );
}

#[tokio::test]
async fn sync_sets_run_once_at() {
    let fake = FakeApi::new();
    let path = format!("{REPO_BASE}/a");
    fake.on("GET", &path, 200, repo_obj("a", "True"));
    fake.on("PUT", &path, 200, json!({}));
    fake.fail(
        "GET",
        &format!("{REPO_BASE}/missing"),
        404,
        "NotFound",
        "repositories.config.porch.kpt.dev \"missing\" not found",
    );
    let (code, out, err) = fake
        .run(
            &[
                "repo",
                "sync",
                "-n",
                "ns",
                "a",
                "missing",
                "--run-once",
                "2099-01-01T00:00:00Z",
            ],
            "",
        )
        .await;
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "Scheduled one-time sync for \"a\" at 2099-01-01T00:00:00Z\n"
    );
    assert_eq!(
        err,
        "Error fetching repository \"missing\": repositories.config.porch.kpt.dev \"missing\" not found\n"
    );
    assert_eq!(
        fake.body_of("PUT", &path)["spec"]["sync"],
        json!({"runOnceAt": "2099-01-01T00:00:00Z"})
    );
}

#[tokio::test]
async fn sync_all_and_errors() {
    let fake = FakeApi::new();
    let (code, _, err) = fake.run(&["repo", "sync", "a"], "").await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: namespace must be specified unless --all-namespaces is set \n"
        )
    );
    let (code, _, err) = fake.run(&["repo", "sync", "-n", "ns"], "").await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: repository name(s) required unless --all is set \n"
        )
    );
    let (code, _, err) = fake
        .run(
            &["repo", "sync", "-n", "ns", "a", "--run-once", "whenever"],
            "",
        )
        .await;
    assert_eq!(
        (code, err.as_str()),
        (1, "Error: invalid --run-once value \n")
    );
    fake.on(
        "GET",
        REPO_BASE,
        200,
        list("RepositoryList", "config.porch.kpt.dev/v1alpha1", vec![]),
    );
    let (code, _, err) = fake.run(&["repo", "sync", "-n", "ns", "--all"], "").await;
    assert_eq!(
        (code, err.as_str()),
        (1, "Error: no repositories found in namespace \"ns\" \n")
    );
    let (code, out, _) = FakeApi::new()
        .run(&["repo", "sync", "-n", "ns", "x", "--run-once", "10s"], "")
        .await;
    assert_eq!(code, 0);
    assert!(out.starts_with("Warning: Duration must be at least 1 minute. Sync time adjusted to comply with minimum delay.\n"), "{out}");
}
