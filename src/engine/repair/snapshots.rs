//! `repair snapshots`: rewrite snapshots whose trees reference what the index does not have.
//!
//! restic 0.16's semantics, so a repository repaired by either tool looks the same:
//! - a file whose content list names data blobs the index lacks keeps the blobs that are
//!   there, in order, and its size becomes their length (restic: "removed missing content");
//!   a file whose size disagrees with its blobs gets their length ("fixed incorrect size");
//! - a folder whose tree cannot be loaded (missing, corrupt, or no subtree at all) keeps its
//!   node and gets the empty tree ("replaced with empty directory");
//! - a snapshot whose root tree cannot be loaded holds nothing to keep and is removed, with or
//!   without `forget`, as restic removes it;
//! - a snapshot file that cannot be read stops the repair, unless it is named and `forget` is
//!   given: then it is removed;
//! - a changed snapshot is saved as a new one, `original` naming the old id; without `forget`
//!   it gets the tag `repaired` and the old one stays, with `forget` the old one is removed.
//!
//! Unlike restic, a tree none of whose nodes change keeps its id without being serialised
//! again, so an undamaged snapshot is never rewritten, even one an older restic wrote with
//! fields in another order. Rewritten trees are memoised by id, as restic does, since
//! snapshots share most of their trees.
//!
//! Order: new tree blobs go into packs, then the index that lists them, then the new snapshot
//! files, and only then are old snapshots removed; killed at any point, the repository holds
//! at most unreferenced packs and the old snapshots. Transient storage errors stop the repair
//! rather than turn a readable folder into an empty one.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::StreamExt;

use crate::engine::aligned::AlignedBuf;
use crate::engine::backend::FileType;
use crate::engine::crypto::OVERHEAD;
use crate::engine::index::IndexPack;
use crate::engine::lock::Lock;
use crate::engine::pack::{BlobType, PackedBlob};
use crate::engine::repo::{RepoError, Repository, Result};
use crate::engine::restorer::load_tree;
use crate::engine::snapshot::{select, Snapshot, SnapshotEntry, SnapshotFilter};
use crate::engine::tree::Tree;
use crate::engine::Id;

/// The tag restic gives a repaired snapshot that is kept beside its original.
pub const REPAIRED_TAG: &str = "repaired";

#[derive(Clone, Debug, Default)]
pub struct RepairSnapshotsOptions {
    /// Say what would change; write and remove nothing.
    pub dry_run: bool,
    /// Remove each original once its repaired snapshot is saved.
    pub forget: bool,
    /// Snapshot ids or id prefixes; empty means every snapshot the filter matches.
    pub snapshots: Vec<String>,
    pub filter: SnapshotFilter,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum SnapshotOutcome {
    /// Nothing referenced is missing; the snapshot is left alone.
    Unchanged,
    /// Saved as a new snapshot (`None` in a dry run); `forgotten` when the old one was removed
    /// (or would be).
    Rewritten { new_id: Option<Id>, forgotten: bool },
    /// Its root tree cannot be loaded: removed (or would be).
    Removed,
}

/// One snapshot looked at, what was wrong in it (restic's wording, with the path) and what
/// was done.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SnapshotRepair {
    pub id: Id,
    pub paths: Vec<String>,
    pub time: String,
    pub changes: Vec<String>,
    #[serde(flatten)]
    pub outcome: SnapshotOutcome,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RepairSnapshotsReport {
    pub snapshots: Vec<SnapshotRepair>,
    pub trees_written: usize,
    pub packs_written: usize,
}

impl RepairSnapshotsReport {
    /// Snapshots rewritten or removed (or that would be).
    pub fn modified(&self) -> usize {
        self.snapshots
            .iter()
            .filter(|s| s.outcome != SnapshotOutcome::Unchanged)
            .count()
    }
}

/// Repair snapshots under an exclusive lock (a shared one for a dry run, which only reads).
pub async fn repair_snapshots(
    repo: &Arc<Repository>,
    opts: &RepairSnapshotsOptions,
) -> Result<RepairSnapshotsReport> {
    let lock = Lock::acquire(repo.clone(), !opts.dry_run).await?;
    let r = run(repo, opts).await;
    lock.release().await;
    r
}

/// Repair snapshots while the caller holds the lock.
pub async fn run(
    repo: &Arc<Repository>,
    opts: &RepairSnapshotsOptions,
) -> Result<RepairSnapshotsReport> {
    let (all, unreadable) = load_snapshots(repo).await?;
    let mut rep = RepairSnapshotsReport::default();
    // restic's rule: an unreadable snapshot file is removed only when named and `forget` is
    // given; otherwise the repair stops before changing anything, saying how to remove it.
    for (name, e) in unreadable {
        let named = opts
            .snapshots
            .iter()
            .any(|w| !w.is_empty() && name.starts_with(w.as_str()));
        if !(opts.forget && named) {
            return Err(RepoError::UnreadableSnapshot {
                name,
                source: Box::new(e),
            });
        }
        let Ok(id) = name.parse::<Id>() else { continue };
        rep.snapshots.push(SnapshotRepair {
            id,
            paths: Vec::new(),
            time: String::new(),
            changes: vec![format!("snapshot file unreadable: {e}")],
            outcome: SnapshotOutcome::Removed,
        });
    }
    repo.load_index().await?;
    let chosen: Vec<SnapshotEntry> = if opts.snapshots.is_empty() {
        all.iter()
            .filter(|s| opts.filter.matches(&s.snapshot))
            .cloned()
            .collect()
    } else {
        let mut v = Vec::new();
        for which in &opts.snapshots {
            if rep
                .snapshots
                .iter()
                .any(|r| r.id.to_hex().starts_with(which.as_str()))
            {
                continue; // an unreadable file, handled above
            }
            let e = select(&all, which, &opts.filter).map_err(RepoError::Select)?;
            if !v.iter().any(|s: &SnapshotEntry| s.id == e.id) {
                v.push(e.clone());
            }
        }
        v
    };

    let mut rw = Rewriter {
        repo,
        done: HashMap::new(),
        new_trees: Vec::new(),
        queued: HashSet::new(),
    };
    // Per snapshot: its new root (`None` = unchanged, `Some(None)` = root lost).
    let mut plans: Vec<(SnapshotEntry, Option<Option<Id>>, Vec<String>)> = Vec::new();
    for s in chosen {
        let (root, changes) = match rw.rewrite(s.snapshot.tree).await? {
            Rewrite::Same => (None, Vec::new()),
            Rewrite::New(id, changes) => (
                Some(Some(id)),
                changes.iter().map(|c| c.to_string()).collect(),
            ),
            Rewrite::Unreadable(why) => {
                (Some(None), vec![format!("dir \"/\": not readable ({why})")])
            }
        };
        plans.push((s, root, changes));
    }

    if !opts.dry_run {
        for r in &rep.snapshots {
            repo.backend()
                .remove(FileType::Snapshot, &r.id.to_hex())
                .await?;
        }
        let (trees, packs) = rw.store().await?;
        rep.trees_written = trees;
        rep.packs_written = packs;
    }
    for (s, root, changes) in plans {
        let outcome = match root {
            None => SnapshotOutcome::Unchanged,
            Some(None) => {
                if !opts.dry_run {
                    let name = s.id.to_hex();
                    repo.backend().remove(FileType::Snapshot, &name).await?;
                }
                SnapshotOutcome::Removed
            }
            Some(Some(tree)) => {
                let new_id = if opts.dry_run {
                    None
                } else {
                    let mut snap = s.snapshot.clone();
                    snap.tree = tree;
                    snap.original = Some(s.id);
                    if !opts.forget && !snap.tags.iter().any(|t| t == REPAIRED_TAG) {
                        snap.tags.push(REPAIRED_TAG.to_string());
                    }
                    let id = repo.save_json(FileType::Snapshot, &snap).await?;
                    if opts.forget {
                        let name = s.id.to_hex();
                        repo.backend().remove(FileType::Snapshot, &name).await?;
                    }
                    Some(id)
                };
                SnapshotOutcome::Rewritten {
                    new_id,
                    forgotten: opts.forget,
                }
            }
        };
        rep.snapshots.push(SnapshotRepair {
            id: s.id,
            paths: s.snapshot.paths.clone(),
            time: s.snapshot.time.to_rfc3339(),
            changes,
            outcome,
        });
    }
    Ok(rep)
}

/// Every snapshot, oldest first, and the files that cannot be read with why. A storage error
/// other than "not found" stops the repair.
async fn load_snapshots(
    repo: &Repository,
) -> Result<(Vec<SnapshotEntry>, Vec<(String, RepoError)>)> {
    let list = repo.backend().list(FileType::Snapshot).await?;
    let conns = repo.opts.connections.max(1);
    let loaded: Vec<(String, Result<Snapshot>)> = futures::stream::iter(list)
        .map(|f| async move {
            let s = repo
                .load_json::<Snapshot>(FileType::Snapshot, &f.name)
                .await;
            (f.name, s)
        })
        .buffer_unordered(conns * 2)
        .collect()
        .await;
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for (name, s) in loaded {
        match (s, name.parse::<Id>()) {
            (Ok(snapshot), Ok(id)) => good.push(SnapshotEntry { id, snapshot }),
            (Err(RepoError::Backend(e)), _) if !e.is_not_found() => {
                return Err(RepoError::Backend(e))
            }
            (Err(e), _) => bad.push((name, e)),
            (Ok(_), Err(e)) => bad.push((name, RepoError::Other(e.to_string()))),
        }
    }
    good.sort_by(|a, b| a.snapshot.time.cmp(&b.snapshot.time).then(a.id.cmp(&b.id)));
    bad.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((good, bad))
}

/// One change inside a tree, with the path relative to that tree's folder.
#[derive(Clone, Debug)]
struct Change {
    kind: &'static str,
    path: String,
    what: String,
}

impl Change {
    /// The same change seen from the folder above, where this tree is `name`.
    fn under(&self, name: &str) -> Change {
        Change {
            path: format!("{name}/{}", self.path),
            ..self.clone()
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} \"/{}\": {}", self.kind, self.path, self.what)
    }
}

#[derive(Clone)]
enum Rewrite {
    Same,
    New(Id, Vec<Change>),
    Unreadable(String),
}

struct Rewriter<'a> {
    repo: &'a Arc<Repository>,
    /// Trees already looked at, and what became of them.
    done: HashMap<Id, Rewrite>,
    /// Serialised trees to store (not yet in the index), in the order they were made.
    new_trees: Vec<(Id, Vec<u8>)>,
    queued: HashSet<Id>,
}

impl Rewriter<'_> {
    /// Rewrite the tree `id` and everything below it.
    fn rewrite(&mut self, id: Id) -> BoxFuture<'_, Result<Rewrite>> {
        Box::pin(async move {
            if let Some(d) = self.done.get(&id) {
                return Ok(d.clone());
            }
            let mut tree = match load_tree(self.repo, &id).await {
                Ok(t) => t,
                Err(RepoError::Backend(e)) if !e.is_not_found() => {
                    return Err(RepoError::Backend(e))
                }
                Err(e) => {
                    let r = Rewrite::Unreadable(e.to_string());
                    self.done.insert(id, r.clone());
                    return Ok(r);
                }
            };
            let mut changes: Vec<Change> = Vec::new();
            for node in &mut tree.nodes {
                if node.is_file() {
                    let content = node.content.take().unwrap_or_default();
                    let before = content.len();
                    let kept: Vec<(Id, u64)> = content
                        .into_iter()
                        .filter_map(|b| {
                            let loc = self.repo.lookup(BlobType::Data, &b)?;
                            let len = loc
                                .uncompressed_length
                                .unwrap_or(loc.length.saturating_sub(OVERHEAD as u32));
                            Some((b, u64::from(len)))
                        })
                        .collect();
                    let size: u64 = kept.iter().map(|(_, n)| n).sum();
                    let what = if kept.len() != before {
                        Some("removed missing content")
                    } else if size != node.size {
                        Some("fixed incorrect size")
                    } else {
                        None
                    };
                    node.content = Some(kept.into_iter().map(|(b, _)| b).collect());
                    node.size = size;
                    if let Some(what) = what {
                        changes.push(Change {
                            kind: "file",
                            path: node.name.clone(),
                            what: what.to_string(),
                        });
                    }
                } else if node.is_dir() {
                    let sub = match node.subtree {
                        Some(sub) => self.rewrite(sub).await?,
                        None => Rewrite::Unreadable("the node names no subtree".into()),
                    };
                    match sub {
                        Rewrite::Same => {}
                        Rewrite::New(new, below) => {
                            node.subtree = Some(new);
                            changes.extend(below.iter().map(|c| c.under(&node.name)));
                        }
                        Rewrite::Unreadable(why) => {
                            node.subtree = Some(self.add_tree(&mut Tree::default()));
                            changes.push(Change {
                                kind: "dir",
                                path: node.name.clone(),
                                what: format!("replaced with empty directory ({why})"),
                            });
                        }
                    }
                }
            }
            let result = if changes.is_empty() {
                Rewrite::Same
            } else {
                Rewrite::New(self.add_tree(&mut tree), changes)
            };
            self.done.insert(id, result.clone());
            Ok(result)
        })
    }

    /// Serialise `tree` and queue it for storing unless the index has it; returns its id.
    fn add_tree(&mut self, tree: &mut Tree) -> Id {
        let blob = tree.to_blob();
        let id = Id::hash(&blob);
        if !self.repo.has_blob(BlobType::Tree, &id) && self.queued.insert(id) {
            self.new_trees.push((id, blob));
        }
        id
    }

    /// Store the queued trees in packs and index them. Returns (trees, packs) written.
    async fn store(&mut self) -> Result<(usize, usize)> {
        let trees = std::mem::take(&mut self.new_trees);
        let count = trees.len();
        let mut packs: Vec<IndexPack> = Vec::new();
        let (mut body, mut blobs) = (AlignedBuf::default(), Vec::<PackedBlob>::new());
        for (id, blob) in trees {
            let p = self.repo.prepare_blob(BlobType::Tree, id, &blob);
            blobs.push(PackedBlob {
                id,
                blob_type: BlobType::Tree,
                offset: body.len() as u32,
                length: p.bytes.len() as u32,
                uncompressed_length: p.uncompressed_length,
            });
            body.extend_from_slice(&p.bytes);
            if body.len() >= self.repo.opts.pack_size {
                let (b, bl) = (std::mem::take(&mut body), std::mem::take(&mut blobs));
                packs.push(self.repo.save_pack(b, bl).await?);
            }
        }
        if !blobs.is_empty() {
            packs.push(self.repo.save_pack(body, blobs).await?);
        }
        let n = packs.len();
        if n > 0 {
            for p in &packs {
                self.repo.index_add_pack(p);
            }
            self.repo.save_index_batched(packs, &[]).await?;
        }
        Ok((count, n))
    }
}
