#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! config.porch.kpt.dev objects decode from the YAML users write and re-encode as expected.

use porch_crds::config::v1alpha1::*;
use porch_crds::config::v1alpha2;
use porch_crds::porch::v1alpha1::PackageRevisionLifecycle;
use serde_json::json;

#[test]
fn repository_defaults_branch_and_content() {
    let repo: Repository = serde_saphyr::from_str(
        r#"
apiVersion: config.porch.kpt.dev/v1alpha1
kind: Repository
metadata:
  name: blueprints
  namespace: default
spec:
  description: Blueprints
  type: git
  git:
    repo: http://127.0.0.1:8080/blueprints.git
    directory: /
    secretRef:
      name: blueprints-auth
"#,
    )
    .unwrap();
    let git = repo.spec.git.as_ref().unwrap();
    assert_eq!(git.branch, "main");
    assert_eq!(repo.spec.content.as_deref(), Some("Package"));
    assert_eq!(repo.spec.type_, Some(RepositoryType::Git));
    assert_eq!(
        serde_json::to_value(&repo).unwrap(),
        json!({
            "apiVersion": "config.porch.kpt.dev/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": "blueprints", "namespace": "default"},
            "spec": {
                "description": "Blueprints",
                "type": "git",
                "content": "Package",
                "git": {
                    "repo": "http://127.0.0.1:8080/blueprints.git",
                    "branch": "main",
                    "directory": "/",
                    "secretRef": {"name": "blueprints-auth"}
                }
            }
        })
    );
}

#[test]
fn repository_status_round_trips() {
    let text = r#"{"apiVersion":"config.porch.kpt.dev/v1alpha1","kind":"Repository","metadata":{"name":"r","namespace":"ns"},"spec":{"type":"oci","content":"Package","sync":{"runOnceAt":"2026-01-02T03:04:05Z","schedule":"*/10 * * * *"},"oci":{"registry":"ghcr.io/x"}},"status":{"conditions":[{"lastTransitionTime":"2026-01-02T03:04:05Z","message":"Repository Ready","reason":"Ready","status":"True","type":"Ready"}],"lastFullSyncTime":"2026-01-02T03:04:05Z","observedGeneration":2,"packageCount":7,"gitCommitHash":"abc"}}"#;
    let repo: Repository = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::to_string(&repo).unwrap(), text);
    assert_eq!(repo.status.as_ref().unwrap().package_count, 7);
}

#[test]
fn package_rev_carries_the_cached_package_revision() {
    let text = r#"{"apiVersion":"config.porch.kpt.dev/v1alpha1","kind":"PackageRev","metadata":{"finalizers":["internal.porch.kpt.dev/packagerevision"],"labels":{"internal.porch.kpt.dev/repository":"git"},"name":"git.pkg.ws","namespace":"ns"},"spec":{"repository":"git","packageName":"a/pkg","workspaceName":"ws","revision":3,"lifecycle":"Published","tasks":[{"type":"init","init":{"description":"pkg description"}}]},"status":{"commit":"0123","upstreamLock":{},"selfLock":{"type":"git","git":{"ref":"a/pkg/v3","commit":"0123"}},"publishedBy":"me","publishTimestamp":"2026-01-02T03:04:05Z","conditions":[{"type":"Rendered","status":"True"}]}}"#;
    let rev: PackageRev = serde_json::from_str(text).unwrap();
    assert_eq!(rev.spec.lifecycle, PackageRevisionLifecycle::Published);
    assert_eq!(serde_json::to_string(&rev).unwrap(), text);
}

#[test]
fn package_variant_round_trips() {
    let text = r#"{"apiVersion":"config.porch.kpt.dev/v1alpha1","kind":"PackageVariant","metadata":{"name":"pv","namespace":"ns"},"spec":{"upstream":{"repo":"blueprints","package":"basens","workspaceName":"v1"},"downstream":{"repo":"deploy","package":"basens-x"},"adoptionPolicy":"adoptExisting","deletionPolicy":"orphan","labels":{"a":"b"},"packageContext":{"data":{"k":"v"},"removeKeys":["old"]},"pipeline":{"mutators":[{"image":"ghcr.io/kptdev/krm-functions-catalog/set-labels:v0.1","configMap":{"app":"x"},"name":"set"}]},"injectors":[{"kind":"ConfigMap","name":"cm"}]},"status":{"downstreamTargets":[{"name":"deploy.basens-x.packagevariant-1","renderStatus":{"result":{"metadata":{},"exitCode":0},"error":""}}]}}"#;
    let pv: PackageVariant = serde_json::from_str(text).unwrap();
    assert_eq!(pv.spec.adoption_policy, Some(AdoptionPolicy::AdoptExisting));
    assert_eq!(serde_json::to_string(&pv).unwrap(), text);
}

#[test]
fn package_variant_set_v1alpha2_decodes_user_yaml() {
    let pvs: v1alpha2::PackageVariantSet = serde_saphyr::from_str(
        r#"
apiVersion: config.porch.kpt.dev/v1alpha2
kind: PackageVariantSet
metadata:
  name: set
spec:
  upstream:
    repo: blueprints
    package: basens
    workspaceName: v1
  targets:
  - repositories:
    - name: deploy
      packageNames: [a, b]
  - objectSelector:
      apiVersion: v1
      kind: ConfigMap
      matchLabels: {env: prod}
    template:
      downstream:
        packageExpr: "target.name + '-pkg'"
      labelExprs:
      - key: app
        valueExpr: target.name
      pipeline:
        mutators:
        - image: set-labels:v0.1
          name: set
          configMapExprs:
          - key: env
            valueExpr: "'prod'"
"#,
    )
    .unwrap();
    let target = &pvs.spec.targets[1];
    let selector = target.object_selector.as_ref().unwrap();
    assert_eq!(selector.kind, "ConfigMap");
    assert_eq!(
        selector.label_selector().match_labels.unwrap()["env"],
        "prod"
    );
    let mutator = &target
        .template
        .as_ref()
        .unwrap()
        .pipeline
        .as_ref()
        .unwrap()
        .mutators[0];
    assert_eq!(mutator.function.image, "set-labels:v0.1");
    assert_eq!(
        mutator.config_map_exprs[0].value_expr.as_deref(),
        Some("'prod'")
    );
    // The flattened function stays flat on the wire.
    let value = serde_json::to_value(mutator).unwrap();
    assert_eq!(value["image"], "set-labels:v0.1");
    assert_eq!(value["configMapExprs"][0]["key"], "env");
}

#[test]
fn function_config_defaults_time_to_live() {
    let fc: FunctionConfig = serde_json::from_value(json!({
        "apiVersion": "config.porch.kpt.dev/v1alpha1",
        "kind": "FunctionConfig",
        "metadata": {"name": "set-ns"},
        "spec": {"image": "ghcr.io/kptdev/krm-functions-catalog/set-namespace", "podExecutor": {"tags": ["v0.4"]}}
    }))
    .unwrap();
    assert_eq!(fc.spec.pod_executor.unwrap().time_to_live, "30m");
}
