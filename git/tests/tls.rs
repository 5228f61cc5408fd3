#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! HTTPS with a private CA (upstream's `<namespace>-ca-bundle` secret): reads
//! through gix and pushes through the git CLI trust the bundle; without it the
//! error says the certificate is not trusted and where the CA goes.

mod common;

use common::{PASSWORD, USER, basic, config, package};
use porch_git::testserver::{GitServer, RepoOptions, ServerOptions, ServerTls};
use porch_git::{
    CaBundle, ConnectionOptions, GitError, GitRemote as _, GitRepository, HttpRemote, NewDraft,
    RefUpdate,
};

fn private_ca() -> (String, ServerTls) {
    ServerTls::with_private_ca("porch-git test CA").unwrap()
}

fn with_ca(pem: &str) -> ConnectionOptions {
    ConnectionOptions {
        ca_bundle: Some(CaBundle::from_pem(pem)),
        ..Default::default()
    }
}

#[tokio::test]
async fn https_with_a_private_ca() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, tls) = private_ca();
    let mut opts = ServerOptions::with_user(USER, PASSWORD);
    opts.tls = Some(tls);
    let server = GitServer::start(dir.path().join("srv"), opts)
        .await
        .unwrap();
    assert!(server.url().starts_with("https://127.0.0.1:"));
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
    let cfg = config(&url);

    // Trusting the CA: clone (gix), push (git CLI), approve, refresh elsewhere.
    let a = GitRepository::open_with_options(cfg.clone(), &with_ca(&ca_pem), dir.path().join("a"))
        .await
        .unwrap();
    let d = a
        .create_draft(NewDraft {
            package: "p".into(),
            workspace: "w".into(),
            files: package("p", &[]),
            task: None,
            user: None,
        })
        .await
        .unwrap();
    let v1 = a.approve(&d, None).await.unwrap();
    let b = GitRepository::open_with_options(cfg.clone(), &with_ca(&ca_pem), dir.path().join("b"))
        .await
        .unwrap();
    let listed = b.list().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|r| r.commit == v1.commit && r.key.revision == 1)
    );
    assert!(!b.refresh().await.unwrap().changed);

    // Without the CA: reads fail with a clear error naming the URL.
    let err = GitRepository::open(cfg.clone(), dir.path().join("c"))
        .await
        .unwrap_err();
    eprintln!("error: {err}");
    let text = err.to_string();
    assert!(text.contains(&url), "{text}");
    assert!(
        text.contains("not trusted") && text.contains("ca.crt"),
        "{text}"
    );
    // ("secret" itself occurs in the advice; the header value must not.)
    assert!(!text.contains("bmVwaGlvOnNlY3JldA"), "{text}");

    // ... and so do pushes (git CLI) from a cache that has the objects.
    let remote = HttpRemote::new(&url, Some(&basic()));
    let err = remote
        .push(
            a.cache_dir(),
            vec![RefUpdate {
                name: "refs/heads/drafts/p/x".into(),
                expected: None,
                new: Some(v1.commit.parse().unwrap()),
            }],
        )
        .await
        .unwrap_err();
    eprintln!("error: {err}");
    let text = err.to_string();
    assert!(
        text.contains(&url) && text.contains("not trusted"),
        "{text}"
    );

    // A bundle without certificates is refused up front.
    let err = GitRepository::open_with_options(cfg, &with_ca("not a pem"), dir.path().join("d"))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("CA bundle"), "{err}");
    server.stop().await;
}
