//! Running the real `kubectl` binary against a kubeconfig.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// What one kubectl run printed.
#[derive(Debug)]
pub struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The stdout of a run that must have succeeded.
    #[track_caller]
    pub fn success(self) -> String {
        assert!(self.ok, "kubectl failed: {}", self.stderr);
        self.stdout
    }

    /// The stderr of a run that must have failed.
    #[track_caller]
    pub fn failure(self) -> String {
        assert!(!self.ok, "kubectl succeeded unexpectedly: {}", self.stdout);
        self.stderr
    }

    /// Whitespace-split table rows.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.stdout
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .collect()
    }
}

/// `kubectl` with a fixed kubeconfig and its own discovery cache directory.
#[derive(Debug, Clone)]
pub struct Kubectl {
    pub kubeconfig: PathBuf,
    pub cache: PathBuf,
}

impl Kubectl {
    /// The command with the kubeconfig and cache flags, killed if dropped while running.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .kill_on_drop(true);
        cmd
    }

    /// Run with `stdin` fed to kubectl.
    pub async fn run_with(&self, args: &[&str], stdin: &str) -> Out {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, "").await
    }

    /// `args` with `-o json`, parsed; the run must succeed.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.run(&all).await.success()).unwrap()
    }
}
