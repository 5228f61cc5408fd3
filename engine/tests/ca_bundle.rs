#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A Repository served over HTTPS with a private CA (upstream's `--use-user-cabundle`): with the
//! option the engine trusts the namespace's `<namespace>-ca-bundle` Secret (key `ca.crt`) for
//! reads (gix) and pushes (git CLI); without it the certificate is refused; with it and no such
//! Secret the error names the Secret.

use porch_engine::adapters::git::{StaticCredentials, StaticRepositories};
use porch_engine::adapters::{BackendOptions, GitBackend, GitRepoSpec, KptOps};
use porch_engine::backend::{BackendError, RepositoryBackend};
use porch_engine::model::Task;
use porch_engine::model::{InitTask, PackageRevision, RepositoryInfo, RequestUser};
use porch_engine::testing::InMemoryMetadata;
use porch_engine::{Engine, EngineOptions, Scope, UpdateKind};
use porch_git::Credentials;
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions, ServerTls};

const NS: &str = "secure-ns";
const SECRET: &str = "git-auth";
const CA_SECRET: &str = "secure-ns-ca-bundle";

/// Metadata kept in memory (the kube store is tested against a scripted API server).
type Meta = InMemoryMetadata;

type TestEngine = Engine<GitBackend<StaticRepositories, StaticCredentials>, Meta, KptOps>;

fn private_ca() -> (String, ServerTls) {
    ServerTls::with_private_ca("porch-engine test CA").unwrap()
}

fn engine(
    dir: &std::path::Path,
    url: &str,
    ca_pem: Option<&str>,
    use_user_ca_bundle: bool,
) -> TestEngine {
    let specs = StaticRepositories::new();
    specs.insert(
        NS,
        "secure",
        GitRepoSpec {
            url: url.to_owned(),
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
    if let Some(pem) = ca_pem {
        creds.insert_ca_bundle(NS, CA_SECRET, pem);
    }
    let options = BackendOptions {
        use_user_ca_bundle,
        ..BackendOptions::default()
    };
    Engine::new(
        GitBackend::new(specs, creds, dir).with_options(options),
        Meta::default(),
        KptOps::new(porch_fn_runner::in_process_evaluator(Default::default())),
        EngineOptions {
            use_user_ca_bundle,
            ..EngineOptions::default()
        },
    )
}

fn info() -> RepositoryInfo {
    RepositoryInfo {
        namespace: NS.into(),
        name: "secure".into(),
        branch: "main".into(),
        ..RepositoryInfo::default()
    }
}

fn user() -> RequestUser {
    RequestUser {
        name: "alice".into(),
        groups: vec!["system:authenticated".into()],
    }
}

#[tokio::test]
async fn a_repository_behind_a_private_ca_needs_the_namespace_ca_bundle() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, tls) = private_ca();
    let mut opts = ServerOptions::with_user("porch", "s3cret");
    opts.tls = Some(tls);
    let server = GitServer::start(dir.path().join("server"), opts)
        .await
        .unwrap();
    let url = server
        .create_repo(
            "secure",
            RepoOptions {
                anonymous_read: false,
                initial_readme: true,
            },
        )
        .await
        .unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let scope = Scope {
        namespace: NS.into(),
        repositories: vec![info()],
    };

    // With the option and the secret: create (push), propose (push) and read (fetch).
    let trusted = engine(&dir.path().join("a"), &url, Some(&ca_pem), true);
    let mut pr = PackageRevision::default();
    pr.metadata.namespace = NS.into();
    pr.spec.repository = "secure".into();
    pr.spec.package_name = "pkg".into();
    pr.spec.workspace_name = "ws".into();
    pr.spec.lifecycle = "Draft".into();
    pr.spec.tasks = vec![Task {
        task_type: "init".into(),
        init: Some(InitTask {
            description: "behind a private CA".into(),
            ..InitTask::default()
        }),
        ..Task::default()
    }];
    trusted.create(&scope, &user(), &pr).await.unwrap();
    let mut got = trusted.get(&scope, "secure.pkg.ws").await.unwrap();
    got.spec.lifecycle = "Proposed".into();
    trusted
        .update(&scope, &user(), "secure.pkg.ws", &got, UpdateKind::Main)
        .await
        .unwrap();
    let (ok, out) = git_in(
        &server.repo_dir("secure"),
        &["rev-parse", "--verify", "-q", "refs/heads/proposed/pkg/ws"],
    );
    assert!(ok, "{out}");
    let listed = trusted.backend().list_revisions(&info()).await.unwrap();
    assert!(listed.iter().any(|r| r.name() == "secure.pkg.ws"));

    // Without the option the same secret is not used: the certificate is refused.
    let plain = engine(&dir.path().join("b"), &url, Some(&ca_pem), false);
    let err = plain.backend().list_revisions(&info()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, BackendError::Other(_)), "{err:?}");
    assert!(
        text.contains("not trusted") && text.contains(&url),
        "{text}"
    );

    // With the option and no secret: an error naming the secret.
    let missing = engine(&dir.path().join("c"), &url, None, true);
    let err = missing.backend().list_revisions(&info()).await.unwrap_err();
    assert_eq!(
        err,
        BackendError::NotFound(format!(
            "cannot resolve the CA bundle in secret {NS}/{CA_SECRET} (key ca.crt, read because --use-user-cabundle is set): secrets \"{CA_SECRET}\" not found"
        ))
    );

    // A secret that holds no certificate: refused, without echoing its content.
    let garbage = engine(
        &dir.path().join("d"),
        &url,
        Some("not-a-certificate-xyz"),
        true,
    );
    let err = garbage.backend().list_revisions(&info()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("CA bundle"), "{text}");
    assert!(!text.contains("not-a-certificate-xyz"), "{text}");
    server.stop().await;
}

fn git_in(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}
