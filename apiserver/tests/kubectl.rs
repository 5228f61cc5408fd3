//! Black-box tests: real kubectl against `porch-standalone-dev` over loopback HTTPS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use support::{REPO_CRD, Server, WIDGET_CRD};

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm1\n  labels: {app: web}\ndata:\n  k: v1\n";

#[test]
fn discovery_apply_get_outputs_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::spawn(dir.path());
    let res = s.ok(&["api-resources", "-o", "name"]);
    for r in [
        "configmaps",
        "secrets",
        "namespaces",
        "events",
        "serviceaccounts",
        "leases.coordination.k8s.io",
        "customresourcedefinitions.apiextensions.k8s.io",
    ] {
        assert!(
            res.lines().any(|l| l == r),
            "{r} missing from api-resources:\n{res}"
        );
    }
    assert!(
        s.ok_stdin(&["apply", "-f", "-"], CM)
            .contains("configmap/cm1 created")
    );
    assert!(
        s.ok_stdin(&["apply", "-f", "-"], &CM.replace("k: v1", "k: v2"))
            .contains("configmap/cm1 configured")
    );
    let o = json(&s.ok(&["get", "cm", "cm1", "-o", "json"]));
    assert_eq!(o["data"]["k"], "v2");
    assert!(o["metadata"]["uid"].as_str().unwrap().len() == 36);
    assert!(s.ok(&["get", "cm", "cm1", "-o", "yaml"]).contains("k: v2"));
    assert_eq!(
        s.ok(&["get", "cm", "-l", "app=web", "-o", "name"]).trim(),
        "configmap/cm1"
    );
    assert_eq!(
        s.ok(&["get", "cm", "-l", "app!=web", "-o", "name"]).trim(),
        ""
    );
    assert_eq!(
        s.ok(&[
            "get",
            "cm",
            "--field-selector",
            "metadata.name=cm1",
            "-o",
            "name"
        ])
        .trim(),
        "configmap/cm1"
    );
    assert_eq!(
        s.ok(&["get", "cm", "cm1", "-o", "jsonpath={.data.k}"]),
        "v2"
    );
    let cc = s.ok(&[
        "get",
        "cm",
        "-o",
        "custom-columns=NAME:.metadata.name,K:.data.k",
    ]);
    assert!(
        cc.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["cm1", "v2"]),
        "{cc}"
    );
    let table = s.ok(&["get", "cm", "-o", "wide"]);
    assert!(
        table.starts_with("NAME") && table.contains("DATA") && table.contains("AGE"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("cm1 ") && l.split_whitespace().nth(1) == Some("1")),
        "{table}"
    );
    // Server-side apply creates and then updates.
    let ssa = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa1\ndata:\n  a: b\n";
    assert!(
        s.ok_stdin(&["apply", "--server-side", "-f", "-"], ssa)
            .contains("serverside-applied")
    );
    s.ok_stdin(
        &["apply", "--server-side", "-f", "-"],
        &ssa.replace("a: b", "a: c"),
    );
    assert_eq!(
        s.ok(&["get", "cm", "ssa1", "-o", "jsonpath={.data.a}"]),
        "c"
    );
    // Kubernetes' error texts.
    let e = s.fails(&["get", "cm", "nope"], "");
    assert!(
        e.contains("Error from server (NotFound): configmaps \"nope\" not found"),
        "{e}"
    );
    let e = s.fails(&["create", "-f", "-"], CM);
    assert!(
        e.contains("(AlreadyExists)") && e.contains("configmaps \"cm1\" already exists"),
        "{e}"
    );
    let bad_name = CM.replace("name: cm1", "name: Bad_Name");
    let e = s.fails(&["apply", "-f", "-"], &bad_name);
    assert!(e.contains("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of"), "{e}");
    let unknown = CM.replace("\ndata:", "\nspec:\n  foo: 1\ndata:");
    let e = s.fails(&["apply", "-f", "-"], &unknown);
    assert!(
        e.contains("strict decoding error: unknown field \"spec\""),
        "{e}"
    );
    let e = s.fails(&["get", "cm", "-l", "a b"], "");
    assert!(e.contains("unable to parse requirement"), "{e}");
    let e = s.fails(&["get", "cm", "--field-selector", "spec.x=1"], "");
    assert!(e.contains("field label not supported: spec.x"), "{e}");
}

#[test]
fn patch_label_annotate_and_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::spawn(dir.path());
    s.ok_stdin(&["apply", "-f", "-"], CM);
    s.ok(&["patch", "cm", "cm1", "-p", r#"{"data":{"smp":"1"}}"#]);
    s.ok(&[
        "patch",
        "cm",
        "cm1",
        "--type=merge",
        "-p",
        r#"{"data":{"merge":"2"}}"#,
    ]);
    s.ok(&[
        "patch",
        "cm",
        "cm1",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/data/json","value":"3"}]"#,
    ]);
    s.ok(&["label", "cm", "cm1", "tier=db"]);
    s.ok(&["annotate", "cm", "cm1", "note=hi"]);
    let o = json(&s.ok(&["get", "cm", "cm1", "-o", "json"]));
    assert_eq!(o["data"]["smp"], "1");
    assert_eq!(o["data"]["merge"], "2");
    assert_eq!(o["data"]["json"], "3");
    assert_eq!(o["metadata"]["labels"]["tier"], "db");
    assert_eq!(o["metadata"]["annotations"]["note"], "hi");
    // A failing JSON-patch test op is rejected.
    let e = s.fails(
        &[
            "patch",
            "cm",
            "cm1",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/data/json","value":"x"}]"#,
        ],
        "",
    );
    assert!(e.contains("Invalid") || e.contains("invalid"), "{e}");
    // A stale resourceVersion is a 409 with Kubernetes' text.
    let mut stale = o.clone();
    stale["metadata"]["resourceVersion"] = Value::String("1".into());
    let e = s.fails(&["replace", "-f", "-"], &stale.to_string());
    assert!(e.contains("Operation cannot be fulfilled on configmaps \"cm1\": the object has been modified; please apply your changes to the latest version and try again"), "{e}");
}

#[test]
fn watch_prints_table_rows() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::spawn(dir.path());
    s.ok_stdin(&["apply", "-f", "-"], CM);
    let mut watch = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .arg("--cache-dir")
        .arg(&s.cache)
        .args(["get", "cm", "-w", "--request-timeout=6s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    s.ok_stdin(&["apply", "-f", "-"], &CM.replace("cm1", "cm2"));
    s.ok(&["delete", "cm", "cm1"]);
    std::thread::sleep(std::time::Duration::from_millis(1000));
    watch.kill().unwrap();
    let out = watch.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.lines().next().unwrap_or_default().starts_with("NAME"),
        "{text}{err}"
    );
    assert!(text.lines().any(|l| l.starts_with("cm2 ")), "{text}{err}");
    assert!(!err.contains("unable to decode"), "{err}");
}

#[test]
fn finalizers_and_owner_cascade() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::spawn(dir.path());
    s.ok_stdin(&["create", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owner\n  finalizers: [example.com/hold]\n");
    let uid = s.ok(&["get", "cm", "owner", "-o", "jsonpath={.metadata.uid}"]);
    let dep = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dep\n  ownerReferences: [{{apiVersion: v1, kind: ConfigMap, name: owner, uid: \"{uid}\"}}]\n"
    );
    s.ok_stdin(&["create", "-f", "-"], &dep);
    s.ok(&["delete", "cm", "owner", "--wait=false"]);
    // Still there, marked for deletion.
    let ts = s.ok(&[
        "get",
        "cm",
        "owner",
        "-o",
        "jsonpath={.metadata.deletionTimestamp}",
    ]);
    assert!(!ts.is_empty());
    assert_eq!(
        s.ok(&["get", "cm", "dep", "-o", "name"]).trim(),
        "configmap/dep"
    );
    // Removing the finalizer completes the deletion; the garbage collector removes the dependent.
    s.ok(&[
        "patch",
        "cm",
        "owner",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    s.eventually("owner and dependent gone", || {
        let out = s.kubectl(&[
            "get",
            "cm",
            "owner",
            "dep",
            "-o",
            "name",
            "--ignore-not-found",
        ]);
        out.status.success() && out.stdout.is_empty()
    });
    // Orphan propagation keeps the dependent and drops its ownerReference.
    s.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owner2\n",
    );
    let uid = s.ok(&["get", "cm", "owner2", "-o", "jsonpath={.metadata.uid}"]);
    s.ok_stdin(
        &["create", "-f", "-"],
        &dep.replace("owner,", "owner2,")
            .replace(&uid_placeholder(&dep), &uid)
            .replace("name: dep", "name: dep2"),
    );
    s.ok(&["delete", "cm", "owner2", "--cascade=orphan"]);
    s.eventually("owner2 gone, dep2 orphaned", || {
        let o = s.kubectl(&["get", "cm", "dep2", "-o", "json"]);
        o.status.success()
            && json(&String::from_utf8_lossy(&o.stdout))["metadata"]
                .get("ownerReferences")
                .is_none()
            && s.kubectl(&["get", "cm", "owner2"]).status.code() != Some(0)
    });
    // Namespace deletion finalizes its content.
    // kubectl's typed create commands send protobuf bodies.
    s.ok(&["create", "namespace", "team"]);
    s.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        "team",
        "--from-literal=username=me",
    ]);
    assert_eq!(
        s.ok(&[
            "get",
            "secret",
            "creds",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.username}"
        ]),
        "bWU="
    );
    s.ok(&["create", "serviceaccount", "robot", "-n", "team"]);
    s.ok_stdin(&["apply", "-n", "team", "-f", "-"], CM);
    s.ok(&["delete", "namespace", "team", "--timeout=10s"]);
    let e = s.fails(&["get", "ns", "team"], "");
    assert!(e.contains("namespaces \"team\" not found"), "{e}");
}

fn uid_placeholder(dep: &str) -> String {
    dep.split("uid: \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn crd_lifecycle_schema_and_cel() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::spawn(dir.path());
    s.ok_stdin(&["apply", "-f", "-"], WIDGET_CRD);
    s.ok(&[
        "wait",
        "--for",
        "condition=established",
        "crd/widgets.example.com",
        "--timeout=10s",
    ]);
    let w = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n";
    s.ok_stdin(&["apply", "-f", "-"], w);
    let o = json(&s.ok(&["get", "widgets", "w1", "-o", "json"]));
    assert_eq!(o["spec"]["color"], "blue", "schema default applied");
    assert_eq!(o["metadata"]["generation"], 1);
    let wide = s.ok(&["get", "wd", "-o", "wide"]);
    assert!(
        wide.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            == ["NAME", "COLOR", "SIZE"],
        "{wide}"
    );
    assert!(wide.contains("w1") && wide.contains("blue"), "{wide}");
    s.ok(&[
        "patch",
        "wd",
        "w1",
        "--type=merge",
        "-p",
        r#"{"spec":{"size":4}}"#,
    ]);
    s.ok(&[
        "patch",
        "wd",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"ready":true}}"#,
    ]);
    let o = json(&s.ok(&["get", "wd", "w1", "-o", "json"]));
    assert_eq!(
        o["metadata"]["generation"], 2,
        "spec change bumps generation, status does not"
    );
    assert_eq!(o["status"]["ready"], true);
    let e = s.fails(&["apply", "-f", "-"], &w.replace("size: 3", "size: 0"));
    assert!(
        e.contains(
            "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"
        ),
        "{e}"
    );
    let e = s.fails(
        &["apply", "-f", "-"],
        &w.replace("size: 3", "size: 3\n  foo: 1"),
    );
    assert!(e.contains("Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.foo\""), "{e}");
    let e = s.fails(&["patch", "wd", "w1", "-p", r#"{"spec":{"size":5}}"#], "");
    assert!(
        e.contains("application/strategic-merge-patch+json is not supported"),
        "{e}"
    );

    // CEL rules of a Repository-like CRD.
    s.ok_stdin(&["apply", "-f", "-"], REPO_CRD);
    let r = "apiVersion: test.porch.dev/v1\nkind: Repo\nmetadata:\n  name: r1\nspec:\n  type: git\n  git:\n    repo: https://example.com/a.git\n";
    s.ok_stdin(&["apply", "-f", "-"], r);
    let o = json(&s.ok(&["get", "repos", "r1", "-o", "json"]));
    assert_eq!(o["spec"]["git"]["branch"], "main");
    assert_eq!(o["spec"]["content"], "Package");
    let e = s.fails(&["apply", "-f", "-"], &r.replace("type: git", "type: oci"));
    assert!(e.contains("The Repo \"r1\" is invalid: spec.type: Invalid value: \"string\": spec.type is immutable"), "{e}");
    let e = s.fails(&["apply", "-f", "-"], &r.replace("a.git", "b.git"));
    assert!(e.contains("spec.git.repo is immutable"), "{e}");
    let e = s.fails(&["apply", "-f", "-"], &r.replace("name: r1", "name: r1.x"));
    assert!(
        e.contains("metadata.name must conform to the RFC1123 DNS label standard"),
        "{e}"
    );
    let e = s.fails(
        &["apply", "-f", "-"],
        &r.replace("name: r1", "name: r2")
            .replace("type: git", "type: git\n  content: Other"),
    );
    assert!(
        e.contains("The 'content' field is deprecated, its only valid value is 'Package'"),
        "{e}"
    );
    // A rule outside the supported CEL subset is rejected when the CRD is created.
    let e = s.fails(
        &["apply", "-f", "-"],
        &WIDGET_CRD
            .replace("widgets", "gadgets")
            .replace("Widget", "Gadget")
            .replace("widget", "gadget")
            .replace(
                "size: {type: integer, minimum: 1}",
                "size: {type: integer, x-kubernetes-validations: [{rule: \"self.isSorted()\"}]}",
            ),
    );
    assert!(
        e.contains("is invalid") && e.contains("x-kubernetes-validations[0].rule"),
        "{e}"
    );

    // Deleting the CRD removes its instances and stops serving the kind.
    s.ok(&["delete", "crd", "widgets.example.com", "--timeout=10s"]);
    s.eventually("widgets no longer served", || {
        let out = s.kubectl(&["get", "widgets"]);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        // kubectl words it by whether its discovery cache still knew the kind.
        !out.status.success()
            && (err.contains("the server doesn't have a resource type \"widgets\"")
                || err.contains("the server could not find the requested resource"))
    });
}

#[test]
fn bad_input_and_auth() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::spawn(dir.path());
    let e = s.fails(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            "-",
        ],
        "{not json",
    );
    assert!(
        e.contains("BadRequest") || e.contains("json parse error"),
        "{e}"
    );
    let e = s.fails(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            "-",
        ],
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"#,
    );
    assert!(e.contains("does not match the expected kind"), "{e}");
    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"a":"{}"}}}}"#,
        "x".repeat(4 * 1024 * 1024)
    );
    let e = s.fails(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            "-",
        ],
        &big,
    );
    assert!(
        e.contains("Request entity too large") || e.contains("413"),
        "{e}"
    );
    let e = s.fails(&["get", "cm", "--token", "wrong"], "");
    assert!(
        e.contains("Unauthorized")
            || e.contains("the server has asked for the client to provide credentials"),
        "{e}"
    );
    let e = s.fails(
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/nosuch/configmaps",
            "-f",
            "-",
        ],
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#,
    );
    assert!(e.contains("namespaces \"nosuch\" not found"), "{e}");
    assert_eq!(s.ok(&["get", "--raw", "/healthz"]), "ok");
}

#[test]
fn restart_and_kill9_lose_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::spawn(dir.path());
    let mut docs = String::new();
    for i in 0..40 {
        docs.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  i: \"{i}\"\n"
        ));
    }
    s.ok_stdin(&["apply", "-f", "-"], &docs);
    let rv_before: u64 = s
        .ok(&[
            "get",
            "cm",
            "c39",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .parse()
        .unwrap();
    s.kill9();
    let s = Server::spawn(dir.path());
    let names = s.ok(&["get", "cm", "-o", "name"]);
    for i in 0..40 {
        assert!(
            names.lines().any(|l| l == format!("configmap/c{i}")),
            "c{i} lost after kill -9:\n{names}"
        );
    }
    // resourceVersions keep increasing after a restart.
    s.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n",
    );
    let rv_after: u64 = s
        .ok(&[
            "get",
            "cm",
            "after",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .parse()
        .unwrap();
    assert!(rv_after > rv_before);
    // A graceful restart also keeps CRDs served.
    s.ok_stdin(&["apply", "-f", "-"], WIDGET_CRD);
    s.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 1\n",
    );
    drop(s);
    let s = Server::spawn(dir.path());
    assert_eq!(
        s.ok(&["get", "widgets", "-o", "name"]).trim(),
        "widget.example.com/w"
    );
}

/// The garbage collector judges only owners whose kind the store holds. A PackageRev is owned by
/// its porch.kpt.dev PackageRevision, which an aggregated group serves: it must never be taken
/// for gone (that deleted every synced PackageRev, and then its git tag on the next patch).
#[test]
fn owners_served_elsewhere_are_never_taken_for_gone() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::spawn(dir.path());
    let elsewhere = "{apiVersion: porch.kpt.dev/v1alpha1, kind: PackageRevision, name: repo.pkg.v1, uid: 7d1e0c8a-0000-4000-8000-000000000001}";
    s.ok_stdin(
        &["create", "-f", "-"],
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  ownerReferences: [{elsewhere}]\n"
        ),
    );
    s.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owner\n",
    );
    let uid = s.ok(&["get", "cm", "owner", "-o", "jsonpath={.metadata.uid}"]);
    s.ok_stdin(
        &["create", "-f", "-"],
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mixed\n  ownerReferences:\n  - {elsewhere}\n  - {{apiVersion: v1, kind: ConfigMap, name: owner, uid: \"{uid}\"}}\n"
        ),
    );
    s.ok(&["delete", "cm", "owner"]);
    // The dangling reference to the deleted ConfigMap is dropped (so the sweep has run), the
    // other owner is kept and so is the object.
    s.eventually("the dangling owner reference dropped", || {
        let o = s.kubectl(&["get", "cm", "mixed", "-o", "json"]);
        o.status.success()
            && json(&String::from_utf8_lossy(&o.stdout))["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.len() == 1 && refs[0]["kind"] == "PackageRevision")
    });
    for name in ["kept", "mixed"] {
        let o = json(&s.ok(&["get", "cm", name, "-o", "json"]));
        assert!(o["metadata"]["deletionTimestamp"].is_null(), "{o}");
    }
}
