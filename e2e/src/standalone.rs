//! `porch standalone` as a child process: started with its own data directory on a free
//! loopback port, awaited (bounded) until it prints its `ready` line, killed by its PID and
//! reaped on drop (also when a test step panics).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// How long the binary may take to print `ready`.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// A running `porch standalone`.
pub struct Standalone {
    child: Child,
    /// Whether the child is a wrapper (`PORCH_E2E_WRAPPER`) running the binary.
    wrapped: bool,
    stderr: PathBuf,
    /// The kubeconfig it wrote (CA and bearer token for its loopback URL).
    pub kubeconfig: PathBuf,
    /// The `https://127.0.0.1:<port>` it serves.
    pub url: String,
}

impl Standalone {
    /// Start `binary standalone --data-dir <data_dir> --listen 127.0.0.1:0` with `PORCH_LOG`
    /// set to `log_filter`, its stderr kept in `log_dir/porch.stderr`.
    pub fn start(binary: &Path, data_dir: &Path, log_dir: &Path, log_filter: &str) -> Self {
        let stderr = log_dir.join("porch.stderr");
        // `PORCH_E2E_WRAPPER="heaptrack -o /tmp/porch"` (say) runs the binary under a tool,
        // in a process group of its own so that the binary goes with it on drop.
        let wrapper = std::env::var("PORCH_E2E_WRAPPER").unwrap_or_default();
        let wrapped = !wrapper.trim().is_empty();
        let mut words = wrapper.split_whitespace();
        let mut command = match words.next() {
            Some(tool) => {
                let mut c = Command::new(tool);
                c.args(words).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        if wrapped {
            use std::os::unix::process::CommandExt as _;
            command.process_group(0);
        }
        let mut child = command
            .arg("standalone")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("PORCH_LOG", log_filter)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("spawn porch standalone");
        let stdout = child.stdout.take().unwrap();
        let mut guard = Self {
            child,
            wrapped,
            stderr,
            kubeconfig: data_dir.join("kubeconfig"),
            url: String::new(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        // Drains stdout for the life of the child so it never blocks on a full pipe.
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains("ready") {
                    let _ = tx.send(line);
                }
            }
        });
        let Ok(line) = rx.recv_timeout(READY_WITHIN) else {
            panic!(
                "porch standalone printed no ready line within {READY_WITHIN:?}; stderr:\n{}",
                guard.log()
            )
        };
        // "porch standalone ready: serving https://… (kubeconfig <path>) in N ms"
        if let Some((_, rest)) = line.split_once("(kubeconfig ")
            && let Some((path, _)) = rest.split_once(')')
        {
            guard.kubeconfig = PathBuf::from(path);
        }
        if let Some((_, rest)) = line.split_once("serving ") {
            guard.url = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        guard
    }

    /// The PID of the `porch` process (under a wrapper, the wrapper's descendant running it).
    pub fn pid(&self) -> u32 {
        let id = self.child.id();
        if !self.wrapped {
            return id;
        }
        let mut queue = vec![id];
        while let Some(pid) = queue.pop() {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "porch" {
                return pid;
            }
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            queue.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        id
    }

    /// Everything the process wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The resident set size of the process, from `/proc/<pid>/status`.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// A kube client from the kubeconfig the process wrote.
    pub async fn client(&self) -> kube::Client {
        let config = kube::Config::from_custom_kubeconfig(
            Kubeconfig::read_from(&self.kubeconfig).unwrap(),
            &KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        kube::Client::try_from(config).unwrap()
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        if self.wrapped {
            // The whole group, with SIGTERM, so the binary shuts down and the tool (a heap
            // profiler, say) writes its results; killing only the wrapper left the binary behind.
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `VmRSS` of process `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS")
}

/// A KiB figure of `/proc/<pid>/status`: `VmRSS`, `VmHWM`, `RssAnon`, `RssFile`...
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
