#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The cache gets a commit-graph (which `git push` reads instead of parsing every advertised
//! commit) in the background after a fetch that brought commits.

mod common;

use std::time::{Duration, Instant};

use common::{Fixture, git};
use porch_git::GitRepository;

#[tokio::test]
async fn a_fetch_that_brings_commits_leaves_a_valid_commit_graph() {
    let fx = Fixture::new().await;
    let cfg = fx.repo("g1").await;
    let cache = fx.cache("a");
    let repo = GitRepository::open(cfg, &cache).await.unwrap();
    let chain = cache.join("objects/info/commit-graphs/commit-graph-chain");
    let start = Instant::now();
    while !chain.exists() && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(chain.exists(), "no commit-graph in {}", cache.display());
    // git reads and accepts it.
    git(&cache, &["commit-graph", "verify"]);
    drop(repo);
    fx.stop().await;
}
