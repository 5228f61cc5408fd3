#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End to end on the `porch` binary: `porch standalone` as a child process, the loopback git
//! server in this process, seeded from the conformance bundle (`../shared/conformance`).
//!
//! Register the repository (with basic-auth credentials), see its 16 revisions with the right
//! latest markers, push a new package revision from outside with plain `git`, ask for a
//! one-off sync (`spec.sync.runOnceAt`, as `porchctl repo sync` does) and see it appear, stop
//! the git server and see `Ready` False naming the URL (never the password) while kubectl
//! still lists the cached revisions, start the git server again on the same port and data
//! and see the repository recover on its own. Every wait is a bounded poll.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use porch_crds::config::v1alpha1::{GitRepository, Repository, RepositorySpec, SecretRef};
use porch_e2e::standalone::Standalone;
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions};
use serde_json::{Value, json};

const NS: &str = "default";
const REPO: &str = "test-blueprints";
const GIT_REPO: &str = "nephio/test-blueprints";
const USER: &str = "nephio";
const PASSWORD: &str = "pw-e2e-0451";

fn shared_dir() -> PathBuf {
    std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../shared/conformance")
        })
}

/// Poll `probe` every 200 ms until it returns `Ok`, for at most `limit`; on timeout panic with
/// the last reason.
async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(reason) if start.elapsed() > limit => {
                panic!("timed out after {limit:?} waiting for {what}: {reason}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn run(program: &str, args: &[&str], cwd: &Path) -> Result<String, String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `kubectl get packagerevisions -o json`: name -> (revision, latest label).
async fn kubectl_package_revisions(
    kubeconfig: &Path,
    cache: &Path,
) -> Result<BTreeMap<String, (i64, bool)>, String> {
    let kc = kubeconfig.display().to_string();
    let cache = cache.display().to_string();
    let out = run(
        "kubectl",
        &[
            "--kubeconfig",
            &kc,
            "--cache-dir",
            &cache,
            "get",
            "packagerevisions",
            "-n",
            NS,
            "-o",
            "json",
        ],
        Path::new("."),
    )
    .await?;
    let list: Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let name = item["metadata"]["name"].as_str().unwrap_or("").to_string();
            let revision = item["spec"]["revision"].as_i64().unwrap_or(0);
            let latest = item["metadata"]["labels"]["kpt.dev/latest-revision"] == "true";
            (name, (revision, latest))
        })
        .collect())
}

/// The 16 revisions of the bundle (`cases/rpkg-get.yaml`) and which are latest.
fn bundle_revisions() -> BTreeMap<String, (i64, bool)> {
    let rows: &[(&str, i64, bool)] = &[
        ("basens.main", -1, false),
        ("basens.v1", 1, false),
        ("basens.v2", 2, false),
        ("basens.v3", 3, false),
        ("basens.v4", 4, true),
        ("bucket.main", -1, false),
        ("bucket.v1", 1, true),
        ("empty.main", -1, false),
        ("empty.v1", 1, true),
        ("redis-bucket.main", -1, false),
        ("redis-bucket.v1", 1, true),
        ("unready.main", -1, false),
        ("unready.v1", 1, true),
        ("update.main", -1, false),
        ("update.v1", 1, false),
        ("update.v2", 2, true),
    ];
    rows.iter()
        .map(|(n, r, l)| (format!("{REPO}.{n}"), (*r, *l)))
        .collect()
}

fn ready_condition(repo: &Repository) -> Option<(String, String, String)> {
    repo.status.as_ref().and_then(|s| {
        s.conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
    })
}

/// Ask for a one-off sync now, as `porchctl repo sync` does (without its one-minute minimum).
async fn sync_now(repos: &Api<Repository>) {
    let at = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    repos
        .patch(
            REPO,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"sync": {"runOnceAt": at}}})),
        )
        .await
        .unwrap();
}

fn git_server_options(port: u16) -> ServerOptions {
    ServerOptions {
        port,
        ..ServerOptions::with_user(USER, PASSWORD)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_syncs_a_git_repository_end_to_end() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bundle = shared_dir().join("test-blueprints.bundle");
    if !bundle.is_file() {
        eprintln!("skipping: {} not present", bundle.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let git_root = tmp.path().join("git");
    let git = GitServer::start(&git_root, git_server_options(0))
        .await
        .unwrap();
    let port = git.addr().port();
    let url = git
        .seed_from_bundle(GIT_REPO, &bundle, RepoOptions::default())
        .await
        .unwrap();

    let porch = Standalone::start(
        Path::new(env!("CARGO_BIN_EXE_porch")),
        &tmp.path().join("porch"),
        tmp.path(),
        "info,porch_operators=debug",
    );
    let kubeconfig = porch.kubeconfig.clone();
    let client = porch.client().await;
    let kubectl_cache = tmp.path().join("kubectl-cache");

    // 1. Register the repository with basic-auth credentials.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "test-blueprints-auth", "namespace": NS},
        "type": "kubernetes.io/basic-auth",
        "stringData": {"username": USER, "password": PASSWORD}
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let repos: Api<Repository> = Api::namespaced(client.clone(), NS);
    let repository = Repository::new(
        REPO,
        RepositorySpec {
            description: "Test Blueprints".into(),
            type_: Some(porch_crds::config::v1alpha1::RepositoryType::Git),
            git: Some(GitRepository {
                repo: url.clone(),
                secret_ref: Some(SecretRef {
                    name: "test-blueprints-auth".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    repos
        .create(&PostParams::default(), &repository)
        .await
        .unwrap();

    // 2. All 16 revisions, with the latest markers of rpkg-get.yaml, through kubectl.
    let expected = bundle_revisions();
    eventually(
        "the 16 bundle revisions",
        Duration::from_secs(60),
        || async {
            let got = kubectl_package_revisions(&kubeconfig, &kubectl_cache).await?;
            (got == expected)
                .then_some(())
                .ok_or_else(|| format!("{got:?}"))
        },
    )
    .await;
    eventually(
        "Ready True with 16 packages",
        Duration::from_secs(30),
        || async {
            let r = repos.get(REPO).await.map_err(|e| e.to_string())?;
            let ready = ready_condition(&r).is_some_and(|c| c.0 == "True");
            let count = r.status.as_ref().map(|s| s.package_count);
            (ready && count == Some(16))
                .then_some(())
                .ok_or_else(|| format!("{:?}", r.status))
        },
    )
    .await;

    // 3. Someone else publishes basens v5 the upstream way: a commit on main, tag basens/v5.
    let work = tmp.path().join("clone");
    let push_url = url.replacen("http://", &format!("http://{USER}:{PASSWORD}@"), 1);
    run(
        "git",
        &["clone", "-q", &push_url, &work.display().to_string()],
        tmp.path(),
    )
    .await
    .unwrap();
    std::fs::write(
        work.join("basens/added-by-e2e.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: added-by-e2e\ndata:\n  k: v\n",
    )
    .unwrap();
    for args in [
        &["add", "basens/added-by-e2e.yaml"][..],
        &[
            "-c",
            "user.name=e2e",
            "-c",
            "user.email=e2e@example.com",
            "commit",
            "-q",
            "-m",
            "basens: add a ConfigMap",
        ],
        &["tag", "basens/v5"],
        &["push", "-q", "origin", "main", "basens/v5"],
    ] {
        run("git", args, &work).await.unwrap();
    }
    sync_now(&repos).await;
    let mut after_push = expected.clone();
    after_push.insert(format!("{REPO}.basens.v5"), (5, true));
    after_push.insert(format!("{REPO}.basens.v4"), (4, false));
    eventually(
        "basens.v5 after the push",
        Duration::from_secs(60),
        || async {
            let got = kubectl_package_revisions(&kubeconfig, &kubectl_cache).await?;
            (got == after_push)
                .then_some(())
                .ok_or_else(|| format!("{got:?}"))
        },
    )
    .await;
    // The one-off sync ran once: the controller records and clears runOnceAt.
    let synced = eventually("runOnceAt cleared", Duration::from_secs(30), || async {
        let r = repos.get(REPO).await.map_err(|e| e.to_string())?;
        let pending = r.spec.sync.as_ref().and_then(|s| s.run_once_at.clone());
        let observed = r
            .status
            .as_ref()
            .and_then(|s| s.observed_run_once_at.clone());
        (pending.is_none() && observed.is_some() && r.status.as_ref().unwrap().package_count == 17)
            .then_some(r.clone())
            .ok_or_else(|| format!("spec.sync {:?}, status {:?}", r.spec.sync, r.status))
    })
    .await;
    assert_eq!(ready_condition(&synced).unwrap().0, "True");

    // 4. The git server goes away: Ready False naming the URL, no credential; the cached
    // revisions are still served.
    git.stop().await;
    sync_now(&repos).await;
    let (_, reason, message) = eventually("Ready False", Duration::from_secs(60), || async {
        let r = repos.get(REPO).await.map_err(|e| e.to_string())?;
        match ready_condition(&r) {
            Some((status, reason, message)) if status == "False" && reason == "Error" => {
                Ok((status, reason, message))
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(reason, "Error");
    assert!(message.contains(&url), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    assert_eq!(
        kubectl_package_revisions(&kubeconfig, &kubectl_cache)
            .await
            .unwrap(),
        after_push,
        "the cached revisions stay served while the repository is unreachable"
    );

    // 5. The git server comes back on the same port with the same data: the repository
    // recovers by itself (the error backoff of a refused connection is 30 s).
    let git = GitServer::start(&git_root, git_server_options(port))
        .await
        .unwrap();
    eventually("Ready True again", Duration::from_secs(120), || async {
        let r = repos.get(REPO).await.map_err(|e| e.to_string())?;
        match ready_condition(&r) {
            Some((status, _, _)) if status == "True" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(
        kubectl_package_revisions(&kubeconfig, &kubectl_cache)
            .await
            .unwrap(),
        after_push
    );
    let log = porch.log();
    assert!(!log.contains(PASSWORD), "a credential reached the log");
    drop(porch);
    git.stop().await;
}
