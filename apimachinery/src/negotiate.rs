//! Content negotiation of `Accept` headers the way kube-apiserver does it for JSON clients.
//! Protobuf is never chosen; the first acceptable JSON (or YAML) entry wins.

/// A response representation a client can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The object itself as JSON.
    Json,
    /// The object itself as YAML.
    Yaml,
    /// `meta.k8s.io` Table (`v1` or `v1beta1`).
    Table { v1beta1: bool },
    /// `meta.k8s.io/v1` PartialObjectMetadata.
    PartialObjectMetadata,
    /// `meta.k8s.io/v1` PartialObjectMetadataList.
    PartialObjectMetadataList,
    /// `apidiscovery.k8s.io` aggregated discovery (`v2` or `v2beta1`).
    DiscoveryV2 { v2beta1: bool },
}

impl Representation {
    /// The `Content-Type` header for a response in this representation.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Yaml => "application/yaml",
            Self::Table { v1beta1: false } => "application/json;as=Table;v=v1;g=meta.k8s.io",
            Self::Table { v1beta1: true } => "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
            Self::PartialObjectMetadata => {
                "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
            }
            Self::PartialObjectMetadataList => {
                "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
            }
            Self::DiscoveryV2 { v2beta1: false } => {
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            }
            Self::DiscoveryV2 { v2beta1: true } => {
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            }
        }
    }

    /// Whether two representations are the same family (ignoring versions).
    fn family(self) -> u8 {
        match self {
            Self::Json => 0,
            Self::Yaml => 1,
            Self::Table { .. } => 2,
            Self::PartialObjectMetadata => 3,
            Self::PartialObjectMetadataList => 4,
            Self::DiscoveryV2 { .. } => 5,
        }
    }
}

/// One parsed entry of an `Accept` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MediaRange {
    essence: String,
    params: Vec<(String, String)>,
}

impl MediaRange {
    fn param(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_accept(header: &str) -> Vec<MediaRange> {
    header
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let essence = parts.next()?.trim().to_ascii_lowercase();
            if essence.is_empty() {
                return None;
            }
            let params = parts
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_string(),
                    ))
                })
                .collect();
            Some(MediaRange { essence, params })
        })
        .collect()
}

fn classify(m: &MediaRange) -> Option<Representation> {
    let json_like = matches!(
        m.essence.as_str(),
        "application/json" | "*/*" | "application/*"
    );
    if m.essence == "application/yaml" && m.param("as").is_none() {
        return Some(Representation::Yaml);
    }
    if !json_like {
        return None;
    }
    match (m.param("as"), m.param("g"), m.param("v")) {
        (None, _, _) => Some(Representation::Json),
        (Some("Table"), Some("meta.k8s.io"), Some("v1")) => {
            Some(Representation::Table { v1beta1: false })
        }
        (Some("Table"), Some("meta.k8s.io"), Some("v1beta1")) => {
            Some(Representation::Table { v1beta1: true })
        }
        (Some("PartialObjectMetadata"), Some("meta.k8s.io"), Some("v1" | "v1beta1")) => {
            Some(Representation::PartialObjectMetadata)
        }
        (Some("PartialObjectMetadataList"), Some("meta.k8s.io"), Some("v1" | "v1beta1")) => {
            Some(Representation::PartialObjectMetadataList)
        }
        (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"), Some("v2")) => {
            Some(Representation::DiscoveryV2 { v2beta1: false })
        }
        (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"), Some("v2beta1")) => {
            Some(Representation::DiscoveryV2 { v2beta1: true })
        }
        _ => None,
    }
}

/// Pick the first entry of `accept` whose representation family is in `offered`.
/// A missing or empty header means JSON. `None` means 406.
pub fn negotiate(accept: Option<&str>, offered: &[Representation]) -> Option<Representation> {
    let header = accept.unwrap_or("").trim();
    if header.is_empty() {
        return offered.iter().copied().find(|r| *r == Representation::Json);
    }
    for m in parse_accept(header) {
        if let Some(rep) = classify(&m)
            && offered.iter().any(|o| o.family() == rep.family())
        {
            return Some(rep);
        }
    }
    None
}

/// What a single-object GET, a write or a watch can answer with.
pub const OBJECT_REPRESENTATIONS: &[Representation] = &[
    Representation::Json,
    Representation::Yaml,
    Representation::Table { v1beta1: false },
    Representation::PartialObjectMetadata,
];

/// What a list can answer with.
pub const LIST_REPRESENTATIONS: &[Representation] = &[
    Representation::Json,
    Representation::Yaml,
    Representation::Table { v1beta1: false },
    Representation::PartialObjectMetadataList,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_prefers_table() {
        let h = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            negotiate(Some(h), LIST_REPRESENTATIONS),
            Some(Representation::Table { v1beta1: false })
        );
    }

    #[test]
    fn protobuf_skipped_and_metadata_chosen() {
        let h = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
        assert_eq!(
            negotiate(Some(h), LIST_REPRESENTATIONS),
            Some(Representation::PartialObjectMetadataList)
        );
        assert_eq!(
            negotiate(
                Some("application/vnd.kubernetes.protobuf"),
                LIST_REPRESENTATIONS
            ),
            None
        );
    }

    #[test]
    fn discovery_and_defaults() {
        let h = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        let offered = [
            Representation::Json,
            Representation::DiscoveryV2 { v2beta1: false },
        ];
        assert_eq!(
            negotiate(Some(h), &offered),
            Some(Representation::DiscoveryV2 { v2beta1: false })
        );
        assert_eq!(
            negotiate(Some(h), &[Representation::Json]),
            Some(Representation::Json)
        );
        assert_eq!(
            negotiate(None, LIST_REPRESENTATIONS),
            Some(Representation::Json)
        );
        assert_eq!(
            negotiate(Some("*/*"), LIST_REPRESENTATIONS),
            Some(Representation::Json)
        );
        assert_eq!(
            negotiate(Some("application/yaml"), LIST_REPRESENTATIONS),
            Some(Representation::Yaml)
        );
    }
}
