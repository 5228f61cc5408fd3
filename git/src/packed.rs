//! Writing the cache's refs as one `packed-refs` file. After a fetch the cache
//! holds exactly the remote's branches and tags, so we replace them all at
//! once: one file instead of thousands of loose refs, each a lock file, a
//! write and a rename (that dominated a first fetch of 5,000 tags). The file
//! is taken over with git's own `packed-refs.lock` protocol.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use gix::ObjectId;

use crate::refs;

/// How long to wait for another writer's `packed-refs.lock`.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The `packed-refs` text for `refs` (sorted by name, no peeled lines).
pub(crate) fn render(refs: &BTreeMap<String, ObjectId>) -> String {
    let mut out = String::with_capacity(refs.len() * 64 + 32);
    out.push_str("# pack-refs with: sorted \n");
    // A BTreeMap<String, _> iterates in byte order, which is git's order.
    for (name, id) in refs {
        out.push_str(&id.to_string());
        out.push(' ');
        out.push_str(name);
        out.push('\n');
    }
    out
}

/// Makes `refs` (cache names: `refs/remotes/origin/*`, `refs/tags/*`) the
/// complete set of cached remote refs: writes `packed-refs` atomically, then
/// removes loose refs below those two namespaces (they would shadow it).
/// Other refs in an existing `packed-refs` are kept.
pub(crate) fn replace_all(
    cache: &Path,
    wanted: &BTreeMap<String, ObjectId>,
) -> std::io::Result<()> {
    let lock_path = cache.join("packed-refs.lock");
    let mut lock = acquire(&lock_path)?;
    let result = (|| {
        let mut all: BTreeMap<String, ObjectId> = read_other(&cache.join("packed-refs"))?;
        all.extend(wanted.iter().map(|(k, v)| (k.clone(), *v)));
        lock.write_all(render(&all).as_bytes())?;
        lock.flush()?;
        drop(lock);
        std::fs::rename(&lock_path, cache.join("packed-refs"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&lock_path);
    }
    result?;
    for ns in [refs::LOCAL_HEADS, refs::TAGS] {
        remove_loose(&cache.join(ns.trim_end_matches('/')))?;
    }
    Ok(())
}

fn acquire(lock_path: &Path) -> std::io::Result<std::fs::File> {
    let start = Instant::now();
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock_path)
        {
            Ok(f) => return Ok(f),
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists && start.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot lock {}: {e}", lock_path.display()),
                ));
            }
        }
    }
}

/// Drops `names` from `packed-refs` (with their peeled lines); the file is rewritten only when
/// it holds one of them.
pub(crate) fn remove_entries(cache: &Path, names: &BTreeSet<String>) -> std::io::Result<()> {
    let path = cache.join("packed-refs");
    let holds = |text: &str| {
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .any(|(_, name)| names.contains(name))
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if holds(&text) => {}
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    let lock_path = cache.join("packed-refs.lock");
    let mut lock = acquire(&lock_path)?;
    let result = (|| {
        // Re-read under the lock: another writer may have changed it.
        let text = std::fs::read_to_string(&path)?;
        let mut out = String::with_capacity(text.len());
        let mut dropped = false;
        for line in text.lines() {
            let drop_line = if line.starts_with('^') {
                dropped
            } else {
                dropped = line
                    .split_once(' ')
                    .is_some_and(|(_, name)| !line.starts_with('#') && names.contains(name));
                dropped
            };
            if !drop_line {
                out.push_str(line);
                out.push('\n');
            }
        }
        lock.write_all(out.as_bytes())?;
        lock.flush()?;
        drop(lock);
        std::fs::rename(&lock_path, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&lock_path);
    }
    result
}

/// Entries of an existing `packed-refs` outside the namespaces we own.
fn read_other(path: &Path) -> std::io::Result<BTreeMap<String, ObjectId>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('^'))
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, name)| !name.starts_with(refs::LOCAL_HEADS) && !name.starts_with(refs::TAGS))
        .filter_map(|(id, name)| Some((name.to_string(), ObjectId::from_hex(id.as_bytes()).ok()?)))
        .collect())
}

/// Removes everything below `dir` (loose refs and their directories), keeping `dir`.
fn remove_loose(dir: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: char) -> ObjectId {
        ObjectId::from_hex(c.to_string().repeat(40).as_bytes()).unwrap()
    }

    #[test]
    fn renders_sorted_lines() {
        let mut m = BTreeMap::new();
        m.insert("refs/tags/b/v1".to_string(), id('b'));
        m.insert("refs/remotes/origin/main".to_string(), id('a'));
        m.insert("refs/tags/B/v1".to_string(), id('c'));
        assert_eq!(
            render(&m),
            format!(
                "# pack-refs with: sorted \n{} refs/remotes/origin/main\n{} refs/tags/B/v1\n{} refs/tags/b/v1\n",
                id('a'),
                id('c'),
                id('b')
            )
        );
    }

    #[test]
    fn removes_named_entries_with_their_peeled_lines_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path();
        let text = format!(
            "# pack-refs with: peeled sorted \n{} refs/remotes/origin/a\n{} refs/tags/p/v1\n^{}\n{} refs/tags/p/v2\n^{}\n",
            id('1'),
            id('2'),
            id('3'),
            id('4'),
            id('5')
        );
        std::fs::write(cache.join("packed-refs"), &text).unwrap();
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        // Nothing named: the file is left as it is.
        remove_entries(cache, &names(&["refs/tags/p/v3"])).unwrap();
        assert_eq!(
            std::fs::read_to_string(cache.join("packed-refs")).unwrap(),
            text
        );
        remove_entries(cache, &names(&["refs/tags/p/v1", "refs/remotes/origin/a"])).unwrap();
        assert_eq!(
            std::fs::read_to_string(cache.join("packed-refs")).unwrap(),
            format!(
                "# pack-refs with: peeled sorted \n{} refs/tags/p/v2\n^{}\n",
                id('4'),
                id('5')
            )
        );
        assert!(!cache.join("packed-refs.lock").exists());
    }

    #[test]
    fn replaces_owned_namespaces_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path();
        std::fs::write(
            cache.join("packed-refs"),
            format!(
                "# pack-refs with: peeled sorted \n{} refs/heads/local\n{} refs/tags/old/v1\n^{}\n",
                id('1'),
                id('2'),
                id('3')
            ),
        )
        .unwrap();
        std::fs::create_dir_all(cache.join("refs/tags/x")).unwrap();
        std::fs::write(cache.join("refs/tags/x/v1"), format!("{}\n", id('4'))).unwrap();
        let mut wanted = BTreeMap::new();
        wanted.insert("refs/tags/new/v1".to_string(), id('5'));
        replace_all(cache, &wanted).unwrap();
        let text = std::fs::read_to_string(cache.join("packed-refs")).unwrap();
        assert_eq!(
            text,
            format!(
                "# pack-refs with: sorted \n{} refs/heads/local\n{} refs/tags/new/v1\n",
                id('1'),
                id('5')
            )
        );
        assert_eq!(
            std::fs::read_dir(cache.join("refs/tags")).unwrap().count(),
            0
        );
        assert!(!cache.join("packed-refs.lock").exists());
    }
}
