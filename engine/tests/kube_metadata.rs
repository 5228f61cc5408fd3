#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! PackageRevMetadata against a scripted API server (tower-test), asserting the requests.

use http::{Request, Response};
use kube::client::Body;
use porch_engine::adapters::PackageRevMetadata;
use porch_engine::backend::MetadataStore;
use porch_engine::model::StoredMeta;

const PATH: &str = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/ns/packagerevs";

fn not_found() -> Response<Body> {
    let status = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": "packagerevs.config.porch.kpt.dev \"repo.pkg.ws\" not found",
        "reason": "NotFound", "code": 404
    });
    Response::builder()
        .status(404)
        .body(Body::from(serde_json::to_vec(&status).unwrap()))
        .unwrap()
}

#[tokio::test]
async fn put_creates_a_packagerev_with_internal_label_and_finalizer() {
    let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let store = PackageRevMetadata::new(kube::Client::new(mock, "default"));
    let server = tokio::spawn(async move {
        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(req.method(), "GET");
        assert_eq!(req.uri().path(), format!("{PATH}/repo.pkg.ws"));
        send.send_response(not_found());

        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(req.method(), "POST");
        assert_eq!(req.uri().path(), PATH);
        let body = req.into_body().collect_bytes().await.unwrap();
        let obj: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(obj["metadata"]["name"], "repo.pkg.ws");
        assert_eq!(
            obj["metadata"]["labels"]["internal.porch.kpt.dev/repository"],
            "repo"
        );
        assert_eq!(obj["metadata"]["labels"]["team"], "a");
        assert_eq!(
            obj["metadata"]["finalizers"],
            serde_json::json!(["internal.porch.kpt.dev/packagerevision"])
        );
        assert_eq!(obj["spec"]["repository"], "repo");
        send.send_response(
            Response::builder()
                .status(201)
                .body(Body::from(body.to_vec()))
                .unwrap(),
        );

        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(req.method(), "GET");
        send.send_response(not_found());
    });
    let mut meta = StoredMeta::default();
    meta.labels.insert("team".into(), "a".into());
    store.put("ns", "repo.pkg.ws", meta).await.unwrap();
    assert_eq!(store.get("ns", "repo.pkg.ws").await.unwrap(), None);
    server.await.unwrap();
}
