//! Clone from a plain git URL: a bare cache per upstream URL (fetched with porch-git's smart-HTTP
//! remote), the ref resolved in porch's order and the package files read at that commit.

use std::path::{Path, PathBuf};

use porch_git::{CaBundle, ConnectionOptions, Credentials, GitRemote as _, HttpRemote};
use sha2::Digest as _;
use tokio::process::Command;

use super::git::map_git_error;
use crate::backend::BackendError;
use crate::content_cache::PackageFiles;
use crate::model::{GitLock, GitPackage};

/// The refs tried for `ref` in `directory`, in porch's lookup order (porch-api.md §6.6).
pub fn ref_candidates(directory: &str, git_ref: &str) -> Vec<String> {
    let mut out = Vec::new();
    let dir = directory.trim_matches('/');
    if !dir.is_empty() {
        out.push(format!("refs/tags/{dir}/{git_ref}"));
        out.push(format!("refs/remotes/origin/{dir}/{git_ref}"));
    }
    out.push(format!("refs/tags/{git_ref}"));
    out.push(format!("refs/remotes/origin/{git_ref}"));
    // A commit SHA given as the ref.
    out.push(git_ref.to_owned());
    out
}

async fn git(dir: &Path, args: &[&str]) -> Result<(bool, Vec<u8>), BackendError> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .output()
        .await
        .map_err(|e| BackendError::Other(format!("cannot run git: {e}")))?;
    Ok((out.status.success(), out.stdout))
}

fn cache_path(root: &Path, url: &str) -> PathBuf {
    let digest = hex::encode(sha2::Sha256::digest(url.as_bytes()));
    root.join(&digest[..16])
}

/// Fetches `pkg.repo` and returns the files under `pkg.directory` at `pkg.git_ref` with the lock
/// (`repo` and `directory` as given, `ref` as given, `commit` resolved). `ca_bundle`: extra CA
/// certificates for HTTPS (the namespace CA bundle).
pub async fn fetch(
    cache_root: &Path,
    pkg: &GitPackage,
    credentials: Option<&Credentials>,
    ca_bundle: Option<CaBundle>,
) -> Result<(PackageFiles, GitLock), BackendError> {
    let (url, url_credentials) = porch_git::config::split_url_credentials(&pkg.repo);
    let credentials = credentials.cloned().or(url_credentials);
    let dir = cache_path(cache_root, &url);
    if !dir.join("HEAD").exists() {
        std::fs::create_dir_all(&dir)
            .map_err(|e| BackendError::Other(format!("cannot create {}: {e}", dir.display())))?;
        let (ok, _) = git(&dir, &["init", "--bare", "-q"]).await?;
        if !ok {
            return Err(BackendError::Other(format!(
                "cannot initialise upstream cache {}",
                dir.display()
            )));
        }
    }
    let options = ConnectionOptions {
        ca_bundle,
        ..ConnectionOptions::default()
    };
    let remote = HttpRemote::new(&url, credentials.as_ref())
        .with_options(&options)
        .map_err(map_git_error)?;
    remote.fetch(&dir).await.map_err(map_git_error)?;

    let git_ref = if pkg.git_ref.is_empty() {
        "main"
    } else {
        &pkg.git_ref
    };
    let mut commit = None;
    for candidate in ref_candidates(&pkg.directory, git_ref) {
        let spec = format!("{candidate}^{{commit}}");
        let (ok, out) = git(&dir, &["rev-parse", "--verify", "-q", &spec]).await?;
        if ok {
            commit = Some(String::from_utf8_lossy(&out).trim().to_owned());
            break;
        }
    }
    let Some(commit) = commit else {
        return Err(BackendError::NotFound(format!(
            "cannot find ref {git_ref:?} in repository {url}"
        )));
    };
    let directory = pkg.directory.trim_matches('/');
    let files = read_tree(&dir, &commit, directory).await?;
    if files.is_empty() {
        return Err(BackendError::NotFound(format!(
            "no package at {directory:?} in {url} at {git_ref}"
        )));
    }
    Ok((
        files,
        GitLock {
            repo: pkg.repo.clone(),
            directory: pkg.directory.clone(),
            git_ref: pkg.git_ref.clone(),
            commit,
        },
    ))
}

/// Files under `directory` at `commit`, relative to it (symlinks and submodules skipped).
async fn read_tree(
    dir: &Path,
    commit: &str,
    directory: &str,
) -> Result<PackageFiles, BackendError> {
    let treeish = if directory.is_empty() {
        commit.to_owned()
    } else {
        format!("{commit}:{directory}")
    };
    let (ok, listing) = git(dir, &["ls-tree", "-r", "-z", &treeish]).await?;
    if !ok {
        return Ok(PackageFiles::new());
    }
    let mut entries = Vec::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let text = String::from_utf8_lossy(entry);
        let Some((meta, path)) = text.split_once('\t') else {
            continue;
        };
        let mut parts = meta.split(' ');
        let (mode, kind, id) = (parts.next(), parts.next(), parts.next());
        if kind == Some("blob")
            && mode != Some("120000")
            && let Some(id) = id
        {
            entries.push((path.to_owned(), id.to_owned()));
        }
    }
    let mut files = PackageFiles::new();
    for (path, id) in entries {
        let (ok, bytes) = git(dir, &["cat-file", "blob", &id]).await?;
        if ok {
            files.insert(path, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_order_prefers_the_directory_ref() {
        assert_eq!(
            ref_candidates("/blueprints/basens/", "v1"),
            vec![
                "refs/tags/blueprints/basens/v1",
                "refs/remotes/origin/blueprints/basens/v1",
                "refs/tags/v1",
                "refs/remotes/origin/v1",
                "v1",
            ]
        );
        assert_eq!(ref_candidates("", "main").len(), 3);
    }
}
