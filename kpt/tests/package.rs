#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Package ⇄ resources: annotations, write-back, and errors that name file and line.

mod common;

use common::pkg;
use kpt::resource::{self, ResourceList};
use kpt::{KptError, Kptfile, Package, yaml};

const MULTI: &str = "# first\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n\n---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b # bee\n";

#[test]
fn read_annotates_path_and_index_and_keeps_non_krm_aside() {
    let p = pkg(&[
        (
            "Kptfile",
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\n",
        ),
        ("cms.yaml", MULTI),
        (
            "sub/Kptfile",
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: sub\n",
        ),
        (
            "sub/x.json",
            "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"s\"}}\n",
        ),
        ("README.md", "# hi\n"),
        (
            "a/b.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
        ),
        (
            "a.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc2\n",
        ),
    ]);
    let r = p.read().unwrap();
    let paths: Vec<(String, usize)> = r
        .items
        .iter()
        .map(|n| {
            let (p, i) = resource::path_index(n);
            (p.unwrap(), i.unwrap())
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            ("Kptfile".into(), 0),
            ("a/b.yaml".into(), 0),
            ("a.yaml".into(), 0),
            ("cms.yaml".into(), 0),
            ("cms.yaml".into(), 1),
            ("sub/Kptfile".into(), 0),
            ("sub/x.json".into(), 0),
        ]
    );
    assert_eq!(
        resource::annotation(&r.items[3], "config.kubernetes.io/path"),
        Some("cms.yaml")
    );
    assert_eq!(
        r.other_files.keys().cloned().collect::<Vec<_>>(),
        vec!["README.md"]
    );
    assert_eq!(p.direct_subpackages(""), vec!["sub"]);
    assert_eq!(p.read_local("sub").unwrap().len(), 2);
}

#[test]
fn write_back_keeps_untouched_files_byte_for_byte() {
    let p = pkg(&[
        ("cms.yaml", MULTI),
        (
            "x.json",
            "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\"name\": \"s\"}\n}\n",
        ),
    ]);
    let r = p.read().unwrap();
    let w = p.write(&r.items).unwrap();
    assert_eq!(w, p);
    // an edit rewrites only that file, kpt-style
    let mut items = r.items.clone();
    items[0]
        .get_mut("metadata")
        .unwrap()
        .set("namespace", yaml::Node::string("ns"));
    items[2]
        .get_mut("metadata")
        .unwrap()
        .set("namespace", yaml::Node::string("ns"));
    let w = p.write(&items).unwrap();
    assert_eq!(
        w.files["cms.yaml"],
        "# first\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: ns\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b # bee\n"
    );
    assert_eq!(
        w.files["x.json"],
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\n    \"name\": \"s\",\n    \"namespace\": \"ns\"\n  }\n}\n"
    );
    // files left empty are removed
    let w = p.write(&items[..1]).unwrap();
    assert!(!w.files.contains_key("x.json"));
}

#[test]
fn bad_input_errors_name_file_and_line() {
    let err = pkg(&[(
        "a.yaml",
        "apiVersion: v1\nkind: X\nmetadata:\n  name: [oops\n",
    )])
    .read()
    .unwrap_err();
    assert!(
        matches!(err, KptError::Yaml { ref file, .. } if file == "a.yaml"),
        "{err}"
    );
    assert!(err.to_string().starts_with("a.yaml:"), "{err}");

    let err = pkg(&[(
        "b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\nfoo: bar\n",
    )])
    .read()
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "b.yaml:6: input resource list must contain only KRM resources: document 1 is not a KRM object (missing apiVersion)"
    );

    let err = pkg(&[("c.yaml", "- a\n- b\n")]).read().unwrap_err();
    assert!(err.to_string().contains("not a mapping"));

    let dup = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
    let err = pkg(&[("d.yaml", dup)]).read().unwrap_err();
    assert_eq!(
        err.to_string(),
        "d.yaml:6: found duplicate resource ConfigMap x (first at line 1)"
    );

    let err = Kptfile::parse(
        "sub/Kptfile",
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\ninfo:\n  descripton: typo\n",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("sub/Kptfile:6: invalid Kptfile: unknown field `descripton`"),
        "{err}"
    );
    let err = Kptfile::parse(
        "Kptfile",
        "apiVersion: kpt.dev/v1alpha2\nkind: Kptfile\nmetadata:\n  name: p\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("old resource version"));
    let err = Kptfile::parse("Kptfile", "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\npipeline:\n  mutators:\n  - image: Bad/Image\n").unwrap_err();
    assert!(err.to_string().contains("lowercase"), "{err}");
    let err = Kptfile::parse("Kptfile", "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\npipeline:\n  mutators:\n  - image: a\n    configPath: x.yaml\n    configMap: {a: b}\n").unwrap_err();
    assert!(err.to_string().contains("configPath"));

    for bad in ["../x.yaml", "/abs.yaml", "a\\..\\b.yaml", "a/../../b"] {
        let files = [(bad.to_string(), "x".to_string())].into_iter().collect();
        let err = Package::new(files).unwrap_err();
        assert!(matches!(err, KptError::BadPath { .. }), "{bad}: {err}");
    }
    // a function moving a resource outside the package is refused on write
    let mut n = yaml::parse_document("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
        .unwrap()
        .root
        .unwrap();
    resource::set_annotation(&mut n, resource::PATH, "../../etc/x.yaml");
    assert!(matches!(
        Package::default().write(&[n]).unwrap_err(),
        KptError::BadPath { .. }
    ));
}

#[test]
fn full_kptfile_schema_round_trips() {
    let text = "apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: full
  namespace: ns
  labels:
    a: b
  annotations:
    kpt.dev/bfs-rendering: \"true\"
upstream:
  type: git
  git:
    repo: https://github.com/x/y.git
    directory: pkg
    ref: v1
  updateStrategy: resource-merge
upstreamLock:
  type: git
  git:
    repo: https://github.com/x/y.git
    directory: pkg
    ref: pkg/v1
    commit: abc
info:
  site: https://x
  emails:
  - a@b.c
  license: Apache-2.0
  licenseFile: LICENSE
  description: d
  keywords:
  - k
  man: README.md
  readinessGates:
  - conditionType: Ready
pipeline:
  mutators:
  - image: ghcr.io/kptdev/krm-functions-catalog/set-labels:v0.2
    configMap:
      app: x
    name: labels
    selectors:
    - kind: Deployment
      labels:
        tier: web
    exclude:
    - name: skip
  validators:
  - image: kubeconform:v0.1
    configPath: conform.yaml
inventory:
  namespace: ns
  name: inv
  inventoryID: id-1
status:
  conditions:
  - type: Rendered
    status: \"True\"
    reason: RenderSuccess
  renderStatus:
    mutationSteps:
    - name: labels
      image: set-labels
      exitCode: 0
      results:
      - message: ok
        severity: info
";
    let kf = Kptfile::parse("Kptfile", text).unwrap();
    assert!(kf.annotation_true(kpt::kptfile::BFS_RENDERING));
    assert_eq!(
        kf.info.as_ref().unwrap().readiness_gates[0].condition_type,
        "Ready"
    );
    assert_eq!(kf.to_yaml(), text);
}

#[test]
fn resource_list_wire_format() {
    let text = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: function-input\n";
    let rl = ResourceList::from_yaml(text).unwrap();
    assert_eq!(rl.items.len(), 1);
    assert_eq!(rl.to_yaml(), text);
    let list = ResourceList::from_yaml("kind: List\nitems: []\nresults:\n  name: fn\n  items:\n  - message: m\n    severity: warning\n").unwrap();
    assert!(list.items.is_empty());
    assert_eq!(list.results[0].severity, "warning");
    let multi = ResourceList::from_yaml("a: 1\n---\nb: 2\n").unwrap();
    assert_eq!(multi.items.len(), 2);
}

#[test]
fn bad_input_error_texts_say_where_and_what() {
    let read_err = |name: &str, text: &str| pkg(&[(name, text)]).read().unwrap_err().to_string();
    assert_eq!(
        read_err(
            "x/a.yaml",
            "apiVersion: v1\nkind: X\nmetadata:\n  name: \"open\n"
        ),
        "x/a.yaml:4:9: invalid YAML: found unexpected end of stream while scanning a quoted scalar"
    );
    assert_eq!(
        read_err("b.yaml", "apiVersion: v1\nkind: X\n? [complex]\n: key\n"),
        "b.yaml:3:1: invalid YAML: complex mapping keys (`? `) are not supported"
    );
    assert_eq!(
        read_err(
            "c.yaml",
            "apiVersion: v1\nkind: X\nmetadata:\n  name: n\ndata: {a: [1, # one\n  2]}\n"
        ),
        "c.yaml:5:15: invalid YAML: comments inside nested flow collections are not supported"
    );
    assert_eq!(
        read_err("d.yaml", "apiVersion: v1\nmetadata:\n  name: n\n"),
        "d.yaml:1: input resource list must contain only KRM resources: document 0 is not a KRM object (missing kind)"
    );
    for (bad, reason) in [
        ("../x.yaml", "path leaves the package (`..`)"),
        ("a/../../x.yaml", "path leaves the package (`..`)"),
        ("/etc/x.yaml", "absolute paths are not allowed"),
        (
            "a\\..\\..\\x.yaml",
            "backslashes are not allowed in package paths",
        ),
        ("C:/x.yaml", "drive-letter paths are not allowed"),
    ] {
        let files = [(bad.to_string(), "x".to_string())].into_iter().collect();
        let err = Package::new(files).unwrap_err().to_string();
        assert_eq!(err, format!("invalid path {bad:?}: {reason}"));
    }
}
