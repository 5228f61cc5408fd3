//! `porchctl rpkg`: package revision commands (v1alpha1).

pub mod create;
pub mod get;
pub mod lifecycle;
pub mod pull;
pub mod push;
pub mod upgrade;

use serde_json::Value;

use crate::cli::{RpkgArgs, RpkgCommand};
use crate::connect::Connector;
use crate::errors::CliError;
use crate::io::Io;

/// Runs an `rpkg` subcommand.
pub async fn run(args: RpkgArgs, connector: &Connector, io: &mut Io) -> Result<(), CliError> {
    if args.api_version != "v1alpha1" {
        return Err(CliError::cmd(format!(
            "unsupported --api-version {:?}: only v1alpha1 is served",
            args.api_version
        )));
    }
    let kube = args.kube;
    match args.command {
        RpkgCommand::Get(a) => {
            get::validate(&a, kube.namespace.as_deref())?;
            let s = connector.connect(&kube).await?;
            get::run(&s, &a, io).await
        }
        RpkgCommand::Init(a) => {
            let body = create::init_body(&a)?;
            let s = connector.connect(&kube).await?;
            create::create(&s, body, io).await
        }
        RpkgCommand::Clone(a) => {
            let plan = create::clone_plan(&a)?;
            let s = connector.connect(&kube).await?;
            create::clone(&s, &a, plan, io).await
        }
        RpkgCommand::Copy(a) => {
            create::validate_copy(&a)?;
            let s = connector.connect(&kube).await?;
            create::copy(&s, &a, io).await
        }
        RpkgCommand::Propose(a) => {
            let s = connector.connect(&kube).await?;
            lifecycle::propose(&s, &a.names, io).await
        }
        RpkgCommand::Approve(a) => {
            let s = connector.connect(&kube).await?;
            lifecycle::approve(&s, &a.names, io).await
        }
        RpkgCommand::Reject(a) => {
            if a.names.is_empty() {
                return Err(CliError::cmd(
                    "PACKAGE_REVISION is a required positional argument",
                ));
            }
            let s = connector.connect(&kube).await?;
            lifecycle::reject(&s, &a.names, io).await
        }
        RpkgCommand::ProposeDelete(a) => {
            let s = connector.connect(&kube).await?;
            lifecycle::propose_delete(&s, &a.names, io).await
        }
        RpkgCommand::Del(a) => {
            let s = connector.connect(&kube).await?;
            lifecycle::delete(&s, &a.names, io).await
        }
        RpkgCommand::Pull(a) => {
            pull::validate(&a)?;
            let s = connector.connect(&kube).await?;
            pull::run(&s, &a, io).await
        }
        RpkgCommand::Push(a) => {
            if a.args.is_empty() {
                return Err(CliError::cmd("PACKAGE is a required positional argument"));
            }
            let s = connector.connect(&kube).await?;
            push::run(&s, &a, io).await
        }
        RpkgCommand::Upgrade(a) => {
            upgrade::validate(&a)?;
            let s = connector.connect(&kube).await?;
            upgrade::run(&s, &a, io).await
        }
    }
}

/// `spec.lifecycle` of a PackageRevision (empty means Draft).
pub fn lifecycle(pr: &Value) -> &str {
    pr.pointer("/spec/lifecycle")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.name`.
pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `spec.revision` (absent means 0).
pub fn revision(pr: &Value) -> i64 {
    pr.pointer("/spec/revision")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Whether the lifecycle is Published or DeletionProposed.
pub fn is_published(pr: &Value) -> bool {
    matches!(lifecycle(pr), "Published" | "DeletionProposed")
}
