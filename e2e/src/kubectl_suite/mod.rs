//! The kubectl suite: the real `kubectl` against a server that serves porch.kpt.dev, one
//! definition of the steps for every [`Target`] (the API server on loopback inside a test
//! process, or the `porch standalone` binary).
//!
//! The steps run in order against one server, each a function named after what it checks,
//! asserting on kubectl's real output. They work in namespace [`NS`] on repository [`REPO`],
//! which the runner registers first ([`register_repository`]) and waits for.

mod get;
mod resources;
mod watch;
mod write;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use porch_crds::config::v1alpha1::Repository;
use serde_json::json;

use crate::kubectl::Kubectl;

/// The namespace the suite works in.
pub const NS: &str = "default";
/// The Repository the suite registers and writes to.
pub const REPO: &str = "blueprints";
/// The Secret holding the repository's basic-auth credentials.
pub const SECRET: &str = "blueprints-auth";

/// Where the suite runs.
pub struct Target {
    /// A kubeconfig for the server.
    pub kubeconfig: PathBuf,
    /// kubectl's discovery cache directory (fresh per run).
    pub kubectl_cache: PathBuf,
    /// A client for the same server (the approval subresource is a PUT kubectl cannot do).
    pub client: kube::Client,
    /// The operators run beside the API server (`porch standalone`): the PackageRev
    /// controller then adds the `<repo>.<package>.main` placeholder of every published package
    /// (as upstream does on first publish), and the expected listings include them.
    pub operators: bool,
}

/// Create the basic-auth Secret and the Repository [`REPO`] for the git repository at `url`.
pub async fn register_repository(client: &kube::Client, url: &str, user: &str, password: &str) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": SECRET, "namespace": NS},
                "type": "kubernetes.io/basic-auth",
                "stringData": {"username": user, "password": password}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let repos: Api<Repository> = Api::namespaced(client.clone(), NS);
    repos
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "Repository",
                "metadata": {"name": REPO, "namespace": NS},
                "spec": {"type": "git", "git": {"repo": url, "branch": "main",
                         "secretRef": {"name": SECRET}}}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
}

/// Seed the revisions every step expects, then run the steps in order.
///
/// After seeding: package `basens` with v1 and v2 published (v2 latest) and a draft `ws`
/// copied from v2, package `other` with one draft `ws`; with operators, `basens.main`.
pub async fn run(target: &Target) {
    let suite = Suite {
        k: Kubectl {
            kubeconfig: target.kubeconfig.clone(),
            cache: target.kubectl_cache.clone(),
        },
        client: target.client.clone(),
        operators: target.operators,
    };
    let s = &suite;

    let v1 = s.create_draft("basens", "v1").await;
    s.publish(&v1).await;
    // Created from the latest revision of the moment (v1) when there are operators.
    s.await_placeholder("basens").await;
    let v2 = s
        .create("basens", "v2", &copy_yaml("basens", "v2", &v1))
        .await;
    s.publish(&v2).await;
    s.create("basens", "ws", &copy_yaml("basens", "ws", &v2))
        .await;
    s.create_draft("other", "ws").await;

    get::api_resources(s).await;
    get::get_table(s).await;
    get::get_formats(s).await;
    get::get_selectors(s).await;
    get::describe_and_explain(s).await;
    write::patch_and_latest_label(s).await;
    write::apply_creates_then_changes(s).await;
    watch::watch_sees_changes_through_selectors(s).await;
    resources::package_revision_resources(s).await;
    resources::packages(s).await;
    write::delete(s).await;
}

/// A new draft (init task) as YAML for `kubectl create/apply -f -`.
fn draft_yaml(pkg: &str, ws: &str, extra_labels: &str) -> String {
    with_task(
        pkg,
        ws,
        extra_labels,
        &format!("  - type: init\n    init:\n      description: {pkg} for the kubectl suite\n"),
    )
}

/// A new revision copied from a published one (the `edit` task).
fn copy_yaml(pkg: &str, ws: &str, source: &str) -> String {
    with_task(
        pkg,
        ws,
        "",
        &format!("  - type: edit\n    edit:\n      sourceRef:\n        name: {source}\n"),
    )
}

fn with_task(pkg: &str, ws: &str, extra_labels: &str, task: &str) -> String {
    format!(
        "apiVersion: porch.kpt.dev/v1alpha1\nkind: PackageRevision\nmetadata:\n  name: {REPO}.{pkg}.{ws}\n  namespace: {NS}\n{extra_labels}spec:\n  packageName: {pkg}\n  repository: {REPO}\n  workspaceName: {ws}\n  lifecycle: Draft\n  tasks:\n{task}"
    )
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The suite's view of its target.
struct Suite {
    k: Kubectl,
    client: kube::Client,
    operators: bool,
}

impl Suite {
    async fn create_draft(&self, pkg: &str, ws: &str) -> String {
        self.create(pkg, ws, &draft_yaml(pkg, ws, "")).await
    }

    async fn create(&self, pkg: &str, ws: &str, yaml: &str) -> String {
        let name = format!("{REPO}.{pkg}.{ws}");
        let out = self
            .k
            .run_with(&["create", "-f", "-"], yaml)
            .await
            .success();
        assert_eq!(
            out.trim(),
            format!("packagerevision.porch.kpt.dev/{name} created")
        );
        name
    }

    /// Draft -> Proposed through the main resource, then Proposed -> Published through the
    /// approval subresource (as porchctl does: a PUT of the whole object).
    async fn publish(&self, name: &str) {
        let out = self
            .k
            .run(&[
                "patch",
                "packagerevision",
                name,
                "--type=merge",
                "-p",
                r#"{"spec":{"lifecycle":"Proposed"}}"#,
            ])
            .await
            .success();
        assert_eq!(
            out.trim(),
            format!("packagerevision.porch.kpt.dev/{name} patched")
        );
        let mut obj = self.k.json(&["get", "packagerevision", name]).await;
        obj["spec"]["lifecycle"] = json!("Published");
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            NS,
            &kube::discovery::ApiResource {
                group: "porch.kpt.dev".into(),
                version: "v1alpha1".into(),
                api_version: "porch.kpt.dev/v1alpha1".into(),
                kind: "PackageRevision".into(),
                plural: "packagerevisions".into(),
            },
        );
        api.replace_subresource("approval", name, &PostParams::default(), &obj)
            .await
            .unwrap();
    }

    /// With operators, wait (bounded) until the placeholder of published package `pkg` is
    /// served, so later listings are deterministic; without, nothing adds one.
    async fn await_placeholder(&self, pkg: &str) {
        if !self.operators {
            return;
        }
        let name = placeholder(pkg);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.k.run(&["get", "packagerevision", &name]).await;
            if out.ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the operators never added {name}: {}",
                out.stderr
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `names` with the placeholder of each package in `published` put first in its package
    /// (list order: package, then revision; the placeholder is revision -1) when the target
    /// runs operators. Names are without the repository prefix.
    fn listed(&self, names: &[&str], published: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = names.iter().map(|n| format!("{REPO}.{n}")).collect();
        if self.operators {
            for pkg in published {
                let at = out
                    .iter()
                    .position(|n| n.starts_with(&format!("{REPO}.{pkg}.")))
                    .unwrap_or(out.len());
                out.insert(at, placeholder(pkg));
            }
        }
        out
    }
}

/// The placeholder revision's name of package `pkg` (branch `main`).
fn placeholder(pkg: &str) -> String {
    format!("{REPO}.{pkg}.main")
}

/// The header of the PackageRevision table.
const PR_HEADER: &[&str] = &[
    "NAME",
    "PACKAGE",
    "WORKSPACENAME",
    "REVISION",
    "LATEST",
    "LIFECYCLE",
    "REPOSITORY",
];
