//! The pod runtime (porch-behaviour.md §6.2): one or more pods per function image,
//! each running the wrapper server, reached through a ClusterIP service.
//!
//! Requests go to the least-loaded pod of the image; another pod is started when
//! every pod's queue is full and the image may have more. Idle pods are removed
//! after their TTL by a periodic collector, which also drops pods that vanished
//! or failed. Pods left by an earlier run are adopted when they were made from
//! the current PodTemplate, else deleted.

pub mod cache;
mod kube_ops;
pub mod registry;
pub mod templates;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kpt::fn_eval::{EvalError, EvalFuture, EvalOutput, Evaluator, FunctionRef};
use porch_proto::{EvaluateFunctionRequest, FunctionEvaluatorClient};

use crate::function_config::{FunctionConfig, FunctionConfigSpec};
use crate::image::ImageRef;
use cache::{Decision, SlotView};
pub use registry::{ImageInfo, ImageResolver, RegistryResolver};

/// A docker-config pull secret to create and attach to function pods.
#[derive(Clone)]
pub struct PullSecret {
    /// Secret name in the pod namespace.
    pub name: String,
    /// The `.dockerconfigjson` content.
    pub docker_config_json: Vec<u8>,
}

impl std::fmt::Debug for PullSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the credentials.
        f.debug_struct("PullSecret")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Settings of the pod runtime.
#[derive(Debug, Clone)]
pub struct PodConfig {
    /// Namespace of pods, services and templates.
    pub namespace: String,
    /// Prefix for bare image names.
    pub default_prefix: String,
    /// Image of the wrapper server (for the built-in PodTemplate).
    pub wrapper_server_image: String,
    /// Idle time before a pod is removed.
    pub ttl: Duration,
    /// How often the collector runs.
    pub scan_interval: Duration,
    /// Queue length per pod at which another pod is started.
    pub max_waitlist: usize,
    /// Most pods per image.
    pub max_pods: usize,
    /// gRPC message limit.
    pub max_message_size: usize,
    /// How long a new pod may take to become ready.
    pub ready_timeout: Duration,
    /// How often readiness is polled.
    pub poll_interval: Duration,
    /// Pull secret for private registries.
    pub pull_secret: Option<PullSecret>,
    /// FunctionConfig specs by short image name (per-image overrides).
    pub per_image: HashMap<String, FunctionConfigSpec>,
    /// Dial this address instead of the service's cluster DNS name (tests, port-forwards).
    pub connect_override: Option<String>,
}

impl PodConfig {
    /// Defaults matching upstream's flags.
    pub fn new(namespace: impl Into<String>, wrapper_server_image: impl Into<String>) -> Self {
        PodConfig {
            namespace: namespace.into(),
            default_prefix: crate::image::GHCR_PREFIX.to_string(),
            wrapper_server_image: wrapper_server_image.into(),
            ttl: Duration::from_secs(30 * 60),
            scan_interval: Duration::from_secs(60),
            max_waitlist: 2,
            max_pods: 1,
            max_message_size: crate::args::DEFAULT_MAX_REQUEST_BODY_SIZE,
            ready_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_millis(100),
            pull_secret: None,
            per_image: HashMap::new(),
            connect_override: None,
        }
    }

    fn spec_for(&self, image: &str) -> Option<&FunctionConfigSpec> {
        self.per_image.get(&ImageRef::parse(image).name)
    }

    fn pod_executor(&self, image: &str) -> Option<&crate::function_config::PodExecutor> {
        self.spec_for(image).and_then(|s| s.pod_executor.as_ref())
    }

    fn ttl_for(&self, image: &str) -> Duration {
        self.pod_executor(image)
            .and_then(|p| p.time_to_live.as_deref())
            .and_then(|t| crate::duration::parse(t).ok())
            .unwrap_or(self.ttl)
    }

    fn max_pods_for(&self, image: &str) -> usize {
        self.pod_executor(image)
            .and_then(|p| p.max_parallel_executions)
            .unwrap_or(self.max_pods)
    }

    fn max_waitlist_for(&self, image: &str) -> usize {
        self.pod_executor(image)
            .and_then(|p| p.preferred_max_queue_length)
            .unwrap_or(self.max_waitlist)
    }
}

/// One running function pod.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Pod name.
    pub pod: String,
    /// Service name (= pod id).
    pub service: String,
    /// `host:port` to dial.
    pub target: String,
    in_flight: usize,
    last_used: Instant,
}

#[derive(Default)]
struct ImageSlots {
    slots: Vec<Slot>,
    starting: usize,
    next_slot: usize,
    rr: usize,
}

/// The pod runtime as an [`Evaluator`].
pub struct PodEvaluator {
    ops: kube_ops::KubeOps,
    cfg: PodConfig,
    resolver: Arc<dyn ImageResolver>,
    state: Mutex<HashMap<String, ImageSlots>>,
    metadata: Mutex<HashMap<String, ImageInfo>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PodEvaluator {
    /// A pod runtime talking to `client`.
    pub fn new(client: kube::Client, cfg: PodConfig, resolver: Arc<dyn ImageResolver>) -> Self {
        PodEvaluator {
            ops: kube_ops::KubeOps::new(client, &cfg.namespace),
            cfg,
            resolver,
            state: Mutex::new(HashMap::new()),
            metadata: Mutex::new(HashMap::new()),
        }
    }

    /// Pods currently cached for an image (qualified name).
    pub fn slots(&self, image: &str) -> Vec<Slot> {
        lock(&self.state)
            .get(image)
            .map(|s| s.slots.clone())
            .unwrap_or_default()
    }

    async fn image_info(&self, image: &str) -> Result<ImageInfo, String> {
        if let Some(i) = lock(&self.metadata).get(image) {
            return Ok(i.clone());
        }
        let info = self.resolver.resolve(image).await?;
        lock(&self.metadata).insert(image.to_string(), info.clone());
        Ok(info)
    }

    /// Reserve a pod for one request, starting one when needed.
    async fn acquire(&self, image: &str) -> Result<Slot, String> {
        let started = Instant::now();
        loop {
            let slot_no = {
                let mut state = lock(&self.state);
                let entry = state.entry(image.to_string()).or_default();
                let loads: Vec<usize> = entry.slots.iter().map(|s| s.in_flight).collect();
                let d = cache::choose(
                    &loads,
                    entry.starting,
                    self.cfg.max_waitlist_for(image),
                    self.cfg.max_pods_for(image),
                    entry.rr,
                );
                match d {
                    Decision::Use(i) => {
                        entry.rr = i + 1;
                        let s = &mut entry.slots[i];
                        s.in_flight += 1;
                        return Ok(s.clone());
                    }
                    Decision::Start => {
                        entry.starting += 1;
                        entry.next_slot += 1;
                        Some(entry.next_slot - 1)
                    }
                    Decision::Wait => None,
                }
            };
            let Some(slot_no) = slot_no else {
                if started.elapsed() > self.cfg.ready_timeout {
                    return Err(format!("timed out waiting for a pod for {image}"));
                }
                tokio::time::sleep(self.cfg.poll_interval).await;
                continue;
            };
            let result = self.start_pod(image, slot_no).await;
            let mut state = lock(&self.state);
            let entry = state.entry(image.to_string()).or_default();
            entry.starting = entry.starting.saturating_sub(1);
            let mut slot = result?;
            slot.in_flight = 1;
            entry.slots.push(slot.clone());
            return Ok(slot);
        }
    }

    fn release(&self, image: &str, pod: &str) {
        let mut state = lock(&self.state);
        if let Some(s) = state
            .get_mut(image)
            .and_then(|e| e.slots.iter_mut().find(|s| s.pod == pod))
        {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.last_used = Instant::now();
        }
    }

    /// Create the pod and service for `image` and wait until they serve.
    async fn start_pod(&self, image: &str, slot_no: usize) -> Result<Slot, String> {
        let info = self.image_info(image).await?;
        let r = ImageRef::parse(image);
        let id = templates::pod_id(&r.name, &r.tag, slot_no, &info.digest);
        let template = self
            .ops
            .pod_template(&self.cfg.wrapper_server_image)
            .await?;
        let service_template = self.ops.service_template().await?;
        self.ops.delete_pods_labelled(&id).await?;
        let secret = match &self.cfg.pull_secret {
            Some(ps) if !image.starts_with("gcr.io/kpt-fn/") => {
                self.ops.ensure_pull_secret(ps).await?;
                Some(ps.name.as_str())
            }
            _ => None,
        };
        let version = template
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        let overrides = self
            .cfg
            .pod_executor(image)
            .and_then(|p| p.template_overrides.as_ref());
        let pod = templates::pod_from_template(
            &template,
            &self.cfg.namespace,
            &templates::PodSpecInput {
                pod_id: &id,
                image,
                entrypoint: &info.entrypoint,
                max_message_size: self.cfg.max_message_size,
                template_version: &version,
                image_pull_secret: secret,
                overrides,
            },
        )?;
        let pod_name = self.ops.create_pod(&pod).await?;
        let ready = async {
            let service =
                templates::service_from_template(&service_template, &self.cfg.namespace, &id)?;
            self.ops.ensure_service(&service).await?;
            let deadline = Instant::now() + self.cfg.ready_timeout;
            let ip = self
                .ops
                .wait_pod_ready(&pod_name, deadline, self.cfg.poll_interval)
                .await?;
            self.ops
                .wait_endpoint(&id, &ip, deadline, self.cfg.poll_interval)
                .await
        };
        if let Err(e) = ready.await {
            tracing::warn!(pod = %pod_name, error = %e, "function pod did not start; removing it");
            self.ops.delete_pod_and_service(&pod_name, &id).await;
            return Err(format!("pod {pod_name} for {image} did not start: {e}"));
        }
        let target = match &self.cfg.connect_override {
            Some(t) => t.clone(),
            None => format!(
                "{id}.{}.svc.cluster.local:{}",
                self.cfg.namespace,
                templates::WRAPPER_PORT
            ),
        };
        tracing::info!(pod = %pod_name, image = %image, "function pod ready");
        Ok(Slot {
            pod: pod_name,
            service: id,
            target,
            in_flight: 0,
            last_used: Instant::now(),
        })
    }

    async fn call(
        &self,
        slot: &Slot,
        image: &str,
        resource_list: &[u8],
    ) -> Result<EvalOutput, EvalError> {
        let failed = |message: String| EvalError::Failed {
            function: image.to_string(),
            message,
        };
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", slot.target))
            .map_err(|e| failed(e.to_string()))?
            .connect()
            .await
            .map_err(|e| failed(format!("cannot reach function pod {}: {e}", slot.pod)))?;
        let mut client = FunctionEvaluatorClient::new(channel)
            .max_decoding_message_size(self.cfg.max_message_size)
            .max_encoding_message_size(self.cfg.max_message_size);
        let resp = client
            .evaluate_function(EvaluateFunctionRequest {
                resource_list: resource_list.to_vec(),
                image: image.to_string(),
            })
            .await
            .map_err(|s| failed(s.message().to_string()))?
            .into_inner();
        Ok(EvalOutput {
            resource_list: resp.resource_list,
            stderr: resp.log,
            exit_code: 0,
        })
    }

    /// One collector pass: drop slots whose pod or service vanished or failed, and
    /// idle slots past their TTL; delete their pods and services.
    pub async fn collect_garbage(&self) {
        let snapshot: Vec<(String, Slot)> = lock(&self.state)
            .iter()
            .flat_map(|(img, e)| e.slots.iter().map(move |s| (img.clone(), s.clone())))
            .collect();
        let mut health = HashMap::new();
        for (_, s) in &snapshot {
            health.insert(
                s.pod.clone(),
                self.ops.pod_and_service_alive(&s.pod, &s.service).await,
            );
        }
        let now = Instant::now();
        let mut doomed = Vec::new();
        {
            let mut state = lock(&self.state);
            for (image, entry) in state.iter_mut() {
                let ttl = self.cfg.ttl_for(image);
                entry.slots.retain(|s| {
                    let view = SlotView {
                        in_flight: s.in_flight,
                        last_used: s.last_used,
                        healthy: health.get(&s.pod).copied().unwrap_or(true),
                    };
                    let drop = cache::should_collect(&view, ttl, now);
                    if drop {
                        doomed.push(s.clone());
                    }
                    !drop
                });
            }
        }
        for s in doomed {
            tracing::info!(pod = %s.pod, "removing function pod");
            self.ops.delete_pod_and_service(&s.pod, &s.service).await;
        }
    }

    /// Run the collector every `scan_interval` until the evaluator is dropped.
    pub fn spawn_collector(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let every = self.cfg.scan_interval;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(me) = weak.upgrade() else { break };
                me.collect_garbage().await;
            }
        })
    }

    /// Start one pod for every FunctionConfig with `podExecutor.tags`.
    pub async fn warm_up(&self, configs: &[FunctionConfig]) {
        for c in configs {
            let Some(tag) = c.spec.pod_executor.as_ref().and_then(|p| p.tags.first()) else {
                continue;
            };
            let prefix = c
                .spec
                .prefixes
                .first()
                .filter(|p| !p.is_empty())
                .cloned()
                .unwrap_or_else(|| self.cfg.default_prefix.clone());
            let image = format!("{}/{}:{tag}", prefix.trim_end_matches('/'), c.spec.image);
            match self.acquire(&image).await {
                Ok(slot) => self.release(&image, &slot.pod),
                Err(e) => tracing::warn!(image = %image, error = %e, "warm-up failed"),
            }
        }
    }
}

impl Evaluator for PodEvaluator {
    fn evaluate<'a>(
        &'a self,
        function: &'a FunctionRef,
        resource_list: &'a [u8],
    ) -> EvalFuture<'a> {
        Box::pin(async move {
            let FunctionRef::Image(image) = function else {
                return Err(EvalError::NotFound(function.name().to_string()));
            };
            let qualified = ImageRef::parse(image).qualified(&self.cfg.default_prefix);
            let slot = self
                .acquire(&qualified)
                .await
                .map_err(|message| EvalError::Failed {
                    function: image.clone(),
                    message,
                })?;
            let out = self.call(&slot, image, resource_list).await;
            self.release(&qualified, &slot.pod);
            out
        })
    }
}

/// Build the pod runtime from flags when a cluster and a wrapper-server image are available.
pub async fn start_from_args(
    args: &crate::args::FnRunnerArgs,
    configs: &[FunctionConfig],
) -> Result<Option<Arc<dyn Evaluator>>, String> {
    let Some(wrapper) = args.pod.wrapper_server_image.clone() else {
        return Ok(None);
    };
    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(error = %e, "no Kubernetes client; pod runtime off");
            return Ok(None);
        }
    };
    let mut cfg = PodConfig::new(args.pod.pod_namespace.clone(), wrapper);
    cfg.default_prefix = args.default_image_prefix.clone();
    cfg.ttl = args.pod.pod_ttl;
    cfg.scan_interval = args.pod.scan_interval;
    cfg.max_waitlist = args.pod.max_waitlist_length;
    cfg.max_pods = args.pod.max_parallel_pods_per_function;
    cfg.max_message_size = args.max_request_body_size;
    cfg.per_image = configs
        .iter()
        .map(|c| (c.spec.image.clone(), c.spec.clone()))
        .collect();
    if args.pod.enable_private_registries {
        let bytes = std::fs::read(&args.pod.registry_auth_secret_path).map_err(|e| {
            format!(
                "cannot read {}: {e}",
                args.pod.registry_auth_secret_path.display()
            )
        })?;
        cfg.pull_secret = Some(PullSecret {
            name: args.pod.registry_auth_secret_name.clone(),
            docker_config_json: bytes,
        });
    }
    let resolver = Arc::new(RegistryResolver::new(
        cfg.pull_secret
            .as_ref()
            .map(|p| p.docker_config_json.clone()),
    ));
    let pods = Arc::new(PodEvaluator::new(client, cfg, resolver));
    pods.adopt_existing().await;
    pods.spawn_collector();
    if args.pod.warm_up_pod_cache {
        let warm = pods.clone();
        let configs = configs.to_vec();
        tokio::spawn(async move { warm.warm_up(&configs).await });
    }
    Ok(Some(pods))
}

impl PodEvaluator {
    /// Adopt running pods made from the current PodTemplate; delete the others.
    pub async fn adopt_existing(&self) {
        let version = match self.ops.pod_template(&self.cfg.wrapper_server_image).await {
            Ok(t) => t.metadata.resource_version.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the pod template; not adopting pods");
                return;
            }
        };
        let pods = match self.ops.labelled_pods().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list function pods");
                return;
            }
        };
        for p in pods {
            let keep = p.template_version == version && p.running && !p.image.is_empty();
            if keep {
                let target = match &self.cfg.connect_override {
                    Some(t) => t.clone(),
                    None => format!(
                        "{}.{}.svc.cluster.local:{}",
                        p.id,
                        self.cfg.namespace,
                        templates::WRAPPER_PORT
                    ),
                };
                let mut state = lock(&self.state);
                let e = state.entry(p.image.clone()).or_default();
                e.next_slot += 1;
                e.slots.push(Slot {
                    pod: p.name,
                    service: p.id,
                    target,
                    in_flight: 0,
                    last_used: Instant::now(),
                });
            } else {
                self.ops.delete_pod_and_service(&p.name, &p.id).await;
            }
        }
    }
}

#[cfg(test)]
mod tests;
