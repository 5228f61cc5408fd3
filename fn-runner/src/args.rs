//! Command-line flags of `porch fn-runner` (upstream's names where they apply).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::image::GHCR_PREFIX;

/// 6 MiB, upstream's default gRPC message limit.
pub const DEFAULT_MAX_REQUEST_BODY_SIZE: usize = 6 * 1024 * 1024;

/// Flags of the function runner.
#[derive(Debug, Clone, clap::Args)]
pub struct FnRunnerArgs {
    /// Address to serve gRPC on.
    #[arg(long, default_value = "127.0.0.1:9445")]
    pub address: SocketAddr,
    /// Largest gRPC message accepted or sent, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_REQUEST_BODY_SIZE)]
    pub max_request_body_size: usize,
    /// Directory that relative `binaryExecutor.path`s are resolved against.
    #[arg(long, default_value = "./functions")]
    pub functions: PathBuf,
    /// YAML file with FunctionConfig objects (`binaryExecutor`, `podExecutor`).
    #[arg(long)]
    pub function_config: Option<PathBuf>,
    /// Runtimes to switch off: any of native, exec, pod (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub disable_runtimes: Vec<String>,
    /// Prefix that bare image names expand to.
    #[arg(long, env = "KPT_IMAGE_PREFIX", default_value = GHCR_PREFIX)]
    pub default_image_prefix: String,
    /// Per-call time limit for executables (Go duration).
    #[arg(long, default_value = "5m", value_parser = crate::duration::parse)]
    pub exec_timeout: std::time::Duration,
    /// Time limit for starlark programs (Go duration).
    #[arg(long, default_value = "10s", value_parser = crate::duration::parse)]
    pub starlark_timeout: std::time::Duration,
    /// Pod runtime options.
    #[command(flatten)]
    pub pod: PodArgs,
}

/// Flags of the pod runtime.
#[derive(Debug, Clone, clap::Args)]
pub struct PodArgs {
    /// Namespace of function pods and their templates.
    #[arg(long, default_value = "porch-fn-system")]
    pub pod_namespace: String,
    /// Idle time after which a function pod is removed.
    #[arg(long, default_value = "30m", value_parser = crate::duration::parse)]
    pub pod_ttl: std::time::Duration,
    /// How often pods are garbage-collected.
    #[arg(long, default_value = "1m", value_parser = crate::duration::parse)]
    pub scan_interval: std::time::Duration,
    /// Start one pod per configured image at startup.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub warm_up_pod_cache: bool,
    /// Queue length per pod at which another pod is started.
    #[arg(long, default_value_t = 2)]
    pub max_waitlist_length: usize,
    /// Most pods per function image.
    #[arg(long, default_value_t = 1)]
    pub max_parallel_pods_per_function: usize,
    /// Image of the wrapper server copied into function pods (required for the pod runtime).
    #[arg(long, env = "WRAPPER_SERVER_IMAGE")]
    pub wrapper_server_image: Option<String>,
    /// Use a docker config secret for images outside gcr.io/kpt-fn.
    #[arg(long, default_value_t = false)]
    pub enable_private_registries: bool,
    /// Docker config JSON to copy into the pull secret.
    #[arg(long, default_value = "/var/tmp/config-secret/.dockerconfigjson")]
    pub registry_auth_secret_path: PathBuf,
    /// Name of the pull secret in the pod namespace.
    #[arg(long, default_value = "auth-secret")]
    pub registry_auth_secret_name: String,
}
