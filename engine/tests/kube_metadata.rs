#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The kube adapters (PackageRevMetadata, Repository specs and Secrets) against a scripted API
//! server (tower-test), asserting the requests.

use http::{Request, Response};
use kube::client::Body;
use porch_engine::adapters::{
    BackendOptions, GitBackend, KubeRepositories, KubeSecrets, PackageRevMetadata,
};
use porch_engine::backend::{BackendError, MetadataStore, RepositoryBackend};
use porch_engine::model::{GitPackage, RepositoryInfo, StoredMeta};

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

fn json_response(code: u16, body: &[u8]) -> Response<Body> {
    Response::builder()
        .status(code)
        .body(Body::from(body.to_vec()))
        .unwrap()
}

fn stored_revision() -> porch_engine::model::PackageRevision {
    let mut pr = porch_engine::model::PackageRevision::default();
    pr.metadata.namespace = "ns".into();
    pr.metadata.name = "repo.pkg.ws".into();
    pr.metadata.resource_version = "0123abcd".into();
    pr.spec.repository = "repo".into();
    pr.spec.package_name = "pkg".into();
    pr.spec.workspace_name = "ws".into();
    pr.spec.revision = 2;
    pr.spec.lifecycle = "Published".into();
    pr.status.published_by = "alice".into();
    pr
}

/// Asserts the status write that ends every `revision_stored`.
fn assert_status_write(obj: &serde_json::Value) {
    assert_eq!(obj["status"]["commit"], "0123abcd");
    assert_eq!(obj["status"]["publishedBy"], "alice");
    assert_eq!(obj["spec"]["lifecycle"], "Published");
    assert_eq!(obj["spec"]["revision"], 2);
}

#[tokio::test]
async fn revision_stored_creates_the_packagerev_then_writes_its_status() {
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
        assert_eq!(obj["spec"]["packageName"], "pkg");
        assert_eq!(
            obj["metadata"]["labels"]["internal.porch.kpt.dev/repository"],
            "repo"
        );
        // The created object comes back with a resourceVersion the status write must carry.
        let mut created = obj.clone();
        created["metadata"]["resourceVersion"] = "7".into();
        created["status"] = serde_json::Value::Null;
        send.send_response(json_response(201, &serde_json::to_vec(&created).unwrap()));

        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(req.method(), "PUT");
        assert_eq!(req.uri().path(), format!("{PATH}/repo.pkg.ws/status"));
        let body = req.into_body().collect_bytes().await.unwrap();
        let obj: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(obj["metadata"]["resourceVersion"], "7");
        assert_status_write(&obj);
        send.send_response(json_response(200, &body));
    });
    store.revision_stored(&stored_revision()).await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn revision_stored_replaces_the_spec_of_an_existing_packagerev_keeping_its_metadata() {
    let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let store = PackageRevMetadata::new(kube::Client::new(mock, "default"));
    let server = tokio::spawn(async move {
        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(req.method(), "GET");
        let existing = serde_json::json!({
            "apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "PackageRev",
            "metadata": {"name": "repo.pkg.ws", "namespace": "ns", "resourceVersion": "41",
                         "labels": {"team": "a"}},
            "spec": {"repository": "repo", "packageName": "pkg", "workspaceName": "ws",
                     "revision": 0, "lifecycle": "Proposed"}
        });
        send.send_response(json_response(200, &serde_json::to_vec(&existing).unwrap()));

        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(req.method(), "PUT");
        assert_eq!(req.uri().path(), format!("{PATH}/repo.pkg.ws"));
        let body = req.into_body().collect_bytes().await.unwrap();
        let obj: serde_json::Value = serde_json::from_slice(&body).unwrap();
        // Optimistic concurrency on what was read; user metadata untouched.
        assert_eq!(obj["metadata"]["resourceVersion"], "41");
        assert_eq!(obj["metadata"]["labels"]["team"], "a");
        assert_eq!(obj["spec"]["lifecycle"], "Published");
        let mut replaced = obj.clone();
        replaced["metadata"]["resourceVersion"] = "42".into();
        send.send_response(json_response(200, &serde_json::to_vec(&replaced).unwrap()));

        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(req.method(), "PUT");
        assert_eq!(req.uri().path(), format!("{PATH}/repo.pkg.ws/status"));
        let body = req.into_body().collect_bytes().await.unwrap();
        let obj: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(obj["metadata"]["resourceVersion"], "42");
        assert_status_write(&obj);
        send.send_response(json_response(200, &body));
    });
    store.revision_stored(&stored_revision()).await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn revision_stored_reports_a_refused_write() {
    let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let store = PackageRevMetadata::new(kube::Client::new(mock, "default"));
    let server = tokio::spawn(async move {
        let (_, send) = handle.next_request().await.unwrap();
        send.send_response(not_found());
        let (_, send) = handle.next_request().await.unwrap();
        let status = serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "packagerevs.config.porch.kpt.dev is forbidden", "reason": "Forbidden",
            "code": 403
        });
        send.send_response(json_response(403, &serde_json::to_vec(&status).unwrap()));
    });
    let err = store.revision_stored(&stored_revision()).await.unwrap_err();
    assert_eq!(
        err,
        BackendError::Forbidden("packagerevs.config.porch.kpt.dev is forbidden".into())
    );
    server.await.unwrap();
}

/// Namespace isolation in the kube adapter: a Repository, its Secret and a clone-from-git
/// Secret are read in the namespace asked for, and a miss there is not found (never a look
/// elsewhere).
#[tokio::test]
async fn repositories_and_secrets_are_read_in_their_own_namespace_only() {
    let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(mock, "default");
    let backend = GitBackend::new(
        KubeRepositories::new(client.clone()),
        KubeSecrets::new(client),
        std::env::temp_dir().join("porch-engine-kube-isolation-unused"),
    );
    let server = tokio::spawn(async move {
        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(
            req.uri().path(),
            "/apis/config.porch.kpt.dev/v1alpha1/namespaces/team-a/repositories/shared"
        );
        send.send_response(kube_not_found(
            "repositories.config.porch.kpt.dev",
            "shared",
        ));

        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(req.uri().path(), "/api/v1/namespaces/team-a/secrets/b-only");
        send.send_response(kube_not_found("secrets", "b-only"));
    });
    let info = RepositoryInfo {
        namespace: "team-a".into(),
        name: "shared".into(),
        ..RepositoryInfo::default()
    };
    let err = backend.list_revisions(&info).await.unwrap_err();
    assert_eq!(
        err,
        BackendError::NotFound("repositories.config.porch.kpt.dev \"shared\" not found".into())
    );
    let git = GitPackage {
        repo: "http://127.0.0.1:9/none.git".into(),
        git_ref: "main".into(),
        directory: "pkg".into(),
        secret_ref: Some("b-only".into()),
    };
    let err = backend
        .fetch_git_upstream("team-a", &git)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        BackendError::NotFound(
            "cannot resolve credentials in a secret team-a/b-only: secrets \"b-only\" not found"
                .into()
        )
    );
    server.await.unwrap();
}

/// With `use_user_ca_bundle`, the CA bundle Secret is `<namespace>-ca-bundle` read in the
/// Repository's own namespace; a missing one fails the Repository with an error naming it.
#[tokio::test]
async fn the_ca_bundle_secret_is_read_in_the_repository_namespace() {
    let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(mock, "default");
    let backend = GitBackend::new(
        KubeRepositories::new(client.clone()),
        KubeSecrets::new(client),
        std::env::temp_dir().join("porch-engine-kube-ca-unused"),
    )
    .with_options(BackendOptions {
        use_user_ca_bundle: true,
        ..BackendOptions::default()
    });
    let server = tokio::spawn(async move {
        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(
            req.uri().path(),
            "/apis/config.porch.kpt.dev/v1alpha1/namespaces/team-a/repositories/shared"
        );
        let repo = serde_json::json!({
            "apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "Repository",
            "metadata": {"name": "shared", "namespace": "team-a"},
            "spec": {"type": "git", "git": {"repo": "https://127.0.0.1:9/none.git", "branch": "main"}}
        });
        send.send_response(json_response(200, &serde_json::to_vec(&repo).unwrap()));

        let (req, send) = handle.next_request().await.unwrap();
        assert_eq!(
            req.uri().path(),
            "/api/v1/namespaces/team-a/secrets/team-a-ca-bundle"
        );
        send.send_response(kube_not_found("secrets", "team-a-ca-bundle"));
    });
    let info = RepositoryInfo {
        namespace: "team-a".into(),
        name: "shared".into(),
        ..RepositoryInfo::default()
    };
    let err = backend.list_revisions(&info).await.unwrap_err();
    assert_eq!(
        err,
        BackendError::NotFound(
            "cannot resolve the CA bundle in secret team-a/team-a-ca-bundle (key ca.crt, read because --use-user-cabundle is set): secrets \"team-a-ca-bundle\" not found"
                .into()
        )
    );
    server.await.unwrap();
}

fn kube_not_found(resource: &str, name: &str) -> Response<Body> {
    let status = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": format!("{resource} \"{name}\" not found"),
        "reason": "NotFound", "code": 404
    });
    json_response(404, &serde_json::to_vec(&status).unwrap())
}
