#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every write against the loopback server, checked ref by ref on the server
//! with the git CLI (upstream's refs, tree layout and annotations).

mod common;

use common::{Fixture, git, package};
use porch_git::{Author, GitRepository, Lifecycle, NewDraft, PackageRevision};
use serde_json::json;

fn find<'a>(revs: &'a [PackageRevision], pkg: &str, ws: &str) -> Option<&'a PackageRevision> {
    revs.iter()
        .find(|r| r.key.package == pkg && r.key.workspace == ws)
}

#[tokio::test]
async fn full_lifecycle_matches_upstream_layout() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("porch-test").await;
    let srv = fx.server.repo_dir("porch-test");
    let repo = GitRepository::open(cfg, fx.cache("pt")).await.unwrap();
    assert!(repo.list().await.unwrap().is_empty());
    let main0 = git(&srv, &["rev-parse", "refs/heads/main"]);

    // --- create a draft (init) ---
    let init = json!({"type": "init", "init": {"description": "sample description"}});
    let draft = repo
        .create_draft(NewDraft {
            package: "basedir/foo".into(),
            workspace: "ws1".into(),
            files: package("foo", &[("README.md", "hello\n")]),
            task: Some(init.clone()),
            user: Some(Author::user("alice")),
        })
        .await
        .unwrap();
    assert_eq!(draft.lifecycle, Lifecycle::Draft);
    assert_eq!(draft.git_ref, "refs/heads/drafts/basedir/foo/ws1");
    assert_eq!(
        git(&srv, &["rev-parse", "refs/heads/drafts/basedir/foo/ws1"]),
        draft.commit
    );
    let raw = git(&srv, &["cat-file", "commit", &draft.commit]);
    assert!(raw.contains(&format!("parent {main0}\n")), "{raw}");
    assert!(raw.contains("author alice <alice> "), "{raw}");
    assert!(
        raw.contains("committer Package Orchestration Service <porch@kpt.dev> "),
        "{raw}"
    );
    let msg = git(&srv, &["log", "-1", "--format=%B", &draft.commit]);
    assert_eq!(
        msg,
        "Creating new empty revision\n\n\nkpt:{\"package\":\"basedir/foo\",\"workspaceName\":\"ws1\",\"revision\":\"0\",\"task\":{\"type\":\"init\",\"init\":{\"description\":\"sample description\"}}}"
    );
    let tree = git(&srv, &["ls-tree", "-r", "--name-only", &draft.commit]);
    assert_eq!(
        tree,
        "README.md\nbasedir/foo/Kptfile\nbasedir/foo/README.md"
    );
    let revs = repo.list().await.unwrap();
    assert_eq!(find(&revs, "basedir/foo", "ws1").unwrap(), &draft);

    // --- replace files (no task: intermediate commit) ---
    let draft = repo
        .update_draft(
            &draft,
            package("foo", &[("cm.yaml", "kind: ConfigMap\n")]),
            None,
            None,
        )
        .await
        .unwrap();
    let msg = git(&srv, &["log", "-1", "--format=%s", &draft.commit]);
    assert_eq!(msg, "Intermediate commit");
    assert_eq!(
        git(&srv, &["ls-tree", "-r", "--name-only", &draft.commit]),
        "README.md\nbasedir/foo/Kptfile\nbasedir/foo/cm.yaml"
    );
    let files = repo.read_files(&draft).await.unwrap();
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        vec!["Kptfile", "cm.yaml"]
    );
    assert_eq!(files["cm.yaml"], "kind: ConfigMap\n");

    // --- propose, reject, propose ---
    let proposed = repo.propose(&draft).await.unwrap();
    assert_eq!(proposed.lifecycle, Lifecycle::Proposed);
    let heads = git(&srv, &["for-each-ref", "--format=%(refname)", "refs/heads"]);
    assert_eq!(
        heads,
        "refs/heads/main\nrefs/heads/proposed/basedir/foo/ws1"
    );
    let back = repo.reject(&proposed).await.unwrap();
    assert_eq!(back.lifecycle, Lifecycle::Draft);
    assert_eq!(
        git(&srv, &["for-each-ref", "--format=%(refname)", "refs/heads"]),
        "refs/heads/drafts/basedir/foo/ws1\nrefs/heads/main"
    );
    let proposed = repo.propose(&back).await.unwrap();
    assert_eq!(
        find(&repo.list().await.unwrap(), "basedir/foo", "ws1")
            .unwrap()
            .lifecycle,
        Lifecycle::Proposed
    );

    // --- approve ---
    let v1 = repo
        .approve(&proposed, Some(&Author::user("bob")))
        .await
        .unwrap();
    assert_eq!(v1.key.revision, 1);
    assert_eq!(v1.git_ref, "refs/tags/basedir/foo/v1");
    let main1 = git(&srv, &["rev-parse", "refs/heads/main"]);
    assert_eq!(main1, v1.commit);
    assert_eq!(
        git(&srv, &["rev-parse", "refs/tags/basedir/foo/v1"]),
        v1.commit
    );
    assert_eq!(
        git(&srv, &["log", "-1", "--format=%P", &v1.commit]),
        format!("{main0} {}", proposed.commit)
    );
    assert_eq!(
        git(&srv, &["log", "-1", "--format=%B", &v1.commit]),
        "Approving package revision basedir/foo/1\n\nkpt:{\"package\":\"basedir/foo\",\"workspaceName\":\"ws1\",\"revision\":\"1\"}"
    );
    assert_eq!(
        git(
            &srv,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", &v1.commit]
        ),
        "bob <bob>|Package Orchestration Service <porch@kpt.dev>"
    );
    assert_eq!(
        git(&srv, &["for-each-ref", "--format=%(refname)"]),
        "refs/heads/main\nrefs/tags/basedir/foo/v1"
    );
    let revs = repo.list().await.unwrap();
    let listed = find(&revs, "basedir/foo", "ws1").unwrap();
    assert_eq!(
        (listed.key.revision, listed.lifecycle),
        (1, Lifecycle::Published)
    );
    assert_eq!(listed.published_by.as_deref(), Some("bob"));
    let main_pr = find(&revs, "basedir/foo", "main").unwrap();
    assert_eq!(main_pr.key.revision, -1);
    assert_eq!(main_pr.git_ref, "refs/heads/main");
    let details = repo.revision_details(listed).await.unwrap();
    assert_eq!(details.tasks, vec![init.clone()]);
    let pd = repo.revision_details(main_pr).await.unwrap();
    assert_eq!(pd.published_by.as_deref(), Some("bob"));

    // --- a second revision via edit, approved as v2 ---
    let edit =
        json!({"type": "edit", "edit": {"sourceRef": {"name": "porch-test.basedir.foo.ws1"}}});
    let d2 = repo
        .create_draft(NewDraft {
            package: "basedir/foo".into(),
            workspace: "ws2".into(),
            files: repo.read_files(listed).await.unwrap(),
            task: Some(edit.clone()),
            user: None,
        })
        .await
        .unwrap();
    assert_eq!(
        git(&srv, &["log", "-1", "--format=%an <%ae>", &d2.commit]),
        "Package Orchestration Service <porch@kpt.dev>"
    );
    let v2 = repo.approve(&d2, None).await.unwrap();
    assert_eq!(v2.key.revision, 2);
    assert_eq!(repo.revision_details(&v2).await.unwrap().tasks, vec![edit]);

    // --- propose-delete and back ---
    let v1 = find(&repo.list().await.unwrap(), "basedir/foo", "ws1")
        .unwrap()
        .clone();
    let dp = repo.propose_delete(&v1).await.unwrap();
    assert_eq!(dp.lifecycle, Lifecycle::DeletionProposed);
    assert_eq!(
        git(
            &srv,
            &["rev-parse", "refs/heads/deletionProposed/basedir/foo/v1"]
        ),
        v1.commit
    );
    assert_eq!(
        find(&repo.list().await.unwrap(), "basedir/foo", "ws1")
            .unwrap()
            .lifecycle,
        Lifecycle::DeletionProposed
    );
    let back = repo.undo_propose_delete(&dp).await.unwrap();
    assert_eq!(back.lifecycle, Lifecycle::Published);
    assert!(!git(&srv, &["for-each-ref", "--format=%(refname)"]).contains("deletionProposed"));

    // --- delete a published revision: refs only, the package stays on main ---
    let dp = repo.propose_delete(&back).await.unwrap();
    repo.delete(&dp, None).await.unwrap();
    assert_eq!(
        git(&srv, &["for-each-ref", "--format=%(refname)"]),
        "refs/heads/main\nrefs/tags/basedir/foo/v2"
    );
    let revs = repo.list().await.unwrap();
    assert!(find(&revs, "basedir/foo", "ws1").is_none());
    assert!(find(&revs, "basedir/foo", "main").is_some());

    // --- placeholder: propose-delete then delete commits the removal ---
    let ph = find(&revs, "basedir/foo", "main").unwrap().clone();
    let ph = repo.propose_delete(&ph).await.unwrap();
    assert_eq!(
        git(
            &srv,
            &["rev-parse", "refs/heads/deletionProposed/basedir/foo/main"]
        ),
        ph.commit
    );
    assert_eq!(
        find(&repo.list().await.unwrap(), "basedir/foo", "main")
            .unwrap()
            .lifecycle,
        Lifecycle::DeletionProposed
    );
    repo.delete(&ph, None).await.unwrap();
    assert_eq!(
        git(&srv, &["log", "-1", "--format=%B", "refs/heads/main"]),
        "Delete basedir/foo"
    );
    assert_eq!(
        git(&srv, &["ls-tree", "-r", "--name-only", "refs/heads/main"]),
        "README.md"
    );
    assert_eq!(
        git(&srv, &["for-each-ref", "--format=%(refname)"]),
        "refs/heads/main\nrefs/tags/basedir/foo/v2"
    );
    let revs = repo.list().await.unwrap();
    assert!(find(&revs, "basedir/foo", "main").is_none());
    assert_eq!(find(&revs, "basedir/foo", "ws2").unwrap().key.revision, 2);

    // --- drafts are deleted by deleting their branch ---
    let d3 = repo
        .create_draft(NewDraft {
            package: "bar".into(),
            workspace: "w".into(),
            files: package("bar", &[]),
            task: None,
            user: None,
        })
        .await
        .unwrap();
    repo.delete(&d3, None).await.unwrap();
    assert!(!git(&srv, &["for-each-ref", "--format=%(refname)"]).contains("drafts/"));
    fx.stop().await;
}

#[tokio::test]
async fn directory_author_override_and_nesting() {
    let fx = Fixture::new().await;
    let mut cfg = fx.repo("dir").await;
    cfg.directory = "/upstream/".into();
    cfg.author = Some("Porch Bot".into());
    cfg.email = Some("bot@example.com".into());
    let srv = fx.server.repo_dir("dir");
    let repo = GitRepository::open(cfg, fx.cache("dir")).await.unwrap();
    let d = repo
        .create_draft(NewDraft {
            package: "foo".into(),
            workspace: "w1".into(),
            files: package("foo", &[]),
            task: None,
            user: Some(Author::user("alice")),
        })
        .await
        .unwrap();
    assert_eq!(d.full_path, "upstream/foo");
    assert_eq!(d.git_ref, "refs/heads/drafts/upstream/foo/w1");
    assert_eq!(
        git(&srv, &["log", "-1", "--format=%an <%ae>", &d.commit]),
        "Porch Bot <bot@example.com>"
    );
    let v1 = repo.approve(&d, None).await.unwrap();
    assert_eq!(
        git(&srv, &["rev-parse", "refs/tags/upstream/foo/v1"]),
        v1.commit
    );
    let revs = repo.list().await.unwrap();
    assert_eq!(
        revs.iter()
            .map(|r| (r.key.package.as_str(), r.key.revision))
            .collect::<Vec<_>>(),
        vec![("foo", -1), ("foo", 1)]
    );

    // Nested packages are refused both ways.
    let inner = repo
        .create_draft(NewDraft {
            package: "foo/inner".into(),
            workspace: "w".into(),
            files: package("inner", &[]),
            task: None,
            user: None,
        })
        .await
        .unwrap_err();
    assert!(
        inner.to_string().contains("nested inside package"),
        "{inner}"
    );
    assert!(
        inner.to_string().contains(&fx.server.repo_url("dir")),
        "{inner}"
    );
    // Paths never escape the package.
    let bad = repo
        .create_draft(NewDraft {
            package: "p".into(),
            workspace: "w".into(),
            files: package("p", &[("../evil", "x")]),
            task: None,
            user: None,
        })
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("invalid resource path"), "{bad}");
    let no_kptfile = repo
        .create_draft(NewDraft {
            package: "p".into(),
            workspace: "w".into(),
            files: Default::default(),
            task: None,
            user: None,
        })
        .await
        .unwrap_err();
    assert!(no_kptfile.to_string().contains("Kptfile"));

    // A second repository on the same URL but another directory sees nothing of it.
    let mut other = common::config(&fx.server.repo_url("dir"));
    other.directory = "elsewhere".into();
    let other = GitRepository::open(other, fx.cache("dir2")).await.unwrap();
    assert!(other.list().await.unwrap().is_empty());
    fx.stop().await;
}

#[tokio::test]
async fn missing_branch_and_create_branch() {
    let fx = Fixture::new().await;
    let url = fx
        .server
        .create_repo("empty", Default::default())
        .await
        .unwrap();
    let err = GitRepository::open(common::config(&url), fx.cache("e1"))
        .await
        .unwrap_err();
    assert!(matches!(err, porch_git::GitError::NotFound { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("branch \"main\" not found in repository"),
        "{err}"
    );
    assert!(err.to_string().contains(&url), "{err}");

    let mut cfg = common::config(&url);
    cfg.branch = "deploy".into();
    cfg.create_branch = true;
    let repo = GitRepository::open(cfg, fx.cache("e2")).await.unwrap();
    let srv = fx.server.repo_dir("empty");
    let head = git(&srv, &["rev-parse", "refs/heads/deploy"]);
    assert_eq!(
        git(&srv, &["log", "-1", "--format=%B", &head]),
        "Initial commit: Creating main branch"
    );
    assert_eq!(
        git(&srv, &["show", &format!("{head}:README.md")]),
        "Created by porch"
    );
    assert_eq!(git(&srv, &["log", "-1", "--format=%P", &head]), "");
    // Placeholders use the branch name as workspace.
    let d = repo
        .create_draft(NewDraft {
            package: "p".into(),
            workspace: "w".into(),
            files: package("p", &[]),
            task: None,
            user: None,
        })
        .await
        .unwrap();
    repo.approve(&d, None).await.unwrap();
    let revs = repo.list().await.unwrap();
    assert!(
        revs.iter()
            .any(|r| r.key.workspace == "deploy" && r.key.revision == -1)
    );
    fx.stop().await;
}
