#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The YAML node model: round trips, general YAML input, errors, heal.

use kpt::yaml::{self, Node, ScalarStyle, heal, parse_stream, to_json};

fn roundtrip(src: &str) {
    let s = parse_stream(src).unwrap_or_else(|e| panic!("parse failed: {e}\n{src}"));
    let out = s.emit();
    assert_eq!(out, src, "round trip changed the text");
}

const DEPLOYMENT: &str = r#"# Deployment of the frontend.
apiVersion: apps/v1
kind: Deployment
metadata: # kpt-merge: default/frontend
  name: frontend # the name
  namespace: default
  labels:
    app: frontend
    tier: "web"
  annotations:
    config.kubernetes.io/local-config: 'false'
    internal.kpt.dev/upstream-identifier: 'apps|Deployment|default|frontend'
spec:
  replicas: 3 # kpt-set: ${replicas}

  # the pod template
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.21
        args:
        - --port=80
        - "--verbose"
        env:
        - name: A
          value: "1"
        ports: [{containerPort: 80, protocol: TCP}]
      - name: sidecar
        image: busybox
        command: ["sh", "-c"]
      volumes: []
      nodeSelector: {}
  empty:
  script: |
    echo hello
      indented
    done
  folded: >-
    one two
    three

    four
  # trailing comment in spec
"#;

#[test]
fn kpt_formatted_files_round_trip_byte_for_byte() {
    roundtrip(DEPLOYMENT);
    roundtrip(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
    );
    roundtrip("---\na: 1\n---\nb: 2\n...\n");
    roundtrip("items:\n  - a\n  - b\nother:\n- c\n");
    roundtrip("# only a comment\n");
    roundtrip(
        "a:\n  - name: x\n    list:\n      - 1\n  # foot of a\nb: ~\nc: null\nd: 'it''s'\ne: \"tab\\there\"\n",
    );
    roundtrip("key: value # line\n# head of next\n\n\nnext: 1\n");
    roundtrip("- - a\n  - b\n- c: d\n  e: f\n-\n- [1, 2]\n");
    roundtrip("anchors: &a\n  x: 1\nref: *a\ntagged: !!str 5\n");
    roundtrip("a: |+\n  keep\n\nb: 1\n");
}

#[test]
fn json_view_types() {
    let s =
        parse_stream("a: 1\nb: '1'\nc: true\nd: \"true\"\ne: 1.5\nf: ~\ng: [x, {y: z}]\nh: 0x10\n")
            .unwrap();
    let j = to_json(s.docs[0].root.as_ref().unwrap());
    assert_eq!(
        j,
        serde_json::json!({"a": 1, "b": "1", "c": true, "d": "true", "e": 1.5, "f": null, "g": ["x", {"y": "z"}], "h": 16})
    );
    let back = yaml::from_json(&j);
    let text = yaml::emit_node(&back);
    assert_eq!(
        text,
        "a: 1\nb: \"1\"\nc: true\nd: \"true\"\ne: 1.5\nf: null\ng:\n- x\n- y: z\nh: 16\n"
    );
}

#[test]
fn general_yaml_is_accepted() {
    let src = "{\"apiVersion\": \"v1\", \"kind\": \"ResourceList\", \"items\": [\n  {\"a\": 1},\n  {\"b\": [1, 2]}]}\n";
    let s = parse_stream(src).unwrap();
    let j = to_json(s.docs[0].root.as_ref().unwrap());
    assert_eq!(j["items"][1]["b"][1], 2);
    // plain multi-line, quoted multi-line, document end markers, folded
    let s = parse_stream(
        "a: hello\n  world\nb: \"x\n  y\"\nc: >\n  f1\n  f2\n...\n--- # second\nd: 1\n",
    )
    .unwrap();
    let j = to_json(s.docs[0].root.as_ref().unwrap());
    assert_eq!(j["a"], "hello world");
    assert_eq!(j["b"], "x y");
    assert_eq!(j["c"], "f1 f2\n");
    assert_eq!(s.docs.len(), 2);
    assert_eq!(s.docs[1].start_comment.as_deref(), Some("# second"));
    // CRLF
    let s = parse_stream("a: 1\r\nb: 2\r\n").unwrap();
    assert_eq!(s.emit(), "a: 1\nb: 2\n");
}

#[test]
fn errors_have_lines() {
    let e = parse_stream("a: 1\nb: [1, 2\n").unwrap_err();
    assert!(e.message.contains("flow"), "{e}");
    let e = parse_stream("a: 1\n b: 2\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    let e = parse_stream("a: 1\nb: \"unterminated\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    let e = parse_stream("a:\n\t- x\n").unwrap_err();
    assert!(e.message.contains("tab"), "{e}");
    let e = parse_stream("a: b: c\n").unwrap_err();
    assert_eq!(e.line, 1);
    let e = parse_stream("key: \"ok\" junk\n").unwrap_err();
    assert!(e.to_string().starts_with("line 1"));
}

#[test]
fn edits_keep_comments_and_new_strings_are_quoted() {
    let mut s = parse_stream(DEPLOYMENT).unwrap();
    let root = s.docs[0].root.as_mut().unwrap();
    root.ensure_mapping(&["metadata", "annotations"])
        .unwrap()
        .set("x", Node::string("true"));
    root.get_mut("metadata")
        .unwrap()
        .set("namespace", Node::string("prod"));
    let out = s.emit();
    assert!(out.contains("    x: \"true\"\n"), "{out}");
    assert!(out.contains("  namespace: prod\n"));
    assert!(out.contains("metadata: # kpt-merge: default/frontend\n"));
    assert!(out.contains("  name: frontend # the name\n"));
}

#[test]
fn heal_restores_comments_order_and_styles() {
    let src = parse_stream(DEPLOYMENT).unwrap().docs[0]
        .root
        .clone()
        .unwrap();
    // what a JSON-speaking function returns: same data, no comments, sorted keys
    let mut j = to_json(&src);
    j["spec"]["replicas"] = serde_json::json!(5);
    let sorted: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&j).unwrap()).unwrap();
    let mut sorted_keys = serde_json::Map::new();
    let mut keys: Vec<_> = sorted.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    for k in keys {
        sorted_keys.insert(k.clone(), sorted[&k].clone());
    }
    let mut out = yaml::from_json(&serde_json::Value::Object(sorted_keys));
    heal(&src, &mut out);
    let text = yaml::emit_node(&out);
    let expected = DEPLOYMENT.replace("replicas: 3", "replicas: 5");
    assert_eq!(text, expected);
}

#[test]
fn scalar_styles_are_recorded() {
    let s = parse_stream("a: 'x'\nb: \"y\"\nc: z\nd: |\n  t\n").unwrap();
    let r = s.docs[0].root.as_ref().unwrap();
    let style = |k: &str| r.get(k).unwrap().as_scalar().unwrap().style;
    assert_eq!(style("a"), ScalarStyle::SingleQuoted);
    assert_eq!(style("b"), ScalarStyle::DoubleQuoted);
    assert_eq!(style("c"), ScalarStyle::Plain);
    assert_eq!(style("d"), ScalarStyle::Literal);
}

#[test]
fn heal_by_resource_identity() {
    let input = parse_stream("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a # keep\ndata:\n  x: '1' # one\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  y: \"2\" # two\n").unwrap();
    let inputs: Vec<Node> = input.docs.iter().map(|d| d.root.clone().unwrap()).collect();
    // a function returned them reversed, through JSON
    let mut outputs: Vec<Node> = inputs
        .iter()
        .rev()
        .map(|n| yaml::from_json(&to_json(n)))
        .collect();
    kpt::resource::heal_by_identity(&inputs, &mut outputs);
    assert_eq!(
        yaml::emit_node(&outputs[0]),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  y: \"2\" # two\n"
    );
    assert_eq!(
        yaml::emit_node(&outputs[1]),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a # keep\ndata:\n  x: '1' # one\n"
    );
}

#[test]
fn comments_in_flow_collections_are_kept_in_block_style() {
    let src = "args: [\n  \"--a\", # first flag\n  # about b\n  \"--b\",\n  # trailing\n]\nenv: {A: \"1\", # one\n  B: \"2\"}\nplain: [a, b]\n";
    let s = yaml::parse_stream(src).unwrap();
    let out = s.emit();
    assert_eq!(
        out,
        "args:\n- \"--a\" # first flag\n# about b\n- \"--b\"\n# trailing\nenv:\n  A: \"1\" # one\n  B: \"2\"\nplain: [a, b]\n"
    );
    // same data, and the block form is stable
    let again = yaml::parse_stream(&out).unwrap();
    assert_eq!(
        yaml::to_json(again.docs[0].root.as_ref().unwrap()),
        yaml::to_json(s.docs[0].root.as_ref().unwrap())
    );
    assert_eq!(again.emit(), out);
}

#[test]
fn unsupported_yaml_is_an_error_naming_line_and_construct() {
    for (src, line, what) in [
        ("a: 1\n? complex\n: v\n", 2, "complex mapping keys"),
        ("a: {? x : y}\n", 1, "complex mapping keys"),
        (
            "a: [[x, # c\n  y]]\n",
            1,
            "comments inside nested flow collections",
        ),
        (
            "a: [\n  # nothing\n]\n",
            2,
            "comments inside an empty flow collection",
        ),
    ] {
        let e = yaml::parse_stream(src).unwrap_err();
        assert_eq!(e.line, line, "{src:?}: {e}");
        assert!(e.message.contains(what), "{src:?}: {e}");
        assert!(e.message.contains("not supported"), "{src:?}: {e}");
    }
}

/// Inputs the fuzz targets (kpt/fuzz) found: each must parse to an error or round
/// trip stably (emit parses again to the same data and the same text).
#[test]
fn fuzz_regressions_round_trip_or_fail_cleanly() {
    let cases: &[&[u8]] = &[
        // a lone CR ended an alias name; it is a line break
        b"*\0':{\r",
        b"a: b\rc: d\r",
        // a vertical tab is content, not white space to trim
        b"     \x0b    #",
        b"a: x\xc2\xa0\n",
        // an empty block scalar at the root must not swallow the comment after it
        b" \r>-3\n#\x14",
        b"|+\n\n\n",
        // deep `- ! - ! …` nesting: the block form must cost no more depth
        include_bytes!("fuzz_regressions/deep-tagged-sequences.bin"),
        // `- ! "k":` — the tag belongs to the key, in block and inline form alike
        include_bytes!("fuzz_regressions/tagged-key-in-sequence.bin"),
        b"- !!str a: 1\n  b: 2\n- &x c: 3\n",
    ];
    for bytes in cases {
        let text = String::from_utf8_lossy(bytes);
        let Ok(first) = yaml::parse_stream(&text) else {
            continue;
        };
        let out = first.emit();
        let second = yaml::parse_stream(&out).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        let data = |s: &yaml::Stream| -> Vec<serde_json::Value> {
            s.docs
                .iter()
                .filter_map(|d| d.root.as_ref())
                .map(yaml::to_json)
                .collect()
        };
        assert_eq!(data(&first), data(&second), "{text:?}");
        assert_eq!(second.emit(), out, "{text:?}");
    }
    // nesting costs the same depth inline (`- - x`) and in block form, so whatever
    // parses within the depth limit emits to something that parses again
    for depth in [60, 120, 127, 128, 200] {
        let inline = format!("{}x\n", "- ".repeat(depth));
        let tagged = format!("{}x\n", "- ! ".repeat(depth));
        for text in [inline, tagged] {
            match yaml::parse_stream(&text) {
                Ok(s) => {
                    let out = s.emit();
                    let again = yaml::parse_stream(&out)
                        .unwrap_or_else(|e| panic!("depth {depth}: {e}\n{out}"));
                    assert_eq!(again.emit(), out);
                }
                Err(e) => assert!(e.message.contains("nested too deeply"), "{e}"),
            }
        }
    }
    let s = yaml::parse_stream("- !!str a: 1\n  b: 2\n").unwrap();
    let item = &s.docs[0]
        .root
        .as_ref()
        .unwrap()
        .as_sequence()
        .unwrap()
        .items[0];
    assert_eq!(item.tag, None);
    let m = item.as_mapping().unwrap();
    assert_eq!(m.entries[0].key.tag.as_deref(), Some("!!str"));
    assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b"]);
    // a lone CR separates lines like LF does
    let s = yaml::parse_stream("a: b\rc: d\r").unwrap();
    assert_eq!(s.emit(), "a: b\nc: d\n");
    // control characters cannot name anchors, aliases or tags
    let e = yaml::parse_stream("a: *x\0y\n").unwrap_err();
    assert!(e.message.contains("control character"), "{e}");
}
