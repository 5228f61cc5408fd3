//! Listing package revisions from the local cache (`spec/porch-api.md` §6.6).
//! Blocking gix reads; the ref classification itself is pure (`refs`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use gix::ObjectId;

use crate::objects::{self, ObjResult};

mod memo;

use crate::refs::{self, RefKind};
use crate::types::{Lifecycle, PackageRevision, PackageRevisionKey};
pub(crate) use memo::ListMemo;
pub use memo::MemoStats;
use memo::{Derived, MemoKey, TagFacts};

/// The repository layout parameters listing needs.
pub(crate) struct Layout<'a> {
    pub branch: &'a str,
    pub directory: &'a str,
}

/// Lists every package revision given the cache refs (remote names → ids).
/// What each ref target contributes is taken from `memo` when known, so a
/// listing after a ref change reads only the new objects.
pub(crate) fn list(
    repo: &gix::Repository,
    layout: &Layout<'_>,
    remote_refs: &BTreeMap<String, ObjectId>,
    memo: &ListMemo,
) -> ObjResult<Vec<PackageRevision>> {
    let deletion_proposed: HashSet<&str> = remote_refs
        .keys()
        .filter(|n| {
            matches!(
                refs::classify(n, layout.branch),
                RefKind::DeletionProposed { .. }
            )
        })
        .map(String::as_str)
        .collect();
    let lifecycle_of = |full_path: &str, revision: i64| {
        if deletion_proposed
            .contains(refs::deletion_proposed_ref(full_path, revision, layout.branch).as_str())
        {
            Lifecycle::DeletionProposed
        } else {
            Lifecycle::Published
        }
    };

    let mut out = Vec::new();
    for (name, id) in remote_refs {
        match refs::classify(name, layout.branch) {
            RefKind::Branch => {
                let key = MemoKey::Branch(*id, layout.directory.to_string());
                let Derived::Branch { commit, packages } =
                    memo.get_or(key, || derive_branch(repo, *id, layout.directory))?
                else {
                    return Err(format!("listing memo holds another kind for {name}"));
                };
                for full_path in packages.iter().cloned() {
                    let Some(package) = refs::package_in_directory(&full_path, layout.directory)
                    else {
                        continue;
                    };
                    out.push(PackageRevision {
                        key: PackageRevisionKey {
                            package,
                            workspace: layout.branch.to_string(),
                            revision: -1,
                        },
                        lifecycle: lifecycle_of(&full_path, -1),
                        commit: commit.to_string(),
                        git_ref: name.clone(),
                        full_path,
                        published_by: None,
                        published_at: None,
                    });
                }
            }
            RefKind::Draft {
                full_path,
                workspace,
            }
            | RefKind::Proposed {
                full_path,
                workspace,
            } => {
                let Some(package) = refs::package_in_directory(full_path, layout.directory) else {
                    continue;
                };
                let key = MemoKey::Draft(*id, full_path.to_string());
                let derived = memo.get_or(key, || {
                    derive_draft(repo, &memo.kptfiles, *id, full_path, name)
                })?;
                let Derived::Draft(Some(commit)) = derived else {
                    continue;
                };
                let lifecycle = if name.starts_with("refs/heads/drafts/") {
                    Lifecycle::Draft
                } else {
                    Lifecycle::Proposed
                };
                out.push(PackageRevision {
                    key: PackageRevisionKey {
                        package,
                        workspace: workspace.to_string(),
                        revision: 0,
                    },
                    lifecycle,
                    commit: commit.to_string(),
                    git_ref: name.clone(),
                    full_path: full_path.to_string(),
                    published_by: None,
                    published_at: None,
                });
            }
            RefKind::Tag { full_path, version } => {
                let Some(package) = refs::package_in_directory(full_path, layout.directory) else {
                    continue;
                };
                let key = MemoKey::Tag(*id, full_path.to_string());
                let derived = memo.get_or(key, || {
                    derive_tag(repo, &memo.kptfiles, *id, full_path, name)
                })?;
                let Derived::Tag(Some(facts)) = derived else {
                    continue;
                };
                let revision = refs::revision_of_version(version);
                let commit = facts.commit;
                let (email, time) = (facts.author_email.clone(), facts.author_time);
                let workspace = facts
                    .workspace
                    .clone()
                    .unwrap_or_else(|| version.to_string());
                out.push(PackageRevision {
                    key: PackageRevisionKey {
                        package,
                        workspace,
                        revision,
                    },
                    lifecycle: lifecycle_of(full_path, revision),
                    commit: commit.to_string(),
                    git_ref: name.clone(),
                    full_path: full_path.to_string(),
                    published_by: Some(email),
                    published_at: Some(time),
                });
            }
            RefKind::DeletionProposed { .. } | RefKind::Other => {}
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The branch head's commit and the packages in its tree.
fn derive_branch(repo: &gix::Repository, id: ObjectId, directory: &str) -> ObjResult<Derived> {
    let commit = objects::peel_to_commit(repo, id)?;
    let tree = objects::commit_tree(repo, commit)?;
    let packages = objects::discover_packages(repo, tree, directory)?;
    Ok(Derived::Branch {
        commit,
        packages: Arc::new(packages),
    })
}

/// A draft or proposed head's commit, if its package has a Kptfile.
fn derive_draft(
    repo: &gix::Repository,
    blobs: &objects::KptfileBlobs,
    id: ObjectId,
    full_path: &str,
    name: &str,
) -> ObjResult<Derived> {
    let commit = objects::peel_to_commit(repo, id)?;
    let tree = objects::commit_tree(repo, commit)?;
    if !objects::has_kptfile(repo, Some(blobs), tree, full_path)? {
        tracing::warn!(git_ref = %name, "draft package has no Kptfile; ignored");
        return Ok(Derived::Draft(None));
    }
    Ok(Derived::Draft(Some(commit)))
}

/// A tagged commit's author and approval workspace, if its package has a Kptfile.
fn derive_tag(
    repo: &gix::Repository,
    blobs: &objects::KptfileBlobs,
    id: ObjectId,
    full_path: &str,
    name: &str,
) -> ObjResult<Derived> {
    let commit = objects::peel_to_commit(repo, id)?;
    let summary = objects::commit_summary(repo, commit)?;
    if !objects::has_kptfile(repo, Some(blobs), summary.tree, full_path)? {
        tracing::warn!(git_ref = %name, "skipping tag: Kptfile not found");
        return Ok(Derived::Tag(None));
    }
    Ok(Derived::Tag(Some(Arc::new(TagFacts {
        commit,
        workspace: objects::workspace_from_message(&summary.message, full_path),
        author_email: summary.author_email,
        author_time: summary.author_time,
    }))))
}

/// The latest published revision per package (highest revision ≥ 1 among
/// Published and DeletionProposed). Grouped by full package path: upstream
/// groups by leaf name only, which is a bug we do not copy.
pub fn latest_revisions(revisions: &[PackageRevision]) -> BTreeMap<String, i64> {
    let mut latest: BTreeMap<String, i64> = BTreeMap::new();
    for r in revisions {
        if r.lifecycle.is_published() && r.key.revision > 0 {
            let e = latest.entry(r.key.package.clone()).or_insert(0);
            *e = (*e).max(r.key.revision);
        }
    }
    latest
}
