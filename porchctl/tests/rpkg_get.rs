#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `porchctl rpkg get` against the in-process fake API.

mod support;

use serde_json::json;
use support::*;

#[tokio::test]
async fn default_table_requests_server_table() {
    let fake = FakeApi::new();
    let name = "git.lifecycle-package.lifecycle";
    fake.on(
        "GET",
        &format!("{PR_BASE}/{name}"),
        200,
        pr_table(&[(
            name,
            "lifecycle-package",
            "lifecycle",
            0,
            false,
            "Draft",
            "git",
        )]),
    );
    let (code, out, err) = fake.run(&["rpkg", "get", name, "--namespace=ns"], "").await;
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "NAME                              PACKAGE             WORKSPACENAME   REVISION   LATEST   LIFECYCLE   REPOSITORY\ngit.lifecycle-package.lifecycle   lifecycle-package   lifecycle       0          false    Draft       git\n"
    );
    assert_eq!(
        fake.requests()[0].accept,
        "application/json;as=Table;g=meta.k8s.io;v=v1,application/json"
    );
}

#[tokio::test]
async fn not_found_in_table_mode_is_the_generic_client_go_text() {
    let fake = FakeApi::new();
    let (code, out, err) = fake.run(&["rpkg", "get", "git.x.y", "-n", "ns"], "").await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "Error: the server could not find the requested resource (get packagerevisions.porch.kpt.dev git.x.y) \n"
    );
}

#[tokio::test]
async fn name_filter_sends_one_selector_and_filters_rows() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        PR_BASE,
        200,
        pr_table(&[
            (
                "test-blueprints.basens.main",
                "basens",
                "main",
                -1,
                false,
                "Published",
                "test-blueprints",
            ),
            (
                "test-blueprints.basens.v4",
                "basens",
                "v4",
                4,
                true,
                "Published",
                "test-blueprints",
            ),
            (
                "test-blueprints.empty.v1",
                "empty",
                "v1",
                1,
                true,
                "Published",
                "test-blueprints",
            ),
        ]),
    );
    let (code, out, _) = fake
        .run(
            &[
                "rpkg",
                "get",
                "--namespace=ns",
                "--name=basens",
                "--workspace=v4",
            ],
            "",
        )
        .await;
    assert_eq!(code, 0);
    assert_eq!(
        fake.requests()[0].query,
        "fieldSelector=spec.packageName%3Dbasens"
    );
    assert_eq!(
        out,
        "NAME                        PACKAGE   WORKSPACENAME   REVISION   LATEST   LIFECYCLE   REPOSITORY\ntest-blueprints.basens.v4   basens    v4              4          true     Published   test-blueprints\n"
    );
    let (_, out, _) = fake
        .run(
            &[
                "rpkg",
                "get",
                "-n",
                "ns",
                "--revision",
                "-1",
                "--no-headers",
            ],
            "",
        )
        .await;
    assert_eq!(fake.requests()[1].query, "fieldSelector=spec.revision%3D-1");
    assert_eq!(
        out,
        "test-blueprints.basens.main   basens   main   -1    false   Published   test-blueprints\n"
    );
}

#[tokio::test]
async fn all_namespaces_adds_namespace_column() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        "/apis/porch.kpt.dev/v1alpha1/packagerevisions",
        200,
        pr_table(&[("a.b.c", "b", "c", 1, true, "Published", "a")]),
    );
    let (code, out, _) = fake.run(&["rpkg", "get", "-A"], "").await;
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "NAMESPACE   NAME    PACKAGE   WORKSPACENAME   REVISION   LATEST   LIFECYCLE   REPOSITORY\nns          a.b.c   b         c               1          true     Published   a\n"
    );
}

#[tokio::test]
async fn custom_columns_fetch_objects_and_print_none() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        PR_BASE,
        200,
        list(
            "PackageRevisionList",
            "porch.kpt.dev/v1alpha1",
            vec![
                pr("git.p.ws", "p", "ws", 0, "Proposed"),
                pr("git.p.main", "p", "main", -1, "Published"),
            ],
        ),
    );
    let (code, out, _) = fake
        .run(&["rpkg", "get", "--namespace=ns", "--output=custom-columns=NAME:.metadata.name,PKG:.spec.packageName,REV:.spec.revision,LIFECYCLE:.spec.lifecycle"], "")
        .await;
    assert_eq!(code, 0);
    assert_eq!(fake.requests()[0].accept, "application/json");
    assert_eq!(
        out,
        "NAME         PKG   REV      LIFECYCLE\ngit.p.ws     p     <none>   Proposed\ngit.p.main   p     -1       Published\n"
    );
}

#[tokio::test]
async fn yaml_json_and_jsonpath_print_each_object() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        PR_BASE,
        200,
        list(
            "PackageRevisionList",
            "porch.kpt.dev/v1alpha1",
            vec![
                pr("git.p.a", "p", "a", 0, "Draft"),
                pr("git.p.b", "p", "b", 0, "Draft"),
            ],
        ),
    );
    let (_, out, _) = fake
        .run(&["rpkg", "get", "-n", "ns", "-o", "yaml"], "")
        .await;
    assert_eq!(out.matches("---\n").count(), 1);
    assert!(out.starts_with("apiVersion: porch.kpt.dev/v1alpha1\nkind: PackageRevision\nmetadata:\n  name: git.p.a\n"), "{out}");
    assert!(
        out.contains("  upstreamLock: {}\n") && out.contains("  publishTimestamp: null\n"),
        "{out}"
    );
    let (_, out, _) = fake
        .run(&["rpkg", "get", "-n", "ns", "-o", "json"], "")
        .await;
    assert!(
        out.starts_with("{\n    \"apiVersion\": \"porch.kpt.dev/v1alpha1\",\n"),
        "{out}"
    );
    let (_, out, _) = fake
        .run(
            &[
                "rpkg",
                "get",
                "-n",
                "ns",
                "-o",
                "jsonpath={.metadata.name}{\"\\n\"}",
            ],
            "",
        )
        .await;
    assert_eq!(out, "git.p.a\ngit.p.b\n");
    let (_, out, _) = fake
        .run(
            &[
                "rpkg",
                "get",
                "-n",
                "ns",
                "--workspace",
                "b",
                "-o",
                "jsonpath={.metadata.name}",
            ],
            "",
        )
        .await;
    assert_eq!(out, "git.p.b");
}

#[tokio::test]
async fn show_kptfile_prints_the_raw_file() {
    let fake = FakeApi::new();
    let kptfile = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: basens\ninfo:\n  description: sample description\n";
    fake.on(
        "GET",
        &format!("{PRR_BASE}/b.basens.v1"),
        200,
        json!({"metadata": {"name": "b.basens.v1"}, "spec": {"resources": {"Kptfile": kptfile}}}),
    );
    let (code, out, err) = fake
        .run(
            &[
                "rpkg",
                "get",
                "--show-kptfile",
                "--namespace=ns",
                "b.basens.v1",
            ],
            "",
        )
        .await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, kptfile, ""));
    fake.on(
        "GET",
        &format!("{PRR_BASE}/b.x.v1"),
        200,
        json!({"spec": {"resources": {"README.md": ""}}}),
    );
    let (code, _, err) = fake
        .run(&["rpkg", "get", "--show-kptfile", "-n", "ns", "b.x.v1"], "")
        .await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: package revision \"b.x.v1\" does not contain a root Kptfile \n"
        )
    );
}

#[tokio::test]
async fn show_kptfile_flag_errors_use_kubectl_format() {
    let fake = FakeApi::new();
    let cases: [(&[&str], &str); 4] = [
        (
            &["rpkg", "get", "--show-kptfile", "--namespace=ns"],
            "error: --show-kptfile requires exactly one package revision name as an argument\n",
        ),
        (
            &[
                "rpkg",
                "get",
                "--show-kptfile",
                "--name=basens",
                "--namespace=ns",
                "x",
            ],
            "error: --show-kptfile cannot be combined with --name, --revision, or --workspace\n",
        ),
        (
            &["rpkg", "get", "--show-kptfile", "--all-namespaces", "x"],
            "error: --show-kptfile cannot be combined with --all-namespaces\n",
        ),
        (
            &["rpkg", "get", "--namespace=", "x"],
            "error: namespace flag specified without a value; please provide a value for --namespace/-n or omit the flag\n",
        ),
    ];
    for (args, want) in cases {
        let (code, out, err) = fake.run(args, "").await;
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (1, "", want),
            "{args:?}"
        );
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn unknown_output_format_is_an_error() {
    let (code, _, err) = FakeApi::new()
        .run(&["rpkg", "get", "-n", "ns", "-o", "xml"], "")
        .await;
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: unable to match a printer suitable for the output format \"xml\""),
        "{err}"
    );
}
