//! Runs cases against a live API: one namespace per case, each command as a process, upstream's
//! comparison rules, a per-command PASS/FAIL report with diffs, and a final summary.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::case::{Case, CaseCommand};
use super::diff::unified;
use super::normalize::{stderr_for_compare, stdout_for_compare, substitute};
use crate::api::{NAMESPACES, REPOSITORIES, RestClient};

/// The git URL base the upstream cases use, replaced by `--git-url-base`.
pub const UPSTREAM_GIT_BASE: &str = "http://gitea.gitea.svc.cluster.local:3000";

/// Runner settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The porchctl binary that replaces `porchctl` in argv.
    pub porchctl: PathBuf,
    /// The kubeconfig given to every command (as `KUBECONFIG`).
    pub kubeconfig: PathBuf,
    /// Search/replace pairs applied to argv and expected output.
    pub substitutions: Vec<(String, String)>,
    /// Working directory of the commands.
    pub workdir: PathBuf,
    /// A shell command run after each case that writes to `porch-test`.
    pub reset_repo_cmd: Option<String>,
    /// How long to wait for a registered repository to become Ready.
    pub ready_timeout: Duration,
    /// Keep namespaces after the cases.
    pub keep_namespaces: bool,
}

/// The result of one command.
#[derive(Debug, Clone)]
pub struct CommandResult {
    /// Case name.
    pub case: String,
    /// 1-based command number.
    pub index: usize,
    /// The argv as run.
    pub args: Vec<String>,
    /// The failure report, empty when it passed.
    pub failures: Vec<String>,
}

impl CommandResult {
    /// Whether the command met every expectation.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// What a command actually did.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
    /// exit code (-1 if killed by a signal).
    pub exit_code: i32,
}

/// Compares one command's outcome with its expectations (no I/O). Returns failure reports.
pub fn compare(cmd: &CaseCommand, subs: &[(String, String)], actual: &Actual) -> Vec<String> {
    let mut failures = Vec::new();
    let want_out = substitute(cmd.stdout.as_deref().unwrap_or(""), subs);
    let want_err = substitute(cmd.stderr.as_deref().unwrap_or(""), subs);
    let got_out = stdout_for_compare(&actual.stdout, cmd.yaml, cmd.ignore_whitespace);
    let want_out = stdout_for_compare(&want_out, cmd.yaml, cmd.ignore_whitespace);
    if got_out != want_out {
        failures.push(format!("stdout differs:\n{}", unified(&want_out, &got_out)));
    }
    let got_err = stderr_for_compare(
        &actual.stderr,
        cmd.std_err_tab_to_whitespace,
        cmd.ignore_whitespace,
    );
    let want_err = stderr_for_compare(&want_err, false, cmd.ignore_whitespace);
    if cmd.contains_error_string {
        if !got_err.contains(&want_err) {
            failures.push(format!(
                "stderr does not contain the expected text:\n{}",
                unified(&want_err, &got_err)
            ));
        }
    } else if got_err != want_err {
        failures.push(format!("stderr differs:\n{}", unified(&want_err, &got_err)));
    }
    if actual.exit_code != cmd.exit_code {
        failures.push(format!(
            "exit code: expected {}, got {}",
            cmd.exit_code, actual.exit_code
        ));
    }
    failures
}

/// The repository name and namespace of a `repo register` argv, if it is one.
pub fn registered_repo(args: &[String]) -> Option<(String, Option<String>)> {
    if !args.iter().any(|a| a == "register" || a == "reg")
        || args.first().map(String::as_str) != Some("porchctl")
    {
        return None;
    }
    let flag = |long: &str, short: Option<&str>| -> Option<String> {
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(v) = a.strip_prefix(&format!("{long}=")) {
                return Some(v.to_string());
            }
            if a == long || short.is_some_and(|s| a == s) {
                return it.next().cloned();
            }
        }
        None
    };
    let name = flag("--name", None).or_else(|| {
        // The positional URL's last segment, as porchctl defaults it.
        let mut skip = false;
        let mut positional = None;
        for a in args.iter().skip(3) {
            if skip {
                skip = false;
                continue;
            }
            if a.starts_with('-') {
                skip = !a.contains('=') && !is_bool_flag(a);
                continue;
            }
            positional = Some(a.clone());
            break;
        }
        positional.map(|u| crate::commands::repo::register::default_name(&u))
    })?;
    Some((name, flag("--namespace", Some("-n"))))
}

fn is_bool_flag(a: &str) -> bool {
    matches!(
        a,
        "--create-branch" | "--deployment" | "--repo-workload-identity" | "-A" | "--all-namespaces"
    )
}

/// The runner: a client for setup/teardown plus the settings.
pub struct Runner {
    rest: RestClient,
    settings: Settings,
}

impl Runner {
    /// A runner using `rest` for namespaces and readiness checks.
    pub fn new(rest: RestClient, settings: Settings) -> Self {
        Runner { rest, settings }
    }

    /// Runs all cases, printing progress to stdout; returns every command result.
    pub async fn run_all(&self, cases: &[Case]) -> Vec<CommandResult> {
        let mut all = Vec::new();
        for case in cases {
            if let Some(reason) = &case.config.skip {
                println!("SKIP {}: {reason}", case.name);
                continue;
            }
            all.extend(self.run_case(case).await);
        }
        let passed = all.iter().filter(|r| r.passed()).count();
        println!("{passed} passed, {} failed", all.len() - passed);
        all
    }

    async fn run_case(&self, case: &Case) -> Vec<CommandResult> {
        println!("=== {} ({})", case.name, case.path.display());
        if let Err(e) = self.ensure_namespace(&case.name).await {
            println!("FAIL {}: cannot create namespace: {e}", case.name);
            return vec![CommandResult {
                case: case.name.clone(),
                index: 0,
                args: Vec::new(),
                failures: vec![e],
            }];
        }
        let mut results = Vec::new();
        for (i, cmd) in case.config.commands.iter().enumerate() {
            let args: Vec<String> = cmd
                .args
                .iter()
                .map(|a| substitute(a, &self.settings.substitutions))
                .collect();
            let mut failures = match self.exec(&args, cmd.stdin.as_deref()).await {
                Ok(actual) => compare(cmd, &self.settings.substitutions, &actual),
                Err(e) => vec![format!("could not run: {e}")],
            };
            if let Some((repo, ns)) = registered_repo(&args) {
                let ns = ns.unwrap_or_else(|| case.name.clone());
                if let Err(e) = self.wait_ready(&ns, &repo).await {
                    failures.push(e);
                }
            }
            let r = CommandResult {
                case: case.name.clone(),
                index: i + 1,
                args: args.clone(),
                failures,
            };
            if r.passed() {
                println!("PASS {} #{}: {}", r.case, r.index, args.join(" "));
            } else {
                println!("FAIL {} #{}: {}", r.case, r.index, args.join(" "));
                for f in &r.failures {
                    for line in f.lines() {
                        println!("    {line}");
                    }
                }
            }
            results.push(r);
        }
        if case.config.uses_porch_test_repo
            && let Some(cmd) = &self.settings.reset_repo_cmd
        {
            let status = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .status()
                .await;
            if !status.is_ok_and(|s| s.success()) {
                println!("WARN {}: reset command failed: {cmd}", case.name);
            }
        }
        if !self.settings.keep_namespaces {
            self.release_packagerevs(&case.name).await;
            let _ = self.rest.delete(&NAMESPACES.item(None, &case.name)).await;
        }
        results
    }

    /// Upstream's teardown: drop the finalizers of every internal PackageRev so the namespace
    /// can go. Best effort: a server without PackageRevs has nothing to release.
    async fn release_packagerevs(&self, ns: &str) {
        let path = format!("/apis/config.porch.kpt.dev/v1alpha1/namespaces/{ns}/packagerevs");
        let Ok(list) = self.rest.get(&path).await else {
            return;
        };
        let mut items = Vec::new();
        crate::commands::get::flatten(list, &mut items);
        for item in items {
            let name = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !name.is_empty() {
                let patch = json!({"metadata": {"finalizers": null}});
                let _ = self
                    .rest
                    .merge_patch(&format!("{path}/{name}"), &patch)
                    .await;
            }
        }
    }

    async fn ensure_namespace(&self, name: &str) -> Result<(), String> {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match self.rest.create(&NAMESPACES.collection(None), &body).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(409) => Ok(()),
            Err(e) => Err(e.message(&NAMESPACES, Some(name))),
        }
    }

    /// Polls the Repository's Ready condition every 2 s (upstream's harness does the same).
    async fn wait_ready(&self, ns: &str, name: &str) -> Result<(), String> {
        let deadline = Instant::now() + self.settings.ready_timeout;
        loop {
            let last: String;
            match self.rest.get(&REPOSITORIES.item(Some(ns), name)).await {
                Ok(repo) => {
                    let ready = repo
                        .pointer("/status/conditions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"));
                    match ready {
                        Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => {
                            return Ok(());
                        }
                        Some(c) => {
                            last = format!(
                                "Ready={}",
                                c.get("status").and_then(Value::as_str).unwrap_or("")
                            )
                        }
                        None => last = "no Ready condition".into(),
                    }
                }
                Err(e) => last = e.message(&REPOSITORIES, Some(name)),
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "repository {ns}/{name} not ready after {:?}: {last}",
                    self.settings.ready_timeout
                ));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    async fn exec(&self, args: &[String], stdin: Option<&str>) -> Result<Actual, String> {
        let Some((prog, rest)) = args.split_first() else {
            return Err("empty args".into());
        };
        let program: PathBuf = if prog == "porchctl" {
            self.settings.porchctl.clone()
        } else {
            PathBuf::from(prog)
        };
        run_process(
            &program,
            rest,
            stdin,
            &self.settings.kubeconfig,
            &self.settings.workdir,
        )
        .await
    }
}

/// Runs a process with `KUBECONFIG` set and captures its output.
pub async fn run_process(
    program: &Path,
    args: &[String],
    stdin: Option<&str>,
    kubeconfig: &Path,
    workdir: &Path,
) -> Result<Actual, String> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .current_dir(workdir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        drop(pipe);
    }
    let out = child.wait_with_output().await.map_err(|e| e.to_string())?;
    Ok(Actual {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        exit_code: out.status.code().unwrap_or(-1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(stdout: &str) -> CaseCommand {
        CaseCommand {
            args: vec!["porchctl".into()],
            stdout: Some(stdout.into()),
            ..Default::default()
        }
    }

    #[test]
    fn compare_rules() {
        let ok = Actual {
            stdout: "NAME\nb\na\n".into(),
            stderr: String::new(),
            exit_code: 0,
        };
        assert!(compare(&cmd("NAME\na\nb\n"), &[], &ok).is_empty());
        let mut c = cmd("");
        c.stderr = Some("Error: boom \n".into());
        c.exit_code = 1;
        let bad = Actual {
            stdout: String::new(),
            stderr: "Error: boom\n".into(),
            exit_code: 0,
        };
        let f = compare(&c, &[], &bad);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].contains("-Error: boom ⏎") && f[0].contains("+Error: boom"));
        c.contains_error_string = true;
        c.stderr = Some("boom".into());
        c.exit_code = 0;
        assert!(compare(&c, &[], &bad).is_empty());
    }

    #[test]
    fn compare_substitutes_expected_output() {
        let subs = vec![(
            UPSTREAM_GIT_BASE.to_string(),
            "http://127.0.0.1:1".to_string(),
        )];
        let mut c =
            cmd("NAME ADDRESS\ngit http://gitea.gitea.svc.cluster.local:3000/nephio/porch-test\n");
        c.ignore_whitespace = true;
        let a = Actual {
            stdout: "NAME   ADDRESS\ngit    http://127.0.0.1:1/nephio/porch-test\n".into(),
            ..Default::default()
        };
        assert!(compare(&c, &subs, &a).is_empty());
    }

    #[test]
    fn finds_registered_repositories() {
        let args: Vec<String> = [
            "porchctl",
            "repo",
            "register",
            "--namespace=ns",
            "--name=git",
            "--repo-basic-password=secret",
            "http://h/porch-test",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            registered_repo(&args),
            Some(("git".into(), Some("ns".into())))
        );
        let args: Vec<String> = [
            "porchctl",
            "repo",
            "reg",
            "-n",
            "x",
            "--description",
            "Test Blueprints",
            "http://h/test-blueprints.git",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            registered_repo(&args),
            Some(("test-blueprints".into(), Some("x".into())))
        );
        assert_eq!(
            registered_repo(&["sleep".to_string(), "2".to_string()]),
            None
        );
    }

    #[test]
    fn runs_processes_with_stdin() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let a = rt
            .block_on(run_process(
                Path::new("sh"),
                &["-c".into(), "cat; echo err >&2; exit 3".into()],
                Some("in\n"),
                Path::new("/nonexistent"),
                Path::new("."),
            ))
            .unwrap();
        assert_eq!(
            (a.stdout.as_str(), a.stderr.as_str(), a.exit_code),
            ("in\n", "err\n", 3)
        );
    }
}
