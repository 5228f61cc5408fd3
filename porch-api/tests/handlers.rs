#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Handler tests: the router driven with `oneshot`, over the engine's in-memory test doubles (a
//! unit test of the API layer around the engine; git and kpt are not involved).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use porch_api::{ApiOptions, CrCache, PorchApiGroup};
use porch_apiserver::aggregated::{AggregatedApiGroup, UserInfo};
use porch_engine::convert::package_revision_to_api;
use porch_engine::model::Lifecycle;
use porch_engine::testing::{FakeOps, InMemoryBackend, InMemoryMetadata, kptfile_only, record};
use porch_engine::{Engine, EngineOptions, Scope};
use serde_json::{Value, json};
use tower::ServiceExt;

type TestEngine = Engine<InMemoryBackend, InMemoryMetadata, FakeOps>;

struct Harness {
    app: Router,
    cache: CrCache,
    engine: Arc<TestEngine>,
}

fn repository(name: &str) -> Value {
    json!({
        "apiVersion": "config.porch.kpt.dev/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"type": "git", "git": {"repo": "https://example.com/r.git", "branch": "main"}}
    })
}

impl Harness {
    fn new(options: ApiOptions) -> Self {
        let engine = Arc::new(
            Engine::new(
                InMemoryBackend::new(),
                InMemoryMetadata::new(),
                FakeOps::new(),
                EngineOptions::default(),
            )
            .with_clock(|| "2026-11-20T10:00:00Z".to_owned()),
        );
        let cache = CrCache::new();
        cache.apply_repository(serde_json::from_value(repository("repo")).unwrap());
        let group = PorchApiGroup::new(engine.clone(), cache.clone(), options);
        let app = Router::new()
            .nest("/apis/porch.kpt.dev", group.router())
            .layer(axum::Extension(UserInfo {
                name: "alice@example.com".into(),
                groups: vec!["system:authenticated".into()],
            }));
        Self { app, cache, engine }
    }

    /// Seeds published revisions of `repo/pkg` and feeds the cache as the PackageRev watch would.
    async fn seed(&self) {
        let b = self.engine.backend();
        b.seed(
            record("repo", "pkg", "v1", 1, Lifecycle::Published),
            kptfile_only("pkg"),
        );
        b.seed(
            record("repo", "pkg", "v2", 2, Lifecycle::Published),
            kptfile_only("pkg"),
        );
        b.seed(
            record("repo", "pkg", "main", -1, Lifecycle::Published),
            kptfile_only("pkg"),
        );
        b.seed(
            record("repo", "dir/other", "ws", 0, Lifecycle::Draft),
            kptfile_only("other"),
        );
        self.sync().await;
    }

    async fn sync(&self) {
        let scope = Scope {
            namespace: "ns".into(),
            repositories: vec![porch_engine::convert::repository_info(
                &serde_json::from_value(repository("repo")).unwrap(),
            )],
        };
        let all = self.engine.list(&scope, &Default::default()).await.unwrap();
        for pr in all {
            self.cache
                .record_package_revision(&package_revision_to_api(&pr));
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        accept: Option<&str>,
        ct: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        req = req.header("content-type", ct.unwrap_or("application/json"));
        let body = if body.is_null() {
            Body::empty()
        } else {
            Body::from(body.to_string())
        };
        let resp = self
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, v)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call("GET", uri, None, None, Value::Null).await
    }
}

const PRS: &str = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions";

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn discovery_lists_the_four_resources() {
    let h = Harness::new(ApiOptions::default());
    let (code, v) = h.get("/apis/porch.kpt.dev/v1alpha1").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["groupVersion"], "porch.kpt.dev/v1alpha1");
    let res: Vec<(&str, &str)> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        res,
        vec![
            ("packagerevisions", "PackageRevision"),
            ("packagerevisions/approval", "PackageRevision"),
            ("packagerevisionresources", "PackageRevisionResources"),
            ("packages", "PorchPackage"),
        ]
    );
    let group = PorchApiGroup::new(
        Arc::new(Engine::new(
            InMemoryBackend::new(),
            InMemoryMetadata::new(),
            FakeOps::new(),
            EngineOptions::default(),
        )),
        CrCache::new(),
        ApiOptions::default(),
    );
    let schemas = group.schemas("v1alpha1");
    assert_eq!(schemas.len(), 3);
    assert_eq!(
        schemas[0].schema["x-kubernetes-group-version-kind"][0]["kind"],
        "PackageRevision"
    );
}

#[tokio::test]
async fn list_serves_the_cache_with_latest_label_and_list_resource_version() {
    let h = Harness::new(ApiOptions::default());
    h.seed().await;
    let (code, v) = h.get(PRS).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["kind"], "PackageRevisionList");
    assert_eq!(v["apiVersion"], "porch.kpt.dev/v1alpha1");
    assert_eq!(
        names(&v),
        vec![
            "repo.dir.other.ws",
            "repo.pkg.main",
            "repo.pkg.v1",
            "repo.pkg.v2"
        ]
    );
    // Four ADDED plus one MODIFIED (v1 lost the latest label when v2 arrived).
    assert_eq!(v["metadata"]["resourceVersion"], "5");
    let v2 = &v["items"][3];
    assert_eq!(v2["metadata"]["labels"]["kpt.dev/latest-revision"], "true");
    assert_eq!(v2["spec"]["revision"], 2);
    assert!(v["items"][2]["metadata"].get("labels").is_none());
    // Drafts omit the revision.
    assert!(v["items"][0]["spec"].get("revision").is_none());
}

#[tokio::test]
async fn tables_have_upstreams_columns() {
    let h = Harness::new(ApiOptions::default());
    h.seed().await;
    let (code, t) = h
        .call(
            "GET",
            PRS,
            Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
            None,
            Value::Null,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(t["kind"], "Table");
    let cols: Vec<(&str, &str)> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        cols,
        vec![
            ("Name", "string"),
            ("Package", "string"),
            ("WorkspaceName", "string"),
            ("Revision", "int"),
            ("Latest", "boolean"),
            ("Lifecycle", "string"),
            ("Repository", "string")
        ]
    );
    assert_eq!(
        t["rows"][3]["cells"],
        json!(["repo.pkg.v2", "pkg", "v2", 2, true, "Published", "repo"])
    );
    assert_eq!(t["rows"][3]["object"]["kind"], "PartialObjectMetadata");

    let (_, t) = h
        .call(
            "GET",
            "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packages",
            Some("application/json;as=Table;v=v1;g=meta.k8s.io"),
            None,
            Value::Null,
        )
        .await;
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        cols,
        vec!["Name", "Package", "Repository", "Latest Revision"]
    );
    assert_eq!(t["rows"][1]["cells"], json!(["repo.pkg", "pkg", "repo", 2]));
}

#[tokio::test]
async fn selectors_filter_and_report_upstream_errors() {
    let h = Harness::new(ApiOptions::default());
    h.seed().await;
    let (_, v) = h
        .get(&format!(
            "{PRS}?labelSelector=kpt.dev%2Flatest-revision%3Dtrue"
        ))
        .await;
    assert_eq!(names(&v), vec!["repo.pkg.v2"]);
    let (_, v) = h
        .get(&format!("{PRS}?fieldSelector=spec.lifecycle%3DDraft"))
        .await;
    assert_eq!(names(&v), vec!["repo.dir.other.ws"]);
    let (_, v) = h
        .get(&format!(
            "{PRS}?fieldSelector=spec.packageName%3Ddir%2Fother"
        ))
        .await;
    assert_eq!(names(&v), vec!["repo.dir.other.ws"]);

    let (code, v) = h
        .get(&format!("{PRS}?fieldSelector=spec.lifecycle%21%3DDraft"))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["message"],
        "unsupported fieldSelector operator \"!=\" for field \"spec.lifecycle\""
    );
    assert_eq!(v["kind"], "Status");
    let (code, v) = h
        .get(&format!("{PRS}?fieldSelector=spec.lifecycle%3DFinal"))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["message"],
        "unsupported fieldSelector value \"Final\" for field \"spec.lifecycle\""
    );
    let (code, v) = h.get(&format!("{PRS}?fieldSelector=spec.bogus%3Dx")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(v["message"], "\"spec.bogus\" is not a known field selector");
}

#[tokio::test]
async fn get_packages_and_their_405s() {
    let h = Harness::new(ApiOptions::default());
    h.seed().await;
    let (code, v) = h.get(&format!("{PRS}/repo.pkg.nope")).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(
        v["message"],
        "packagerevisions.porch.kpt.dev \"repo.pkg.nope\" not found"
    );
    assert_eq!(v["reason"], "NotFound");

    let pkgs = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packages";
    let (_, v) = h.get(pkgs).await;
    assert_eq!(v["kind"], "PorchPackageList");
    assert_eq!(names(&v), vec!["repo.dir.other", "repo.pkg"]);
    assert_eq!(
        v["items"][1]["spec"],
        json!({"packageName": "pkg", "repository": "repo"})
    );
    assert_eq!(v["items"][1]["status"], json!({"latestRevision": 2}));
    let (code, v) = h.get(&format!("{pkgs}/repo.pkg")).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["kind"], "PorchPackage");

    let (code, v) = h.call("POST", pkgs, None, None, json!({})).await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        v["message"],
        "create or clone a PackageRevision resource to create a package as direct package creation is not supported on resources of kind \"packages.porch.kpt.dev\""
    );
    let (code, v) = h
        .call(
            "DELETE",
            &format!("{pkgs}/repo.pkg"),
            None,
            None,
            Value::Null,
        )
        .await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("delete all PackageRevisions resources of a package")
    );
}

fn new_draft(ws: &str) -> Value {
    json!({
        "apiVersion": "porch.kpt.dev/v1alpha1",
        "kind": "PackageRevision",
        "metadata": {"namespace": "ns"},
        "spec": {"packageName": "newpkg", "repository": "repo", "workspaceName": ws}
    })
}

#[tokio::test]
async fn create_propose_approve_records_the_caller() {
    let h = Harness::new(ApiOptions::default());
    let (code, created) = h.call("POST", PRS, None, None, new_draft("ws1")).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert_eq!(created["metadata"]["name"], "repo.newpkg.ws1");
    assert_eq!(created["spec"]["lifecycle"], "Draft");
    // Read-your-write from the cache.
    let (code, got) = h.get(&format!("{PRS}/repo.newpkg.ws1")).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        got["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    let mut proposed = got.clone();
    proposed["spec"]["lifecycle"] = json!("Proposed");
    let (code, v) = h
        .call(
            "PUT",
            &format!("{PRS}/repo.newpkg.ws1"),
            None,
            None,
            proposed,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["spec"]["lifecycle"], "Proposed");

    // Published through the main resource: 422 with upstream's text.
    let mut publish = v.clone();
    publish["spec"]["lifecycle"] = json!("Published");
    let (code, e) = h
        .call(
            "PUT",
            &format!("{PRS}/repo.newpkg.ws1"),
            None,
            None,
            publish.clone(),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        e["message"],
        "PackageRevision.porch.kpt.dev \"repo.newpkg.ws1\" is invalid: spec.lifecycle: Invalid value: \"Published\": value can be only updated to Draft,Proposed"
    );
    let (code, v) = h
        .call(
            "PUT",
            &format!("{PRS}/repo.newpkg.ws1/approval"),
            None,
            None,
            publish,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["spec"]["lifecycle"], "Published");
    assert_eq!(v["spec"]["revision"], 1);
    assert_eq!(v["status"]["publishedBy"], "alice@example.com");
    let (_, got) = h.get(&format!("{PRS}/repo.newpkg.ws1")).await;
    assert_eq!(got["metadata"]["labels"]["kpt.dev/latest-revision"], "true");

    // Published revisions cannot be deleted directly.
    let (code, e) = h
        .call(
            "DELETE",
            &format!("{PRS}/repo.newpkg.ws1"),
            None,
            None,
            Value::Null,
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(
        e["message"],
        "packagerevisions.porch.kpt.dev \"repo.newpkg.ws1\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion"
    );
}

#[tokio::test]
async fn create_errors_map_to_upstream_status() {
    let h = Harness::new(ApiOptions::default());
    let mut bad = new_draft("ws");
    bad["spec"]["lifecycle"] = json!("Published");
    let (code, e) = h.call("POST", PRS, None, None, bad).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["reason"], "Invalid");
    assert_eq!(e["details"]["kind"], "PackageRevision");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .ends_with("value can be only created as Draft"),
        "{e}"
    );

    let mut missing = new_draft("ws");
    missing["spec"]["repository"] = json!("nope");
    let (code, e) = h.call("POST", PRS, None, None, missing).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(
        e["message"],
        "repositories.config.porch.kpt.dev \"nope\" not found"
    );

    let (code, _) = h.call("POST", PRS, None, None, new_draft("ws")).await;
    assert_eq!(code, StatusCode::CREATED);
    let (code, e) = h.call("POST", PRS, None, None, new_draft("ws")).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Internal error occurred: package revision workspaceNames must be unique"),
        "{e}"
    );
}

#[tokio::test]
async fn patches_update_metadata_and_apply_creates() {
    let h = Harness::new(ApiOptions::default());
    h.call("POST", PRS, None, None, new_draft("ws")).await;
    let uri = format!("{PRS}/repo.newpkg.ws");
    let (code, v) = h
        .call(
            "PATCH",
            &uri,
            None,
            Some("application/merge-patch+json"),
            json!({"metadata": {"labels": {"team": "a"}}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["metadata"]["labels"]["team"], "a");
    let (code, v) = h
        .call(
            "PATCH",
            &uri,
            None,
            Some("application/json-patch+json"),
            json!([{"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}}]),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["metadata"]["annotations"]["x"], "y");
    assert_eq!(v["metadata"]["labels"]["team"], "a");
    // Users cannot set the latest label.
    let (code, e) = h
        .call(
            "PATCH",
            &uri,
            None,
            Some("application/merge-patch+json"),
            json!({"metadata": {"labels": {"kpt.dev/latest-revision": "true"}}}),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // Unsupported patch type.
    let (code, _) = h
        .call("PATCH", &uri, None, Some("text/plain"), json!({}))
        .await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Server-side apply of a missing object creates it.
    let apply = json!({
        "apiVersion": "porch.kpt.dev/v1alpha1", "kind": "PackageRevision",
        "metadata": {"name": "repo.applied.ws"},
        "spec": {"packageName": "applied", "repository": "repo", "workspaceName": "ws"}
    });
    let (code, v) = h
        .call(
            "PATCH",
            &format!("{PRS}/repo.applied.ws?fieldManager=kubectl"),
            None,
            Some("application/apply-patch+yaml"),
            apply,
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    assert_eq!(v["metadata"]["name"], "repo.applied.ws");
    let (code, _) = h
        .call(
            "PATCH",
            &format!("{PRS}/repo.missing.ws"),
            None,
            Some("application/merge-patch+json"),
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn resources_read_update_and_reject_escaping_paths() {
    let h = Harness::new(ApiOptions {
        max_body_bytes: 4096,
        ..ApiOptions::default()
    });
    h.call("POST", PRS, None, None, new_draft("ws")).await;
    let uri = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisionresources/repo.newpkg.ws";
    let (code, prr) = h.get(uri).await;
    assert_eq!(code, StatusCode::OK, "{prr}");
    assert_eq!(prr["kind"], "PackageRevisionResources");
    assert!(prr["spec"]["resources"].get("Kptfile").is_some());

    let mut bad = prr.clone();
    bad["spec"]["resources"]["../evil.yaml"] = json!("a: b\n");
    let (code, e) = h.call("PUT", uri, None, None, bad).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        e["message"],
        "PackageRevisionResources.porch.kpt.dev \"repo.newpkg.ws\" is invalid: spec.resources[../evil.yaml]: Invalid value: \"../evil.yaml\": file path must be relative and must not leave the package"
    );
    let mut bad = prr.clone();
    bad["spec"]["resources"]["cm.yaml"] = json!("a: [unclosed\n");
    let (code, e) = h.call("PUT", uri, None, None, bad).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("file cm.yaml is not valid YAML"),
        "{e}"
    );

    let mut good = prr.clone();
    good["spec"]["resources"]["cm.yaml"] =
        json!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
    let (code, v) = h.call("PUT", uri, None, None, good).await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert!(v["spec"]["resources"].get("cm.yaml").is_some());
    assert_ne!(
        v["metadata"]["resourceVersion"],
        prr["metadata"]["resourceVersion"]
    );

    let mut huge = prr.clone();
    huge["spec"]["resources"]["big.txt"] = json!("x".repeat(5000));
    let (code, e) = h.call("PUT", uri, None, None, huge).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(e["kind"], "Status");
}

async fn read_lines(body: Body, count: usize) -> Vec<Value> {
    let mut stream = body.into_data_stream();
    let mut buf = String::new();
    let mut out = Vec::new();
    while out.len() < count {
        let chunk = tokio::time::timeout(
            Duration::from_secs(5),
            futures::StreamExt::next(&mut stream),
        )
        .await
        .expect("watch event in time")
        .expect("stream open")
        .unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(i) = buf.find('\n') {
            let line: String = buf.drain(..=i).collect();
            out.push(serde_json::from_str(line.trim()).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn watch_replays_bookmarks_and_filters_live_events() {
    let h = Harness::new(ApiOptions::default());
    h.seed().await;
    let req = Request::get(format!("{PRS}?watch=true&allowWatchBookmarks=true&fieldSelector=spec.repository%3Drepo&labelSelector=team%3Da"))
        .body(Body::empty())
        .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Nothing matches team=a yet: only the initial-events-end bookmark.
    let first = read_lines(resp.into_body(), 1).await;
    assert_eq!(first[0]["type"], "BOOKMARK");
    assert_eq!(
        first[0]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(first[0]["object"]["metadata"]["resourceVersion"], "5");
}

#[tokio::test]
async fn watch_sends_added_modified_deleted_for_selected_objects() {
    let h = Harness::new(ApiOptions::default());
    h.seed().await;
    let req = Request::get(format!(
        "{PRS}?watch=true&allowWatchBookmarks=true&labelSelector=team%3Da"
    ))
    .body(Body::empty())
    .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    let body = resp.into_body();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        let mut buf = String::new();
        while let Some(Ok(chunk)) = futures::StreamExt::next(&mut stream).await {
            buf.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(i) = buf.find('\n') {
                let line: String = buf.drain(..=i).collect();
                let v: Value = serde_json::from_str(line.trim()).unwrap();
                if tx.send(v).await.is_err() {
                    return;
                }
            }
        }
    });
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(next().await["type"], "BOOKMARK");

    // A draft without the label is not sent; labelling it makes it appear (ADDED).
    h.call("POST", PRS, None, None, new_draft("ws")).await;
    let uri = format!("{PRS}/repo.newpkg.ws");
    h.call(
        "PATCH",
        &uri,
        None,
        Some("application/merge-patch+json"),
        json!({"metadata": {"labels": {"team": "a"}}}),
    )
    .await;
    let e = next().await;
    assert_eq!(
        (e["type"].as_str(), e["object"]["metadata"]["name"].as_str()),
        (Some("ADDED"), Some("repo.newpkg.ws"))
    );
    h.call(
        "PATCH",
        &uri,
        None,
        Some("application/merge-patch+json"),
        json!({"metadata": {"annotations": {"n": "1"}}}),
    )
    .await;
    assert_eq!(next().await["type"], "MODIFIED");
    // Dropping the label makes it disappear for this watcher (DELETED).
    h.call(
        "PATCH",
        &uri,
        None,
        Some("application/merge-patch+json"),
        json!({"metadata": {"labels": {"team": null}}}),
    )
    .await;
    let e = next().await;
    assert_eq!(e["type"], "DELETED");
    assert_eq!(e["object"]["metadata"]["name"], "repo.newpkg.ws");
}

#[tokio::test]
async fn watch_from_a_list_version_sends_only_later_changes() {
    let h = Harness::new(ApiOptions::default());
    h.seed().await;
    let (_, list) = h.get(PRS).await;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    // A change after the list, made before the watch starts, comes from the cache's history.
    h.call(
        "PATCH",
        &format!("{PRS}/repo.dir.other.ws"),
        None,
        Some("application/merge-patch+json"),
        json!({"metadata": {"labels": {"seen": "late"}}}),
    )
    .await;
    let req = Request::get(format!(
        "{PRS}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}"
    ))
    .body(Body::empty())
    .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    let events = read_lines(resp.into_body(), 1).await;
    assert_eq!(events[0]["type"], "MODIFIED");
    assert_eq!(events[0]["object"]["metadata"]["labels"]["seen"], "late");

    // Without a resourceVersion every match is replayed as ADDED, then the initial-events-end
    // bookmark.
    let req = Request::get(format!("{PRS}?watch=true&allowWatchBookmarks=true"))
        .body(Body::empty())
        .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    let events = read_lines(resp.into_body(), 5).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["ADDED", "ADDED", "ADDED", "ADDED", "BOOKMARK"]);
    assert_eq!(
        events[3]["object"]["metadata"]["labels"]["kpt.dev/latest-revision"],
        "true"
    );
    assert_eq!(
        events[4]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn watch_from_a_resource_version_out_of_the_window_is_gone() {
    let cache = CrCache::with_history(2);
    let engine = Arc::new(Engine::new(
        InMemoryBackend::new(),
        InMemoryMetadata::new(),
        FakeOps::new(),
        EngineOptions::default(),
    ));
    for name in ["a", "b", "c", "d"] {
        cache.apply_package_rev(
            serde_json::from_value(json!({
                "apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "PackageRev",
                "metadata": {"name": format!("repo.{name}.ws"), "namespace": "ns"},
                "spec": {"repository": "repo", "packageName": name, "workspaceName": "ws",
                         "lifecycle": "Draft"},
                "status": {"commit": "c"}
            }))
            .unwrap(),
        );
    }
    let group = PorchApiGroup::new(engine, cache, ApiOptions::default());
    let app = Router::new().nest("/apis/porch.kpt.dev", group.router());
    // rv 4 now; the last two changes are kept, so 2 is the oldest a watch can resume from.
    for (from, oldest) in [("1", 2), ("99", 2)] {
        let req = Request::get(format!("{PRS}?watch=true&resourceVersion={from}"))
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let events = read_lines(resp.into_body(), 1).await;
        assert_eq!(
            events[0],
            json!({"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("too old resource version: {from} ({oldest})"),
                "reason": "Expired", "code": 410}})
        );
    }
    let req = Request::get(format!("{PRS}?watch=true&resourceVersion=2"))
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let events = read_lines(resp.into_body(), 2).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["repo.c.ws", "repo.d.ws"]);
}

#[tokio::test]
async fn yaml_is_served_for_reads_and_refused_for_watches() {
    let h = Harness::new(ApiOptions::default());
    h.seed().await;
    for uri in [PRS.to_owned(), format!("{PRS}/repo.pkg.v2")] {
        let req = Request::get(&uri)
            .header("accept", "application/yaml")
            .body(Body::empty())
            .unwrap();
        let resp = h.app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/yaml");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_saphyr::from_slice(&body).unwrap();
        let (_, json) = h.get(&uri).await;
        assert_eq!(v, json, "{uri}");
    }
    let req = Request::get(format!("{PRS}?watch=true"))
        .header("accept", "application/yaml")
        .body(Body::empty())
        .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["reason"], "NotAcceptable");
}

#[tokio::test]
async fn watch_events_are_tables_for_kubectl_get_w() {
    let h = Harness::new(ApiOptions::default());
    h.seed().await;
    let req = Request::get(format!(
        "{PRS}?watch=true&fieldSelector=metadata.name%3Drepo.pkg.v2"
    ))
    .header(
        "accept",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    )
    .body(Body::empty())
    .unwrap();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    let events = read_lines(resp.into_body(), 1).await;
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["kind"], "Table");
    assert_eq!(events[0]["object"]["rows"][0]["cells"][0], "repo.pkg.v2");
}

#[tokio::test]
async fn a_deferred_engine_answers_500_until_installed() {
    use porch_api::{DeferredEngine, PackageEngine};
    let deferred = Arc::new(DeferredEngine::new());
    let cache = CrCache::new();
    cache.apply_repository(serde_json::from_value(repository("repo")).unwrap());
    let group = PorchApiGroup::new(deferred.clone(), cache, ApiOptions::default());
    let app = Router::new().nest("/apis/porch.kpt.dev", group.router());
    let post = |app: Router| async move {
        let req = Request::post(PRS)
            .header("content-type", "application/json")
            .body(Body::from(new_draft("ws").to_string()))
            .unwrap();
        app.oneshot(req).await.unwrap()
    };
    let resp = post(app.clone()).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let v: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(
        v["message"],
        "Internal error occurred: the package engine is not ready yet"
    );
    let engine: Arc<dyn PackageEngine> = Arc::new(Engine::new(
        InMemoryBackend::new(),
        InMemoryMetadata::new(),
        FakeOps::new(),
        EngineOptions::default(),
    ));
    assert!(deferred.install(engine.clone()));
    assert!(!deferred.install(engine));
    assert_eq!(post(app).await.status(), StatusCode::CREATED);
}
