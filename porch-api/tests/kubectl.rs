#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Black-box: real kubectl against the standalone API server (in this process, loopback HTTPS)
//! with porch.kpt.dev mounted. PackageRev and Repository objects are created through the
//! server's own API and reach the CR cache through the real kube-runtime watchers. The engine
//! runs over its in-memory test doubles (git is wired in a later step).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams, PostParams};
use porch_api::{ApiOptions, CrCache, PorchApiGroup};
use porch_apiserver::{ServerOptions, start};
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use porch_engine::testing::{FakeOps, InMemoryBackend, InMemoryMetadata};
use porch_engine::{Engine, EngineOptions};
use serde_json::{Value, json};

fn kubectl(kubeconfig: &Path, cache: &Path, args: &[&str]) -> (bool, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let (args, stdin) = match args.split_last() {
        Some((last, rest)) if last.starts_with("STDIN:") => {
            (rest, last.trim_start_matches("STDIN:"))
        }
        _ => (args, ""),
    };
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn package_rev(
    name: &str,
    pkg: &str,
    ws: &str,
    revision: i64,
    lifecycle: &str,
    commit: &str,
) -> PackageRev {
    serde_json::from_value(json!({
        "apiVersion": "config.porch.kpt.dev/v1alpha1",
        "kind": "PackageRev",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"repository": "blueprints", "packageName": pkg, "workspaceName": ws,
                 "revision": revision, "lifecycle": lifecycle},
        "status": {"commit": commit}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_explains_and_discovers_porch_resources() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let cache = CrCache::new();
    let engine = Arc::new(Engine::new(
        InMemoryBackend::new(),
        InMemoryMetadata::new(),
        FakeOps::new(),
        EngineOptions::default(),
    ));
    let group = PorchApiGroup::new(engine, cache.clone(), ApiOptions::default());
    let mut opts = ServerOptions::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    opts.aggregated.push(Arc::new(group));
    let server = start(opts).await.unwrap();
    let client = server.client().await.unwrap();

    // The real watchers feed the cache the group serves.
    let watch_task = cache.spawn_watchers(client.clone());
    let repos: Api<Repository> = Api::namespaced(client.clone(), "default");
    repos
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "Repository",
                "metadata": {"name": "blueprints", "namespace": "default"},
                "spec": {"type": "git", "git": {"repo": "https://example.com/b.git", "branch": "main"}}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let revs: Api<PackageRev> = Api::namespaced(client.clone(), "default");
    for r in [
        package_rev(
            "blueprints.basens.v1",
            "basens",
            "v1",
            1,
            "Published",
            "aaaa",
        ),
        package_rev(
            "blueprints.basens.v2",
            "basens",
            "v2",
            2,
            "Published",
            "bbbb",
        ),
        package_rev("blueprints.basens.ws", "basens", "ws", 0, "Draft", "cccc"),
    ] {
        let name = r.metadata.name.clone().unwrap();
        let commit = r.status.clone().unwrap().commit;
        revs.create(&PostParams::default(), &r).await.unwrap();
        // `status` is a subresource of the PackageRev CRD: create drops it.
        revs.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"commit": commit}})),
        )
        .await
        .unwrap();
    }
    let mut seen = 0;
    for _ in 0..100 {
        seen = cache
            .read()
            .list("default")
            .iter()
            .filter(|p| p.metadata.resource_version.is_some())
            .count();
        if seen == 3 && cache.read().repositories("default").len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, 3, "the PackageRev watch never delivered");

    let kc: PathBuf = server.kubeconfig.clone();
    let kcache = dir.path().join("kubectl-cache");
    let run = move |args: Vec<&'static str>| {
        let kc = kc.clone();
        let kcache = kcache.clone();
        tokio::task::spawn_blocking(move || kubectl(&kc, &kcache, &args))
    };

    let (ok, out, err) = run(vec![
        "api-resources",
        "--api-group=porch.kpt.dev",
        "-o",
        "name",
    ])
    .await
    .unwrap();
    assert!(ok, "{err}");
    let names: Vec<&str> = out.lines().collect();
    assert_eq!(
        names,
        vec![
            "packagerevisionresources.porch.kpt.dev",
            "packagerevisions.porch.kpt.dev",
            "packages.porch.kpt.dev"
        ]
    );

    let (ok, out, err) = run(vec!["get", "packagerevisions"]).await.unwrap();
    assert!(ok, "{err}");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        vec![
            "NAME",
            "PACKAGE",
            "WORKSPACENAME",
            "REVISION",
            "LATEST",
            "LIFECYCLE",
            "REPOSITORY"
        ]
    );
    assert_eq!(
        lines[1],
        vec![
            "blueprints.basens.ws",
            "basens",
            "ws",
            "0",
            "false",
            "Draft",
            "blueprints"
        ]
    );
    assert_eq!(
        lines[3],
        vec![
            "blueprints.basens.v2",
            "basens",
            "v2",
            "2",
            "true",
            "Published",
            "blueprints"
        ]
    );

    let (ok, out, err) = run(vec![
        "get",
        "packagerevisions",
        "-l",
        "kpt.dev/latest-revision=true",
        "-o",
        "name",
    ])
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.basens.v2"
    );

    let (ok, out, err) = run(vec![
        "get",
        "packagerevision",
        "blueprints.basens.v2",
        "-o",
        "json",
    ])
    .await
    .unwrap();
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["metadata"]["resourceVersion"], "bbbb");
    assert_eq!(v["metadata"]["labels"]["kpt.dev/latest-revision"], "true");

    let (ok, out, err) = run(vec!["get", "packages"]).await.unwrap();
    assert!(ok, "{err}");
    assert!(
        out.lines().next().unwrap().split_whitespace().eq([
            "NAME",
            "PACKAGE",
            "REPOSITORY",
            "LATEST",
            "REVISION"
        ]),
        "{out}"
    );

    let (ok, out, err) = run(vec!["explain", "packagerevisions.spec.lifecycle"])
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert!(
        out.contains("KIND:") && out.contains("PackageRevision"),
        "{out}"
    );

    let (ok, _, err) = run(vec!["get", "packagerevision", "blueprints.nope.v1"])
        .await
        .unwrap();
    assert!(!ok);
    assert!(
        err.contains("packagerevisions.porch.kpt.dev \"blueprints.nope.v1\" not found"),
        "{err}"
    );

    const NEW_PR: &str = "STDIN:apiVersion: porch.kpt.dev/v1alpha1\nkind: PackageRevision\nmetadata:\n  name: blueprints.newpkg.ws\n  namespace: default\nspec:\n  packageName: newpkg\n  repository: blueprints\n  workspaceName: ws\n";
    let (ok, out, err) = run(vec!["create", "-f", "-", NEW_PR]).await.unwrap();
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.newpkg.ws created"
    );
    let (ok, out, err) = run(vec!["apply", "--server-side", "-f", "-", NEW_PR])
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.newpkg.ws serverside-applied"
    );
    let (ok, out, err) = run(vec![
        "get",
        "packagerevisions",
        "--field-selector",
        "spec.lifecycle=Draft",
        "-o",
        "name",
    ])
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "packagerevision.porch.kpt.dev/blueprints.basens.ws",
            "packagerevision.porch.kpt.dev/blueprints.newpkg.ws"
        ]
    );
    let (ok, _, err) = run(vec!["delete", "package", "blueprints.basens"])
        .await
        .unwrap();
    assert!(!ok);
    assert!(err.contains("delete all PackageRevisions resources of a package to delete a package as direct package deletion is not supported"), "{err}");

    watch_task.abort();
    server.stop().await;
}
