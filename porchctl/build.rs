//! Records the git commit for `porchctl version` (`PORCHCTL_GIT_COMMIT` overrides it).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PORCHCTL_GIT_COMMIT");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
    let commit = std::env::var("PORCHCTL_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "HEAD"])
                .output()
                .ok()?;
            let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
            (out.status.success() && !sha.is_empty()).then_some(sha)
        });
    println!(
        "cargo:rustc-env=PORCHCTL_GIT_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".to_string())
    );
}
