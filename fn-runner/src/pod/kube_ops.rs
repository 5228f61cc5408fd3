//! The Kubernetes calls of the pod runtime.

use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Endpoints, Pod, PodTemplate, Secret, Service};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use super::PullSecret;
use super::templates::{self, IMAGE_LABEL, TEMPLATE_VERSION_ANNOTATION};

pub(super) struct KubeOps {
    pods: Api<Pod>,
    services: Api<Service>,
    endpoints: Api<Endpoints>,
    pod_templates: Api<PodTemplate>,
    service_templates: Api<DynamicObject>,
    secrets: Api<Secret>,
    namespace: String,
}

/// A function pod found in the namespace.
pub(super) struct ExistingPod {
    pub name: String,
    pub id: String,
    pub image: String,
    pub template_version: String,
    pub running: bool,
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl KubeOps {
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        let gvk = GroupVersionKind::gvk("config.porch.kpt.dev", "v1alpha1", "ServiceTemplate");
        let ar = ApiResource::from_gvk_with_plural(&gvk, "servicetemplates");
        KubeOps {
            pods: Api::namespaced(client.clone(), namespace),
            services: Api::namespaced(client.clone(), namespace),
            endpoints: Api::namespaced(client.clone(), namespace),
            pod_templates: Api::namespaced(client.clone(), namespace),
            service_templates: Api::namespaced_with(client.clone(), namespace, &ar),
            secrets: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
        }
    }

    /// The base PodTemplate, created from the built-in one when missing.
    pub async fn pod_template(&self, wrapper_server_image: &str) -> Result<PodTemplate, String> {
        if let Some(t) = self
            .pod_templates
            .get_opt(templates::POD_TEMPLATE_NAME)
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(t);
        }
        let t = templates::default_pod_template(&self.namespace, wrapper_server_image)
            .map_err(|e| e.to_string())?;
        self.pod_templates
            .create(&PostParams::default(), &t)
            .await
            .map_err(|e| format!("cannot create the pod template: {e}"))
    }

    /// The base ServiceTemplate as JSON, created from the built-in one when missing.
    pub async fn service_template(&self) -> Result<Value, String> {
        let found = self
            .service_templates
            .get_opt(templates::SERVICE_TEMPLATE_NAME)
            .await
            .map_err(|e| e.to_string())?;
        let obj = match found {
            Some(t) => t,
            None => {
                let t: DynamicObject =
                    serde_json::from_value(templates::default_service_template(&self.namespace))
                        .map_err(|e| e.to_string())?;
                self.service_templates
                    .create(&PostParams::default(), &t)
                    .await
                    .map_err(|e| format!("cannot create the service template: {e}"))?
            }
        };
        serde_json::to_value(obj).map_err(|e| e.to_string())
    }

    /// Delete earlier pods carrying this pod id.
    pub async fn delete_pods_labelled(&self, id: &str) -> Result<(), String> {
        let old = self
            .pods
            .list(&ListParams::default().labels(&format!("{IMAGE_LABEL}={id}")))
            .await
            .map_err(|e| e.to_string())?;
        for p in old.items {
            if let Some(name) = p.metadata.name {
                match self.pods.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(format!("cannot delete old pod {name}: {e}")),
                }
            }
        }
        Ok(())
    }

    /// Create or update the pull secret.
    pub async fn ensure_pull_secret(&self, ps: &PullSecret) -> Result<(), String> {
        let mut data = std::collections::BTreeMap::new();
        data.insert(
            ".dockerconfigjson".to_string(),
            ByteString(ps.docker_config_json.clone()),
        );
        let mut secret = Secret {
            type_: Some("kubernetes.io/dockerconfigjson".into()),
            data: Some(data),
            ..Default::default()
        };
        secret.metadata.name = Some(ps.name.clone());
        secret.metadata.namespace = Some(self.namespace.clone());
        match self
            .secrets
            .get_opt(&ps.name)
            .await
            .map_err(|e| e.to_string())?
        {
            None => {
                self.secrets
                    .create(&PostParams::default(), &secret)
                    .await
                    .map_err(|e| format!("cannot create secret {}: {e}", ps.name))?;
            }
            Some(existing) if existing.data != secret.data || existing.type_ != secret.type_ => {
                secret.metadata.resource_version = existing.metadata.resource_version;
                self.secrets
                    .replace(&ps.name, &PostParams::default(), &secret)
                    .await
                    .map_err(|e| format!("cannot update secret {}: {e}", ps.name))?;
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Create the pod; returns its generated name.
    pub async fn create_pod(&self, pod: &Pod) -> Result<String, String> {
        let created = self
            .pods
            .create(&PostParams::default(), pod)
            .await
            .map_err(|e| format!("cannot create pod: {e}"))?;
        created
            .metadata
            .name
            .ok_or_else(|| "created pod has no name".to_string())
    }

    /// Create the service unless it exists.
    pub async fn ensure_service(&self, svc: &Service) -> Result<(), String> {
        let name = svc.metadata.name.clone().unwrap_or_default();
        if self
            .services
            .get_opt(&name)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            self.services
                .create(&PostParams::default(), svc)
                .await
                .map_err(|e| format!("cannot create service {name}: {e}"))?;
        }
        Ok(())
    }

    /// Poll until the pod is Running and Ready; returns its IP.
    pub async fn wait_pod_ready(
        &self,
        name: &str,
        deadline: Instant,
        every: Duration,
    ) -> Result<String, String> {
        loop {
            let pod = self
                .pods
                .get_opt(name)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("pod {name} disappeared"))?;
            let status = pod.status.unwrap_or_default();
            let phase = status.phase.clone().unwrap_or_default();
            if phase == "Failed" || phase == "Succeeded" {
                return Err(format!("pod {name} is {phase}"));
            }
            let ready = status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            if phase == "Running"
                && ready
                && let Some(ip) = status.pod_ip.filter(|ip| !ip.is_empty())
            {
                return Ok(ip);
            }
            if Instant::now() >= deadline {
                return Err(format!("pod {name} not ready in time (phase {phase:?})"));
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Poll until the service's endpoints are exactly the pod IP.
    pub async fn wait_endpoint(
        &self,
        service: &str,
        ip: &str,
        deadline: Instant,
        every: Duration,
    ) -> Result<(), String> {
        loop {
            let addresses: Vec<String> = self
                .endpoints
                .get_opt(service)
                .await
                .map_err(|e| e.to_string())?
                .and_then(|e| e.subsets)
                .unwrap_or_default()
                .into_iter()
                .flat_map(|s| s.addresses.unwrap_or_default())
                .map(|a| a.ip)
                .collect();
            if addresses == [ip] {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "service {service} endpoints are {addresses:?}, expected [{ip}]"
                ));
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Whether the pod exists (not Failed) and the service exists.
    pub async fn pod_and_service_alive(&self, pod: &str, service: &str) -> bool {
        let pod_ok = match self.pods.get_opt(pod).await {
            Ok(Some(p)) => p.status.and_then(|s| s.phase).as_deref() != Some("Failed"),
            Ok(None) => false,
            // Unknown: keep it rather than drop a working pod on a transient error.
            Err(_) => true,
        };
        if !pod_ok {
            return false;
        }
        !matches!(self.services.get_opt(service).await, Ok(None))
    }

    /// Best-effort removal of a pod and its service.
    pub async fn delete_pod_and_service(&self, pod: &str, service: &str) {
        if let Err(e) = self.pods.delete(pod, &DeleteParams::default()).await
            && !is_not_found(&e)
        {
            tracing::warn!(pod, error = %e, "cannot delete function pod");
        }
        if let Err(e) = self
            .services
            .delete(service, &DeleteParams::default())
            .await
            && !is_not_found(&e)
        {
            tracing::warn!(service, error = %e, "cannot delete function service");
        }
    }

    /// Every pod carrying the image label.
    pub async fn labelled_pods(&self) -> Result<Vec<ExistingPod>, String> {
        let list = self
            .pods
            .list(&ListParams::default().labels(IMAGE_LABEL))
            .await
            .map_err(|e| e.to_string())?;
        Ok(list
            .items
            .into_iter()
            .map(|p| {
                let meta = &p.metadata;
                let image = p
                    .spec
                    .as_ref()
                    .and_then(|s| {
                        s.containers
                            .iter()
                            .find(|c| c.name == templates::FUNCTION_CONTAINER)
                    })
                    .and_then(|c| c.image.clone())
                    .unwrap_or_default();
                ExistingPod {
                    name: meta.name.clone().unwrap_or_default(),
                    id: meta
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(IMAGE_LABEL))
                        .cloned()
                        .unwrap_or_default(),
                    template_version: meta
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(TEMPLATE_VERSION_ANNOTATION))
                        .cloned()
                        .unwrap_or_default(),
                    running: p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"),
                    image,
                }
            })
            .collect())
    }
}
