#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! porch.kpt.dev/v1alpha1 objects decode and re-encode with upstream's JSON quirks.
//! The samples are written from the spec (porch-api.md §1); each compares re-encoded
//! JSON byte for byte (object key order is ours where Go's differs only in metadata).

use kube::Resource;
use porch_crds::porch::v1alpha1::*;
use serde_json::Value;

fn minify(text: &str) -> String {
    let value: Value = serde_json::from_str(text).unwrap();
    serde_json::to_string(&value).unwrap()
}

/// Decodes `text` as `T`, re-encodes it and checks that the bytes are unchanged.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(text: &str) -> T {
    let expected = minify(text);
    let decoded: T = serde_json::from_str(&expected).unwrap();
    assert_eq!(serde_json::to_string(&decoded).unwrap(), expected);
    decoded
}

const DRAFT: &str = r#"{
  "apiVersion": "porch.kpt.dev/v1alpha1",
  "kind": "PackageRevision",
  "metadata": {
    "creationTimestamp": "2026-01-02T03:04:05Z",
    "name": "git.init-package.init-1",
    "namespace": "rpkg-init",
    "resourceVersion": "0b1c2d3e4f",
    "uid": "45ee0692-730a-51b2-9a1d-ad4f4ad55dc8"
  },
  "spec": {
    "packageName": "init-package",
    "repository": "git",
    "workspaceName": "init-1",
    "lifecycle": "Draft",
    "tasks": [{"type": "init", "init": {"description": "d", "keywords": ["a"], "site": "http://x"}}],
    "packageMetadata": {}
  },
  "status": {
    "upstreamLock": {},
    "selfLock": {"type": "git", "git": {"repo": "http://127.0.0.1:8080/git", "directory": "init-package", "ref": "drafts/init-package/init-1", "commit": "0b1c2d3e4f"}},
    "publishTimestamp": null,
    "conditions": [{"type": "Rendered", "status": "True", "reason": "RenderSuccess"}]
  }
}"#;

#[test]
fn draft_keeps_null_publish_timestamp_empty_lock_and_no_revision() {
    let pr: PackageRevision = round_trip(DRAFT);
    assert_eq!(pr.spec.revision, 0);
    assert_eq!(pr.spec.lifecycle, PackageRevisionLifecycle::Draft);
    assert_eq!(pr.status.publish_timestamp, None);
    assert_eq!(pr.status.upstream_lock, Locator::default());
    assert_eq!(pr.spec.tasks[0].type_, TaskType::Init);
    assert_eq!(
        pr.status.conditions.as_ref().unwrap()[0].status,
        ConditionStatus::True
    );
    let text = serde_json::to_string(&pr).unwrap();
    assert!(text.contains(r#""publishTimestamp":null"#));
    assert!(text.contains(r#""upstreamLock":{}"#));
    assert!(!text.contains("revision"));
}

#[test]
fn published_revision_has_number_time_and_publisher() {
    let pr: PackageRevision = round_trip(
        r#"{
  "apiVersion": "porch.kpt.dev/v1alpha1",
  "kind": "PackageRevision",
  "metadata": {"labels": {"kpt.dev/latest-revision": "true"}, "name": "blueprints.basens.v1", "namespace": "default"},
  "spec": {
    "packageName": "basens",
    "repository": "blueprints",
    "workspaceName": "v1",
    "revision": 2,
    "lifecycle": "Published",
    "tasks": [{"type": "edit", "edit": {"sourceRef": {"name": "blueprints.basens.v0"}}}],
    "readinessGates": [{"conditionType": "config.injection.ConfigMap.x"}],
    "packageMetadata": {"labels": {"team": "a"}, "annotations": {"note": "b"}}
  },
  "status": {
    "upstreamLock": {"type": "git", "git": {"repo": "https://h/up.git", "directory": "basens", "ref": "basens/v1", "commit": "abc"}},
    "publishedBy": "admin@example.com",
    "publishTimestamp": "2026-01-02T03:04:05Z",
    "deployment": true
  }
}"#,
    );
    assert_eq!(pr.spec.revision, 2);
    assert!(pr.spec.lifecycle.is_published());
    assert!(pr.is_latest());
    assert_eq!(
        pr.status.publish_timestamp.as_ref().unwrap().0.to_string(),
        "2026-01-02T03:04:05Z"
    );
}

#[test]
fn placeholder_has_revision_minus_one() {
    let pr: PackageRevision = round_trip(
        r#"{"apiVersion":"porch.kpt.dev/v1alpha1","kind":"PackageRevision","metadata":{"name":"blueprints.nginx.main","namespace":"default"},"spec":{"packageName":"nginx","repository":"blueprints","workspaceName":"main","revision":-1,"lifecycle":"Published","packageMetadata":{}},"status":{"upstreamLock":{},"publishTimestamp":null}}"#,
    );
    assert_eq!(pr.spec.revision, porch_crds::revision::PLACEHOLDER_REVISION);
    assert!(!pr.is_latest());
}

#[test]
fn clone_task_keeps_the_doubled_upstream_ref() {
    let pr: PackageRevision = round_trip(
        r#"{"apiVersion":"porch.kpt.dev/v1alpha1","kind":"PackageRevision","metadata":{"name":"git.basens-clone.clone-2","namespace":"rpkg-clone","uid":"710e4f9b-b21f-5786-bf04-1d1d9b32d57c"},"spec":{"packageName":"basens-clone","repository":"git","workspaceName":"clone-2","lifecycle":"Proposed","tasks":[{"type":"clone","clone":{"upstreamRef":{"upstreamRef":{"name":"test-blueprints.basens.v1"}}}}]},"status":{"upstreamLock":{"type":"git","git":{"repo":"https://h/test-blueprints.git","directory":"basens","ref":"basens/v1","commit":"f00d"}},"publishTimestamp":null}}"#,
    );
    assert_eq!(
        pr.spec.tasks[0].upstream_name(),
        Some("test-blueprints.basens.v1")
    );
    assert_eq!(
        pr.metadata.uid.as_deref(),
        Some(
            porch_crds::uid::package_revision_uid("rpkg-clone", "git.basens-clone.clone-2")
                .as_str()
        )
    );
}

#[test]
fn git_clone_task_serializes_secret_ref_like_go() {
    round_trip::<Task>(
        r#"{"type":"clone","clone":{"upstreamRef":{"type":"git","git":{"repo":"https://h/r.git","ref":"basens/v1","directory":"basens","secretRef":{"name":"s"}}}}}"#,
    );
}

#[test]
fn legacy_commit_annotations_with_unknown_task_types_decode() {
    // Old git history (before a7c09d4c) carries eval/patch/update tasks and clone.strategy.
    for text in [
        r#"{"type":"eval","eval":{"image":"gcr.io/kpt-fn/set-namespace:v0.2","configMap":{"namespace":"x"},"includeMetaResources":true}}"#,
        r#"{"type":"patch","patch":{"patches":[{"file":"a.yaml","contents":"x","patchType":"CreateFile"}]}}"#,
        r#"{"type":"update","update":{"upstreamRef":{"upstreamRef":{"name":"a.b.v2"}}}}"#,
        r#"{"type":"clone","clone":{"upstreamRef":{"upstreamRef":{"name":"a.b.v1"}},"strategy":"resource-merge"}}"#,
    ] {
        let task: Task = serde_json::from_str(text).unwrap();
        assert!(matches!(task.type_, TaskType::Other(_) | TaskType::Clone));
    }
    let result: TaskResult = serde_json::from_str(
        r#"{"task":{"type":"eval","eval":{"image":"x"}},"renderStatus":{"result":{"exitCode":0},"error":""}}"#,
    )
    .unwrap();
    assert_eq!(result.task.unwrap().type_.as_str(), "eval");
}

#[test]
fn package_revision_resources_with_render_status() {
    let prr: PackageRevisionResources = round_trip(
        r##"{"apiVersion":"porch.kpt.dev/v1alpha1","kind":"PackageRevisionResources","metadata":{"name":"git.init-package.init-1","namespace":"rpkg-init","ownerReferences":[],"resourceVersion":"0b1c"},"spec":{"packageName":"init-package","workspaceName":"init-1","repository":"git","resources":{"Kptfile":"apiVersion: kpt.dev/v1\nkind: Kptfile\n","README.md":"# x\n","sub/pkg/cm.yaml":"kind: ConfigMap\n"}},"status":{"renderStatus":{"result":{"apiVersion":"kpt.dev/v1","kind":"FunctionResultList","metadata":{"name":"fnresults"},"exitCode":0,"items":[{"image":"ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4","exitCode":0}]},"error":""}}}"##,
    );
    assert_eq!(prr.spec.resources.len(), 3);
    assert_eq!(prr.status.render_status.result.exit_code, 0);
}

#[test]
fn zero_prr_status_still_has_result_and_error() {
    let prr = PackageRevisionResources::new("r.p.w", Default::default());
    assert_eq!(
        serde_json::to_string(&prr).unwrap(),
        r#"{"apiVersion":"porch.kpt.dev/v1alpha1","kind":"PackageRevisionResources","metadata":{"name":"r.p.w"},"spec":{},"status":{"renderStatus":{"result":{"metadata":{},"exitCode":0},"error":""}}}"#
    );
}

#[test]
fn porch_package_and_lists() {
    let pkg: PorchPackage = round_trip(
        r#"{"apiVersion":"porch.kpt.dev/v1alpha1","kind":"PorchPackage","metadata":{"name":"blueprints.basens","namespace":"default","resourceVersion":"undefined"},"spec":{"packageName":"basens","repository":"blueprints"},"status":{"latestRevision":3}}"#,
    );
    assert_eq!(pkg.status.latest_revision, 3);
    let list: PorchPackageList = round_trip(
        r#"{"apiVersion":"porch.kpt.dev/v1alpha1","kind":"PorchPackageList","metadata":{},"items":[]}"#,
    );
    assert!(list.items.is_empty());
    let list: PackageRevisionList = serde_json::from_str(&format!(
        r#"{{"apiVersion":"porch.kpt.dev/v1alpha1","kind":"PackageRevisionList","metadata":{{}},"items":[{DRAFT}]}}"#
    ))
    .unwrap();
    assert_eq!(list.items[0].spec.workspace_name, "init-1");
    assert_eq!(PackageRevisionList::KIND, "PackageRevisionList");
}

#[test]
fn client_yaml_with_missing_fields_decodes_with_go_defaults() {
    let pr: PackageRevision = serde_saphyr::from_str(
        "apiVersion: porch.kpt.dev/v1alpha1\nkind: PackageRevision\nmetadata:\n  namespace: default\nspec:\n  packageName: a/b/pkg\n  repository: git\n  workspaceName: ws\n  unknownField: 1\n",
    )
    .unwrap();
    assert_eq!(pr.spec.lifecycle, PackageRevisionLifecycle::Draft);
    assert_eq!(pr.spec.tasks, vec![]);
    let pr: PackageRevision = serde_json::from_str(
        r#"{"spec":{"lifecycle":"","tasks":null,"readinessGates":[]},"status":null}"#,
    )
    .unwrap();
    assert_eq!(pr.spec.lifecycle, PackageRevisionLifecycle::Draft);
    // An explicit empty list is kept apart from an absent one (it replaces on update).
    assert_eq!(pr.spec.readiness_gates, Some(vec![]));
}

#[test]
fn kube_resource_paths_point_at_the_aggregated_api() {
    assert_eq!(
        PackageRevision::url_path(&(), Some("ns")),
        "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions"
    );
    assert_eq!(
        PackageRevisionResources::url_path(&(), Some("ns")),
        "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisionresources"
    );
    assert_eq!(
        PorchPackage::url_path(&(), None),
        "/apis/porch.kpt.dev/v1alpha1/packages"
    );
    assert_eq!(PorchPackage::kind(&()), "PorchPackage");
    let pr = PackageRevision::new("r.p.w", PackageRevisionSpec::default());
    assert_eq!(
        pr.object_ref(&()).api_version.as_deref(),
        Some("porch.kpt.dev/v1alpha1")
    );
}

#[test]
fn json_schemas_describe_the_wire_shape() {
    let schema = schemars::schema_for!(PackageRevision);
    let value = serde_json::to_value(&schema).unwrap();
    let text = value.to_string();
    for field in [
        "apiVersion",
        "publishTimestamp",
        "upstreamLock",
        "workspaceName",
        "readinessGates",
    ] {
        assert!(text.contains(field), "schema lacks {field}");
    }
    let schema = serde_json::to_value(schemars::schema_for!(PackageRevisionResourcesList)).unwrap();
    assert!(schema.to_string().contains("renderStatus"));
}

#[test]
fn spec_composes_its_object_name() {
    let spec = PackageRevisionSpec {
        package_name: "basedir/subdir/edge-function".into(),
        repository: "porch-test".into(),
        workspace_name: "v1".into(),
        ..Default::default()
    };
    assert_eq!(spec.path_and_package(), ("basedir/subdir", "edge-function"));
    assert_eq!(
        spec.obj_name(),
        "porch-test.basedir.subdir.edge-function.v1"
    );
}
