//! Writing: merge and JSON patches, the computed latest label, apply (client and server side), delete.

use super::{Suite, draft_yaml};

pub(super) async fn patch_and_latest_label(s: &Suite) {
    // Merge patch: a label and Kptfile package metadata on a draft.
    let out = s
        .k
        .run(&[
            "patch",
            "packagerevision",
            "blueprints.other.ws",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"team":"edge"}},"spec":{"packageMetadata":{"labels":{"tier":"gold"}}}}"#,
        ])
        .await
        .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.other.ws patched"
    );
    // JSON patch: an annotation.
    s.k.run(&[
        "patch",
        "packagerevision",
        "blueprints.other.ws",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/metadata/annotations","value":{"note":"json-patched"}}]"#,
    ])
    .await
    .success();
    let obj =
        s.k.json(&["get", "packagerevision", "blueprints.other.ws"])
            .await;
    assert_eq!(obj["metadata"]["labels"]["team"], "edge");
    assert_eq!(obj["metadata"]["annotations"]["note"], "json-patched");
    assert_eq!(obj["spec"]["packageMetadata"]["labels"]["tier"], "gold");

    // Selectors see both kinds of label.
    let names =
        s.k.run(&[
            "get",
            "packagerevisions",
            "-o",
            "name",
            "-l",
            "team=edge",
            "--field-selector",
            "spec.packageMetadata.labels[tier]=gold",
        ])
        .await
        .success();
    assert_eq!(
        names.trim(),
        "packagerevision.porch.kpt.dev/blueprints.other.ws"
    );
    let none =
        s.k.run(&[
            "get",
            "packagerevisions",
            "--field-selector",
            "spec.packageMetadata.labels[tier]=silver",
        ])
        .await;
    assert!(none.ok, "{}", none.stderr);
    assert_eq!(none.stdout, "");
    assert_eq!(
        none.stderr.trim(),
        "No resources found in default namespace."
    );

    // The latest label is computed: setting it, or removing it, is a 422.
    let err =
        s.k.run(&[
            "patch",
            "packagerevision",
            "blueprints.other.ws",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"kpt.dev/latest-revision":"true"}}}"#,
        ])
        .await
        .failure();
    assert_eq!(
        err.trim(),
        "The PackageRevision \"blueprints.other.ws\" is invalid: metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be modified by users"
    );
    let err =
        s.k.run(&[
            "patch",
            "packagerevision",
            "blueprints.basens.v2",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/labels/kpt.dev~1latest-revision"}]"#,
        ])
        .await
        .failure();
    assert!(
        err.contains("metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be modified by users"),
        "{err}"
    );
    // Creating with it is refused with the "set" wording.
    let err =
        s.k.run_with(
            &["create", "-f", "-"],
            &draft_yaml(
                "third",
                "ws",
                "  labels:\n    kpt.dev/latest-revision: \"true\"\n",
            ),
        )
        .await
        .failure();
    assert!(
        err.contains("metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be set by users"),
        "{err}"
    );
    // A published revision's spec cannot change through the main resource.
    let err =
        s.k.run(&[
            "patch",
            "packagerevision",
            "blueprints.basens.v1",
            "--type=merge",
            "-p",
            r#"{"spec":{"lifecycle":"Draft"}}"#,
        ])
        .await
        .failure();
    assert!(
        err.contains("(Invalid)") || err.contains("is invalid"),
        "{err}"
    );
}

pub(super) async fn apply_creates_then_changes(s: &Suite) {
    let yaml = draft_yaml("applied", "ws", "");
    let out = s.k.run_with(&["apply", "-f", "-"], &yaml).await.success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.applied.ws created"
    );
    // Unchanged.
    let out = s.k.run_with(&["apply", "-f", "-"], &yaml).await.success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.applied.ws unchanged"
    );
    // A label added and the draft proposed.
    let changed = draft_yaml("applied", "ws", "  labels:\n    stage: two\n")
        .replace("lifecycle: Draft", "lifecycle: Proposed");
    let out =
        s.k.run_with(&["apply", "-f", "-"], &changed)
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.applied.ws configured"
    );
    let obj =
        s.k.json(&["get", "packagerevision", "blueprints.applied.ws"])
            .await;
    assert_eq!(obj["metadata"]["labels"]["stage"], "two");
    assert_eq!(obj["spec"]["lifecycle"], "Proposed");
    assert!(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    // Server-side apply of the same object.
    let out =
        s.k.run_with(&["apply", "--server-side", "-f", "-"], &changed)
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.applied.ws serverside-applied"
    );
}

/// Reads lines of a running `kubectl get -w` until one satisfies `want`.
pub(super) async fn delete(s: &Suite) {
    let out =
        s.k.run(&["delete", "packagerevision", "blueprints.applied.ws"])
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev \"blueprints.applied.ws\" deleted"
    );
    let err =
        s.k.run(&["get", "packagerevision", "blueprints.applied.ws"])
            .await
            .failure();
    assert!(err.contains("(NotFound)"), "{err}");

    let err =
        s.k.run(&["delete", "packagerevision", "blueprints.basens.v1"])
            .await
            .failure();
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): packagerevisions.porch.kpt.dev \"blueprints.basens.v1\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion"
    );
    // Proposed for deletion (main resource), then deleted; the latest label stays on v2.
    s.k.run(&[
        "patch",
        "packagerevision",
        "blueprints.basens.v1",
        "--type=merge",
        "-p",
        r#"{"spec":{"lifecycle":"DeletionProposed"}}"#,
    ])
    .await
    .success();
    let out =
        s.k.run(&["delete", "packagerevision", "blueprints.basens.v1"])
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev \"blueprints.basens.v1\" deleted"
    );
    let names =
        s.k.run(&[
            "get",
            "packagerevisions",
            "-o",
            "name",
            "--field-selector",
            "spec.packageName=basens",
        ])
        .await
        .success();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        s.listed(&["basens.ws", "basens.v2"], &["basens"])
            .iter()
            .map(|n| format!("packagerevision.porch.kpt.dev/{n}"))
            .collect::<Vec<_>>()
    );
}
