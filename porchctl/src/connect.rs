//! Building the API client from kubeconfig and kubectl's connection flags.

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::api::RestClient;
use crate::cli::KubeFlags;
use crate::errors::CliError;

/// How a command reaches the API server.
#[derive(Clone)]
pub enum Connector {
    /// Load the kubeconfig (`--kubeconfig`, else `KUBECONFIG`, else `~/.kube/config`).
    Kubeconfig,
    /// A ready client (tests hand in an in-process server) and its default namespace.
    Client {
        /// The client.
        client: kube::Client,
        /// The namespace the kubeconfig context would give.
        namespace: String,
    },
}

/// An API client plus the namespace the kubeconfig context defaults to.
#[derive(Clone)]
pub struct Session {
    /// REST access.
    pub rest: RestClient,
    /// The context's namespace (`default` when unset).
    pub context_namespace: String,
    /// The `-n/--namespace` flag as given (`Some("")` when given empty).
    pub namespace_flag: Option<String>,
}

impl Session {
    /// The underlying kube client.
    pub fn rest_client(&self) -> kube::Client {
        self.rest.kube_client()
    }

    /// `--namespace` if non-empty, else the context namespace (kubectl's rule).
    pub fn namespace(&self) -> String {
        match &self.namespace_flag {
            Some(ns) if !ns.is_empty() => ns.clone(),
            _ => self.context_namespace.clone(),
        }
    }
}

impl Connector {
    /// Connects with the given flags.
    pub async fn connect(&self, flags: &KubeFlags) -> Result<Session, CliError> {
        match self {
            Connector::Client { client, namespace } => Ok(Session {
                rest: RestClient::new(client.clone()),
                context_namespace: namespace.clone(),
                namespace_flag: flags.namespace.clone(),
            }),
            Connector::Kubeconfig => {
                let kubeconfig = match &flags.kubeconfig {
                    Some(path) if !path.is_empty() => Kubeconfig::read_from(path),
                    _ => Kubeconfig::read(),
                }
                .map_err(|e| CliError::cmd(format!("error loading kubeconfig: {e}")))?;
                let opts = KubeConfigOptions {
                    context: flags.context.clone(),
                    cluster: flags.cluster.clone(),
                    user: flags.user.clone(),
                };
                let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &opts)
                    .await
                    .map_err(|e| CliError::cmd(format!("error loading kubeconfig: {e}")))?;
                if let Some(server) = flags.server.as_ref().filter(|s| !s.is_empty()) {
                    config.cluster_url = server
                        .parse()
                        .map_err(|e| CliError::cmd(format!("invalid --server {server:?}: {e}")))?;
                }
                if let Some(name) = &flags.tls_server_name {
                    config.tls_server_name = Some(name.clone());
                }
                if flags.insecure_skip_tls_verify {
                    config.accept_invalid_certs = true;
                }
                let context_namespace = config.default_namespace.clone();
                let client = kube::Client::try_from(config)
                    .map_err(|e| CliError::cmd(format!("error creating client: {e}")))?;
                Ok(Session {
                    rest: RestClient::new(client),
                    context_namespace,
                    namespace_flag: flags.namespace.clone(),
                })
            }
        }
    }
}
