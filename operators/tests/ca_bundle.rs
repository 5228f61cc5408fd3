#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `--repositories.use-user-defined-ca-bundle`: a Repository served over HTTPS by a private CA
//! syncs with its namespace's `<namespace>-ca-bundle` Secret (key `ca.crt`); without the
//! option the certificate is refused, and with the option but no Secret the status names
//! the Secret. On the in-process API server with the HTTPS loopback git server.

mod common;

use common::{blueprints_server, in_process_client, repository};

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_git::testserver::{ServerOptions, ServerTls};
use porch_operators::context::Context;
use porch_operators::decision::SyncSettings;
use porch_operators::git_source::GitRepositorySource;
use porch_operators::metrics::Metrics;
use porch_operators::repository::reconcile;

const NS: &str = "secure";

/// Sync Repository `name` once with the CA option `use_ca`, and return its `Ready`
/// condition's (status, message) and the number of its PackageRevs.
async fn sync(
    client: &kube::Client,
    dir: &std::path::Path,
    name: &str,
    url: &str,
    use_ca: bool,
) -> (String, String, usize) {
    let mut ctx = Context::new(
        client.clone(),
        Arc::new(GitRepositorySource::new(dir.join(format!("cache-{name}")))),
        SyncSettings::default(),
        2,
        Arc::new(Metrics::default()),
        porch_operators::context::system_clock(),
    );
    ctx.use_user_ca_bundle = use_ca;
    let repos: Api<Repository> = Api::namespaced(client.clone(), NS);
    let repo = repository(name, url);
    let repo = repos.create(&PostParams::default(), &repo).await.unwrap();
    reconcile(Arc::new(repo), Arc::new(ctx)).await.unwrap();
    let status = repos.get(name).await.unwrap().status.unwrap();
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .cloned()
        .unwrap();
    let revs: Api<PackageRev> = Api::namespaced(client.clone(), NS);
    let lp = ListParams::default().labels(&format!("internal.porch.kpt.dev/repository={name}"));
    let count = revs.list(&lp).await.unwrap().items.len();
    (ready.status, ready.message, count)
}

#[tokio::test]
async fn a_private_ca_repository_syncs_with_its_namespace_bundle() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, tls) = ServerTls::with_private_ca("porch-operators test CA").unwrap();
    let options = ServerOptions {
        tls: Some(tls),
        ..ServerOptions::default()
    };
    let (git, url) = blueprints_server(dir.path(), options, "blueprints").await;
    assert!(url.starts_with("https://"), "{url}");
    let client = in_process_client(&dir.path().join("api")).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut ns = Namespace::default();
    ns.metadata.name = Some(NS.into());
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();

    // Without the option, the private CA is not trusted.
    let (status, message, count) = sync(&client, dir.path(), "untrusted", &url, false).await;
    assert_eq!(status, "False");
    assert!(message.contains("not trusted"), "{message}");
    assert_eq!(count, 0);

    // With the option but no Secret: the status names the Secret.
    let (status, message, _) = sync(&client, dir.path(), "nosecret", &url, true).await;
    assert_eq!(status, "False");
    assert!(
        message.contains(&format!("secret {NS}/{NS}-ca-bundle not found")),
        "{message}"
    );
    assert!(!message.contains("BEGIN"), "{message}");

    // With the option and the Secret: every revision of the bundle is synced.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(format!("{NS}-ca-bundle")),
            ..ObjectMeta::default()
        },
        string_data: Some(BTreeMap::from([("ca.crt".to_string(), ca_pem)])),
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let (status, message, count) = sync(&client, dir.path(), "trusted", &url, true).await;
    assert_eq!(status, "True", "{message}");
    assert_eq!(count, 16);
    git.stop().await;
}
