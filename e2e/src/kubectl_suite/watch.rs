//! Watching through selectors, as a table and by name.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::Suite;

/// Reads lines of a running `kubectl get -w` until one satisfies `want`.
async fn read_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    seen: &mut Vec<String>,
    want: impl Fn(&str) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("watch output so far: {seen:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("watch ended; output so far: {seen:?}"));
        let done = want(&line);
        seen.push(line);
        if done {
            return;
        }
    }
}

pub(super) async fn watch_sees_changes_through_selectors(s: &Suite) {
    // A table watch narrowed to package `watched` by a field selector.
    let mut child =
        s.k.command(&[
            "get",
            "packagerevisions",
            "-w",
            "--output-watch-events",
            "--field-selector",
            "spec.packageName=watched",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    // Nothing matches yet: kubectl prints nothing until the first event, so give the watch a
    // moment to be established before writing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.create_draft("unwatched", "ws").await;
    let name = s.create_draft("watched", "ws").await;
    read_until(&mut lines, &mut seen, |l| {
        l.contains("blueprints.watched.ws")
    })
    .await;
    s.publish(&name).await;
    read_until(&mut lines, &mut seen, |l| {
        l.contains("blueprints.watched.ws") && l.contains("Published")
    })
    .await;
    child.start_kill().unwrap();
    let _ = child.wait().await;
    s.await_placeholder("watched").await;

    let rows: Vec<Vec<&str>> = seen
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        vec![
            "EVENT",
            "NAME",
            "PACKAGE",
            "WORKSPACENAME",
            "REVISION",
            "LATEST",
            "LIFECYCLE",
            "REPOSITORY"
        ],
        "{seen:?}"
    );
    assert_eq!(
        rows[1],
        vec![
            "ADDED",
            "blueprints.watched.ws",
            "watched",
            "ws",
            "0",
            "false",
            "Draft",
            "blueprints"
        ]
    );
    assert_eq!(
        rows.last().unwrap(),
        &vec![
            "MODIFIED",
            "blueprints.watched.ws",
            "watched",
            "ws",
            "1",
            "true",
            "Published",
            "blueprints"
        ]
    );
    assert!(
        seen.iter().all(|l| !l.contains("unwatched")),
        "the field selector let through: {seen:?}"
    );
    assert!(
        rows[1..]
            .iter()
            .all(|r| r[0] == "ADDED" || r[0] == "MODIFIED")
    );

    // A label-selected watch as JSON: the initial state is replayed for a fresh watch.
    let mut child =
        s.k.command(&[
            "get",
            "packagerevisions",
            "-w",
            "-o",
            "name",
            "-l",
            "kpt.dev/latest-revision=true",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    read_until(&mut lines, &mut seen, |l| {
        l.ends_with("blueprints.watched.ws")
    })
    .await;
    assert_eq!(
        seen,
        vec![
            "packagerevision.porch.kpt.dev/blueprints.basens.v2",
            "packagerevision.porch.kpt.dev/blueprints.watched.ws",
        ]
    );
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
