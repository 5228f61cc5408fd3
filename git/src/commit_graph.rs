//! The cache's commit-graph. `git push` hands pack-objects every commit the remote advertises
//! that the cache holds, as "already there"; with a package's thousand tags, parsing those
//! commits one object at a time is most of the client's share of a push. With a commit-graph
//! git reads them from one file instead (a 1,000-tag push: pack-objects 7-10 ms -> 1-2 ms).
//!
//! gix only reads commit-graphs, so the git CLI writes it: incrementally (`--split`), in the
//! background (never on a request's path), after a fetch that changed refs and every
//! [`PUSHES_PER_WRITE`] pushes, one write per cache at a time. A graph that lacks the newest
//! commits is still correct: git parses those from their objects.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Pushes between two graph writes (the commits they add are parsed the slow way meanwhile).
pub(crate) const PUSHES_PER_WRITE: u64 = 64;

/// How often the writer thread looks whether git has finished.
const POLL: Duration = Duration::from_millis(10);

/// The git process of the write under way.
type Running = Arc<Mutex<Option<Child>>>;

/// When to write one cache's commit-graph; shared by the clones of a remote.
#[derive(Debug, Default)]
pub(crate) struct CommitGraph {
    running: Arc<AtomicBool>,
    pushes: AtomicU64,
    child: Running,
}

fn lock(child: &Running) -> MutexGuard<'_, Option<Child>> {
    child.lock().unwrap_or_else(|e| e.into_inner())
}

impl CommitGraph {
    /// A fetch changed the cache's refs (and so, usually, brought commits).
    pub(crate) fn fetched(&self, git: &Path, cache: &Path) {
        self.write_in_background(git, cache);
    }

    /// A push succeeded (its commits were written into the cache before).
    pub(crate) fn pushed(&self, git: &Path, cache: &Path) {
        if (self.pushes.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(PUSHES_PER_WRITE) {
            self.write_in_background(git, cache);
        }
    }

    fn write_in_background(&self, git: &Path, cache: &Path) {
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let running = self.running.clone();
        let child = self.child.clone();
        let (git, cache): (PathBuf, PathBuf) = (git.to_path_buf(), cache.to_path_buf());
        let spawned = std::thread::Builder::new()
            .name("commit-graph".into())
            .spawn(move || {
                if let Err(e) = write(&git, &cache, &child) {
                    // Only slower pushes follow; the next trigger tries again.
                    tracing::debug!(cache = %cache.display(), error = %e, "commit-graph not written");
                }
                running.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.running.store(false, Ordering::Release);
        }
    }
}

impl Drop for CommitGraph {
    /// The cache's owner is gone (and its directory may be removed next): stop a write under
    /// way rather than let git recreate files in a directory being deleted.
    fn drop(&mut self) {
        if let Some(mut child) = lock(&self.child).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `git commit-graph write --reachable --split` in `cache`, isolated from user and system
/// config. The process is kept in `slot` while it runs, so the owner can stop it.
fn write(git: &Path, cache: &Path, slot: &Running) -> std::io::Result<()> {
    let child = Command::new(git)
        .arg("--git-dir")
        .arg(cache)
        .args([
            "commit-graph",
            "write",
            "--reachable",
            "--split",
            "--no-progress",
        ])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // With --no-progress git only writes an error here, well within a pipe's buffer.
        .stderr(Stdio::piped())
        .spawn()?;
    *lock(slot) = Some(child);
    loop {
        let mut guard = lock(slot);
        let Some(child) = guard.as_mut() else {
            return Err(std::io::Error::other("stopped: the cache was dropped"));
        };
        if let Some(status) = child.try_wait()? {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                use std::io::Read as _;
                let _ = pipe.read_to_string(&mut stderr);
            }
            *guard = None;
            return if status.success() {
                Ok(())
            } else {
                Err(std::io::Error::other(stderr.trim().to_string()))
            };
        }
        drop(guard);
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Waits until `path` holds `lines` lines (the background writer is a thread).
    fn wait_for_lines(path: &Path, lines: usize) -> usize {
        let start = Instant::now();
        loop {
            let n = std::fs::read_to_string(path).map_or(0, |t| t.lines().count());
            if n >= lines || start.elapsed() > Duration::from_secs(20) {
                return n;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An executable stand-in for git in `dir` running `script` (`{log}` is the call log).
    fn fake_git(dir: &Path, script: &str) -> (PathBuf, PathBuf) {
        let log = dir.join("calls");
        let fake = dir.join("git");
        let body = script.replace("{log}", &log.display().to_string());
        std::fs::write(&fake, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        (fake, log)
    }

    #[test]
    fn a_write_follows_a_changing_fetch_and_every_64th_push() {
        let dir = tempfile::tempdir().unwrap();
        // Records its arguments.
        let (fake, log) = fake_git(dir.path(), "echo \"$*\" >> {log}");
        let cache = dir.path().join("cache.git");
        let graph = CommitGraph::default();

        graph.fetched(&fake, &cache);
        assert_eq!(wait_for_lines(&log, 1), 1);
        let first = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            first.trim(),
            format!(
                "--git-dir {} commit-graph write --reachable --split --no-progress",
                cache.display()
            )
        );
        for _ in 0..PUSHES_PER_WRITE - 1 {
            graph.pushed(&fake, &cache);
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(wait_for_lines(&log, 1), 1, "no write before the 64th push");
        graph.pushed(&fake, &cache);
        assert_eq!(wait_for_lines(&log, 2), 2);
    }

    #[test]
    fn dropping_the_owner_stops_a_write_under_way() {
        let dir = tempfile::tempdir().unwrap();
        // `exec`: the process that is killed is the one sleeping.
        let (fake, log) = fake_git(dir.path(), "echo started >> {log}\nexec sleep 30");
        let graph = CommitGraph::default();
        graph.fetched(&fake, &dir.path().join("cache.git"));
        assert_eq!(wait_for_lines(&log, 1), 1);
        let running = graph.running.clone();
        let start = Instant::now();
        drop(graph);
        assert!(start.elapsed() < Duration::from_secs(5));
        // The writer thread notices at once: git was stopped, not waited for.
        let start = Instant::now();
        while running.load(Ordering::Acquire) && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!running.load(Ordering::Acquire));
    }
}
