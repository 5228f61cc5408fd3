#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The kubectl suite: the real `kubectl` binary against the API server on loopback, with
//! porch.kpt.dev served by these handlers over the real engine (git over smart HTTP to the
//! loopback git server, PackageRev objects in the server's own store, fed back to the CR cache
//! by the real kube-runtime watchers).
//!
//! One server serves the whole file: the steps run in order inside one test, each a function
//! named after what it checks, asserting on kubectl's real output.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kpt::fn_eval::{EvalError, EvalFuture, Evaluator, FunctionRef};
use kube::api::{Api, PostParams};
use porch_api::{ApiOptions, CrCache, DeferredEngine, PorchApiGroup};
use porch_apiserver::{ServerOptions, start};
use porch_crds::config::v1alpha1::Repository;
use porch_engine::EngineOptions;
use porch_git::testserver::{GitServer, RepoOptions};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const NS: &str = "default";
const REPO: &str = "blueprints";
const USER: &str = "porch";
const PASSWORD: &str = "kubectl-suite-pw";

/// Packages created here have no function pipeline; any function call is a test failure.
struct NoFunctions;

impl Evaluator for NoFunctions {
    fn evaluate<'a>(&'a self, function: &'a FunctionRef, _: &'a [u8]) -> EvalFuture<'a> {
        let name = function.name().to_owned();
        Box::pin(async move { Err(EvalError::NotFound(name)) })
    }
}

/// What one kubectl run printed.
#[derive(Debug)]
struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn success(self) -> String {
        assert!(self.ok, "kubectl failed: {}", self.stderr);
        self.stdout
    }

    #[track_caller]
    fn failure(self) -> String {
        assert!(!self.ok, "kubectl succeeded unexpectedly: {}", self.stdout);
        self.stderr
    }

    /// Whitespace-split table rows.
    fn rows(&self) -> Vec<Vec<String>> {
        self.stdout
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .collect()
    }
}

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .kill_on_drop(true);
        cmd
    }

    async fn run_with(&self, args: &[&str], stdin: &str) -> Out {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, "").await
    }

    async fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.run(&all).await.success()).unwrap()
    }
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

struct Suite {
    k: Kubectl,
    client: kube::Client,
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_suite() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();

    let git = GitServer::start(
        dir.path().join("git"),
        porch_git::testserver::ServerOptions::with_user(USER, PASSWORD),
    )
    .await
    .unwrap();
    let url = git
        .create_repo(
            REPO,
            RepoOptions {
                anonymous_read: false,
                initial_readme: true,
            },
        )
        .await
        .unwrap();

    let cache = CrCache::new();
    let deferred = Arc::new(DeferredEngine::new());
    let group = PorchApiGroup::new(deferred.clone(), cache.clone(), ApiOptions::default());
    let mut opts = ServerOptions::new(dir.path().join("server"), "127.0.0.1:0".parse().unwrap());
    opts.aggregated.push(Arc::new(group));
    let server = start(opts).await.unwrap();
    let client = server.client().await.unwrap();
    let watch_task = cache.spawn_watchers(client.clone());
    deferred.install(Arc::new(porch_engine::adapters::build_engine(
        client.clone(),
        dir.path().join("engine-cache"),
        Arc::new(NoFunctions),
        // The engine's fetch-freshness window would hide this suite's own back-to-back writes
        // from the next request (a create followed at once by a patch 404s): off here.
        EngineOptions {
            fetch_fresh_for: Duration::ZERO,
            ..EngineOptions::default()
        },
    )));

    register_repository(&client, &url).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cache.is_synced() || cache.read().repositories(NS).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the CR cache watches never delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let suite = Suite {
        k: Kubectl {
            kubeconfig: server.kubeconfig.clone(),
            cache: dir.path().join("kubectl-cache"),
        },
        client: client.clone(),
    };

    // basens: v1 and v2 published, a draft; other: one draft.
    let v1 = suite.create_draft("basens", "v1").await;
    suite.publish(&v1).await;
    let v2 = suite
        .create("basens", "v2", &copy_yaml("basens", "v2", &v1))
        .await;
    suite.publish(&v2).await;
    suite
        .create("basens", "ws", &copy_yaml("basens", "ws", &v2))
        .await;
    suite.create_draft("other", "ws").await;

    api_resources(&suite).await;
    get_table(&suite).await;
    get_formats(&suite).await;
    get_selectors(&suite).await;
    describe_and_explain(&suite).await;
    patch_and_latest_label(&suite).await;
    apply_creates_then_changes(&suite).await;
    watch_sees_changes_through_selectors(&suite).await;
    package_revision_resources(&suite).await;
    packages(&suite).await;
    delete(&suite).await;

    watch_task.abort();
    server.stop().await;
    git.stop().await;
}

async fn register_repository(client: &kube::Client, url: &str) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "blueprints-auth", "namespace": NS},
                "type": "kubernetes.io/basic-auth",
                "stringData": {"username": USER, "password": PASSWORD}
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
                         "secretRef": {"name": "blueprints-auth"}}}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

const PR_HEADER: &[&str] = &[
    "NAME",
    "PACKAGE",
    "WORKSPACENAME",
    "REVISION",
    "LATEST",
    "LIFECYCLE",
    "REPOSITORY",
];

async fn api_resources(s: &Suite) {
    let out =
        s.k.run(&["api-resources", "--api-group=porch.kpt.dev"])
            .await;
    let rows = out.rows();
    assert_eq!(
        rows[0],
        strings(&["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]),
        "{}",
        out.stdout
    );
    assert_eq!(
        rows[1..].to_vec(),
        vec![
            strings(&[
                "packagerevisionresources",
                "porch.kpt.dev/v1alpha1",
                "true",
                "PackageRevisionResources"
            ]),
            strings(&[
                "packagerevisions",
                "porch.kpt.dev/v1alpha1",
                "true",
                "PackageRevision"
            ]),
            strings(&["packages", "porch.kpt.dev/v1alpha1", "true", "PorchPackage"]),
        ]
    );
    let wide =
        s.k.run(&["api-resources", "--api-group=porch.kpt.dev", "-o", "wide"])
            .await
            .success();
    let prs = wide
        .lines()
        .find(|l| l.starts_with("packagerevisions "))
        .unwrap();
    assert!(
        prs.contains(" create,delete,get,list,patch,update,watch "),
        "{wide}"
    );
    let prrs = wide
        .lines()
        .find(|l| l.starts_with("packagerevisionresources "))
        .unwrap();
    assert!(prrs.contains(" get,list,patch,update "), "{wide}");
}

async fn get_table(s: &Suite) {
    let out = s.k.run(&["get", "packagerevisions"]).await;
    assert!(out.ok, "{}", out.stderr);
    let rows = out.rows();
    assert_eq!(rows[0], strings(PR_HEADER));
    assert_eq!(
        rows[1..].to_vec(),
        vec![
            strings(&[
                "blueprints.basens.ws",
                "basens",
                "ws",
                "0",
                "false",
                "Draft",
                "blueprints"
            ]),
            strings(&[
                "blueprints.basens.v1",
                "basens",
                "v1",
                "1",
                "false",
                "Published",
                "blueprints"
            ]),
            strings(&[
                "blueprints.basens.v2",
                "basens",
                "v2",
                "2",
                "true",
                "Published",
                "blueprints"
            ]),
            strings(&[
                "blueprints.other.ws",
                "other",
                "ws",
                "0",
                "false",
                "Draft",
                "blueprints"
            ]),
        ]
    );
    // No column has a priority: -o wide prints the same table.
    let wide = s.k.run(&["get", "packagerevisions", "-o", "wide"]).await;
    assert_eq!(wide.rows(), rows);
    // -A prepends NAMESPACE.
    let all = s.k.run(&["get", "packagerevisions", "-A"]).await.success();
    let first = all.lines().next().unwrap().split_whitespace().next();
    assert_eq!(first, Some("NAMESPACE"));
    assert!(all.contains("default     blueprints.basens.v2"), "{all}");
    // --no-headers asks the server for a table without header rows.
    let bare =
        s.k.run(&["get", "packagerevisions", "--no-headers"])
            .await
            .success();
    assert_eq!(bare.lines().count(), 4, "{bare}");
    assert!(bare.starts_with("blueprints.basens.ws"), "{bare}");
    // One object.
    let one =
        s.k.run(&["get", "packagerevision", "blueprints.basens.v1"])
            .await;
    assert_eq!(one.rows(), vec![strings(PR_HEADER), rows[2].clone()]);
    // Not found, in kube's words.
    let err =
        s.k.run(&["get", "packagerevision", "blueprints.nope.v1"])
            .await
            .failure();
    assert_eq!(
        err.trim(),
        "Error from server (NotFound): packagerevisions.porch.kpt.dev \"blueprints.nope.v1\" not found"
    );
}

async fn get_formats(s: &Suite) {
    // -o json of a list: kubectl's List wrapper around the served items.
    let list = s.k.json(&["get", "packagerevisions"]).await;
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let v2 = &items[2];
    assert_eq!(v2["apiVersion"], "porch.kpt.dev/v1alpha1");
    assert_eq!(v2["kind"], "PackageRevision");
    assert_eq!(v2["metadata"]["name"], "blueprints.basens.v2");
    assert_eq!(v2["metadata"]["namespace"], NS);
    assert_eq!(v2["metadata"]["labels"]["kpt.dev/latest-revision"], "true");
    assert_eq!(v2["spec"]["revision"], 2);
    assert_eq!(v2["spec"]["lifecycle"], "Published");
    assert!(
        v2["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
    // A published revision's resourceVersion and commit are the git commit of its tag.
    let rv = v2["metadata"]["resourceVersion"].as_str().unwrap();
    assert_eq!(rv.len(), 40, "{rv}");
    assert!(v2["status"]["publishTimestamp"].is_string(), "{v2}");

    // -o json of one object is the object itself.
    let one =
        s.k.json(&["get", "packagerevision", "blueprints.basens.v2"])
            .await;
    assert_eq!(&one, v2);

    // -o yaml.
    let yaml =
        s.k.run(&[
            "get",
            "packagerevision",
            "blueprints.basens.v2",
            "-o",
            "yaml",
        ])
        .await
        .success();
    assert!(yaml.starts_with("apiVersion: porch.kpt.dev/v1alpha1\nkind: PackageRevision\n"));
    assert!(
        yaml.contains("    kpt.dev/latest-revision: \"true\"\n"),
        "{yaml}"
    );
    assert!(yaml.contains("  lifecycle: Published\n"), "{yaml}");
    let from_yaml: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(&from_yaml, v2);

    // -o name.
    let names =
        s.k.run(&["get", "packagerevisions", "-o", "name"])
            .await
            .success();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        vec![
            "packagerevision.porch.kpt.dev/blueprints.basens.ws",
            "packagerevision.porch.kpt.dev/blueprints.basens.v1",
            "packagerevision.porch.kpt.dev/blueprints.basens.v2",
            "packagerevision.porch.kpt.dev/blueprints.other.ws",
        ]
    );

    // -o jsonpath.
    let jp =
        s.k.run(&[
            "get",
            "packagerevisions",
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name}={.spec.revision}{"\n"}{end}"#,
        ])
        .await
        .success();
    // `revision` is omitted when 0 (upstream's `omitempty`).
    assert_eq!(
        jp,
        "blueprints.basens.ws=\nblueprints.basens.v1=1\nblueprints.basens.v2=2\nblueprints.other.ws=\n"
    );

    // -o custom-columns.
    let cc =
        s.k.run(&[
            "get",
            "packagerevisions",
            "-o",
            "custom-columns=NAME:.metadata.name,LIFECYCLE:.spec.lifecycle,TASK:.spec.tasks[0].type",
        ])
        .await;
    assert_eq!(
        cc.rows(),
        vec![
            strings(&["NAME", "LIFECYCLE", "TASK"]),
            strings(&["blueprints.basens.ws", "Draft", "edit"]),
            strings(&["blueprints.basens.v1", "Published", "init"]),
            strings(&["blueprints.basens.v2", "Published", "edit"]),
            strings(&["blueprints.other.ws", "Draft", "init"]),
        ]
    );

    // --show-labels adds a LABELS column from the object's labels.
    let labels = s.k.run(&["get", "packagerevisions", "--show-labels"]).await;
    let rows = labels.rows();
    assert_eq!(rows[0].last().map(String::as_str), Some("LABELS"));
    assert_eq!(rows[1].last().map(String::as_str), Some("<none>"));
    assert_eq!(
        rows[3].last().map(String::as_str),
        Some("kpt.dev/latest-revision=true")
    );
}

async fn get_selectors(s: &Suite) {
    let names = |args: Vec<&'static str>| {
        let mut all = vec!["get", "packagerevisions", "-o", "name"];
        all.extend(args);
        async move {
            s.k.run(&all)
                .await
                .success()
                .lines()
                .map(|l| {
                    l.trim_start_matches("packagerevision.porch.kpt.dev/")
                        .to_owned()
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(vec!["-l", "kpt.dev/latest-revision=true"]).await,
        vec!["blueprints.basens.v2"]
    );
    assert_eq!(
        names(vec!["-l", "kpt.dev/latest-revision!=true"])
            .await
            .len(),
        3
    );
    assert_eq!(
        names(vec!["--field-selector", "spec.lifecycle=Draft"]).await,
        vec!["blueprints.basens.ws", "blueprints.other.ws"]
    );
    assert_eq!(
        names(vec![
            "--field-selector",
            "spec.packageName=basens,spec.revision=1"
        ])
        .await,
        vec!["blueprints.basens.v1"]
    );
    assert_eq!(
        names(vec![
            "--field-selector",
            "spec.repository=blueprints,spec.workspaceName=ws"
        ])
        .await,
        vec!["blueprints.basens.ws", "blueprints.other.ws"]
    );
    // Errors in upstream's words.
    let err =
        s.k.run(&[
            "get",
            "packagerevisions",
            "--field-selector",
            "spec.lifecycle=Nope",
        ])
        .await
        .failure();
    assert!(
        err.contains("unsupported fieldSelector value \"Nope\" for field \"spec.lifecycle\""),
        "{err}"
    );
    let err =
        s.k.run(&[
            "get",
            "packagerevisions",
            "--field-selector",
            "spec.lifecycle!=Draft",
        ])
        .await
        .failure();
    assert!(
        err.contains("unsupported fieldSelector operator \"!=\" for field \"spec.lifecycle\""),
        "{err}"
    );
    let err =
        s.k.run(&["get", "packagerevisions", "--field-selector", "spec.nope=x"])
            .await
            .failure();
    assert!(
        err.contains("\"spec.nope\" is not a known field selector"),
        "{err}"
    );
}

async fn describe_and_explain(s: &Suite) {
    let out =
        s.k.run(&["describe", "packagerevision", "blueprints.basens.v2"])
            .await
            .success();
    // Compared line by line with runs of spaces collapsed (describe aligns per section).
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for want in [
        "Name: blueprints.basens.v2",
        "Namespace: default",
        "Labels: kpt.dev/latest-revision=true",
        "API Version: porch.kpt.dev/v1alpha1",
        "Kind: PackageRevision",
        "Lifecycle: Published",
        "Package Name: basens",
        "Repository: blueprints",
        "Revision: 2",
        "Name: blueprints.basens.v1",
        "Type: edit",
        "Workspace Name: v2",
        "Published By: porch-admin",
        "Ref: basens/v2",
        "Events: <none>",
    ] {
        assert!(
            lines.iter().any(|l| l == want),
            "missing {want:?} in:\n{out}"
        );
    }
    let out =
        s.k.run(&["explain", "packagerevisions.spec"])
            .await
            .success();
    assert!(out.contains("GROUP:      porch.kpt.dev"), "{out}");
    assert!(out.contains("KIND:       PackageRevision"), "{out}");
    assert!(out.contains("FIELD: spec <Object>"), "{out}");
    for field in [
        "lifecycle\t<string>",
        "packageName\t<string>",
        "repository\t<string>",
        "revision\t<integer>",
        "tasks\t<[]Object>",
        "workspaceName\t<string>",
    ] {
        assert!(out.contains(field), "missing {field:?} in:\n{out}");
    }
}

async fn patch_and_latest_label(s: &Suite) {
    // Merge patch: a label and Kptfile package metadata on a draft.
    let out = s
        .k
        .run(&[
            "patch",
            "packagerevision",
            "blueprints.other.ws",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"team":"edge"}},"spec":{"packageMetadata":{"labels":{"tier":"gold"}}}}"#,
        ])
        .await
        .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.other.ws patched"
    );
    // JSON patch: an annotation.
    s.k.run(&[
        "patch",
        "packagerevision",
        "blueprints.other.ws",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/metadata/annotations","value":{"note":"json-patched"}}]"#,
    ])
    .await
    .success();
    let obj =
        s.k.json(&["get", "packagerevision", "blueprints.other.ws"])
            .await;
    assert_eq!(obj["metadata"]["labels"]["team"], "edge");
    assert_eq!(obj["metadata"]["annotations"]["note"], "json-patched");
    assert_eq!(obj["spec"]["packageMetadata"]["labels"]["tier"], "gold");

    // Selectors see both kinds of label.
    let names =
        s.k.run(&[
            "get",
            "packagerevisions",
            "-o",
            "name",
            "-l",
            "team=edge",
            "--field-selector",
            "spec.packageMetadata.labels[tier]=gold",
        ])
        .await
        .success();
    assert_eq!(
        names.trim(),
        "packagerevision.porch.kpt.dev/blueprints.other.ws"
    );
    let none =
        s.k.run(&[
            "get",
            "packagerevisions",
            "--field-selector",
            "spec.packageMetadata.labels[tier]=silver",
        ])
        .await;
    assert!(none.ok, "{}", none.stderr);
    assert_eq!(none.stdout, "");
    assert_eq!(
        none.stderr.trim(),
        "No resources found in default namespace."
    );

    // The latest label is computed: setting it, or removing it, is a 422.
    let err =
        s.k.run(&[
            "patch",
            "packagerevision",
            "blueprints.other.ws",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"kpt.dev/latest-revision":"true"}}}"#,
        ])
        .await
        .failure();
    assert_eq!(
        err.trim(),
        "The PackageRevision \"blueprints.other.ws\" is invalid: metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be modified by users"
    );
    let err =
        s.k.run(&[
            "patch",
            "packagerevision",
            "blueprints.basens.v2",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/labels/kpt.dev~1latest-revision"}]"#,
        ])
        .await
        .failure();
    assert!(
        err.contains("metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be modified by users"),
        "{err}"
    );
    // Creating with it is refused with the "set" wording.
    let err =
        s.k.run_with(
            &["create", "-f", "-"],
            &draft_yaml(
                "third",
                "ws",
                "  labels:\n    kpt.dev/latest-revision: \"true\"\n",
            ),
        )
        .await
        .failure();
    assert!(
        err.contains("metadata.labels.kpt.dev/latest-revision: Forbidden: label is managed by porch and cannot be set by users"),
        "{err}"
    );
    // A published revision's spec cannot change through the main resource.
    let err =
        s.k.run(&[
            "patch",
            "packagerevision",
            "blueprints.basens.v1",
            "--type=merge",
            "-p",
            r#"{"spec":{"lifecycle":"Draft"}}"#,
        ])
        .await
        .failure();
    assert!(
        err.contains("(Invalid)") || err.contains("is invalid"),
        "{err}"
    );
}

async fn apply_creates_then_changes(s: &Suite) {
    let yaml = draft_yaml("applied", "ws", "");
    let out = s.k.run_with(&["apply", "-f", "-"], &yaml).await.success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.applied.ws created"
    );
    // Unchanged.
    let out = s.k.run_with(&["apply", "-f", "-"], &yaml).await.success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.applied.ws unchanged"
    );
    // A label added and the draft proposed.
    let changed = draft_yaml("applied", "ws", "  labels:\n    stage: two\n")
        .replace("lifecycle: Draft", "lifecycle: Proposed");
    let out =
        s.k.run_with(&["apply", "-f", "-"], &changed)
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.applied.ws configured"
    );
    let obj =
        s.k.json(&["get", "packagerevision", "blueprints.applied.ws"])
            .await;
    assert_eq!(obj["metadata"]["labels"]["stage"], "two");
    assert_eq!(obj["spec"]["lifecycle"], "Proposed");
    assert!(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    // Server-side apply of the same object.
    let out =
        s.k.run_with(&["apply", "--server-side", "-f", "-"], &changed)
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev/blueprints.applied.ws serverside-applied"
    );
}

/// Reads lines of a running `kubectl get -w` until one satisfies `want`.
async fn read_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    seen: &mut Vec<String>,
    want: impl Fn(&str) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("watch output so far: {seen:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("watch ended; output so far: {seen:?}"));
        let done = want(&line);
        seen.push(line);
        if done {
            return;
        }
    }
}

async fn watch_sees_changes_through_selectors(s: &Suite) {
    // A table watch narrowed to package `watched` by a field selector.
    let mut child =
        s.k.command(&[
            "get",
            "packagerevisions",
            "-w",
            "--output-watch-events",
            "--field-selector",
            "spec.packageName=watched",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    // Nothing matches yet: kubectl prints nothing until the first event, so give the watch a
    // moment to be established before writing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.create_draft("unwatched", "ws").await;
    let name = s.create_draft("watched", "ws").await;
    read_until(&mut lines, &mut seen, |l| {
        l.contains("blueprints.watched.ws")
    })
    .await;
    s.publish(&name).await;
    read_until(&mut lines, &mut seen, |l| {
        l.contains("blueprints.watched.ws") && l.contains("Published")
    })
    .await;
    child.start_kill().unwrap();
    let _ = child.wait().await;

    let rows: Vec<Vec<&str>> = seen
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        vec![
            "EVENT",
            "NAME",
            "PACKAGE",
            "WORKSPACENAME",
            "REVISION",
            "LATEST",
            "LIFECYCLE",
            "REPOSITORY"
        ],
        "{seen:?}"
    );
    assert_eq!(
        rows[1],
        vec![
            "ADDED",
            "blueprints.watched.ws",
            "watched",
            "ws",
            "0",
            "false",
            "Draft",
            "blueprints"
        ]
    );
    assert_eq!(
        rows.last().unwrap(),
        &vec![
            "MODIFIED",
            "blueprints.watched.ws",
            "watched",
            "ws",
            "1",
            "true",
            "Published",
            "blueprints"
        ]
    );
    assert!(
        seen.iter().all(|l| !l.contains("unwatched")),
        "the field selector let through: {seen:?}"
    );
    assert!(
        rows[1..]
            .iter()
            .all(|r| r[0] == "ADDED" || r[0] == "MODIFIED")
    );

    // A label-selected watch as JSON: the initial state is replayed for a fresh watch.
    let mut child =
        s.k.command(&[
            "get",
            "packagerevisions",
            "-w",
            "-o",
            "name",
            "-l",
            "kpt.dev/latest-revision=true",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    read_until(&mut lines, &mut seen, |l| {
        l.ends_with("blueprints.watched.ws")
    })
    .await;
    assert_eq!(
        seen,
        vec![
            "packagerevision.porch.kpt.dev/blueprints.basens.v2",
            "packagerevision.porch.kpt.dev/blueprints.watched.ws",
        ]
    );
    child.start_kill().unwrap();
    let _ = child.wait().await;
}

async fn package_revision_resources(s: &Suite) {
    let out = s.k.run(&["get", "packagerevisionresources"]).await;
    let rows = out.rows();
    assert_eq!(
        rows[0],
        strings(&[
            "NAME",
            "PACKAGE",
            "WORKSPACENAME",
            "REVISION",
            "REPOSITORY",
            "FILES"
        ]),
        "{}",
        out.stderr
    );
    let v1 = rows
        .iter()
        .find(|r| r[0] == "blueprints.basens.v1")
        .unwrap();
    assert_eq!(v1[1..5], strings(&["basens", "v1", "1", "blueprints"]));
    let files: usize = v1[5].parse().unwrap();
    assert!(files >= 2, "{v1:?}");

    let yaml =
        s.k.run(&[
            "get",
            "packagerevisionresources",
            "blueprints.basens.v1",
            "-o",
            "yaml",
        ])
        .await
        .success();
    let prr: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(prr["kind"], "PackageRevisionResources");
    assert_eq!(prr["spec"]["packageName"], "basens");
    let kptfile = prr["spec"]["resources"]["Kptfile"].as_str().unwrap();
    assert!(kptfile.contains("kind: Kptfile"), "{kptfile}");
    assert!(kptfile.contains("name: basens"), "{kptfile}");
    assert_eq!(
        prr["spec"]["resources"].as_object().unwrap().len(),
        files,
        "the Files column counts spec.resources"
    );

    let names =
        s.k.run(&[
            "get",
            "packagerevisionresources",
            "-o",
            "name",
            "--field-selector",
            "spec.lifecycle=Published",
        ])
        .await
        .success();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        vec![
            "packagerevisionresources.porch.kpt.dev/blueprints.basens.v1",
            "packagerevisionresources.porch.kpt.dev/blueprints.basens.v2",
            "packagerevisionresources.porch.kpt.dev/blueprints.watched.ws",
        ]
    );

    // An update whose path leaves the package is a 422 naming the file.
    let mut draft =
        s.k.json(&["get", "packagerevisionresources", "blueprints.basens.ws"])
            .await;
    draft["spec"]["resources"]["../escape.yaml"] = json!("a: 1\n");
    let err =
        s.k.run_with(&["replace", "-f", "-"], &draft.to_string())
            .await
            .failure();
    assert_eq!(
        err.trim(),
        "The PackageRevisionResources \"blueprints.basens.ws\" is invalid: spec.resources[../escape.yaml]: Invalid value: \"../escape.yaml\": file path must be relative and must not leave the package"
    );
    // So is a YAML file that does not parse.
    draft["spec"]["resources"]
        .as_object_mut()
        .unwrap()
        .remove("../escape.yaml");
    draft["spec"]["resources"]["broken.yaml"] = json!("a: [unclosed\n");
    let err =
        s.k.run_with(&["replace", "-f", "-"], &draft.to_string())
            .await
            .failure();
    assert_eq!(
        err.trim(),
        "The PackageRevisionResources \"blueprints.basens.ws\" is invalid: spec.resources[broken.yaml]: Invalid value: \"<file content>\": file broken.yaml is not valid YAML: line 1 column 4: unclosed bracket '['"
    );
    draft["spec"]["resources"]
        .as_object_mut()
        .unwrap()
        .remove("broken.yaml");
    // A body over the 6 MiB limit is refused before anything is read further.
    let mut huge = draft.clone();
    huge["spec"]["resources"]["big.txt"] = json!("x".repeat(7 * 1024 * 1024));
    let err =
        s.k.run_with(&["replace", "-f", "-"], &huge.to_string())
            .await
            .failure();
    assert!(
        err.contains("(RequestEntityTooLarge)")
            && err.contains("Request entity too large: limit is 6291456"),
        "{err}"
    );
    // A good one is stored.
    draft["spec"]["resources"]["cm.yaml"] =
        json!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: v\n");
    let out =
        s.k.run_with(&["replace", "-f", "-"], &draft.to_string())
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevisionresources.porch.kpt.dev/blueprints.basens.ws replaced"
    );
    let back =
        s.k.json(&["get", "packagerevisionresources", "blueprints.basens.ws"])
            .await;
    assert!(
        back["spec"]["resources"]["cm.yaml"]
            .as_str()
            .unwrap()
            .contains("name: cm")
    );
    // Not served: create and delete.
    let err =
        s.k.run(&["delete", "packagerevisionresources", "blueprints.basens.ws"])
            .await
            .failure();
    assert!(err.contains("(MethodNotAllowed)"), "{err}");
}

async fn packages(s: &Suite) {
    let out = s.k.run(&["get", "packages"]).await;
    let rows = out.rows();
    assert_eq!(
        rows,
        vec![
            strings(&["NAME", "PACKAGE", "REPOSITORY", "LATEST", "REVISION"]),
            strings(&["blueprints.applied", "applied", "blueprints", "0"]),
            strings(&["blueprints.basens", "basens", "blueprints", "2"]),
            strings(&["blueprints.other", "other", "blueprints", "0"]),
            strings(&["blueprints.unwatched", "unwatched", "blueprints", "0"]),
            strings(&["blueprints.watched", "watched", "blueprints", "1"]),
        ],
        "{}",
        out.stderr
    );
    let pkg = s.k.json(&["get", "package", "blueprints.basens"]).await;
    assert_eq!(pkg["kind"], "PorchPackage");
    assert_eq!(pkg["spec"]["packageName"], "basens");
    assert_eq!(pkg["status"]["latestRevision"], 2);

    let cases: [(&[&str], &str, &str); 3] = [
        (
            &["delete", "package", "blueprints.basens"],
            "",
            "delete all PackageRevisions resources of a package to delete a package as direct package deletion",
        ),
        (
            &[
                "patch",
                "package",
                "blueprints.basens",
                "--type=merge",
                "-p",
                r#"{"metadata":{"labels":{"a":"b"}}}"#,
            ],
            "",
            "update a PackageRevision resource to update a package as direct package update",
        ),
        (
            &["create", "-f", "-"],
            "apiVersion: porch.kpt.dev/v1alpha1\nkind: PorchPackage\nmetadata:\n  name: blueprints.new\n  namespace: default\nspec:\n  packageName: new\n  repository: blueprints\n",
            "create or clone a PackageRevision resource to create a package as direct package creation",
        ),
    ];
    for (args, stdin, action) in cases {
        let err = s.k.run_with(args, stdin).await.failure();
        // kubectl names the input of `create -f`.
        let context = if stdin.is_empty() {
            ""
        } else {
            "error when creating \"STDIN\": "
        };
        assert_eq!(
            err.trim(),
            format!(
                "Error from server (MethodNotAllowed): {context}{action} is not supported on resources of kind \"packages.porch.kpt.dev\""
            ),
            "{args:?}"
        );
    }
}

async fn delete(s: &Suite) {
    let out =
        s.k.run(&["delete", "packagerevision", "blueprints.applied.ws"])
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev \"blueprints.applied.ws\" deleted"
    );
    let err =
        s.k.run(&["get", "packagerevision", "blueprints.applied.ws"])
            .await
            .failure();
    assert!(err.contains("(NotFound)"), "{err}");

    let err =
        s.k.run(&["delete", "packagerevision", "blueprints.basens.v1"])
            .await
            .failure();
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): packagerevisions.porch.kpt.dev \"blueprints.basens.v1\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion"
    );
    // Proposed for deletion (main resource), then deleted; the latest label stays on v2.
    s.k.run(&[
        "patch",
        "packagerevision",
        "blueprints.basens.v1",
        "--type=merge",
        "-p",
        r#"{"spec":{"lifecycle":"DeletionProposed"}}"#,
    ])
    .await
    .success();
    let out =
        s.k.run(&["delete", "packagerevision", "blueprints.basens.v1"])
            .await
            .success();
    assert_eq!(
        out.trim(),
        "packagerevision.porch.kpt.dev \"blueprints.basens.v1\" deleted"
    );
    let names =
        s.k.run(&[
            "get",
            "packagerevisions",
            "-o",
            "name",
            "--field-selector",
            "spec.packageName=basens",
        ])
        .await
        .success();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        vec![
            "packagerevision.porch.kpt.dev/blueprints.basens.ws",
            "packagerevision.porch.kpt.dev/blueprints.basens.v2",
        ]
    );
}
