#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The engine over real git (porch-git against `git http-backend` on 127.0.0.1 with basic
//! auth), the kpt library and the fn-runner's native evaluator.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use porch_engine::adapters::git::{StaticCredentials, StaticRepositories};
use porch_engine::adapters::{BackendOptions, FetchPolicy, GitBackend, GitRepoSpec, KptOps};
use porch_engine::backend::{BackendError, CommitTask, DraftCommit, RepositoryBackend};
use porch_engine::model::{
    CloneTask, EditTask, GitPackage, InitTask, PackageRevision, RepositoryInfo, RequestUser, Task,
    UpstreamPackage,
};
use porch_engine::selectors::FieldFilter;
use porch_engine::testing::InMemoryMetadata;
use porch_engine::{Engine, EngineError, EngineOptions, ResourcesUpdate, Scope, UpdateKind};
use porch_git::Credentials;
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions};

const NS: &str = "ns";
const SECRET: &str = "git-auth";

/// Metadata kept in memory (the kube store is tested against a scripted API server).
type Meta = InMemoryMetadata;

type TestEngine = Engine<GitBackend<StaticRepositories, StaticCredentials>, Meta, KptOps>;

struct Env {
    server: GitServer,
    dir: tempfile::TempDir,
    scope: Scope,
    urls: HashMap<String, String>,
}

fn user() -> RequestUser {
    RequestUser {
        name: "alice".into(),
        groups: vec!["system:authenticated".into()],
    }
}

impl Env {
    async fn start(repos: &[(&str, bool)]) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let server = GitServer::start(
            dir.path().join("server"),
            ServerOptions::with_user("porch", "s3cret"),
        )
        .await
        .unwrap();
        let mut scope = Scope {
            namespace: NS.into(),
            repositories: Vec::new(),
        };
        let mut urls = HashMap::new();
        for (name, deployment) in repos {
            let url = server
                .create_repo(
                    name,
                    RepoOptions {
                        anonymous_read: false,
                        initial_readme: true,
                    },
                )
                .await
                .unwrap();
            urls.insert((*name).to_owned(), url);
            scope.repositories.push(RepositoryInfo {
                namespace: NS.into(),
                name: (*name).into(),
                branch: "main".into(),
                deployment: *deployment,
                ..RepositoryInfo::default()
            });
        }
        Env {
            server,
            dir,
            scope,
            urls,
        }
    }

    /// An engine with its own cache directory (one per simulated process).
    fn engine(&self, cache: &str) -> TestEngine {
        self.engine_with(cache, BackendOptions::default())
    }

    /// Like [`engine`](Self::engine) with explicit caching knobs.
    fn engine_with(&self, cache: &str, options: BackendOptions) -> TestEngine {
        let specs = StaticRepositories::new();
        for (name, url) in &self.urls {
            specs.insert(
                NS,
                name,
                GitRepoSpec {
                    url: url.clone(),
                    branch: "main".into(),
                    secret_ref: Some(SECRET.into()),
                    ..GitRepoSpec::default()
                },
            );
        }
        let creds = StaticCredentials::new();
        creds.insert(
            NS,
            SECRET,
            Credentials::Basic {
                username: "porch".into(),
                password: "s3cret".into(),
            },
        );
        let evaluator = porch_fn_runner::in_process_evaluator(Default::default());
        Engine::new(
            GitBackend::new(specs, creds, self.dir.path().join(cache)).with_options(options),
            Meta::default(),
            KptOps::new(evaluator),
            EngineOptions::default(),
        )
    }

    fn repo(&self, name: &str) -> RepositoryInfo {
        self.scope.repository(name).unwrap().clone()
    }

    /// `git` against the served bare repository.
    fn git(&self, repo: &str, args: &[&str]) -> (bool, String) {
        git_in(&self.server.repo_dir(repo), args)
    }

    fn rev_parse(&self, repo: &str, r: &str) -> Option<String> {
        let (ok, out) = self.git(repo, &["rev-parse", "--verify", "-q", r]);
        ok.then(|| out.trim().to_owned())
    }
}

fn git_in(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn init_task(description: &str) -> Task {
    Task {
        task_type: "init".into(),
        init: Some(InitTask {
            description: description.into(),
            ..InitTask::default()
        }),
        ..Task::default()
    }
}

fn new_pr(repo: &str, pkg: &str, ws: &str, tasks: Vec<Task>) -> PackageRevision {
    let mut p = PackageRevision::default();
    p.metadata.namespace = NS.into();
    p.spec.repository = repo.into();
    p.spec.package_name = pkg.into();
    p.spec.workspace_name = ws.into();
    p.spec.lifecycle = "Draft".into();
    p.spec.tasks = tasks;
    p
}

async fn move_to(env: &Env, engine: &TestEngine, name: &str, lifecycle: &str) -> PackageRevision {
    let mut pr = engine.get(&env.scope, name).await.unwrap();
    pr.spec.lifecycle = lifecycle.into();
    let kind = if lifecycle == "Published" {
        UpdateKind::Approval
    } else {
        UpdateKind::Main
    };
    engine
        .update(&env.scope, &user(), name, &pr, kind)
        .await
        .unwrap()
        .object
}

/// Creates `repo.<pkg>.<ws>` with an init task.
async fn create_init(env: &Env, engine: &TestEngine, pkg: &str, ws: &str) -> PackageRevision {
    engine
        .create(
            &env.scope,
            &user(),
            &new_pr("repo", pkg, ws, vec![init_task(pkg)]),
        )
        .await
        .unwrap()
}

async fn publish(env: &Env, engine: &TestEngine, name: &str) -> PackageRevision {
    move_to(env, engine, name, "Proposed").await;
    move_to(env, engine, name, "Published").await
}

#[tokio::test]
async fn init_propose_approve_and_copy_to_v2() {
    let env = Env::start(&[("repo", false)]).await;
    let engine = env.engine("cache-a");

    let created = engine
        .create(
            &env.scope,
            &user(),
            &new_pr("repo", "basens", "v1", vec![init_task("a namespace")]),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.name, "repo.basens.v1");
    assert_eq!(created.spec.lifecycle, "Draft");
    let draft = env
        .rev_parse("repo", "refs/heads/drafts/basens/v1")
        .expect("draft branch");
    assert_eq!(created.metadata.resource_version, draft);
    let (_, msg) = env.git("repo", &["log", "-1", "--format=%B", &draft]);
    assert!(msg.contains("kpt:"), "{msg}");
    assert!(msg.contains("\"init\""), "{msg}");
    let (_, kptfile) = env.git("repo", &["show", &format!("{draft}:basens/Kptfile")]);
    assert!(kptfile.contains("name: basens"), "{kptfile}");
    assert!(kptfile.contains("a namespace"), "{kptfile}");
    // The commit author is the authenticated user.
    let (_, author) = env.git("repo", &["log", "-1", "--format=%an <%ae>", &draft]);
    assert_eq!(author.trim(), "alice <alice>");

    let proposed = move_to(&env, &engine, "repo.basens.v1", "Proposed").await;
    assert_eq!(proposed.spec.lifecycle, "Proposed");
    assert!(
        env.rev_parse("repo", "refs/heads/proposed/basens/v1")
            .is_some()
    );
    assert!(
        env.rev_parse("repo", "refs/heads/drafts/basens/v1")
            .is_none()
    );

    let published = move_to(&env, &engine, "repo.basens.v1", "Published").await;
    assert_eq!(published.spec.revision, 1);
    assert_eq!(published.status.published_by, "alice");
    assert!(published.is_latest());
    let tag = env
        .rev_parse("repo", "refs/tags/basens/v1^{commit}")
        .expect("tag");
    let main = env.rev_parse("repo", "refs/heads/main").unwrap();
    assert_eq!(tag, main);
    assert_eq!(published.metadata.resource_version, tag);
    let (_, msg) = env.git("repo", &["log", "-1", "--format=%s", &main]);
    assert_eq!(msg.trim(), "Approving package revision basens/1");
    assert!(
        env.rev_parse("repo", "refs/heads/proposed/basens/v1")
            .is_none()
    );
    let lock = published.status.self_lock.clone().unwrap();
    assert_eq!(lock.git_ref, "basens/v1");
    assert_eq!(lock.commit, tag);

    // A second revision copied from v1 (edit task), published as v2.
    let copy = Task {
        task_type: "edit".into(),
        edit: Some(EditTask {
            source_ref: Some("repo.basens.v1".into()),
        }),
        ..Task::default()
    };
    engine
        .create(
            &env.scope,
            &user(),
            &new_pr("repo", "basens", "v2", vec![copy]),
        )
        .await
        .unwrap();
    let v2 = publish(&env, &engine, "repo.basens.v2").await;
    assert_eq!(v2.spec.revision, 2);
    assert!(env.rev_parse("repo", "refs/tags/basens/v2").is_some());
    let all = engine
        .list(&env.scope, &FieldFilter::default())
        .await
        .unwrap();
    let latest: Vec<_> = all
        .iter()
        .filter(|p| p.is_latest())
        .map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(latest, vec!["repo.basens.v2".to_owned()]);
    // The placeholder revision on main is listed too.
    assert!(
        all.iter()
            .any(|p| p.metadata.name == "repo.basens.main" && p.spec.revision == -1)
    );
    // Tasks come back from the commit annotations.
    let v1 = engine.get(&env.scope, "repo.basens.v1").await.unwrap();
    assert_eq!(
        v1.spec.tasks.first().map(|t| t.task_type.as_str()),
        Some("init")
    );
    env.server.stop().await;
}

#[tokio::test]
async fn clone_from_registered_upstream_and_from_git_url() {
    let env = Env::start(&[("blueprints", false), ("deploy", true)]).await;
    let engine = env.engine("cache");
    engine
        .create(
            &env.scope,
            &user(),
            &new_pr("blueprints", "basens", "v1", vec![init_task("bp")]),
        )
        .await
        .unwrap();
    publish(&env, &engine, "blueprints.basens.v1").await;
    let tag = env
        .rev_parse("blueprints", "refs/tags/basens/v1^{commit}")
        .unwrap();

    let clone = |upstream: UpstreamPackage| Task {
        task_type: "clone".into(),
        clone: Some(CloneTask { upstream }),
        ..Task::default()
    };
    let from_ref = clone(UpstreamPackage {
        upstream_ref: Some("blueprints.basens.v1".into()),
        ..UpstreamPackage::default()
    });
    let cloned = engine
        .create(
            &env.scope,
            &user(),
            &new_pr("deploy", "site1", "ws", vec![from_ref]),
        )
        .await
        .unwrap();
    let lock = cloned.status.upstream_lock.clone().expect("upstream lock");
    assert_eq!(lock.commit, tag);
    let (_, files) = env
        .engine("other")
        .get_resources(&env.scope, "deploy.site1.ws")
        .await
        .map(|(_, f)| ((), f))
        .unwrap();
    let kf = files.get("Kptfile").unwrap();
    assert!(kf.contains("name: site1"), "{kf}");
    assert!(kf.contains(&tag), "{kf}");
    // A deployment repository gets a package context naming the new package.
    let ctx = files.get("package-context.yaml").expect("package context");
    assert!(ctx.contains("name: site1"), "{ctx}");

    let from_url = clone(UpstreamPackage {
        origin_type: "git".into(),
        git: Some(GitPackage {
            repo: env.urls["blueprints"].clone(),
            git_ref: "v1".into(),
            directory: "basens".into(),
            secret_ref: Some(SECRET.into()),
        }),
        ..UpstreamPackage::default()
    });
    let by_url = engine
        .create(
            &env.scope,
            &user(),
            &new_pr("deploy", "site2", "ws", vec![from_url]),
        )
        .await
        .unwrap();
    let lock = by_url.status.upstream_lock.expect("upstream lock");
    assert_eq!(
        lock.commit, tag,
        "ref v1 in directory basens is the tag basens/v1"
    );
    assert_eq!(lock.git_ref, "v1");
    assert_eq!(lock.directory, "basens");

    let missing = clone(UpstreamPackage {
        origin_type: "git".into(),
        git: Some(GitPackage {
            repo: env.urls["blueprints"].clone(),
            git_ref: "v9".into(),
            directory: "basens".into(),
            secret_ref: Some(SECRET.into()),
        }),
        ..UpstreamPackage::default()
    });
    let err = engine
        .create(
            &env.scope,
            &user(),
            &new_pr("deploy", "site3", "ws", vec![missing]),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("v9"), "{err}");
    assert!(
        env.rev_parse("deploy", "refs/heads/drafts/site3/ws")
            .is_none()
    );
    env.server.stop().await;
}

const CONFIGMAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm # keep me\ndata:\n  a: b\n";

fn kptfile_with(image: &str) -> String {
    format!(
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\npipeline:\n  mutators:\n  - image: {image}\n    configMap:\n      namespace: team-a\n"
    )
}

#[tokio::test]
async fn resources_update_renders_and_failed_render_is_not_committed() {
    let env = Env::start(&[("repo", false)]).await;
    let engine = env.engine("cache");
    let created = engine
        .create(
            &env.scope,
            &user(),
            &new_pr("repo", "app", "ws", vec![init_task("app")]),
        )
        .await
        .unwrap();
    let mut files = engine
        .get_resources(&env.scope, "repo.app.ws")
        .await
        .unwrap()
        .1
        .as_ref()
        .clone();
    files.insert(
        "Kptfile".into(),
        kptfile_with("ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.4.5"),
    );
    files.insert("cm.yaml".into(), CONFIGMAP.into());
    let updated = engine
        .update_resources(
            &env.scope,
            &user(),
            "repo.app.ws",
            &ResourcesUpdate {
                resource_version: created.metadata.resource_version.clone(),
                resources: files.clone(),
            },
        )
        .await
        .unwrap();
    let head = env.rev_parse("repo", "refs/heads/drafts/app/ws").unwrap();
    assert_eq!(updated.package_revision.metadata.resource_version, head);
    let (_, cm) = env.git("repo", &["show", &format!("{head}:app/cm.yaml")]);
    assert!(cm.contains("namespace: team-a"), "{cm}");
    assert!(cm.contains("# keep me"), "{cm}");
    let (_, kf) = env.git("repo", &["show", &format!("{head}:app/Kptfile")]);
    assert!(kf.contains("type: Rendered"), "{kf}");
    let (_, msg) = env.git("repo", &["log", "-1", "--format=%s", &head]);
    assert_eq!(msg.trim(), "Rendering package");
    assert!(
        updated
            .package_revision
            .status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.condition_type == "Rendered" && c.status == "True"),
        "{:?}",
        updated.package_revision.status.conditions
    );

    // A function that cannot run: nothing is committed.
    files.insert("Kptfile".into(), kptfile_with("example.com/no/such-fn:v1"));
    let err = engine
        .update_resources(
            &env.scope,
            &user(),
            "repo.app.ws",
            &ResourcesUpdate {
                resource_version: head.clone(),
                resources: files,
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Package NOT pushed to remote"),
        "{err}"
    );
    assert_eq!(
        env.rev_parse("repo", "refs/heads/drafts/app/ws").unwrap(),
        head
    );
    env.server.stop().await;
}

#[tokio::test]
async fn delete_draft_and_published_revisions() {
    let env = Env::start(&[("repo", false)]).await;
    let engine = env.engine("cache");
    engine
        .create(
            &env.scope,
            &user(),
            &new_pr("repo", "gone", "ws", vec![init_task("d")]),
        )
        .await
        .unwrap();
    let out = engine.delete(&env.scope, "repo.gone.ws").await.unwrap();
    assert!(!out.terminating);
    assert!(env.rev_parse("repo", "refs/heads/drafts/gone/ws").is_none());

    engine
        .create(
            &env.scope,
            &user(),
            &new_pr("repo", "pub", "v1", vec![init_task("p")]),
        )
        .await
        .unwrap();
    publish(&env, &engine, "repo.pub.v1").await;
    let err = engine.delete(&env.scope, "repo.pub.v1").await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Forbidden { .. }
                | EngineError::BadRequest(_)
                | EngineError::Invalid { .. }
        ),
        "{err:?}"
    );
    assert!(env.rev_parse("repo", "refs/tags/pub/v1").is_some());

    let proposed = move_to(&env, &engine, "repo.pub.v1", "DeletionProposed").await;
    assert_eq!(proposed.spec.lifecycle, "DeletionProposed");
    assert!(
        env.rev_parse("repo", "refs/heads/deletionProposed/pub/v1")
            .is_some()
    );
    engine.delete(&env.scope, "repo.pub.v1").await.unwrap();
    assert!(env.rev_parse("repo", "refs/tags/pub/v1").is_none());
    assert!(
        env.rev_parse("repo", "refs/heads/deletionProposed/pub/v1")
            .is_none()
    );
    // The package stays on main.
    let main = env.rev_parse("repo", "refs/heads/main").unwrap();
    assert!(
        env.git("repo", &["cat-file", "-e", &format!("{main}:pub/Kptfile")])
            .0
    );
    env.server.stop().await;
}

#[tokio::test]
async fn concurrent_writers_in_two_engines_never_lose_a_commit() {
    let env = Env::start(&[("repo", false)]).await;
    let a = env.engine("cache-a");
    let b = env.engine("cache-b");
    let created = a
        .create(
            &env.scope,
            &user(),
            &new_pr("repo", "shared", "ws", vec![init_task("s")]),
        )
        .await
        .unwrap();
    let seen_by_b = b.get(&env.scope, "repo.shared.ws").await.unwrap();
    assert_eq!(
        seen_by_b.metadata.resource_version,
        created.metadata.resource_version
    );
    let record_b = b
        .backend()
        .list_revisions(&env.repo("repo"))
        .await
        .unwrap()
        .iter()
        .find(|r| r.name() == "repo.shared.ws")
        .unwrap()
        .clone();

    let mut files = a
        .get_resources(&env.scope, "repo.shared.ws")
        .await
        .unwrap()
        .1
        .as_ref()
        .clone();
    files.insert("a.yaml".into(), CONFIGMAP.into());
    let by_a = a
        .update_resources(
            &env.scope,
            &user(),
            "repo.shared.ws",
            &ResourcesUpdate {
                resource_version: created.metadata.resource_version.clone(),
                resources: files.clone(),
            },
        )
        .await
        .unwrap();
    let head = by_a.package_revision.metadata.resource_version.clone();

    // B writes from the version it read: 409 from the engine...
    files.insert("b.yaml".into(), CONFIGMAP.into());
    let err = b
        .update_resources(
            &env.scope,
            &user(),
            "repo.shared.ws",
            &ResourcesUpdate {
                resource_version: created.metadata.resource_version.clone(),
                resources: files.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on packagerevisionresources.porch.kpt.dev \"repo.shared.ws\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // ...and Stale from git itself when the backend is handed the old commit.
    let stale = b
        .backend()
        .update_draft(
            &env.repo("repo"),
            &record_b,
            DraftCommit {
                files,
                task: CommitTask::Render,
                author: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(stale, BackendError::Stale(_)), "{stale:?}");
    assert_eq!(
        env.rev_parse("repo", "refs/heads/drafts/shared/ws")
            .unwrap(),
        head
    );
    let (_, tree) = env.git(
        "repo",
        &["ls-tree", "--name-only", &format!("{head}:shared")],
    );
    assert!(
        tree.contains("a.yaml") && !tree.contains("b.yaml"),
        "{tree}"
    );

    // A lifecycle change from B's stale view is refused too.
    let mut stale_pr = seen_by_b;
    stale_pr.spec.lifecycle = "Proposed".into();
    let err = b
        .update(
            &env.scope,
            &user(),
            "repo.shared.ws",
            &stale_pr,
            UpdateKind::Main,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict { .. }), "{err:?}");
    assert!(
        env.rev_parse("repo", "refs/heads/drafts/shared/ws")
            .is_some()
    );
    env.server.stop().await;
}

fn window(fresh_for: Duration) -> BackendOptions {
    BackendOptions {
        fetch: FetchPolicy { fresh_for },
        spec_ttl: Duration::from_secs(60),
        ..BackendOptions::default()
    }
}

#[tokio::test]
async fn reads_within_the_fetch_window_do_not_fetch_and_writes_do_not_refetch() {
    let env = Env::start(&[("repo", false)]).await;
    let engine = env.engine_with("cache", window(Duration::from_secs(60)));
    let all = FieldFilter::default();
    engine.list(&env.scope, &all).await.unwrap();
    let opened = engine.backend().network_fetches();
    assert_eq!(opened, 1, "opening the repository fetches once");
    for _ in 0..3 {
        engine.list(&env.scope, &all).await.unwrap();
    }
    let concurrent = (0..4).map(|_| engine.list(&env.scope, &all));
    futures::future::join_all(concurrent).await;
    assert_eq!(engine.backend().network_fetches(), opened);

    // A write records its own push in the cache: it is listed without another fetch.
    engine
        .create(
            &env.scope,
            &user(),
            &new_pr("repo", "pkg", "ws", vec![init_task("p")]),
        )
        .await
        .unwrap();
    let draft = env.rev_parse("repo", "refs/heads/drafts/pkg/ws").unwrap();
    let listed = engine.get(&env.scope, "repo.pkg.ws").await.unwrap();
    assert_eq!(listed.metadata.resource_version, draft);
    let published = publish(&env, &engine, "repo.pkg.ws").await;
    assert_eq!(published.spec.revision, 1);
    assert_eq!(engine.backend().network_fetches(), opened);

    // With no window every read fetches (and nothing is shared between sequential reads).
    let eager = env.engine_with("cache-eager", window(Duration::ZERO));
    eager.list(&env.scope, &all).await.unwrap();
    let before = eager.backend().network_fetches();
    eager.list(&env.scope, &all).await.unwrap();
    eager.list(&env.scope, &all).await.unwrap();
    assert_eq!(eager.backend().network_fetches(), before + 2);
    env.server.stop().await;
}

#[tokio::test]
async fn a_write_from_a_stale_cache_is_refused_by_the_lease_and_the_next_read_fetches() {
    let env = Env::start(&[("repo", false)]).await;
    let a = env.engine_with("cache-a", window(Duration::from_secs(60)));
    let b = env.engine_with("cache-b", window(Duration::from_secs(60)));
    let created = a
        .create(
            &env.scope,
            &user(),
            &new_pr("repo", "shared", "ws", vec![init_task("s")]),
        )
        .await
        .unwrap();
    let seen = b.get(&env.scope, "repo.shared.ws").await.unwrap();
    assert_eq!(
        seen.metadata.resource_version,
        created.metadata.resource_version
    );

    let mut files = a
        .get_resources(&env.scope, "repo.shared.ws")
        .await
        .unwrap()
        .1
        .as_ref()
        .clone();
    files.insert("a.yaml".into(), CONFIGMAP.into());
    let by_a = a
        .update_resources(
            &env.scope,
            &user(),
            "repo.shared.ws",
            &ResourcesUpdate {
                resource_version: created.metadata.resource_version.clone(),
                resources: files.clone(),
            },
        )
        .await
        .unwrap();
    let head = by_a.package_revision.metadata.resource_version;

    // Inside its window B still serves what it read...
    let fetches = b.backend().network_fetches();
    let stale = b.get(&env.scope, "repo.shared.ws").await.unwrap();
    assert_eq!(
        stale.metadata.resource_version,
        created.metadata.resource_version
    );
    assert_eq!(b.backend().network_fetches(), fetches);
    // ...but a write from that view is refused by git (the push lease), not applied.
    files.insert("b.yaml".into(), CONFIGMAP.into());
    let err = b
        .update_resources(
            &env.scope,
            &user(),
            "repo.shared.ws",
            &ResourcesUpdate {
                resource_version: created.metadata.resource_version.clone(),
                resources: files,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict { .. }), "{err:?}");
    assert_eq!(
        env.rev_parse("repo", "refs/heads/drafts/shared/ws")
            .unwrap(),
        head
    );
    // The refusal made B's cache stale: the next read fetches and sees A's commit.
    let fresh = b.get(&env.scope, "repo.shared.ws").await.unwrap();
    assert_eq!(fresh.metadata.resource_version, head);
    assert!(b.backend().network_fetches() > fetches);
    env.server.stop().await;
}

/// Namespace isolation: a revision of namespace `ns` can never read or reference a Repository,
/// a package revision or a Secret of namespace `other`, even when a Repository of `other` is
/// handed to the engine by mistake.
#[tokio::test]
async fn references_into_another_namespace_are_not_found() {
    const OTHER: &str = "other";
    const OTHER_SECRET: &str = "other-only";
    let env = Env::start(&[("blueprints", false), ("deploy", true)]).await;
    let creds = || Credentials::Basic {
        username: "porch".into(),
        password: "s3cret".into(),
    };
    let specs = StaticRepositories::new();
    let spec = |name: &str| GitRepoSpec {
        url: env.urls[name].clone(),
        branch: "main".into(),
        secret_ref: Some(SECRET.into()),
        ..GitRepoSpec::default()
    };
    // blueprints is registered in `other` only; deploy in `ns`.
    specs.insert(OTHER, "blueprints", spec("blueprints"));
    specs.insert(NS, "deploy", spec("deploy"));
    let secrets = StaticCredentials::new();
    secrets.insert(NS, SECRET, creds());
    secrets.insert(OTHER, SECRET, creds());
    secrets.insert(OTHER, OTHER_SECRET, creds());
    let engine: TestEngine = Engine::new(
        GitBackend::new(specs, secrets, env.dir.path().join("cache")),
        Meta::default(),
        KptOps::new(porch_fn_runner::in_process_evaluator(Default::default())),
        EngineOptions::default(),
    );
    let blueprints = |namespace: &str| RepositoryInfo {
        namespace: namespace.into(),
        name: "blueprints".into(),
        branch: "main".into(),
        ..RepositoryInfo::default()
    };
    let other = Scope {
        namespace: OTHER.into(),
        repositories: vec![blueprints(OTHER)],
    };
    let mut pr = new_pr("blueprints", "basens", "v1", vec![init_task("bp")]);
    pr.metadata.namespace = OTHER.into();
    engine.create(&other, &user(), &pr).await.unwrap();
    for lifecycle in ["Proposed", "Published"] {
        let mut pr = engine.get(&other, "blueprints.basens.v1").await.unwrap();
        pr.spec.lifecycle = lifecycle.into();
        let kind = if lifecycle == "Published" {
            UpdateKind::Approval
        } else {
            UpdateKind::Main
        };
        engine
            .update(&other, &user(), "blueprints.basens.v1", &pr, kind)
            .await
            .unwrap();
    }

    // The scope of `ns`, with `other`'s Repository leaked into it.
    let ns = Scope {
        namespace: NS.into(),
        repositories: vec![blueprints(OTHER), env.repo("deploy")],
    };
    let in_ns = |pkg: &str, task: Task| new_pr("deploy", pkg, "v1", vec![task]);
    let create_err = |pr: PackageRevision| {
        let engine = &engine;
        let ns = &ns;
        async move {
            engine
                .create(ns, &user(), &pr)
                .await
                .unwrap_err()
                .to_string()
        }
    };

    // Reads: the revision of `other` is neither listed nor found.
    let listed = engine.list(&ns, &FieldFilter::default()).await.unwrap();
    assert!(
        listed.iter().all(|p| p.spec.repository == "deploy"),
        "{listed:?}"
    );
    let err = engine.get(&ns, "blueprints.basens.v1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "packagerevisions.porch.kpt.dev \"blueprints.basens.v1\" not found"
    );

    // A create in the Repository of `other`.
    let mut pr = new_pr("blueprints", "x", "v1", vec![init_task("x")]);
    pr.metadata.namespace = NS.into();
    assert_eq!(
        create_err(pr).await,
        "repositories.config.porch.kpt.dev \"blueprints\" not found"
    );

    // Clone by upstreamRef.
    let clone = |upstream: UpstreamPackage| Task {
        task_type: "clone".into(),
        clone: Some(CloneTask { upstream }),
        ..Task::default()
    };
    let by_ref = clone(UpstreamPackage {
        upstream_ref: Some("blueprints.basens.v1".into()),
        ..UpstreamPackage::default()
    });
    assert_eq!(
        create_err(in_ns("site1", by_ref)).await,
        "Internal error occurred: cannot find package revision \"blueprints.basens.v1\""
    );

    // Upgrade: old and new upstream in `other`, local in `ns`.
    engine
        .create(&ns, &user(), &in_ns("local", init_task("l")))
        .await
        .unwrap();
    let upgrade = Task {
        task_type: "upgrade".into(),
        upgrade: Some(porch_engine::model::UpgradeTask {
            old_upstream: "blueprints.basens.v1".into(),
            new_upstream: "blueprints.basens.v1".into(),
            local_package_revision: "deploy.local.v1".into(),
            ..Default::default()
        }),
        ..Task::default()
    };
    let mut pr = in_ns("local", upgrade);
    pr.spec.workspace_name = "v2".into();
    assert_eq!(
        create_err(pr).await,
        "Internal error occurred: cannot find package revision \"blueprints.basens.v1\""
    );

    // Clone from a git URL with a Secret that exists only in `other`.
    let by_url = clone(UpstreamPackage {
        origin_type: "git".into(),
        git: Some(GitPackage {
            repo: env.urls["blueprints"].clone(),
            git_ref: "basens/v1".into(),
            directory: "basens".into(),
            secret_ref: Some(OTHER_SECRET.into()),
        }),
        ..UpstreamPackage::default()
    });
    assert_eq!(
        create_err(in_ns("site2", by_url)).await,
        "Internal error occurred: cannot resolve credentials in a secret ns/other-only: secrets \"other-only\" not found"
    );
    for draft in ["site1", "site2"] {
        assert!(
            env.rev_parse("deploy", &format!("refs/heads/drafts/{draft}/v1"))
                .is_none()
        );
    }
    env.server.stop().await;
}

/// Repository specs that count their reads.
struct CountingSpecs {
    inner: StaticRepositories,
    reads: std::sync::atomic::AtomicUsize,
}

impl porch_engine::adapters::RepositorySpecs for CountingSpecs {
    async fn git_spec(&self, namespace: &str, name: &str) -> Result<GitRepoSpec, BackendError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.git_spec(namespace, name).await
    }
}

#[tokio::test]
async fn repository_specs_and_secrets_are_reused_within_their_ttl() {
    let env = Env::start(&[("repo", false)]).await;
    let backend = |ttl: Duration| {
        let inner = StaticRepositories::new();
        inner.insert(
            NS,
            "repo",
            GitRepoSpec {
                url: env.urls["repo"].clone(),
                branch: "main".into(),
                secret_ref: Some(SECRET.into()),
                ..GitRepoSpec::default()
            },
        );
        let creds = StaticCredentials::new();
        creds.insert(
            NS,
            SECRET,
            Credentials::Basic {
                username: "porch".into(),
                password: "s3cret".into(),
            },
        );
        let specs = CountingSpecs {
            inner,
            reads: Default::default(),
        };
        GitBackend::new(
            specs,
            creds,
            env.dir.path().join(format!("cache-{}", ttl.as_secs())),
        )
        .with_options(BackendOptions {
            fetch: FetchPolicy::default(),
            spec_ttl: ttl,
            ..BackendOptions::default()
        })
    };
    let reads = |b: &GitBackend<CountingSpecs, StaticCredentials>| {
        b.specs().reads.load(std::sync::atomic::Ordering::SeqCst)
    };
    let cached = backend(Duration::from_secs(60));
    let uncached = backend(Duration::ZERO);
    for _ in 0..4 {
        cached.list_revisions(&env.repo("repo")).await.unwrap();
        uncached.list_revisions(&env.repo("repo")).await.unwrap();
    }
    assert_eq!(reads(&cached), 1);
    assert_eq!(reads(&uncached), 4);
    env.server.stop().await;
}

/// Draft → Proposed renders, commits and moves the refs in ONE git push (upstream closes a draft
/// with one push too), and fetches nothing first, even with no window: the push is leased on
/// the commit the request names.
#[tokio::test]
async fn proposing_a_draft_is_one_push() {
    let env = Env::start(&[("repo", false)]).await;
    for (cache, pkg, fresh_for, fetches_per_propose) in [
        ("cache-window", "pkg", Duration::from_secs(60), 0),
        ("cache-eager", "eager", Duration::ZERO, 0),
    ] {
        let engine = env.engine_with(cache, window(fresh_for));
        let ws = "ws";
        let name = format!("repo.{pkg}.{ws}");
        let created = engine
            .create(
                &env.scope,
                &user(),
                &new_pr("repo", pkg, ws, vec![init_task("p")]),
            )
            .await
            .unwrap();
        let draft = created.metadata.resource_version.clone();
        let mut pr = engine.get(&env.scope, &name).await.unwrap();
        pr.spec.lifecycle = "Proposed".into();
        let (pushes, fetches) = (
            engine.backend().network_pushes(),
            engine.backend().network_fetches(),
        );
        let proposed = engine
            .update(&env.scope, &user(), &name, &pr, UpdateKind::Main)
            .await
            .unwrap()
            .object;
        assert_eq!(engine.backend().network_pushes(), pushes + 1, "{cache}");
        assert_eq!(
            engine.backend().network_fetches(),
            fetches + fetches_per_propose,
            "{cache}"
        );

        // The wire result is unchanged: a render commit on the draft, proposed at it, the
        // draft branch gone.
        assert_eq!(proposed.spec.lifecycle, "Proposed");
        let head = env
            .rev_parse("repo", &format!("refs/heads/proposed/{pkg}/{ws}"))
            .unwrap();
        assert_eq!(proposed.metadata.resource_version, head);
        assert!(
            env.rev_parse("repo", &format!("refs/heads/drafts/{pkg}/{ws}"))
                .is_none()
        );
        assert_eq!(
            env.rev_parse("repo", &format!("{head}^")).unwrap(),
            draft,
            "the render commit sits on the draft"
        );
        let (_, msg) = env.git("repo", &["log", "-1", "--format=%B", &head]);
        assert!(msg.starts_with("Rendering package"), "{msg}");
        assert!(msg.contains("\"render\""), "{msg}");
        let (_, author) = env.git("repo", &["log", "-1", "--format=%an <%ae>", &head]);
        assert_eq!(author.trim(), "alice <alice>");
        // Read back through the engine (its cache recorded the push).
        let got = engine.get(&env.scope, &name).await.unwrap();
        assert_eq!(got.spec.lifecycle, "Proposed");
        assert_eq!(got.metadata.resource_version, head);
    }
    env.server.stop().await;
}

/// A leased update starts from the cached listing (no fetch, even with no window) when the
/// request names the cached commit: a newer commit elsewhere makes the push fail (409, nothing
/// applied); a request naming a commit the cache has not seen yet reads fresh and succeeds; an
/// update git would not refuse (metadata only) always reads fresh.
#[tokio::test]
async fn leased_updates_start_from_the_cache_and_stale_views_are_refused() {
    let env = Env::start(&[("repo", false)]).await;
    let a = env.engine_with("cache-a", window(Duration::ZERO));
    let b = env.engine_with("cache-b", window(Duration::ZERO));
    let mut heads = Vec::new();
    for pkg in ["newer", "older"] {
        let name = format!("repo.{pkg}.ws");
        let created = a
            .create(
                &env.scope,
                &user(),
                &new_pr("repo", pkg, "ws", vec![init_task("p")]),
            )
            .await
            .unwrap();
        // B caches the first commit; A then commits on the draft.
        let seen = b.get(&env.scope, &name).await.unwrap();
        assert_eq!(
            seen.metadata.resource_version,
            created.metadata.resource_version
        );
        let mut files = a
            .get_resources(&env.scope, &name)
            .await
            .unwrap()
            .1
            .as_ref()
            .clone();
        files.insert("a.yaml".into(), CONFIGMAP.into());
        let by_a = a
            .update_resources(
                &env.scope,
                &user(),
                &name,
                &ResourcesUpdate {
                    resource_version: created.metadata.resource_version.clone(),
                    resources: files,
                },
            )
            .await
            .unwrap();
        heads.push((seen, by_a.package_revision.metadata.resource_version));
    }

    // A request naming A's commit, which B's cache has not seen: B reads fresh and proposes it.
    let (seen, head) = heads[0].clone();
    let mut request = seen.clone();
    request.metadata.resource_version = head.clone();
    request.spec.lifecycle = "Proposed".into();
    let proposed = b
        .update(
            &env.scope,
            &user(),
            "repo.newer.ws",
            &request,
            UpdateKind::Main,
        )
        .await
        .unwrap()
        .object;
    let tip = env
        .rev_parse("repo", "refs/heads/proposed/newer/ws")
        .unwrap();
    assert_eq!(proposed.metadata.resource_version, tip);
    assert_eq!(env.rev_parse("repo", &format!("{tip}^")).unwrap(), head);

    // A request naming the commit B cached, which A has replaced: refused by the push lease.
    let (seen, head) = heads[1].clone();
    let (fetches, pushes) = (b.backend().network_fetches(), b.backend().network_pushes());
    let mut request = seen;
    request.spec.lifecycle = "Proposed".into();
    let err = b
        .update(
            &env.scope,
            &user(),
            "repo.older.ws",
            &request,
            UpdateKind::Main,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict { .. }), "{err:?}");
    assert_eq!(
        env.rev_parse("repo", "refs/heads/drafts/older/ws").unwrap(),
        head
    );
    assert!(
        env.rev_parse("repo", "refs/heads/proposed/older/ws")
            .is_none()
    );
    // The push was tried (nothing fetched before it) and refused; the refusal refetched.
    assert_eq!(b.backend().network_pushes(), pushes + 1);
    assert_eq!(b.backend().network_fetches(), fetches + 1);

    // A metadata-only update (nothing in git to lease) reads fresh.
    let mut current = b.get(&env.scope, "repo.newer.ws").await.unwrap();
    current.metadata.labels.insert("team".into(), "a".into());
    let fetches = b.backend().network_fetches();
    let pushes = b.backend().network_pushes();
    b.update(
        &env.scope,
        &user(),
        "repo.newer.ws",
        &current,
        UpdateKind::Main,
    )
    .await
    .unwrap();
    assert_eq!(b.backend().network_fetches(), fetches + 1);
    assert_eq!(b.backend().network_pushes(), pushes);
    env.server.stop().await;
}

/// With no fetch window, approving and deleting a published revision fetch only for the read
/// that finds it, and push once. The pushes' leases stand in for a second fetch: the tag is
/// leased on the commit read, so a tag another process moved or deleted refuses the deletion
/// (409 / 404) and is left as it is.
#[tokio::test]
async fn approval_and_deletion_fetch_only_for_the_read_and_the_tag_lease_refuses_a_moved_tag() {
    let env = Env::start(&[("repo", false)]).await;
    let engine = env.engine_with("cache", window(Duration::ZERO));
    let counts = || {
        (
            engine.backend().network_fetches(),
            engine.backend().network_pushes(),
        )
    };
    for pkg in ["one", "moved", "gone"] {
        let name = format!("repo.{pkg}.v1");
        create_init(&env, &engine, pkg, "v1").await;
        move_to(&env, &engine, &name, "Proposed").await;
        let mut pr = engine.get(&env.scope, &name).await.unwrap();
        pr.spec.lifecycle = "Published".into();
        let (fetches, pushes) = counts();
        let published = engine
            .update(&env.scope, &user(), &name, &pr, UpdateKind::Approval)
            .await
            .unwrap()
            .object;
        assert_eq!(published.spec.revision, 1);
        assert_eq!(counts(), (fetches + 1, pushes + 1), "approving {name}");
        move_to(&env, &engine, &name, "DeletionProposed").await;
    }
    let (fetches, pushes) = counts();
    engine.delete(&env.scope, "repo.one.v1").await.unwrap();
    assert_eq!(counts(), (fetches + 1, pushes + 1));
    assert!(env.rev_parse("repo", "refs/tags/one/v1").is_none());
    assert!(
        env.rev_parse("repo", "refs/heads/deletionProposed/one/v1")
            .is_none()
    );

    // Another process moves one tag and deletes the other after this engine read them.
    let records = engine
        .backend()
        .list_revisions(&env.repo("repo"))
        .await
        .unwrap();
    let record = |pkg: &str| {
        records
            .iter()
            .find(|r| r.package_name == pkg && r.revision == 1)
            .unwrap()
            .clone()
    };
    let main = env.rev_parse("repo", "refs/heads/main").unwrap();
    assert!(
        env.git("repo", &["update-ref", "refs/tags/moved/v1", &main])
            .0
    );
    assert!(
        env.git("repo", &["update-ref", "-d", "refs/tags/gone/v1"])
            .0
    );

    let err = engine
        .backend()
        .delete(&env.repo("repo"), &record("moved"))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::Stale(_)), "{err:?}");
    assert_eq!(
        env.rev_parse("repo", "refs/tags/moved/v1").as_deref(),
        Some(main.as_str())
    );
    let err = engine
        .backend()
        .delete(&env.repo("repo"), &record("gone"))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::NotFound(_)), "{err:?}");
    // Nothing else of the refused deletions was applied.
    for dp in ["moved", "gone"] {
        assert!(
            env.rev_parse("repo", &format!("refs/heads/deletionProposed/{dp}/v1"))
                .is_some()
        );
    }
    env.server.stop().await;
}

/// A cold engine (a restarted process) derives every revision in one discovery pass; what it
/// lists equals what the engine that made the revisions lists.
#[tokio::test]
async fn a_cold_engine_lists_what_the_writing_engine_lists() {
    let env = Env::start(&[("repo", false)]).await;
    let writer = env.engine("cache-a");
    for pkg in ["alpha", "beta"] {
        create_init(&env, &writer, pkg, "v1").await;
        publish(&env, &writer, &format!("repo.{pkg}.v1")).await;
    }
    create_init(&env, &writer, "gamma", "draft").await;
    let all = FieldFilter::default();
    let view = |list: Vec<PackageRevision>| {
        list.into_iter()
            .map(|p| (p.metadata.name, p.spec, p.status))
            .collect::<Vec<_>>()
    };
    let warm = view(writer.list(&env.scope, &all).await.unwrap());
    let cold = view(env.engine("cache-b").list(&env.scope, &all).await.unwrap());
    // Two published revisions, their placeholders and a draft.
    assert_eq!(warm.len(), 5, "{warm:#?}");
    assert_eq!(cold, warm);
    let (_, spec, status) = warm
        .iter()
        .find(|(name, _, _)| name == "repo.alpha.v1")
        .expect("alpha v1 listed");
    assert_eq!(status.published_by, "alice");
    assert_eq!(
        spec.tasks.first().map(|t| t.task_type.as_str()),
        Some("init")
    );
}
