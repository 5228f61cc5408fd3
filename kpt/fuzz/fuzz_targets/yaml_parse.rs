#![no_main]
//! Any input: the parser must not panic, and whatever it emits must parse again and
//! emit identically.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(stream) = kpt::yaml::parse_stream(text) {
        let out = stream.emit();
        let again = kpt::yaml::parse_stream(&out).expect("emitted YAML must parse");
        assert_eq!(again.emit(), out);
        for doc in &stream.docs {
            if let Some(root) = &doc.root {
                let _ = kpt::yaml::to_json(root);
            }
        }
    }
});
