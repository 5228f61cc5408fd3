//! Reading: discovery, tables, every output format, selectors, describe and explain.

use serde_json::Value;

use super::{NS, PR_HEADER, Suite, placeholder, strings};

pub(super) async fn api_resources(s: &Suite) {
    let out =
        s.k.run(&["api-resources", "--api-group=porch.kpt.dev"])
            .await;
    let rows = out.rows();
    assert_eq!(
        rows[0],
        strings(&["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]),
        "{}",
        out.stdout
    );
    assert_eq!(
        rows[1..].to_vec(),
        vec![
            strings(&[
                "packagerevisionresources",
                "porch.kpt.dev/v1alpha1",
                "true",
                "PackageRevisionResources"
            ]),
            strings(&[
                "packagerevisions",
                "porch.kpt.dev/v1alpha1",
                "true",
                "PackageRevision"
            ]),
            strings(&["packages", "porch.kpt.dev/v1alpha1", "true", "PorchPackage"]),
        ]
    );
    let wide =
        s.k.run(&["api-resources", "--api-group=porch.kpt.dev", "-o", "wide"])
            .await
            .success();
    let prs = wide
        .lines()
        .find(|l| l.starts_with("packagerevisions "))
        .unwrap();
    assert!(
        prs.contains(" create,delete,get,list,patch,update,watch "),
        "{wide}"
    );
    let prrs = wide
        .lines()
        .find(|l| l.starts_with("packagerevisionresources "))
        .unwrap();
    assert!(prrs.contains(" get,list,patch,update "), "{wide}");
}

/// The row of `name` in `rows` (first column).
fn row_of<'a>(rows: &'a [Vec<String>], name: &str) -> &'a Vec<String> {
    rows.iter()
        .find(|r| r.first().map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in {rows:?}"))
}

pub(super) async fn get_table(s: &Suite) {
    let out = s.k.run(&["get", "packagerevisions"]).await;
    assert!(out.ok, "{}", out.stderr);
    let rows = out.rows();
    assert_eq!(rows[0], strings(PR_HEADER));
    let mut want = vec![
        strings(&[
            "blueprints.basens.ws",
            "basens",
            "ws",
            "0",
            "false",
            "Draft",
            "blueprints",
        ]),
        strings(&[
            "blueprints.basens.v1",
            "basens",
            "v1",
            "1",
            "false",
            "Published",
            "blueprints",
        ]),
        strings(&[
            "blueprints.basens.v2",
            "basens",
            "v2",
            "2",
            "true",
            "Published",
            "blueprints",
        ]),
        strings(&[
            "blueprints.other.ws",
            "other",
            "ws",
            "0",
            "false",
            "Draft",
            "blueprints",
        ]),
    ];
    if s.operators {
        // The placeholder: revision -1, never latest, always Published.
        want.insert(
            0,
            strings(&[
                "blueprints.basens.main",
                "basens",
                "main",
                "-1",
                "false",
                "Published",
                "blueprints",
            ]),
        );
    }
    assert_eq!(rows[1..].to_vec(), want);
    // No column has a priority: -o wide prints the same table.
    let wide = s.k.run(&["get", "packagerevisions", "-o", "wide"]).await;
    assert_eq!(wide.rows(), rows);
    // -A prepends NAMESPACE.
    let all = s.k.run(&["get", "packagerevisions", "-A"]).await.success();
    let first = all.lines().next().unwrap().split_whitespace().next();
    assert_eq!(first, Some("NAMESPACE"));
    assert!(all.contains("default     blueprints.basens.v2"), "{all}");
    // --no-headers asks the server for a table without header rows.
    let bare =
        s.k.run(&["get", "packagerevisions", "--no-headers"])
            .await
            .success();
    assert_eq!(bare.lines().count(), want.len(), "{bare}");
    assert!(bare.starts_with(&want[0][0]), "{bare}");
    // One object.
    let one =
        s.k.run(&["get", "packagerevision", "blueprints.basens.v1"])
            .await;
    assert_eq!(
        one.rows(),
        vec![
            strings(PR_HEADER),
            row_of(&rows, "blueprints.basens.v1").clone()
        ]
    );
    // Not found, in kube's words.
    let err =
        s.k.run(&["get", "packagerevision", "blueprints.nope.v1"])
            .await
            .failure();
    assert_eq!(
        err.trim(),
        "Error from server (NotFound): packagerevisions.porch.kpt.dev \"blueprints.nope.v1\" not found"
    );
}

pub(super) async fn get_formats(s: &Suite) {
    let listed = s.listed(
        &["basens.ws", "basens.v1", "basens.v2", "other.ws"],
        &["basens"],
    );
    // -o json of a list: kubectl's List wrapper around the served items.
    let list = s.k.json(&["get", "packagerevisions"]).await;
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    let item_names: Vec<&str> = items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(item_names, listed);
    let v2 = items
        .iter()
        .find(|i| i["metadata"]["name"] == "blueprints.basens.v2")
        .unwrap();
    assert_eq!(v2["apiVersion"], "porch.kpt.dev/v1alpha1");
    assert_eq!(v2["kind"], "PackageRevision");
    assert_eq!(v2["metadata"]["namespace"], NS);
    assert_eq!(v2["metadata"]["labels"]["kpt.dev/latest-revision"], "true");
    assert_eq!(v2["spec"]["revision"], 2);
    assert_eq!(v2["spec"]["lifecycle"], "Published");
    assert!(
        v2["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
    // A published revision's resourceVersion and commit are the git commit of its tag.
    let rv = v2["metadata"]["resourceVersion"].as_str().unwrap();
    assert_eq!(rv.len(), 40, "{rv}");
    assert!(v2["status"]["publishTimestamp"].is_string(), "{v2}");

    // -o json of one object is the object itself.
    let one =
        s.k.json(&["get", "packagerevision", "blueprints.basens.v2"])
            .await;
    assert_eq!(&one, v2);

    // -o yaml.
    let yaml =
        s.k.run(&[
            "get",
            "packagerevision",
            "blueprints.basens.v2",
            "-o",
            "yaml",
        ])
        .await
        .success();
    assert!(yaml.starts_with("apiVersion: porch.kpt.dev/v1alpha1\nkind: PackageRevision\n"));
    assert!(
        yaml.contains("    kpt.dev/latest-revision: \"true\"\n"),
        "{yaml}"
    );
    assert!(yaml.contains("  lifecycle: Published\n"), "{yaml}");
    let from_yaml: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(&from_yaml, v2);

    // -o name.
    let names =
        s.k.run(&["get", "packagerevisions", "-o", "name"])
            .await
            .success();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        listed
            .iter()
            .map(|n| format!("packagerevision.porch.kpt.dev/{n}"))
            .collect::<Vec<_>>()
    );

    // -o jsonpath.
    let jp =
        s.k.run(&[
            "get",
            "packagerevisions",
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name}={.spec.revision}{"\n"}{end}"#,
        ])
        .await
        .success();
    // `revision` is omitted when 0 (upstream's `omitempty`).
    let placeholder_line = if s.operators {
        format!("{}=-1\n", placeholder("basens"))
    } else {
        String::new()
    };
    assert_eq!(
        jp,
        format!(
            "{placeholder_line}blueprints.basens.ws=\nblueprints.basens.v1=1\nblueprints.basens.v2=2\nblueprints.other.ws=\n"
        )
    );

    // -o custom-columns.
    let cc =
        s.k.run(&[
            "get",
            "packagerevisions",
            "-o",
            "custom-columns=NAME:.metadata.name,LIFECYCLE:.spec.lifecycle,TASK:.spec.tasks[0].type",
        ])
        .await;
    let mut want = vec![
        strings(&["NAME", "LIFECYCLE", "TASK"]),
        strings(&["blueprints.basens.ws", "Draft", "edit"]),
        strings(&["blueprints.basens.v1", "Published", "init"]),
        strings(&["blueprints.basens.v2", "Published", "edit"]),
        strings(&["blueprints.other.ws", "Draft", "init"]),
    ];
    if s.operators {
        // Made from v1, the latest revision when it was added.
        want.insert(1, strings(&["blueprints.basens.main", "Published", "init"]));
    }
    assert_eq!(cc.rows(), want);

    // --show-labels adds a LABELS column from the object's labels.
    let labels = s.k.run(&["get", "packagerevisions", "--show-labels"]).await;
    let rows = labels.rows();
    assert_eq!(rows[0].last().map(String::as_str), Some("LABELS"));
    assert_eq!(
        row_of(&rows, "blueprints.basens.ws")
            .last()
            .map(String::as_str),
        Some("<none>")
    );
    assert_eq!(
        row_of(&rows, "blueprints.basens.v2")
            .last()
            .map(String::as_str),
        Some("kpt.dev/latest-revision=true")
    );
}

pub(super) async fn get_selectors(s: &Suite) {
    let names = |args: Vec<&'static str>| {
        let mut all = vec!["get", "packagerevisions", "-o", "name"];
        all.extend(args);
        async move {
            s.k.run(&all)
                .await
                .success()
                .lines()
                .map(|l| {
                    l.trim_start_matches("packagerevision.porch.kpt.dev/")
                        .to_owned()
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(vec!["-l", "kpt.dev/latest-revision=true"]).await,
        vec!["blueprints.basens.v2"]
    );
    assert_eq!(
        names(vec!["-l", "kpt.dev/latest-revision!=true"]).await,
        s.listed(&["basens.ws", "basens.v1", "other.ws"], &["basens"])
    );
    assert_eq!(
        names(vec!["--field-selector", "spec.lifecycle=Draft"]).await,
        vec!["blueprints.basens.ws", "blueprints.other.ws"]
    );
    assert_eq!(
        names(vec![
            "--field-selector",
            "spec.packageName=basens,spec.revision=1"
        ])
        .await,
        vec!["blueprints.basens.v1"]
    );
    assert_eq!(
        names(vec![
            "--field-selector",
            "spec.repository=blueprints,spec.workspaceName=ws"
        ])
        .await,
        vec!["blueprints.basens.ws", "blueprints.other.ws"]
    );
    // Errors in upstream's words.
    let err =
        s.k.run(&[
            "get",
            "packagerevisions",
            "--field-selector",
            "spec.lifecycle=Nope",
        ])
        .await
        .failure();
    assert!(
        err.contains("unsupported fieldSelector value \"Nope\" for field \"spec.lifecycle\""),
        "{err}"
    );
    let err =
        s.k.run(&[
            "get",
            "packagerevisions",
            "--field-selector",
            "spec.lifecycle!=Draft",
        ])
        .await
        .failure();
    assert!(
        err.contains("unsupported fieldSelector operator \"!=\" for field \"spec.lifecycle\""),
        "{err}"
    );
    let err =
        s.k.run(&["get", "packagerevisions", "--field-selector", "spec.nope=x"])
            .await
            .failure();
    assert!(
        err.contains("\"spec.nope\" is not a known field selector"),
        "{err}"
    );
}

pub(super) async fn describe_and_explain(s: &Suite) {
    let out =
        s.k.run(&["describe", "packagerevision", "blueprints.basens.v2"])
            .await
            .success();
    // Compared line by line with runs of spaces collapsed (describe aligns per section).
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for want in [
        "Name: blueprints.basens.v2",
        "Namespace: default",
        "Labels: kpt.dev/latest-revision=true",
        "API Version: porch.kpt.dev/v1alpha1",
        "Kind: PackageRevision",
        "Lifecycle: Published",
        "Package Name: basens",
        "Repository: blueprints",
        "Revision: 2",
        "Name: blueprints.basens.v1",
        "Type: edit",
        "Workspace Name: v2",
        "Published By: porch-admin",
        "Ref: basens/v2",
        "Events: <none>",
    ] {
        assert!(
            lines.iter().any(|l| l == want),
            "missing {want:?} in:\n{out}"
        );
    }
    let out =
        s.k.run(&["explain", "packagerevisions.spec"])
            .await
            .success();
    assert!(out.contains("GROUP:      porch.kpt.dev"), "{out}");
    assert!(out.contains("KIND:       PackageRevision"), "{out}");
    assert!(out.contains("FIELD: spec <Object>"), "{out}");
    for field in [
        "lifecycle\t<string>",
        "packageName\t<string>",
        "repository\t<string>",
        "revision\t<integer>",
        "tasks\t<[]Object>",
        "workspaceName\t<string>",
    ] {
        assert!(out.contains(field), "missing {field:?} in:\n{out}");
    }
}
