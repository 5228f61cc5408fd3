//! PackageRevisionResources (table, content, validation, limits) and packages (the 405s).

use serde_json::{Value, json};

use super::{Suite, strings};

pub(super) async fn package_revision_resources(s: &Suite) {
    let out = s.k.run(&["get", "packagerevisionresources"]).await;
    let rows = out.rows();
    assert_eq!(
        rows[0],
        strings(&[
            "NAME",
            "PACKAGE",
            "WORKSPACENAME",
            "REVISION",
            "REPOSITORY",
            "FILES"
        ]),
        "{}",
        out.stderr
    );
    let v1 = rows
        .iter()
        .find(|r| r[0] == "blueprints.basens.v1")
        .unwrap();
    assert_eq!(v1[1..5], strings(&["basens", "v1", "1", "blueprints"]));
    let files: usize = v1[5].parse().unwrap();
    assert!(files >= 2, "{v1:?}");

    let yaml =
        s.k.run(&[
            "get",
            "packagerevisionresources",
            "blueprints.basens.v1",
            "-o",
            "yaml",
        ])
        .await
        .success();
    let prr: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(prr["kind"], "PackageRevisionResources");
    assert_eq!(prr["spec"]["packageName"], "basens");
    let kptfile = prr["spec"]["resources"]["Kptfile"].as_str().unwrap();
    assert!(kptfile.contains("kind: Kptfile"), "{kptfile}");
    assert!(kptfile.contains("name: basens"), "{kptfile}");
    assert_eq!(
        prr["spec"]["resources"].as_object().unwrap().len(),
        files,
        "the Files column counts spec.resources"
    );

    let names =
        s.k.run(&[
            "get",
            "packagerevisionresources",
            "-o",
            "name",
            "--field-selector",
            "spec.lifecycle=Published",
        ])
        .await
        .success();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        s.listed(
            &["basens.v1", "basens.v2", "watched.ws"],
            &["basens", "watched"]
        )
        .iter()
        .map(|n| format!("packagerevisionresources.porch.kpt.dev/{n}"))
        .collect::<Vec<_>>()
    );

    // An update whose path leaves the package is a 422 naming the file.
    let mut draft =
        s.k.json(&["get", "packagerevisionresources", "blueprints.basens.ws"])
            .await;
    draft["spec"]["resources"]["../escape.yaml"] = json!("a: 1\n");
    let err =
        s.k.run_with(&["replace", "-f", "-"], &draft.to_string())
            .await
            .failure();
    assert_eq!(
        err.trim(),
        "The PackageRevisionResources \"blueprints.basens.ws\" is invalid: spec.resources[../escape.yaml]: Invalid value: \"../escape.yaml\": file path must be relative and must not leave the package"
    );
    // So is a YAML file that does not parse.
    draft["spec"]["resources"]
        .as_object_mut()
        .unwrap()
        .remove("../escape.yaml");
    draft["spec"]["resources"]["broken.yaml"] = json!("a: [unclosed\n");
    let err =
        s.k.run_with(&["replace", "-f", "-"], &draft.to_string())
            .await
            .failure();
    assert_eq!(
        err.trim(),
        "The PackageRevisionResources \"blueprints.basens.ws\" is invalid: spec.resources[broken.yaml]: Invalid value: \"<file content>\": file broken.yaml is not valid YAML: line 1 column 4: unclosed bracket '['"
    );
    draft["spec"]["resources"]
        .as_object_mut()
        .unwrap()
        .remove("broken.yaml");
    // A body over the 6 MiB limit is refused before anything is read further.
    let mut huge = draft.clone();
    huge["spec"]["resources"]["big.txt"] = json!("x".repeat(7 * 1024 * 1024));
    let err =
        s.k.run_with(&["replace", "-f", "-"], &huge.to_string())
            .await
            .failure();
    assert!(
        err.contains("(RequestEntityTooLarge)")
            && err.contains("Request entity too large: limit is 6291456"),
        "{err}"
    );
    // A good one is stored.
    draft["spec"]["resources"]["cm.yaml"] =
        json!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: v\n");
    let out =
        s.k.run_with(&["replace", "-f", "-"], &draft.to_string())
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevisionresources.porch.kpt.dev/blueprints.basens.ws replaced"
    );
    let back =
        s.k.json(&["get", "packagerevisionresources", "blueprints.basens.ws"])
            .await;
    assert!(
        back["spec"]["resources"]["cm.yaml"]
            .as_str()
            .unwrap()
            .contains("name: cm")
    );
    // Not served: create and delete.
    let err =
        s.k.run(&["delete", "packagerevisionresources", "blueprints.basens.ws"])
            .await
            .failure();
    assert!(err.contains("(MethodNotAllowed)"), "{err}");
}

pub(super) async fn packages(s: &Suite) {
    let out = s.k.run(&["get", "packages"]).await;
    let rows = out.rows();
    assert_eq!(
        rows,
        vec![
            strings(&["NAME", "PACKAGE", "REPOSITORY", "LATEST", "REVISION"]),
            strings(&["blueprints.applied", "applied", "blueprints", "0"]),
            strings(&["blueprints.basens", "basens", "blueprints", "2"]),
            strings(&["blueprints.other", "other", "blueprints", "0"]),
            strings(&["blueprints.unwatched", "unwatched", "blueprints", "0"]),
            strings(&["blueprints.watched", "watched", "blueprints", "1"]),
        ],
        "{}",
        out.stderr
    );
    let pkg = s.k.json(&["get", "package", "blueprints.basens"]).await;
    assert_eq!(pkg["kind"], "PorchPackage");
    assert_eq!(pkg["spec"]["packageName"], "basens");
    assert_eq!(pkg["status"]["latestRevision"], 2);

    let cases: [(&[&str], &str, &str); 3] = [
        (
            &["delete", "package", "blueprints.basens"],
            "",
            "delete all PackageRevisions resources of a package to delete a package as direct package deletion",
        ),
        (
            &[
                "patch",
                "package",
                "blueprints.basens",
                "--type=merge",
                "-p",
                r#"{"metadata":{"labels":{"a":"b"}}}"#,
            ],
            "",
            "update a PackageRevision resource to update a package as direct package update",
        ),
        (
            &["create", "-f", "-"],
            "apiVersion: porch.kpt.dev/v1alpha1\nkind: PorchPackage\nmetadata:\n  name: blueprints.new\n  namespace: default\nspec:\n  packageName: new\n  repository: blueprints\n",
            "create or clone a PackageRevision resource to create a package as direct package creation",
        ),
    ];
    for (args, stdin, action) in cases {
        let err = s.k.run_with(args, stdin).await.failure();
        // kubectl names the input of `create -f`.
        let context = if stdin.is_empty() {
            ""
        } else {
            "error when creating \"STDIN\": "
        };
        assert_eq!(
            err.trim(),
            format!(
                "Error from server (MethodNotAllowed): {context}{action} is not supported on resources of kind \"packages.porch.kpt.dev\""
            ),
            "{args:?}"
        );
    }
}
