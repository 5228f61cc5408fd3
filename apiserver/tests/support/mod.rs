//! Spawning `porch-standalone-dev` as a child process and driving real kubectl against it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    /// kubectl's discovery/HTTP cache, private to this server.
    pub cache: PathBuf,
    pub kubeconfig: PathBuf,
    pub url: String,
}

impl Server {
    /// Start the binary on a free loopback port and wait for its `ready` line.
    pub fn spawn(dir: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_porch-standalone-dev"))
            .args([
                "--data-dir",
                dir.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().expect("a line").expect("readable");
        assert!(line.contains("ready"), "unexpected first line: {line}");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("https://"))
            .unwrap()
            .to_string();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            kubeconfig: dir.join("kubeconfig"),
            url,
            cache: dir.join("kubectl-cache"),
        }
    }

    /// SIGKILL (kill -9) by PID.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, "")
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl");
        // kubectl may exit before reading all of a large body; that is not a test failure.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    /// kubectl that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_stdin(args, "")
    }

    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl_stdin(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// kubectl that must fail; returns stderr.
    pub fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl_stdin(args, stdin);
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Poll until `f` holds (for asynchronous controllers), or panic after 10 s.
    pub fn eventually(&self, what: &str, mut f: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Size, type: integer, jsonPath: .spec.size, priority: 1}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              color: {type: string, default: blue}
              size: {type: integer, minimum: 1}
          status:
            type: object
            properties:
              ready: {type: boolean}
"#;

/// A Repository-like CRD with upstream's CEL rules (immutability, name rules, content).
pub const REPO_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: repos.test.porch.dev
spec:
  group: test.porch.dev
  scope: Namespaced
  names: {plural: repos, singular: repo, kind: Repo}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-validations:
        - rule: "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')"
          message: metadata.name must conform to the RFC1123 DNS label standard
        - rule: "size(self.metadata.name) <= 63"
          message: metadata.name must be no more than 63 characters
        properties:
          spec:
            type: object
            properties:
              type:
                type: string
                x-kubernetes-validations:
                - {rule: "self == oldSelf", message: spec.type is immutable}
              content:
                type: string
                default: Package
                x-kubernetes-validations:
                - {rule: "self == '' || self == 'Package'", message: "The 'content' field is deprecated, its only valid value is 'Package'"}
              git:
                type: object
                required: [repo]
                properties:
                  repo:
                    type: string
                    x-kubernetes-validations:
                    - {rule: "self == oldSelf", message: spec.git.repo is immutable}
                  branch: {type: string, default: main, minLength: 1}
"#;
