#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The git CLI never sees credentials in argv: a wrapper records every
//! invocation's arguments and environment keys, then runs the real git.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Fixture, PASSWORD, package};
use std::sync::Arc;

use porch_git::{GitRepository, HttpRemote, NewDraft};

#[tokio::test]
async fn push_credentials_travel_in_the_environment_only() {
    let fx = Fixture::new().await;
    let log = fx.dir.path().join("argv.log");
    let wrapper = fx.dir.path().join("git-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nprintf 'ARGV %s\\n' \"$*\" >> '{log}'\nenv | grep -q '^GIT_CONFIG_VALUE_1=Authorization: Basic ' && echo ENV_AUTH >> '{log}'\nexec git \"$@\"\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = fx.repo("argv").await;
    let remote = HttpRemote::new(&cfg.url, cfg.credentials.as_ref()).with_git_binary(&wrapper);
    let repo = GitRepository::open_with_remote(cfg, fx.cache("a"), Arc::new(remote))
        .await
        .unwrap();
    repo.create_draft(NewDraft {
        package: "p".into(),
        workspace: "w".into(),
        files: package("p", &[]),
        task: None,
        user: None,
    })
    .await
    .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("ARGV --git-dir"), "{text}");
    assert!(
        text.contains("push --atomic --porcelain --force-with-lease=refs/heads/drafts/p/w:"),
        "{text}"
    );
    assert!(text.contains("ENV_AUTH"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    // base64("nephio:secret")
    assert!(!text.contains("bmVwaGlvOnNlY3JldA=="), "{text}");
    fx.stop().await;
}
