//! `porchctl repo reg`: create the auth Secret (if any) and the Repository.

use base64::Engine;
use serde_json::{Value, json};

use crate::api::{REPOSITORIES, SECRETS};
use crate::cli::RegisterArgs;
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;

/// What `repo reg` will create.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Repository name.
    pub name: String,
    /// The Secret, without namespace, if credentials were given.
    pub secret: Option<Value>,
    /// The Repository, without namespace.
    pub repository: Value,
}

/// Validates the flags and builds the objects (no I/O).
pub fn plan(a: &RegisterArgs) -> Result<Plan, CliError> {
    let Some(url) = a.repository.first() else {
        return Err(CliError::cmd("repository is required positional argument"));
    };
    let basic = !a.repo_basic_username.is_empty() || !a.repo_basic_password.is_empty();
    if basic && a.repo_workload_identity {
        return Err(CliError::cmd(
            "both username/password and workload identity specified",
        ));
    }
    if !a.sync_schedule.is_empty() {
        super::cron::validate(&a.sync_schedule)
            .map_err(|e| CliError::cmd(format!("invalid sync-schedule cron expression: {e}")))?;
    }
    let name = match &a.name {
        Some(n) if !n.is_empty() => n.clone(),
        _ => default_name(url),
    };
    let secret_name = format!("{name}-auth");
    let secret = if basic {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        Some(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret_name},
            "type": "kubernetes.io/basic-auth",
            "data": {"username": b64(&a.repo_basic_username), "password": b64(&a.repo_basic_password)},
        }))
    } else if a.repo_workload_identity {
        Some(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret_name},
            "type": "kpt.dev/workload-identity-auth",
        }))
    } else {
        None
    };
    let mut spec = serde_json::Map::new();
    if !a.description.is_empty() {
        spec.insert("description".into(), json!(a.description));
    }
    spec.insert("content".into(), json!("Package"));
    if a.deployment {
        spec.insert("deployment".into(), json!(true));
    }
    let secret_ref = secret.as_ref().map(|_| json!({"name": secret_name}));
    if let Some(registry) = url.strip_prefix("oci://") {
        spec.insert("type".into(), json!("oci"));
        let mut oci = json!({"registry": registry});
        if let Some(r) = secret_ref {
            oci["secretRef"] = r;
        }
        spec.insert("oci".into(), oci);
    } else {
        spec.insert("type".into(), json!("git"));
        let mut git = json!({"repo": url, "branch": a.branch, "directory": a.directory});
        if a.create_branch {
            git["createBranch"] = json!(true);
        }
        if let Some(r) = secret_ref {
            git["secretRef"] = r;
        }
        spec.insert("git".into(), git);
    }
    if !a.sync_schedule.is_empty() {
        spec.insert("sync".into(), json!({"schedule": a.sync_schedule}));
    }
    let repository = json!({
        "apiVersion": REPOSITORIES.api_version(),
        "kind": REPOSITORIES.kind,
        "metadata": {"name": name},
        "spec": Value::Object(spec),
    });
    Ok(Plan {
        name,
        secret,
        repository,
    })
}

/// The last URL segment without a trailing `/` and `.git`.
pub fn default_name(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    last.strip_suffix(".git").unwrap_or(last).to_string()
}

/// Creates the objects. Prints nothing on success.
pub async fn run(session: &Session, mut plan: Plan, _io: &mut Io) -> Result<(), CliError> {
    let ns = session.namespace();
    if let Some(mut secret) = plan.secret.take() {
        secret["metadata"]["namespace"] = json!(ns);
        session
            .rest
            .create(&SECRETS.collection(Some(&ns)), &secret)
            .await
            .map_err(|e| e.into_cli(&SECRETS, None))?;
    }
    plan.repository["metadata"]["namespace"] = json!(ns);
    session
        .rest
        .create(&REPOSITORIES.collection(Some(&ns)), &plan.repository)
        .await
        .map_err(|e| e.into_cli(&REPOSITORIES, None))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_urls() {
        assert_eq!(
            default_name("http://h:3000/nephio/test-blueprints.git"),
            "test-blueprints"
        );
        assert_eq!(default_name("http://h/nephio/porch-test/"), "porch-test");
        assert_eq!(default_name("oci://reg/x"), "x");
    }
}
