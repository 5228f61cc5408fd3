//! Parsing resource URLs: `/api/v1/...` and `/apis/<group>/<version>/...`.

/// What a resource URL addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The legacy `/watch/` prefix was used.
    pub watch_prefix: bool,
}

/// Parse a path; `None` when it is not a resource URL.
pub fn parse(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return None,
    };
    let (watch_prefix, rest) = match rest {
        ["watch", r @ ..] => (true, r),
        r => (false, r),
    };
    if rest.is_empty() || rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    let namespace_subresource =
        rest.len() == 3 && rest[0] == "namespaces" && matches!(rest[2], "status" | "finalize");
    let (namespace, rest) = if rest[0] == "namespaces" && rest.len() >= 3 && !namespace_subresource
    {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    if rest.len() > 3 {
        return None;
    }
    Some(Target {
        group,
        version,
        namespace,
        resource: rest[0].to_string(),
        name: rest.get(1).map(|s| s.to_string()),
        subresource: rest.get(2).map(|s| s.to_string()),
        watch_prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let t = parse("/api/v1/namespaces/default/configmaps/x").unwrap();
        assert_eq!(
            (
                t.namespace.as_deref(),
                t.resource.as_str(),
                t.name.as_deref()
            ),
            (Some("default"), "configmaps", Some("x"))
        );
        let t = parse("/api/v1/namespaces/default").unwrap();
        assert_eq!(
            (t.namespace, t.resource.as_str(), t.name.as_deref()),
            (None, "namespaces", Some("default"))
        );
        let t = parse("/api/v1/namespaces/foo/finalize").unwrap();
        assert_eq!(
            (
                t.resource.as_str(),
                t.name.as_deref(),
                t.subresource.as_deref()
            ),
            ("namespaces", Some("foo"), Some("finalize"))
        );
        let t = parse("/apis/example.com/v1/namespaces/ns/widgets/w/status").unwrap();
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let t = parse("/apis/example.com/v1/widgets").unwrap();
        assert_eq!((t.namespace, t.name), (None, None));
        let t = parse("/api/v1/watch/namespaces/a/configmaps").unwrap();
        assert!(t.watch_prefix);
        assert!(parse("/apis/example.com").is_none());
        assert!(parse("/api/v1/a/b/c/d").is_none());
    }
}
