//! Doublestar globs for file paths: `**` crosses `/`, `*` and `?` do not.

/// Whether `path` matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = path.chars().collect();
    m(&p, &s)
}

fn m(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            // `**/` may also match nothing at all.
            let rest = &p[2..];
            let rest_no_slash = rest.strip_prefix(&['/']).unwrap_or(rest);
            if m(rest_no_slash, s) {
                return true;
            }
            (0..=s.len()).any(|i| m(rest, &s[i..]))
        }
        Some('*') => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != '/')
            .any(|i| m(&p[1..], &s[i..])),
        Some('?') => !s.is_empty() && s[0] != '/' && m(&p[1..], &s[1..]),
        Some(c) => s.first() == Some(c) && m(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches("**/*.yaml", "a/b/c.yaml"));
        assert!(matches("**/*.yaml", "c.yaml"));
        assert!(matches("a/*.yaml", "a/c.yaml"));
        assert!(!matches("a/*.yaml", "a/b/c.yaml"));
        assert!(matches("a/**", "a/b/c.yaml"));
        assert!(matches("c?.yaml", "cd.yaml"));
        assert!(!matches("*.yaml", "a/c.yaml"));
    }
}
