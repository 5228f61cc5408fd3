//! Request sequences of the PackageRev controller, with its stores fed objects.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use kube::runtime::controller::Action;
use kube::runtime::reflector;
use kube::runtime::watcher::Event;
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_crds::labels::LATEST_REVISION_LABEL;
use serde_json::json;

use crate::desired::{RepoContext, plan};
use crate::desired_tests::rev;
use crate::fixtures::*;
use crate::packagerev::{PackageRevContext, reconcile};
use crate::source::{DiscoveredRevision, FetchedRepository};

const PACKAGEREVS: &str = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/ns/packagerevs";
const REPOS: &str = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/ns/repositories";

fn stored(revisions: &[DiscoveredRevision]) -> Vec<PackageRev> {
    let repo = RepoContext {
        namespace: "ns",
        name: "blueprints",
        deployment: false,
    };
    let mut creates = plan(repo, revisions, &[]).creates;
    creates.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    creates
}

fn context(
    repos: &[Repository],
    revs: &[PackageRev],
) -> (Arc<PackageRevContext>, ApiServerVerifier) {
    let (ctx, api) = test_context(FakeSource::new(Ok(FetchedRepository::default())));
    let (repositories, mut repo_writer) = reflector::store();
    for r in repos {
        repo_writer.apply_watcher_event(&Event::Apply(r.clone()));
    }
    let (package_revs, mut rev_writer) = reflector::store();
    for p in revs {
        rev_writer.apply_watcher_event(&Event::Apply(p.clone()));
    }
    (
        Arc::new(PackageRevContext {
            ctx,
            repositories,
            package_revs,
            settle_delay: Duration::from_secs(3),
            unsettled: std::sync::Mutex::new(std::collections::HashSet::new()),
        }),
        api,
    )
}

async fn run(obj: PackageRev, pctx: Arc<PackageRevContext>) -> Action {
    tokio::time::timeout(Duration::from_secs(2), reconcile(Arc::new(obj), pctx))
        .await
        .expect("reconcile did not finish")
        .unwrap()
}

fn without_latest(mut p: PackageRev) -> PackageRev {
    p.metadata
        .labels
        .as_mut()
        .unwrap()
        .remove(LATEST_REVISION_LABEL);
    p
}

#[tokio::test]
async fn moves_the_latest_marker_after_a_publish() {
    // v1 was the latest; the API server just published v2 (without the marker).
    let revs = stored(&[
        rev("basens", "main", -1, "c0"),
        rev("basens", "v1", 1, "c1"),
    ]);
    let mut v1 = revs[1].clone();
    assert!(
        v1.metadata
            .labels
            .as_ref()
            .unwrap()
            .contains_key(LATEST_REVISION_LABEL)
    );
    v1.metadata.resource_version = Some("1".into());
    let v2 = without_latest(stored(&[rev("basens", "v2", 2, "c2")]).remove(0));
    let all = vec![revs[0].clone(), v1.clone(), v2.clone()];
    let repo = repository("http://127.0.0.1:9/b.git").finalized();
    let (pctx, mut api) = context(&[repo], &all);
    // First sighting: wait for things to settle, write nothing.
    assert_eq!(
        run(v2.clone(), pctx.clone()).await,
        Action::requeue(Duration::from_secs(3))
    );
    api.expect_silence().await;
    // Still wrong after the delay: repair both.
    let task = tokio::spawn(run(v2.clone(), pctx));
    let seen = api
        .expect(
            Method::PATCH,
            &format!("{PACKAGEREVS}/blueprints.basens.v1"),
        )
        .await;
    assert_eq!(seen.content_type, "application/merge-patch+json");
    assert_eq!(
        seen.body,
        json!({"metadata": {"labels": {LATEST_REVISION_LABEL: null}}})
    );
    seen.ok(to_json(&v1));
    let seen = api
        .expect(
            Method::PATCH,
            &format!("{PACKAGEREVS}/blueprints.basens.v2"),
        )
        .await;
    assert_eq!(
        seen.body,
        json!({"metadata": {"labels": {LATEST_REVISION_LABEL: "true"}}})
    );
    seen.ok(to_json(&v2));
    assert_eq!(task.await.unwrap(), Action::await_change());
    api.expect_silence().await;
}

#[tokio::test]
async fn a_consistent_package_needs_no_write() {
    let revs = stored(&[
        rev("basens", "main", -1, "c0"),
        rev("basens", "v1", 1, "c1"),
    ]);
    let repo = repository("http://127.0.0.1:9/b.git").finalized();
    let (pctx, mut api) = context(&[repo], &revs);
    assert_eq!(run(revs[1].clone(), pctx).await, Action::await_change());
    api.expect_silence().await;
}

#[tokio::test]
async fn creates_the_missing_placeholder() {
    let revs = stored(&[rev("a/pkg", "v1", 1, "c1")]);
    let repo = repository("http://127.0.0.1:9/b.git").finalized();
    let (pctx, mut api) = context(&[repo], &revs);
    let task = tokio::spawn(run(revs[0].clone(), pctx));
    let seen = api.expect(Method::POST, PACKAGEREVS).await;
    assert_eq!(seen.body["metadata"]["name"], "blueprints.a.pkg.main");
    assert_eq!(seen.body["spec"]["workspaceName"], "main");
    assert_eq!(seen.body["spec"]["revision"], -1);
    assert_eq!(seen.body["spec"]["lifecycle"], "Published");
    assert!(
        seen.body["metadata"]["labels"]
            .get(LATEST_REVISION_LABEL)
            .is_none()
    );
    let body = seen.body.clone();
    seen.reply(201, body.clone());
    let seen = api
        .expect(
            Method::PATCH,
            &format!("{PACKAGEREVS}/blueprints.a.pkg.main/status"),
        )
        .await;
    assert_eq!(seen.body["status"]["commit"], "c1");
    seen.ok(body);
    task.await.unwrap();
}

#[tokio::test]
async fn removes_package_revs_of_a_vanished_repository() {
    let revs = stored(&[rev("basens", "v1", 1, "c1")]);
    let (pctx, mut api) = context(&[], &revs);
    let task = tokio::spawn(run(revs[0].clone(), pctx));
    // The store does not know the repository: confirmed with the API before deleting.
    api.expect(Method::GET, &format!("{REPOS}/blueprints"))
        .await
        .fail(404, "NotFound");
    let seen = api
        .expect(
            Method::PATCH,
            &format!("{PACKAGEREVS}/blueprints.basens.v1"),
        )
        .await;
    assert_eq!(seen.body, json!({"metadata": {"finalizers": null}}));
    seen.ok(to_json(&revs[0]));
    api.expect(
        Method::DELETE,
        &format!("{PACKAGEREVS}/blueprints.basens.v1"),
    )
    .await
    .ok(json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}));
    assert_eq!(task.await.unwrap(), Action::await_change());
}

#[tokio::test]
async fn a_repository_missing_from_the_store_but_present_keeps_its_revisions() {
    let revs = stored(&[
        rev("basens", "main", -1, "c0"),
        rev("basens", "v1", 1, "c1"),
    ]);
    let (pctx, mut api) = context(&[], &revs);
    let task = tokio::spawn(run(revs[1].clone(), pctx));
    api.expect(Method::GET, &format!("{REPOS}/blueprints"))
        .await
        .ok(to_json(&repository("http://127.0.0.1:9/b.git").finalized()));
    assert_eq!(task.await.unwrap(), Action::await_change());
    api.expect_silence().await;
}
