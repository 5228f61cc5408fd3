//! Image digest and entrypoint from an OCI/Docker registry (v2 API), as the pod
//! runtime needs them to name pods and start the wrapper server.

use std::sync::OnceLock;

use base64::Engine;
use futures::future::BoxFuture;
use serde_json::Value;

use crate::image::ImageRef;

/// What the pod runtime needs to know about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Manifest digest (`sha256:...`).
    pub digest: String,
    /// ENTRYPOINT, else CMD.
    pub entrypoint: Vec<String>,
}

/// Looks up image metadata.
pub trait ImageResolver: Send + Sync {
    /// Digest and entrypoint of `image` (fully qualified).
    fn resolve<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<ImageInfo, String>>;
}

/// Reads manifests and configs over the registry HTTP API (anonymous, bearer-token
/// or docker-config basic credentials). `localhost` registries use plain HTTP.
pub struct RegistryResolver {
    docker_config: Option<Value>,
    client: OnceLock<reqwest::Client>,
}

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

impl RegistryResolver {
    /// `docker_config_json` provides `auths[registry]` credentials when given.
    pub fn new(docker_config_json: Option<Vec<u8>>) -> Self {
        RegistryResolver {
            docker_config: docker_config_json.and_then(|b| serde_json::from_slice(&b).ok()),
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let c = reqwest::Client::builder()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(self.client.get_or_init(|| c))
    }

    fn basic_auth(&self, registry: &str) -> Option<String> {
        let auth = self.docker_config.as_ref()?.get("auths")?.get(registry)?;
        if let Some(a) = auth.get("auth").and_then(Value::as_str) {
            return Some(a.to_string());
        }
        let u = auth.get("username")?.as_str()?;
        let p = auth.get("password")?.as_str()?;
        Some(base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")))
    }

    async fn get(
        &self,
        url: &str,
        registry: &str,
        accept: &str,
        token: &mut Option<String>,
    ) -> Result<reqwest::Response, String> {
        for _ in 0..2 {
            let mut req = self.client()?.get(url).header("Accept", accept);
            if let Some(t) = token.as_ref() {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.map_err(|e| format!("GET {url}: {e}"))?;
            if resp.status() == reqwest::StatusCode::UNAUTHORIZED && token.is_none() {
                let challenge = resp
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                *token = Some(self.token(&challenge, registry).await?);
                continue;
            }
            if !resp.status().is_success() {
                return Err(format!("GET {url}: {}", resp.status()));
            }
            return Ok(resp);
        }
        Err(format!("GET {url}: unauthorized"))
    }

    async fn token(&self, challenge: &str, registry: &str) -> Result<String, String> {
        let params = parse_challenge(challenge);
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or("no bearer realm in challenge")?;
        let query: Vec<(String, String)> = params
            .into_iter()
            .filter(|(k, _)| k == "service" || k == "scope")
            .collect();
        let mut req = self.client()?.get(&realm).query(&query);
        if let Some(b) = self.basic_auth(registry) {
            req = req.header("Authorization", format!("Basic {b}"));
        }
        let v: Value = req
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| "no token in reply".into())
    }

    async fn lookup(&self, image: &str) -> Result<ImageInfo, String> {
        let (base, repo, reference) = locate(image);
        let registry = base
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string();
        let mut token = None;
        let url = format!("{base}/v2/{repo}/manifests/{reference}");
        let resp = self.get(&url, &registry, ACCEPT, &mut token).await?;
        let mut digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut manifest: Value = resp.json().await.map_err(|e| e.to_string())?;
        if let Some(list) = manifest.get("manifests").and_then(Value::as_array) {
            let chosen = list
                .iter()
                .find(|m| {
                    m.pointer("/platform/os") == Some(&Value::from("linux"))
                        && m.pointer("/platform/architecture") == Some(&Value::from("amd64"))
                })
                .or_else(|| list.first())
                .and_then(|m| m.get("digest").and_then(Value::as_str))
                .ok_or("image index has no manifests")?
                .to_string();
            let url = format!("{base}/v2/{repo}/manifests/{chosen}");
            manifest = self
                .get(&url, &registry, ACCEPT, &mut token)
                .await?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            if digest.is_empty() {
                digest = chosen;
            }
        }
        let config_digest = manifest
            .pointer("/config/digest")
            .and_then(Value::as_str)
            .ok_or("manifest has no config")?;
        let url = format!("{base}/v2/{repo}/blobs/{config_digest}");
        let config: Value = self
            .get(&url, &registry, "*/*", &mut token)
            .await?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let strings = |p: &str| -> Vec<String> {
            config
                .pointer(p)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut entrypoint = strings("/config/Entrypoint");
        if entrypoint.is_empty() {
            entrypoint = strings("/config/Cmd");
        }
        if entrypoint.is_empty() {
            return Err(format!("image {image} has neither ENTRYPOINT nor CMD"));
        }
        if digest.is_empty() {
            digest = config_digest.to_string();
        }
        Ok(ImageInfo { digest, entrypoint })
    }
}

impl ImageResolver for RegistryResolver {
    fn resolve<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<ImageInfo, String>> {
        Box::pin(async move {
            self.lookup(image)
                .await
                .map_err(|e| format!("cannot read metadata of {image}: {e}"))
        })
    }
}

/// `(base URL, repository, reference)` of an image; Docker Hub for names without a registry.
pub fn locate(image: &str) -> (String, String, String) {
    let r = ImageRef::parse(image);
    let reference = if !r.digest.is_empty() {
        r.digest.clone()
    } else if !r.tag.is_empty() {
        r.tag.clone()
    } else {
        "latest".to_string()
    };
    let full = if r.prefix.is_empty() {
        r.name.clone()
    } else {
        format!("{}/{}", r.prefix, r.name)
    };
    let (first, rest) = full.split_once('/').unwrap_or(("", full.as_str()));
    let is_registry = first.contains('.') || first.contains(':') || first == "localhost";
    if is_registry {
        let scheme = if first.starts_with("localhost") || first.starts_with("127.0.0.1") {
            "http"
        } else {
            "https"
        };
        (format!("{scheme}://{first}"), rest.to_string(), reference)
    } else {
        let repo = if full.contains('/') {
            full.clone()
        } else {
            format!("library/{full}")
        };
        ("https://registry-1.docker.io".to_string(), repo, reference)
    }
}

/// `Bearer realm="x",service="y",scope="z"` into pairs.
fn parse_challenge(h: &str) -> Vec<(String, String)> {
    let body = h.trim().strip_prefix("Bearer").unwrap_or(h).trim();
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_string();
        let after = &rest[eq + 1..];
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (q[..end].to_string(), &q[end + 1..]),
                None => (q.to_string(), ""),
            }
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.push((key, value));
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_images() {
        assert_eq!(
            locate("ghcr.io/kptdev/krm-functions-catalog/set-labels:v0.2"),
            (
                "https://ghcr.io".into(),
                "kptdev/krm-functions-catalog/set-labels".into(),
                "v0.2".into()
            )
        );
        assert_eq!(
            locate("nginx"),
            (
                "https://registry-1.docker.io".into(),
                "library/nginx".into(),
                "latest".into()
            )
        );
        assert_eq!(
            locate("localhost:5000/fns/x@sha256:ab"),
            (
                "http://localhost:5000".into(),
                "fns/x".into(),
                "sha256:ab".into()
            )
        );
    }

    #[test]
    fn parses_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull""#,
        );
        assert_eq!(c[0], ("realm".into(), "https://ghcr.io/token".into()));
        assert_eq!(c[2], ("scope".into(), "repository:a/b:pull".into()));
    }
}

#[cfg(test)]
mod http_tests {
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn reads_index_manifest_and_config_with_a_bearer_token() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let realm = format!("http://{host}/token");
        let authed = |h: &HeaderMap| {
            h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer tok")
        };
        let app = Router::new()
            .route(
                "/v2/fns/x/manifests/{reference}",
                get(move |axum::extract::Path(reference): axum::extract::Path<String>, h: HeaderMap| {
                    let realm = realm.clone();
                    async move {
                        if !authed(&h) {
                            let challenge = format!("Bearer realm=\"{realm}\",service=\"reg\",scope=\"repository:fns/x:pull\"");
                            return (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)], String::new()).into_response();
                        }
                        let body = match reference.as_str() {
                            "v1" => json!({"manifests": [
                                {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64"}},
                                {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}}]}),
                            "sha256:amd" => json!({"config": {"digest": "sha256:cfg"}}),
                            _ => return StatusCode::NOT_FOUND.into_response(),
                        };
                        ([("docker-content-digest", "sha256:index")], body.to_string()).into_response()
                    }
                }),
            )
            .route(
                "/v2/fns/x/blobs/sha256:cfg",
                get(move |h: HeaderMap| async move {
                    if !authed(&h) {
                        return StatusCode::UNAUTHORIZED.into_response();
                    }
                    json!({"config": {"Cmd": ["ignored"], "Entrypoint": ["/usr/local/bin/function"]}}).to_string().into_response()
                }),
            )
            .route(
                "/token",
                get(|q: axum::extract::Query<std::collections::HashMap<String, String>>, h: HeaderMap| async move {
                    // docker config credentials u:p, sent as basic auth to the token service
                    let basic = h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Basic dTpw");
                    if !basic || q.get("service").map(String::as_str) != Some("reg") || q.get("scope").map(String::as_str) != Some("repository:fns/x:pull") {
                        return StatusCode::FORBIDDEN.into_response();
                    }
                    json!({"token": "tok"}).to_string().into_response()
                }),
            );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        let config = json!({"auths": {host.clone(): {"username": "u", "password": "p"}}});
        let resolver = RegistryResolver::new(Some(config.to_string().into_bytes()));
        let info = resolver.resolve(&format!("{host}/fns/x:v1")).await.unwrap();
        assert_eq!(
            info,
            ImageInfo {
                digest: "sha256:index".into(),
                entrypoint: vec!["/usr/local/bin/function".into()]
            }
        );
        let err = resolver
            .resolve(&format!("{host}/fns/x:missing"))
            .await
            .unwrap_err();
        assert!(err.contains("404"), "{err}");
        tx.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
