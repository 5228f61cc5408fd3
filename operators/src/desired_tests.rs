//! The desired-set diff, fed with discovered revisions and existing PackageRevs.

use std::collections::BTreeMap;

use porch_crds::config::v1alpha1::PackageRev;
use porch_crds::labels::{
    INTERNAL_PACKAGE_REVISION_FINALIZER, INTERNAL_REPOSITORY_LABEL, LATEST_REVISION_LABEL,
};
use porch_crds::porch::v1alpha1::PackageRevisionLifecycle;
use serde_json::json;

use crate::desired::*;
use crate::source::DiscoveredRevision;

const REPO: RepoContext<'static> = RepoContext {
    namespace: "ns",
    name: "blueprints",
    deployment: false,
};

pub(crate) fn rev(path: &str, ws: &str, revision: i64, commit: &str) -> DiscoveredRevision {
    DiscoveredRevision {
        package_path: path.into(),
        workspace_name: ws.into(),
        revision,
        lifecycle: match revision {
            0 => PackageRevisionLifecycle::Draft,
            _ => PackageRevisionLifecycle::Published,
        },
        commit: commit.into(),
        ..DiscoveredRevision::default()
    }
}

/// The PackageRevs a first sync of `discovered` creates, as the API server would return them.
fn stored(discovered: &[DiscoveredRevision]) -> Vec<PackageRev> {
    plan(REPO, discovered, &[])
        .creates
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            p.metadata.resource_version = Some(format!("{}", i + 1));
            p
        })
        .collect()
}

fn names(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items.into_iter().collect()
}

#[test]
fn first_sync_creates_everything_with_internal_metadata() {
    let discovered = [
        rev("basens", "main", -1, "c0"),
        rev("basens", "v1", 1, "c1"),
        rev("basens", "v2", 2, "c2"),
        rev("a/b/edge", "v1", 1, "c3"),
        rev("basens", "ws1", 0, "c4"),
    ];
    let plan = plan(REPO, &discovered, &[]);
    assert!(plan.updates.is_empty() && plan.deletes.is_empty() && plan.skipped.is_empty());
    let created = names(
        plan.creates
            .iter()
            .map(|p| p.metadata.name.clone().unwrap()),
    );
    assert_eq!(
        created,
        [
            "blueprints.a.b.edge.v1",
            "blueprints.basens.v2",
            "blueprints.basens.v1",
            "blueprints.basens.ws1",
            "blueprints.basens.main",
        ]
    );
    let latest: Vec<_> = plan
        .creates
        .iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .unwrap()
                .contains_key(LATEST_REVISION_LABEL)
        })
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(latest, ["blueprints.a.b.edge.v1", "blueprints.basens.v2"]);

    let v1 = serde_json::to_value(&plan.creates[2]).unwrap();
    assert_eq!(
        v1["metadata"],
        json!({
            "name": "blueprints.basens.v1",
            "namespace": "ns",
            "labels": {INTERNAL_REPOSITORY_LABEL: "blueprints"},
            "finalizers": [INTERNAL_PACKAGE_REVISION_FINALIZER],
            "ownerReferences": [{
                "apiVersion": "porch.kpt.dev/v1alpha1",
                "kind": "PackageRevision",
                "name": "blueprints.basens.v1",
                "uid": porch_crds::uid::package_revision_uid("ns", "blueprints.basens.v1"),
            }],
        })
    );
    assert_eq!(v1["spec"]["packageName"], "basens");
    assert_eq!(v1["spec"]["repository"], "blueprints");
    assert_eq!(v1["spec"]["revision"], 1);
    assert_eq!(v1["spec"]["lifecycle"], "Published");
    assert_eq!(v1["status"]["commit"], "c1");
}

#[test]
fn no_change_sync_plans_no_write() {
    let discovered = [
        rev("basens", "main", -1, "c0"),
        rev("basens", "v1", 1, "c1"),
        rev("x/y", "v3", 3, "c9"),
    ];
    let existing = stored(&discovered);
    // Round-trip through JSON, as a list response would deliver them.
    let existing: Vec<PackageRev> =
        serde_json::from_value(serde_json::to_value(&existing).unwrap()).unwrap();
    let plan = plan(REPO, &discovered, &existing);
    assert!(plan.is_empty(), "{plan:?}");
    assert_eq!(plan.unchanged, 3);
}

#[test]
fn user_metadata_is_kept_and_does_not_cause_writes() {
    let discovered = [rev("basens", "v1", 1, "c1")];
    let mut existing = stored(&discovered);
    let meta = &mut existing[0].metadata;
    meta.labels
        .as_mut()
        .unwrap()
        .insert("team".into(), "blue".into());
    meta.annotations = Some(BTreeMap::from([("note".into(), "x".into())]));
    meta.finalizers
        .as_mut()
        .unwrap()
        .insert(0, "example.com/hold".into());
    let plan = plan(REPO, &discovered, &existing);
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn changed_commit_updates_status_only() {
    let before = [rev("basens", "main", -1, "c0")];
    let existing = stored(&before);
    let after = [rev("basens", "main", -1, "c7")];
    let plan = plan(REPO, &after, &existing);
    assert!(plan.creates.is_empty() && plan.deletes.is_empty());
    assert_eq!(plan.updates.len(), 1);
    assert!(plan.updates[0].patch.is_none());
    assert_eq!(plan.updates[0].status.as_ref().unwrap().commit, "c7");
}

#[test]
fn new_tag_moves_the_latest_marker() {
    let before = [rev("basens", "v1", 1, "c1")];
    let existing = stored(&before);
    let after = [rev("basens", "v1", 1, "c1"), rev("basens", "v2", 2, "c2")];
    let plan = plan(REPO, &after, &existing);
    assert_eq!(
        names(
            plan.creates
                .iter()
                .map(|p| p.metadata.name.clone().unwrap())
        ),
        ["blueprints.basens.v2"]
    );
    assert_eq!(plan.updates.len(), 1);
    assert_eq!(plan.updates[0].name, "blueprints.basens.v1");
    assert_eq!(
        plan.updates[0].patch,
        Some(json!({"metadata": {"labels": {"kpt.dev/latest-revision": null}}}))
    );
    assert!(plan.updates[0].status.is_none());
}

#[test]
fn lifecycle_change_replaces_the_spec() {
    let before = [rev("basens", "v1", 1, "c1")];
    let existing = stored(&before);
    let mut after = before.clone();
    after[0].lifecycle = PackageRevisionLifecycle::DeletionProposed;
    let plan = plan(REPO, &after, &existing);
    assert_eq!(plan.updates.len(), 1);
    // Only the changed field, and the marker leaves with the Published lifecycle... no:
    // DeletionProposed revisions stay latest candidates, so only the spec moves.
    assert_eq!(
        plan.updates[0].patch,
        Some(json!({"spec": {"lifecycle": "DeletionProposed"}}))
    );
}

#[test]
fn vanished_revisions_are_deleted_conditionally() {
    let before = [rev("basens", "v1", 1, "c1"), rev("basens", "ws", 0, "c2")];
    let mut existing = stored(&before);
    let after = [rev("basens", "v1", 1, "c1")];
    let p = plan(REPO, &after, &existing);
    assert_eq!(
        p.deletes,
        vec![PackageRevDelete {
            name: "blueprints.basens.ws".into(),
            resource_version: Some("2".into()),
            terminating: false,
            finalizers: vec![INTERNAL_PACKAGE_REVISION_FINALIZER.into()],
        }]
    );
    // Already terminating with our finalizer: only the finalizer is to go.
    existing[1].metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            "2026-01-01T00:00:00Z".parse().unwrap(),
        ));
    assert!(plan(REPO, &after, &existing).deletes[0].terminating);
    // Terminating without it: nothing for us to do.
    existing[1].metadata.finalizers = Some(vec!["example.com/hold".into()]);
    assert!(plan(REPO, &after, &existing).deletes.is_empty());
}

#[test]
fn missing_internal_label_and_finalizer_are_restored() {
    let discovered = [rev("basens", "v1", 1, "c1")];
    let mut existing = stored(&discovered);
    existing[0].metadata.labels = Some(BTreeMap::from([("team".into(), "blue".into())]));
    existing[0].metadata.finalizers = None;
    let plan = plan(REPO, &discovered, &existing);
    assert_eq!(
        plan.updates[0].patch,
        Some(json!({"metadata": {
            "labels": {
                "internal.porch.kpt.dev/repository": "blueprints",
                "kpt.dev/latest-revision": "true",
            },
            "finalizers": [INTERNAL_PACKAGE_REVISION_FINALIZER],
            "resourceVersion": "1",
        }}))
    );
}

#[test]
fn invalid_and_duplicate_names_are_skipped() {
    let discovered = [
        rev("Bad_Name", "v1", 1, "c1"),
        rev("a/b", "v1", 1, "c2"),
        rev("a/b", "v1", 1, "c3"),
    ];
    let plan = plan(REPO, &discovered, &[]);
    assert_eq!(plan.creates.len(), 1);
    assert_eq!(plan.skipped.len(), 2);
    assert!(
        plan.skipped[0]
            .reason
            .contains("package revision kubernetes resource name invalid")
    );
    assert!(
        plan.skipped[1]
            .reason
            .contains("duplicate package revision name")
    );
    assert_eq!(plan.creates[0].status.as_ref().unwrap().commit, "c2");
}

#[test]
fn deployment_flag_reaches_every_status() {
    let repo = RepoContext {
        deployment: true,
        ..REPO
    };
    let p = plan(repo, &[rev("basens", "v1", 1, "c1")], &[]);
    assert!(p.creates[0].status.as_ref().unwrap().deployment);
}

#[test]
fn finalizer_removal_is_guarded() {
    let current = vec![
        "a".to_string(),
        INTERNAL_PACKAGE_REVISION_FINALIZER.to_string(),
    ];
    assert_eq!(
        remove_finalizer_ops(&current, INTERNAL_PACKAGE_REVISION_FINALIZER).unwrap(),
        vec![
            json!({"op": "test", "path": "/metadata/finalizers", "value": current}),
            json!({"op": "replace", "path": "/metadata/finalizers", "value": ["a"]}),
        ]
    );
    assert!(
        remove_finalizer_ops(&["a".to_string()], INTERNAL_PACKAGE_REVISION_FINALIZER).is_none()
    );
}

#[test]
fn merge_patch_diff_removes_nested_keys() {
    let old = json!({"a": 1, "m": {"x": 1, "y": 2}, "l": [1, 2], "gone": true});
    let new = json!({"a": 1, "m": {"x": 1}, "l": [1], "new": "v"});
    assert_eq!(
        merge_patch_diff(&old, &new),
        Some(json!({"m": {"y": null}, "l": [1], "new": "v", "gone": null}))
    );
    assert_eq!(merge_patch_diff(&old, &old), None);
}

#[test]
fn creates_go_highest_revision_first() {
    let discovered = [
        rev("p", "main", -1, "c0"),
        rev("p", "v1", 1, "c1"),
        rev("p", "v2", 2, "c2"),
        rev("a", "v1", 1, "c3"),
    ];
    let order = names(
        plan(REPO, &discovered, &[])
            .creates
            .iter()
            .map(|p| p.metadata.name.clone().unwrap()),
    );
    assert_eq!(
        order,
        [
            "blueprints.a.v1",
            "blueprints.p.v2",
            "blueprints.p.v1",
            "blueprints.p.main"
        ]
    );
}

#[test]
fn fast_name_check_agrees_with_upstreams_validator() {
    use porch_crds::names::{compose_pkg_rev_obj_name, split_package_path, valid_pkg_rev_obj_name};
    let cases = [
        ("basens", "v1"),
        ("a/b/c", "main"),
        ("a//b", "v1"),
        ("a/-b", "v1"),
        ("/a", "v1"),
        ("a/", "v1"),
        ("a/./b", "v1"),
        ("../a", "v1"),
        ("A", "v1"),
        ("pkg", "v1.2"),
        ("pkg", "-x"),
        ("x", &"w".repeat(64)),
        (&"p/".repeat(100), "v1"),
    ];
    for (path, ws) in cases {
        let d = [rev(path, ws, 1, "c")];
        let planned = plan(REPO, &d, &[]);
        let (dir, package) = split_package_path(path);
        let upstream_ok = valid_pkg_rev_obj_name(REPO.name, dir, package, ws).is_ok()
            && !compose_pkg_rev_obj_name(REPO.name, dir, package, ws).is_empty();
        assert_eq!(planned.creates.len() == 1, upstream_ok, "{path:?} {ws:?}");
    }
}
