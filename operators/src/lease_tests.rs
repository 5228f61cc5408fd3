//! Lease acquisition, renewal, takeover and release against a scripted API.

use std::time::Duration;

use http::Method;
use serde_json::json;

use crate::fixtures::*;
use crate::lease::{LeaseLock, LeaseSettings};

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/porch-system/leases";

fn lock() -> (LeaseLock, ApiServerVerifier) {
    let (client, api) = mock_client();
    let lock = LeaseLock::new(
        client,
        LeaseSettings {
            namespace: "porch-system".into(),
            name: "porch-operators".into(),
            identity: "me".into(),
            lease_duration: Duration::from_secs(15),
            renew_period: Duration::from_secs(5),
        },
    );
    (lock, api)
}

fn lease(holder: &str, renewed: &str, transitions: i32) -> serde_json::Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "porch-operators", "namespace": "porch-system", "resourceVersion": "7"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15,
                 "acquireTime": "2026-03-01T11:00:00.000000Z", "renewTime": renewed,
                 "leaseTransitions": transitions}
    })
}

#[tokio::test]
async fn creates_the_lease_when_missing() {
    let (lock, mut api) = lock();
    let task = tokio::spawn(async move { lock.try_acquire_or_renew(ts(NOW)).await });
    api.expect(Method::GET, &format!("{LEASES}/porch-operators"))
        .await
        .fail(404, "NotFound");
    let seen = api.expect(Method::POST, LEASES).await;
    assert_eq!(seen.body["metadata"]["name"], "porch-operators");
    assert_eq!(seen.body["spec"]["holderIdentity"], "me");
    assert_eq!(seen.body["spec"]["leaseDurationSeconds"], 15);
    assert_eq!(seen.body["spec"]["leaseTransitions"], 0);
    assert_eq!(
        seen.body["spec"]["acquireTime"],
        "2026-03-01T12:00:00.000000Z"
    );
    assert_eq!(
        seen.body["spec"]["renewTime"],
        "2026-03-01T12:00:00.000000Z"
    );
    let body = seen.body.clone();
    seen.reply(201, body);
    assert!(task.await.unwrap().unwrap());
}

#[tokio::test]
async fn another_holders_fresh_lease_is_respected() {
    let (lock, mut api) = lock();
    let task = tokio::spawn(async move { lock.try_acquire_or_renew(ts(NOW)).await });
    api.expect(Method::GET, &format!("{LEASES}/porch-operators"))
        .await
        .ok(lease("other", "2026-03-01T11:59:55.000000Z", 2));
    assert!(!task.await.unwrap().unwrap());
    api.expect_silence().await;
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let (lock, mut api) = lock();
    let task = tokio::spawn(async move { lock.try_acquire_or_renew(ts(NOW)).await });
    api.expect(Method::GET, &format!("{LEASES}/porch-operators"))
        .await
        .ok(lease("other", "2026-03-01T11:59:00.000000Z", 2));
    let seen = api
        .expect(Method::PUT, &format!("{LEASES}/porch-operators"))
        .await;
    assert_eq!(seen.body["metadata"]["resourceVersion"], "7");
    assert_eq!(seen.body["spec"]["holderIdentity"], "me");
    assert_eq!(seen.body["spec"]["leaseTransitions"], 3);
    assert_eq!(
        seen.body["spec"]["acquireTime"],
        "2026-03-01T12:00:00.000000Z"
    );
    let body = seen.body.clone();
    seen.ok(body);
    assert!(task.await.unwrap().unwrap());
}

#[tokio::test]
async fn losing_the_race_is_not_an_error() {
    let (lock, mut api) = lock();
    let task = tokio::spawn(async move { lock.try_acquire_or_renew(ts(NOW)).await });
    api.expect(Method::GET, &format!("{LEASES}/porch-operators"))
        .await
        .ok(lease("me", "2026-03-01T11:59:58.000000Z", 1));
    let seen = api
        .expect(Method::PUT, &format!("{LEASES}/porch-operators"))
        .await;
    // A renewal keeps the acquire time and the transition count.
    assert_eq!(
        seen.body["spec"]["acquireTime"],
        "2026-03-01T11:00:00.000000Z"
    );
    assert_eq!(seen.body["spec"]["leaseTransitions"], 1);
    assert_eq!(
        seen.body["spec"]["renewTime"],
        "2026-03-01T12:00:00.000000Z"
    );
    seen.fail(409, "Conflict");
    assert!(!task.await.unwrap().unwrap());
}

#[tokio::test]
async fn release_clears_the_holder() {
    let (lock, mut api) = lock();
    let task = tokio::spawn(async move { lock.release(ts(NOW)).await });
    api.expect(Method::GET, &format!("{LEASES}/porch-operators"))
        .await
        .ok(lease("me", "2026-03-01T11:59:58.000000Z", 1));
    let seen = api
        .expect(Method::PUT, &format!("{LEASES}/porch-operators"))
        .await;
    assert!(
        seen.body["spec"].get("holderIdentity").is_none(),
        "{}",
        seen.body
    );
    assert_eq!(seen.body["spec"]["leaseDurationSeconds"], 1);
    let body = seen.body.clone();
    seen.ok(body);
    task.await.unwrap().unwrap();
}
