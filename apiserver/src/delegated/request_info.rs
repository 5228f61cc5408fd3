//! What a request asks for, computed from method, path and query the way kube-apiserver's
//! `RequestInfoFactory` does: the verb, group, version, resource, subresource, namespace and
//! name that authorization is decided on.

use http::Method;

/// The authorization-relevant view of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestInfo {
    /// False for paths outside `/api/...` and `/apis/<group>/<version>/...` (discovery,
    /// OpenAPI, health, metrics).
    pub is_resource_request: bool,
    /// The request path (used for non-resource requests).
    pub path: String,
    pub verb: String,
    pub api_prefix: String,
    pub api_group: String,
    pub api_version: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

/// Subresources of a namespace itself (`/namespaces/x/status`), not resources inside it.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

/// Go's `strconv.ParseBool` true values, which is how `watch=` is read.
fn parse_bool(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == key).then(|| percent_decode(v))
        })
        .next()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The name a field selector pins exactly (`metadata.name=x` or `metadata.name==x`), which
/// kube-apiserver uses to authorize a list or watch of one object.
fn exact_name(field_selector: &str) -> Option<String> {
    field_selector.split(',').find_map(|term| {
        if term.contains("!=") {
            return None;
        }
        let (field, value) = term.split_once("==").or_else(|| term.split_once('='))?;
        (field.trim() == "metadata.name").then(|| value.trim().to_string())
    })
}

fn valid_path_segment(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('%')
}

/// Parse a request the way kube-apiserver does.
pub fn parse(method: &Method, path: &str, query: Option<&str>) -> RequestInfo {
    let method_verb = method.as_str().to_ascii_lowercase();
    let non_resource = RequestInfo {
        is_resource_request: false,
        path: path.to_string(),
        verb: method_verb,
        ..Default::default()
    };
    let mut parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if parts.first().is_none_or(|p| p.is_empty()) {
        return non_resource;
    }
    let prefix = parts[0];
    if prefix != "api" && prefix != "apis" {
        return non_resource;
    }
    parts.remove(0);
    let mut info = RequestInfo {
        path: path.to_string(),
        api_prefix: prefix.to_string(),
        ..Default::default()
    };
    if prefix == "apis" {
        // `/apis`, `/apis/<group>` and `/apis/<group>/<version>` are discovery.
        if parts.len() < 3 {
            return non_resource;
        }
        info.api_group = parts.remove(0).to_string();
    } else if parts.len() < 2 {
        return non_resource;
    }
    info.is_resource_request = true;
    info.api_version = parts.remove(0).to_string();

    // The deprecated `/watch/` prefix turns a GET into a watch.
    if parts.first() == Some(&"watch") {
        parts.remove(0);
        info.verb = "watch".into();
    } else {
        info.verb = match *method {
            Method::POST => "create",
            Method::GET | Method::HEAD => "get",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "",
        }
        .to_string();
    }

    if parts.first() == Some(&"namespaces") && parts.len() > 1 {
        info.namespace = parts[1].to_string();
        if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
            parts.drain(..2);
        }
    }
    // parts: resource/name/subresource/...
    if parts.len() >= 3 {
        info.subresource = parts[2].to_string();
    }
    if parts.len() >= 2 {
        info.name = parts[1].to_string();
    }
    if let Some(r) = parts.first() {
        info.resource = r.to_string();
    }

    if info.name.is_empty() && info.verb == "get" {
        let watch = query_value(query, "watch").is_some_and(|w| parse_bool(&w));
        info.verb = if watch { "watch" } else { "list" }.into();
    }
    if info.name.is_empty()
        && (info.verb == "list" || info.verb == "watch")
        && let Some(name) = query_value(query, "fieldSelector").and_then(|fs| exact_name(&fs))
        && valid_path_segment(&name)
    {
        info.name = name;
    }
    if info.name.is_empty() && info.verb == "delete" {
        info.verb = "deletecollection".into();
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(method: Method, path: &str, query: Option<&str>) -> RequestInfo {
        parse(&method, path, query)
    }

    const PR: &str = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions";

    #[test]
    fn verbs_follow_method_and_name() {
        let cases = [
            (Method::GET, PR.to_string(), None, "list", ""),
            (Method::GET, PR.to_string(), Some("watch=true"), "watch", ""),
            (Method::GET, PR.to_string(), Some("watch=1"), "watch", ""),
            (Method::GET, PR.to_string(), Some("watch=false"), "list", ""),
            (Method::GET, format!("{PR}/x"), None, "get", "x"),
            (Method::HEAD, format!("{PR}/x"), None, "get", "x"),
            (Method::POST, PR.to_string(), None, "create", ""),
            (Method::PUT, format!("{PR}/x"), None, "update", "x"),
            (Method::PATCH, format!("{PR}/x"), None, "patch", "x"),
            (Method::DELETE, format!("{PR}/x"), None, "delete", "x"),
            (Method::DELETE, PR.to_string(), None, "deletecollection", ""),
        ];
        for (m, path, q, verb, name) in cases {
            let info = p(m.clone(), &path, q);
            assert!(info.is_resource_request, "{m} {path}");
            assert_eq!(info.verb, verb, "{m} {path} {q:?}");
            assert_eq!(info.name, name, "{m} {path}");
            assert_eq!(info.api_group, "porch.kpt.dev");
            assert_eq!(info.api_version, "v1alpha1");
            assert_eq!(info.namespace, "ns");
            assert_eq!(info.resource, "packagerevisions");
        }
    }

    #[test]
    fn approval_subresource() {
        let info = p(Method::PUT, &format!("{PR}/repo.pkg.v1/approval"), None);
        assert_eq!(info.verb, "update");
        assert_eq!(info.name, "repo.pkg.v1");
        assert_eq!(info.subresource, "approval");
    }

    #[test]
    fn watch_prefix_and_cluster_scope() {
        let info = p(
            Method::GET,
            "/apis/porch.kpt.dev/v1alpha1/watch/packagerevisions",
            None,
        );
        assert_eq!(info.verb, "watch");
        assert_eq!(info.namespace, "");
        assert_eq!(info.resource, "packagerevisions");
        let info = p(
            Method::GET,
            "/apis/porch.kpt.dev/v1alpha1/watch/namespaces/ns/packagerevisions/a",
            None,
        );
        assert_eq!(info.verb, "watch");
        assert_eq!(info.namespace, "ns");
        assert_eq!(info.name, "a");
    }

    #[test]
    fn field_selector_on_name_names_the_object() {
        let info = p(
            Method::GET,
            PR,
            Some("fieldSelector=metadata.name%3Dabc&watch=true"),
        );
        assert_eq!(info.verb, "watch");
        assert_eq!(info.name, "abc");
        let info = p(Method::GET, PR, Some("fieldSelector=metadata.name!%3Dabc"));
        assert_eq!(info.verb, "list");
        assert_eq!(info.name, "");
    }

    #[test]
    fn core_group_and_namespaces_themselves() {
        let info = p(Method::GET, "/api/v1/namespaces/ns", None);
        assert_eq!(info.api_group, "");
        assert_eq!(info.resource, "namespaces");
        assert_eq!(info.name, "ns");
        assert_eq!(info.namespace, "ns");
        let info = p(Method::PUT, "/api/v1/namespaces/ns/finalize", None);
        assert_eq!(info.resource, "namespaces");
        assert_eq!(info.subresource, "finalize");
        let info = p(Method::GET, "/api/v1/namespaces/ns/configmaps/c", None);
        assert_eq!(info.resource, "configmaps");
        assert_eq!(info.name, "c");
    }

    #[test]
    fn discovery_and_other_paths_are_non_resource() {
        for path in [
            "/",
            "/apis",
            "/apis/porch.kpt.dev",
            "/apis/porch.kpt.dev/v1alpha1",
            "/api",
            "/api/v1",
            "/openapi/v3",
            "/healthz",
            "/metrics",
        ] {
            let info = p(Method::GET, path, None);
            assert!(!info.is_resource_request, "{path}");
            assert_eq!(info.verb, "get");
            assert_eq!(info.path, path);
        }
    }
}
