//! `porchctl rpkg upgrade`: create an upgraded revision of a downstream package, or with
//! `--discover` report which upgrades are available.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::create::package_revision;
use super::{is_published, name_of, revision};
use crate::api::{PACKAGE_REVISIONS, REPOSITORIES, str_at};
use crate::cli::UpgradeArgs;
use crate::commands::get::flatten;
use crate::connect::Session;
use crate::errors::CliError;
use crate::io::Io;
use crate::printers::tabwriter::TabWriter;

const STRATEGIES: [&str; 4] = [
    "resource-merge",
    "fast-forward",
    "force-delete-replace",
    "copy-merge",
];

/// Argument checks before connecting.
pub fn validate(a: &UpgradeArgs) -> Result<(), CliError> {
    if !a.discover.is_empty() {
        if a.discover != "upstream" && a.discover != "downstream" {
            return Err(CliError::cmd(
                "argument for 'discover' must be one of 'upstream' or 'downstream'",
            ));
        }
        return Ok(());
    }
    if a.args.is_empty() {
        return Err(CliError::cmd(
            "SOURCE_PACKAGE_REVISION is a required positional argument",
        ));
    }
    if a.args.len() > 1 {
        return Err(CliError::cmd(
            "too many arguments; SOURCE_PACKAGE_REVISION is the only accepted positional arguments",
        ));
    }
    if a.revision < 0 {
        return Err(CliError::cmd("revision must be positive (and not main)"));
    }
    if a.workspace.is_empty() {
        return Err(CliError::cmd("workspace is required"));
    }
    if !STRATEGIES.contains(&a.strategy.as_str()) {
        return Err(CliError::cmd(format!(
            "invalid strategy {:?}; must be one of: [{}]",
            a.strategy,
            STRATEGIES.join(" ")
        )));
    }
    Ok(())
}

/// Runs the command.
pub async fn run(s: &Session, a: &UpgradeArgs, io: &mut Io) -> Result<(), CliError> {
    let ns = s.namespace();
    let list = s
        .rest
        .get(&PACKAGE_REVISIONS.collection(Some(&ns)))
        .await
        .map_err(|e| e.into_cli(&PACKAGE_REVISIONS, None))?;
    let mut prs = Vec::new();
    flatten(list, &mut prs);
    if !a.discover.is_empty() {
        let repos_list = s
            .rest
            .get(&REPOSITORIES.collection(Some(&ns)))
            .await
            .map_err(|e| e.into_cli(&REPOSITORIES, None))?;
        let mut repos = Vec::new();
        flatten(repos_list, &mut repos);
        let out = discover(&prs, &repos, &a.args, a.discover == "downstream")?;
        io.out(&out);
        return Ok(());
    }
    let name = &a.args[0];
    let Some(pr) = find(&prs, name) else {
        return Err(CliError::cmd(format!(
            "could not find package revision {name}"
        )));
    };
    let body = plan_upgrade(&prs, pr, a)?;
    let created = s
        .rest
        .create(
            &PACKAGE_REVISIONS.collection(Some(&ns)),
            &with_ns(body, &ns),
        )
        .await
        .map_err(|e| e.into_cli(&PACKAGE_REVISIONS, None))?;
    io.out(&format!("{name} upgraded to {}\n", name_of(&created)));
    Ok(())
}

fn with_ns(mut body: Value, ns: &str) -> Value {
    body["metadata"]["namespace"] = json!(ns);
    body
}

fn find<'a>(prs: &'a [Value], name: &str) -> Option<&'a Value> {
    prs.iter().find(|p| name_of(p) == name)
}

fn first_task(pr: &Value) -> Option<&Value> {
    pr.pointer("/spec/tasks/0")
}

/// The name of the upstream revision `pr` was made from: clone source, upgrade target, or the
/// origin of a chain of copies; else the published upstream matching `status.upstreamLock`.
pub fn find_upstream_name(prs: &[Value], pr: &Value) -> Option<String> {
    let mut cur = pr;
    for _ in 0..prs.len() + 1 {
        let task = first_task(cur)?;
        match task.get("type").and_then(Value::as_str) {
            Some("clone") => {
                return str_at(task, &["clone", "upstreamRef", "upstreamRef", "name"])
                    .map(str::to_string)
                    .or_else(|| upstream_from_lock(prs, cur));
            }
            Some("upgrade") => {
                return str_at(task, &["upgrade", "newUpstreamRef", "name"]).map(str::to_string);
            }
            Some("edit") => {
                let src = str_at(task, &["edit", "sourceRef", "name"])?;
                match find(prs, src) {
                    Some(p) => cur = p,
                    None => return upstream_from_lock(prs, pr),
                }
            }
            _ => return upstream_from_lock(prs, cur),
        }
    }
    None
}

fn upstream_from_lock(prs: &[Value], pr: &Value) -> Option<String> {
    let lock = pr.pointer("/status/upstreamLock/git")?;
    let commit = lock.get("commit").and_then(Value::as_str)?;
    prs.iter()
        .filter(|p| is_published(p) && revision(p) > 0)
        .find(|p| {
            p.pointer("/status/selfLock/git/commit")
                .and_then(Value::as_str)
                == Some(commit)
        })
        .map(|p| name_of(p).to_string())
}

/// Builds the upgraded PackageRevision (no I/O).
pub fn plan_upgrade(prs: &[Value], pr: &Value, a: &UpgradeArgs) -> Result<Value, CliError> {
    if !is_published(pr) {
        return Err(CliError::cmd(format!(
            "to upgrade a package, it must be in a published state, not {:?}",
            super::lifecycle(pr)
        )));
    }
    let pkg = str_at(pr, &["spec", "packageName"]).unwrap_or("");
    let Some(old_name) = find_upstream_name(prs, pr) else {
        return Err(CliError::cmd(format!(
            "upstream source not found for package revision {pkg:?}: no clone or upgrade type package revision was found in the history of the package"
        )));
    };
    let Some(old) = find(prs, &old_name) else {
        return Err(CliError::cmd(format!(
            "upstream package revision {old_name} no longer exists"
        )));
    };
    let up_pkg = str_at(old, &["spec", "packageName"]).unwrap_or("");
    let up_repo = str_at(old, &["spec", "repository"]).unwrap_or("");
    let candidates = prs.iter().filter(|p| {
        is_published(p)
            && str_at(p, &["spec", "packageName"]) == Some(up_pkg)
            && str_at(p, &["spec", "repository"]) == Some(up_repo)
    });
    let new = if a.revision == 0 {
        candidates.filter(|p| revision(p) > 0).max_by_key(|p| revision(p)).ok_or_else(|| {
            CliError::cmd(format!(
                "failed to find latest published revision for package {up_pkg} in repo {up_repo} (--revision was {})",
                a.revision
            ))
        })?
    } else {
        candidates
            .into_iter()
            .find(|p| revision(p) == a.revision)
            .ok_or_else(|| {
                CliError::cmd(format!(
                    "revision {} does not exist for package {up_pkg} in repo {up_repo}",
                    a.revision
                ))
            })?
    };
    let task = json!({"type": "upgrade", "upgrade": {
        "oldUpstreamRef": {"name": old_name},
        "newUpstreamRef": {"name": name_of(new)},
        "localPackageRevisionRef": {"name": name_of(pr)},
        "strategy": a.strategy,
    }});
    Ok(package_revision(
        pkg,
        &a.workspace,
        str_at(pr, &["spec", "repository"]).unwrap_or(""),
        task,
    ))
}

fn with_git_suffix(s: &str) -> String {
    if s.ends_with(".git") {
        s.to_string()
    } else {
        format!("{s}.git")
    }
}

/// Available upstream revisions for one downstream revision: (updates, upstream repo, draft name).
fn available_updates<'a>(
    prs: &'a [Value],
    repos: &[Value],
    pr: &Value,
) -> Result<(Vec<&'a Value>, String, String), String> {
    let Some(lock) = pr.pointer("/status/upstreamLock/git") else {
        return Ok((Vec::new(), String::new(), String::new()));
    };
    let git_ref = lock.get("ref").and_then(Value::as_str).unwrap_or("");
    let Some(slash) = git_ref.rfind('/') else {
        return Err(format!("malformed upstreamLock.Git.Ref {git_ref:?}"));
    };
    let (current, draft) = if git_ref.starts_with("drafts") {
        (0, git_ref[slash + 1..].to_string())
    } else {
        let v = &git_ref[slash + 1..];
        (
            v.strip_prefix('v')
                .unwrap_or(v)
                .parse::<i64>()
                .unwrap_or(-1),
            String::new(),
        )
    };
    let up_pkg = git_ref[..slash]
        .trim_start_matches("drafts")
        .trim_start_matches('/');
    let lock_repo = with_git_suffix(lock.get("repo").and_then(Value::as_str).unwrap_or(""));
    let mut upstream = String::new();
    let mut updates = Vec::new();
    for repo in repos {
        if str_at(repo, &["spec", "type"]) != Some("git") {
            continue;
        }
        if with_git_suffix(str_at(repo, &["spec", "git", "repo"]).unwrap_or("")) != lock_repo {
            continue;
        }
        upstream = name_of(repo).to_string();
        updates = prs
            .iter()
            .filter(|p| {
                is_published(p)
                    && str_at(p, &["spec", "repository"]) == Some(name_of(repo))
                    && str_at(p, &["spec", "packageName"]) == Some(up_pkg)
                    && revision(p) > current
            })
            .collect();
    }
    updates.sort_by_key(|p| revision(p));
    Ok((updates, upstream, draft))
}

/// Renders the `--discover` tables (no I/O).
pub fn discover(
    prs: &[Value],
    repos: &[Value],
    args: &[String],
    downstream: bool,
) -> Result<String, CliError> {
    let targets: Vec<&Value> = if args.is_empty() || downstream {
        prs.iter().collect()
    } else {
        let mut v = Vec::new();
        let mut errs = Vec::new();
        for a in args {
            match find(prs, a) {
                Some(p) => v.push(p),
                None => errs.push(format!("could not find package revision {a}")),
            }
        }
        if !errs.is_empty() {
            return Err(CliError::batch(&errs));
        }
        v
    };
    let mut w = TabWriter::new();
    if !downstream {
        w.line(&[
            "PACKAGE REVISION",
            "UPSTREAM REPOSITORY",
            "UPSTREAM UPDATES",
        ]);
        for pr in targets {
            let (updates, upstream, _) = available_updates(prs, repos, pr).map_err(|e| {
                CliError::cmd(format!(
                    "could not parse upstreamLock in Kptfile of package {:?}: {e}",
                    name_of(pr)
                ))
            })?;
            let col = if updates.is_empty() {
                "No update available".to_string()
            } else {
                updates
                    .iter()
                    .map(|u| format!("v{}", revision(u)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            w.line(&[name_of(pr), &upstream, &col]);
        }
        return Ok(w.finish());
    }
    // upstream revision -> (downstream rows); BTreeMap for a stable order.
    let mut rows: BTreeMap<(String, i64, String), Vec<&Value>> = BTreeMap::new();
    for pr in &targets {
        let (updates, _, draft) = available_updates(prs, repos, pr).map_err(|e| {
            CliError::cmd(format!(
                "could not parse upstreamLock in Kptfile of package {:?}: {e}",
                name_of(pr)
            ))
        })?;
        for u in updates {
            rows.entry((name_of(u).to_string(), revision(u), draft.clone()))
                .or_default()
                .push(pr);
        }
    }
    let mut lines = Vec::new();
    for ((up, rev, draft), downs) in rows {
        for d in downs {
            let update = if !draft.is_empty() {
                format!("(draft {draft:?})->v{rev}")
            } else {
                let r = d
                    .pointer("/status/upstreamLock/git/ref")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let Some(i) = r.rfind('v') else { continue };
                format!("{}->v{rev}", &r[i..])
            };
            lines.push(vec![up.clone(), name_of(d).to_string(), update]);
        }
    }
    let lines: Vec<Vec<String>> = if args.is_empty() {
        lines
    } else {
        args.iter()
            .flat_map(|a| lines.iter().filter(move |l| &l[0] == a).cloned())
            .collect()
    };
    if lines.is_empty() {
        return Ok("All downstream packages are up to date.\n".to_string());
    }
    w.line(&[
        "PACKAGE REVISION",
        "DOWNSTREAM PACKAGE",
        "DOWNSTREAM UPDATE",
    ]);
    for l in lines {
        w.line(&l);
    }
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(
        name: &str,
        pkg: &str,
        repo: &str,
        rev: i64,
        lc: &str,
        task: Value,
        lock_ref: Option<&str>,
    ) -> Value {
        let mut v = json!({"metadata": {"name": name}, "spec": {"packageName": pkg, "repository": repo, "lifecycle": lc, "tasks": [task]}, "status": {}});
        if rev != 0 {
            v["spec"]["revision"] = json!(rev);
        }
        if let Some(r) = lock_ref {
            v["status"]["upstreamLock"] =
                json!({"type": "git", "git": {"repo": "http://h/up", "ref": r, "commit": "c"}});
        }
        v
    }

    fn fixture() -> (Vec<Value>, Vec<Value>) {
        let prs = vec![
            pr(
                "up.basens.v1",
                "basens",
                "up",
                1,
                "Published",
                json!({"type": "init"}),
                None,
            ),
            pr(
                "up.basens.v2",
                "basens",
                "up",
                2,
                "Published",
                json!({"type": "init"}),
                None,
            ),
            pr(
                "up.basens.v3",
                "basens",
                "up",
                3,
                "Published",
                json!({"type": "init"}),
                None,
            ),
            pr(
                "down.app.v1",
                "app",
                "down",
                1,
                "Published",
                json!({"type": "clone", "clone": {"upstreamRef": {"upstreamRef": {"name": "up.basens.v1"}}}}),
                Some("basens/v1"),
            ),
            pr(
                "down.app.ws",
                "app",
                "down",
                0,
                "Draft",
                json!({"type": "edit", "edit": {"sourceRef": {"name": "down.app.v1"}}}),
                Some("basens/v1"),
            ),
        ];
        let repos = vec![
            json!({"metadata": {"name": "up"}, "spec": {"type": "git", "git": {"repo": "http://h/up.git"}}}),
        ];
        (prs, repos)
    }

    fn args(rev: i64) -> UpgradeArgs {
        UpgradeArgs {
            args: vec!["down.app.v1".into()],
            workspace: "v2".into(),
            revision: rev,
            strategy: "resource-merge".into(),
            discover: String::new(),
        }
    }

    #[test]
    fn upgrade_to_latest_and_specific() {
        let (prs, _) = fixture();
        let body = plan_upgrade(&prs, &prs[3], &args(0)).unwrap();
        assert_eq!(
            body["spec"]["tasks"][0]["upgrade"],
            json!({"oldUpstreamRef": {"name": "up.basens.v1"}, "newUpstreamRef": {"name": "up.basens.v3"}, "localPackageRevisionRef": {"name": "down.app.v1"}, "strategy": "resource-merge"})
        );
        assert_eq!(body["spec"]["workspaceName"], "v2");
        let body = plan_upgrade(&prs, &prs[3], &args(2)).unwrap();
        assert_eq!(
            body["spec"]["tasks"][0]["upgrade"]["newUpstreamRef"]["name"],
            "up.basens.v2"
        );
        assert_eq!(
            plan_upgrade(&prs, &prs[3], &args(9)).unwrap_err().message(),
            "revision 9 does not exist for package basens in repo up"
        );
        assert_eq!(
            plan_upgrade(&prs, &prs[4], &args(0)).unwrap_err().message(),
            "to upgrade a package, it must be in a published state, not \"Draft\""
        );
        assert_eq!(
            find_upstream_name(&prs, &prs[4]).as_deref(),
            Some("up.basens.v1")
        );
    }

    #[test]
    fn discover_tables() {
        let (prs, repos) = fixture();
        let up = discover(&prs, &repos, &["down.app.v1".into()], false).unwrap();
        assert_eq!(
            up,
            "PACKAGE REVISION   UPSTREAM REPOSITORY   UPSTREAM UPDATES\ndown.app.v1        up                    v2, v3\n"
        );
        let down = discover(&prs, &repos, &["up.basens.v3".into()], true).unwrap();
        assert_eq!(
            down,
            "PACKAGE REVISION   DOWNSTREAM PACKAGE   DOWNSTREAM UPDATE\nup.basens.v3       down.app.v1          v1->v3\nup.basens.v3       down.app.ws          v1->v3\n"
        );
        assert_eq!(
            discover(&prs, &repos, &["up.basens.v1".into()], true).unwrap(),
            "All downstream packages are up to date.\n"
        );
        assert!(discover(&prs, &repos, &["nope".into()], false).is_err());
    }

    #[test]
    fn argument_errors() {
        let mut a = args(0);
        a.strategy = "x".into();
        assert_eq!(
            validate(&a).unwrap_err().message(),
            "invalid strategy \"x\"; must be one of: [resource-merge fast-forward force-delete-replace copy-merge]"
        );
        a.discover = "sideways".into();
        assert_eq!(
            validate(&a).unwrap_err().message(),
            "argument for 'discover' must be one of 'upstream' or 'downstream'"
        );
        let mut b = args(-1);
        assert_eq!(
            validate(&b).unwrap_err().message(),
            "revision must be positive (and not main)"
        );
        b.revision = 0;
        b.workspace = String::new();
        assert_eq!(validate(&b).unwrap_err().message(), "workspace is required");
    }
}
