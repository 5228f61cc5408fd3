#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rpkg propose|approve|reject|propose-delete|del` against the in-process fake API.

mod support;

use serde_json::json;
use support::*;

const NAME: &str = "git.lifecycle-package.lifecycle";

fn item() -> String {
    format!("{PR_BASE}/{NAME}")
}

#[tokio::test]
async fn propose_updates_a_draft() {
    let fake = FakeApi::new();
    fake.on(
        "GET",
        &item(),
        200,
        pr(NAME, "lifecycle-package", "lifecycle", 0, "Draft"),
    );
    fake.on("PUT", &item(), 200, json!({}));
    let (code, out, err) = fake
        .run(&["rpkg", "propose", "--namespace=ns", NAME], "")
        .await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "git.lifecycle-package.lifecycle proposed\n", "")
    );
    let body = fake.body_of("PUT", &item());
    assert_eq!(body["spec"]["lifecycle"], "Proposed");
    assert_eq!(body["metadata"]["resourceVersion"], "abc");
}

#[tokio::test]
async fn propose_already_proposed_and_readiness() {
    let fake = FakeApi::new();
    fake.on("GET", &item(), 200, pr(NAME, "p", "w", 0, "Proposed"));
    let (code, out, err) = fake.run(&["rpkg", "propose", "-n", "ns", NAME], "").await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            0,
            "",
            "git.lifecycle-package.lifecycle is already proposed\n"
        )
    );

    let gated = FakeApi::new();
    let mut p = pr(NAME, "p", "w", 0, "Draft");
    p["spec"]["readinessGates"] = json!([{"conditionType": "nephio.org.Specializer.specialize"}]);
    p["status"]["conditions"] =
        json!([{"type": "nephio.org.Specializer.specialize", "status": "False"}]);
    gated.on("GET", &item(), 200, p);
    let (code, _, err) = gated.run(&["rpkg", "propose", "-n", "ns", NAME], "").await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "{NAME} failed (readiness conditions not met)\nError: errors:\n  readiness conditions not met \n"
        )
    );
    let (code, _, err) = gated.run(&["rpkg", "approve", "-n", "ns", NAME], "").await;
    assert_eq!(code, 1);
    assert!(err.contains("readiness conditions not met"));
    assert!(gated.request_lines().iter().all(|l| l.starts_with("GET")));
}

#[tokio::test]
async fn approve_uses_the_approval_subresource() {
    let fake = FakeApi::new();
    fake.on("GET", &item(), 200, pr(NAME, "p", "w", 0, "Proposed"));
    fake.on("PUT", &format!("{}/approval", item()), 200, json!({}));
    let (code, out, _) = fake.run(&["rpkg", "approve", "-n", "ns", NAME], "").await;
    assert_eq!(
        (code, out.as_str()),
        (0, "git.lifecycle-package.lifecycle approved\n")
    );
    assert_eq!(
        fake.body_of("PUT", &format!("{}/approval", item()))["spec"]["lifecycle"],
        "Published"
    );

    let draft = FakeApi::new();
    draft.on("GET", &item(), 200, pr(NAME, "p", "w", 0, "Draft"));
    let (code, _, err) = draft.run(&["rpkg", "approve", "-n", "ns", NAME], "").await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "{NAME} failed (cannot change approval from Draft to Published)\nError: errors:\n  cannot change approval from Draft to Published \n"
        )
    );
}

#[tokio::test]
async fn approve_retries_on_conflict() {
    let fake = FakeApi::new();
    fake.on("GET", &item(), 200, pr(NAME, "p", "w", 0, "Proposed"));
    let approval = format!("{}/approval", item());
    fake.fail(
        "PUT",
        &approval,
        409,
        "Conflict",
        "the object has been modified",
    );
    fake.on("PUT", &approval, 200, json!({}));
    let (code, out, _) = fake.run(&["rpkg", "approve", "-n", "ns", NAME], "").await;
    assert_eq!(
        (code, out.as_str()),
        (0, "git.lifecycle-package.lifecycle approved\n")
    );
    assert_eq!(
        fake.request_lines()
            .iter()
            .filter(|l| l.starts_with("GET"))
            .count(),
        2
    );
}

#[tokio::test]
async fn reject_from_proposed_and_deletion_proposed() {
    let fake = FakeApi::new();
    fake.on("GET", &item(), 200, pr(NAME, "p", "w", 0, "Proposed"));
    fake.on("PUT", &format!("{}/approval", item()), 200, json!({}));
    let (code, out, _) = fake.run(&["rpkg", "reject", "-n", "ns", NAME], "").await;
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "git.lifecycle-package.lifecycle no longer proposed for approval\n"
        )
    );
    assert_eq!(
        fake.body_of("PUT", &format!("{}/approval", item()))["spec"]["lifecycle"],
        "Draft"
    );

    let dp = FakeApi::new();
    dp.on(
        "GET",
        &item(),
        200,
        pr(NAME, "p", "w", 1, "DeletionProposed"),
    );
    dp.on("PUT", &item(), 200, json!({}));
    let (code, out, _) = dp
        .run(&["rpkg", "reject", NAME, "--namespace=ns"], "")
        .await;
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "git.lifecycle-package.lifecycle no longer proposed for deletion\n"
        )
    );
    assert_eq!(dp.body_of("PUT", &item())["spec"]["lifecycle"], "Published");

    let publ = FakeApi::new();
    publ.on("GET", &item(), 200, pr(NAME, "p", "w", 1, "Published"));
    let (code, _, err) = publ
        .run(&["rpkg", "reject", NAME, "--namespace=ns"], "")
        .await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "git.lifecycle-package.lifecycle failed (cannot reject git.lifecycle-package.lifecycle with lifecycle 'Published')\nError: errors:\n  cannot reject git.lifecycle-package.lifecycle with lifecycle 'Published' \n"
    );
    let (code, _, err) = publ.run(&["rpkg", "reject"], "").await;
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error: PACKAGE_REVISION is a required positional argument \n"
        )
    );
}

#[tokio::test]
async fn propose_delete_outcomes() {
    let fake = FakeApi::new();
    fake.on("GET", &item(), 200, pr(NAME, "p", "w", 0, "Proposed"));
    let (code, out, err) = fake
        .run(&["rpkg", "propose-delete", NAME, "--namespace=ns"], "")
        .await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "git.lifecycle-package.lifecycle failed (can only propose published packages for deletion; package git.lifecycle-package.lifecycle is not published)\nError: errors:\n  can only propose published packages for deletion; package git.lifecycle-package.lifecycle is not published \n"
    );

    let publ = FakeApi::new();
    publ.on("GET", &item(), 200, pr(NAME, "p", "w", 1, "Published"));
    publ.on("PUT", &item(), 200, json!({}));
    let (code, out, _) = publ
        .run(&["rpkg", "propose-del", NAME, "-n", "ns"], "")
        .await;
    assert_eq!(
        (code, out.as_str()),
        (0, "git.lifecycle-package.lifecycle proposed for deletion\n")
    );
    assert_eq!(
        publ.body_of("PUT", &item())["spec"]["lifecycle"],
        "DeletionProposed"
    );

    let dp = FakeApi::new();
    dp.on(
        "GET",
        &item(),
        200,
        pr(NAME, "p", "w", 1, "DeletionProposed"),
    );
    let (code, out, err) = dp
        .run(&["rpkg", "propose-delete", NAME, "-n", "ns"], "")
        .await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            0,
            "",
            "git.lifecycle-package.lifecycle is already proposed for deletion\n"
        )
    );
}

#[tokio::test]
async fn delete_reports_each_name() {
    let fake = FakeApi::new();
    fake.on("DELETE", &format!("{PR_BASE}/a.b.c"), 200, json!({}));
    fake.fail("DELETE", &item(), 403, "Forbidden", "packagerevisions.porch.kpt.dev \"git.lifecycle-package.lifecycle\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion");
    let (code, out, err) = fake
        .run(&["rpkg", "delete", "a.b.c", NAME, "--namespace=ns"], "")
        .await;
    assert_eq!((code, out.as_str()), (1, "a.b.c deleted\n"));
    assert_eq!(
        err,
        "git.lifecycle-package.lifecycle failed (packagerevisions.porch.kpt.dev \"git.lifecycle-package.lifecycle\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion)\nError: errors:\n  packagerevisions.porch.kpt.dev \"git.lifecycle-package.lifecycle\" is forbidden: published PackageRevisions must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to deletion \n"
    );
    let (code, out, err) = fake.run(&["rpkg", "del"], "").await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
}
