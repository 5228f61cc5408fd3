//! A small line diff (LCS) printed in unified style, for failure reports.

/// `--- expected` / `+++ actual` followed by every line marked ` `, `-` or `+`.
pub fn unified(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = actual.split_inclusive('\n').collect();
    let (n, m) = (a.len(), b.len());
    // lcs[i][j] = LCS length of a[i..], b[j..]
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::from("--- expected\n+++ actual\n");
    let line = |out: &mut String, mark: char, l: &str| {
        out.push(mark);
        out.push_str(&visible(l));
        out.push('\n');
    };
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            line(&mut out, ' ', a[i]);
            i += 1;
            j += 1;
        } else if i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            line(&mut out, '-', a[i]);
            i += 1;
        } else {
            line(&mut out, '+', b[j]);
            j += 1;
        }
    }
    out
}

/// Shows trailing spaces and a missing final newline, which matter in these comparisons.
fn visible(l: &str) -> String {
    match l.strip_suffix('\n') {
        Some(body) if body.ends_with(' ') || body.ends_with('\t') => format!("{body}⏎"),
        Some(body) => body.to_string(),
        None => format!("{l}  (no newline at end)"),
    }
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn marks_changes() {
        let d = unified("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(d, "--- expected\n+++ actual\n a\n-b\n+x\n c\n");
        assert_eq!(unified("", "e \n"), "--- expected\n+++ actual\n+e ⏎\n");
    }
}
