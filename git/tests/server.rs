#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The loopback server itself, driven by the real git CLI.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use porch_git::testserver::{GitServer, RepoOptions, ServerOptions};

fn git_cli(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap()
}

fn with_auth(url: &str) -> String {
    url.replace("http://", "http://nephio:secret@")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_reads_and_writes_with_auth_rules() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let server = GitServer::start(
        dir.path().join("srv"),
        ServerOptions::with_user("nephio", "secret"),
    )
    .await
    .unwrap();
    eprintln!("server started in {:?}", t0.elapsed());
    let url = server
        .create_repo(
            "nephio/porch-test",
            RepoOptions {
                anonymous_read: false,
                initial_readme: true,
            },
        )
        .await
        .unwrap();
    assert!(url.ends_with("/nephio/porch-test.git"));
    let work = dir.path();

    // Private: anonymous ls-remote is refused, authenticated works, with and without .git.
    let out = git_cli(&["ls-remote", &url], work);
    assert!(!out.status.success());
    for u in [url.clone(), url.trim_end_matches(".git").to_string()] {
        let out = git_cli(&["ls-remote", &with_auth(&u)], work);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("refs/heads/main"));
    }
    // Wrong password is refused.
    let out = git_cli(
        &["ls-remote", &url.replace("http://", "http://nephio:bad@")],
        work,
    );
    assert!(!out.status.success());

    // Anonymous read can be switched on; pushing still needs credentials.
    server.set_anonymous_read("nephio/porch-test", true);
    let out = git_cli(&["clone", "-q", &url, "wc"], work);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wc = work.join("wc");
    assert_eq!(std::fs::read_to_string(wc.join("README.md")).unwrap(), "");
    // A large (chunked) push.
    let big: String = (0..80_000u64)
        .map(|i| format!("{:x}\n", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect();
    std::fs::write(wc.join("big.txt"), big).unwrap();
    assert!(git_cli(&["add", "big.txt"], &wc).status.success());
    assert!(git_cli(&["commit", "-qm", "big"], &wc).status.success());
    let out = git_cli(&["push", "-q", &url, "HEAD:refs/heads/main"], &wc);
    assert!(!out.status.success(), "anonymous push must fail");
    let out = git_cli(
        &[
            "-c",
            "http.postBuffer=65536",
            "push",
            "-q",
            &with_auth(&url),
            "HEAD:refs/heads/main",
        ],
        &wc,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = String::from_utf8_lossy(&git_cli(&["rev-parse", "HEAD"], &wc).stdout)
        .trim()
        .to_string();
    assert_eq!(
        common::git(
            &server.repo_dir("nephio/porch-test"),
            &["rev-parse", "refs/heads/main"]
        ),
        head
    );

    // Reset restores the initial single-commit state.
    server.reset_repo("nephio/porch-test").await.unwrap();
    let out = git_cli(&["ls-remote", &url], work);
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listing.contains("refs/heads/main") && !listing.contains(&head),
        "{listing}"
    );

    // 300 distinct branch tips: the clone's want list exceeds 1 KiB, so git
    // gzips its upload-pack request body; the server must pass that through.
    let srv_repo = server.repo_dir("nephio/porch-test");
    let mut stream = String::new();
    for i in 0..300 {
        let msg = format!("c{i}");
        let content = format!("v{i}\n");
        stream.push_str(&format!(
            "commit refs/heads/b{i}\ncommitter t <t@t> 1700000000 +0000\ndata {}\n{msg}\nM 644 inline f.txt\ndata {}\n{content}\n",
            msg.len(),
            content.len()
        ));
    }
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(&srv_repo)
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let out = Command::new("git")
        .args([
            "-c",
            "trace2.eventTarget=",
            "clone",
            "-q",
            "--mirror",
            &url,
            "mirror.git",
        ])
        .current_dir(work)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TRACE_CURL", work.join("curl.log"))
        .env("GIT_TRACE_CURL_NO_DATA", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let curl = std::fs::read_to_string(work.join("curl.log")).unwrap();
    assert!(
        curl.contains("Content-Encoding: gzip"),
        "the clone did not use a gzip body"
    );
    let branches = common::git(
        &work.join("mirror.git"),
        &["for-each-ref", "--format=x", "refs/heads"],
    );
    assert_eq!(branches.lines().count(), 301);

    // Stop: the port no longer answers.
    let addr = server.addr();
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_seed_keeps_commit_ids_and_drop_stops() {
    let dir = tempfile::tempdir().unwrap();
    let addr;
    {
        let server = GitServer::start(dir.path(), ServerOptions::default())
            .await
            .unwrap();
        addr = server.addr();
        let url = server
            .seed_from_bundle(
                "nephio/test-blueprints",
                common::bundle_path(),
                RepoOptions {
                    anonymous_read: true,
                    initial_readme: false,
                },
            )
            .await
            .unwrap();
        let out = git_cli(&["ls-remote", &url], dir.path());
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            text.contains("bd4a77f2aa14ece5f8d5180c2e42da1236f44515\trefs/heads/main"),
            "{text}"
        );
        assert!(
            text.contains("67f29546028f0a48c6bbb08614934d0e070cdd3a\trefs/tags/basens/v1"),
            "{text}"
        );
        assert!(!text.contains("refs/remotes/"), "{text}");
        // Unknown repositories are 404s.
        let out = git_cli(
            &["ls-remote", &format!("{}/nope.git", server.url())],
            dir.path(),
        );
        assert!(!out.status.success());
    }
    // Dropped: the listener is gone.
    tokio::task::yield_now().await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
