//! `rpkg init`, `rpkg clone` and `rpkg copy`: create a PackageRevision with one task.

use serde_json::{Value, json};

use crate::api::{PACKAGE_REVISIONS, str_at};
use crate::cli::{CloneArgs, CopyArgs, InitArgs};
use crate::commands::get::flatten;
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;

/// The PackageRevision skeleton shared by all create commands.
pub fn package_revision(package: &str, workspace: &str, repository: &str, task: Value) -> Value {
    json!({
        "apiVersion": PACKAGE_REVISIONS.api_version(),
        "kind": PACKAGE_REVISIONS.kind,
        "metadata": {},
        "spec": {
            "packageName": package,
            "workspaceName": workspace,
            "repository": repository,
            "tasks": [task],
        },
    })
}

/// Validates `rpkg init` and builds its body (no I/O).
pub fn init_body(a: &InitArgs) -> Result<Value, CliError> {
    let Some(package) = a.package.first() else {
        return Err(CliError::cmd(
            "PACKAGE_NAME is a required positional argument",
        ));
    };
    if a.repository.is_empty() {
        return Err(CliError::cmd(
            "--repository is required to specify target repository",
        ));
    }
    if a.workspace.is_empty() {
        return Err(CliError::cmd(
            "--workspace is required to specify workspace name",
        ));
    }
    let mut init = serde_json::Map::new();
    if !a.description.is_empty() {
        init.insert("description".into(), json!(a.description));
    }
    let keywords: Vec<&String> = a.keywords.iter().filter(|k| !k.is_empty()).collect();
    if !keywords.is_empty() {
        init.insert("keywords".into(), json!(keywords));
    }
    if !a.site.is_empty() {
        init.insert("site".into(), json!(a.site));
    }
    Ok(package_revision(
        package,
        &a.workspace,
        &a.repository,
        json!({"type": "init", "init": init}),
    ))
}

/// POSTs the body in the session namespace and prints `<name> created`.
pub async fn create(session: &Session, mut body: Value, io: &mut Io) -> Result<(), CliError> {
    let ns = session.namespace();
    body["metadata"]["namespace"] = json!(ns);
    let created = session
        .rest
        .create(&PACKAGE_REVISIONS.collection(Some(&ns)), &body)
        .await
        .map_err(|e| e.into_cli(&PACKAGE_REVISIONS, None))?;
    io.out(&format!(
        "{} created\n",
        str_at(&created, &["metadata", "name"]).unwrap_or("")
    ));
    Ok(())
}

/// The clone source and target, resolved from the arguments (no I/O).
#[derive(Debug, Clone, PartialEq)]
pub struct ClonePlan {
    /// The target package name.
    pub target: String,
    /// The `clone.upstreamRef` value.
    pub upstream: Value,
}

/// Validates `rpkg clone` and resolves its source.
pub fn clone_plan(a: &CloneArgs) -> Result<ClonePlan, CliError> {
    if !matches!(
        a.strategy.as_str(),
        "resource-merge" | "fast-forward" | "force-delete-replace" | "copy-merge"
    ) {
        return Err(CliError::cmd(format!("invalid strategy: {:?}", a.strategy)));
    }
    if a.args.len() < 2 {
        return Err(CliError::cmd(format!(
            "SOURCE_PACKAGE and NAME are required positional arguments; {} provided",
            a.args.len()
        )));
    }
    if a.repository.is_empty() {
        return Err(CliError::cmd(
            "--repository is required to specify downstream repository",
        ));
    }
    if a.workspace.is_empty() {
        return Err(CliError::cmd(
            "--workspace is required to specify downstream workspace name",
        ));
    }
    let mut source = a.args[0].clone();
    let upstream = if source.starts_with("oci://") {
        json!({"type": "oci", "oci": {"image": source}})
    } else if source.contains('/') {
        let mut directory = a.directory.clone();
        let mut git_ref = a.git_ref.clone();
        if has_git_suffix(&source) {
            let (repo, dir, r) = parse_git_url(&source);
            if !directory.is_empty() && !dir.is_empty() && directory != dir {
                return Err(CliError::cmd(format!(
                    "directory {directory} specified by --directory contradicts directory {dir} specified by SOURCE_PACKAGE"
                )));
            }
            if !git_ref.is_empty() && !r.is_empty() && git_ref != r {
                return Err(CliError::cmd(format!(
                    "ref {git_ref} specified by --ref contradicts ref {r} specified by SOURCE_PACKAGE"
                )));
            }
            if directory.is_empty() {
                directory = dir;
            }
            if git_ref.is_empty() {
                git_ref = r;
            }
            source = format!("{repo}.git");
        }
        if git_ref.is_empty() {
            git_ref = "main".into();
        }
        if directory.is_empty() {
            directory = "/".into();
        }
        let mut git = json!({"repo": source, "ref": git_ref, "directory": directory});
        if !a.secret_ref.is_empty() {
            git["secretRef"] = json!({"name": a.secret_ref});
        }
        json!({"type": "git", "git": git})
    } else {
        json!({"upstreamRef": {"name": source}})
    };
    Ok(ClonePlan {
        target: a.args[1].clone(),
        upstream,
    })
}

/// kpt's `HasGitSuffix`: the URL contains `.git` at its end or before a `/`.
pub fn has_git_suffix(url: &str) -> bool {
    url.match_indices(".git").any(|(i, _)| {
        let rest = &url[i + 4..];
        rest.is_empty() || rest.starts_with('/')
    })
}

/// kpt's `parse.URL`: splits `<repo>.git[/<dir>][@<ref>]` into repo, `/dir` and ref.
pub fn parse_git_url(url: &str) -> (String, String, String) {
    let split = url
        .match_indices(".git")
        .find(|(i, _)| {
            let rest = &url[i + 4..];
            rest.is_empty() || rest.starts_with('/')
        })
        .map(|(i, _)| i);
    let Some(i) = split else {
        return (url.to_string(), String::new(), String::new());
    };
    let repo = url[..i].to_string();
    let rest = url[i + 4..].strip_prefix('/').unwrap_or(&url[i + 4..]);
    if rest.is_empty() {
        return (repo, String::new(), String::new());
    }
    match rest.split_once('@') {
        Some((dir, r)) => (repo, format!("/{dir}"), r.trim_end_matches('/').to_string()),
        None => (repo, format!("/{rest}"), String::new()),
    }
}

/// Runs `rpkg clone`: refuses an existing target package, then creates the clone.
pub async fn clone(
    session: &Session,
    a: &CloneArgs,
    plan: ClonePlan,
    io: &mut Io,
) -> Result<(), CliError> {
    let ns = session.namespace();
    let list = session
        .rest
        .get(&PACKAGE_REVISIONS.collection(Some(&ns)))
        .await
        .map_err(|e| e.into_cli(&PACKAGE_REVISIONS, None))?;
    let mut prs = Vec::new();
    flatten(list, &mut prs);
    let exists = prs.iter().any(|pr| {
        str_at(pr, &["spec", "repository"]) == Some(a.repository.as_str())
            && str_at(pr, &["spec", "packageName"]) == Some(plan.target.as_str())
    });
    if exists {
        return Err(CliError::cmd(format!(
            "`clone` cannot create a new revision for package {:?} that already exists in repo {:?}; make subsequent revisions using `copy`",
            plan.target, a.repository
        )));
    }
    let task = json!({"type": "clone", "clone": {"upstreamRef": plan.upstream}});
    create(
        session,
        package_revision(&plan.target, &a.workspace, &a.repository, task),
        io,
    )
    .await
}

/// Validates `rpkg copy` (no I/O).
pub fn validate_copy(a: &CopyArgs) -> Result<(), CliError> {
    if a.args.is_empty() {
        return Err(CliError::cmd(
            "SOURCE_PACKAGE is a required positional argument",
        ));
    }
    if a.args.len() > 1 {
        return Err(CliError::cmd(
            "too many arguments; SOURCE_PACKAGE is the only accepted positional arguments",
        ));
    }
    if a.workspace.is_empty() {
        return Err(CliError::cmd(
            "--workspace is required to specify workspace name",
        ));
    }
    Ok(())
}

/// Runs `rpkg copy`: a new revision of the source's package with an `edit` task.
pub async fn copy(session: &Session, a: &CopyArgs, io: &mut Io) -> Result<(), CliError> {
    let ns = session.namespace();
    let source = &a.args[0];
    let src = session
        .rest
        .get(&PACKAGE_REVISIONS.item(Some(&ns), source))
        .await
        .map_err(|e| e.into_cli(&PACKAGE_REVISIONS, Some(source)))?;
    let package = str_at(&src, &["spec", "packageName"]).unwrap_or("");
    let repository = str_at(&src, &["spec", "repository"]).unwrap_or("");
    let task = json!({"type": "edit", "edit": {"sourceRef": {"name": source}}});
    create(
        session,
        package_revision(package, &a.workspace, repository, task),
        io,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_url_parsing() {
        assert!(has_git_suffix("http://h/r.git"));
        assert!(has_git_suffix("http://h/r.git/basens@basens/v1"));
        assert!(!has_git_suffix("http://h/r.gitx"));
        assert!(!has_git_suffix("http://h/r.git@main"));
        assert_eq!(
            parse_git_url("http://h/r.git/basens@basens/v1"),
            ("http://h/r".into(), "/basens".into(), "basens/v1".into())
        );
        assert_eq!(
            parse_git_url("http://h/r.git/a/b"),
            ("http://h/r".into(), "/a/b".into(), String::new())
        );
        assert_eq!(
            parse_git_url("http://h/r.git"),
            ("http://h/r".into(), String::new(), String::new())
        );
    }
}
