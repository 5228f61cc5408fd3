//! Writing the few refs a successful push changed into the cache as loose refs. Rewriting the
//! whole `packed-refs` for that costs in proportion to every ref the cache holds (thousands of
//! tags); a loose ref costs one small file. `packed-refs` is rewritten only when a deleted ref
//! is in it. The next fetch that changes anything packs everything again
//! ([`crate::packed::replace_all`] also removes the loose refs).
//!
//! The file protocol is git's: `<ref>.lock` created exclusively, written, renamed over the ref;
//! `packed-refs.lock` for the packed file.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

use crate::packed;
use crate::refs;
use crate::remote::RefUpdate;

/// Applies pushed `updates` (remote names) to the cache's refs (cache names).
pub(crate) fn apply_pushed(cache: &Path, updates: &[RefUpdate]) -> std::io::Result<()> {
    let mut deleted = BTreeSet::new();
    for u in updates {
        let Some(local) = refs::to_local(&u.name) else {
            continue;
        };
        match u.new {
            Some(id) => write_loose(cache, &local, &format!("{id}\n"))?,
            None => {
                remove_loose(cache, &local)?;
                deleted.insert(local);
            }
        }
    }
    if !deleted.is_empty() {
        packed::remove_entries(cache, &deleted)?;
    }
    Ok(())
}

fn write_loose(cache: &Path, local: &str, content: &str) -> std::io::Result<()> {
    let path = cache.join(local);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let lock = cache.join(format!("{local}.lock"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot lock {local}: {e}")))?;
    let written = f
        .write_all(content.as_bytes())
        .and_then(|()| f.flush())
        .and_then(|()| {
            drop(f);
            std::fs::rename(&lock, &path)
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&lock);
    }
    written
}

/// Removes a loose ref (if any) and the directories it leaves empty, up to its namespace.
fn remove_loose(cache: &Path, local: &str) -> std::io::Result<()> {
    let path = cache.join(local);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    let roots = [refs::LOCAL_HEADS, refs::TAGS].map(|ns| cache.join(ns.trim_end_matches('/')));
    let mut dir = path.parent();
    while let Some(d) = dir {
        if roots.iter().any(|r| r == d) || !d.starts_with(cache) {
            break;
        }
        // Stops at the first directory that still holds something.
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gix::ObjectId;

    fn id(c: char) -> ObjectId {
        ObjectId::from_hex(c.to_string().repeat(40).as_bytes()).unwrap()
    }

    fn update(name: &str, new: Option<ObjectId>) -> RefUpdate {
        RefUpdate {
            name: name.into(),
            expected: None,
            new,
        }
    }

    /// Every ref of the cache as gix reads it (loose over packed).
    fn read_all(cache: &Path) -> Vec<(String, ObjectId)> {
        let repo = gix::open(cache).unwrap();
        let platform = repo.references().unwrap();
        platform
            .all()
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (r.name().as_bstr().to_string(), r.try_id().unwrap().detach())
            })
            .collect()
    }

    #[test]
    fn writes_loose_refs_and_deletes_loose_and_packed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.git");
        gix::init_bare(&cache).unwrap();
        let packed = format!(
            "# pack-refs with: sorted \n{} refs/remotes/origin/drafts/p/old\n{} refs/remotes/origin/main\n{} refs/tags/p/v1\n",
            id('1'),
            id('2'),
            id('3')
        );
        std::fs::write(cache.join("packed-refs"), &packed).unwrap();
        // A draft pushed earlier is loose; its deletion must leave no empty directory behind.
        apply_pushed(&cache, &[update("refs/heads/proposed/p/ws", Some(id('4')))]).unwrap();
        assert_eq!(
            std::fs::read_to_string(cache.join("packed-refs")).unwrap(),
            packed
        );
        apply_pushed(
            &cache,
            &[
                update("refs/heads/main", Some(id('5'))),
                update("refs/tags/p/v2", Some(id('5'))),
                update("refs/heads/proposed/p/ws", None),
                // Not a branch or tag: not cached.
                update("refs/notes/ignored", Some(id('6'))),
            ],
        )
        .unwrap();
        // Nothing packed was deleted: packed-refs is untouched.
        assert_eq!(
            std::fs::read_to_string(cache.join("packed-refs")).unwrap(),
            packed
        );
        assert!(!cache.join("refs/remotes/origin/proposed").exists());
        assert!(!cache.join("refs/notes").exists());
        apply_pushed(&cache, &[update("refs/heads/drafts/p/old", None)]).unwrap();
        assert_eq!(
            read_all(&cache),
            vec![
                ("refs/remotes/origin/main".to_string(), id('5')),
                ("refs/tags/p/v1".to_string(), id('3')),
                ("refs/tags/p/v2".to_string(), id('5')),
            ]
        );
        assert!(!cache.join("packed-refs.lock").exists());
        // A fetch that packs everything again takes the loose refs in.
        let all = read_all(&cache).into_iter().collect();
        packed::replace_all(&cache, &all).unwrap();
        assert_eq!(read_all(&cache).len(), 3);
        assert!(!cache.join("refs/tags/p").exists());
    }
}
