#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Batched discovery (`GitRepository::discover_details`) answers exactly what the
//! per-revision functions (`revision_details`, `read_files`) answer: on a repository
//! written through the adapter (drafts, proposed, published, clone/edit/upgrade
//! tasks, commits of the same second), on one with hand-made history (distinct
//! times, a legacy annotation, clock skew, a tie that matters), and on the upstream
//! test-blueprints repository, which has no annotations at all.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Fixture, package};
use porch_git::testserver::RepoOptions;
use porch_git::{Author, GitRepository, Lifecycle, NewDraft, PackageRevision, RepoConfig};
use serde_json::json;

/// Compares the batch with the per-revision answers, twice (cold and warm memo).
async fn assert_same_as_per_revision(repo: &GitRepository) -> Vec<PackageRevision> {
    let revs = repo.list().await.unwrap();
    assert!(!revs.is_empty());
    let batched = repo.discover_details(&revs).await.unwrap();
    assert_eq!(batched.len(), revs.len());
    for (rev, got) in revs.iter().zip(&batched) {
        let want = repo.revision_details(rev).await.unwrap();
        assert_eq!(got.details, want, "details of {rev:?}");
        let files = repo.read_files(rev).await.unwrap();
        assert_eq!(
            got.kptfile.as_ref(),
            files.get("Kptfile"),
            "Kptfile of {rev:?}"
        );
    }
    let again = repo.discover_details(&revs).await.unwrap();
    assert_eq!(again, batched, "a warm memo answers the same");
    // In another order (grouping by start commit must not leak between revisions).
    let reversed: Vec<PackageRevision> = revs.iter().rev().cloned().collect();
    let mut back = repo.discover_details(&reversed).await.unwrap();
    back.reverse();
    assert_eq!(back, batched, "the order of the request does not matter");
    revs
}

fn find<'a>(revs: &'a [PackageRevision], pkg: &str, ws: &str) -> &'a PackageRevision {
    revs.iter()
        .find(|r| r.key.package == pkg && r.key.workspace == ws)
        .unwrap_or_else(|| panic!("no {pkg}/{ws} in {revs:#?}"))
}

#[tokio::test]
async fn same_answers_on_a_repository_written_by_the_adapter() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("lifecycle").await;
    let repo = GitRepository::open(cfg, fx.cache("lc")).await.unwrap();
    let alice = Author::user("alice");
    let init = json!({"type": "init", "init": {"description": "d"}});
    let render = json!({"type": "render"});

    // basedir/foo v1: init, render, proposed, approved.
    let d = repo
        .create_draft(NewDraft {
            package: "basedir/foo".into(),
            workspace: "ws1".into(),
            files: package("foo", &[("a.yaml", "a: 1\n")]),
            task: Some(init.clone()),
            user: Some(alice.clone()),
        })
        .await
        .unwrap();
    let d = repo
        .update_draft(
            &d,
            package("foo", &[("a.yaml", "a: 2\n")]),
            Some(render.clone()),
            None,
        )
        .await
        .unwrap();
    let d = repo.propose(&d).await.unwrap();
    let v1 = repo.approve(&d, Some(&alice)).await.unwrap();
    // basedir/foo v2: edit of v1, approved by bob.
    let edit =
        json!({"type": "edit", "edit": {"sourceRef": {"name": "lifecycle.basedir.foo.ws1"}}});
    let d = repo
        .create_draft(NewDraft {
            package: "basedir/foo".into(),
            workspace: "ws2".into(),
            files: package("foo", &[("a.yaml", "a: 3\n")]),
            task: Some(edit.clone()),
            user: None,
        })
        .await
        .unwrap();
    repo.approve(&d, Some(&Author::user("bob"))).await.unwrap();
    // bar: a clone, proposed.
    let clone = json!({"type": "clone", "clone": {"upstreamRef": {"upstreamRef": {"name": "x"}}}});
    let d = repo
        .create_draft(NewDraft {
            package: "bar".into(),
            workspace: "ws1".into(),
            files: package("bar", &[]),
            task: Some(clone.clone()),
            user: None,
        })
        .await
        .unwrap();
    repo.propose(&d).await.unwrap();
    // baz: an upgrade draft; qux: a draft without a task.
    let upgrade = json!({"type": "upgrade", "upgrade": {"strategy": "resource-merge"}});
    repo.create_draft(NewDraft {
        package: "baz".into(),
        workspace: "up".into(),
        files: package("baz", &[]),
        task: Some(upgrade.clone()),
        user: None,
    })
    .await
    .unwrap();
    repo.create_draft(NewDraft {
        package: "qux".into(),
        workspace: "plain".into(),
        files: package("qux", &[]),
        task: None,
        user: None,
    })
    .await
    .unwrap();
    repo.refresh().await.unwrap();

    let revs = assert_same_as_per_revision(&repo).await;
    // And the answers are the meaningful ones, not merely equal.
    let batched = repo.discover_details(&revs).await.unwrap();
    let got = |pkg: &str, ws: &str| {
        let i = revs
            .iter()
            .position(|r| r.key.package == pkg && r.key.workspace == ws)
            .unwrap();
        (&revs[i], &batched[i])
    };
    let (r, d) = got("basedir/foo", "ws1");
    assert_eq!(r.lifecycle, Lifecycle::Published);
    assert_eq!(r.commit, v1.commit);
    assert_eq!(d.details.tasks, vec![init.clone()]);
    assert!(d.kptfile.as_deref().unwrap().contains("name: foo"));
    assert_eq!(got("basedir/foo", "ws2").1.details.tasks, vec![edit]);
    assert_eq!(got("bar", "ws1").0.lifecycle, Lifecycle::Proposed);
    assert_eq!(got("bar", "ws1").1.details.tasks, vec![clone]);
    assert_eq!(got("baz", "up").1.details.tasks, vec![upgrade]);
    assert!(got("qux", "plain").1.details.tasks.is_empty());
    let (r, d) = got("basedir/foo", "main");
    assert_eq!(r.key.revision, -1);
    assert_eq!(d.details.published_by.as_deref(), Some("bob"));
    assert!(d.details.published_at.is_some());
    fx.stop().await;
}

/// One commit of a fast-import script.
struct Commit<'a> {
    r#ref: &'a str,
    mark: usize,
    time: i64,
    author: &'a str,
    message: String,
    from: Option<usize>,
    merge: Option<usize>,
    files: Vec<(&'a str, &'a str)>,
}

fn annotation(pkg: &str, ws: &str, revision: &str, task: Option<serde_json::Value>) -> String {
    let mut a = json!({"package": pkg, "revision": revision});
    if !ws.is_empty() {
        a["workspaceName"] = json!(ws);
    }
    if let Some(t) = task {
        a["task"] = t;
    }
    format!("Change\n\nkpt:{a}\n")
}

fn kptfile(name: &str) -> String {
    format!("apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {name}\n")
}

fn fast_import(dir: &Path, commits: &[Commit<'_>], tags: &[(&str, usize)]) {
    let mut script = String::new();
    for c in commits {
        script.push_str(&format!(
            "commit {}\nmark :{}\nauthor {} <{}> {} +0000\ncommitter Porch <porch@kpt.dev> {} +0000\ndata {}\n{}\n",
            c.r#ref,
            c.mark,
            c.author,
            c.author,
            c.time,
            c.time,
            c.message.len(),
            c.message
        ));
        if let Some(f) = c.from {
            script.push_str(&format!("from :{f}\n"));
        }
        if let Some(m) = c.merge {
            script.push_str(&format!("merge :{m}\n"));
        }
        for (path, content) in &c.files {
            script.push_str(&format!(
                "M 644 inline {path}\ndata {}\n{content}\n",
                content.len()
            ));
        }
        script.push('\n');
    }
    for (tag, mark) in tags {
        script.push_str(&format!("reset refs/tags/{tag}\nfrom :{mark}\n\n"));
    }
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(["fast-import", "--quiet", "--force"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import failed");
}

#[tokio::test]
async fn same_answers_on_hand_made_history() {
    let fx = Fixture::new().await;
    let url = fx
        .server
        .create_repo(
            "made",
            RepoOptions {
                anonymous_read: true,
                initial_readme: false,
            },
        )
        .await
        .unwrap();
    let init = |d: &str| Some(json!({"type": "init", "init": {"description": d}}));
    let edit = Some(json!({"type": "edit"}));
    let clone = Some(json!({"type": "clone"}));
    let upgrade = Some(json!({"type": "upgrade"}));
    let render = Some(json!({"type": "render"}));
    let (k1, k2, k3, k4, k5, k6, kl) = (
        kptfile("p1"),
        kptfile("p2"),
        kptfile("p3"),
        kptfile("p4"),
        kptfile("p5"),
        kptfile("p6"),
        kptfile("legacy"),
    );
    let main = "refs/heads/main";
    let commits = vec![
        Commit {
            r#ref: main,
            mark: 1,
            time: 1000,
            author: "root",
            message: "Initial\n".into(),
            from: None,
            merge: None,
            files: vec![("README.md", "hi\n")],
        },
        // p1 v1: init then render on a draft, approved by a merge.
        Commit {
            r#ref: "refs/heads/drafts/p1/ws1",
            mark: 2,
            time: 1010,
            author: "ann",
            message: annotation("p1", "ws1", "0", init("one")),
            from: Some(1),
            merge: None,
            files: vec![("p1/Kptfile", k1.as_str())],
        },
        Commit {
            r#ref: "refs/heads/drafts/p1/ws1",
            mark: 3,
            time: 1020,
            author: "ann",
            message: annotation("p1", "ws1", "0", render.clone()),
            from: Some(2),
            merge: None,
            files: vec![("p1/a.yaml", "a: 1\n")],
        },
        Commit {
            r#ref: main,
            mark: 4,
            time: 1030,
            author: "approver1",
            message: annotation("p1", "ws1", "1", None),
            from: Some(1),
            merge: Some(3),
            files: vec![("p1/Kptfile", k1.as_str()), ("p1/a.yaml", "a: 1\n")],
        },
        // p1 v2: edit, approved; then a render of the same second as the approval.
        Commit {
            r#ref: "refs/heads/drafts/p1/ws2",
            mark: 5,
            time: 1040,
            author: "ann",
            message: annotation("p1", "ws2", "0", edit.clone()),
            from: Some(4),
            merge: None,
            files: vec![("p1/a.yaml", "a: 2\n")],
        },
        Commit {
            r#ref: main,
            mark: 6,
            time: 1050,
            author: "approver2",
            message: annotation("p1", "ws2", "2", None),
            from: Some(4),
            merge: Some(5),
            files: vec![("p1/a.yaml", "a: 2\n")],
        },
        // A legacy annotation (no workspaceName, revision = workspace), tagged.
        Commit {
            r#ref: main,
            mark: 7,
            time: 1060,
            author: "old",
            message: annotation("legacy", "", "v1", init("legacy")),
            from: Some(6),
            merge: None,
            files: vec![("legacy/Kptfile", kl.as_str())],
        },
        // p2: clone, proposed; p3: upgrade, draft.
        Commit {
            r#ref: "refs/heads/proposed/p2/c",
            mark: 8,
            time: 1070,
            author: "cat",
            message: annotation("p2", "c", "0", clone.clone()),
            from: Some(7),
            merge: None,
            files: vec![("p2/Kptfile", k2.as_str())],
        },
        Commit {
            r#ref: "refs/heads/drafts/p3/u",
            mark: 9,
            time: 1080,
            author: "cat",
            message: annotation("p3", "u", "0", upgrade.clone()),
            from: Some(7),
            merge: None,
            files: vec![("p3/Kptfile", k3.as_str())],
        },
        // p4: two first tasks of one workspace in the same second (the walk's queue decides).
        Commit {
            r#ref: "refs/heads/drafts/p4/t",
            mark: 10,
            time: 1090,
            author: "dan",
            message: annotation("p4", "t", "0", edit.clone()),
            from: Some(7),
            merge: None,
            files: vec![("p4/Kptfile", k4.as_str())],
        },
        Commit {
            r#ref: "refs/heads/drafts/p4/t",
            mark: 11,
            time: 1090,
            author: "dan",
            message: annotation("p4", "t", "0", upgrade.clone()),
            from: Some(10),
            merge: None,
            files: vec![("p4/b.yaml", "b: 1\n")],
        },
        // p5: a draft whose second commit is older than its parent (clock skew).
        Commit {
            r#ref: "refs/heads/drafts/p5/s",
            mark: 12,
            time: 1100,
            author: "eve",
            message: annotation("p5", "s", "0", edit.clone()),
            from: Some(7),
            merge: None,
            files: vec![("p5/Kptfile", k5.as_str())],
        },
        Commit {
            r#ref: "refs/heads/drafts/p5/s",
            mark: 13,
            time: 900,
            author: "eve",
            message: annotation("p5", "s", "0", init("skew")),
            from: Some(12),
            merge: None,
            files: vec![("p5/c.yaml", "c: 1\n")],
        },
        // p6 on main: two commits of the same second by different authors (placeholder tie),
        // then an unannotated commit on top.
        Commit {
            r#ref: main,
            mark: 14,
            time: 1110,
            author: "fay",
            message: annotation("p6", "w", "1", init("six")),
            from: Some(7),
            merge: None,
            files: vec![("p6/Kptfile", k6.as_str())],
        },
        Commit {
            r#ref: main,
            mark: 15,
            time: 1110,
            author: "gus",
            message: annotation("p6", "w", "1", None),
            from: Some(14),
            merge: None,
            files: vec![("p6/d.yaml", "d: 1\n")],
        },
        Commit {
            r#ref: main,
            mark: 16,
            time: 1120,
            author: "hal",
            message: "Unrelated\n".into(),
            from: Some(15),
            merge: None,
            files: vec![("README.md", "hello\n")],
        },
    ];
    fast_import(
        &fx.server.repo_dir("made"),
        &commits,
        &[("p1/v1", 4), ("p1/v2", 6), ("legacy/v1", 7), ("p6/v1", 15)],
    );
    // Approval deletes the draft branches.
    let dir = fx.server.repo_dir("made");
    for r in ["refs/heads/drafts/p1/ws1", "refs/heads/drafts/p1/ws2"] {
        common::git(&dir, &["update-ref", "-d", r]);
    }
    let repo = GitRepository::open(RepoConfig::new(&url), fx.cache("made"))
        .await
        .unwrap();
    let revs = assert_same_as_per_revision(&repo).await;
    let batched = repo.discover_details(&revs).await.unwrap();
    let at = |pkg: &str, ws: &str| {
        let r = find(&revs, pkg, ws);
        &batched[revs.iter().position(|x| x == r).unwrap()]
    };
    assert_eq!(at("p1", "ws1").details.tasks, vec![init("one").unwrap()]);
    assert_eq!(at("p1", "ws2").details.tasks, vec![json!({"type": "edit"})]);
    assert_eq!(
        at("p1", "main").details.published_by.as_deref(),
        Some("approver2")
    );
    assert_eq!(at("p1", "main").details.published_at, Some(1050));
    assert_eq!(
        at("legacy", "v1").details.tasks,
        vec![init("legacy").unwrap()]
    );
    assert_eq!(at("p2", "c").details.tasks, vec![json!({"type": "clone"})]);
    assert_eq!(
        at("p3", "u").details.tasks,
        vec![json!({"type": "upgrade"})]
    );
    assert_eq!(at("p5", "s").details.tasks, vec![init("skew").unwrap()]);
    assert_eq!(at("p6", "w").details.tasks, vec![init("six").unwrap()]);
    assert!(
        at("p1", "ws1")
            .kptfile
            .as_deref()
            .unwrap()
            .contains("name: p1")
    );
    fx.stop().await;
}

#[tokio::test]
async fn same_answers_on_a_repository_without_annotations() {
    let fx = Fixture::new().await;
    let url = fx
        .server
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
    let repo = GitRepository::open(RepoConfig::new(&url), fx.cache("tbp"))
        .await
        .unwrap();
    let revs = assert_same_as_per_revision(&repo).await;
    assert_eq!(revs.len(), 16);
    let batched = repo.discover_details(&revs).await.unwrap();
    assert!(batched.iter().all(|d| d.details.tasks.is_empty()));
    assert!(batched.iter().all(|d| d.kptfile.is_some()));
    fx.stop().await;
}

#[tokio::test]
async fn a_bad_commit_id_is_a_clear_error() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("bad").await;
    let repo = GitRepository::open(cfg, fx.cache("bad")).await.unwrap();
    repo.create_draft(NewDraft {
        package: "p".into(),
        workspace: "w".into(),
        files: package("p", &[]),
        task: None,
        user: None,
    })
    .await
    .unwrap();
    let mut revs = repo.list().await.unwrap();
    revs[0].commit = "not-hex".into();
    let err = repo.discover_details(&revs).await.unwrap_err().to_string();
    assert!(err.contains("invalid commit id \"not-hex\""), "{err}");
    assert!(repo.discover_details(&[]).await.unwrap().is_empty());
    fx.stop().await;
}
