//! `porch apiserver`: the porch.kpt.dev aggregated API server for a cluster. The porch-api group,
//! its CR cache and the engine are built against the cluster's API (KUBECONFIG or the in-cluster
//! service account), as `porch standalone` builds them against its embedded server; serving,
//! TLS and delegated authentication/authorization come from `porch_apiserver::delegated`.
//! Functions run in-process, or in a separate function runner with `--function-runner`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kpt::fn_eval::Evaluator;
use porch_api::{ApiOptions, CrCache, DeferredEngine, PorchApiGroup};
use porch_apiserver::AggregatedApiGroup;
use porch_apiserver::delegated::backend::KubeBackend;
use porch_apiserver::delegated::cache::SystemClock;
use porch_apiserver::delegated::{self, DelegatedArgs};
use porch_engine::EngineOptions;
use tokio::task::JoinHandle;

use crate::engine_args::EngineArgs;
use crate::remote_evaluator::{InvalidAddress, RemoteEvaluator, RemoteOptions};

/// Flags of `porch apiserver`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiserverCmd {
    #[command(flatten)]
    pub server: DelegatedArgs,
    /// Directory for the engine's git caches.
    #[arg(long, env = "PORCH_CACHE_DIR", default_value = ".porch-cache")]
    pub cache_dir: PathBuf,
    /// Request bodies over this many bytes get 413.
    #[arg(long, default_value_t = ApiOptions::default().max_body_bytes)]
    pub max_request_body_bytes: usize,
    #[command(flatten)]
    pub functions: FunctionRunnerArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Where `porch apiserver` runs KRM functions.
#[derive(Debug, Clone, clap::Args)]
pub struct FunctionRunnerArgs {
    /// Address (`host:port`) of the function runner (`porch fn-runner`, gRPC
    /// `evaluator.FunctionEvaluator`) that renders packages. Without it, functions run inside
    /// this process through the native and exec runtimes.
    #[arg(long)]
    pub function_runner: Option<String>,
    /// Time limit for one function call to the function runner (Go duration, e.g. 90s, 5m).
    #[arg(long, default_value = "5m", value_parser = porch_fn_runner::duration::parse)]
    pub function_runner_timeout: Duration,
    /// Largest gRPC message sent to or accepted from the function runner, in bytes; keep it
    /// equal to the runner's `--max-request-body-size`.
    #[arg(long, default_value_t = porch_fn_runner::args::DEFAULT_MAX_REQUEST_BODY_SIZE)]
    pub function_runner_max_message_size: usize,
}

impl Default for FunctionRunnerArgs {
    fn default() -> Self {
        let remote = RemoteOptions::default();
        FunctionRunnerArgs {
            function_runner: None,
            function_runner_timeout: remote.timeout,
            function_runner_max_message_size: remote.max_message_size,
        }
    }
}

impl FunctionRunnerArgs {
    /// The built-in functions then the remote runner when one is named, else the in-process
    /// runtimes.
    /// Must be called inside a tokio runtime (the gRPC channel connects lazily on it).
    pub fn evaluator(&self) -> Result<Arc<dyn Evaluator>, InvalidAddress> {
        match &self.function_runner {
            Some(address) => {
                let remote = RemoteEvaluator::new(
                    address,
                    RemoteOptions {
                        timeout: self.function_runner_timeout,
                        max_message_size: self.function_runner_max_message_size,
                    },
                )?;
                tracing::info!(runner = %address, "rendering through the function runner");
                // As upstream's porch-server: the built-in functions run in-process, every
                // other image goes to the runner.
                let config = porch_fn_runner::InProcessConfig::default();
                let builtin: Arc<dyn Evaluator> = Arc::new(porch_fn_runner::NativeEvaluator::new(
                    config.default_image_prefix,
                    config.starlark_timeout,
                ));
                Ok(Arc::new(porch_fn_runner::ChainEvaluator::new(vec![
                    builtin,
                    Arc::new(remote),
                ])))
            }
            None => Ok(porch_fn_runner::in_process_evaluator(
                porch_fn_runner::InProcessConfig::default(),
            )),
        }
    }
}

/// The porch.kpt.dev group and the watchers feeding its CR cache.
pub struct PorchGroup {
    pub group: Arc<dyn AggregatedApiGroup>,
    pub watchers: JoinHandle<()>,
}

/// Build the group over `cache` (fed by watchers on PackageRev and Repository through
/// `client`) and the engine (rendering through `evaluator`).
pub fn porch_group(
    client: kube::Client,
    cache: CrCache,
    cache_dir: &Path,
    options: ApiOptions,
    evaluator: Arc<dyn Evaluator>,
    engine_options: EngineOptions,
) -> PorchGroup {
    let deferred = Arc::new(DeferredEngine::new());
    let group: Arc<dyn AggregatedApiGroup> =
        Arc::new(PorchApiGroup::new(deferred.clone(), cache.clone(), options));
    let watchers = cache.spawn_watchers(client.clone());
    let engine = porch_engine::adapters::build_engine(
        client,
        cache_dir.join("engine"),
        evaluator,
        engine_options,
    );
    deferred.install(Arc::new(engine));
    PorchGroup { group, watchers }
}

/// Serve until `shutdown` resolves; prints one line containing `ready` once serving.
pub async fn run(cmd: ApiserverCmd, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let started = Instant::now();
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (KUBECONFIG or in-cluster)")?;
    let options = ApiOptions {
        max_body_bytes: cmd.max_request_body_bytes,
        ..ApiOptions::default()
    };
    let evaluator = cmd.functions.evaluator()?;
    let cr_cache = CrCache::new();
    let porch = porch_group(
        client.clone(),
        cr_cache.clone(),
        &cmd.cache_dir,
        options,
        evaluator,
        cmd.engine.options(),
    );
    // Not ready until the CR cache has listed PackageRevs and Repositories once: before that a
    // list could miss revisions.
    let synced: delegated::ReadyCheck = (
        "porch-cr-cache-synced".to_string(),
        Arc::new(move || cr_cache.is_synced()),
    );
    let server = delegated::start_full(
        &cmd.server,
        vec![porch.group.clone()],
        Arc::new(KubeBackend::new(client)),
        Arc::new(SystemClock),
        vec![synced],
    )
    .await
    .context("starting the API server")?;
    let line = format!(
        "porch apiserver ready: serving {} in {} ms",
        server.url,
        started.elapsed().as_millis()
    );
    tracing::info!("{line}");
    println!("{line}");
    shutdown.await;
    server.stop().await;
    porch.watchers.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The real porch.kpt.dev group behind delegated auth: a standalone server plays the cluster
    //! (PackageRev and Repository objects, watched by the CR cache), TokenReview and
    //! SubjectAccessReview are answered by a scripted backend, and real kubectl reads through it.

    use super::*;
    use futures::future::BoxFuture;
    use k8s_openapi::api::authentication::v1::{TokenReviewStatus, UserInfo};
    use k8s_openapi::api::authorization::v1::{SubjectAccessReviewSpec, SubjectAccessReviewStatus};
    use kube::Api;
    use kube::api::PostParams;
    use porch_apiserver::delegated::backend::{AuthBackend, BackendError};
    use porch_crds::config::v1alpha1::{PackageRev, Repository};
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Token `t` is user `dev`, who may read but not approve.
    #[derive(Default)]
    struct Reviews {
        sars: Mutex<Vec<SubjectAccessReviewSpec>>,
    }

    impl AuthBackend for Reviews {
        fn token_review(
            &self,
            token: &str,
        ) -> BoxFuture<'_, Result<TokenReviewStatus, BackendError>> {
            let ok = token == "t";
            Box::pin(async move {
                Ok(TokenReviewStatus {
                    authenticated: Some(ok),
                    user: ok.then(|| UserInfo {
                        username: Some("dev".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
            })
        }
        fn subject_access_review(
            &self,
            spec: SubjectAccessReviewSpec,
        ) -> BoxFuture<'_, Result<SubjectAccessReviewStatus, BackendError>> {
            let verb = spec
                .resource_attributes
                .as_ref()
                .and_then(|r| r.verb.clone())
                .unwrap_or_default();
            self.sars.lock().unwrap().push(spec);
            Box::pin(async move {
                Ok(SubjectAccessReviewStatus {
                    allowed: matches!(verb.as_str(), "get" | "list" | "watch"),
                    ..Default::default()
                })
            })
        }
        fn auth_config_map(
            &self,
        ) -> BoxFuture<'_, Result<Option<BTreeMap<String, String>>, BackendError>> {
            Box::pin(async { Ok(None) })
        }
    }

    #[derive(Debug, clap::Parser)]
    struct Flags {
        #[command(flatten)]
        functions: FunctionRunnerArgs,
    }

    #[tokio::test]
    async fn function_runner_flags_choose_the_evaluator() {
        use clap::Parser;
        let none = Flags::try_parse_from(["apiserver"]).unwrap().functions;
        assert_eq!(none.function_runner, None);
        assert_eq!(none.function_runner_timeout, Duration::from_secs(300));
        assert_eq!(none.function_runner_max_message_size, 6 * 1024 * 1024);
        assert!(none.evaluator().is_ok());

        let remote = Flags::try_parse_from([
            "apiserver",
            "--function-runner=function-runner.porch-system.svc:9445",
            "--function-runner-timeout=90s",
            "--function-runner-max-message-size=1024",
        ])
        .unwrap()
        .functions;
        assert_eq!(
            remote.function_runner.as_deref(),
            Some("function-runner.porch-system.svc:9445")
        );
        assert_eq!(remote.function_runner_timeout, Duration::from_secs(90));
        assert_eq!(remote.function_runner_max_message_size, 1024);
        assert!(remote.evaluator().is_ok());

        let bad = FunctionRunnerArgs {
            function_runner: Some("not a host:1".into()),
            ..FunctionRunnerArgs::default()
        };
        let err = bad.evaluator().err().unwrap().to_string();
        assert!(err.contains("not a host:1"), "{err}");
        assert!(Flags::try_parse_from(["apiserver", "--function-runner-timeout=soon"]).is_err());
    }

    #[tokio::test]
    async fn builtin_functions_run_in_process_and_the_rest_goes_to_the_runner() {
        use kpt::fn_eval::FunctionRef;
        // A runner address where nothing listens.
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let args = FunctionRunnerArgs {
            function_runner: Some(address.clone()),
            ..FunctionRunnerArgs::default()
        };
        let evaluator = args.evaluator().unwrap();
        let input = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n\
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: cm, namespace: old}}\n\
            functionConfig: {apiVersion: v1, kind: ConfigMap, metadata: {name: f}, data: {namespace: new-ns}}\n";

        let out = evaluator
            .evaluate(
                &FunctionRef::Image("set-namespace:v0.4".into()),
                input.as_bytes(),
            )
            .await
            .unwrap();
        assert_eq!(out.exit_code, 0);
        let list = porch_fn_runner::yaml::parse(&out.resource_list).unwrap();
        assert_eq!(list["items"][0]["metadata"]["namespace"], "new-ns");

        let err = evaluator
            .evaluate(
                &FunctionRef::Image("ghcr.io/someone/unknown-fn:v1".into()),
                input.as_bytes(),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("unavailable"), "{err}");
        assert!(err.contains(&address), "{err}");
    }

    fn kubectl(kubeconfig: &Path, cache: &Path, args: &[&str]) -> std::process::Output {
        std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--cache-dir")
            .arg(cache)
            .args(args)
            .output()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kubectl_reads_package_revisions_through_delegated_auth() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let cluster = porch_apiserver::server::start(porch_apiserver::ServerOptions::new(
            dir.path().join("cluster"),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .await
        .unwrap();
        let client = cluster.client().await.unwrap();
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
        revs.create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "config.porch.kpt.dev/v1alpha1", "kind": "PackageRev",
                "metadata": {"name": "blueprints.basens.v1", "namespace": "default"},
                "spec": {"repository": "blueprints", "packageName": "basens", "workspaceName": "v1",
                         "revision": 1, "lifecycle": "Published"},
                "status": {"commit": "aaaa"}
            }))
            .unwrap(),
        )
        .await
        .unwrap();

        let cr_cache = CrCache::new();
        let porch = porch_group(
            client,
            cr_cache.clone(),
            &dir.path().join("cache"),
            ApiOptions::default(),
            FunctionRunnerArgs::default().evaluator().unwrap(),
            EngineOptions::default(),
        );
        let args = DelegatedArgs {
            secure_port: 0,
            cert_dir: dir.path().join("certs"),
            ..Default::default()
        };
        let reviews = Arc::new(Reviews::default());
        let server = delegated::start_with(
            &args,
            vec![porch.group.clone()],
            reviews.clone(),
            Arc::new(SystemClock),
        )
        .await
        .unwrap();
        // Wait for the CR cache to see the revision.
        let deadline = Instant::now() + Duration::from_secs(20);
        while cr_cache
            .read()
            .get("default", "blueprints.basens.v1")
            .is_none()
        {
            assert!(Instant::now() < deadline, "the CR cache never synced");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            porch_apiserver::kubeconfig::render(&server.url, server.ca_pem.as_ref().unwrap(), "t"),
        )
        .unwrap();
        let kc = kubeconfig.clone();
        let cache = dir.path().join("kubectl-cache");
        let (list, approve, denied_token) = tokio::task::spawn_blocking(move || {
            let list = kubectl(&kc, &cache, &["get", "packagerevisions", "-n", "default"]);
            let approve = kubectl(
                &kc,
                &cache,
                &[
                    "patch",
                    "packagerevision",
                    "blueprints.basens.v1",
                    "-n",
                    "default",
                    "--subresource=approval",
                    "--type=merge",
                    "-p",
                    r#"{"spec":{"lifecycle":"Published"}}"#,
                ],
            );
            let denied_token = kubectl(
                &kc,
                &cache,
                &[
                    "--token",
                    "nope",
                    "get",
                    "packagerevisions",
                    "-n",
                    "default",
                ],
            );
            (list, approve, denied_token)
        })
        .await
        .unwrap();

        let out = String::from_utf8_lossy(&list.stdout);
        assert!(
            list.status.success(),
            "{}",
            String::from_utf8_lossy(&list.stderr)
        );
        let header = out.lines().next().unwrap();
        for col in [
            "NAME",
            "PACKAGE",
            "WORKSPACENAME",
            "REVISION",
            "LATEST",
            "LIFECYCLE",
            "REPOSITORY",
        ] {
            assert!(header.contains(col), "{out}");
        }
        let row = out.lines().nth(1).unwrap();
        assert!(row.starts_with("blueprints.basens.v1"), "{out}");
        assert!(row.contains("Published"), "{out}");

        assert!(!approve.status.success());
        let err = String::from_utf8_lossy(&approve.stderr);
        assert!(
            err.contains(r#"User "dev" cannot patch resource "packagerevisions/approval" in API group "porch.kpt.dev" in the namespace "default""#),
            "{err}"
        );
        assert!(!denied_token.status.success());
        assert!(
            String::from_utf8_lossy(&denied_token.stderr).contains("Unauthorized"),
            "{}",
            String::from_utf8_lossy(&denied_token.stderr)
        );
        let sars = reviews.sars.lock().unwrap().clone();
        assert!(
            sars.iter().any(|s| s
                .resource_attributes
                .as_ref()
                .is_some_and(|r| r.verb.as_deref() == Some("list")
                    && r.resource.as_deref() == Some("packagerevisions")
                    && r.namespace.as_deref() == Some("default"))),
            "{sars:?}"
        );

        server.stop().await;
        porch.watchers.abort();
        cluster.stop().await;
    }
}
