//! The exec runtime: FunctionConfig `binaryExecutor` entries map images to local
//! executables, run with the ResourceList on stdin (porch-behaviour.md §6.2).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use kpt::fn_eval::{EvalError, EvalFuture, EvalOutput, Evaluator, FunctionRef};
use regex::Regex;
use tokio::io::AsyncWriteExt;

use crate::function_config::FunctionConfig;
use crate::image::ImageRef;

/// Default per-call limit for an executable.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(300);

/// One image -> executable mapping.
#[derive(Debug, Clone)]
pub struct ExecEntry {
    /// Short image name.
    pub image: String,
    /// Allowed prefixes (`""` = the default prefix); empty = only the default prefix.
    pub prefixes: Vec<String>,
    /// Allowed tags.
    pub tags: Vec<String>,
    /// The executable.
    pub path: PathBuf,
}

impl ExecEntry {
    /// Entries for every FunctionConfig with a `binaryExecutor`; relative paths are under `functions_dir`.
    pub fn from_configs(configs: &[FunctionConfig], functions_dir: &Path) -> Vec<ExecEntry> {
        configs
            .iter()
            .filter_map(|c| {
                let b = c.spec.binary_executor.as_ref()?;
                let path = PathBuf::from(&b.path);
                let path = if path.is_absolute() {
                    path
                } else {
                    functions_dir.join(path)
                };
                Some(ExecEntry {
                    image: c.spec.image.clone(),
                    prefixes: c.spec.prefixes.clone(),
                    tags: b.tags.clone(),
                    path,
                })
            })
            .collect()
    }
}

/// Runs configured executables.
pub struct ExecEvaluator {
    entries: Vec<(ExecEntry, Option<Regex>)>,
    default_prefix: String,
    timeout: Duration,
}

fn prefix_regex(prefixes: &[String], default_prefix: &str) -> Option<Regex> {
    let alts: Vec<String> = if prefixes.is_empty() {
        vec![String::new()]
    } else {
        prefixes.to_vec()
    }
    .into_iter()
    .map(|p| {
        let p = if p.is_empty() {
            default_prefix.to_string()
        } else {
            p
        };
        // Patterns are regexes upstream; a trailing `/` is part of the prefix either way.
        format!("{}/?", p.trim_end_matches('/'))
    })
    .collect();
    Regex::new(&format!("^(?:{})$", alts.join("|"))).ok()
}

impl ExecEvaluator {
    /// Build from entries.
    pub fn new(entries: Vec<ExecEntry>, default_prefix: String, timeout: Duration) -> Self {
        let entries = entries
            .into_iter()
            .map(|e| {
                let re = prefix_regex(&e.prefixes, &default_prefix);
                (e, re)
            })
            .collect();
        ExecEvaluator {
            entries,
            default_prefix,
            timeout,
        }
    }

    /// The executable for an image, if configured.
    pub fn resolve(&self, image: &str) -> Option<&ExecEntry> {
        let r = ImageRef::parse(image);
        let prefix = if r.prefix.is_empty() {
            self.default_prefix.trim_end_matches('/').to_string()
        } else {
            r.prefix.clone()
        };
        self.entries
            .iter()
            .find(|(e, re)| {
                e.image == r.name
                    && e.tags.contains(&r.tag)
                    && re.as_ref().is_some_and(|re| re.is_match(&prefix))
            })
            .map(|(e, _)| e)
    }
}

/// Run `path` with `input` on stdin, bounded by `timeout`.
pub async fn run_executable(
    path: &Path,
    input: &[u8],
    timeout: Duration,
) -> Result<EvalOutput, String> {
    let mut attempt = 0;
    let mut child = loop {
        let spawned = tokio::process::Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Ok(c) => break c,
            // A just-written executable can be briefly "busy" while another thread forks.
            Err(e) if e.raw_os_error() == Some(26) && attempt < 10 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(format!("cannot start {}: {e}", path.display())),
        }
    };
    let mut stdin = child.stdin.take();
    let input = input.to_vec();
    let writer = async move {
        if let Some(s) = stdin.as_mut() {
            // A function may exit without reading stdin; that is not our error.
            let _ = s.write_all(&input).await;
            let _ = s.shutdown().await;
        }
        drop(stdin);
    };
    let run = async {
        let (_, out) = tokio::join!(writer, child.wait_with_output());
        out
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(out)) => Ok(EvalOutput {
            resource_list: out.stdout,
            stderr: out.stderr,
            exit_code: out.status.code().unwrap_or(1),
        }),
        Ok(Err(e)) => Err(format!("failed to wait for {}: {e}", path.display())),
        // Dropping the future drops the child, which kills it (kill_on_drop).
        Err(_) => Err(format!("timed out after {timeout:?}")),
    }
}

impl Evaluator for ExecEvaluator {
    fn evaluate<'a>(
        &'a self,
        function: &'a FunctionRef,
        resource_list: &'a [u8],
    ) -> EvalFuture<'a> {
        Box::pin(async move {
            let FunctionRef::Image(image) = function else {
                return Err(EvalError::NotFound(function.name().to_string()));
            };
            let entry = self
                .resolve(image)
                .ok_or_else(|| EvalError::NotFound(image.clone()))?;
            tracing::debug!(image = %image, path = %entry.path.display(), "running executable");
            run_executable(&entry.path, resource_list, self.timeout)
                .await
                .map_err(|message| EvalError::Failed {
                    function: image.clone(),
                    message,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::GHCR_PREFIX;

    fn entry(prefixes: &[&str]) -> ExecEntry {
        ExecEntry {
            image: "set-labels".into(),
            prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            tags: vec!["v0.2.2".into()],
            path: "/bin/cat".into(),
        }
    }

    #[test]
    fn matches_prefix_name_and_tag() {
        let e = ExecEvaluator::new(
            vec![entry(&["", "gcr.io/kpt-fn/"])],
            GHCR_PREFIX.into(),
            DEFAULT_EXEC_TIMEOUT,
        );
        assert!(e.resolve("set-labels:v0.2.2").is_some());
        assert!(
            e.resolve(&format!("{GHCR_PREFIX}/set-labels:v0.2.2"))
                .is_some()
        );
        assert!(e.resolve("gcr.io/kpt-fn/set-labels:v0.2.2").is_some());
        assert!(e.resolve("gcr.io/kpt-fn/set-labels:v0.2").is_none());
        assert!(e.resolve("docker.io/x/set-labels:v0.2.2").is_none());
        assert!(e.resolve("set-namespace:v0.2.2").is_none());
    }

    #[tokio::test]
    async fn runs_with_stdin_and_captures_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fn.sh");
        std::fs::write(&script, "#!/bin/sh\necho warn >&2\ncat\nexit 3\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let out = run_executable(&script, b"kind: ResourceList\n", Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(out.resource_list, b"kind: ResourceList\n");
        assert_eq!(out.stderr, b"warn\n");
        assert_eq!(out.exit_code, 3);

        std::fs::write(&script, "#!/bin/sh\nsleep 30\n").unwrap();
        let err = run_executable(&script, b"", Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        let err = run_executable(&dir.path().join("missing"), b"", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(err.contains("cannot start"), "{err}");
    }
}
