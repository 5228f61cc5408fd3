//! Batched discovery: the details ([`RevisionDetails`]) and the Kptfile of many
//! revisions at once, for a sync that needs them for every revision.
//!
//! [`GitRepository::revision_details`] walks history once per revision, decoding
//! every commit again, and [`GitRepository::read_files`] reads every file of the
//! package although a sync needs only the Kptfile: O(revisions x history). Here
//! one blocking task opens the cache once, decodes each commit once into a
//! [`CommitMemo`] (kept on the repository, so later syncs decode only new
//! commits), and answers every revision from it.
//!
//! The answers are the per-revision functions' answers. Those walk history
//! newest first by committer time; where no commit is newer than its child (no
//! clock skew) that order is "every ancestor by time, descending", so only the
//! commits annotated for the package matter and only whether they are ancestors,
//! which a walk bounded by the oldest of them decides. Where that order is not
//! determined by the times alone (skew below the start, or two candidate
//! commits with the same time, which the walk's queue orders by its own
//! internals), the revision falls back to the per-revision walk.

use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

use gix::ObjectId;
use gix::bstr::ByteSlice;

use crate::annotation::{self, CommitAnnotation};
use crate::error::{GitError, Result};
use crate::objects::{self, ObjResult};
use crate::repo::GitRepository;
use crate::types::{PackageRevision, RevisionDetails};

/// At most this many decoded commits are kept between calls (about 250 bytes
/// each); a larger history is decoded again by the next call.
const MAX_MEMO_COMMITS: usize = 200_000;

/// What discovery found for one revision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RevisionDiscovery {
    /// As [`GitRepository::revision_details`] returns them.
    pub details: RevisionDetails,
    /// The package's `Kptfile` at the revision's commit (the `Kptfile` entry of
    /// [`GitRepository::read_files`]), if it has one.
    pub kptfile: Option<String>,
}

/// Decoded commits shared by the walks of all discovery calls on one repository
/// (commits are immutable, so entries never go stale).
#[derive(Debug, Default)]
pub(crate) struct CommitMemo(Arc<Mutex<CommitGraph>>);

/// One decoded commit.
#[derive(Debug)]
struct Node {
    id: ObjectId,
    tree: ObjectId,
    /// Indices of the parents (always decoded before their children).
    parents: Vec<u32>,
    /// Committer time: the key the history walk orders by.
    time: i64,
    author_email: String,
    author_time: i64,
    annotations: Vec<CommitAnnotation>,
    /// This commit or one of its ancestors has a parent newer than itself.
    skew_below: bool,
}

#[derive(Debug, Default)]
struct CommitGraph {
    index: HashMap<ObjectId, u32>,
    nodes: Vec<Node>,
}

/// A commit decoded, its parents not yet indexed.
struct Decoded {
    node: Node,
    parent_ids: Vec<ObjectId>,
    next_parent: usize,
}

fn decode(repo: &gix::Repository, id: ObjectId) -> ObjResult<Decoded> {
    let c = repo
        .find_commit(id)
        .map_err(|e| format!("cannot read commit {id}: {}", crate::error::gix_chain(&e)))?;
    let tree = c.tree_id().map_err(|e| {
        format!(
            "cannot read tree of commit {id}: {}",
            crate::error::gix_chain(&e)
        )
    })?;
    // The same fields, read the same way, as `objects::commit_info` and the walk.
    let author = c.author().map_err(|e| {
        format!(
            "cannot read author of {id}: {}",
            crate::error::gix_chain(&e)
        )
    })?;
    let author_email = author.email.to_str_lossy().trim().to_string();
    let author_time = author.time().map(|t| t.seconds).unwrap_or(0);
    let time = c
        .committer()
        .map(|s| s.seconds())
        .map_err(|e| format!("cannot walk history: {}", crate::error::gix_chain(&e)))?;
    let (annotations, errors) =
        annotation::parse_annotations(&c.message_raw_sloppy().to_str_lossy());
    for e in errors {
        tracing::warn!(commit = %id, "{e}");
    }
    let parent_ids = c.parent_ids().map(|p| p.detach()).collect();
    Ok(Decoded {
        node: Node {
            id,
            tree: tree.detach(),
            parents: Vec::new(),
            time,
            author_email,
            author_time,
            annotations,
            skew_below: false,
        },
        parent_ids,
        next_parent: 0,
    })
}

impl CommitGraph {
    /// The index of `start`, decoding it and every ancestor not decoded yet
    /// (depth first without recursion: histories are deep).
    fn ensure(&mut self, repo: &gix::Repository, start: ObjectId) -> ObjResult<u32> {
        if let Some(&i) = self.index.get(&start) {
            return Ok(i);
        }
        let mut stack = vec![decode(repo, start)?];
        while let Some(top) = stack.last_mut() {
            if let Some(&parent) = top.parent_ids.get(top.next_parent) {
                top.next_parent += 1;
                if !self.index.contains_key(&parent) {
                    stack.push(decode(repo, parent)?);
                }
                continue;
            }
            let Some(done) = stack.pop() else { break };
            let mut node = done.node;
            for p in &done.parent_ids {
                // Every parent was indexed before its child is popped.
                if let Some(&pi) = self.index.get(p) {
                    let parent = &self.nodes[pi as usize];
                    node.skew_below |= parent.skew_below || parent.time > node.time;
                    node.parents.push(pi);
                }
            }
            let i = u32::try_from(self.nodes.len())
                .map_err(|_| "history too large to discover".to_string())?;
            self.index.insert(node.id, i);
            self.nodes.push(node);
        }
        self.index
            .get(&start)
            .copied()
            .ok_or_else(|| format!("cannot walk history from {start}"))
    }
}

/// Which ancestors of one start commit are known: a walk newest first that is
/// only taken as far down as a question needs. Without skew below the start,
/// once every queued commit is older than `t`, every ancestor at or after `t`
/// has been popped.
struct Reach<'g> {
    graph: &'g CommitGraph,
    heap: BinaryHeap<(i64, u32)>,
    stamp: u32,
}

/// Per-commit marks of the [`Reach`] they belong to (no clearing between starts).
struct Marks {
    queued: Vec<u32>,
    popped: Vec<u32>,
}

impl<'g> Reach<'g> {
    fn new(graph: &'g CommitGraph, marks: &mut Marks, start: u32, stamp: u32) -> Self {
        let mut heap = BinaryHeap::new();
        heap.push((graph.nodes[start as usize].time, start));
        marks.queued[start as usize] = stamp;
        Reach { graph, heap, stamp }
    }

    fn down_to(&mut self, marks: &mut Marks, t: i64) {
        while let Some(&(time, i)) = self.heap.peek() {
            if time < t {
                break;
            }
            self.heap.pop();
            marks.popped[i as usize] = self.stamp;
            for &p in &self.graph.nodes[i as usize].parents {
                if marks.queued[p as usize] != self.stamp {
                    marks.queued[p as usize] = self.stamp;
                    self.heap.push((self.graph.nodes[p as usize].time, p));
                }
            }
        }
    }

    /// Whether `c` is an ancestor of the start (or the start).
    fn reaches(&mut self, marks: &mut Marks, c: u32) -> bool {
        self.down_to(marks, self.graph.nodes[c as usize].time);
        marks.popped[c as usize] == self.stamp
    }
}

/// The walk-ordered ancestors among `candidates` (newest first), or `None` when
/// two of them have the same time (the walk's order between them is its queue's).
fn ordered_ancestors(
    graph: &CommitGraph,
    reach: &mut Reach<'_>,
    marks: &mut Marks,
    candidates: &[u32],
) -> Option<Vec<u32>> {
    let mut found: Vec<u32> = Vec::new();
    for &c in candidates {
        if reach.reaches(marks, c) {
            if found
                .last()
                .is_some_and(|&l| graph.nodes[l as usize].time == graph.nodes[c as usize].time)
            {
                return None;
            }
            found.push(c);
        }
    }
    Some(found)
}

/// `objects::load_tasks` over walk-ordered matching commits.
fn fold_tasks(
    graph: &CommitGraph,
    ordered: &[u32],
    full_path: &str,
    workspace: &str,
) -> Vec<serde_json::Value> {
    let mut task = None;
    'walk: for &c in ordered {
        for a in &graph.nodes[c as usize].annotations {
            if !a.matches(full_path, workspace) {
                continue;
            }
            let ty = a.task_type().unwrap_or_default();
            if annotation::is_valid_first_task(ty) {
                task = a.task.clone();
            }
            if ty == "init" || ty == "clone" {
                break 'walk;
            }
        }
    }
    task.into_iter().collect()
}

/// The answer for one revision from the memo, or `None` where only the walk can tell.
fn details_from_memo(
    graph: &CommitGraph,
    by_package: &HashMap<&str, Vec<u32>>,
    reach: &mut Reach<'_>,
    marks: &mut Marks,
    start_time: i64,
    rev: &PackageRevision,
) -> Option<RevisionDetails> {
    let none = Vec::new();
    // Newest first; commits newer than the start cannot be its ancestors.
    let annotated: Vec<u32> = by_package
        .get(rev.full_path.as_str())
        .unwrap_or(&none)
        .iter()
        .copied()
        .filter(|&c| graph.nodes[c as usize].time <= start_time)
        .collect();
    // Only annotations that can start the revision change the walk's answer (a render
    // or an approval of the same revision in the same second is no tie that matters).
    let matching: Vec<u32> = annotated
        .iter()
        .copied()
        .filter(|&c| {
            graph.nodes[c as usize].annotations.iter().any(|a| {
                a.matches(&rev.full_path, &rev.key.workspace)
                    && annotation::is_valid_first_task(a.task_type().unwrap_or_default())
            })
        })
        .collect();
    let ordered = ordered_ancestors(graph, reach, marks, &matching)?;
    let tasks = fold_tasks(graph, &ordered, &rev.full_path, &rev.key.workspace);
    let (published_by, published_at) = if rev.key.revision == -1 {
        // `objects::latest_package_commit`: the first annotated ancestor in walk order.
        let mut latest = None;
        for (k, &c) in annotated.iter().enumerate() {
            if !reach.reaches(marks, c) {
                continue;
            }
            // Commits of the same time are in the walk's queue order; it matters only if
            // their authors differ.
            let n = &graph.nodes[c as usize];
            let tied = annotated[k + 1..]
                .iter()
                .take_while(|&&o| graph.nodes[o as usize].time == n.time)
                .any(|&o| {
                    let other = &graph.nodes[o as usize];
                    (other.author_email != n.author_email || other.author_time != n.author_time)
                        && reach.reaches(marks, o)
                });
            if tied {
                return None;
            }
            latest = Some(c);
            break;
        }
        match latest {
            Some(c) => {
                let n = &graph.nodes[c as usize];
                (Some(n.author_email.clone()), Some(n.author_time))
            }
            None => (None, None),
        }
    } else {
        (rev.published_by.clone(), rev.published_at)
    };
    Some(RevisionDetails {
        tasks,
        published_by,
        published_at,
    })
}

/// The per-revision walks (`GitRepository::revision_details`), for what the memo cannot order.
pub(crate) fn details_by_walk(
    repo: &gix::Repository,
    commit: ObjectId,
    rev: &PackageRevision,
) -> ObjResult<RevisionDetails> {
    let tasks = objects::load_tasks(repo, commit, &rev.full_path, &rev.key.workspace)?;
    let (published_by, published_at) = if rev.key.revision == -1 {
        match objects::latest_package_commit(repo, commit, &rev.full_path)? {
            Some((c, _)) => {
                let (email, time, _) = objects::commit_info(repo, c)?;
                (Some(email), Some(time))
            }
            None => (None, None),
        }
    } else {
        (rev.published_by.clone(), rev.published_at)
    };
    Ok(RevisionDetails {
        tasks,
        published_by,
        published_at,
    })
}

/// Everything for `revs`, in order.
fn discover_all(
    repo: &gix::Repository,
    blobs: &objects::KptfileBlobs,
    graph: &mut CommitGraph,
    revs: &[(ObjectId, PackageRevision)],
) -> ObjResult<Vec<RevisionDiscovery>> {
    let mut starts = Vec::with_capacity(revs.len());
    for (commit, _) in revs {
        starts.push(graph.ensure(repo, *commit)?);
    }
    let graph = &*graph;
    // Package path -> the commits annotated for it, newest first.
    let mut by_package: HashMap<&str, Vec<u32>> = HashMap::new();
    for (i, n) in (0u32..).zip(graph.nodes.iter()) {
        for a in &n.annotations {
            let list = by_package.entry(a.package.as_str()).or_default();
            // One entry per commit, even if it names the package twice.
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }
    for list in by_package.values_mut() {
        list.sort_by_key(|&c| std::cmp::Reverse(graph.nodes[c as usize].time));
    }
    // Revisions grouped by start commit share one reach (all placeholders start at the
    // branch head).
    let mut order: Vec<usize> = (0..revs.len()).collect();
    order.sort_by_key(|&k| starts[k]);
    let mut marks = Marks {
        queued: vec![0; graph.nodes.len()],
        popped: vec![0; graph.nodes.len()],
    };
    let mut out: Vec<Option<RevisionDiscovery>> = vec![None; revs.len()];
    let mut stamp = 0u32;
    let mut k = 0;
    while k < order.len() {
        let start = starts[order[k]];
        stamp += 1;
        let node = &graph.nodes[start as usize];
        let mut reach = Reach::new(graph, &mut marks, start, stamp);
        while k < order.len() && starts[order[k]] == start {
            let (commit, rev) = &revs[order[k]];
            let from_memo = if node.skew_below {
                None
            } else {
                details_from_memo(graph, &by_package, &mut reach, &mut marks, node.time, rev)
            };
            let details = match from_memo {
                Some(d) => d,
                None => details_by_walk(repo, *commit, rev)?,
            };
            let kptfile = objects::kptfile_text(repo, Some(blobs), node.tree, &rev.full_path)?;
            out[order[k]] = Some(RevisionDiscovery { details, kptfile });
            k += 1;
        }
    }
    Ok(out.into_iter().flatten().collect())
}

impl GitRepository {
    /// [`revision_details`](Self::revision_details) and the Kptfile of every revision
    /// in `revs`, in order, from one pass over the cache: each commit is decoded once
    /// (and remembered for later calls). The answers equal the per-revision
    /// functions'. No network.
    pub async fn discover_details(
        &self,
        revs: &[PackageRevision],
    ) -> Result<Vec<RevisionDiscovery>> {
        let mut parsed = Vec::with_capacity(revs.len());
        for rev in revs {
            parsed.push((self.parse_id(&rev.commit)?, rev.clone()));
        }
        let memo = self.commits.0.clone();
        let lists = self.list_memo.clone();
        self.with_repo(move |repo, url| {
            let mut graph = memo.lock().unwrap_or_else(|e| e.into_inner());
            let result = discover_all(repo, &lists.kptfiles, &mut graph, &parsed);
            // A failed call keeps what it decoded: a commit enters the memo only after
            // all its ancestors.
            if graph.nodes.len() > MAX_MEMO_COMMITS {
                *graph = CommitGraph::default();
            }
            result.map_err(|m| GitError::other(url, m))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Lifecycle, PackageRevisionKey};
    use serde_json::json;

    /// A graph from `(parents, time, annotations)`, oldest first.
    fn graph(commits: &[(&[u32], i64, Vec<CommitAnnotation>)]) -> CommitGraph {
        let mut g = CommitGraph::default();
        for (i, (parents, time, anns)) in commits.iter().enumerate() {
            let id = ObjectId::from_hex(format!("{:040x}", i + 1).as_bytes()).unwrap();
            let skew_below = parents.iter().any(|&p| {
                let p = &g.nodes[p as usize];
                p.skew_below || p.time > *time
            });
            g.index.insert(id, i as u32);
            g.nodes.push(Node {
                id,
                tree: id,
                parents: parents.to_vec(),
                time: *time,
                author_email: format!("a{i}"),
                author_time: *time,
                annotations: anns.clone(),
                skew_below,
            });
        }
        g
    }

    fn ann(ws: &str, task: &str) -> CommitAnnotation {
        CommitAnnotation {
            package: "p".into(),
            workspace_name: ws.into(),
            revision: "0".into(),
            task: (!task.is_empty()).then(|| json!({"type": task})),
        }
    }

    fn rev(ws: &str, revision: i64) -> PackageRevision {
        PackageRevision {
            key: PackageRevisionKey {
                package: "p".into(),
                workspace: ws.into(),
                revision,
            },
            lifecycle: Lifecycle::Draft,
            commit: String::new(),
            git_ref: String::new(),
            full_path: "p".into(),
            published_by: None,
            published_at: None,
        }
    }

    fn answer(g: &CommitGraph, start: u32, r: &PackageRevision) -> Option<RevisionDetails> {
        let mut by_package: HashMap<&str, Vec<u32>> = HashMap::new();
        for (i, n) in (0u32..).zip(g.nodes.iter()) {
            if !n.annotations.is_empty() {
                by_package.entry("p").or_default().push(i);
            }
        }
        for l in by_package.values_mut() {
            l.sort_by_key(|&c| std::cmp::Reverse(g.nodes[c as usize].time));
        }
        let mut marks = Marks {
            queued: vec![0; g.nodes.len()],
            popped: vec![0; g.nodes.len()],
        };
        let mut reach = Reach::new(g, &mut marks, start, 1);
        let t = g.nodes[start as usize].time;
        details_from_memo(g, &by_package, &mut reach, &mut marks, t, r)
    }

    #[test]
    fn oldest_first_task_up_to_init_wins_and_non_ancestors_do_not_count() {
        // 0 root; 1 init(w) <- 2 edit(w) <- 3 render(w); 4 init(w) on a side branch of 0.
        let g = graph(&[
            (&[], 10, vec![]),
            (&[0], 20, vec![ann("w", "init")]),
            (&[1], 30, vec![ann("w", "edit")]),
            (&[2], 40, vec![ann("w", "render")]),
            (&[0], 50, vec![ann("w", "clone")]),
        ]);
        let d = answer(&g, 3, &rev("w", 0)).unwrap();
        assert_eq!(d.tasks, vec![json!({"type": "init"})]);
        let d = answer(&g, 4, &rev("w", 0)).unwrap();
        assert_eq!(d.tasks, vec![json!({"type": "clone"})]);
        // The placeholder's publisher: the newest annotated ancestor.
        let d = answer(&g, 3, &rev("main", -1)).unwrap();
        assert!(d.tasks.is_empty());
        assert_eq!(d.published_by.as_deref(), Some("a3"));
        assert_eq!(d.published_at, Some(40));
    }

    #[test]
    fn ties_that_matter_are_left_to_the_walk() {
        // Two first tasks of one workspace in the same second.
        let g = graph(&[
            (&[], 10, vec![]),
            (&[0], 20, vec![ann("w", "edit")]),
            (&[1], 20, vec![ann("w", "upgrade")]),
        ]);
        assert_eq!(answer(&g, 2, &rev("w", 0)), None);
        // A render in the same second as the init is no tie that matters.
        let g = graph(&[
            (&[], 10, vec![]),
            (&[0], 20, vec![ann("w", "init")]),
            (&[1], 20, vec![ann("w", "render")]),
        ]);
        let d = answer(&g, 2, &rev("w", 0)).unwrap();
        assert_eq!(d.tasks, vec![json!({"type": "init"})]);
        // Two annotated commits of the same second by different authors: the placeholder's
        // publisher depends on the walk's queue.
        assert_eq!(answer(&g, 2, &rev("main", -1)), None);
        // Clock skew is flagged for the walk.
        let g = graph(&[(&[], 30, vec![]), (&[0], 20, vec![ann("w", "init")])]);
        assert!(g.nodes[1].skew_below);
        assert!(!g.nodes[0].skew_below);
    }
}
