#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Upgrade strategies and the 3-way merge (§4, checklist items 3 and 4).

mod common;

use common::pkg;
use kpt::kptfile::GitLock;
use kpt::ops::{UpdateStrategy, upgrade};

const KF: &str = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n";

fn deploy(replicas: &str, image: &str, extra_container: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: # kpt-merge: default/web\n  name: web\n  namespace: default\nspec:\n  replicas: {replicas}\n  template:\n    spec:\n      containers:\n      - name: app\n        image: {image}\n{extra_container}"
    )
}

#[test]
fn resource_merge_fields_lists_and_comments() {
    let original = pkg(&[
        ("Kptfile", KF),
        ("deploy.yaml", &deploy("1", "nginx:1.0", "")),
    ]);
    let updated = pkg(&[
        ("Kptfile", KF),
        (
            "deploy.yaml",
            &deploy(
                "2",
                "nginx:1.0",
                "        env:\n        - name: MODE\n          value: prod\n",
            ),
        ),
    ]);
    let mut local_text = deploy(
        "1 # local comment",
        "nginx:1.0",
        "      - name: sidecar\n        image: envoy\n",
    );
    local_text = local_text.replace(
        "  namespace: default\n",
        "  namespace: default\n  labels:\n    team: a\n",
    );
    let local = pkg(&[("Kptfile", KF), ("deploy.yaml", &local_text)]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    assert_eq!(
        out.files["deploy.yaml"],
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: # kpt-merge: default/web\n  name: web\n  namespace: default\n  labels:\n    team: a\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.0\n        env:\n        - name: MODE\n          value: prod\n      - name: sidecar\n        image: envoy\n"
    );
}

#[test]
fn local_change_kept_when_upstream_did_not_change_the_field() {
    let original = pkg(&[
        ("Kptfile", KF),
        ("deploy.yaml", &deploy("1", "nginx:1.0", "")),
    ]);
    let updated = pkg(&[
        ("Kptfile", KF),
        ("deploy.yaml", &deploy("3", "nginx:1.0", "")),
    ]);
    let local = pkg(&[
        ("Kptfile", KF),
        ("deploy.yaml", &deploy("1", "nginx:2.0 # pinned", "")),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    assert!(out.files["deploy.yaml"].contains("image: nginx:2.0 # pinned\n"));
    assert!(out.files["deploy.yaml"].contains("replicas: 3\n"));
    // conflict: upstream wins
    let local = pkg(&[
        ("Kptfile", KF),
        ("deploy.yaml", &deploy("5", "nginx:1.0", "")),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    assert!(out.files["deploy.yaml"].contains("replicas: 3\n"));
}

fn cm(name: &str, v: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {v}\n")
}

#[test]
fn resource_tuple_table() {
    let original = pkg(&[
        ("Kptfile", KF),
        ("kept-modified.yaml", &cm("km", "1")),
        ("removed.yaml", &cm("rm", "1")),
        ("local-deleted.yaml", &cm("ld", "1")),
    ]);
    let updated = pkg(&[
        ("Kptfile", KF),
        ("local-deleted.yaml", &cm("ld", "2")),
        ("added.yaml", &cm("add", "1")),
    ]);
    let local = pkg(&[
        ("Kptfile", KF),
        ("kept-modified.yaml", &cm("km", "local")),
        ("removed.yaml", &cm("rm", "1")),
        ("mine.yaml", &cm("mine", "1")),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    let names: Vec<&str> = out.files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        vec!["Kptfile", "added.yaml", "kept-modified.yaml", "mine.yaml"]
    );
    assert_eq!(out.files["kept-modified.yaml"], cm("km", "local"));
    assert_eq!(out.files["added.yaml"], cm("add", "1"));
}

#[test]
fn renamed_resource_matches_by_merge_comment() {
    let up = |ns: &str, v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: # kpt-merge: /cfg\n  name: cfg\n  namespace: {ns}\ndata:\n  k: {v}\n"
        )
    };
    let original = pkg(&[
        ("Kptfile", KF),
        ("cm.yaml", &up("x", "1").replace("  namespace: x\n", "")),
    ]);
    let updated = pkg(&[
        ("Kptfile", KF),
        ("cm.yaml", &up("x", "2").replace("  namespace: x\n", "")),
    ]);
    let local = pkg(&[
        ("Kptfile", KF),
        (
            "cm.yaml",
            &up("prod", "1").replace("name: cfg\n", "name: prod-cfg\n"),
        ),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    assert_eq!(
        out.files["cm.yaml"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: # kpt-merge: /cfg\n  name: prod-cfg\n  namespace: prod\ndata:\n  k: 2\n"
    );
}

#[test]
fn duplicate_resources_are_an_error() {
    let twice = format!("{}---\n{}", cm("a", "1"), cm("a", "2"));
    let local = pkg(&[("Kptfile", KF), ("x.yaml", &twice)]);
    let err = upgrade(&local, &local, &local, UpdateStrategy::ResourceMerge, None).unwrap_err();
    assert!(
        err.to_string().contains("x.yaml") && err.to_string().contains("duplicate"),
        "{err}"
    );
}

#[test]
fn kptfile_pipeline_merges_by_function_and_keeps_local_identity() {
    let kf = |fns: &str, extra: &str| {
        format!(
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: NAME\n{extra}pipeline:\n  mutators:\n{fns}"
        )
    };
    let original = pkg(&[(
        "Kptfile",
        &kf(
            "  - image: set-labels:v0.1\n  - image: set-namespace:v0.1\n",
            "",
        )
        .replace("NAME", "up"),
    )]);
    let updated = pkg(&[(
        "Kptfile",
        &kf(
            "  - image: set-labels:v0.2\n  - image: set-namespace:v0.1\n",
            "info:\n  description: new\n",
        )
        .replace("NAME", "up"),
    )]);
    let local = pkg(&[(
        "Kptfile",
        &kf(
            "  - image: set-labels:v0.1\n    configMap:\n      team: a\n  - image: set-namespace:v0.1\n  - image: apply-setters:v0.2\n",
            "upstream:\n  type: git\n  git:\n    repo: r\n    directory: d\n    ref: v1\n",
        )
        .replace("NAME", "mine"),
    )]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    assert_eq!(
        out.files["Kptfile"],
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: mine\nupstream:\n  type: git\n  git:\n    repo: r\n    directory: d\n    ref: v1\ninfo:\n  description: new\npipeline:\n  mutators:\n  - image: set-labels:v0.2\n    configMap:\n      team: a\n  - image: set-namespace:v0.1\n  - image: apply-setters:v0.2\n"
    );
}

#[test]
fn non_krm_files_and_subpackages() {
    let original = pkg(&[
        ("Kptfile", KF),
        ("README.md", "v1\n"),
        ("notes.txt", "n1\n"),
        ("gone.sh", "x\n"),
    ]);
    let updated = pkg(&[
        ("Kptfile", KF),
        ("README.md", "v2\n"),
        ("notes.txt", "n2\n"),
        (
            "sub/Kptfile",
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: sub\n",
        ),
        ("sub/x.yaml", &cm("x", "1")),
    ]);
    let local = pkg(&[
        ("Kptfile", KF),
        ("README.md", "v1\n"),
        ("notes.txt", "mine\n"),
        ("gone.sh", "x\n"),
        ("local.md", "l\n"),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    assert_eq!(out.files["README.md"], "v2\n");
    assert_eq!(out.files["notes.txt"], "mine\n");
    assert!(!out.files.contains_key("gone.sh"));
    assert_eq!(out.files["local.md"], "l\n");
    assert_eq!(out.files["sub/x.yaml"], cm("x", "1"));
    // added in both → error
    let local2 = pkg(&[
        ("Kptfile", KF),
        (
            "sub/Kptfile",
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: sub\n",
        ),
    ]);
    let err = upgrade(
        &local2,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("added in both upstream and local"));
}

#[test]
fn fast_forward_refuses_local_changes() {
    let original = pkg(&[("Kptfile", KF), ("a.yaml", &cm("a", "1"))]);
    let updated = pkg(&[("Kptfile", KF), ("a.yaml", &cm("a", "2"))]);
    let local = pkg(&[("Kptfile", KF), ("a.yaml", &cm("a", "changed"))]);
    let err = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::FastForward,
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("local package files have been modified: [\"a.yaml\"]"),
        "{err}"
    );
    let local = pkg(&[
        (
            "Kptfile",
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: renamed\nstatus:\n  conditions:\n  - type: Rendered\n    status: \"True\"\n    reason: RenderSuccess\n",
        ),
        ("a.yaml", &cm("a", "1")),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::FastForward,
        None,
    )
    .unwrap();
    assert_eq!(out.files["a.yaml"], cm("a", "2"));
    assert_eq!(
        out.files["Kptfile"],
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: renamed\n"
    );
}

#[test]
fn force_delete_replace_and_copy_merge() {
    let original = pkg(&[
        ("Kptfile", KF),
        ("a.yaml", &cm("a", "1")),
        ("old.yaml", &cm("old", "1")),
    ]);
    let updated = pkg(&[
        ("Kptfile", KF),
        ("a.yaml", &cm("a", "2")),
        ("new.yaml", &cm("new", "1")),
    ]);
    let local = pkg(&[
        ("Kptfile", &KF.replace("name: pkg", "name: mine")),
        ("a.yaml", &cm("a", "local")),
        ("old.yaml", &cm("old", "1")),
        ("mine.yaml", &cm("m", "1")),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ForceDeleteReplace,
        None,
    )
    .unwrap();
    assert_eq!(
        out.files.keys().cloned().collect::<Vec<_>>(),
        vec!["Kptfile", "a.yaml", "new.yaml"]
    );
    assert!(out.files["Kptfile"].contains("name: mine"));
    assert_eq!(out.files["a.yaml"], cm("a", "2"));
    let out = upgrade(&local, &original, &updated, UpdateStrategy::CopyMerge, None).unwrap();
    assert_eq!(
        out.files.keys().cloned().collect::<Vec<_>>(),
        vec!["Kptfile", "a.yaml", "mine.yaml", "new.yaml"]
    );
    assert_eq!(out.files["a.yaml"], cm("a", "2"));
}

#[test]
fn upgrade_points_kptfile_at_new_upstream() {
    let original = pkg(&[("Kptfile", KF), ("a.yaml", &cm("a", "1"))]);
    let updated = pkg(&[("Kptfile", KF), ("a.yaml", &cm("a", "2"))]);
    let lock = GitLock {
        repo: "https://g/r".into(),
        directory: "p".into(),
        r#ref: "p/v2".into(),
        commit: "c2".into(),
    };
    let out = upgrade(
        &original,
        &original,
        &updated,
        UpdateStrategy::parse("bogus"),
        Some(&lock),
    )
    .unwrap();
    let kf = kpt::Kptfile::parse("Kptfile", &out.files["Kptfile"]).unwrap();
    assert_eq!(kf.upstream_lock.unwrap().git.unwrap().r#ref, "p/v2");
    assert_eq!(kf.upstream.unwrap().update_strategy, "resource-merge");
    assert!(out.files["a.yaml"].contains("# kpt-merge: /a"));
    assert!(out.files["a.yaml"].contains("k: 2"));
}

#[test]
fn custom_resource_lists_are_atomic_not_inferred_by_name() {
    // §8.4: associative lists come only from the (built-in) schema; a CRD's list of
    // named items is atomic, so a changed upstream list replaces the local one.
    let cr = |items: &str| {
        format!(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  parts:\n{items}"
        )
    };
    let original = pkg(&[
        ("Kptfile", KF),
        ("w.yaml", &cr("  - name: a\n    size: 1\n")),
    ]);
    let updated = pkg(&[
        ("Kptfile", KF),
        ("w.yaml", &cr("  - name: a\n    size: 2\n")),
    ]);
    let local = pkg(&[
        ("Kptfile", KF),
        (
            "w.yaml",
            &cr("  - name: a\n    size: 1\n  - name: local\n    size: 9\n"),
        ),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    assert_eq!(out.files["w.yaml"], cr("  - name: a\n    size: 2\n"));

    // the same shape in a built-in kind merges element by element (patch merge key)
    let pod = |containers: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n{containers}"
        )
    };
    let original = pkg(&[
        ("Kptfile", KF),
        ("p.yaml", &pod("  - name: a\n    image: x:1\n")),
    ]);
    let updated = pkg(&[
        ("Kptfile", KF),
        ("p.yaml", &pod("  - name: a\n    image: x:2\n")),
    ]);
    let local = pkg(&[
        ("Kptfile", KF),
        (
            "p.yaml",
            &pod("  - name: a\n    image: x:1\n  - name: local\n    image: y\n"),
        ),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    assert_eq!(
        out.files["p.yaml"],
        pod("  - name: a\n    image: x:2\n  - name: local\n    image: y\n")
    );
}

#[test]
fn untouched_local_files_keep_their_exact_text() {
    // a local file whose resources the merge leaves alone is not re-emitted, even
    // when its layout is not the emitter's (here: wide sequences, extra spaces)
    let odd = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd\ndata:\n  list:   \"x\"\n";
    let original = pkg(&[("Kptfile", KF), ("cm.yaml", &cm("c", "1"))]);
    let updated = pkg(&[("Kptfile", KF), ("cm.yaml", &cm("c", "2"))]);
    let local = pkg(&[
        ("Kptfile", KF),
        ("cm.yaml", &cm("c", "1")),
        ("odd.yaml", odd),
    ]);
    let out = upgrade(
        &local,
        &original,
        &updated,
        UpdateStrategy::ResourceMerge,
        None,
    )
    .unwrap();
    assert_eq!(out.files["odd.yaml"], odd);
    assert_eq!(out.files["cm.yaml"], cm("c", "2"));
}
