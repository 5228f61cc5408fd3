//! The gRPC server: upstream's `evaluator.FunctionEvaluator` plus `grpc.health.v1.Health`.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt as _;
use kpt::fn_eval::{EvalError, EvalOutput, Evaluator, FunctionRef};
use porch_proto::{
    EvaluateFunctionRequest, EvaluateFunctionResponse, FunctionEvaluator, FunctionEvaluatorServer,
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use crate::args::FnRunnerArgs;
use crate::chain::ChainEvaluator;
use crate::exec::{ExecEntry, ExecEvaluator};
use crate::native_evaluator::NativeEvaluator;

/// The gRPC service over an evaluator chain.
#[derive(Clone)]
pub struct FnRunnerService {
    evaluator: Arc<dyn Evaluator>,
}

impl FnRunnerService {
    /// Serve `evaluator`.
    pub fn new(evaluator: Arc<dyn Evaluator>) -> Self {
        FnRunnerService { evaluator }
    }
}

/// Upstream's text for a function that exited non-zero: structured results
/// when its output parses, otherwise the exec evaluator's form.
fn failure_status(image: &str, out: &EvalOutput) -> Status {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let results = crate::yaml::parse(&out.resource_list)
        .ok()
        .and_then(|v| v.get("results").cloned())
        .filter(|r| r.as_array().is_some_and(|a| !a.is_empty()));
    match results {
        Some(r) => Status::internal(format!(
            "failed to evaluate function {image:?} with structured results: {} and stderr: {}",
            crate::yaml::to_yaml(&r).trim_end(),
            stderr.trim_end()
        )),
        None => Status::internal(format!(
            "Failed to execute function {image:?}: exit status {} ({})",
            out.exit_code,
            stderr.trim_end()
        )),
    }
}

#[tonic::async_trait]
impl FunctionEvaluator for FnRunnerService {
    async fn evaluate_function(
        &self,
        request: Request<EvaluateFunctionRequest>,
    ) -> Result<Response<EvaluateFunctionResponse>, Status> {
        let req = request.into_inner();
        if req.image.is_empty() {
            return Err(Status::invalid_argument("image must not be empty"));
        }
        let function = FunctionRef::Image(req.image.clone());
        let started = std::time::Instant::now();
        // A panicking evaluator fails this call only; the server keeps serving.
        let result = match AssertUnwindSafe(self.evaluator.evaluate(&function, &req.resource_list))
            .catch_unwind()
            .await
        {
            Ok(r) => r,
            Err(_) => {
                tracing::error!(image = %req.image, "evaluator panicked");
                return Err(Status::internal(format!(
                    "Failed to execute function {:?}: the evaluator panicked",
                    req.image
                )));
            }
        };
        tracing::info!(image = %req.image, elapsed_ms = started.elapsed().as_millis() as u64, ok = result.is_ok(), "evaluated function");
        match result {
            Ok(out) if out.exit_code == 0 => Ok(Response::new(EvaluateFunctionResponse {
                resource_list: out.resource_list,
                log: out.stderr,
            })),
            Ok(out) => Err(failure_status(&req.image, &out)),
            Err(EvalError::NotFound(image)) => Err(Status::not_found(format!(
                "no evaluator can run function {image:?}: image not found"
            ))),
            Err(EvalError::Failed { function, message }) => Err(Status::internal(format!(
                "Failed to execute function {function:?}: {message}"
            ))),
        }
    }
}

/// Serve `evaluator` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    evaluator: Arc<dyn Evaluator>,
    max_message_size: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<FunctionEvaluatorServer<FnRunnerService>>()
        .await;
    let svc = FunctionEvaluatorServer::new(FnRunnerService::new(evaluator))
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size);
    // HTTP/2's default 64 KiB flow-control windows make a 1 MB ResourceList
    // wait for many WINDOW_UPDATE round trips; open them to the message limit.
    let window = u32::try_from(max_message_size.clamp(1 << 20, 16 << 20)).unwrap_or(16 << 20);
    tonic::transport::Server::builder()
        .initial_stream_window_size(Some(window))
        .initial_connection_window_size(Some(window.saturating_mul(2)))
        .add_service(health_service)
        .add_service(svc)
        .serve_with_incoming_shutdown(incoming_nodelay(listener), shutdown)
        .await
}

/// Accepted connections with Nagle's algorithm off. tonic applies its `tcp_nodelay` only to
/// listeners it binds itself; without it a 1 MB reply waits ~40 ms for the peer's delayed ACK.
fn incoming_nodelay(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt as _;
    TcpListenerStream::new(listener).map(|conn| {
        if let Ok(stream) = &conn
            && let Err(e) = stream.set_nodelay(true)
        {
            tracing::debug!(error = %e, "cannot disable Nagle on a connection");
        }
        conn
    })
}

/// Why the runner could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A FunctionConfig file could not be used.
    #[error(transparent)]
    Config(#[from] crate::function_config::FunctionConfigError),
    /// Binding the address failed.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    /// An unknown runtime was named.
    #[error("unknown runtime {0:?} in --disable-runtimes (known: native, exec, pod)")]
    UnknownRuntime(String),
    /// The pod runtime could not start.
    #[error("pod runtime: {0}")]
    Pod(String),
}

/// `porch fn-runner`: build the evaluator chain from `args` and serve until `shutdown`.
pub async fn run(
    args: FnRunnerArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    for r in &args.disable_runtimes {
        if !["native", "exec", "pod"].contains(&r.as_str()) {
            return Err(RunError::UnknownRuntime(r.clone()));
        }
    }
    let enabled = |name: &str| !args.disable_runtimes.iter().any(|r| r == name);
    let configs = match &args.function_config {
        Some(p) => crate::function_config::load(p)?,
        None => Vec::new(),
    };
    let mut chain: Vec<Arc<dyn Evaluator>> = Vec::new();
    if enabled("native") {
        chain.push(Arc::new(NativeEvaluator::new(
            args.default_image_prefix.clone(),
            args.starlark_timeout,
        )));
    }
    if enabled("exec") {
        let entries = ExecEntry::from_configs(&configs, &args.functions);
        tracing::info!(count = entries.len(), "exec runtime configured");
        chain.push(Arc::new(ExecEvaluator::new(
            entries,
            args.default_image_prefix.clone(),
            args.exec_timeout,
        )));
    }
    if enabled("pod") {
        match crate::pod::start_from_args(&args, &configs).await {
            Ok(Some(pod)) => chain.push(pod),
            Ok(None) => {
                tracing::info!("pod runtime not started: no cluster or no wrapper-server image")
            }
            Err(e) => return Err(RunError::Pod(e)),
        }
    }
    let listener = TcpListener::bind(args.address)
        .await
        .map_err(|source| RunError::Bind {
            address: args.address,
            source,
        })?;
    tracing::info!(address = %args.address, "function runner serving");
    serve(
        listener,
        Arc::new(ChainEvaluator::new(chain)),
        args.max_request_body_size,
        shutdown,
    )
    .await?;
    Ok(())
}
