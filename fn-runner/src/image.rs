//! Image references: split into prefix, short name and tag, the way upstream routes them.

/// The catalog prefix kpt uses by default.
pub const GHCR_PREFIX: &str = "ghcr.io/kptdev/krm-functions-catalog";
/// The legacy catalog prefix.
pub const GCR_PREFIX: &str = "gcr.io/kpt-fn";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry and repository path before the short name (`""` for a bare name).
    pub prefix: String,
    /// The short name (last path segment).
    pub name: String,
    /// The tag (`""` when absent).
    pub tag: String,
    /// The digest including `sha256:` (`""` when absent).
    pub digest: String,
}

impl ImageRef {
    /// Split `image`; never fails (an odd string gives odd parts that match nothing).
    pub fn parse(image: &str) -> ImageRef {
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, d.to_string()),
            None => (image, String::new()),
        };
        let last_slash = rest.rfind('/');
        let (path, tag) = match rest.rfind(':') {
            Some(c) if last_slash.is_none_or(|s| c > s) => (&rest[..c], rest[c + 1..].to_string()),
            _ => (rest, String::new()),
        };
        let (prefix, name) = match path.rsplit_once('/') {
            Some((p, n)) => (p.to_string(), n.to_string()),
            None => (String::new(), path.to_string()),
        };
        ImageRef {
            prefix,
            name,
            tag,
            digest,
        }
    }

    /// `prefix/name:tag`, with the default prefix for a bare name (pod evaluator rule).
    pub fn qualified(&self, default_prefix: &str) -> String {
        let prefix = if self.prefix.is_empty() {
            default_prefix
        } else {
            &self.prefix
        };
        let mut s = format!("{}/{}", prefix.trim_end_matches('/'), self.name);
        if !self.tag.is_empty() {
            s.push(':');
            s.push_str(&self.tag);
        }
        if !self.digest.is_empty() {
            s.push('@');
            s.push_str(&self.digest);
        }
        s
    }

    /// Whether the prefix is one the catalog publishes under (or bare, or `default_prefix`).
    pub fn is_catalog(&self, default_prefix: &str) -> bool {
        let p = self.prefix.as_str();
        p.is_empty()
            || p == GHCR_PREFIX
            || p == GCR_PREFIX
            || p == default_prefix.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        let r = ImageRef::parse("ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4.5");
        assert_eq!(
            (r.prefix.as_str(), r.name.as_str(), r.tag.as_str()),
            (GHCR_PREFIX, "set-namespace", "v0.4.5")
        );
        let r = ImageRef::parse("set-labels");
        assert_eq!(
            (r.prefix.as_str(), r.name.as_str(), r.tag.as_str()),
            ("", "set-labels", "")
        );
        let r = ImageRef::parse("localhost:5000/fns/x:v1@sha256:abc");
        assert_eq!(
            (
                r.prefix.as_str(),
                r.name.as_str(),
                r.tag.as_str(),
                r.digest.as_str()
            ),
            ("localhost:5000/fns", "x", "v1", "sha256:abc")
        );
        let r = ImageRef::parse("localhost:5000/x");
        assert_eq!(
            (r.prefix.as_str(), r.name.as_str(), r.tag.as_str()),
            ("localhost:5000", "x", "")
        );
        assert_eq!(
            ImageRef::parse("set-labels:v0.2").qualified(GHCR_PREFIX),
            format!("{GHCR_PREFIX}/set-labels:v0.2")
        );
        assert!(ImageRef::parse("gcr.io/kpt-fn/set-labels:v0.2").is_catalog(GHCR_PREFIX));
        assert!(!ImageRef::parse("docker.io/me/set-labels:v0.2").is_catalog(GHCR_PREFIX));
    }
}
