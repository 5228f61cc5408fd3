//! The extension point for API groups served by their own handlers (porch.kpt.dev).

use porch_apimachinery::discovery::ResourceDescriptor;
use porch_apimachinery::openapi::ResourceSchema;

/// The authenticated caller, available to handlers as an axum `Extension<UserInfo>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The single user of a standalone server (bearer token in the kubeconfig).
    pub fn standalone_admin() -> Self {
        Self {
            name: "porch-admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }
}

/// An API group served by its own handlers instead of the generic store-backed ones.
///
/// The server mounts [`AggregatedApiGroup::router`] at `/apis/<group>`, so the router sees paths
/// such as `/v1alpha1/namespaces/{ns}/packagerevisions/{name}`. The group's resources appear in
/// `/apis`, in aggregated discovery and in the OpenAPI documents. Every request reaching the
/// router has been authenticated and carries an `Extension<UserInfo>`.
pub trait AggregatedApiGroup: Send + Sync + 'static {
    /// The API group, e.g. `porch.kpt.dev`.
    fn group(&self) -> String;
    /// Served versions, preferred first.
    fn versions(&self) -> Vec<String>;
    /// Discovery entries for every resource of every version.
    fn resources(&self) -> Vec<ResourceDescriptor>;
    /// OpenAPI schemas of one version's resources.
    fn schemas(&self, version: &str) -> Vec<ResourceSchema>;
    /// The handlers, mounted at `/apis/<group>`. It should serve `/<version>` (the
    /// `APIResourceList`) itself, e.g. with `porch_apimachinery::discovery::api_resource_list`.
    fn router(&self) -> axum::Router;
}
