//! FunctionConfig: how porch runs one KRM function image.

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, PodSecurityContext, ResourceRequirements};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

fn default_time_to_live() -> String {
    "30m".to_string()
}

/// `FunctionConfigSpec`: the image, and at least one executor.
// Repeated `printcolumn(type_ = ...)` arguments are not duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "config.porch.kpt.dev",
    version = "v1alpha1",
    kind = "FunctionConfig",
    plural = "functionconfigs",
    singular = "functionconfig",
    namespaced,
    status = "FunctionConfigStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "FunctionConfig configures how a KRM function image is run by porch.",
    printcolumn(
        name = "Server Applied",
        type_ = "integer",
        json_path = ".status.apiServerObservedGeneration"
    ),
    printcolumn(
        name = "FnRunner Applied",
        type_ = "integer",
        json_path = ".status.functionRunnerObservedGeneration"
    ),
    printcolumn(
        name = "Controller Applied",
        type_ = "integer",
        json_path = ".status.controllerObservedGeneration"
    )
)]
#[x_kube(validation = Rule::new("has(self.podExecutor) || has(self.binaryExecutor) || has(self.goExecutor)").message("At least one configuration must be specified"))]
#[serde(rename_all = "camelCase")]
pub struct FunctionConfigSpec {
    /// The function image (without tag).
    #[schemars(length(min = 1))]
    pub image: String,
    /// Image prefixes this configuration also applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
    /// Run the function in pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_executor: Option<PodExecutorConfig>,
    /// Run a local binary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_executor: Option<BinaryExecutorConfig>,
    /// Run a function built into porch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_executor: Option<GoExecutorConfig>,
}

/// `FunctionConfigStatus`: which generation each consumer applied.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunctionConfigStatus {
    /// Generation applied by the API server.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub api_server_observed_generation: i64,
    /// Generation applied by the function runner.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub function_runner_observed_generation: i64,
    /// Generation applied by the controller.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub controller_observed_generation: i64,
    /// The last error.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// Pods run by the function runner.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodExecutorConfig {
    /// Image tags this applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// How long an idle pod lives (a Go duration).
    #[serde(default = "default_time_to_live")]
    #[schemars(schema_with = "time_to_live_schema")]
    pub time_to_live: String,
    /// The most concurrent executions per pod.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub max_parallel_executions: i64,
    /// The preferred queue length before another pod starts.
    #[serde(default, skip_serializing_if = "crate::serde_util::is_zero")]
    pub preferred_max_queue_length: i64,
    /// Pod template overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_overrides: Option<TemplateOverrides>,
}

impl Default for PodExecutorConfig {
    fn default() -> Self {
        Self {
            tags: Vec::new(),
            time_to_live: default_time_to_live(),
            max_parallel_executions: 0,
            preferred_max_queue_length: 0,
            template_overrides: None,
        }
    }
}

fn time_to_live_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "How long an idle pod lives (a Go duration).",
        "type": "string",
        "format": "duration",
        "default": "30m"
    })
}

/// Overrides of the function pod template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateOverrides {
    /// The pod's service account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account_name: String,
    /// The pod's security context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    /// Overrides of the init container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_container: Option<ContainerOverrides>,
    /// Overrides of the function container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerOverrides>,
}

/// Overrides of one container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverrides {
    /// Resource requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Environment sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
}

/// A local binary.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
pub struct BinaryExecutorConfig {
    /// Image tags this applies to (at least one).
    #[schemars(length(min = 1))]
    pub tags: Vec<String>,
    /// The binary path.
    #[schemars(length(min = 1))]
    pub path: String,
}

/// A function built into porch.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
pub struct GoExecutorConfig {
    /// Image tags this applies to (at least one).
    #[schemars(length(min = 1))]
    pub tags: Vec<String>,
    /// The built-in function id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}
