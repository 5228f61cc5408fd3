//! End-to-end engine benchmarks over the loopback git server (real `git http-backend`, basic
//! auth, 127.0.0.1), printed as figures and ratios. Run with
//! `cargo bench -p porch-engine --bench loopback` (optionally `-- --iterations N`, and
//! `--only approve` or `--only lifecycle` for one part).
//!
//! 1. Approval scaling: approve a new revision of a package that already has 10 and 1,000
//!    published revisions (target: the second within 2x of the first), the two interleaved,
//!    next to a plain `git push` of the approval's shape into the same two repositories (the
//!    server's own cost of a push grows with the refs it holds).
//! 2. Lifecycle against plain git: create, propose, approve and delete, each timed next to one
//!    plain `git push` of the same shape and size, in the same run (target: within 1.5x).
//!
//! Each figure is the median of the iterations; the engine is warm (one list before timing),
//! as a running server is.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use porch_engine::adapters::git::{StaticCredentials, StaticRepositories};
use porch_engine::adapters::{BackendOptions, FetchPolicy, GitBackend, GitRepoSpec, KptOps};
use porch_engine::model::Task;
use porch_engine::model::{EditTask, InitTask, PackageRevision, RepositoryInfo, RequestUser};
use porch_engine::selectors::FieldFilter;
use porch_engine::testing::InMemoryMetadata;
use porch_engine::{Engine, EngineOptions, Scope, UpdateKind};
use porch_git::Credentials;
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions};

const NS: &str = "bench";
const SECRET: &str = "git-auth";
const USER: &str = "porch";
const PASSWORD: &str = "s3cret";

/// Metadata kept in memory (the kube store is tested against a scripted API server).
type Meta = InMemoryMetadata;

type BenchEngine = Engine<GitBackend<StaticRepositories, StaticCredentials>, Meta, KptOps>;

fn user() -> RequestUser {
    RequestUser {
        name: "bench".into(),
        groups: vec!["system:authenticated".into()],
    }
}

struct Env {
    server: GitServer,
    dir: PathBuf,
    urls: HashMap<String, String>,
}

impl Env {
    async fn add_repo(&mut self, name: &str) {
        let url = self
            .server
            .create_repo(
                name,
                RepoOptions {
                    anonymous_read: false,
                    initial_readme: true,
                },
            )
            .await
            .unwrap();
        self.urls.insert(name.to_owned(), url);
    }

    fn scope(&self, repo: &str) -> Scope {
        Scope {
            namespace: NS.into(),
            repositories: vec![RepositoryInfo {
                namespace: NS.into(),
                name: repo.into(),
                branch: "main".into(),
                ..RepositoryInfo::default()
            }],
        }
    }

    fn engine(&self, cache: &str) -> BenchEngine {
        self.engine_with(cache, BackendOptions::default())
    }

    fn engine_with(&self, cache: &str, options: BackendOptions) -> BenchEngine {
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
                username: USER.into(),
                password: PASSWORD.into(),
            },
        );
        Engine::new(
            GitBackend::new(specs, creds, self.dir.join(cache)).with_options(options),
            Meta::default(),
            KptOps::new(porch_fn_runner::in_process_evaluator(Default::default())),
            EngineOptions::default(),
        )
    }

    /// The repository URL with basic-auth credentials, for the plain git baseline.
    fn authed_url(&self, repo: &str) -> String {
        self.urls[repo].replacen("http://", &format!("http://{USER}:{PASSWORD}@"), 1)
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

const KPTFILE: &str = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ninfo:\n  description: bench package\n";

/// Writes `count` published revisions of `pkg` straight into the served bare repository with
/// `git fast-import`: one approval-shaped commit per revision on `main`, tagged `pkg/vN`.
fn seed_published(bare: &Path, count: i64) {
    let mut stream = Vec::new();
    for n in 1..=count {
        let message = porch_git::annotation::approval_message("pkg", &format!("ws{n}"), n);
        let data = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  n: \"{n}\"\n"
        );
        write!(
            stream,
            "commit refs/heads/main\nmark :{n}\ncommitter Porch <porch@kpt.dev> {} +0000\ndata {}\n{message}",
            1_700_000_000 + n,
            message.len()
        )
        .unwrap();
        if n == 1 {
            stream.extend_from_slice(b"from refs/heads/main^0\n");
        }
        for (path, body) in [("pkg/Kptfile", KPTFILE), ("pkg/cm.yaml", data.as_str())] {
            write!(
                stream,
                "M 100644 inline {path}\ndata {}\n{body}\n",
                body.len()
            )
            .unwrap();
        }
        write!(stream, "reset refs/tags/pkg/v{n}\nfrom :{n}\n\n").unwrap();
    }
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success(), "fast-import failed");
    // fast-import leaves every tag as its own ref file; a served repository with a thousand
    // tags has them packed (its `git gc` runs `pack-refs`), and the server's per-push ref
    // scan would otherwise dominate what is measured here (the engine's own growth).
    let packed = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(["pack-refs", "--all"])
        .status()
        .unwrap()
        .success();
    assert!(packed, "pack-refs failed");
}

fn new_pr(repo: &str, pkg: &str, ws: &str, task: Task) -> PackageRevision {
    let mut p = PackageRevision::default();
    p.metadata.namespace = NS.into();
    p.spec.repository = repo.into();
    p.spec.package_name = pkg.into();
    p.spec.workspace_name = ws.into();
    p.spec.lifecycle = "Draft".into();
    p.spec.tasks = vec![task];
    p
}

fn init_task() -> Task {
    Task {
        task_type: "init".into(),
        init: Some(InitTask {
            description: "bench package".into(),
            ..InitTask::default()
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

async fn move_to(engine: &BenchEngine, scope: &Scope, name: &str, lifecycle: &str) {
    let mut pr = engine.get(scope, name).await.unwrap();
    pr.spec.lifecycle = lifecycle.into();
    let kind = if lifecycle == "Published" {
        UpdateKind::Approval
    } else {
        UpdateKind::Main
    };
    engine
        .update(scope, &user(), name, &pr, kind)
        .await
        .unwrap();
}

/// Times `move_to` only (the get that fetches the current object is outside the timing).
async fn timed_move(engine: &BenchEngine, scope: &Scope, name: &str, lifecycle: &str) -> Duration {
    let mut pr = engine.get(scope, name).await.unwrap();
    pr.spec.lifecycle = lifecycle.into();
    let kind = if lifecycle == "Published" {
        UpdateKind::Approval
    } else {
        UpdateKind::Main
    };
    let start = Instant::now();
    engine
        .update(scope, &user(), name, &pr, kind)
        .await
        .unwrap();
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A repository seeded with `published` published revisions of `pkg`, and a warm engine on it.
struct History {
    repo: String,
    published: i64,
    engine: BenchEngine,
    scope: Scope,
}

async fn history(env: &mut Env, published: i64) -> History {
    let repo = format!("hist{published}");
    env.add_repo(&repo).await;
    let t = Instant::now();
    seed_published(&env.server.repo_dir(&repo), published);
    let seeded = t.elapsed();
    let engine = env.engine(&format!("cache-{repo}"));
    let scope = env.scope(&repo);
    let t = Instant::now();
    let listed = engine.list(&scope, &FieldFilter::default()).await.unwrap();
    println!(
        "  seeded {published} published revisions in {:.0} ms; first list ({} revisions) {:.0} ms",
        ms(seeded),
        listed.len(),
        ms(t.elapsed())
    );
    History {
        repo,
        published,
        engine,
        scope,
    }
}

/// Creates and proposes a new revision of `pkg` (edit of the newest), then times its approval.
async fn approve_once(h: &History, i: usize) -> Duration {
    let (repo, published) = (&h.repo, h.published);
    let source = format!("{repo}.pkg.ws{published}");
    let ws = format!("new{i}");
    h.engine
        .create(
            &h.scope,
            &user(),
            &new_pr(repo, "pkg", &ws, edit_task(&source)),
        )
        .await
        .unwrap();
    let name = format!("{repo}.pkg.{ws}");
    move_to(&h.engine, &h.scope, &name, "Proposed").await;
    let took = timed_move(&h.engine, &h.scope, &name, "Published").await;
    let got = h.engine.get(&h.scope, &name).await.unwrap();
    assert_eq!(got.spec.revision, published + 1 + i as i64);
    took
}

/// Baseline: one plain `git push` of the approval's shape (branch, new tag `pkg/v<n>`, branch
/// deletion) from a full clone: what any client pays to push into this repository.
fn plain_approval_push(env: &Env, h: &History, plain: &Path, i: usize, n: i64) -> Duration {
    let url = env.authed_url(&h.repo);
    git(plain, &["commit", "-q", "--allow-empty", "-m", "draft"]);
    let draft = git(plain, &["rev-parse", "HEAD"]);
    let branch = format!("refs/heads/plain/drafts/{i}");
    timed_push(plain, &url, &[format!("{draft}:{branch}")]);
    git(plain, &["commit", "-q", "--allow-empty", "-m", "approve"]);
    let merged = git(plain, &["rev-parse", "HEAD"]);
    timed_push(
        plain,
        &url,
        &[
            format!("{merged}:refs/heads/main"),
            format!("{merged}:refs/tags/pkg/v{n}"),
            format!(":{branch}"),
        ],
    )
}

/// Approval with 10 and with 1,000 published revisions, the two interleaved iteration by
/// iteration (so that load from elsewhere on the machine falls on both alike), next to the
/// plain git push of the same shape into the same repositories.
async fn approval_scaling(env: &mut Env, iterations: usize) {
    println!("approval with published history, median of {iterations}:");
    let histories = [history(env, 10).await, history(env, 1000).await];
    let mut engine: [Vec<Duration>; 2] = Default::default();
    for i in 0..iterations {
        for (h, samples) in histories.iter().zip(&mut engine) {
            samples.push(approve_once(h, i).await);
        }
    }
    let clones: Vec<PathBuf> = histories
        .iter()
        .map(|h| baseline_clone(env, &h.repo))
        .collect();
    let mut plain: [Vec<Duration>; 2] = Default::default();
    for i in 0..iterations {
        for ((h, dir), samples) in histories.iter().zip(&clones).zip(&mut plain) {
            let n = h.published + (iterations + i + 1) as i64;
            samples.push(plain_approval_push(env, h, dir, i, n));
        }
    }
    let [small, large] = engine.map(median);
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    let verdict = if ratio <= 2.0 { "ok" } else { "OVER 2x" };
    println!(
        "  approve with 10 published: {:.1} ms; with 1000 published: {:.1} ms; ratio {ratio:.2}x  [{verdict}]",
        ms(small),
        ms(large)
    );
    let [small, large] = plain.map(median);
    println!(
        "  plain git push of the same shape with 10: {:.1} ms; with 1000: {:.1} ms; ratio {:.2}x",
        ms(small),
        ms(large),
        large.as_secs_f64() / small.as_secs_f64()
    );
}

/// A plain clone of `repo` for the git baseline, with its own branch namespace.
fn baseline_clone(env: &Env, repo: &str) -> PathBuf {
    let dir = env.dir.join(format!("plain-{repo}"));
    let out = Command::new("git")
        .args(["clone", "-q", &env.authed_url(repo)])
        .arg(&dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(&dir, &["config", "user.name", "bench"]);
    git(&dir, &["config", "user.email", "bench@example.com"]);
    dir
}

/// One timed `git push` of `refspecs` from the plain clone (atomic, like porch's pushes).
fn timed_push(dir: &Path, url: &str, refspecs: &[String]) -> Duration {
    let start = Instant::now();
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["push", "-q", "--atomic", url])
        .args(refspecs)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// A new commit in the plain clone holding `files` under `pkg/` (on a detached head).
fn plain_commit(
    dir: &Path,
    pkg: &str,
    files: &std::collections::BTreeMap<String, String>,
) -> String {
    for (path, body) in files {
        let p = dir.join(pkg).join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", &format!("plain {pkg}")]);
    git(dir, &["rev-parse", "HEAD"])
}

#[derive(Default)]
struct Pair {
    engine: Vec<Duration>,
    git: Vec<Duration>,
}

impl Pair {
    fn print(&self, what: &str) {
        let e = median(self.engine.clone());
        let g = median(self.git.clone());
        let ratio = e.as_secs_f64() / g.as_secs_f64();
        let verdict = if ratio <= 1.5 { "ok" } else { "OVER 1.5x" };
        println!(
            "  {what:<8} engine {:>7.1} ms   git push {:>7.1} ms   ratio {ratio:>5.2}x  [{verdict}]",
            ms(e),
            ms(g)
        );
    }
}

async fn lifecycle_vs_git(env: &mut Env, iterations: usize, fresh_for: Duration) {
    let repo = if fresh_for.is_zero() {
        "life-nowindow"
    } else {
        "life"
    };
    env.add_repo(repo).await;
    let engine = env.engine_with(
        &format!("cache-{repo}"),
        BackendOptions {
            fetch: FetchPolicy { fresh_for },
            ..BackendOptions::default()
        },
    );
    let scope = env.scope(repo);
    engine.list(&scope, &FieldFilter::default()).await.unwrap();
    let fetches_before = engine.backend().network_fetches();
    let pushes_before = engine.backend().network_pushes();
    let plain = baseline_clone(env, repo);
    let url = env.authed_url(repo);
    let (mut create, mut propose, mut approve, mut delete) = (
        Pair::default(),
        Pair::default(),
        Pair::default(),
        Pair::default(),
    );
    for i in 0..iterations {
        let pkg = format!("life{i}");
        let name = format!("{repo}.{pkg}.v1");

        let start = Instant::now();
        engine
            .create(&scope, &user(), &new_pr(repo, &pkg, "v1", init_task()))
            .await
            .unwrap();
        create.engine.push(start.elapsed());
        let (_, files) = engine.get_resources(&scope, &name).await.unwrap();
        // Baseline: the same files as one new commit on a new branch.
        let commit = plain_commit(&plain, &format!("plain{i}"), &files);
        let draft = format!("refs/heads/plain/drafts/{i}");
        create
            .git
            .push(timed_push(&plain, &url, &[format!("{commit}:{draft}")]));

        propose
            .engine
            .push(timed_move(&engine, &scope, &name, "Proposed").await);
        // Baseline: the same ref move (new branch at the commit, old branch deleted).
        let proposed = format!("refs/heads/plain/proposed/{i}");
        propose.git.push(timed_push(
            &plain,
            &url,
            &[format!("{commit}:{proposed}"), format!(":{draft}")],
        ));

        approve
            .engine
            .push(timed_move(&engine, &scope, &name, "Published").await);
        // Baseline: a merge-sized commit on a branch, a tag, the proposed branch deleted.
        git(&plain, &["commit", "-q", "--allow-empty", "-m", "approve"]);
        let merged = git(&plain, &["rev-parse", "HEAD"]);
        approve.git.push(timed_push(
            &plain,
            &url,
            &[
                format!("{merged}:refs/heads/plain/main"),
                format!("{merged}:refs/tags/plain{i}/v1"),
                format!(":{proposed}"),
            ],
        ));

        move_to(&engine, &scope, &name, "DeletionProposed").await;
        let start = Instant::now();
        engine.delete(&scope, &name).await.unwrap();
        delete.engine.push(start.elapsed());
        // Baseline: the tag and a branch deleted.
        timed_push(&plain, &url, &[format!("{merged}:refs/heads/plain/dp/{i}")]);
        delete.git.push(timed_push(
            &plain,
            &url,
            &[
                format!(":refs/tags/plain{i}/v1"),
                format!(":refs/heads/plain/dp/{i}"),
            ],
        ));
    }
    let fetches = engine.backend().network_fetches() - fetches_before;
    let pushes = engine.backend().network_pushes() - pushes_before;
    println!(
        "lifecycle on loopback, fetch window {} ms, median of {iterations} (engine op vs one plain git push of the same shape; per create+propose+approve+propose-deletion+delete incl. untimed reads: {:.1} fetches, {:.1} pushes):",
        fresh_for.as_millis(),
        fetches as f64 / iterations as f64,
        pushes as f64 / iterations as f64
    );
    create.print("create");
    propose.print("propose");
    approve.print("approve");
    delete.print("delete");
}

fn iterations() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(9)
}

/// `--only approve` runs the approval-scaling part only; `--only lifecycle` the lifecycle part.
fn only() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` and nextest run this binary
    // without it (or with `--list`): nothing to do there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let iterations = iterations();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let server = GitServer::start(
            dir.path().join("server"),
            ServerOptions::with_user(USER, PASSWORD),
        )
        .await
        .unwrap();
        let mut env = Env {
            server,
            dir: dir.path().to_path_buf(),
            urls: HashMap::new(),
        };

        let only = only();
        let run = |part: &str| only.as_deref().is_none_or(|o| o == part);
        if run("approve") {
            approval_scaling(&mut env, iterations).await;
        }
        if run("lifecycle") {
            lifecycle_vs_git(&mut env, iterations, FetchPolicy::default().fresh_for).await;
            lifecycle_vs_git(&mut env, iterations, Duration::ZERO).await;
        }
        env.server.stop().await;
    });
}
