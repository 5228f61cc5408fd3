//! Function pods and services built from the PodTemplate / ServiceTemplate (pure).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplate, Service};
use serde_json::{Value, json};

/// Label that ties a function pod and its service together.
pub const IMAGE_LABEL: &str = "fn.kpt.dev/image";
/// Annotation recording the PodTemplate resourceVersion a pod was made from.
pub const TEMPLATE_VERSION_ANNOTATION: &str = "fn.kpt.dev/template-version";
/// Name of the base PodTemplate.
pub const POD_TEMPLATE_NAME: &str = "base-pod-template";
/// Name of the base ServiceTemplate.
pub const SERVICE_TEMPLATE_NAME: &str = "base-service-template";
/// Port of the wrapper server in function pods.
pub const WRAPPER_PORT: i32 = 9446;
/// Name of the function container.
pub const FUNCTION_CONTAINER: &str = "function";

/// The built-in PodTemplate, used (and created) when the cluster has none.
pub fn default_pod_template(
    namespace: &str,
    wrapper_server_image: &str,
) -> Result<PodTemplate, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": POD_TEMPLATE_NAME, "namespace": namespace},
        "template": {
            "metadata": {"annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}},
            "spec": {
                "initContainers": [{
                    "name": "copy-wrapper-server",
                    "image": wrapper_server_image,
                    "command": ["cp", "-a", "/home/nonroot/wrapper-server/.", "/wrapper-server-tools"],
                    "volumeMounts": [{"name": "wrapper-server-tools", "mountPath": "/wrapper-server-tools"}]
                }],
                "containers": [{
                    "name": FUNCTION_CONTAINER,
                    "image": "to-be-replaced",
                    "command": ["/wrapper-server-tools/wrapper-server"],
                    "readinessProbe": {"exec": {"command": [
                        "/wrapper-server-tools/grpc-health-probe", "-addr", format!("localhost:{WRAPPER_PORT}")
                    ]}},
                    "volumeMounts": [{"name": "wrapper-server-tools", "mountPath": "/wrapper-server-tools"}]
                }],
                "volumes": [{"name": "wrapper-server-tools", "emptyDir": {}}]
            }
        }
    }))
}

/// The built-in ServiceTemplate (`config.porch.kpt.dev/v1alpha1`), as JSON.
pub fn default_service_template(namespace: &str) -> Value {
    json!({
        "apiVersion": "config.porch.kpt.dev/v1alpha1",
        "kind": "ServiceTemplate",
        "metadata": {"name": SERVICE_TEMPLATE_NAME, "namespace": namespace},
        "template": {
            "spec": {
                "type": "ClusterIP",
                "ports": [{"protocol": "TCP", "port": WRAPPER_PORT, "targetPort": WRAPPER_PORT}]
            }
        }
    })
}

/// Pod id: `<name>-<tag without dots>-<slot>-<digest[:8]>`, cut to a valid label value.
pub fn pod_id(short_name: &str, tag: &str, slot: usize, digest: &str) -> String {
    let digest = digest.trim_start_matches("sha256:");
    let digest: String = digest.chars().take(8).collect();
    let tag: String = tag.replace('.', "");
    let raw = format!("{short_name}-{tag}-{slot}-{digest}").to_lowercase();
    let mut id: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Leave room for the `-xxxxx` suffix of generateName.
    id.truncate(57);
    id.trim_matches('-').to_string()
}

/// What goes into one function pod.
pub struct PodSpecInput<'a> {
    /// Pod id (label value, service name, generateName prefix).
    pub pod_id: &'a str,
    /// Fully qualified function image.
    pub image: &'a str,
    /// The image's entrypoint.
    pub entrypoint: &'a [String],
    /// gRPC message limit passed to the wrapper server.
    pub max_message_size: usize,
    /// The PodTemplate's resourceVersion.
    pub template_version: &'a str,
    /// Pull secret to add, if any.
    pub image_pull_secret: Option<&'a str>,
    /// FunctionConfig `podExecutor.templateOverrides`.
    pub overrides: Option<&'a Value>,
}

/// Build the pod from the template.
pub fn pod_from_template(
    template: &PodTemplate,
    namespace: &str,
    input: &PodSpecInput<'_>,
) -> Result<Pod, String> {
    let tpl = serde_json::to_value(template.template.clone().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": tpl.get("metadata").cloned().unwrap_or(json!({})), "spec": tpl.get("spec").cloned().unwrap_or(json!({}))});
    let meta = pod["metadata"]
        .as_object_mut()
        .ok_or("template metadata is not an object")?;
    meta.remove("name");
    meta.insert("generateName".into(), json!(format!("{}-", input.pod_id)));
    meta.insert("namespace".into(), json!(namespace));
    let labels = meta.entry("labels").or_insert(json!({}));
    labels[IMAGE_LABEL] = json!(input.pod_id);
    let ann = meta.entry("annotations").or_insert(json!({}));
    ann[TEMPLATE_VERSION_ANNOTATION] = json!(input.template_version);

    let mut args = vec![
        "--port".to_string(),
        WRAPPER_PORT.to_string(),
        "--max-request-body-size".to_string(),
        input.max_message_size.to_string(),
        "--".to_string(),
    ];
    args.extend(input.entrypoint.iter().cloned());
    let containers = pod["spec"]["containers"]
        .as_array_mut()
        .ok_or("template has no containers")?;
    let function = containers
        .iter_mut()
        .find(|c| c["name"] == FUNCTION_CONTAINER)
        .ok_or("template has no container named \"function\"")?;
    function["image"] = json!(input.image);
    function["args"] = json!(args);
    if let Some(secret) = input.image_pull_secret {
        let spec = pod["spec"]
            .as_object_mut()
            .ok_or("template spec is not an object")?;
        let secrets = spec.entry("imagePullSecrets").or_insert(json!([]));
        if let Some(a) = secrets.as_array_mut()
            && !a.iter().any(|s| s["name"] == secret)
        {
            a.push(json!({"name": secret}));
        }
    }
    if let Some(o) = input.overrides {
        apply_overrides(&mut pod, o);
    }
    serde_json::from_value(pod).map_err(|e| e.to_string())
}

/// FunctionConfig `templateOverrides`: serviceAccountName, securityContext, and
/// resources/env/envFrom of the init and function containers.
fn apply_overrides(pod: &mut Value, o: &Value) {
    if let Some(sa) = o.get("serviceAccountName") {
        pod["spec"]["serviceAccountName"] = sa.clone();
    }
    if let Some(sc) = o.get("securityContext") {
        pod["spec"]["securityContext"] = sc.clone();
    }
    for (key, list) in [
        ("initContainer", "initContainers"),
        ("container", "containers"),
    ] {
        let Some(co) = o.get(key) else { continue };
        let Some(cs) = pod["spec"][list].as_array_mut() else {
            continue;
        };
        let target = if list == "containers" {
            cs.iter_mut().find(|c| c["name"] == FUNCTION_CONTAINER)
        } else {
            cs.first_mut()
        };
        if let Some(c) = target {
            for field in ["resources", "env", "envFrom"] {
                if let Some(v) = co.get(field) {
                    c[field] = v.clone();
                }
            }
        }
    }
}

/// Build the service for a pod id from the ServiceTemplate (`template: {metadata, spec}`).
pub fn service_from_template(
    template: &Value,
    namespace: &str,
    pod_id: &str,
) -> Result<Service, String> {
    let tpl = template.get("template").cloned().unwrap_or(json!({}));
    let mut svc = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": tpl.get("metadata").cloned().unwrap_or(json!({})),
        "spec": tpl.get("spec").cloned().unwrap_or(json!({}))
    });
    svc["metadata"]["name"] = json!(pod_id);
    svc["metadata"]["namespace"] = json!(namespace);
    let mut selector = BTreeMap::new();
    selector.insert(IMAGE_LABEL.to_string(), pod_id.to_string());
    svc["spec"]["selector"] = json!(selector);
    if svc["spec"].get("ports").is_none() {
        svc["spec"]["ports"] = json!([{"port": WRAPPER_PORT, "targetPort": WRAPPER_PORT}]);
    }
    serde_json::from_value(svc).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_pod_and_service() {
        let tpl = default_pod_template("fns", "wrapper:v1").unwrap();
        let overrides = json!({"serviceAccountName": "runner", "container": {"resources": {"limits": {"memory": "64Mi"}}}});
        let pod = pod_from_template(
            &tpl,
            "fns",
            &PodSpecInput {
                pod_id: "set-labels-v022-1-abcdef12",
                image: "ghcr.io/x/set-labels:v0.2.2",
                entrypoint: &["function".to_string()],
                max_message_size: 6291456,
                template_version: "42",
                image_pull_secret: Some("auth-secret"),
                overrides: Some(&overrides),
            },
        )
        .unwrap();
        let v = serde_json::to_value(&pod).unwrap();
        assert_eq!(v["metadata"]["generateName"], "set-labels-v022-1-abcdef12-");
        assert_eq!(
            v["metadata"]["labels"][IMAGE_LABEL],
            "set-labels-v022-1-abcdef12"
        );
        assert_eq!(
            v["metadata"]["annotations"][TEMPLATE_VERSION_ANNOTATION],
            "42"
        );
        assert_eq!(
            v["spec"]["containers"][0]["image"],
            "ghcr.io/x/set-labels:v0.2.2"
        );
        assert_eq!(
            v["spec"]["containers"][0]["args"],
            json!([
                "--port",
                "9446",
                "--max-request-body-size",
                "6291456",
                "--",
                "function"
            ])
        );
        assert_eq!(
            v["spec"]["containers"][0]["resources"]["limits"]["memory"],
            "64Mi"
        );
        assert_eq!(v["spec"]["initContainers"][0]["image"], "wrapper:v1");
        assert_eq!(v["spec"]["serviceAccountName"], "runner");
        assert_eq!(
            v["spec"]["imagePullSecrets"],
            json!([{"name": "auth-secret"}])
        );

        let svc = service_from_template(
            &default_service_template("fns"),
            "fns",
            "set-labels-v022-1-abcdef12",
        )
        .unwrap();
        let v = serde_json::to_value(&svc).unwrap();
        assert_eq!(v["metadata"]["name"], "set-labels-v022-1-abcdef12");
        assert_eq!(
            v["spec"]["selector"][IMAGE_LABEL],
            "set-labels-v022-1-abcdef12"
        );
        assert_eq!(v["spec"]["ports"][0]["port"], 9446);
    }

    #[test]
    fn pod_ids_are_label_safe() {
        assert_eq!(
            pod_id("set-labels", "v0.2.2", 0, "sha256:ABCDEF1234567"),
            "set-labels-v022-0-abcdef12"
        );
        let long = pod_id(&"x".repeat(80), "v1", 3, "sha256:1");
        assert!(long.len() <= 57);
    }
}
