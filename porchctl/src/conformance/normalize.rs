//! Upstream's comparison rules (spec/porch-tests-and-perf.md §1.1), applied to both the expected
//! and the actual text so that a golden written in any equivalent layout compares equal.

use crate::printers::yaml::to_yaml;

/// Replaces every `from` with `to`, in order (upstream's single search/replace map).
pub fn substitute(text: &str, map: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (from, to) in map {
        if !from.is_empty() {
            out = out.replace(from, to);
        }
    }
    out
}

/// `yaml: true`: drop `resourceVersion:`/`creationTimestamp:` lines, parse, re-encode with
/// sorted keys; text that is not YAML stays as it is.
pub fn yaml_stdout(text: &str) -> String {
    let kept: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| !l.contains("resourceVersion:") && !l.contains("creationTimestamp:"))
        .collect();
    let kept = kept.concat();
    match crate::printers::yaml::parse_multi(&kept) {
        Ok(docs) if !docs.is_empty() => {
            let docs: Vec<String> = docs
                .iter()
                .filter(|d| !d.is_null())
                .map(|d| to_yaml(d, true))
                .collect();
            docs.join("---\n")
        }
        _ => kept,
    }
}

/// Not YAML: keep the first line (the header) and sort the others.
pub fn sort_stdout(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let trailing = text.ends_with('\n');
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut lines: Vec<&str> = body.split('\n').collect();
    if lines.len() > 2 {
        lines[1..].sort();
    } else if lines.len() == 2 {
        // nothing to reorder
    }
    let mut out = lines.join("\n");
    if trailing {
        out.push('\n');
    }
    out
}

/// `ignoreWhitespace`: collapse runs of the space character (tabs and newlines stay).
pub fn collapse_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_space = false;
    for c in text.chars() {
        if c == ' ' {
            if !prev_space {
                out.push(' ');
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
    out
}

/// stderr: drop `[PASS]` lines (they carry durations upstream) and the arm64 platform warning.
pub fn clean_stderr(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|l| {
            !l.contains("[PASS]") && !l.contains("does not match the detected host platform")
        })
        .collect()
}

/// Both stdouts after the case's rules.
pub fn stdout_for_compare(text: &str, yaml: bool, ignore_ws: bool) -> String {
    let t = if yaml {
        yaml_stdout(text)
    } else {
        sort_stdout(text)
    };
    if ignore_ws { collapse_spaces(&t) } else { t }
}

/// Both stderrs after the case's rules.
pub fn stderr_for_compare(text: &str, tabs_to_spaces: bool, ignore_ws: bool) -> String {
    let mut t = clean_stderr(text);
    if tabs_to_spaces {
        t = t.replace('\t', "  ");
    }
    if ignore_ws { collapse_spaces(&t) } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_normalisation_sorts_and_drops_volatile_lines() {
        let a = "kind: ResourceList\napiVersion: config.kubernetes.io/v1\nitems:\n  - metadata:\n      resourceVersion: abc\n      name: x\n      creationTimestamp: \"2024-01-01T00:00:00Z\"\n";
        let b = "apiVersion: config.kubernetes.io/v1\nitems:\n- metadata:\n    name: x\nkind: ResourceList\n";
        assert_eq!(yaml_stdout(a), yaml_stdout(b));
        assert_eq!(yaml_stdout(b), b);
        assert_eq!(yaml_stdout("x created\n"), "x created\n");
        assert_eq!(yaml_stdout("{not yaml: [\n"), "{not yaml: [\n");
    }

    #[test]
    fn table_rows_sorted_header_kept() {
        assert_eq!(sort_stdout("NAME\nb\na\n"), "NAME\na\nb\n");
        assert_eq!(sort_stdout("only\n"), "only\n");
        assert_eq!(sort_stdout(""), "");
    }

    #[test]
    fn whitespace_and_stderr() {
        assert_eq!(collapse_spaces("a   b\t\tc  \n"), "a b\t\tc \n");
        assert_eq!(
            clean_stderr("[RUNNING] \"x\" \n[PASS] \"x\" in 1s\nok\n"),
            "[RUNNING] \"x\" \nok\n"
        );
        assert_eq!(stderr_for_compare("a\tb\n", true, false), "a  b\n");
    }

    #[test]
    fn substitution() {
        let map = vec![(
            "http://gitea.gitea.svc.cluster.local:3000".to_string(),
            "http://127.0.0.1:9".to_string(),
        )];
        assert_eq!(
            substitute(
                "x http://gitea.gitea.svc.cluster.local:3000/nephio/a.git",
                &map
            ),
            "x http://127.0.0.1:9/nephio/a.git"
        );
    }
}
