//! Revision numbers (upstream `pkg/repository/util.go`).

/// The revision of a Draft or Proposed package revision (omitted from JSON).
pub const DRAFT_REVISION: i64 = 0;
/// The revision of the placeholder package revision that tracks the branch head.
pub const PLACEHOLDER_REVISION: i64 = -1;

/// Upstream `Revision2Int`: strips one leading `v` and parses the rest as a decimal
/// integer (Go `strconv.Atoi`, so a sign is accepted); anything else gives -1.
pub fn revision_to_int(revision: &str) -> i64 {
    let digits = revision.strip_prefix('v').unwrap_or(revision);
    digits.parse::<i64>().unwrap_or(-1)
}

/// Upstream `Revision2Str`: the decimal text of a revision.
pub fn revision_to_str(revision: i64) -> String {
    revision.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_upstream() {
        assert_eq!(revision_to_int("3"), 3);
        assert_eq!(revision_to_int("v3"), 3);
        assert_eq!(revision_to_int("0"), 0);
        assert_eq!(revision_to_int("-1"), -1);
        assert_eq!(revision_to_int("vv3"), -1);
        assert_eq!(revision_to_int("main"), -1);
        assert_eq!(revision_to_int(""), -1);
        assert_eq!(revision_to_int("+4"), 4);
        assert_eq!(revision_to_str(12), "12");
    }
}
