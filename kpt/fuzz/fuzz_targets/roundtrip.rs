#![no_main]
//! Parse -> emit -> parse is stable: what the emitter writes parses again, holds the
//! same data, and emits to the same text.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(first) = kpt::yaml::parse_stream(text) else {
        return;
    };
    let out = first.emit();
    let second = match kpt::yaml::parse_stream(&out) {
        Ok(s) => s,
        Err(e) => panic!("emitted YAML does not parse: {e}\n--- input\n{text}\n--- emitted\n{out}"),
    };
    let data = |s: &kpt::yaml::Stream| -> Vec<serde_json::Value> {
        s.docs
            .iter()
            .filter_map(|d| d.root.as_ref())
            .map(kpt::yaml::to_json)
            .collect()
    };
    assert_eq!(
        data(&first),
        data(&second),
        "data changed\n--- input\n{text}\n--- emitted\n{out}"
    );
    assert_eq!(second.emit(), out, "emit is not stable\n--- input\n{text}");
});
