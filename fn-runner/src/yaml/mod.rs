//! Minimal YAML I/O for functions: parse into `serde_json::Value`, read line
//! comments by path (setters need `# kpt-set:`), and emit block YAML that can
//! carry line comments back out.

mod comments;
mod emit;

pub use comments::{CommentMap, PathSeg, read_line_comments};
pub use emit::{to_yaml, to_yaml_with_comments};

/// Parse one YAML document into a JSON value.
pub fn parse(bytes: &[u8]) -> Result<serde_json::Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("input is not UTF-8: {e}"))?;
    serde_saphyr::from_str::<serde_json::Value>(text).map_err(|e| e.to_string())
}
