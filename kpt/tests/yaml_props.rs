#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Properties: emit → parse → emit is the identity on kpt-formatted text, heal puts
//! every comment back after a comment-dropping JSON round trip, and the parser never
//! panics on arbitrary input.

use kpt::yaml::{self, Entry, Mapping, Node, Scalar, ScalarStyle, Sequence, Value};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-zA-Z0-9.-]{0,8}(/[a-z]{1,5})?"
}

fn comment() -> impl Strategy<Value = Option<String>> {
    prop_oneof![3 => Just(None), 1 => "[a-zA-Z0-9 :,${}.-]{0,20}".prop_map(|s| Some(format!("# {s}").trim_end().to_string()))]
}

fn head() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            Just(String::new()),
            "[a-z ]{0,12}".prop_map(|s| format!("#{s}").trim_end().to_string())
        ],
        0..2,
    )
}

fn scalar() -> impl Strategy<Value = Node> {
    let plain = prop_oneof![
        "[a-z][a-z0-9-]{0,10}",
        "[0-9]{1,4}",
        Just("true".to_string()),
        Just("".to_string()),
        "[a-z]{1,5}:[0-9]{1,3}",
    ]
    .prop_map(Node::plain);
    let single = "[ -~]{0,12}".prop_map(|v| {
        Node::new(Value::Scalar(Scalar {
            value: v,
            style: ScalarStyle::SingleQuoted,
            raw: None,
        }))
    });
    let double = "[ -~\t\u{e9}]{0,12}".prop_map(|v| {
        Node::new(Value::Scalar(Scalar {
            value: v,
            style: ScalarStyle::DoubleQuoted,
            raw: None,
        }))
    });
    let literal = prop::collection::vec("[a-z][a-z ]{0,8}[a-z]", 1..4).prop_map(|lines| {
        Node::new(Value::Scalar(Scalar {
            value: format!("{}\n", lines.join("\n")),
            style: ScalarStyle::Literal,
            raw: None,
        }))
    });
    (
        prop_oneof![4 => plain, 2 => single, 2 => double, 1 => literal],
        comment(),
    )
        .prop_map(|(mut n, c)| {
            let block = matches!(n.as_scalar().map(|s| s.style), Some(ScalarStyle::Literal));
            if !block {
                n.comments.line = c;
            }
            n
        })
}

fn tree() -> impl Strategy<Value = Node> {
    scalar().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            (
                prop::collection::vec((key(), inner.clone(), head(), comment()), 1..5),
                prop::collection::vec("#[a-z]{0,5}", 0..2)
            )
                .prop_map(|(entries, foot)| {
                    let mut m = Mapping::default();
                    for (k, v, h, c) in entries {
                        if m.get(&k).is_some() {
                            continue;
                        }
                        let mut key = Node::plain(k);
                        key.comments.head = h;
                        if matches!(v.value, Value::Mapping(_) | Value::Sequence(_)) {
                            key.comments.line = c;
                        }
                        m.entries.push(Entry { key, value: v });
                    }
                    m.foot = foot;
                    Node::new(Value::Mapping(m))
                }),
            (prop::collection::vec(inner, 1..4), any::<bool>()).prop_map(|(items, wide)| {
                let items = items
                    .into_iter()
                    .map(|mut i| {
                        // a comment on `- ` of a block collection is kept on the item
                        if matches!(i.value, Value::Scalar(_)) {
                            i.comments.head.clear();
                        }
                        i
                    })
                    .collect();
                Node::new(Value::Sequence(Sequence {
                    items,
                    wide,
                    flow: false,
                    foot: Vec::new(),
                }))
            }),
        ]
    })
}

fn root() -> impl Strategy<Value = Node> {
    prop::collection::vec((key(), tree()), 1..6).prop_map(|entries| {
        let mut m = Mapping::default();
        for (k, v) in entries {
            if m.get(&k).is_none() {
                m.entries.push(Entry {
                    key: Node::plain(k),
                    value: v,
                });
            }
        }
        Node::new(Value::Mapping(m))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn parse_emit_is_identity_on_emitted_text(n in root()) {
        let text = yaml::emit_node(&n);
        let parsed = yaml::parse_stream(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        prop_assert_eq!(parsed.emit(), text.clone());
        let back = parsed.docs[0].root.clone().unwrap();
        prop_assert!(back.same_data(&n), "data changed:\n{}", text);
    }

    #[test]
    fn heal_restores_every_comment(n in root()) {
        let text = yaml::emit_node(&n);
        let original = yaml::parse_stream(&text).unwrap().docs[0].root.clone().unwrap();
        let mut stripped = yaml::from_json(&yaml::to_json(&original));
        yaml::heal(&original, &mut stripped);
        prop_assert_eq!(yaml::emit_node(&stripped), text);
    }

    #[test]
    fn parser_never_panics(s in "[ -~\n\t\u{e9}]{0,200}") {
        if let Ok(stream) = yaml::parse_stream(&s) {
            let out = stream.emit();
            // whatever we emit must parse again
            yaml::parse_stream(&out).unwrap_or_else(|e| panic!("re-parse failed: {e}\ninput:\n{s:?}\nemitted:\n{out:?}"));
        }
    }

    #[test]
    fn parser_never_panics_on_yamlish(parts in prop::collection::vec(prop_oneof![
        Just("- "), Just(": "), Just("\n"), Just("  "), Just("#"), Just("'"), Just("\""), Just("|"), Just(">-"),
        Just("["), Just("]"), Just("{"), Just("}"), Just(","), Just("---"), Just("..."), Just("&a"), Just("*a"),
        Just("!!str"), Just("key"), Just("v"), Just("\\"), Just("?"), Just("\t"), Just(" # c\n"),
    ], 0..60)) {
        let s: String = parts.concat();
        if let Ok(stream) = yaml::parse_stream(&s) {
            let out = stream.emit();
            let again = yaml::parse_stream(&out).unwrap_or_else(|e| panic!("re-parse failed: {e}\ninput:\n{s:?}\nemitted:\n{out:?}"));
            // and emitting is stable from there on
            prop_assert_eq!(again.emit(), out, "input: {:?}", s);
        }
    }

    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        // what the fuzz target does, on the stable toolchain
        let s = String::from_utf8_lossy(&bytes);
        if let Ok(stream) = yaml::parse_stream(&s) {
            for d in &stream.docs {
                if let Some(r) = &d.root {
                    let _ = yaml::to_json(r);
                }
            }
            let out = stream.emit();
            yaml::parse_stream(&out).unwrap_or_else(|e| panic!("re-parse failed: {e}\ninput:\n{s:?}\nemitted:\n{out:?}"));
        }
        let _ = yaml::parse_document(&s);
    }
}
