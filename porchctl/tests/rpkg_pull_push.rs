#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rpkg pull|push` against the in-process fake API.

mod support;

use serde_json::{Value, json};
use support::*;

const NAME: &str = "git.init-package.init-1";

fn prr() -> Value {
    json!({
        "apiVersion": "porch.kpt.dev/v1alpha1", "kind": "PackageRevisionResources",
        "metadata": {"name": NAME, "namespace": "ns", "uid": "45ee0692-730a-51b2-9a1d-ad4f4ad55dc8",
                     "resourceVersion": "0123abc", "creationTimestamp": "2026-01-01T00:00:00Z", "ownerReferences": []},
        "spec": {"packageName": "init-package", "workspaceName": "init-1", "repository": "git", "resources": {
            "Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: init-package\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ninfo:\n  description: Test Package Description\n",
            "README.md": "# init-package\n",
            "package-context.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ndata:\n  name: example\n",
        }},
        "status": {"renderStatus": {"result": {"exitCode": 0, "metadata": {}}, "error": ""}},
    })
}

#[tokio::test]
async fn pull_to_stdout_is_a_resource_list() {
    let fake = FakeApi::new();
    fake.on("GET", &format!("{PRR_BASE}/{NAME}"), 200, prr());
    let (code, out, err) = fake
        .run(&["rpkg", "pull", "--namespace=ns", NAME], "")
        .await;
    assert_eq!((code, err.as_str()), (0, ""));
    let v: Value = serde_saphyr::from_str(&out).unwrap();
    assert_eq!(v["kind"], "ResourceList");
    assert_eq!(v["apiVersion"], "config.kubernetes.io/v1");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "README.md is not KRM: {out}");
    assert_eq!(
        items[0],
        json!({"apiVersion": "", "kind": "KptRevisionMetadata", "metadata": {
        "annotations": {"config.kubernetes.io/index": "0", "config.kubernetes.io/path": ".KptRevisionMetadata",
                        "internal.config.kubernetes.io/index": "0", "internal.config.kubernetes.io/path": ".KptRevisionMetadata"},
        "creationTimestamp": "2026-01-01T00:00:00Z", "name": NAME, "namespace": "ns", "resourceVersion": "0123abc",
        "uid": "45ee0692-730a-51b2-9a1d-ad4f4ad55dc8"}})
    );
    assert_eq!(
        items[2]["metadata"]["annotations"]["config.kubernetes.io/path"],
        "package-context.yaml"
    );
    assert!(
        out.contains("\nitems:\n- apiVersion: \"\"\n  kind: KptRevisionMetadata\n"),
        "{out}"
    );
}

#[tokio::test]
async fn pull_to_dir_then_push_from_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pkg");
    let dir_s = dir.to_str().unwrap();
    let fake = FakeApi::new();
    let path = format!("{PRR_BASE}/{NAME}");
    fake.on("GET", &path, 200, prr());
    let (code, out, err) = fake
        .run(&["rpkg", "pull", "-n", "ns", NAME, dir_s], "")
        .await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).unwrap(),
        "# init-package\n"
    );
    let meta = std::fs::read_to_string(dir.join(".KptRevisionMetadata")).unwrap();
    assert!(meta.contains("resourceVersion: 0123abc"), "{meta}");

    let (code, _, err) = fake
        .run(&["rpkg", "pull", "-n", "ns", NAME, dir_s], "")
        .await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "Error: directory {dir_s:?} already exists, please delete the directory and retry \n"
        )
    );

    std::fs::write(dir.join("new.yaml"), "kind: X\n").unwrap();
    let mut rendered = prr();
    rendered["status"]["renderStatus"] = json!({"error": "", "result": {"exitCode": 0, "items": [
        {"image": "ghcr.io/kptdev/krm-functions-catalog/apply-setters:v0.2", "exitCode": 0,
         "results": [{"message": "set x", "severity": "info"}]}]}});
    fake.on("PUT", &path, 200, rendered);
    let (code, out, err) = fake
        .run(&["rpkg", "push", "-n", "ns", NAME, dir_s], "")
        .await;
    assert_eq!(
        (code, out.as_str()),
        (0, "git.init-package.init-1 pushed\n")
    );
    assert_eq!(
        err,
        "[RUNNING] \"ghcr.io/kptdev/krm-functions-catalog/apply-setters:v0.2\" \n[PASS] \"ghcr.io/kptdev/krm-functions-catalog/apply-setters:v0.2\"\n[Results]: [info]: set x\n"
    );
    let body = fake.body_of("PUT", &path);
    assert_eq!(
        body["metadata"],
        json!({"name": NAME, "namespace": "ns", "resourceVersion": "0123abc"})
    );
    let files: Vec<&String> = body["spec"]["resources"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        files,
        vec!["Kptfile", "README.md", "new.yaml", "package-context.yaml"]
    );
    assert_eq!(body["spec"]["resources"]["README.md"], "# init-package\n");
}

#[tokio::test]
async fn push_from_stdin() {
    let fake = FakeApi::new();
    let get = FakeApi::new();
    get.on("GET", &format!("{PRR_BASE}/{NAME}"), 200, prr());
    let (_, list, _) = get.run(&["rpkg", "pull", "-n", "ns", NAME], "").await;
    let path = format!("{PRR_BASE}/{NAME}");
    fake.on("PUT", &path, 200, prr());
    let (code, out, err) = fake
        .run(&["rpkg", "push", "-n", "ns", NAME, "-"], &list)
        .await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "git.init-package.init-1 pushed\n", "")
    );
    let body = fake.body_of("PUT", &path);
    assert_eq!(body["metadata"]["resourceVersion"], "0123abc");
    let kptfile = body["spec"]["resources"]["Kptfile"].as_str().unwrap();
    assert!(!kptfile.contains("config.kubernetes.io/path"), "{kptfile}");
    assert!(
        kptfile.contains("config.kubernetes.io/local-config: \"true\""),
        "{kptfile}"
    );
    assert!(
        body["spec"]["resources"]
            .get(".KptRevisionMetadata")
            .is_none()
    );

    // Without "-" the same works, with the deprecation warning first.
    let (code, _, err) = fake.run(&["rpkg", "push", "-n", "ns", NAME], &list).await;
    assert_eq!(code, 0);
    assert_eq!(
        err,
        "Warning: This way of using stdin will be deprecated in Porch release 5.x.x. Please use '-' to provide stdin.\n"
    );
}

#[tokio::test]
async fn push_errors() {
    let fake = FakeApi::new();
    let (code, _, err) = fake
        .run(
            &["rpkg", "push", "-n", "ns", NAME, "-"],
            "kind: ConfigMap\nmetadata:\n  name: c\n",
        )
        .await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "Error: \".KptRevisionMetadata\" not found in PackageRevisionResources 'ns/{NAME}'\nuse \"porchctl rpkg pull\" to download the remote package metadata before pushing \n"
        )
    );
    let path = format!("{PRR_BASE}/{NAME}");
    fake.fail(
        "PUT",
        &path,
        500,
        "InternalError",
        "Internal error occurred: resourceVersion must be specified for an update",
    );
    let stdin = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: \"\"\n  kind: KptRevisionMetadata\n  metadata:\n    name: x\n    annotations:\n      config.kubernetes.io/path: .KptRevisionMetadata\n";
    let (code, _, err) = fake
        .run(&["rpkg", "push", "-n", "ns", NAME, "-"], stdin)
        .await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: Internal error occurred: resourceVersion must be specified for an update \n"
        )
    );
    assert!(
        fake.body_of("PUT", &path)["metadata"]
            .get("resourceVersion")
            .is_none()
    );
    let (_, _, err) = fake.run(&["rpkg", "push"], "").await;
    assert_eq!(err, "Error: PACKAGE is a required positional argument \n");
    let (_, _, err) = fake.run(&["rpkg", "pull"], "").await;
    assert_eq!(err, "Error: PACKAGE is a required positional argument \n");
}
