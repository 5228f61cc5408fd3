//! Orchestration tests against the in-memory test doubles: every rule and exact message on the
//! create, update, approval, resources and delete paths.

use std::sync::atomic::Ordering;

use super::*;
use crate::backend::CommitTask;
use crate::locks::LockKey;
use crate::model::{
    CloneTask, EditTask, GitPackage, LATEST_REVISION_LABEL, Lifecycle, OwnerReference,
    PUSH_ON_RENDER_FAILURE_ANNOTATION, PackageMetadata, RequestUser, Task, UpgradeTask,
    UpstreamPackage,
};
use crate::testing::{FakeOps, InMemoryBackend, InMemoryMetadata, kptfile_only, record};

type TestEngine = Engine<InMemoryBackend, InMemoryMetadata, FakeOps>;

fn repo(name: &str) -> RepositoryInfo {
    RepositoryInfo {
        namespace: "ns".into(),
        name: name.into(),
        branch: "main".into(),
        ..RepositoryInfo::default()
    }
}

fn scope() -> Scope {
    let mut deploy = repo("deploy");
    deploy.deployment = true;
    let mut v2 = repo("newapi");
    v2.v1alpha2_managed = true;
    Scope {
        namespace: "ns".into(),
        repositories: vec![repo("blue"), repo("up"), deploy, v2],
    }
}

fn engine() -> TestEngine {
    Engine::new(
        InMemoryBackend::new(),
        InMemoryMetadata::new(),
        FakeOps::new(),
        EngineOptions::default(),
    )
    .with_clock(|| "2026-11-20T00:00:00Z".to_owned())
}

fn alice() -> RequestUser {
    RequestUser {
        name: "alice".into(),
        groups: vec!["system:authenticated".into()],
    }
}

fn new_pr(repo: &str, pkg: &str, ws: &str, tasks: Vec<Task>) -> PackageRevision {
    let mut p = PackageRevision::default();
    p.metadata.name = "ignored-by-the-server".into();
    p.spec.repository = repo.into();
    p.spec.package_name = pkg.into();
    p.spec.workspace_name = ws.into();
    p.spec.tasks = tasks;
    p
}

fn clone_task(upstream: &str) -> Task {
    Task {
        task_type: "clone".into(),
        clone: Some(CloneTask {
            upstream: UpstreamPackage {
                upstream_ref: Some(upstream.into()),
                ..UpstreamPackage::default()
            },
        }),
        ..Task::default()
    }
}

fn edit_task(source: &str) -> Task {
    Task {
        task_type: "edit".into(),
        edit: Some(EditTask {
            source_ref: Some(source.into()),
        }),
        ..Task::default()
    }
}

async fn create(e: &TestEngine, pr: &PackageRevision) -> Result<PackageRevision, EngineError> {
    e.create(&scope(), &alice(), pr).await
}

/// Sets the lifecycle on a fresh GET and updates through `kind`.
async fn move_to(
    e: &TestEngine,
    name: &str,
    lifecycle: &str,
    kind: UpdateKind,
) -> Result<PackageRevision, EngineError> {
    let mut pr = e.get(&scope(), name).await?;
    pr.spec.lifecycle = lifecycle.into();
    Ok(e.update(&scope(), &alice(), name, &pr, kind).await?.object)
}

/// Creates `pkg` with `ws` and publishes it; returns the published object.
async fn publish(e: &TestEngine, pr: &PackageRevision) -> PackageRevision {
    let created = create(e, pr).await.unwrap();
    let name = created.metadata.name;
    move_to(e, &name, "Proposed", UpdateKind::Main)
        .await
        .unwrap();
    move_to(e, &name, "Published", UpdateKind::Approval)
        .await
        .unwrap()
}

fn internal(msg: &str) -> String {
    format!("Internal error occurred: {msg}")
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn create_defaults_to_init_and_stores_everything() {
    let e = engine();
    let mut req = new_pr("blue", "base/pkg", "ws1", vec![]);
    req.metadata.labels.insert("team".into(), "a".into());
    let mut md = PackageMetadata::default();
    md.labels.insert("kptlabel".into(), "x".into());
    req.spec.package_metadata = Some(md);
    let pr = create(&e, &req).await.unwrap();

    assert_eq!(pr.metadata.name, "blue.base.pkg.ws1");
    assert_eq!(pr.metadata.namespace, "ns");
    assert_eq!(pr.spec.lifecycle, "Draft");
    assert_eq!(pr.spec.revision, 0);
    assert_eq!(
        pr.metadata.labels.get("team").map(String::as_str),
        Some("a")
    );
    assert_eq!(
        pr.metadata.creation_timestamp.as_deref(),
        Some("2026-11-20T00:00:00Z")
    );
    assert_eq!(pr.spec.tasks[0].task_type, "init");

    let files = e.backend().files_of("blue.base.pkg.ws1").unwrap();
    let kptfile = &files["Kptfile"];
    assert!(kptfile.contains("name: pkg\n"), "{kptfile}");
    assert!(
        kptfile.contains("description: base/pkg description\n"),
        "{kptfile}"
    );
    assert!(
        kptfile.contains("labels: kptlabel=x\n"),
        "package metadata merged: {kptfile}"
    );
    assert!(
        kptfile.contains("rendered: 1\n"),
        "create renders: {kptfile}"
    );
    let patches = e.ops.patches.lock().unwrap().clone();
    assert_eq!(patches[0].mode, crate::ops::PatchMode::Merge);

    let commits = e.backend().commits.lock().unwrap().clone();
    assert_eq!(commits.len(), 1);
    assert!(matches!(&commits[0].1, CommitTask::Creation(t) if t.task_type == "init"));
    assert!(e.metadata_store().peek("ns", "blue.base.pkg.ws1").is_some());
    assert_eq!(e.locks().held_count(), 0, "lock released");
}

#[tokio::test]
async fn create_rest_checks() {
    let e = engine();
    let mut empty_ns = scope();
    empty_ns.namespace.clear();
    let err = e
        .create(&empty_ns, &alice(), &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.http_status(), err.to_string().as_str()),
        (400, "namespace must be specified")
    );

    let err = create(&e, &new_pr("", "p", "ws", vec![]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.http_status(), err.to_string().as_str()),
        (400, "spec.repositoryName is required")
    );

    let err = create(&e, &new_pr("nope", "p", "ws", vec![]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.http_status(), err.to_string().as_str()),
        (404, "repositories.config.porch.kpt.dev \"nope\" not found")
    );

    let err = create(&e, &new_pr("newapi", "p", "ws", vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), 410);

    let mut proposed = new_pr("blue", "p", "ws", vec![]);
    proposed.spec.lifecycle = "Proposed".into();
    let err = create(&e, &proposed).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "PackageRevision.porch.kpt.dev \"ignored-by-the-server\" is invalid: spec.lifecycle: Invalid value: \"Proposed\": value can be only created as Draft"
    );
    assert!(e.backend().commit_count() == 0);
}

#[tokio::test]
async fn concurrent_create_of_same_package_fails_at_once() {
    let e = engine();
    let held = e
        .locks()
        .try_lock(LockKey::creation("ns", "blue", "p"))
        .unwrap();
    let err = create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), 409);
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on packagerevisions.porch.kpt.dev \"(new creation)\": another request is already in progress to create package revision with details namespace=\"ns\", repository=\"blue\", package=\"p\",workspace=\"ws\""
    );
    // Another package is not blocked.
    assert!(create(&e, &new_pr("blue", "q", "ws", vec![])).await.is_ok());
    drop(held);
    assert!(create(&e, &new_pr("blue", "p", "ws", vec![])).await.is_ok());
}

#[tokio::test]
async fn create_render_failure_persists_nothing() {
    let e = engine();
    let task = Task {
        task_type: "init".into(),
        init: Some(crate::model::InitTask {
            description: "RENDER-FAIL".into(),
            ..Default::default()
        }),
        ..Task::default()
    };
    let err = create(&e, &new_pr("blue", "p", "ws", vec![task]))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal(
            "Error rendering package in kpt function pipeline. Package NOT pushed to remote. Fix locally (until 'kpt fn render' succeeds) and retry. Details: fn.Run failed: RENDER-FAIL found"
        )
    );
    assert_eq!(e.backend().commit_count(), 0);
    assert!(e.metadata_store().is_empty());
}

#[tokio::test]
async fn create_engine_checks_in_order() {
    let e = engine();
    create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let cases: Vec<(PackageRevision, String)> = vec![
        (
            new_pr(
                "blue",
                "p",
                "ws",
                vec![Task::default_init("p"), Task::default_init("p")],
            ),
            internal("task list must not contain more than one task"),
        ),
        (
            new_pr("blue", "p", "ws", vec![]),
            internal(
                "package revision workspaceNames must be unique; package revision with name blue.p.ws in repo blue with workspaceName ws already exists",
            ),
        ),
        (
            new_pr("blue", "p", "ws2", vec![]),
            internal("package \"p\" already exists in repository \"blue\""),
        ),
        (
            new_pr("blue", "p/sub", "ws", vec![]),
            internal(
                "package path \"p/sub\" conflicts with existing package \"p\": packages cannot be nested",
            ),
        ),
        (
            new_pr("blue", "p", "ws3", vec![clone_task("blue.p.ws")]),
            internal(
                "`clone` cannot create a new revision for package \"p\" that already exists in repo \"blue\"; make subsequent revisions using `copy`",
            ),
        ),
        (
            new_pr("blue", "p", "ws4", vec![edit_task("blue.p.ws")]),
            internal("source revision must be published"),
        ),
        (
            new_pr(
                "blue",
                "p",
                "ws5",
                vec![Task {
                    task_type: "patch".into(),
                    ..Task::default()
                }],
            ),
            internal("task of type \"patch\" not supported"),
        ),
    ];
    for (req, want) in cases {
        assert_eq!(create(&e, &req).await.unwrap_err().to_string(), want);
    }
}

#[tokio::test]
async fn clone_from_registered_upstream_and_git() {
    let e = engine();
    let up = publish(&e, &new_pr("up", "basens", "v1", vec![])).await;
    assert_eq!(up.spec.revision, 1);

    let down = create(
        &e,
        &new_pr(
            "deploy",
            "edge/basens",
            "ws",
            vec![clone_task("up.basens.v1")],
        ),
    )
    .await
    .unwrap();
    let files = e.backend().files_of(&down.metadata.name).unwrap();
    assert!(files["Kptfile"].contains("name: basens\n"));
    assert!(
        files["Kptfile"].contains("upstreamLock: drafts/basens/v1@"),
        "{}",
        files["Kptfile"]
    );
    assert_eq!(
        files.get("package-context.yaml").map(String::as_str),
        Some("package-path: edge/basens\n"),
        "deployment repos regenerate the package context"
    );

    // The placeholder created by the approval is never a clone source.
    let err = create(
        &e,
        &new_pr("blue", "c", "ws", vec![clone_task("up.basens.main")]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal("upstream revision may not be the placeholder package revision ns/up.basens.main")
    );

    let git = Task {
        task_type: "clone".into(),
        clone: Some(CloneTask {
            upstream: UpstreamPackage {
                origin_type: "git".into(),
                git: Some(GitPackage {
                    repo: "https://h/r.git".into(),
                    git_ref: "basens/v1".into(),
                    directory: "basens".into(),
                    secret_ref: None,
                }),
                ..UpstreamPackage::default()
            },
        }),
        ..Task::default()
    };
    let from_git = create(&e, &new_pr("blue", "fromgit", "ws", vec![git]))
        .await
        .unwrap();
    let files = e.backend().files_of(&from_git.metadata.name).unwrap();
    assert!(files["Kptfile"].contains("upstreamLock: basens/v1@0123abcd"));
}

#[tokio::test]
async fn copy_and_upgrade_make_new_revisions() {
    let e = engine();
    publish(&e, &new_pr("up", "base", "v1", vec![])).await;
    let local = publish(
        &e,
        &new_pr("blue", "app", "v1", vec![clone_task("up.base.v1")]),
    )
    .await;
    assert_eq!(local.spec.revision, 1);

    // copy
    let copy = create(
        &e,
        &new_pr("blue", "app", "v2", vec![edit_task("blue.app.v1")]),
    )
    .await
    .unwrap();
    assert_eq!(
        e.backend().files_of(&copy.metadata.name).unwrap()["README.md"],
        e.backend().files_of("blue.app.v1").unwrap()["README.md"]
    );
    let err = create(
        &e,
        &new_pr("blue", "app", "v3", vec![edit_task("up.base.v1")]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal("source revision must be from same package blue/app")
    );
    let err = create(
        &e,
        &new_pr("blue", "app", "v3", vec![edit_task("blue.app.main")]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal("source revision may not be the placeholder package revision ns/blue.app.main")
    );

    // upgrade to a new upstream revision
    let up2 = create(
        &e,
        &new_pr("up", "base", "v2", vec![edit_task("up.base.v1")]),
    )
    .await
    .unwrap();
    let mut extra = e
        .get_resources(&scope(), &up2.metadata.name)
        .await
        .unwrap()
        .1
        .as_ref()
        .clone();
    extra.insert("new.yaml".into(), "kind: New\n".into());
    e.update_resources(
        &scope(),
        &alice(),
        &up2.metadata.name,
        &ResourcesUpdate {
            resource_version: up2.metadata.resource_version.clone(),
            resources: extra,
        },
    )
    .await
    .unwrap();
    move_to(&e, "up.base.v2", "Proposed", UpdateKind::Main)
        .await
        .unwrap();
    let up2 = move_to(&e, "up.base.v2", "Published", UpdateKind::Approval)
        .await
        .unwrap();
    assert_eq!(up2.spec.revision, 2);

    let upgrade = |local: &str| Task {
        task_type: "upgrade".into(),
        upgrade: Some(UpgradeTask {
            old_upstream: "up.base.v1".into(),
            new_upstream: "up.base.v2".into(),
            local_package_revision: local.into(),
            strategy: "resource-merge".into(),
        }),
        ..Task::default()
    };
    let upgraded = create(
        &e,
        &new_pr("blue", "app", "v4", vec![upgrade("blue.app.v1")]),
    )
    .await
    .unwrap();
    let files = e.backend().files_of(&upgraded.metadata.name).unwrap();
    assert_eq!(
        files.get("new.yaml").map(String::as_str),
        Some("kind: New\n")
    );
    let err = create(
        &e,
        &new_pr("blue", "app", "v5", vec![upgrade("blue.app.v2")]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal(
            "all source PackageRevisions of upgrade task must be published, \"blue.app.v2\" is not"
        )
    );
}

// ---------------------------------------------------------------- update / approval

#[tokio::test]
async fn lifecycle_round_trip_with_revisions_and_latest() {
    let e = engine();
    let created = create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let commits_before = e.backend().commit_count();

    let proposed = move_to(&e, "blue.p.ws", "Proposed", UpdateKind::Main)
        .await
        .unwrap();
    assert_eq!(proposed.spec.lifecycle, "Proposed");
    assert_eq!(
        e.backend().commit_count(),
        commits_before + 1,
        "proposing a Draft re-renders and commits"
    );
    assert_ne!(
        proposed.metadata.resource_version,
        created.metadata.resource_version
    );

    // Proposed -> Published is impossible through the main resource.
    let err = move_to(&e, "blue.p.ws", "Published", UpdateKind::Main)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PackageRevision.porch.kpt.dev \"blue.p.ws\" is invalid: spec.lifecycle: Invalid value: \"Published\": value can be only updated to Draft,Proposed"
    );
    // Reject through approval and propose again: no re-render for a Proposed revision.
    let commits = e.backend().commit_count();
    move_to(&e, "blue.p.ws", "Draft", UpdateKind::Approval)
        .await
        .unwrap();
    assert_eq!(
        e.backend().commit_count(),
        commits,
        "rejecting a Proposed revision does not render"
    );
    move_to(&e, "blue.p.ws", "Proposed", UpdateKind::Main)
        .await
        .unwrap();

    let published = move_to(&e, "blue.p.ws", "Published", UpdateKind::Approval)
        .await
        .unwrap();
    assert_eq!(published.spec.revision, 1);
    assert_eq!(published.status.published_by, "alice");
    assert!(published.is_latest());

    // A second revision via copy takes the latest label; the old latest is reported.
    create(&e, &new_pr("blue", "p", "v2", vec![edit_task("blue.p.ws")]))
        .await
        .unwrap();
    move_to(&e, "blue.p.v2", "Proposed", UpdateKind::Main)
        .await
        .unwrap();
    let mut pr = e.get(&scope(), "blue.p.v2").await.unwrap();
    pr.spec.lifecycle = "Published".into();
    let out = e
        .update(&scope(), &alice(), "blue.p.v2", &pr, UpdateKind::Approval)
        .await
        .unwrap();
    let names: Vec<&str> = out
        .relabelled
        .iter()
        .map(|p| p.metadata.name.as_str())
        .collect();
    assert_eq!(names, ["blue.p.ws"]);
    assert!(!out.relabelled[0].is_latest());
    let second = out.object;
    assert_eq!(second.spec.revision, 2);
    assert!(second.is_latest());
    assert!(!e.get(&scope(), "blue.p.ws").await.unwrap().is_latest());
    assert!(
        !e.get(&scope(), "blue.p.main").await.unwrap().is_latest(),
        "placeholder never latest"
    );

    // Published -> DeletionProposed -> delete; the next publish reuses number 2.
    let dp = move_to(&e, "blue.p.v2", "DeletionProposed", UpdateKind::Main)
        .await
        .unwrap();
    assert_eq!(dp.spec.lifecycle, "DeletionProposed");
    assert!(dp.is_latest(), "DeletionProposed still counts for latest");
    let deleted = e.delete(&scope(), "blue.p.v2").await.unwrap();
    assert!(!deleted.terminating);
    assert!(
        deleted.object.is_latest(),
        "the deleted object is returned as it was"
    );
    let names: Vec<&str> = deleted
        .relabelled
        .iter()
        .map(|p| p.metadata.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["blue.p.ws"],
        "the new latest is reported for a MODIFIED event"
    );
    assert!(deleted.relabelled[0].is_latest());
    assert!(
        e.get(&scope(), "blue.p.ws").await.unwrap().is_latest(),
        "latest falls back"
    );
    let third = publish(&e, &new_pr("blue", "p", "v3", vec![edit_task("blue.p.ws")])).await;
    assert_eq!(third.spec.revision, 2, "numbers restart after deletions");
}

#[tokio::test]
async fn update_resource_version_rules() {
    let e = engine();
    create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let mut pr = e.get(&scope(), "blue.p.ws").await.unwrap();
    pr.metadata.resource_version.clear();
    let err = e
        .update(&scope(), &alice(), "blue.p.ws", &pr, UpdateKind::Main)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal("resourceVersion must be specified for an update")
    );

    pr.metadata.resource_version = "stale".into();
    let err = e
        .update(&scope(), &alice(), "blue.p.ws", &pr, UpdateKind::Main)
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), 409);
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on packagerevisions.porch.kpt.dev \"blue.p.ws\": the object has been modified; please apply your changes to the latest version and try again"
    );

    let err = e
        .update(&scope(), &alice(), "blue.nope.ws", &pr, UpdateKind::Main)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "packagerevisions.porch.kpt.dev \"blue.nope.ws\" not found"
    );

    // The ref moved between our read and our write: the backend's CAS turns it into a 409.
    let mut fresh = e.get(&scope(), "blue.p.ws").await.unwrap();
    fresh.spec.lifecycle = "Proposed".into();
    e.backend().touch("blue.p.ws");
    let err = e
        .update(&scope(), &alice(), "blue.p.ws", &fresh, UpdateKind::Main)
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), 409);
}

#[tokio::test]
async fn concurrent_update_fails_at_once() {
    let e = engine();
    create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let pr = e.get(&scope(), "blue.p.ws").await.unwrap();
    let held = e
        .locks()
        .try_lock(LockKey::package_revision("ns", "blue.p.ws"))
        .unwrap();
    let err = e
        .update(&scope(), &alice(), "blue.p.ws", &pr, UpdateKind::Main)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on packagerevisions.porch.kpt.dev \"blue.p.ws\": another request is already in progress on package revision \"ns/blue.p.ws\""
    );
    let err = e
        .update_resources(
            &scope(),
            &alice(),
            "blue.p.ws",
            &ResourcesUpdate {
                resource_version: pr.metadata.resource_version.clone(),
                resources: kptfile_only("p"),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on packagerevisionresources.porch.kpt.dev \"blue.p.ws\": another request is already in progress on package revision resources \"ns/blue.p.ws\""
    );
    drop(held);
    assert!(
        e.update(&scope(), &alice(), "blue.p.ws", &pr, UpdateKind::Main)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_second_request_in_flight_fails_without_waiting() {
    let e = engine();
    create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let mut pr = e.get(&scope(), "blue.p.ws").await.unwrap();
    pr.spec.lifecycle = "Proposed".into();

    // Park the first request inside the backend while it holds the revision's lock.
    let gate = e.backend().gate.write().await;
    let (sc, user) = (scope(), alice());
    let first = e.update(&sc, &user, "blue.p.ws", &pr, UpdateKind::Main);
    let second = async {
        tokio::task::yield_now().await;
        let r = e
            .update(&sc, &user, "blue.p.ws", &pr, UpdateKind::Main)
            .await;
        drop(gate);
        r
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.unwrap().object.spec.lifecycle, "Proposed");
    let err = second.unwrap_err();
    assert_eq!(err.http_status(), 409);
    assert!(
        err.to_string().ends_with(
            "another request is already in progress on package revision \"ns/blue.p.ws\""
        )
    );
    assert_eq!(e.locks().held_count(), 0);
}

#[tokio::test]
async fn draft_update_patches_kptfile_with_replace_semantics() {
    let e = engine();
    create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let mut pr = e.get(&scope(), "blue.p.ws").await.unwrap();
    let mut md = PackageMetadata::default();
    md.labels.insert("a".into(), "1".into());
    pr.spec.package_metadata = Some(md.clone());
    pr.spec.readiness_gates = Some(vec!["Ready".into()]);
    pr.metadata.annotations.insert("note".into(), "x".into());
    let out = e
        .update(&scope(), &alice(), "blue.p.ws", &pr, UpdateKind::Main)
        .await
        .unwrap();
    let updated = out.object;
    let kptfile = &e.backend().files_of("blue.p.ws").unwrap()["Kptfile"];
    assert!(kptfile.contains("labels: a=1\n"), "{kptfile}");
    assert!(kptfile.contains("readinessGates: Ready\n"), "{kptfile}");
    assert!(kptfile.contains("rendered: 2\n"), "re-rendered: {kptfile}");
    assert_eq!(
        updated.metadata.annotations.get("note").map(String::as_str),
        Some("x")
    );
    let last = e.ops.patches.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.mode, crate::ops::PatchMode::Replace);
    assert_eq!(last.package_metadata, Some(md));

    // A render failure fails the whole update, lifecycle change included.
    let mut files = e.backend().files_of("blue.p.ws").unwrap();
    files.insert("bad.yaml".into(), "RENDER-FAIL".into());
    let rv = e
        .get(&scope(), "blue.p.ws")
        .await
        .unwrap()
        .metadata
        .resource_version;
    let rec = e.backend().record_of("blue.p.ws").unwrap();
    e.backend().seed(
        crate::record::RevisionRecord {
            workspace_name: "bad".into(),
            commit: String::new(),
            ..rec
        },
        files,
    );
    let err = move_to(&e, "blue.p.bad", "Proposed", UpdateKind::Main)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("Internal error occurred: Error rendering package in kpt function pipeline. Package NOT pushed to remote."));
    assert_eq!(
        e.get(&scope(), "blue.p.bad").await.unwrap().spec.lifecycle,
        "Draft"
    );
    assert!(!rv.is_empty());
}

#[tokio::test]
async fn published_revisions_only_change_metadata_and_lifecycle() {
    let e = engine();
    publish(&e, &new_pr("blue", "p", "v1", vec![])).await;
    let commits = e.backend().commit_count();
    let mut pr = e.get(&scope(), "blue.p.v1").await.unwrap();
    pr.metadata.labels.insert("env".into(), "prod".into());
    let out = e
        .update(&scope(), &alice(), "blue.p.v1", &pr, UpdateKind::Main)
        .await
        .unwrap();
    let updated = out.object;
    assert_eq!(
        updated.metadata.labels.get("env").map(String::as_str),
        Some("prod")
    );
    assert!(updated.is_latest());
    assert_eq!(
        e.backend().commit_count(),
        commits,
        "no render or commit for published revisions"
    );
    let stored = e.metadata_store().peek("ns", "blue.p.v1").unwrap();
    assert!(
        !stored.labels.contains_key(LATEST_REVISION_LABEL),
        "the computed label is never stored"
    );

    let mut changed = e.get(&scope(), "blue.p.v1").await.unwrap();
    changed.spec.workspace_name = "other".into();
    let err = e
        .update(&scope(), &alice(), "blue.p.v1", &changed, UpdateKind::Main)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("spec can only update package with lifecycle value one of Draft,Proposed")
    );

    let mut unlabelled = e.get(&scope(), "blue.p.v1").await.unwrap();
    unlabelled.metadata.labels.remove(LATEST_REVISION_LABEL);
    let err = e
        .update(
            &scope(),
            &alice(),
            "blue.p.v1",
            &unlabelled,
            UpdateKind::Main,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("label is managed by porch and cannot be modified by users")
    );

    // Approval endpoint: Published can only go to DeletionProposed.
    let err = move_to(&e, "blue.p.v1", "Draft", UpdateKind::Approval)
        .await
        .unwrap_err();
    assert!(err.to_string().ends_with(
        "package with Published lifecycle value can only be updated to 'ProposeDeletion'"
    ));
    move_to(&e, "blue.p.v1", "DeletionProposed", UpdateKind::Approval)
        .await
        .unwrap();
    let back = move_to(&e, "blue.p.v1", "Published", UpdateKind::Approval)
        .await
        .unwrap();
    assert_eq!(back.spec.lifecycle, "Published");
}

#[tokio::test]
async fn approval_of_a_draft_is_rejected() {
    let e = engine();
    create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let err = move_to(&e, "blue.p.ws", "Published", UpdateKind::Approval)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PackageRevision.porch.kpt.dev \"blue.p.ws\" is invalid: spec.lifecycle: Invalid value: \"Published\": cannot approve package with Draft lifecycle value; only Proposed packages can be approved"
    );
}

#[tokio::test]
async fn block_owner_deletion_message() {
    let e = engine();
    create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let mut pr = e.get(&scope(), "blue.p.ws").await.unwrap();
    pr.metadata.owner_references.push(OwnerReference {
        kind: "PackageVariant".into(),
        name: "pv".into(),
        block_owner_deletion: Some(true),
        ..OwnerReference::default()
    });
    e.metadata_store().forbid_puts.store(true, Ordering::SeqCst);
    let err = e
        .update(&scope(), &alice(), "blue.p.ws", &pr, UpdateKind::Main)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal(
            "failed to update internal PackageRev object, because blockOwnerDeletion is enabled for some ownerReference (it is likely that the serviceaccount of porch-server does not have the rights to update finalizers in the owner object): packagerevs.config.porch.kpt.dev is forbidden"
        )
    );
}

// ---------------------------------------------------------------- resources

#[tokio::test]
async fn resources_update_rules() {
    let e = engine();
    let created = create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let rv = created.metadata.resource_version.clone();
    let update = |rv: &str, files| ResourcesUpdate {
        resource_version: rv.to_owned(),
        resources: files,
    };

    let err = e
        .update_resources(
            &scope(),
            &alice(),
            "blue.p.ws",
            &update("", kptfile_only("p")),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal("resourceVersion must be specified for an update")
    );
    let err = e
        .update_resources(
            &scope(),
            &alice(),
            "blue.p.ws",
            &update("x", kptfile_only("p")),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on packagerevisionresources.porch.kpt.dev \"blue.p.ws\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let no_kptfile = PackageFiles::from([("a.yaml".to_owned(), "x".to_owned())]);
    let err = e
        .update_resources(&scope(), &alice(), "blue.p.ws", &update(&rv, no_kptfile))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal("package must contain Kptfile at root")
    );
    let err = e
        .update_resources(
            &scope(),
            &alice(),
            "blue.p.nope",
            &update(&rv, kptfile_only("p")),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "packagerevisionresources.porch.kpt.dev \"blue.p.nope\" not found"
    );

    // Replace semantics: README.md is gone, new file added, rendered and committed.
    let mut files = kptfile_only("p");
    files.insert("cm.yaml".into(), "kind: ConfigMap\n".into());
    let done = e
        .update_resources(&scope(), &alice(), "blue.p.ws", &update(&rv, files))
        .await
        .unwrap();
    assert_eq!(
        done.render_status
            .as_ref()
            .map(|s| s.result["items"][0]["image"].clone()),
        Some(serde_json::json!("fake-fn"))
    );
    assert!(!done.files.contains_key("README.md"));
    assert!(done.files["Kptfile"].contains("rendered: 2"));
    assert_ne!(done.package_revision.metadata.resource_version, rv);
    assert_eq!(e.backend().files_of("blue.p.ws").unwrap(), *done.files);

    // Render failure without the annotation: nothing committed.
    let rv = done.package_revision.metadata.resource_version.clone();
    let commits = e.backend().commit_count();
    let mut bad = kptfile_only("p");
    bad.insert("x.yaml".into(), "RENDER-FAIL".into());
    let err = e
        .update_resources(&scope(), &alice(), "blue.p.ws", &update(&rv, bad.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal(
            "error rendering package in kpt function pipeline. Package NOT pushed to remote. Fix locally (until 'kpt fn render' succeeds) and retry. Details: fn.Run failed: RENDER-FAIL found"
        )
    );
    assert_eq!(e.backend().commit_count(), commits);

    // With push-on-render-failure: committed, still an error.
    let mut pr = e.get(&scope(), "blue.p.ws").await.unwrap();
    pr.metadata
        .annotations
        .insert(PUSH_ON_RENDER_FAILURE_ANNOTATION.into(), "true".into());
    e.update(&scope(), &alice(), "blue.p.ws", &pr, UpdateKind::Main)
        .await
        .unwrap();
    let rv = e
        .get(&scope(), "blue.p.ws")
        .await
        .unwrap()
        .metadata
        .resource_version;
    let commits = e.backend().commit_count();
    let err = e
        .update_resources(&scope(), &alice(), "blue.p.ws", &update(&rv, bad))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal(
            "error rendering package in kpt function pipeline. Package pushed to remote despite render failure. Details: fn.Run failed: RENDER-FAIL found"
        )
    );
    assert_eq!(e.backend().commit_count(), commits + 1);
    assert!(
        e.backend()
            .files_of("blue.p.ws")
            .unwrap()
            .contains_key("x.yaml")
    );

    // Only Drafts.
    let rv = move_to(&e, "blue.p.ws", "Proposed", UpdateKind::Main).await;
    assert!(rv.is_err(), "the committed files still fail to render");
    publish(&e, &new_pr("blue", "q", "v1", vec![])).await;
    let rv = e
        .get(&scope(), "blue.q.v1")
        .await
        .unwrap()
        .metadata
        .resource_version;
    let err = e
        .update_resources(
            &scope(),
            &alice(),
            "blue.q.v1",
            &update(&rv, kptfile_only("q")),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        internal(
            "cannot update a package revision with lifecycle value \"Published\"; package must be Draft"
        )
    );
}

#[tokio::test]
async fn reading_a_revision_twice_reads_git_once() {
    let e = engine();
    let created = create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let reads = e.backend().reads.load(Ordering::SeqCst);
    let (_, a) = e
        .get_resources(&scope(), &created.metadata.name)
        .await
        .unwrap();
    let (_, b) = e
        .get_resources(&scope(), &created.metadata.name)
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        e.backend().reads.load(Ordering::SeqCst),
        reads,
        "files written by create are cached"
    );

    let seeded = e.backend().seed(
        record("blue", "other", "ws", 0, Lifecycle::Draft),
        kptfile_only("other"),
    );
    e.get_resources(&scope(), &seeded.name()).await.unwrap();
    e.get_resources(&scope(), &seeded.name()).await.unwrap();
    assert_eq!(e.backend().reads.load(Ordering::SeqCst), reads + 1);
    assert!(e.cache_stats().hits >= 3);
}

// ---------------------------------------------------------------- delete

#[tokio::test]
async fn delete_rules() {
    let e = engine();
    publish(&e, &new_pr("up", "base", "v1", vec![])).await;
    create(
        &e,
        &new_pr("blue", "down", "ws", vec![clone_task("up.base.v1")]),
    )
    .await
    .unwrap();

    let err = e.delete(&scope(), "up.base.v1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "packagerevisions.porch.kpt.dev \"up.base.v1\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion"
    );
    move_to(&e, "up.base.v1", "DeletionProposed", UpdateKind::Main)
        .await
        .unwrap();
    let err = e.delete(&scope(), "up.base.v1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "packagerevisions.porch.kpt.dev \"up.base.v1\" is forbidden: cannot delete package revision, it is referenced as upstream by: blue.down.ws"
    );

    // The placeholder is deletable once proposed for deletion.
    let err = e.delete(&scope(), "up.base.main").await.unwrap_err();
    assert_eq!(err.http_status(), 403);
    move_to(&e, "up.base.main", "DeletionProposed", UpdateKind::Main)
        .await
        .unwrap();
    assert!(
        !e.delete(&scope(), "up.base.main")
            .await
            .unwrap()
            .terminating
    );

    // Drafts are deletable directly; then the upstream is free.
    let out = e.delete(&scope(), "blue.down.ws").await.unwrap();
    assert!(!out.terminating);
    assert_eq!(out.object.metadata.name, "blue.down.ws");
    assert!(e.metadata_store().peek("ns", "blue.down.ws").is_none());
    assert!(!e.delete(&scope(), "up.base.v1").await.unwrap().terminating);
    let err = e.delete(&scope(), "up.base.v1").await.unwrap_err();
    assert_eq!(err.http_status(), 404);
}

#[tokio::test]
async fn finalizers_defer_deletion_until_removed() {
    let e = engine();
    let mut req = new_pr("blue", "p", "ws", vec![]);
    req.metadata.finalizers.push("example.com/hold".into());
    create(&e, &req).await.unwrap();

    let out = e.delete(&scope(), "blue.p.ws").await.unwrap();
    assert!(out.terminating);
    let pr = out.object;
    assert_eq!(
        pr.metadata.deletion_timestamp.as_deref(),
        Some("2026-11-20T00:00:00Z")
    );
    assert!(e.backend().record_of("blue.p.ws").is_some(), "still in git");

    // Updating without removing the finalizer keeps it terminating.
    let pr = e.get(&scope(), "blue.p.ws").await.unwrap();
    assert!(pr.metadata.deletion_timestamp.is_some());
    let mut cleared = pr.clone();
    cleared.metadata.finalizers.clear();
    let out = e
        .update(&scope(), &alice(), "blue.p.ws", &cleared, UpdateKind::Main)
        .await
        .unwrap();
    assert!(out.deleted);
    assert!(e.backend().record_of("blue.p.ws").is_none());
    assert!(e.metadata_store().peek("ns", "blue.p.ws").is_none());
}

// ---------------------------------------------------------------- list

#[tokio::test]
async fn list_filters_sorts_and_hides_v1alpha2() {
    let e = engine();
    publish(&e, &new_pr("blue", "b", "v1", vec![])).await;
    create(&e, &new_pr("blue", "a", "ws", vec![]))
        .await
        .unwrap();
    e.backend().seed(
        record("newapi", "hidden", "ws", 0, Lifecycle::Draft),
        kptfile_only("hidden"),
    );

    let all = e.list(&scope(), &FieldFilter::default()).await.unwrap();
    let names: Vec<&str> = all.iter().map(|p| p.metadata.name.as_str()).collect();
    assert_eq!(names, ["blue.a.ws", "blue.b.main", "blue.b.v1"]);
    assert!(all[2].is_latest());

    let f = FieldFilter::parse("spec.lifecycle=Published,spec.revision=1", "ns").unwrap();
    let only = e.list(&scope(), &f).await.unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].metadata.name, "blue.b.v1");

    let err = e.get(&scope(), "newapi.hidden.ws").await.unwrap_err();
    assert_eq!(err.http_status(), 404);
}

#[tokio::test]
async fn render_status_only_when_functions_reported() {
    let e = engine();
    let created = create(&e, &new_pr("blue", "p", "ws", vec![]))
        .await
        .unwrap();
    let mut files = kptfile_only("p");
    files.insert("quiet.txt".into(), String::new());
    let done = e
        .update_resources(
            &scope(),
            &alice(),
            "blue.p.ws",
            &ResourcesUpdate {
                resource_version: created.metadata.resource_version,
                resources: files,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.render_status, None);
    assert!(done.files.contains_key("quiet.txt"));
}
