//! Reading and writing git objects in the local bare cache with gix. Blocking:
//! call from `spawn_blocking`. No network here.

use std::collections::{BTreeMap, HashMap};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::object::tree::EntryKind;

use crate::annotation::{self, CommitAnnotation};
use crate::config::Author;

/// Errors from this module carry a message; the caller adds the URL.
pub(crate) type ObjResult<T> = std::result::Result<T, String>;

fn msg(context: &str, err: &gix::Error) -> String {
    format!("{context}: {}", crate::error::gix_chain(err))
}

/// The tree of a commit.
pub(crate) fn commit_tree(repo: &gix::Repository, commit: ObjectId) -> ObjResult<ObjectId> {
    let c = repo
        .find_commit(commit)
        .map_err(|e| msg(&format!("cannot read commit {commit}"), &e))?;
    c.tree_id()
        .map(|id| id.detach())
        .map_err(|e| msg(&format!("cannot read tree of commit {commit}"), &e))
}

/// Tree, author email, author time and message of a commit, decoded once.
pub(crate) struct CommitSummary {
    pub tree: ObjectId,
    pub author_email: String,
    pub author_time: i64,
    pub message: String,
}

pub(crate) fn commit_summary(repo: &gix::Repository, commit: ObjectId) -> ObjResult<CommitSummary> {
    let c = repo
        .find_commit(commit)
        .map_err(|e| msg(&format!("cannot read commit {commit}"), &e))?;
    let decoded = c
        .decode()
        .map_err(|e| msg(&format!("cannot decode commit {commit}"), &e))?;
    let author = decoded
        .author()
        .map_err(|e| msg(&format!("cannot read author of {commit}"), &e))?;
    Ok(CommitSummary {
        tree: decoded.tree(),
        author_email: author.email.to_str_lossy().trim().to_string(),
        author_time: author.time().map(|t| t.seconds).unwrap_or(0),
        message: decoded.message.to_str_lossy().into_owned(),
    })
}

/// Peels a ref target (commit or annotated tag) to a commit id.
pub(crate) fn peel_to_commit(repo: &gix::Repository, id: ObjectId) -> ObjResult<ObjectId> {
    let obj = repo
        .find_object(id)
        .map_err(|e| msg(&format!("cannot read object {id}"), &e))?;
    obj.peel_to_commit()
        .map(|c| c.id)
        .map_err(|e| msg(&format!("object {id} is not a commit"), &e))
}

/// The entry (mode, id) at `path` below `tree`, if any.
fn entry_at(
    repo: &gix::Repository,
    tree: ObjectId,
    path: &str,
) -> ObjResult<Option<(gix::object::tree::EntryMode, ObjectId)>> {
    if path.is_empty() {
        return Ok(Some((EntryKind::Tree.into(), tree)));
    }
    let t = repo
        .find_tree(tree)
        .map_err(|e| msg(&format!("cannot read tree {tree}"), &e))?;
    let entry = t
        .lookup_entry(path.split('/'))
        .map_err(|e| msg(&format!("cannot look up {path:?}"), &e))?;
    Ok(entry.map(|e| (e.mode(), e.object_id())))
}

/// The subtree at `path`, if `path` is a directory.
pub(crate) fn subtree(
    repo: &gix::Repository,
    tree: ObjectId,
    path: &str,
) -> ObjResult<Option<ObjectId>> {
    Ok(entry_at(repo, tree, path)?
        .filter(|(mode, _)| mode.is_tree())
        .map(|(_, id)| id))
}

/// Whether `tree` has a regular file `Kptfile` at `path` (i.e. a package lives there).
pub(crate) fn has_kptfile(
    repo: &gix::Repository,
    blobs: Option<&KptfileBlobs>,
    tree: ObjectId,
    path: &str,
) -> ObjResult<bool> {
    Ok(kptfile_blob(repo, blobs, tree, path)?.is_some())
}

/// Where the Kptfile of a directory of a tree is, by tree id: listing a revision finds it
/// and discovering its details reads it, so the second lookup (a root tree of a thousand
/// packages is inflated and scanned each time) is answered from here. One per repository
/// (in its listing memo); content-addressed, so never stale; starts over when full.
#[derive(Default)]
pub(crate) struct KptfileBlobs(std::sync::Mutex<HashMap<ObjectId, BlobsOfTree>>);

/// (directory path, its Kptfile blob if any) for one tree.
type BlobsOfTree = Vec<(Box<str>, Option<ObjectId>)>;

/// Trees [`KptfileBlobs`] holds before it starts over (about 100 bytes each).
const KPTFILE_BLOBS_MAX: usize = 20_000;

impl std::fmt::Debug for KptfileBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KptfileBlobs")
    }
}

impl KptfileBlobs {
    fn get(&self, tree: ObjectId, path: &str) -> Option<Option<ObjectId>> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&tree)?
            .iter()
            .find(|(p, _)| &**p == path)
            .map(|(_, blob)| *blob)
    }

    fn put(&self, tree: ObjectId, path: &str, blob: Option<ObjectId>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= KPTFILE_BLOBS_MAX && !map.contains_key(&tree) {
            map.clear();
        }
        let paths = map.entry(tree).or_default();
        if !paths.iter().any(|(p, _)| &**p == path) {
            paths.push((path.into(), blob));
        }
    }
}

/// The blob of the regular file `Kptfile` in the directory `path` of `tree`, remembered in
/// `blobs` when given.
fn kptfile_blob(
    repo: &gix::Repository,
    blobs: Option<&KptfileBlobs>,
    tree: ObjectId,
    path: &str,
) -> ObjResult<Option<ObjectId>> {
    let Some(blobs) = blobs else {
        return find_kptfile_blob(repo, tree, path);
    };
    if let Some(known) = blobs.get(tree, path) {
        return Ok(known);
    }
    let found = find_kptfile_blob(repo, tree, path)?;
    blobs.put(tree, path, found);
    Ok(found)
}

fn find_kptfile_blob(
    repo: &gix::Repository,
    tree: ObjectId,
    path: &str,
) -> ObjResult<Option<ObjectId>> {
    let Some(dir) = subtree(repo, tree, path)? else {
        return Ok(None);
    };
    let t = repo
        .find_tree(dir)
        .map_err(|e| msg(&format!("cannot read tree {dir}"), &e))?;
    let decoded = t
        .decode()
        .map_err(|e| msg(&format!("cannot decode tree {dir}"), &e))?;
    Ok(decoded
        .entries
        .iter()
        .find(|e| e.filename == "Kptfile" && e.mode.is_blob())
        .map(|e| e.oid.to_owned()))
}

/// Discovers packages below `directory` in `tree`: a directory with a regular
/// `Kptfile` is a package and recursion stops there (nested Kptfiles are
/// subpackages of the outer one). Returns full paths, sorted.
pub(crate) fn discover_packages(
    repo: &gix::Repository,
    tree: ObjectId,
    directory: &str,
) -> ObjResult<Vec<String>> {
    let mut found = Vec::new();
    let Some(start) = subtree(repo, tree, directory)? else {
        return Ok(found);
    };
    // (tree id, full path of that tree)
    let mut stack = vec![(start, directory.to_string())];
    while let Some((id, path)) = stack.pop() {
        let t = repo
            .find_tree(id)
            .map_err(|e| msg(&format!("cannot read tree {id}"), &e))?;
        let decoded = t
            .decode()
            .map_err(|e| msg(&format!("cannot decode tree {id}"), &e))?;
        let is_package = decoded
            .entries
            .iter()
            .any(|e| e.filename == "Kptfile" && e.mode.is_blob());
        if is_package && path != directory {
            found.push(path);
            continue;
        }
        for e in &decoded.entries {
            if e.mode.is_tree() {
                let name = e.filename.to_str_lossy();
                let child = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}/{name}")
                };
                stack.push((e.oid.to_owned(), child));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// All files of the package at `full_path` in `tree`, paths relative to the package.
pub(crate) fn read_files(
    repo: &gix::Repository,
    tree: ObjectId,
    full_path: &str,
) -> ObjResult<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    let Some(start) = subtree(repo, tree, full_path)? else {
        return Ok(files);
    };
    let mut stack = vec![(start, String::new())];
    while let Some((id, prefix)) = stack.pop() {
        let t = repo
            .find_tree(id)
            .map_err(|e| msg(&format!("cannot read tree {id}"), &e))?;
        let decoded = t
            .decode()
            .map_err(|e| msg(&format!("cannot decode tree {id}"), &e))?;
        for e in &decoded.entries {
            let name = e.filename.to_str_lossy();
            let path = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            if e.mode.is_tree() {
                stack.push((e.oid.to_owned(), path));
            } else if e.mode.is_blob() {
                let blob = repo
                    .find_blob(e.oid.to_owned())
                    .map_err(|err| msg(&format!("cannot read {path}"), &err))?;
                // Package resources are text (upstream keeps them as Go strings).
                files.insert(path, String::from_utf8_lossy(&blob.data).into_owned());
            }
        }
    }
    Ok(files)
}

/// Checks that a resource path stays inside the package.
pub(crate) fn validate_file_path(path: &str) -> ObjResult<()> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == ".." || c.eq_ignore_ascii_case(".git"));
    if bad {
        Err(format!(
            "invalid resource path {path:?}: paths must be relative, use '/' and stay inside the package"
        ))
    } else {
        Ok(())
    }
}

/// Writes the files as a tree and returns its id.
pub(crate) fn write_files_tree(
    repo: &gix::Repository,
    files: &BTreeMap<String, String>,
) -> ObjResult<ObjectId> {
    let empty = ObjectId::empty_tree(repo.object_hash());
    let mut editor = repo
        .edit_tree(empty)
        .map_err(|e| msg("cannot start tree edit", &e))?;
    for (path, content) in files {
        validate_file_path(path)?;
        let blob = repo
            .write_blob(content.as_bytes())
            .map_err(|e| msg(&format!("cannot write {path}"), &e))?;
        editor
            .upsert(path.as_str(), EntryKind::Blob, blob.detach())
            .map_err(|e| msg(&format!("cannot place {path}"), &e))?;
    }
    editor
        .write()
        .map(|id| id.detach())
        .map_err(|e| msg("cannot write tree", &e))
}

/// Replaces (or removes, with `None`) the directory `full_path` in `base`.
pub(crate) fn replace_subtree(
    repo: &gix::Repository,
    base: ObjectId,
    full_path: &str,
    new: Option<ObjectId>,
) -> ObjResult<ObjectId> {
    let mut editor = repo
        .edit_tree(base)
        .map_err(|e| msg("cannot start tree edit", &e))?;
    match new {
        Some(id) if id != ObjectId::empty_tree(repo.object_hash()) => {
            editor
                .upsert(full_path, EntryKind::Tree, id)
                .map_err(|e| msg(&format!("cannot place {full_path}"), &e))?;
        }
        // An empty directory does not exist in git.
        _ => {
            editor
                .remove(full_path)
                .map_err(|e| msg(&format!("cannot remove {full_path}"), &e))?;
        }
    }
    editor
        .write()
        .map(|id| id.detach())
        .map_err(|e| msg("cannot write tree", &e))
}

/// Creates a commit object (no ref is touched). The committer is always porch.
pub(crate) fn write_commit(
    repo: &gix::Repository,
    author: &Author,
    message: &str,
    tree: ObjectId,
    parents: &[ObjectId],
) -> ObjResult<ObjectId> {
    let now = gix::date::Time::now_local_or_utc();
    let porch = Author::porch();
    let committer = gix::actor::Signature {
        name: porch.name.into(),
        email: porch.email.into(),
        time: now,
    };
    let author = gix::actor::Signature {
        name: author.name.as_str().into(),
        email: author.email.as_str().into(),
        time: now,
    };
    let mut cbuf = gix::date::parse::TimeBuf::default();
    let mut abuf = gix::date::parse::TimeBuf::default();
    repo.new_commit_as(
        committer.to_ref(&mut cbuf),
        author.to_ref(&mut abuf),
        message,
        tree,
        parents.iter().copied(),
    )
    .map(|c| c.id)
    .map_err(|e| msg("cannot write commit", &e))
}

/// Author email, author time and message of a commit.
pub(crate) fn commit_info(
    repo: &gix::Repository,
    commit: ObjectId,
) -> ObjResult<(String, i64, String)> {
    let c = repo
        .find_commit(commit)
        .map_err(|e| msg(&format!("cannot read commit {commit}"), &e))?;
    let author = c
        .author()
        .map_err(|e| msg(&format!("cannot read author of {commit}"), &e))?;
    let email = author.email.to_str_lossy().trim().to_string();
    let time = author.time().map(|t| t.seconds).unwrap_or(0);
    let message = c.message_raw_sloppy().to_str_lossy().into_owned();
    Ok((email, time, message))
}

/// Workspace of a published revision from the annotations of one commit
/// (upstream `getPkgWorkspace` for tags): the `workspaceName` of the annotation
/// for `full_path`, if any.
pub(crate) fn workspace_from_message(message: &str, full_path: &str) -> Option<String> {
    let (anns, _) = annotation::parse_annotations(message);
    anns.into_iter()
        .rev()
        .find(|a| a.package == full_path && !a.workspace_name.is_empty())
        .map(|a| a.workspace_name)
}

/// Walks history from `start` newest first by committer time.
fn walk<F>(repo: &gix::Repository, start: ObjectId, mut visit: F) -> ObjResult<()>
where
    F: FnMut(ObjectId, &[CommitAnnotation]) -> bool,
{
    let order = gix::revision::walk::Sorting::ByCommitTime(
        gix::traverse::commit::simple::CommitTimeOrder::NewestFirst,
    );
    let walk = repo
        .rev_walk([start])
        .sorting(order)
        .all()
        .map_err(|e| msg("cannot walk history", &e))?;
    for info in walk {
        let info = info.map_err(|e| msg("cannot walk history", &e))?;
        let c = repo
            .find_commit(info.id)
            .map_err(|e| msg(&format!("cannot read commit {}", info.id), &e))?;
        let (anns, errors) = annotation::parse_annotations(&c.message_raw_sloppy().to_str_lossy());
        for e in errors {
            tracing::warn!(commit = %info.id, "{e}");
        }
        if !visit(info.id, &anns) {
            break;
        }
    }
    Ok(())
}

/// Upstream `loadTasks`: the most recent valid first task of the revision,
/// stopping at `init` or `clone`.
pub(crate) fn load_tasks(
    repo: &gix::Repository,
    start: ObjectId,
    full_path: &str,
    workspace: &str,
) -> ObjResult<Vec<serde_json::Value>> {
    let mut task: Option<serde_json::Value> = None;
    walk(repo, start, |_, anns| {
        for a in anns {
            if !a.matches(full_path, workspace) {
                continue;
            }
            let ty = a.task_type().unwrap_or_default();
            // Walking newest first, each match overwrites the previous one (as
            // upstream does), so the oldest first task wins; init and clone
            // mark the start of the revision.
            if annotation::is_valid_first_task(ty) {
                task = a.task.clone();
            }
            if ty == "init" || ty == "clone" {
                return false;
            }
        }
        true
    })?;
    Ok(task.into_iter().collect())
}

/// The latest commit from `start` whose annotation names `full_path`.
pub(crate) fn latest_package_commit(
    repo: &gix::Repository,
    start: ObjectId,
    full_path: &str,
) -> ObjResult<Option<(ObjectId, Option<String>)>> {
    let mut found = None;
    walk(repo, start, |id, anns| {
        if let Some(a) = anns.iter().rev().find(|a| a.package == full_path) {
            let ws = (!a.workspace_name.is_empty()).then(|| a.workspace_name.clone());
            found = Some((id, ws));
            return false;
        }
        true
    })?;
    Ok(found)
}

/// The text of the regular file `Kptfile` of the package at `full_path` in `tree`
/// (what [`read_files`] returns under `Kptfile`), without reading the other files.
pub(crate) fn kptfile_text(
    repo: &gix::Repository,
    blobs: Option<&KptfileBlobs>,
    tree: ObjectId,
    full_path: &str,
) -> ObjResult<Option<String>> {
    let Some(oid) = kptfile_blob(repo, blobs, tree, full_path)? else {
        return Ok(None);
    };
    let blob = repo
        .find_blob(oid)
        .map_err(|e| msg("cannot read Kptfile", &e))?;
    Ok(Some(String::from_utf8_lossy(&blob.data).into_owned()))
}

#[cfg(test)]
mod kptfile_blob_tests {
    use super::*;

    fn id(n: usize) -> ObjectId {
        ObjectId::from_hex(format!("{n:040x}").as_bytes()).unwrap()
    }

    #[test]
    fn answers_by_tree_and_path_and_starts_over_when_full() {
        let blobs = KptfileBlobs::default();
        blobs.put(id(1), "a", Some(id(10)));
        blobs.put(id(1), "b", None);
        assert_eq!(blobs.get(id(1), "a"), Some(Some(id(10))));
        assert_eq!(blobs.get(id(1), "b"), Some(None), "a known absence");
        assert_eq!(blobs.get(id(1), "c"), None, "never looked up");
        assert_eq!(blobs.get(id(2), "a"), None);
        for n in 0..KPTFILE_BLOBS_MAX {
            blobs.put(id(100 + n), "p", None);
        }
        assert_eq!(blobs.get(id(1), "a"), None, "cleared once full");
        assert!(blobs.0.lock().unwrap().len() <= KPTFILE_BLOBS_MAX);
    }
}
