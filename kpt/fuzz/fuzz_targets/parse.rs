#![no_main]
//! Any bytes: the YAML parser returns a model or an error, never panics or hangs,
//! and the typed (JSON) view of whatever it parsed can be built.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(stream) = kpt::yaml::parse_stream(&text) {
        for doc in &stream.docs {
            if let Some(root) = &doc.root {
                let _ = kpt::yaml::to_json(root);
            }
        }
    }
    let _ = kpt::yaml::parse_document(&text);
});
