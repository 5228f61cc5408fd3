//! Discovery benchmark (run with `cargo bench -p porch-git --bench discovery`).
//!
//! Builds a repository of 1,000 packages with 5 published revisions each
//! (5,000 approval-style commits and `<pkg>/vN` tags) once, serves it on the
//! loopback server, and compares in one run:
//! - ours: open a fresh cache (gix fetch) + list every package revision;
//! - git: `git clone --mirror` + `git for-each-ref` + `git ls-tree -r` of main;
//! - a no-change refresh (fetch round trip + version);
//! - memory per opened repository.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use porch_git::testserver::{GitServer, ServerOptions};
use porch_git::{Credentials, GitRepository, RepoConfig};

const PACKAGES: usize = 1000;
const REVISIONS: usize = 5;

fn build_repo(dir: &Path) {
    let st = Command::new("git")
        .args(["init", "--bare", "-q", "-b", "main"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success());
    let mut fi = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut s = String::new();
    let mut mark = 0usize;
    let mut t = 1_700_000_000u64;
    for rev in 1..=REVISIONS {
        for p in 0..PACKAGES {
            mark += 1;
            t += 1;
            let pkg = format!("pkg-{p:04}");
            let msg = format!(
                "Approving package revision {pkg}/{rev}\n\nkpt:{{\"package\":\"{pkg}\",\"workspaceName\":\"ws{rev}\",\"revision\":\"{rev}\"}}\n"
            );
            let kptfile = format!(
                "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {pkg}\ninfo:\n  description: revision {rev}\n"
            );
            let cm = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {pkg}\ndata:\n  revision: \"{rev}\"\n"
            );
            s.push_str(&format!(
                "commit refs/heads/main\nmark :{mark}\nauthor Porch <porch@kpt.dev> {t} +0000\ncommitter Package Orchestration Service <porch@kpt.dev> {t} +0000\ndata {}\n{msg}\n",
                msg.len()
            ));
            for (name, content) in [
                ("Kptfile", &kptfile),
                ("cm.yaml", &cm),
                ("README.md", &format!("# {pkg}\n")),
            ] {
                s.push_str(&format!(
                    "M 644 inline {pkg}/{name}\ndata {}\n{content}\n",
                    content.len()
                ));
            }
            s.push_str(&format!("reset refs/tags/{pkg}/v{rev}\nfrom :{mark}\n\n"));
        }
    }
    fi.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    assert!(fi.wait().unwrap().success());
    Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(["gc", "-q"])
        .status()
        .unwrap();
}

fn time_git_baseline(url: &str, work: &Path) -> Duration {
    let mirror = work.join("mirror.git");
    let _ = std::fs::remove_dir_all(&mirror);
    let t0 = Instant::now();
    let ok = Command::new("git")
        .args([
            "-c",
            "http.extraHeader=Authorization: Basic bmVwaGlvOnNlY3JldA==",
            "clone",
            "-q",
            "--mirror",
            url,
        ])
        .arg(&mirror)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let refs = Command::new("git")
        .arg("--git-dir")
        .arg(&mirror)
        .arg("for-each-ref")
        .output()
        .unwrap();
    let tree = Command::new("git")
        .arg("--git-dir")
        .arg(&mirror)
        .args(["ls-tree", "-r", "main"])
        .output()
        .unwrap();
    let el = t0.elapsed();
    assert_eq!(
        String::from_utf8_lossy(&refs.stdout).lines().count(),
        PACKAGES * REVISIONS + 1
    );
    assert_eq!(
        String::from_utf8_lossy(&tree.stdout).lines().count(),
        PACKAGES * 3
    );
    el
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; anything else (e.g. `cargo test --benches`) only smoke-runs.
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        println!("discovery benchmark: run with `cargo bench -p porch-git --bench discovery`");
        return;
    }
    println!(
        "load average at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&root).unwrap();
    let t0 = Instant::now();
    build_repo(&root.join("bench.git"));
    println!(
        "built {PACKAGES} packages x {REVISIONS} revisions in {:?}",
        t0.elapsed()
    );

    let server = GitServer::start(&root, ServerOptions::with_user("nephio", "secret"))
        .await
        .unwrap();
    let url = format!("{}/bench.git", server.url());
    let mut cfg = RepoConfig::new(&url);
    cfg.credentials = Some(Credentials::Basic {
        username: "nephio".into(),
        password: "secret".into(),
    });

    let mut ours = Vec::new();
    let mut opens = Vec::new();
    let mut theirs = Vec::new();
    let mut last = None;
    for i in 0..3 {
        let cache = tmp.path().join(format!("cache{i}"));
        let t = Instant::now();
        let repo = GitRepository::open(cfg.clone(), &cache).await.unwrap();
        opens.push(t.elapsed());
        let revs = repo.list().await.unwrap();
        ours.push(t.elapsed());
        assert_eq!(revs.len(), PACKAGES * (REVISIONS + 1));
        theirs.push(time_git_baseline(&url, tmp.path()));
        last = Some(repo);
    }
    let (o, g) = (median(ours.clone()), median(theirs.clone()));
    println!(
        "discovery (fresh clone + list {} revisions): ours {:?} (runs {:?})",
        PACKAGES * (REVISIONS + 1),
        o,
        ours
    );
    println!(
        "  of which open (fresh cache, fetch): {:?} (runs {:?})",
        median(opens.clone()),
        opens
    );
    println!(
        "baseline git clone --mirror + for-each-ref + ls-tree -r: {:?} (runs {:?})",
        g, theirs
    );
    println!(
        "ratio ours/git: {:.2}x (target <= 2x)",
        o.as_secs_f64() / g.as_secs_f64()
    );

    let repo = last.unwrap();
    let t = Instant::now();
    let revs = repo.list().await.unwrap();
    println!(
        "list from a warm cache ({} revisions): {:?}",
        revs.len(),
        t.elapsed()
    );
    let mut refresh = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let out = repo.refresh().await.unwrap();
        refresh.push(t.elapsed());
        assert!(!out.changed);
    }
    let mut sorted = refresh.clone();
    sorted.sort();
    println!(
        "no-change refresh on loopback: median {:?}, p95 {:?} (target < 50ms)",
        median(refresh),
        sorted[sorted.len() * 95 / 100]
    );
    // The floor set by the server: one ref advertisement from `git http-backend`
    // (a no-change refresh is that one request plus reading the packed refs).
    let mut floor = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let ok = Command::new("git")
            .args([
                "-c",
                "http.extraHeader=Authorization: Basic bmVwaGlvOnNlY3JldA==",
                "ls-remote",
                "-q",
                &url,
            ])
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok);
        floor.push(t.elapsed());
    }
    println!(
        "  reference: `git ls-remote` of the same URL (same single request): median {:?}",
        median(floor)
    );

    // Memory: open many small repositories and hold them.
    let small = server
        .create_repo(
            "small",
            porch_git::testserver::RepoOptions {
                anonymous_read: false,
                initial_readme: true,
            },
        )
        .await
        .unwrap();
    let mut scfg = RepoConfig::new(&small);
    scfg.credentials = cfg.credentials.clone();
    let mut held = Vec::new();
    let before = rss_kib();
    for i in 0..50 {
        held.push(
            GitRepository::open(scfg.clone(), tmp.path().join(format!("small{i}")))
                .await
                .unwrap(),
        );
    }
    let after = rss_kib();
    println!(
        "memory: {} repositories held, RSS {} KiB -> {} KiB ({} KiB per repository; a GitRepository keeps only its config and cache path)",
        held.len(),
        before,
        after,
        (after.saturating_sub(before)) / held.len() as u64
    );
    drop(held);
    server.stop().await;
}
