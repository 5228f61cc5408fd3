//! Renders through a separate function runner over gRPC (`evaluator.FunctionEvaluator`), as
//! upstream's porch-server does with `--function-runner`.

use std::time::Duration;

use kpt::fn_eval::{EvalError, EvalFuture, EvalOutput, Evaluator, FunctionRef};
use porch_proto::{EvaluateFunctionRequest, FunctionEvaluatorClient};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

/// How long connecting to the runner may take before a call fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of the gRPC client.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Time limit for one `EvaluateFunction` call (sent as `grpc-timeout` and enforced locally).
    pub timeout: Duration,
    /// Largest message sent or accepted; must match the runner's `--max-request-body-size`.
    pub max_message_size: usize,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            timeout: Duration::from_secs(5 * 60),
            max_message_size: porch_fn_runner::args::DEFAULT_MAX_REQUEST_BODY_SIZE,
        }
    }
}

/// The runner address could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid function runner address {address:?}: {source}")]
pub struct InvalidAddress {
    address: String,
    source: tonic::transport::Error,
}

/// `host:port` (or a full `http://` URI) as a URI tonic accepts.
fn endpoint_uri(address: &str) -> String {
    if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    }
}

/// An [`Evaluator`] that sends every call to a function runner.
#[derive(Clone)]
pub struct RemoteEvaluator {
    address: String,
    client: FunctionEvaluatorClient<Channel>,
    timeout: Duration,
    max_message_size: usize,
}

impl RemoteEvaluator {
    /// A client for the runner at `address` (`host:port`). The connection is made on the first
    /// call and re-made after failures, so the runner may start after the API server.
    /// Must be called inside a tokio runtime.
    pub fn new(address: &str, options: RemoteOptions) -> Result<Self, InvalidAddress> {
        let endpoint = Endpoint::from_shared(endpoint_uri(address))
            .map_err(|source| InvalidAddress {
                address: address.to_string(),
                source,
            })?
            .connect_timeout(CONNECT_TIMEOUT)
            // HTTP/2's 64 KiB default windows cost several round trips per MiB of ResourceList.
            .initial_stream_window_size(window_size(options.max_message_size))
            .initial_connection_window_size(
                window_size(options.max_message_size).saturating_mul(2),
            );
        let client = FunctionEvaluatorClient::new(endpoint.connect_lazy())
            .max_decoding_message_size(options.max_message_size)
            .max_encoding_message_size(options.max_message_size);
        Ok(RemoteEvaluator {
            address: address.to_string(),
            client,
            timeout: options.timeout,
            max_message_size: options.max_message_size,
        })
    }

    async fn call(&self, image: &str, resource_list: &[u8]) -> Result<EvalOutput, EvalError> {
        let request = EvaluateFunctionRequest {
            resource_list: resource_list.to_vec(),
            image: image.to_string(),
        };
        // tonic reports an oversized request only as a bare HTTP/2 reset: check it here.
        let size = prost::Message::encoded_len(&request);
        if size > self.max_message_size {
            return Err(EvalError::Failed {
                function: image.to_string(),
                message: format!(
                    "message too large for function runner {}: {size} bytes, the limit is {} \
                     (--function-runner-max-message-size, keep it in sync with the runner's \
                     --max-request-body-size)",
                    self.address, self.max_message_size
                ),
            });
        }
        let mut request = tonic::Request::new(request);
        request.set_timeout(self.timeout);
        let mut client = self.client.clone();
        let response =
            match tokio::time::timeout(self.timeout, client.evaluate_function(request)).await {
                Ok(Ok(r)) => r.into_inner(),
                Ok(Err(status)) => return Err(self.status_error(image, &status)),
                Err(_) => {
                    return Err(EvalError::Failed {
                        function: image.to_string(),
                        message: self.timed_out(),
                    });
                }
            };
        Ok(EvalOutput {
            resource_list: response.resource_list,
            stderr: response.log,
            exit_code: 0,
        })
    }

    fn timed_out(&self) -> String {
        format!(
            "function runner {} did not answer within {:?}",
            self.address, self.timeout
        )
    }

    /// The runner's status as a kpt error naming the image and the runner.
    ///
    /// `NotFound` (no runtime of the runner knows the image) becomes `Failed`, not
    /// `EvalError::NotFound`: the runner has already tried all its runtimes, so there is nothing
    /// left to fall through to, and the message must say which runner was asked.
    fn status_error(&self, image: &str, status: &tonic::Status) -> EvalError {
        let addr = &self.address;
        let detail = status.message();
        let message = match status.code() {
            Code::NotFound => {
                format!(
                    "not found: function runner {addr} has no runtime for this image ({detail})"
                )
            }
            Code::DeadlineExceeded => self.timed_out(),
            // tonic's own deadline (from `grpc-timeout`) fires as Cancelled with this text only.
            Code::Cancelled if detail == tonic::TimeoutExpired(()).to_string() => self.timed_out(),
            Code::Unavailable => format!("function runner {addr} is unavailable: {detail}"),
            Code::ResourceExhausted | Code::OutOfRange => format!(
                "message too large for function runner {addr} (keep --function-runner-max-message-size \
                 in sync with the runner's --max-request-body-size): {detail}"
            ),
            // The function itself failed: the runner's text already has its results and stderr.
            Code::Internal => format!("function runner {addr}: {detail}"),
            code => format!("function runner {addr} answered {code:?}: {detail}"),
        };
        tracing::debug!(image, runner = %addr, code = ?status.code(), "function runner call failed");
        EvalError::Failed {
            function: image.to_string(),
            message,
        }
    }
}

impl Evaluator for RemoteEvaluator {
    fn evaluate<'a>(
        &'a self,
        function: &'a FunctionRef,
        resource_list: &'a [u8],
    ) -> EvalFuture<'a> {
        Box::pin(async move {
            match function {
                FunctionRef::Image(image) => self.call(image, resource_list).await,
                // The runner's contract carries images only; local executables cannot be sent.
                FunctionRef::Exec(_) => Err(EvalError::NotFound(function.name().to_string())),
            }
        })
    }
}

/// A flow-control window that fits one whole message, within HTTP/2's 1-16 MiB useful range.
fn window_size(max_message_size: usize) -> u32 {
    let clamped = max_message_size.clamp(1 << 20, 16 << 20);
    u32::try_from(clamped).unwrap_or(16 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const RL: &str = "apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cm
    namespace: old
  data:
    k: v
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: fn-config
  data:
    namespace: new-ns
";

    /// The real function runner on 127.0.0.1:0 with the in-process runtimes.
    async fn start_runner() -> (
        String,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let evaluator =
            porch_fn_runner::in_process_evaluator(porch_fn_runner::InProcessConfig::default());
        let server = tokio::spawn(async move {
            porch_fn_runner::serve(
                listener,
                evaluator,
                porch_fn_runner::args::DEFAULT_MAX_REQUEST_BODY_SIZE,
                async {
                    let _ = stopped.await;
                },
            )
            .await
            .unwrap();
        });
        (address, stop, server)
    }

    #[tokio::test]
    async fn renders_through_the_function_runner_and_names_unknown_images() {
        let (address, stop, server) = start_runner().await;
        let remote: Arc<dyn Evaluator> =
            Arc::new(RemoteEvaluator::new(&address, RemoteOptions::default()).unwrap());

        let out = remote
            .evaluate(
                &FunctionRef::Image("set-namespace:v0.4".into()),
                RL.as_bytes(),
            )
            .await
            .unwrap();
        assert_eq!(out.exit_code, 0);
        let v = porch_fn_runner::yaml::parse(&out.resource_list).unwrap();
        assert_eq!(v["items"][0]["metadata"]["namespace"], "new-ns", "{v:?}");
        assert_eq!(v["items"][0]["data"]["k"], "v");

        let image = "ghcr.io/someone/unknown-fn:v1";
        let err = remote
            .evaluate(&FunctionRef::Image(image.into()), RL.as_bytes())
            .await
            .unwrap_err();
        let EvalError::Failed { function, message } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(function, image);
        let text = err.to_string();
        assert!(text.contains("not found"), "{text}");
        assert!(text.contains(image), "{text}");
        assert!(message.contains(&address), "{text}");

        stop.send(()).unwrap();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_runner_that_is_not_there_is_unavailable_and_messages_over_the_limit_are_refused() {
        let (address, stop, server) = start_runner().await;
        // A small client limit: the request is refused before it leaves.
        let small = RemoteEvaluator::new(
            &address,
            RemoteOptions {
                max_message_size: 64,
                ..RemoteOptions::default()
            },
        )
        .unwrap();
        let err = small
            .evaluate(
                &FunctionRef::Image("set-namespace:v0.4".into()),
                RL.as_bytes(),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("message too large"), "{err}");
        assert!(err.contains(&address), "{err}");
        stop.send(()).unwrap();
        server.await.unwrap();

        // The runner has stopped: its port now refuses connections.
        let gone = RemoteEvaluator::new(&address, RemoteOptions::default()).unwrap();
        let err = gone
            .evaluate(
                &FunctionRef::Image("set-namespace:v0.4".into()),
                RL.as_bytes(),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("unavailable"), "{err}");
        assert!(err.contains(&address), "{err}");
    }

    #[tokio::test]
    async fn kpt_render_runs_the_pipeline_through_the_function_runner() {
        let (address, stop, server) = start_runner().await;
        let remote = RemoteEvaluator::new(&address, RemoteOptions::default()).unwrap();
        let files = [
            (
                "Kptfile".to_string(),
                "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\npipeline:\n  mutators:\n  - image: set-namespace:v0.4\n    configMap:\n      namespace: prod\n".to_string(),
            ),
            (
                "cm.yaml".to_string(),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: dev\n".to_string(),
            ),
        ];
        let pkg = kpt::Package::new(files.into_iter().collect()).unwrap();
        let out = kpt::render(&pkg, &remote, &kpt::RenderOptions::default()).await;
        assert_eq!(out.error, None);
        let cm = &out.package.files["cm.yaml"];
        assert!(cm.contains("namespace: prod"), "{cm}");
        assert!(!cm.contains("namespace: dev"), "{cm}");
        stop.send(()).unwrap();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_runner_that_never_answers_times_out() {
        // Accepts connections and never speaks HTTP/2.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                held.push(conn);
            }
        });
        let remote = RemoteEvaluator::new(
            &address,
            RemoteOptions {
                timeout: Duration::from_millis(300),
                ..RemoteOptions::default()
            },
        )
        .unwrap();
        let err = remote
            .evaluate(
                &FunctionRef::Image("set-namespace:v0.4".into()),
                RL.as_bytes(),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("did not answer within 300ms"), "{err}");
        assert!(err.contains(&address), "{err}");
        silent.abort();
    }

    #[tokio::test]
    async fn every_status_names_the_image_and_the_runner() {
        let remote = RemoteEvaluator::new("fr:9445", RemoteOptions::default()).unwrap();
        let text = |status: tonic::Status| remote.status_error("img:v1", &status).to_string();
        let big = text(tonic::Status::out_of_range(
            "decoded message length too large",
        ));
        assert!(big.contains("message too large"), "{big}");
        let failed = text(tonic::Status::internal(
            "Failed to execute function \"img:v1\": exit status 1 (boom)",
        ));
        assert!(failed.contains("boom"), "{failed}");
        let other = text(tonic::Status::unimplemented("no such method"));
        assert!(other.contains("Unimplemented: no such method"), "{other}");
        let late = text(tonic::Status::deadline_exceeded("deadline"));
        assert!(late.contains("did not answer within 300s"), "{late}");
        for t in [big, failed, other, late] {
            assert!(t.contains("\"img:v1\"") && t.contains("fr:9445"), "{t}");
        }
    }

    #[test]
    fn addresses_without_a_scheme_get_http() {
        assert_eq!(
            endpoint_uri("function-runner:9445"),
            "http://function-runner:9445"
        );
        assert_eq!(endpoint_uri("http://fr:9445"), "http://fr:9445");
    }

    #[tokio::test]
    async fn bad_addresses_are_refused_up_front() {
        let err = RemoteEvaluator::new("bad host:1", RemoteOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("bad host:1"), "{err}");
    }
}
