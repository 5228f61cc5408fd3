#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rpkg init|clone|copy|upgrade` against the in-process fake API.

mod support;

use serde_json::json;
use support::*;

fn created(name: &str) -> serde_json::Value {
    json!({"metadata": {"name": name, "namespace": "ns"}})
}

#[tokio::test]
async fn init_posts_the_task_and_prints_the_server_name() {
    let fake = FakeApi::new();
    fake.on("POST", PR_BASE, 201, created("git.init-package.init-1"));
    let (code, out, err) = fake
        .run(
            &[
                "rpkg",
                "init",
                "--namespace=ns",
                "--description",
                "Test Package Description",
                "--keywords=test,package",
                "--site",
                "http://kpt.dev/init-package",
                "--repository=git",
                "--workspace=init-1",
                "init-package",
            ],
            "",
        )
        .await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "git.init-package.init-1 created\n", "")
    );
    assert_eq!(
        fake.body_of("POST", PR_BASE),
        json!({
            "apiVersion": "porch.kpt.dev/v1alpha1", "kind": "PackageRevision",
            "metadata": {"namespace": "ns"},
            "spec": {"packageName": "init-package", "workspaceName": "init-1", "repository": "git",
                     "tasks": [{"type": "init", "init": {"description": "Test Package Description", "keywords": ["test", "package"], "site": "http://kpt.dev/init-package"}}]}
        })
    );
}

#[tokio::test]
async fn init_errors() {
    let fake = FakeApi::new();
    let (code, _, err) = fake
        .run(&["rpkg", "init", "--repository=git", "--workspace=w"], "")
        .await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: PACKAGE_NAME is a required positional argument \n"
        )
    );
    let (_, _, err) = fake.run(&["rpkg", "init", "p", "--workspace=w"], "").await;
    assert_eq!(
        err,
        "Error: --repository is required to specify target repository \n"
    );
    let (_, _, err) = fake
        .run(&["rpkg", "init", "p", "--repository=git"], "")
        .await;
    assert_eq!(
        err,
        "Error: --workspace is required to specify workspace name \n"
    );
    fake.fail(
        "POST",
        PR_BASE,
        500,
        "InternalError",
        "Internal error occurred: package \"init-package\" already exists in repository \"git\"",
    );
    let (code, out, err) = fake
        .run(
            &[
                "rpkg",
                "init",
                "-n",
                "ns",
                "--repository=git",
                "--workspace=init-2",
                "init-package",
            ],
            "",
        )
        .await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "Error: Internal error occurred: package \"init-package\" already exists in repository \"git\" \n"
    );
    assert_eq!(
        fake.body_of("POST", PR_BASE)["spec"]["tasks"][0]["init"],
        json!({"description": "sample description"})
    );
}

#[tokio::test]
async fn clone_from_a_registered_revision() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        PR_BASE,
        200,
        list("PackageRevisionList", "porch.kpt.dev/v1alpha1", vec![]),
    );
    fake.on("POST", PR_BASE, 201, created("git.basens-clone.v1"));
    let (code, out, _) = fake
        .run(
            &[
                "rpkg",
                "clone",
                "-n",
                "ns",
                "test-blueprints.basens.v1",
                "basens-clone",
                "--repository=git",
            ],
            "",
        )
        .await;
    assert_eq!((code, out.as_str()), (0, "git.basens-clone.v1 created\n"));
    assert_eq!(
        fake.body_of("POST", PR_BASE)["spec"],
        json!({"packageName": "basens-clone", "workspaceName": "v1", "repository": "git",
        "tasks": [{"type": "clone", "clone": {"upstreamRef": {"upstreamRef": {"name": "test-blueprints.basens.v1"}}}}]})
    );
}

#[tokio::test]
async fn clone_from_git_urls() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        PR_BASE,
        200,
        list("PackageRevisionList", "porch.kpt.dev/v1alpha1", vec![]),
    );
    fake.on("POST", PR_BASE, 201, created("git.c.ws"));
    let (code, _, err) = fake
        .run(
            &[
                "rpkg",
                "clone",
                "-n",
                "ns",
                "http://h/nephio/test-blueprints.git/basens@basens/v1",
                "c",
                "--repository=git",
                "--workspace=ws",
                "--secret-ref=s",
            ],
            "",
        )
        .await;
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        fake.body_of("POST", PR_BASE)["spec"]["tasks"][0]["clone"]["upstreamRef"],
        json!({"type": "git",
        "git": {"repo": "http://h/nephio/test-blueprints.git", "ref": "basens/v1", "directory": "/basens", "secretRef": {"name": "s"}}})
    );

    let plain = FakeApi::new();
    plain.on(
        "GET",
        PR_BASE,
        200,
        list("PackageRevisionList", "porch.kpt.dev/v1alpha1", vec![]),
    );
    plain.on("POST", PR_BASE, 201, created("git.c.v1"));
    let (code, _, _) = plain
        .run(
            &[
                "rpkg",
                "clone",
                "-n",
                "ns",
                "http://h/repo",
                "c",
                "--repository=git",
                "--ref",
                "v2",
            ],
            "",
        )
        .await;
    assert_eq!(code, 0);
    assert_eq!(
        plain.body_of("POST", PR_BASE)["spec"]["tasks"][0]["clone"]["upstreamRef"],
        json!({"type": "git", "git": {"repo": "http://h/repo", "ref": "v2", "directory": "/"}})
    );
}

#[tokio::test]
async fn clone_errors() {
    let fake = FakeApi::new();
    let (_, _, err) = fake.run(&["rpkg", "clone", "only-one"], "").await;
    assert_eq!(
        err,
        "Error: SOURCE_PACKAGE and NAME are required positional arguments; 1 provided \n"
    );
    let (_, _, err) = fake.run(&["rpkg", "clone", "a", "b"], "").await;
    assert_eq!(
        err,
        "Error: --repository is required to specify downstream repository \n"
    );
    let (_, _, err) = fake
        .run(
            &[
                "rpkg",
                "clone",
                "http://h/r.git/x@main",
                "b",
                "--repository=git",
                "--directory=/y",
            ],
            "",
        )
        .await;
    assert_eq!(
        err,
        "Error: directory /y specified by --directory contradicts directory /x specified by SOURCE_PACKAGE \n"
    );
    let (_, _, err) = fake
        .run(
            &[
                "rpkg",
                "clone",
                "http://h/r.git/x@main",
                "b",
                "--repository=git",
                "--ref=dev",
            ],
            "",
        )
        .await;
    assert_eq!(
        err,
        "Error: ref dev specified by --ref contradicts ref main specified by SOURCE_PACKAGE \n"
    );
    assert!(fake.requests().is_empty());
    fake.on(
        "GET",
        PR_BASE,
        200,
        list(
            "PackageRevisionList",
            "porch.kpt.dev/v1alpha1",
            vec![pr("git.b.v1", "b", "v1", 1, "Published")],
        ),
    );
    let (code, _, err) = fake
        .run(
            &[
                "rpkg",
                "clone",
                "-n",
                "ns",
                "up.a.v1",
                "b",
                "--repository=git",
            ],
            "",
        )
        .await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Error: `clone` cannot create a new revision for package \"b\" that already exists in repo \"git\"; make subsequent revisions using `copy` \n"
    );
}

#[tokio::test]
async fn copy_uses_the_source_package_and_repository() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        &format!("{PR_BASE}/git.p.v1"),
        200,
        pr("git.p.v1", "p", "v1", 1, "Published"),
    );
    fake.on("POST", PR_BASE, 201, created("git.p.v2"));
    let (code, out, _) = fake
        .run(
            &["rpkg", "edit", "-n", "ns", "git.p.v1", "--workspace=v2"],
            "",
        )
        .await;
    assert_eq!((code, out.as_str()), (0, "git.p.v2 created\n"));
    assert_eq!(
        fake.body_of("POST", PR_BASE)["spec"],
        json!({"packageName": "p", "workspaceName": "v2", "repository": "git",
        "tasks": [{"type": "edit", "edit": {"sourceRef": {"name": "git.p.v1"}}}]})
    );
    let (_, _, err) = fake
        .run(&["rpkg", "copy", "a", "b", "--workspace=w"], "")
        .await;
    assert_eq!(
        err,
        "Error: too many arguments; SOURCE_PACKAGE is the only accepted positional arguments \n"
    );
    let (_, _, err) = fake.run(&["rpkg", "copy", "a"], "").await;
    assert_eq!(
        err,
        "Error: --workspace is required to specify workspace name \n"
    );
    let (_, _, err) = fake.run(&["rpkg", "copy"], "").await;
    assert_eq!(
        err,
        "Error: SOURCE_PACKAGE is a required positional argument \n"
    );
}

fn with_clone(mut v: serde_json::Value, upstream: &str) -> serde_json::Value {
    v["spec"]["tasks"] =
        json!([{"type": "clone", "clone": {"upstreamRef": {"upstreamRef": {"name": upstream}}}}]);
    v["status"]["upstreamLock"] = json!({"type": "git", "git": {"repo": "http://h/up.git", "ref": "basens/v1", "commit": "c1"}});
    v
}

#[tokio::test]
async fn upgrade_creates_an_upgrade_task() {
    let fake = FakeApi::new();
    let mut up1 = pr("up.basens.v1", "basens", "v1", 1, "Published");
    up1["spec"]["repository"] = json!("up");
    let mut up2 = pr("up.basens.v2", "basens", "v2", 2, "Published");
    up2["spec"]["repository"] = json!("up");
    let down = with_clone(
        pr("git.app.v1", "app", "v1", 1, "Published"),
        "up.basens.v1",
    );
    fake.on(
        "GET",
        PR_BASE,
        200,
        list(
            "PackageRevisionList",
            "porch.kpt.dev/v1alpha1",
            vec![up1, up2, down],
        ),
    );
    fake.on("POST", PR_BASE, 201, created("git.app.v2"));
    let (code, out, err) = fake
        .run(
            &[
                "rpkg",
                "upgrade",
                "-n",
                "ns",
                "git.app.v1",
                "--workspace=v2",
            ],
            "",
        )
        .await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "git.app.v1 upgraded to git.app.v2\n", "")
    );
    assert_eq!(
        fake.body_of("POST", PR_BASE)["spec"]["tasks"][0],
        json!({"type": "upgrade", "upgrade": {
        "oldUpstreamRef": {"name": "up.basens.v1"}, "newUpstreamRef": {"name": "up.basens.v2"},
        "localPackageRevisionRef": {"name": "git.app.v1"}, "strategy": "resource-merge"}})
    );

    let (code, _, err) = fake
        .run(
            &[
                "rpkg",
                "upgrade",
                "-n",
                "ns",
                "git.none.v1",
                "--workspace=v2",
            ],
            "",
        )
        .await;
    assert_eq!(
        (code, err.as_str()),
        (1, "Error: could not find package revision git.none.v1 \n")
    );
}

#[tokio::test]
async fn upgrade_discover_upstream_table() {
    let fake = FakeApi::new();
    let mut up2 = pr("up.basens.v2", "basens", "v2", 2, "Published");
    up2["spec"]["repository"] = json!("up");
    let down = with_clone(
        pr("git.app.v1", "app", "v1", 1, "Published"),
        "up.basens.v1",
    );
    fake.on(
        "GET",
        PR_BASE,
        200,
        list(
            "PackageRevisionList",
            "porch.kpt.dev/v1alpha1",
            vec![up2, down],
        ),
    );
    fake.on("GET", REPO_BASE, 200, list("RepositoryList", "config.porch.kpt.dev/v1alpha1",
        vec![json!({"metadata": {"name": "up"}, "spec": {"type": "git", "git": {"repo": "http://h/up"}}})]));
    let (code, out, _) = fake
        .run(
            &[
                "rpkg",
                "upgrade",
                "-n",
                "ns",
                "--discover=upstream",
                "git.app.v1",
            ],
            "",
        )
        .await;
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "PACKAGE REVISION   UPSTREAM REPOSITORY   UPSTREAM UPDATES\ngit.app.v1         up                    v2\n"
    );
    let (_, out, _) = fake
        .run(
            &["rpkg", "upgrade", "-n", "ns", "--discover=downstream"],
            "",
        )
        .await;
    assert_eq!(
        out,
        "PACKAGE REVISION   DOWNSTREAM PACKAGE   DOWNSTREAM UPDATE\nup.basens.v2       git.app.v1           v1->v2\n"
    );
    let (code, _, err) = fake
        .run(&["rpkg", "upgrade", "--discover=sideways"], "")
        .await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: argument for 'discover' must be one of 'upstream' or 'downstream' \n"
        )
    );
}
