//! Creating, seeding and naming the served bare repositories (git CLI).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// Per-repository options.
#[derive(Debug, Clone, Default)]
pub struct RepoOptions {
    /// Allow clone/fetch without credentials.
    pub anonymous_read: bool,
    /// Start with one commit on `main` holding an empty `README.md`
    /// (the conformance `porch-test` repository).
    pub initial_readme: bool,
}

/// `<root>/<name>.git`.
pub(crate) fn repo_dir(root: &Path, name: &str) -> PathBuf {
    root.join(format!("{}.git", name.trim_end_matches(".git")))
}

/// Repository names: `/`-separated segments of `[A-Za-z0-9._-]`, no `..`.
pub(crate) fn validate_name(name: &str) -> std::io::Result<()> {
    let ok = !name.is_empty()
        && name.split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("invalid repository name {name:?}"),
        ))
    }
}

/// Runs git with an isolated config; returns trimmed stdout.
pub(crate) async fn git(
    git: &Path,
    dir: Option<&Path>,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> std::io::Result<String> {
    let mut cmd = tokio::process::Command::new(git);
    if let Some(d) = dir {
        cmd.arg("--git-dir").arg(d);
    }
    cmd.args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Test Server")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test Server")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(data).await?;
        drop(pipe);
    }
    let out = child.wait_with_output().await?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// (Re)creates the bare repository at `dir`.
pub(crate) async fn create(
    git_bin: &Path,
    dir: &Path,
    options: &RepoOptions,
    bundle: Option<&Path>,
) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let dir_s = dir.to_string_lossy().to_string();
    git(
        git_bin,
        None,
        &["init", "--bare", "-q", "-b", "main", &dir_s],
        None,
    )
    .await?;
    git(
        git_bin,
        Some(dir),
        &["config", "http.receivepack", "true"],
        None,
    )
    .await?;
    if let Some(bundle) = bundle {
        let b = bundle.to_string_lossy().to_string();
        git(
            git_bin,
            Some(dir),
            &[
                "fetch",
                "-q",
                &b,
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ],
            None,
        )
        .await?;
    }
    if options.initial_readme {
        let blob = git(
            git_bin,
            Some(dir),
            &["hash-object", "-w", "--stdin"],
            Some(b""),
        )
        .await?;
        let entry = format!("100644 blob {blob}\tREADME.md\n");
        let tree = git(git_bin, Some(dir), &["mktree"], Some(entry.as_bytes())).await?;
        let parent = git(
            git_bin,
            Some(dir),
            &["rev-parse", "-q", "--verify", "refs/heads/main"],
            None,
        )
        .await
        .ok();
        let mut args = vec!["commit-tree", tree.as_str(), "-m", "Initial commit"];
        if let Some(p) = parent.as_deref() {
            args.extend(["-p", p]);
        }
        let commit = git(git_bin, Some(dir), &args, None).await?;
        git(
            git_bin,
            Some(dir),
            &["update-ref", "refs/heads/main", &commit],
            None,
        )
        .await?;
    }
    Ok(())
}
