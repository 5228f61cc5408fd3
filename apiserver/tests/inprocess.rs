//! kube-rs clients and a kube-runtime controller against the server in-process (the axum
//! Router handed to `kube::Client::new`), sharing the real SQLite-backed store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{WatchStreamExt, watcher};
use porch_apiserver::{ServerOptions, api, build_app};
use std::sync::Arc;
use std::time::Duration;

async fn client(dir: &std::path::Path) -> kube::Client {
    let opts = ServerOptions::new(dir, "127.0.0.1:0".parse().unwrap());
    let app = build_app(&opts, None, "in-process".into()).await.unwrap();
    kube::Client::new(api::router(app), "default")
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name},"data":{"a":"b"}})).unwrap()
}

#[tokio::test]
async fn typed_api_and_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let client = client(dir.path()).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let created = cms
        .create(&PostParams::default(), &cm("one"))
        .await
        .unwrap();
    assert!(created.metadata.resource_version.is_some());
    let err = cms
        .create(&PostParams::default(), &cm("one"))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "AlreadyExists");
        }
        other => panic!("unexpected {other:?}"),
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watch_api = cms.clone();
    let task = tokio::spawn(async move {
        let mut s = watcher(watch_api, watcher::Config::default())
            .applied_objects()
            .boxed();
        while let Some(Ok(o)) = s.next().await {
            let _ = tx.send(o.metadata.name.unwrap_or_default());
        }
    });
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap(),
        "one"
    );
    cms.create(&PostParams::default(), &cm("two"))
        .await
        .unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap(),
        "two"
    );
    let patched = cms
        .patch(
            "two",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"data":{"c":"d"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["c"], "d");
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap(),
        "two"
    );
    let list = cms.list(&ListParams::default().limit(1)).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.continue_.is_some());
    cms.delete("one", &DeleteParams::default()).await.unwrap();
    assert!(cms.get_opt("one").await.unwrap().is_none());
    task.abort();
}

#[tokio::test]
async fn controller_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let client = client(dir.path()).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let ctl_api = cms.clone();
    let ctl = tokio::spawn(async move {
        Controller::new(ctl_api.clone(), watcher::Config::default())
            .run(
                |obj: Arc<ConfigMap>, api: Arc<Api<ConfigMap>>| async move {
                    let name = obj.metadata.name.clone().unwrap_or_default();
                    if obj.metadata.labels.as_ref().and_then(|l| l.get("reconciled")).is_none() {
                        // Server-side apply bodies carry apiVersion and kind, as kube-apiserver requires.
                        let p = serde_json::json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"labels":{"reconciled":"true"}}});
                        api.patch(&name, &PatchParams::apply("test-controller").force(), &Patch::Apply(p)).await?;
                    }
                    Ok::<_, kube::Error>(Action::await_change())
                },
                |_, _, _| Action::requeue(Duration::from_secs(1)),
                Arc::new(ctl_api),
            )
            .for_each(|_| async {})
            .await;
    });
    cms.create(&PostParams::default(), &cm("x")).await.unwrap();
    let mut ok = false;
    for _ in 0..50 {
        let o = cms.get("x").await.unwrap();
        if o.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("reconciled"))
            .map(String::as_str)
            == Some("true")
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ctl.abort();
    assert!(ok, "the controller never reconciled");
}

#[tokio::test]
async fn watch_gone_and_bookmarks() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ServerOptions::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    opts.watch_history = 5;
    opts.bookmark_interval = Duration::from_millis(200);
    let app = build_app(&opts, None, "in-process".into()).await.unwrap();
    let client = kube::Client::new(api::router(app), "default");
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    for i in 0..10 {
        cms.create(&PostParams::default(), &cm(&format!("c{i}")))
            .await
            .unwrap();
    }
    // resourceVersion 1 has left the 5-event history: one ERROR event with 410 Expired.
    let req = http::Request::get(
        "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1&timeoutSeconds=1",
    )
    .body(Vec::new())
    .unwrap();
    let text = client.request_text(req).await.unwrap();
    let ev: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    // A recent resourceVersion resumes; bookmarks arrive while idle.
    let rv = cms
        .get("c8")
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let req = http::Request::get(format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1")).body(Vec::new()).unwrap();
    let text = client.request_text(req).await.unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "c9");
    assert!(events.iter().any(|e| e["type"] == "BOOKMARK"), "{text}");
    // sendInitialEvents: synthetic ADDED for each object, then the initial-events-end bookmark.
    let req = http::Request::get("/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1").body(Vec::new()).unwrap();
    let text = client.request_text(req).await.unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.iter().filter(|e| e["type"] == "ADDED").count(), 10);
    assert_eq!(events[10]["type"], "BOOKMARK");
    assert_eq!(
        events[10]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn openapi_v2_and_v3_describe_the_project_crds() {
    let dir = tempfile::tempdir().unwrap();
    let client = client(dir.path()).await;
    let get = |path: &str| {
        http::Request::get(path)
            .header("accept", "application/json")
            .body(Vec::new())
            .unwrap()
    };
    let v2: serde_json::Value = client.request(get("/openapi/v2")).await.unwrap();
    assert_eq!(v2["swagger"], "2.0");
    let definitions = v2["definitions"].as_object().unwrap();
    assert!(
        definitions.keys().any(|k| k.ends_with(".Repository")),
        "no Repository definition in {:?}",
        definitions.keys().collect::<Vec<_>>()
    );
    let v3: serde_json::Value = client.request(get("/openapi/v3")).await.unwrap();
    assert!(
        v3["paths"]
            .as_object()
            .unwrap()
            .contains_key("apis/config.porch.kpt.dev/v1alpha1"),
        "{v3}"
    );
}
