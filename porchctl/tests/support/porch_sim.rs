//! A small stateful simulation of the Porch API surface the shared CLI cases touch (namespaces,
//! secrets, repositories, package revisions with upstream's lifecycle rules, errors and Tables,
//! package revision resources). It lets the conformance runner drive the real porchctl binary
//! through the shared golden cases without the server side; it is not a Porch implementation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::status;

#[derive(Default)]
struct State {
    repos: BTreeMap<(String, String), Value>,
    secrets: BTreeMap<(String, String), Value>,
    prs: BTreeMap<(String, String), Value>,
    resources: BTreeMap<(String, String), Value>,
    rv: u64,
}

/// The simulator.
#[derive(Clone, Default)]
pub struct PorchSim {
    state: Arc<Mutex<State>>,
}

fn reply(code: u16, body: Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn uid(ns: &str, name: &str) -> String {
    let space = uuid::Uuid::parse_str("aac71d91-5c67-456f-8fd2-902ef6da820e").unwrap();
    let key = format!(
        "packagerevision:porch.kpt.dev/v1alpha1/{}/{}",
        ns.to_lowercase(),
        name.to_lowercase()
    );
    uuid::Uuid::new_v5(&space, key.as_bytes()).to_string()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| {
            let mut out = String::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap() as char);
                    i += 3;
                } else {
                    out.push(b[i] as char);
                    i += 1;
                }
            }
            out
        })
    })
}

const BLUEPRINTS: &[(&str, &[i64])] = &[
    ("basens", &[-1, 1, 2, 3, 4]),
    ("bucket", &[-1, 1]),
    ("empty", &[-1, 1]),
    ("redis-bucket", &[-1, 1]),
    ("unready", &[-1, 1]),
    ("update", &[-1, 1, 2]),
];

impl State {
    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    #[allow(clippy::too_many_arguments)] // test fixture: one call per field reads best
    fn add_pr(
        &mut self,
        ns: &str,
        repo: &str,
        pkg: &str,
        ws: &str,
        rev: i64,
        lifecycle: &str,
        resources: Value,
    ) -> Value {
        let name = format!("{repo}.{pkg}.{ws}");
        let rv = self.next_rv();
        let mut pr = json!({
            "apiVersion": "porch.kpt.dev/v1alpha1", "kind": "PackageRevision",
            "metadata": {"name": name, "namespace": ns, "uid": uid(ns, &name), "resourceVersion": rv,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"packageName": pkg, "workspaceName": ws, "repository": repo, "lifecycle": lifecycle, "tasks": []},
            "status": {"upstreamLock": {}, "publishTimestamp": null},
        });
        if rev != 0 {
            pr["spec"]["revision"] = json!(rev);
        }
        self.prs.insert((ns.to_string(), name.clone()), pr.clone());
        self.resources.insert((ns.to_string(), name), resources);
        pr
    }

    fn seed_blueprints(&mut self, ns: &str, repo: &str) {
        for (pkg, revs) in BLUEPRINTS {
            for rev in *revs {
                let ws = if *rev == -1 {
                    "main".to_string()
                } else {
                    format!("v{rev}")
                };
                let kptfile = format!(
                    "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {pkg}\ninfo:\n  description: sample description\n"
                );
                self.add_pr(
                    ns,
                    repo,
                    pkg,
                    &ws,
                    *rev,
                    "Published",
                    json!({"Kptfile": kptfile}),
                );
            }
        }
    }

    /// The PR as served: with the computed latest label.
    fn view(&self, pr: &Value) -> Value {
        let mut v = pr.clone();
        let ns = pr["metadata"]["namespace"].as_str().unwrap_or("");
        let rev = pr["spec"]["revision"].as_i64().unwrap_or(0);
        let published = matches!(
            pr["spec"]["lifecycle"].as_str(),
            Some("Published" | "DeletionProposed")
        );
        let max = self
            .prs
            .iter()
            .filter(|((n, _), p)| {
                n == ns
                    && p["spec"]["packageName"] == pr["spec"]["packageName"]
                    && p["spec"]["repository"] == pr["spec"]["repository"]
            })
            .filter(|(_, p)| {
                matches!(
                    p["spec"]["lifecycle"].as_str(),
                    Some("Published" | "DeletionProposed")
                )
            })
            .filter_map(|(_, p)| p["spec"]["revision"].as_i64())
            .max()
            .unwrap_or(0);
        if published && rev > 0 && rev == max {
            v["metadata"]["labels"] = json!({"kpt.dev/latest-revision": "true"});
        }
        v
    }

    fn pr_table(&self, prs: &[Value]) -> Value {
        let cols: Vec<Value> = [
            ("Name", "string"),
            ("Package", "string"),
            ("WorkspaceName", "string"),
            ("Revision", "integer"),
            ("Latest", "boolean"),
            ("Lifecycle", "string"),
            ("Repository", "string"),
        ]
        .iter()
        .map(|(n, t)| json!({"name": n, "type": t, "format": "", "description": "", "priority": 0}))
        .collect();
        let rows: Vec<Value> = prs
            .iter()
            .map(|p| {
                let latest = p["metadata"]["labels"]["kpt.dev/latest-revision"] == "true";
                json!({"cells": [p["metadata"]["name"], p["spec"]["packageName"], p["spec"]["workspaceName"],
                                 p["spec"]["revision"].as_i64().unwrap_or(0), latest, p["spec"]["lifecycle"], p["spec"]["repository"]],
                       "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": p["metadata"]}})
            })
            .collect();
        json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": cols, "rows": rows})
    }
}

impl PorchSim {
    pub async fn serve(&self) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let me = self.clone();
        let router = axum::Router::new().fallback(move |req: Request| me.clone().handle(req));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        (addr, handle)
    }

    async fn handle(self, req: Request) -> Response {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let table = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .contains("as=Table");
        let bytes = to_bytes(req.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut st = self.state.lock().unwrap();
        match parts.as_slice() {
            ["api", "v1", "namespaces"] => reply(201, body),
            ["api", "v1", "namespaces", ns] if method == "DELETE" => {
                st.repos.retain(|(n, _), _| n != ns);
                st.secrets.retain(|(n, _), _| n != ns);
                st.prs.retain(|(n, _), _| n != ns);
                st.resources.retain(|(n, _), _| n != ns);
                reply(200, json!({}))
            }
            ["api", "v1", "namespaces", ns, "secrets"] if method == "POST" => {
                let name = body["metadata"]["name"].as_str().unwrap_or("").to_string();
                st.secrets.insert((ns.to_string(), name), body.clone());
                reply(201, body)
            }
            ["api", "v1", "namespaces", ns, "secrets", name] if method == "DELETE" => {
                match st.secrets.remove(&(ns.to_string(), name.to_string())) {
                    Some(s) => reply(200, s),
                    None => reply(
                        404,
                        status(404, "NotFound", &format!("secrets \"{name}\" not found")),
                    ),
                }
            }
            [
                "apis",
                "config.porch.kpt.dev",
                "v1alpha1",
                "namespaces",
                _ns,
                "packagerevs",
            ] => reply(
                200,
                json!({"kind": "PackageRevList", "apiVersion": "config.porch.kpt.dev/v1alpha1", "metadata": {}, "items": []}),
            ),
            [
                "apis",
                "config.porch.kpt.dev",
                "v1alpha1",
                "namespaces",
                ns,
                "repositories",
            ] => match method.as_str() {
                "POST" => {
                    let mut repo = body.clone();
                    let name = repo["metadata"]["name"].as_str().unwrap_or("").to_string();
                    if repo["spec"].get("content").is_none() {
                        repo["spec"]["content"] = json!("Package");
                    }
                    repo["status"] = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "Repository Ready"}]});
                    if repo["spec"]["git"]["repo"]
                        .as_str()
                        .is_some_and(|u| u.ends_with("/nephio/test-blueprints.git"))
                    {
                        st.seed_blueprints(ns, &name);
                    }
                    st.repos.insert((ns.to_string(), name), repo.clone());
                    reply(201, repo)
                }
                _ => {
                    let items: Vec<Value> = st
                        .repos
                        .iter()
                        .filter(|((n, _), _)| n == ns)
                        .map(|(_, r)| r.clone())
                        .collect();
                    if table {
                        let rows: Vec<Value> = items
                            .iter()
                            .map(|r| json!({"cells": [r["metadata"]["name"], r["spec"]["type"]], "object": {"metadata": r["metadata"]}}))
                            .collect();
                        reply(
                            200,
                            json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
                            "columnDefinitions": [{"name": "Name", "type": "string", "priority": 0}, {"name": "Type", "type": "string", "priority": 0}], "rows": rows}),
                        )
                    } else {
                        reply(
                            200,
                            json!({"kind": "RepositoryList", "apiVersion": "config.porch.kpt.dev/v1alpha1", "metadata": {}, "items": items}),
                        )
                    }
                }
            },
            [
                "apis",
                "config.porch.kpt.dev",
                "v1alpha1",
                "namespaces",
                ns,
                "repositories",
                name,
            ] => {
                let key = (ns.to_string(), name.to_string());
                let found = match method.as_str() {
                    "DELETE" => st.repos.remove(&key),
                    _ => st.repos.get(&key).cloned(),
                };
                match found {
                    Some(r) => reply(200, r),
                    None => reply(
                        404,
                        status(
                            404,
                            "NotFound",
                            &format!("repositories.config.porch.kpt.dev \"{name}\" not found"),
                        ),
                    ),
                }
            }
            [
                "apis",
                "porch.kpt.dev",
                "v1alpha1",
                "namespaces",
                ns,
                "packagerevisions",
            ] => match method.as_str() {
                "POST" => {
                    let spec = &body["spec"];
                    let (repo, pkg, ws) = (
                        spec["repository"].as_str().unwrap_or(""),
                        spec["packageName"].as_str().unwrap_or(""),
                        spec["workspaceName"].as_str().unwrap_or(""),
                    );
                    if st.prs.iter().any(|((n, _), p)| {
                        n == ns
                            && p["spec"]["repository"] == repo
                            && p["spec"]["packageName"] == pkg
                    }) {
                        return reply(
                            500,
                            status(
                                500,
                                "InternalError",
                                &format!(
                                    "Internal error occurred: package \"{pkg}\" already exists in repository \"{repo}\""
                                ),
                            ),
                        );
                    }
                    let init = &spec["tasks"][0]["init"];
                    let mut info = json!({"description": init["description"].as_str().unwrap_or("sample description")});
                    if let Some(k) = init.get("keywords") {
                        info["keywords"] = k.clone();
                    }
                    if let Some(s) = init.get("site") {
                        info["site"] = s.clone();
                    }
                    let kptfile = json!({"apiVersion": "kpt.dev/v1", "kind": "Kptfile",
                        "metadata": {"name": pkg, "annotations": {"config.kubernetes.io/local-config": "true"}},
                        "info": info, "status": {"conditions": [{"type": "Rendered", "status": "True", "reason": "RenderSuccess"}]}});
                    let resources = json!({
                        "Kptfile": porchctl::printers::yaml::to_yaml(&kptfile, false),
                        "README.md": format!("# {pkg}\n"),
                        "package-context.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ndata:\n  name: example\n",
                    });
                    let pr = st.add_pr(ns, repo, pkg, ws, 0, "Draft", resources);
                    reply(201, pr)
                }
                _ => {
                    let selector = query_param(&query, "fieldSelector");
                    let prs: Vec<Value> = st
                        .prs
                        .iter()
                        .filter(|((n, _), _)| n == ns)
                        .filter(|(_, p)| {
                            match selector.as_deref().and_then(|s| s.split_once('=')) {
                                Some(("spec.packageName", v)) => p["spec"]["packageName"] == v,
                                Some(("spec.workspaceName", v)) => p["spec"]["workspaceName"] == v,
                                _ => true,
                            }
                        })
                        .map(|(_, p)| st.view(p))
                        .collect();
                    if table {
                        reply(200, st.pr_table(&prs))
                    } else {
                        reply(
                            200,
                            json!({"kind": "PackageRevisionList", "apiVersion": "porch.kpt.dev/v1alpha1", "metadata": {}, "items": prs}),
                        )
                    }
                }
            },
            [
                "apis",
                "porch.kpt.dev",
                "v1alpha1",
                "namespaces",
                ns,
                "packagerevisions",
                name,
                rest @ ..,
            ] => {
                let key = (ns.to_string(), name.to_string());
                let not_found = || {
                    reply(
                        404,
                        status(
                            404,
                            "NotFound",
                            &format!("packagerevisions.porch.kpt.dev \"{name}\" not found"),
                        ),
                    )
                };
                let Some(cur) = st.prs.get(&key).cloned() else {
                    return not_found();
                };
                let old = cur["spec"]["lifecycle"]
                    .as_str()
                    .unwrap_or("Draft")
                    .to_string();
                match (method.as_str(), rest) {
                    ("GET", []) => {
                        let v = st.view(&cur);
                        if table {
                            reply(200, st.pr_table(&[v]))
                        } else {
                            reply(200, v)
                        }
                    }
                    ("DELETE", []) => {
                        if old == "Published" {
                            return reply(
                                403,
                                status(
                                    403,
                                    "Forbidden",
                                    &format!(
                                        "packagerevisions.porch.kpt.dev \"{name}\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion"
                                    ),
                                ),
                            );
                        }
                        st.prs.remove(&key);
                        st.resources.remove(&key);
                        reply(200, cur)
                    }
                    ("PUT", sub) => {
                        if body["metadata"]["resourceVersion"] != cur["metadata"]["resourceVersion"]
                        {
                            return reply(
                                409,
                                status(
                                    409,
                                    "Conflict",
                                    &format!(
                                        "Operation cannot be fulfilled on packagerevisions.porch.kpt.dev \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                                    ),
                                ),
                            );
                        }
                        let new = body["spec"]["lifecycle"].as_str().unwrap_or("").to_string();
                        let approval = sub == ["approval"];
                        let allowed = matches!(
                            (approval, old.as_str(), new.as_str()),
                            (false, "Draft" | "Proposed", "Draft" | "Proposed")
                                | (
                                    false,
                                    "Published" | "DeletionProposed",
                                    "Published" | "DeletionProposed",
                                )
                                | (true, "Proposed", "Published" | "Draft")
                                | (true, "Published", "DeletionProposed")
                                | (true, "DeletionProposed", "Published")
                        );
                        if !allowed {
                            return reply(
                                422,
                                status(
                                    422,
                                    "Invalid",
                                    &format!(
                                        "PackageRevision.porch.kpt.dev \"{name}\" is invalid: spec.lifecycle: Invalid value: \"{new}\": transition not allowed"
                                    ),
                                ),
                            );
                        }
                        let mut next = cur.clone();
                        next["spec"]["lifecycle"] = json!(new);
                        if approval && old == "Proposed" && new == "Published" {
                            let max = st
                                .prs
                                .values()
                                .filter(|p| {
                                    p["metadata"]["namespace"] == *ns
                                        && p["spec"]["packageName"] == cur["spec"]["packageName"]
                                        && p["spec"]["repository"] == cur["spec"]["repository"]
                                })
                                .filter_map(|p| p["spec"]["revision"].as_i64())
                                .max()
                                .unwrap_or(0);
                            next["spec"]["revision"] = json!(max.max(0) + 1);
                        }
                        next["metadata"]["resourceVersion"] = json!(st.next_rv());
                        st.prs.insert(key, next.clone());
                        reply(200, next)
                    }
                    _ => reply(405, status(405, "MethodNotAllowed", "method not allowed")),
                }
            }
            [
                "apis",
                "porch.kpt.dev",
                "v1alpha1",
                "namespaces",
                ns,
                "packagerevisionresources",
                name,
            ] => {
                let key = (ns.to_string(), name.to_string());
                match (st.prs.get(&key), st.resources.get(&key)) {
                    (Some(pr), Some(res)) => {
                        let meta = json!({"name": name, "namespace": ns, "uid": pr["metadata"]["uid"], "resourceVersion": pr["metadata"]["resourceVersion"],
                                          "creationTimestamp": pr["metadata"]["creationTimestamp"], "ownerReferences": []});
                        reply(
                            200,
                            json!({"apiVersion": "porch.kpt.dev/v1alpha1", "kind": "PackageRevisionResources", "metadata": meta,
                            "spec": {"packageName": pr["spec"]["packageName"], "workspaceName": pr["spec"]["workspaceName"], "repository": pr["spec"]["repository"], "resources": res},
                            "status": {"renderStatus": {"result": {"exitCode": 0, "metadata": {}}, "error": ""}}}),
                        )
                    }
                    _ => reply(
                        404,
                        status(
                            404,
                            "NotFound",
                            &format!("packagerevisionresources.porch.kpt.dev \"{name}\" not found"),
                        ),
                    ),
                }
            }
            _ => reply(
                404,
                status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            ),
        }
    }
}
