//! Minimal YAML I/O for functions: parse into `serde_json::Value`, read line
//! comments by path (setters need `# kpt-set:`), and emit block YAML that can
//! carry line comments back out.

mod comments;
mod emit;
mod fast;

pub use comments::{CommentMap, PathSeg, read_line_comments};
pub use emit::{to_yaml, to_yaml_with_comments};

/// Parser options: YAML 1.2 core schema, as go-yaml v3 reads untyped data
/// (`y`, `no`, `on` stay strings; only `true`/`false` are booleans).
pub fn options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.strict_booleans = true;
    // The gRPC message limit bounds the input; the default node budget (250k)
    // would refuse ResourceLists well below it.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 20_000_000;
    budget.max_events = 60_000_000;
    budget.max_depth = 128;
    o.budget = Some(budget);
    o
}

/// Parse one YAML document into a JSON value.
pub fn parse(bytes: &[u8]) -> Result<serde_json::Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("input is not UTF-8: {e}"))?;
    parse_str(text)
}

/// Parse one YAML document (text) into a JSON value.
///
/// Mappings in the everyday subset (what kpt writes) take a fast reader about
/// ten times quicker than the general parser; everything else, and every
/// error, comes from serde-saphyr.
pub fn parse_str(text: &str) -> Result<serde_json::Value, String> {
    match fast::parse(text) {
        Some(v) => Ok(v),
        None => parse_str_reference(text),
    }
}

/// Parse with serde-saphyr only (the reference the fast reader must agree with).
pub fn parse_str_reference(text: &str) -> Result<serde_json::Value, String> {
    serde_saphyr::from_str_with_options::<serde_json::Value>(text, options())
        .map_err(|e| e.to_string())
}
