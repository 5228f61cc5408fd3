//! Package-relative paths: slash-separated, never leaving the package.

use crate::error::{KptError, Result};

/// Check that `p` is a clean relative path inside the package.
pub fn validate(p: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(KptError::BadPath {
            path: p.to_string(),
            reason: reason.to_string(),
        })
    };
    if p.is_empty() {
        return bad("empty path");
    }
    if p.contains('\\') {
        return bad("backslashes are not allowed in package paths");
    }
    if p.contains('\0') {
        return bad("NUL byte in path");
    }
    if p.starts_with('/') {
        return bad("absolute paths are not allowed");
    }
    if p.len() >= 2 && p.as_bytes()[1] == b':' && p.as_bytes()[0].is_ascii_alphabetic() {
        return bad("drive-letter paths are not allowed");
    }
    for c in p.split('/') {
        match c {
            ".." => return bad("path leaves the package (`..`)"),
            "" => return bad("empty path segment"),
            _ => {}
        }
    }
    Ok(())
}

/// Clean a path: drop `.` segments; error when it leaves the package.
pub fn clean(p: &str) -> Result<String> {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let joined = parts.join("/");
    validate(if p.starts_with('/') { p } else { &joined })?;
    Ok(joined)
}

/// `dir` joined with `rel` (dir may be empty for the root).
pub fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// The directory part of a path ("" for top-level files).
pub fn parent(p: &str) -> &str {
    p.rfind('/').map_or("", |i| &p[..i])
}

/// The last segment.
pub fn base(p: &str) -> &str {
    p.rfind('/').map_or(p, |i| &p[i + 1..])
}

/// `p` relative to `dir` when it lies below it.
pub fn strip_dir<'a>(p: &'a str, dir: &str) -> Option<&'a str> {
    if dir.is_empty() {
        return Some(p);
    }
    p.strip_prefix(dir)?.strip_prefix('/')
}

/// Order of a depth-first lexical directory walk (segment by segment).
pub fn walk_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_rejected() {
        for p in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\\..\\b",
            "C:x",
            "a//b",
            "",
        ] {
            assert!(validate(p).is_err(), "{p}");
        }
        for p in ["Kptfile", "a/b.yaml", ".krmignore", "a/.hidden/x.yaml"] {
            assert!(validate(p).is_ok(), "{p}");
        }
        assert_eq!(clean("./a/./b.yaml").unwrap(), "a/b.yaml");
        assert!(clean("a/../b").is_err());
    }
}
