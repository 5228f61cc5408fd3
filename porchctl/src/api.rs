//! Raw REST access to the Porch API through a `kube::Client`.
//!
//! porchctl needs exact control over Accept headers (server-side Tables) and over how a failed
//! response becomes the message it prints, so it speaks plain HTTP+JSON instead of typed `Api`s.

use bytes::Bytes;
use http::{Method, Request, header};
use kube::client::Body;
use serde_json::Value;

use crate::errors::CliError;

/// Accept header of a server-side Table request (what upstream's `rpkg get` sends).
pub const TABLE_ACCEPT: &str = "application/json;as=Table;g=meta.k8s.io;v=v1,application/json";

/// A Kubernetes resource type porchctl talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
    /// Singular (lower-case kind) name, used by `-o name`.
    pub singular: &'static str,
    /// Kind.
    pub kind: &'static str,
}

/// `porch.kpt.dev/v1alpha1` PackageRevision.
pub const PACKAGE_REVISIONS: Resource = Resource {
    group: "porch.kpt.dev",
    version: "v1alpha1",
    plural: "packagerevisions",
    singular: "packagerevision",
    kind: "PackageRevision",
};

/// `porch.kpt.dev/v1alpha1` PackageRevisionResources.
pub const PACKAGE_REVISION_RESOURCES: Resource = Resource {
    group: "porch.kpt.dev",
    version: "v1alpha1",
    plural: "packagerevisionresources",
    singular: "packagerevisionresources",
    kind: "PackageRevisionResources",
};

/// `config.porch.kpt.dev/v1alpha1` Repository.
pub const REPOSITORIES: Resource = Resource {
    group: "config.porch.kpt.dev",
    version: "v1alpha1",
    plural: "repositories",
    singular: "repository",
    kind: "Repository",
};

/// Core `v1` Secret.
pub const SECRETS: Resource = Resource {
    group: "",
    version: "v1",
    plural: "secrets",
    singular: "secret",
    kind: "Secret",
};

/// Core `v1` Namespace (cluster-scoped).
pub const NAMESPACES: Resource = Resource {
    group: "",
    version: "v1",
    plural: "namespaces",
    singular: "namespace",
    kind: "Namespace",
};

impl Resource {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group` as client-go prints a GroupResource.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The collection path; `ns = None` means all namespaces (or a cluster-scoped resource).
    pub fn collection(&self, ns: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match ns {
            Some(ns) => format!("{base}/namespaces/{ns}/{}", self.plural),
            None => format!("{base}/{}", self.plural),
        }
    }

    /// The path of one object.
    pub fn item(&self, ns: Option<&str>, name: &str) -> String {
        format!("{}/{}", self.collection(ns), name)
    }
}

/// A non-2xx answer from the API server.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// HTTP method of the request.
    pub method: String,
    /// The decoded `Status`, when the body was one.
    pub status: Option<Value>,
    /// The raw body.
    pub body: String,
    /// Whether the body was `text/plain`.
    pub text_body: bool,
}

impl ApiError {
    /// The `Status.reason`, if any.
    pub fn reason(&self) -> Option<&str> {
        self.status
            .as_ref()
            .and_then(|s| s.get("reason"))
            .and_then(Value::as_str)
    }

    /// The message a typed/unstructured client-go client reports: the Status message, or the
    /// generic text when the body is not a Status.
    pub fn message(&self, res: &Resource, name: Option<&str>) -> String {
        if let Some(msg) = self
            .status
            .as_ref()
            .and_then(|s| s.get("message"))
            .and_then(Value::as_str)
        {
            return msg.to_string();
        }
        self.generic_message(res, name)
    }

    /// The message client-go produces when it cannot decode the error body, as happens for
    /// upstream's Table requests (a meta-only scheme cannot decode `Status`):
    /// `NewGenericServerResponse` plus ` (<verb> <group-resource> [<name>])`.
    pub fn generic_message(&self, res: &Resource, name: Option<&str>) -> String {
        let server_message = if self.text_body {
            self.body.trim().to_string()
        } else {
            "unknown".to_string()
        };
        let message = match self.code {
            409 => "the server reported a conflict".to_string(),
            404 => "the server could not find the requested resource".to_string(),
            400 => "the server rejected our request for an unknown reason".to_string(),
            401 => "the server has asked for the client to provide credentials".to_string(),
            403 => server_message,
            405 => "the server does not allow this method on the requested resource".to_string(),
            406 if server_message == "unknown" || server_message.is_empty() => {
                "the server was unable to respond with a content type that the client supports"
                    .to_string()
            }
            406 => server_message,
            415 => "the server does not support the media type".to_string(),
            422 => "the server rejected our request due to an error in our request".to_string(),
            429 => "the server has received too many requests and has asked us to try again later"
                .to_string(),
            503 => "the server is currently unable to handle the request".to_string(),
            504 => "the server was unable to return a response in the time allotted, but may still be processing the request".to_string(),
            c if c >= 500 => format!(
                "an error on the server ({}) has prevented the request from succeeding",
                go_quote(&server_message)
            ),
            c => format!(
                "the server responded with the status code {c} but did not return more information"
            ),
        };
        let verb = self.method.to_lowercase();
        match name {
            Some(n) if !n.is_empty() => {
                format!("{message} ({verb} {} {n})", res.group_resource())
            }
            _ => format!("{message} ({verb} {})", res.group_resource()),
        }
    }
}

/// Go's `%q` for a plain string.
pub fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Errors of one request.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The server answered with an error status.
    #[error("{}", .0.body)]
    Api(ApiError),
    /// The request never got an answer.
    #[error("{0}")]
    Transport(String),
    /// The answer was not the expected JSON.
    #[error("{0}")]
    Decode(String),
}

impl RequestError {
    /// The HTTP status code, if the server answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            RequestError::Api(e) => Some(e.code),
            _ => None,
        }
    }

    /// The message a client-go typed client would report.
    pub fn message(&self, res: &Resource, name: Option<&str>) -> String {
        match self {
            RequestError::Api(e) => e.message(res, name),
            RequestError::Transport(m) | RequestError::Decode(m) => m.clone(),
        }
    }

    /// The message of a Table request (see [`ApiError::generic_message`]).
    pub fn table_message(&self, res: &Resource, name: Option<&str>) -> String {
        match self {
            RequestError::Api(e) => e.generic_message(res, name),
            RequestError::Transport(m) | RequestError::Decode(m) => m.clone(),
        }
    }

    /// Converts into a printed command error with the typed-client message.
    pub fn into_cli(self, res: &Resource, name: Option<&str>) -> CliError {
        CliError::cmd(self.message(res, name))
    }
}

/// A thin JSON/REST client over `kube::Client`.
#[derive(Clone)]
pub struct RestClient {
    client: kube::Client,
}

impl RestClient {
    /// Wraps a kube client.
    pub fn new(client: kube::Client) -> Self {
        RestClient { client }
    }

    /// The wrapped kube client.
    pub fn kube_client(&self) -> kube::Client {
        self.client.clone()
    }

    /// Sends one request and returns the raw successful body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Bytes, RequestError> {
        self.call_with_type(method, path, accept, body, "application/json")
            .await
    }

    async fn call_with_type(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<Bytes, RequestError> {
        let mut builder = Request::builder().method(method.clone()).uri(path);
        builder = builder.header(header::ACCEPT, accept.unwrap_or("application/json"));
        let payload = match body {
            Some(v) => {
                builder = builder.header(header::CONTENT_TYPE, content_type);
                serde_json::to_vec(v).map_err(|e| RequestError::Decode(e.to_string()))?
            }
            None => Vec::new(),
        };
        let req = builder
            .body(Body::from(payload))
            .map_err(|e| RequestError::Transport(e.to_string()))?;
        let resp = self
            .client
            .send(req)
            .await
            .map_err(|e| RequestError::Transport(e.to_string()))?;
        let code = resp.status().as_u16();
        let text_body = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/plain"));
        let bytes = resp
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| RequestError::Transport(e.to_string()))?;
        if (200..300).contains(&code) {
            return Ok(bytes);
        }
        let status = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(|v| v.get("kind").and_then(Value::as_str) == Some("Status"));
        Err(RequestError::Api(ApiError {
            code,
            method: method.to_string(),
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            text_body,
        }))
    }

    /// A JSON request returning a JSON body.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, RequestError> {
        let bytes = self.call(method, path, None, body).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| RequestError::Decode(e.to_string()))
    }

    /// GET as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, RequestError> {
        self.json(Method::GET, path, None).await
    }

    /// POST a JSON body.
    pub async fn create(&self, path: &str, body: &Value) -> Result<Value, RequestError> {
        self.json(Method::POST, path, Some(body)).await
    }

    /// PUT a JSON body.
    pub async fn update(&self, path: &str, body: &Value) -> Result<Value, RequestError> {
        self.json(Method::PUT, path, Some(body)).await
    }

    /// PATCH with a JSON merge patch.
    pub async fn merge_patch(&self, path: &str, patch: &Value) -> Result<Value, RequestError> {
        let bytes = self
            .call_with_type(
                Method::PATCH,
                path,
                None,
                Some(patch),
                "application/merge-patch+json",
            )
            .await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| RequestError::Decode(e.to_string()))
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> Result<Value, RequestError> {
        self.json(Method::DELETE, path, None).await
    }

    /// GET asking for a server-side Table.
    pub async fn get_table(&self, path: &str) -> Result<Value, RequestError> {
        let bytes = self
            .call(Method::GET, path, Some(TABLE_ACCEPT), None)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| RequestError::Decode(e.to_string()))
    }
}

/// Appends `?k=v&...` with URL-encoded values.
pub fn with_query(path: &str, params: &[(&str, String)]) -> String {
    if params.is_empty() {
        return path.to_string();
    }
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    format!("{path}?{}", q.join("&"))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Reads a string at a JSON path of object keys.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: u16, status: Option<Value>) -> ApiError {
        ApiError {
            code,
            method: "GET".into(),
            status,
            body: "{}".into(),
            text_body: false,
        }
    }

    #[test]
    fn generic_not_found_names_the_object() {
        assert_eq!(
            err(404, None).generic_message(&PACKAGE_REVISIONS, Some("a.b.c")),
            "the server could not find the requested resource (get packagerevisions.porch.kpt.dev a.b.c)"
        );
    }

    #[test]
    fn generic_500_quotes_unknown() {
        assert_eq!(
            err(500, None).generic_message(&PACKAGE_REVISIONS, None),
            "an error on the server (\"unknown\") has prevented the request from succeeding (get packagerevisions.porch.kpt.dev)"
        );
    }

    #[test]
    fn status_message_wins_for_typed_clients() {
        let s = serde_json::json!({"kind":"Status","message":"Internal error occurred: x"});
        assert_eq!(
            err(500, Some(s)).message(&PACKAGE_REVISIONS, None),
            "Internal error occurred: x"
        );
    }

    #[test]
    fn paths() {
        assert_eq!(
            PACKAGE_REVISIONS.item(Some("ns"), "x"),
            "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions/x"
        );
        assert_eq!(
            SECRETS.collection(Some("ns")),
            "/api/v1/namespaces/ns/secrets"
        );
        assert_eq!(
            REPOSITORIES.collection(None),
            "/apis/config.porch.kpt.dev/v1alpha1/repositories"
        );
        assert_eq!(
            with_query("/p", &[("fieldSelector", "spec.packageName=a b".into())]),
            "/p?fieldSelector=spec.packageName%3Da%20b"
        );
    }
}
