#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! init / clone / copy / package context, golden outputs written from the spec.

mod common;

use common::{FakeEvaluator, block_on, pkg};
use kpt::kptfile::GitLock;
use kpt::ops::{self, CloneOptions, InitOptions};
use kpt::render::{RenderOptions, render};
use kpt::{Kptfile, Package};

fn init_pkg() -> Package {
    ops::init(
        &Package::default(),
        &InitOptions {
            name: "init-package".into(),
            description: "Test Package Description".into(),
            keywords: vec!["test".into(), "package".into()],
            site: "http://kpt.dev/init-package".into(),
            ..InitOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn init_writes_kptfile_readme_and_package_context() {
    let p = init_pkg();
    assert_eq!(
        p.files.keys().cloned().collect::<Vec<_>>(),
        vec!["Kptfile", "README.md", "package-context.yaml"]
    );
    assert_eq!(
        p.files["Kptfile"],
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: init-package\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ninfo:\n  site: http://kpt.dev/init-package\n  description: Test Package Description\n  keywords:\n  - test\n  - package\n"
    );
    assert_eq!(
        p.files["package-context.yaml"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ndata:\n  name: example\n"
    );
    assert!(
        p.files["README.md"]
            .starts_with("# init-package\n\n## Description\nTest Package Description\n")
    );
    assert!(p.files["README.md"].contains("`kpt pkg tree init-package`"));
    // a Kptfile that parses strictly
    let kf = Kptfile::parse("Kptfile", &p.files["Kptfile"]).unwrap();
    assert_eq!(kf.metadata.name, "init-package");
}

#[test]
fn init_then_render_matches_conformance_case() {
    let p = init_pkg();
    let out = block_on(render(
        &p,
        &FakeEvaluator::default(),
        &RenderOptions::default(),
    ));
    assert_eq!(out.error, None);
    assert_eq!(
        out.package.files["Kptfile"],
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: init-package\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ninfo:\n  site: http://kpt.dev/init-package\n  description: Test Package Description\n  keywords:\n  - test\n  - package\nstatus:\n  conditions:\n  - type: Rendered\n    status: \"True\"\n    reason: RenderSuccess\n"
    );
    assert_eq!(
        out.package.files["package-context.yaml"],
        p.files["package-context.yaml"]
    );
    assert_eq!(out.package.files["README.md"], p.files["README.md"]);
    assert_eq!(out.results.exit_code, 0);
    assert!(out.results.items.is_empty());
}

#[test]
fn init_subpackage_keeps_existing_files() {
    let base = pkg(&[(
        "Kptfile",
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: root\n",
    )]);
    let p = ops::init(
        &base,
        &InitOptions {
            name: "sub".into(),
            dir: "sub".into(),
            ..InitOptions::default()
        },
    )
    .unwrap();
    assert_eq!(p.files["Kptfile"], base.files["Kptfile"]);
    assert!(p.files["sub/Kptfile"].contains("  name: sub\n"));
    assert!(p.files.contains_key("sub/package-context.yaml"));
    assert!(
        ops::init(
            &base,
            &InitOptions {
                dir: "../x".into(),
                ..InitOptions::default()
            }
        )
        .is_err()
    );
}

const UPSTREAM_DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 1 # keep me\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx\n";

#[test]
fn clone_sets_upstream_lock_merge_keys_and_identifiers() {
    let src = pkg(&[
        (
            "Kptfile",
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: upstream-pkg\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ninfo:\n  description: blueprint\n",
        ),
        ("deploy.yaml", UPSTREAM_DEPLOY),
        (
            "ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
        ),
        ("README.md", "hello\n"),
    ]);
    let out = ops::clone(
        &src,
        &CloneOptions {
            name: "downstream".into(),
            upstream: GitLock {
                repo: "http://git.example/blueprints".into(),
                directory: "/basens".into(),
                r#ref: "basens/v1".into(),
                commit: "abc123".into(),
            },
            existing: [
                ("extra.txt".to_string(), "x".to_string()),
                ("README.md".to_string(), "old".to_string()),
            ]
            .into(),
            ..CloneOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        out.files["Kptfile"],
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata: # kpt-merge: /downstream\n  name: downstream\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n    internal.kpt.dev/upstream-identifier: 'kpt.dev|Kptfile|default|downstream'\nupstream:\n  type: git\n  git:\n    repo: http://git.example/blueprints.git\n    directory: basens\n    ref: basens/v1\n  updateStrategy: resource-merge\nupstreamLock:\n  type: git\n  git:\n    repo: http://git.example/blueprints.git\n    directory: basens\n    ref: basens/v1\n    commit: abc123\ninfo:\n  description: blueprint\n"
    );
    assert_eq!(
        out.files["deploy.yaml"],
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: # kpt-merge: shop/web\n  name: web\n  namespace: shop\n  annotations:\n    internal.kpt.dev/upstream-identifier: 'apps|Deployment|shop|web'\nspec:\n  replicas: 1 # keep me\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx\n"
    );
    assert!(out.files["ns.yaml"].contains("metadata: # kpt-merge: /shop\n"));
    assert!(
        out.files["ns.yaml"]
            .contains("internal.kpt.dev/upstream-identifier: '|Namespace|default|shop'")
    );
    assert_eq!(out.files["README.md"], "hello\n");
    assert_eq!(out.files["extra.txt"], "x");
    let kf = Kptfile::parse("Kptfile", &out.files["Kptfile"]).unwrap();
    assert_eq!(kf.upstream_lock.unwrap().git.unwrap().commit, "abc123");
}

#[test]
fn merge_key_keeps_existing_comment_identity() {
    let src = pkg(&[(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: # kpt-merge: old-ns/old-name\n  name: renamed\n",
    )]);
    let out = ops::clone(
        &src,
        &CloneOptions {
            name: "p".into(),
            ..CloneOptions::default()
        },
    )
    .unwrap();
    assert!(out.files["cm.yaml"].contains("metadata: # kpt-merge: old-ns/old-name\n"));
    assert!(out.files["cm.yaml"].contains("'|ConfigMap|old-ns|old-name'"));
}

#[test]
fn clone_into_deployment_repo_generates_package_context() {
    let src = init_pkg();
    let out = ops::clone(
        &src,
        &CloneOptions {
            name: "edge-1".into(),
            deployment: true,
            package_path: Some("parent/edge-1".into()),
            ..CloneOptions::default()
        },
    )
    .unwrap();
    let ctx = &out.files["package-context.yaml"];
    assert!(
        ctx.contains("data:\n  name: edge-1\n  package-path: parent/edge-1\n"),
        "{ctx}"
    );
    assert!(ctx.contains("config.kubernetes.io/local-config: \"true\""));
    assert!(!ctx.contains("example"));
}

#[test]
fn package_context_replaces_old_context_and_reports() {
    let p = init_pkg();
    let read = p.read().unwrap();
    let (items, results) = ops::package_context(read.items, None).unwrap();
    let contexts: Vec<_> = items
        .iter()
        .filter(|n| n.str_at(&["metadata", "name"]) == Some("kptfile.kpt.dev"))
        .collect();
    assert_eq!(contexts.len(), 1);
    assert_eq!(contexts[0].str_at(&["data", "name"]), Some("init-package"));
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].message, "generated package context");
    assert_eq!(
        results[0].file.as_ref().unwrap().path,
        "package-context.yaml"
    );
}

#[test]
fn copy_is_verbatim() {
    let src = pkg(&[
        (
            "Kptfile",
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: a # c\n",
        ),
        ("x.txt", "y"),
    ]);
    assert_eq!(ops::copy(&src).unwrap(), src);
}
