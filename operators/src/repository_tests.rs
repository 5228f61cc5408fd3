//! Reconcile request sequences of the Repository controller, pinned against a scripted API.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::Method;
use kube::runtime::controller::Action;
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_crds::labels::{INTERNAL_PACKAGE_REVISION_FINALIZER, REPOSITORY_FINALIZER};
use serde_json::json;

use crate::desired::{RepoContext, plan};
use crate::desired_tests::rev;
use crate::fixtures::*;
use crate::repository::reconcile;
use crate::source::{DiscoveredRevision, FetchedRepository, SourceError};

const REPOS: &str = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/ns/repositories";
const PACKAGEREVS: &str = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/ns/packagerevs";
const URL: &str = "http://127.0.0.1:9/blueprints.git";

fn fetched(revisions: Vec<DiscoveredRevision>) -> FetchedRepository {
    FetchedRepository {
        head_commit: "abc123".into(),
        revisions,
        version: Some("refs-1".into()),
    }
}

/// The PackageRevs a previous sync of `revisions` left, as the API server returns them.
fn stored(revisions: &[DiscoveredRevision]) -> Vec<PackageRev> {
    let repo = RepoContext {
        namespace: "ns",
        name: "blueprints",
        deployment: false,
    };
    let mut creates = plan(repo, revisions, &[]).creates;
    creates.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    creates
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            p.metadata.resource_version = Some(format!("{}", 50 + i));
            p.metadata.uid = Some(format!("pr-{i}"));
            p
        })
        .collect()
}

fn spawn_reconcile(
    repo: Repository,
    ctx: Arc<crate::context::Context>,
) -> tokio::task::JoinHandle<Result<Action, crate::error::Error>> {
    tokio::spawn(reconcile(Arc::new(repo), ctx))
}

async fn finish(task: tokio::task::JoinHandle<Result<Action, crate::error::Error>>) -> Action {
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("reconcile did not finish")
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn adds_the_finalizer_first() {
    let source = FakeSource::new(Ok(fetched(vec![])));
    let (ctx, mut api) = test_context(source.clone());
    let task = spawn_reconcile(repository(URL), ctx);
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints"))
        .await;
    assert_eq!(seen.content_type, "application/json-patch+json");
    assert_eq!(
        seen.body,
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [REPOSITORY_FINALIZER]}
        ])
    );
    seen.ok(to_json(&repository(URL).finalized()));
    assert_eq!(finish(task).await, Action::await_change());
    assert_eq!(source.fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn first_sync_creates_package_revs_and_reports_ready() {
    let revisions = vec![
        rev("basens", "main", -1, "c0"),
        rev("basens", "v1", 1, "c1"),
    ];
    let source = FakeSource::new(Ok(fetched(revisions.clone())));
    let (ctx, mut api) = test_context(source.clone());
    let task = spawn_reconcile(repository(URL).finalized(), ctx.clone());

    // 1. Reconciling, by server-side apply on the status subresource.
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints/status"))
        .await;
    assert_eq!(seen.content_type, "application/apply-patch+yaml");
    assert!(
        seen.query.contains("fieldManager=repository-controller"),
        "{}",
        seen.query
    );
    assert!(seen.query.contains("force=true"));
    assert_eq!(seen.body["kind"], "Repository");
    assert_eq!(
        seen.body["status"]["conditions"][0]["reason"],
        "Reconciling"
    );
    assert_eq!(
        seen.body["status"]["conditions"][0]["message"],
        "Repository reconciliation in progress"
    );
    seen.ok(to_json(&repository(URL).finalized()));

    // 2. The repository's PackageRevs, by the internal label.
    let seen = api.expect(Method::GET, PACKAGEREVS).await;
    assert!(
        seen.query
            .contains("labelSelector=internal.porch.kpt.dev%2Frepository%3Dblueprints"),
        "{}",
        seen.query
    );
    seen.ok(list_of("PackageRevList", &[]));

    // 3. One create and one status write per revision.
    // Highest revision first within a package.
    for (name, commit, latest) in [
        ("blueprints.basens.v1", "c1", true),
        ("blueprints.basens.main", "c0", false),
    ] {
        let seen = api.expect(Method::POST, PACKAGEREVS).await;
        assert_eq!(seen.body["metadata"]["name"], name);
        assert_eq!(
            seen.body["metadata"]["finalizers"],
            json!([INTERNAL_PACKAGE_REVISION_FINALIZER])
        );
        assert_eq!(
            seen.body["metadata"]["labels"]["internal.porch.kpt.dev/repository"],
            "blueprints"
        );
        assert_eq!(
            seen.body["metadata"]["labels"]
                .get("kpt.dev/latest-revision")
                .is_some(),
            latest
        );
        // The status subresource is on: the API server would drop it, so it is not sent.
        assert!(seen.body.get("status").is_none(), "{}", seen.body);
        let mut created = seen.body.clone();
        seen.reply(201, created.clone());
        let seen = api
            .expect(Method::PATCH, &format!("{PACKAGEREVS}/{name}/status"))
            .await;
        assert_eq!(seen.content_type, "application/json-patch+json");
        assert_eq!(seen.body[0]["op"], "add");
        assert_eq!(seen.body[0]["path"], "/status");
        assert_eq!(seen.body[0]["value"]["commit"], commit);
        created["status"] = seen.body[0]["value"].clone();
        seen.ok(created);
    }

    // 4. Ready, with the count and the head commit.
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints/status"))
        .await;
    let status = &seen.body["status"];
    assert_eq!(status["conditions"][0]["status"], "True");
    assert_eq!(status["conditions"][0]["reason"], "Ready");
    assert_eq!(status["conditions"][0]["message"], "Repository Ready");
    assert_eq!(status["packageCount"], 2);
    assert_eq!(status["gitCommitHash"], "abc123");
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["lastFullSyncTime"], NOW);
    assert_eq!(status["nextFullSyncTime"], "2026-03-01T13:00:00Z");
    seen.ok(to_json(&repository(URL).finalized()));

    // Next: the health check in 5 minutes.
    assert_eq!(
        finish(task).await,
        Action::requeue(Duration::from_secs(300))
    );
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(ctx.metrics.reconcile_count("repository"), 1);
}

#[tokio::test]
async fn no_change_sync_writes_nothing() {
    let revisions = vec![
        rev("basens", "main", -1, "c0"),
        rev("basens", "v1", 1, "c1"),
    ];
    let source = FakeSource::new(Ok(fetched(revisions.clone())));
    let (ctx, mut api) = test_context(source.clone());
    // Synced two hours ago: the periodic sync is due.
    let repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T10:00:00Z", "abc123", 2);
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T10:00:00Z"));
        m.last_contact = Some(ts("2026-03-01T11:59:00Z"));
    });
    let task = spawn_reconcile(repo.clone(), ctx.clone());
    api.expect(Method::GET, PACKAGEREVS)
        .await
        .ok(list_of("PackageRevList", &stored(&revisions)));
    // Nothing changed: no PackageRev write and no status write (not even the sync times).
    // Next: the health check at 12:05 (this sync at 12:00 is the last contact).
    assert_eq!(
        finish(task).await,
        Action::requeue(Duration::from_secs(300))
    );
    api.expect_silence().await;
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(ctx.memory("uid-1").last_full_sync, Some(ts(NOW)));

    // The quiet sync is remembered: the next reconcile (same stale status) does not sync.
    let action = finish(spawn_reconcile(repo, ctx.clone())).await;
    assert_eq!(action, Action::requeue(Duration::from_secs(300)));
    api.expect_silence().await;
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
}

/// A reflector store holding `objects`, ready (its initial list done) when `ready`.
fn reflector_of(
    objects: Vec<PackageRev>,
    ready: bool,
) -> kube::runtime::reflector::Store<PackageRev> {
    use kube::runtime::watcher::Event;
    let (reader, mut writer) = kube::runtime::reflector::store();
    writer.apply_watcher_event(&Event::Init);
    for o in objects {
        writer.apply_watcher_event(&Event::InitApply(o));
    }
    if ready {
        writer.apply_watcher_event(&Event::InitDone);
    }
    // A dropped writer would leave the store as it is; keep it alive like a running watch.
    std::mem::forget(writer);
    reader
}

#[tokio::test]
async fn a_sync_reads_the_shared_reflector_instead_of_listing() {
    let revisions = vec![
        rev("basens", "main", -1, "c0"),
        rev("basens", "v1", 1, "c1"),
    ];
    let source = FakeSource::new(Ok(fetched(revisions.clone())));
    let (ctx, mut api) = test_context(source.clone());
    // Beside this repository's revisions, one of another repository in the same namespace
    // and one of a same-named repository in another namespace: neither is this sync's, so
    // neither may be taken for a vanished revision (that would be a DELETE).
    let mut held = stored(&revisions);
    let mut other_repo = held[0].clone();
    other_repo.metadata.name = Some("other.basens.v9".into());
    other_repo
        .metadata
        .labels
        .get_or_insert_default()
        .insert("internal.porch.kpt.dev/repository".into(), "other".into());
    let mut other_ns = held[1].clone();
    other_ns.metadata.name = Some("blueprints.gone.v1".into());
    other_ns.metadata.namespace = Some("ns2".into());
    held.extend([other_repo, other_ns]);
    ctx.share_package_revs(Some(reflector_of(held, true)));
    let repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T10:00:00Z", "abc123", 2);
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T10:00:00Z"));
        m.last_contact = Some(ts("2026-03-01T11:59:00Z"));
    });
    let task = spawn_reconcile(repo, ctx.clone());
    // No list, no write: the snapshot already matches the fetch.
    assert_eq!(
        finish(task).await,
        Action::requeue(Duration::from_secs(300))
    );
    api.expect_silence().await;
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(ctx.memory("uid-1").last_full_sync, Some(ts(NOW)));
}

#[tokio::test]
async fn a_reflector_still_listing_is_not_trusted() {
    let revisions = vec![rev("basens", "v1", 1, "c1")];
    let source = FakeSource::new(Ok(fetched(revisions.clone())));
    let (ctx, mut api) = test_context(source.clone());
    // Mid initial list, the store shows nothing: trusting it would recreate everything.
    ctx.share_package_revs(Some(reflector_of(vec![], false)));
    let repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T10:00:00Z", "abc123", 1);
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T10:00:00Z"));
        m.last_contact = Some(ts("2026-03-01T11:59:00Z"));
    });
    let task = spawn_reconcile(repo, ctx.clone());
    api.expect(Method::GET, PACKAGEREVS)
        .await
        .ok(list_of("PackageRevList", &stored(&revisions)));
    assert_eq!(
        finish(task).await,
        Action::requeue(Duration::from_secs(300))
    );
    api.expect_silence().await;

    // Unshared (its controller stopped): back to listing.
    ctx.share_package_revs(None);
    ctx.remember("uid-1", |m| m.last_full_sync = None);
    let repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T10:00:00Z", "abc123", 1);
    let task = spawn_reconcile(repo, ctx.clone());
    api.expect(Method::GET, PACKAGEREVS)
        .await
        .ok(list_of("PackageRevList", &stored(&revisions)));
    finish(task).await;
    api.expect_silence().await;
}

#[tokio::test]
async fn run_once_syncs_once_and_is_cleared() {
    let revisions = vec![rev("basens", "v1", 1, "c1")];
    let source = FakeSource::new(Ok(fetched(revisions.clone())));
    let (ctx, mut api) = test_context(source.clone());
    // `porchctl repo sync` set runOnceAt (generation 2, already observed); it is now due.
    let mut repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T11:30:00Z", "abc123", 1);
    repo.metadata.generation = Some(2);
    repo.status.as_mut().unwrap().observed_generation = 2;
    repo.spec.sync = Some(porch_crds::config::v1alpha1::RepositorySync {
        run_once_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts(
            "2026-03-01T11:59:00Z",
        ))),
        schedule: String::new(),
    });
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T11:30:00Z"));
        m.last_contact = Some(ts("2026-03-01T11:58:00Z"));
    });
    let task = spawn_reconcile(repo.clone(), ctx.clone());
    api.expect(Method::GET, PACKAGEREVS)
        .await
        .ok(list_of("PackageRevList", &stored(&revisions)));
    // Cleared as upstream does, guarded by the generation read.
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints"))
        .await;
    assert_eq!(seen.content_type, "application/json-patch+json");
    assert_eq!(
        seen.body,
        json!([
            {"op": "test", "path": "/metadata/generation", "value": 2},
            {"op": "remove", "path": "/spec/sync/runOnceAt"}
        ])
    );
    let mut cleared = repo.clone();
    cleared.spec.sync = None;
    cleared.metadata.generation = Some(3);
    seen.ok(to_json(&cleared));
    // The status records the honoured time and the generation of the clearing.
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints/status"))
        .await;
    assert_eq!(
        seen.body["status"]["observedRunOnceAt"],
        "2026-03-01T11:59:00Z"
    );
    assert_eq!(seen.body["status"]["observedGeneration"], 3);
    assert_eq!(seen.body["status"]["lastFullSyncTime"], NOW);
    let mut written = cleared.clone();
    written.status = Some(serde_json::from_value(seen.body["status"].clone()).unwrap());
    seen.ok(to_json(&written));
    finish(task).await;
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);

    // It does not run again: neither on the object as written...
    finish(spawn_reconcile(written, ctx.clone())).await;
    // ...nor on one whose status write this reconcile has not seen yet.
    finish(spawn_reconcile(cleared, ctx.clone())).await;
    // Nor on the pre-clearing object (runOnceAt still set, already honoured).
    finish(spawn_reconcile(repo, ctx.clone())).await;
    api.expect_silence().await;
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn run_once_clearing_yields_to_a_concurrent_spec_change() {
    let revisions = vec![rev("basens", "v1", 1, "c1")];
    let source = FakeSource::new(Ok(fetched(revisions.clone())));
    let (ctx, mut api) = test_context(source.clone());
    let mut repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T11:30:00Z", "abc123", 1);
    repo.spec.sync = Some(porch_crds::config::v1alpha1::RepositorySync {
        run_once_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts(
            "2026-03-01T11:59:00Z",
        ))),
        schedule: String::new(),
    });
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T11:30:00Z"));
        m.last_contact = Some(ts("2026-03-01T11:58:00Z"));
    });
    let task = spawn_reconcile(repo.clone(), ctx.clone());
    api.expect(Method::GET, PACKAGEREVS)
        .await
        .ok(list_of("PackageRevList", &stored(&revisions)));
    // Someone changed the spec meanwhile: the guard fails (422 like kube-apiserver).
    api.expect(Method::PATCH, &format!("{REPOS}/blueprints"))
        .await
        .fail(422, "Invalid");
    // The status still records the run and the generation this sync covered.
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints/status"))
        .await;
    assert_eq!(seen.body["status"]["observedGeneration"], 1);
    assert_eq!(
        seen.body["status"]["observedRunOnceAt"],
        "2026-03-01T11:59:00Z"
    );
    seen.ok(to_json(&repo));
    finish(task).await;
}

#[tokio::test]
async fn quiet_reconcile_writes_nothing() {
    let source = FakeSource::new(Ok(fetched(vec![])));
    let (ctx, mut api) = test_context(source.clone());
    let repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T11:30:00Z", "abc123", 0);
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T11:30:00Z"));
        m.last_contact = Some(ts("2026-03-01T11:58:00Z"));
    });
    let action = finish(spawn_reconcile(repo, ctx)).await;
    assert_eq!(action, Action::requeue(Duration::from_secs(180)));
    api.expect_silence().await;
    assert_eq!(source.fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn vanished_revision_is_deleted() {
    let before = vec![rev("basens", "v1", 1, "c1"), rev("basens", "v2", 2, "c2")];
    let after = vec![rev("basens", "v1", 1, "c1")];
    let source = FakeSource::new(Ok(fetched(after)));
    let (ctx, mut api) = test_context(source.clone());
    let repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T10:00:00Z", "abc123", 2);
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T10:00:00Z"))
    });
    let task = spawn_reconcile(repo.clone(), ctx.clone());
    let existing = stored(&before);
    api.expect(Method::GET, PACKAGEREVS)
        .await
        .ok(list_of("PackageRevList", &existing));

    // v2 is deleted first, conditionally on the version listed...
    let seen = api
        .expect(
            Method::DELETE,
            &format!("{PACKAGEREVS}/blueprints.basens.v2"),
        )
        .await;
    assert_eq!(seen.body["preconditions"]["resourceVersion"], "51");
    let mut terminating = to_json(&existing[1]);
    terminating["metadata"]["deletionTimestamp"] = json!(NOW);
    seen.ok(terminating);
    // ...and our finalizer released by a guarded patch.
    let seen = api
        .expect(
            Method::PATCH,
            &format!("{PACKAGEREVS}/blueprints.basens.v2"),
        )
        .await;
    assert_eq!(seen.content_type, "application/json-patch+json");
    assert_eq!(
        seen.body,
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": [INTERNAL_PACKAGE_REVISION_FINALIZER]},
            {"op": "replace", "path": "/metadata/finalizers", "value": []}
        ])
    );
    seen.ok(to_json(&existing[1]));

    // Then v1 becomes the latest again, by a merge patch of that one label.
    let seen = api
        .expect(
            Method::PATCH,
            &format!("{PACKAGEREVS}/blueprints.basens.v1"),
        )
        .await;
    assert_eq!(seen.content_type, "application/merge-patch+json");
    assert_eq!(
        seen.body,
        json!({"metadata": {"labels": {"kpt.dev/latest-revision": "true"}}})
    );
    seen.ok(to_json(&existing[0]));

    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints/status"))
        .await;
    assert_eq!(seen.body["status"]["packageCount"], 1);
    seen.ok(to_json(&repo));
    finish(task).await;
}

#[tokio::test]
async fn unreachable_repository_turns_not_ready_and_backs_off() {
    let secret_url = "http://alice:s3cret@127.0.0.1:9/blueprints.git";
    let source = FakeSource::new(Err(SourceError::Unreachable(format!(
        "fetch {secret_url}: dial tcp 127.0.0.1:9: connection refused"
    ))));
    let (ctx, mut api) = test_context(source.clone());
    let repo = repository(secret_url)
        .finalized()
        .synced_at("2026-03-01T10:00:00Z", "abc123", 2);
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T10:00:00Z"))
    });
    let task = spawn_reconcile(repo.clone(), ctx.clone());
    api.expect(Method::GET, PACKAGEREVS).await.ok(list_of(
        "PackageRevList",
        &stored(&[rev("basens", "v1", 1, "c1")]),
    ));
    // No PackageRev is touched: the cached revisions stay served.
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints/status"))
        .await;
    let condition = &seen.body["status"]["conditions"][0].clone();
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], "Error");
    let message = condition["message"].as_str().unwrap();
    assert!(
        message.contains("http://127.0.0.1:9/blueprints.git"),
        "{message}"
    );
    assert!(
        !message.contains("s3cret") && !message.contains("alice"),
        "{message}"
    );
    assert_eq!(condition["lastTransitionTime"], NOW);
    // What was synced before is still reported.
    assert_eq!(seen.body["status"]["packageCount"], 2);
    assert_eq!(seen.body["status"]["gitCommitHash"], "abc123");
    seen.ok(to_json(&repo));
    // Connection refused: 30 s.
    assert_eq!(finish(task).await, Action::requeue(Duration::from_secs(30)));
    assert_eq!(ctx.metrics.failure_count("repository", "unreachable"), 1);

    // A reconcile before the backoff elapsed does nothing at all.
    let mut failed = repo.clone();
    failed.status.as_mut().unwrap().conditions[0] =
        serde_json::from_value(condition.clone()).unwrap();
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T11:59:50Z"))
    });
    let action = finish(spawn_reconcile(failed, ctx.clone())).await;
    // One failure so far: 30 s from 11:59:50.
    assert_eq!(action, Action::requeue(Duration::from_secs(20)));
    api.expect_silence().await;
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn deletion_removes_package_revs_then_the_finalizer() {
    let source = FakeSource::new(Ok(fetched(vec![])));
    let (ctx, mut api) = test_context(source.clone());
    let repo = repository(URL).finalized().deleting();
    let task = spawn_reconcile(repo.clone(), ctx.clone());
    let mut existing = stored(&[rev("basens", "v1", 1, "c1")]);
    existing[0]
        .metadata
        .finalizers
        .as_mut()
        .unwrap()
        .push("example.com/user".into());
    let seen = api.expect(Method::GET, PACKAGEREVS).await;
    assert!(
        seen.query
            .contains("labelSelector=internal.porch.kpt.dev%2Frepository%3Dblueprints")
    );
    seen.ok(list_of("PackageRevList", &existing));
    let seen = api
        .expect(
            Method::PATCH,
            &format!("{PACKAGEREVS}/blueprints.basens.v1"),
        )
        .await;
    assert_eq!(seen.content_type, "application/merge-patch+json");
    assert_eq!(seen.body, json!({"metadata": {"finalizers": null}}));
    seen.ok(to_json(&existing[0]));
    api.expect(
        Method::DELETE,
        &format!("{PACKAGEREVS}/blueprints.basens.v1"),
    )
    .await
    .ok(json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}));
    // Then the finalizer helper drops ours from the Repository.
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints"))
        .await;
    assert_eq!(
        seen.body,
        json!([
            {"op": "test", "path": "/metadata/finalizers/0", "value": REPOSITORY_FINALIZER},
            {"op": "remove", "path": "/metadata/finalizers/0"}
        ])
    );
    seen.ok(to_json(&repo));
    assert_eq!(finish(task).await, Action::await_change());
    assert_eq!(source.released.load(Ordering::SeqCst), 1);
    assert_eq!(source.fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn passing_health_check_writes_nothing() {
    let source = FakeSource::new(Ok(fetched(vec![])));
    let (ctx, mut api) = test_context(source.clone());
    let repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T11:30:00Z", "abc123", 0);
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T11:30:00Z"));
        m.last_contact = Some(ts("2026-03-01T11:50:00Z"));
        m.last_version = Some("refs-1".into());
    });
    let action = finish(spawn_reconcile(repo, ctx)).await;
    // Next check in 5 min from now.
    assert_eq!(action, Action::requeue(Duration::from_secs(300)));
    api.expect_silence().await;
    assert_eq!(source.checks.load(Ordering::SeqCst), 1);
    assert_eq!(source.fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn health_check_seeing_a_push_syncs_at_once() {
    let revisions = vec![rev("basens", "v1", 1, "c1"), rev("basens", "v2", 2, "c2")];
    let source = FakeSource::new(Ok(fetched(revisions.clone())));
    let (ctx, mut api) = test_context(source.clone());
    let repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T11:30:00Z", "abc123", 1);
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T11:30:00Z"));
        m.last_contact = Some(ts("2026-03-01T11:50:00Z"));
        m.last_version = Some("refs-0".into());
    });
    let task = spawn_reconcile(repo.clone(), ctx.clone());
    let existing = stored(&revisions[..1]);
    api.expect(Method::GET, PACKAGEREVS)
        .await
        .ok(list_of("PackageRevList", &existing));
    // The pushed tag appears, and takes the latest marker.
    let seen = api.expect(Method::POST, PACKAGEREVS).await;
    assert_eq!(seen.body["metadata"]["name"], "blueprints.basens.v2");
    let mut created = seen.body.clone();
    created["status"] = serde_json::Value::Null;
    seen.reply(201, created.clone());
    api.expect(
        Method::PATCH,
        &format!("{PACKAGEREVS}/blueprints.basens.v2/status"),
    )
    .await
    .ok(created);
    let seen = api
        .expect(
            Method::PATCH,
            &format!("{PACKAGEREVS}/blueprints.basens.v1"),
        )
        .await;
    assert_eq!(
        seen.body,
        json!({"metadata": {"labels": {"kpt.dev/latest-revision": null}}})
    );
    seen.ok(to_json(&existing[0]));
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints/status"))
        .await;
    assert_eq!(seen.body["status"]["packageCount"], 2);
    seen.ok(to_json(&repo));
    finish(task).await;
    assert_eq!(source.checks.load(Ordering::SeqCst), 1);
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    assert_eq!(ctx.memory("uid-1").last_version.as_deref(), Some("refs-1"));
}

#[tokio::test]
async fn failing_health_check_turns_not_ready() {
    let source = FakeSource::new(Err(SourceError::Auth(format!(
        "authentication required for {URL}"
    ))));
    let (ctx, mut api) = test_context(source.clone());
    let repo = repository(URL)
        .finalized()
        .synced_at("2026-03-01T11:30:00Z", "abc123", 0);
    ctx.remember("uid-1", |m| {
        m.last_attempt = Some(ts("2026-03-01T11:30:00Z"));
        m.last_contact = Some(ts("2026-03-01T11:50:00Z"));
    });
    let task = spawn_reconcile(repo.clone(), ctx.clone());
    let seen = api
        .expect(Method::PATCH, &format!("{REPOS}/blueprints/status"))
        .await;
    assert_eq!(seen.body["status"]["conditions"][0]["reason"], "Error");
    assert_eq!(
        seen.body["status"]["conditions"][0]["message"],
        format!("authentication required for {URL}")
    );
    seen.ok(to_json(&repo));
    // Authentication errors wait 10 min.
    assert_eq!(
        finish(task).await,
        Action::requeue(Duration::from_secs(600))
    );
    assert_eq!(ctx.metrics.failure_count("repository", "auth"), 1);
}
