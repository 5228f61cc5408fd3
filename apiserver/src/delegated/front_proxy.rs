//! The authentication settings kube-apiserver publishes in
//! `kube-system/extension-apiserver-authentication`, and the front-proxy request headers.

use super::certs::{CaError, CaVerifier, subject_names};
use super::user::AuthenticatedUser;
use http::HeaderMap;
use rustls::pki_types::CertificateDer;
use std::collections::BTreeMap;

/// How to trust the front proxy (kube-aggregator) and read the user from its headers.
#[derive(Debug, Clone)]
pub struct RequestHeaderConfig {
    pub ca: CaVerifier,
    /// Common names the proxy's client certificate may have; empty allows any.
    pub allowed_names: Vec<String>,
    pub username_headers: Vec<String>,
    pub uid_headers: Vec<String>,
    pub group_headers: Vec<String>,
    pub extra_headers_prefixes: Vec<String>,
}

/// Everything read from the ConfigMap.
#[derive(Debug, Clone, Default)]
pub struct AuthenticationConfig {
    pub request_header: Option<RequestHeaderConfig>,
    /// `client-ca-file`: client certificates of ordinary users (user = CN, groups = O).
    pub client_ca: Option<CaVerifier>,
}

/// A malformed ConfigMap entry.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{key}: not a JSON list of strings: {why}")]
    List { key: String, why: String },
    #[error(transparent)]
    Ca(#[from] CaError),
}

fn string_list(data: &BTreeMap<String, String>, key: &str) -> Result<Vec<String>, ConfigError> {
    match data.get(key).map(|s| s.trim()) {
        None | Some("") => Ok(Vec::new()),
        Some(s) => serde_json::from_str(s).map_err(|e| ConfigError::List {
            key: key.to_string(),
            why: e.to_string(),
        }),
    }
}

impl AuthenticationConfig {
    /// Parse the ConfigMap's data. A missing `requestheader-client-ca-file` (or no username
    /// headers) disables front-proxy authentication, as in kube.
    pub fn from_config_map(data: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let client_ca = match data.get("client-ca-file").filter(|s| !s.trim().is_empty()) {
            Some(pem) => Some(CaVerifier::from_pem(pem, "client-ca-file")?),
            None => None,
        };
        let username_headers = string_list(data, "requestheader-username-headers")?;
        let request_header = match data
            .get("requestheader-client-ca-file")
            .filter(|s| !s.trim().is_empty())
        {
            Some(pem) if !username_headers.is_empty() => Some(RequestHeaderConfig {
                ca: CaVerifier::from_pem(pem, "requestheader-client-ca-file")?,
                allowed_names: string_list(data, "requestheader-allowed-names")?,
                username_headers,
                uid_headers: string_list(data, "requestheader-uid-headers")?,
                group_headers: string_list(data, "requestheader-group-headers")?,
                extra_headers_prefixes: string_list(data, "requestheader-extra-headers-prefix")?,
            }),
            _ => None,
        };
        Ok(Self {
            request_header,
            client_ca,
        })
    }
}

fn first_value(headers: &HeaderMap, names: &[String]) -> Option<String> {
    names.iter().find_map(|n| {
        headers
            .get_all(n.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| !v.is_empty())
            .map(str::to_string)
    })
}

fn all_values(headers: &HeaderMap, names: &[String]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| headers.get_all(n.as_str()).iter())
        .filter_map(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Percent-decode an extra key (`X-Remote-Extra-Acme.com%2Fproject`); invalid escapes are kept.
fn unescape_extra_key(k: &str) -> String {
    let bytes = k.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
            return k.to_string();
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| k.to_string())
}

/// The user the front proxy names in its headers, or `None` when no username header is set.
pub fn user_from_headers(
    cfg: &RequestHeaderConfig,
    headers: &HeaderMap,
) -> Option<AuthenticatedUser> {
    let name = first_value(headers, &cfg.username_headers)?;
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for prefix in &cfg.extra_headers_prefixes {
        let prefix = prefix.to_ascii_lowercase();
        for (header, value) in headers {
            // Header names are stored lowercase.
            if let Some(key) = header.as_str().strip_prefix(prefix.as_str())
                && let Ok(v) = value.to_str()
            {
                extra
                    .entry(unescape_extra_key(key))
                    .or_default()
                    .push(v.to_string());
            }
        }
    }
    Some(AuthenticatedUser {
        name,
        uid: first_value(headers, &cfg.uid_headers).unwrap_or_default(),
        groups: all_values(headers, &cfg.group_headers),
        extra,
    })
}

/// Remove every header the front proxy uses to name a user, so nothing downstream can be
/// fooled by a client that sent them itself.
pub fn strip_headers(cfg: &RequestHeaderConfig, headers: &mut HeaderMap) {
    for n in cfg
        .username_headers
        .iter()
        .chain(&cfg.uid_headers)
        .chain(&cfg.group_headers)
    {
        headers.remove(n.as_str());
    }
    let prefixes: Vec<String> = cfg
        .extra_headers_prefixes
        .iter()
        .map(|p| p.to_ascii_lowercase())
        .collect();
    let doomed: Vec<http::HeaderName> = headers
        .keys()
        .filter(|k| prefixes.iter().any(|p| k.as_str().starts_with(p.as_str())))
        .cloned()
        .collect();
    for k in doomed {
        headers.remove(k);
    }
}

/// Front-proxy authentication: a chain signed by the requestheader CA, with an allowed common
/// name, and a username header. `Ok(None)` means "not a front-proxy request".
pub fn authenticate(
    cfg: &RequestHeaderConfig,
    chain: &[CertificateDer<'_>],
    headers: &HeaderMap,
) -> Result<Option<AuthenticatedUser>, String> {
    if chain.is_empty() {
        return Ok(None);
    }
    cfg.ca.verify(chain)?;
    let (cn, _) = subject_names(&chain[0])?;
    if !cfg.allowed_names.is_empty() && !cfg.allowed_names.contains(&cn) {
        return Err(format!(
            "x509: subject with cn={cn} is not in the allowed list"
        ));
    }
    Ok(user_from_headers(cfg, headers))
}

/// Client-certificate authentication against `client-ca-file`: user = CN, groups = O.
pub fn authenticate_client_cert(
    ca: &CaVerifier,
    chain: &[CertificateDer<'_>],
) -> Result<Option<AuthenticatedUser>, String> {
    if chain.is_empty() {
        return Ok(None);
    }
    ca.verify(chain)?;
    let (cn, orgs) = subject_names(&chain[0])?;
    if cn.is_empty() {
        return Ok(None);
    }
    Ok(Some(AuthenticatedUser {
        name: cn,
        groups: orgs,
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    fn data() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("requestheader-client-ca-file".into(), ca_pem()),
            (
                "requestheader-allowed-names".into(),
                r#"["front-proxy-client"]"#.into(),
            ),
            (
                "requestheader-username-headers".into(),
                r#"["X-Remote-User"]"#.into(),
            ),
            (
                "requestheader-group-headers".into(),
                r#"["X-Remote-Group"]"#.into(),
            ),
            (
                "requestheader-extra-headers-prefix".into(),
                r#"["X-Remote-Extra-"]"#.into(),
            ),
        ])
    }

    #[test]
    fn parses_the_config_map() {
        let cfg = AuthenticationConfig::from_config_map(&data()).unwrap();
        let rh = cfg.request_header.unwrap();
        assert_eq!(rh.allowed_names, vec!["front-proxy-client"]);
        assert_eq!(rh.username_headers, vec!["X-Remote-User"]);
        assert!(rh.uid_headers.is_empty());
        assert!(cfg.client_ca.is_none());
    }

    #[test]
    fn bad_entries_are_errors_and_missing_ca_disables() {
        let mut d = data();
        d.insert("requestheader-allowed-names".into(), "front-proxy".into());
        let e = AuthenticationConfig::from_config_map(&d).unwrap_err();
        assert!(e.to_string().contains("requestheader-allowed-names"), "{e}");
        let mut d = data();
        d.insert("requestheader-client-ca-file".into(), "not pem".into());
        assert!(AuthenticationConfig::from_config_map(&d).is_err());
        let mut d = data();
        d.remove("requestheader-client-ca-file");
        let cfg = AuthenticationConfig::from_config_map(&d).unwrap();
        assert!(cfg.request_header.is_none());
    }

    #[test]
    fn reads_user_groups_and_extra_then_strips_them() {
        let cfg = AuthenticationConfig::from_config_map(&data())
            .unwrap()
            .request_header
            .unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-remote-user", HeaderValue::from_static("alice"));
        h.append("x-remote-group", HeaderValue::from_static("dev"));
        h.append("x-remote-group", HeaderValue::from_static("ops"));
        h.append("x-remote-extra-scopes", HeaderValue::from_static("a"));
        h.append("x-remote-extra-scopes", HeaderValue::from_static("b"));
        h.append(
            "x-remote-extra-acme.com%2fproject",
            HeaderValue::from_static("p"),
        );
        h.insert("accept", HeaderValue::from_static("application/json"));
        let u = user_from_headers(&cfg, &h).unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(u.groups, vec!["dev", "ops"]);
        assert_eq!(u.extra["scopes"], vec!["a", "b"]);
        assert_eq!(u.extra["acme.com/project"], vec!["p"]);
        strip_headers(&cfg, &mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn no_username_header_is_no_user() {
        let cfg = AuthenticationConfig::from_config_map(&data())
            .unwrap()
            .request_header
            .unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-remote-user", HeaderValue::from_static(""));
        h.insert("x-remote-group", HeaderValue::from_static("dev"));
        assert!(user_from_headers(&cfg, &h).is_none());
    }
}
