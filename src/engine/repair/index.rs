//! `repair index`: a new index built from the packs that are really there.
//!
//! restic 0.16's rules: an index entry is kept as it is when its pack exists with the size the
//! entry implies (reading every pack header of a large remote repository costs a request per
//! pack, and an entry that fits is what the header would say); a pack that no index lists, or
//! whose size disagrees, has its header read and is indexed from it; an entry whose pack is
//! gone is dropped. `read_all_packs` ignores the old index altogether and reads every pack
//! *whole*: its SHA-256 must be its name, which finds a pack with bytes flipped anywhere (a
//! header read alone only finds damage in the header). A pack that cannot be read or fails
//! that test is left out of the new index and named; its file stays where it is (harmless
//! once unindexed; `prune` deletes unindexed packs), so nothing is deleted that a later
//! salvage could still use.
//!
//! The new index is written first, naming every old index file in `supersedes`, and only then
//! are the old files deleted: killed in between, the repository has both, which every reader
//! accepts, and a second run removes the old ones.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::StreamExt;

use crate::engine::backend::FileType;
use crate::engine::index::{IndexFile, IndexPack};
use crate::engine::lock::Lock;
use crate::engine::pack::{self, PackedBlob};
use crate::engine::repo::{RepoError, Repository, Result};
use crate::engine::Id;

#[derive(Clone, Debug, Default)]
pub struct RepairIndexOptions {
    /// Ignore the old index and read every pack in full (restic's `--read-all-packs`).
    pub read_all_packs: bool,
}

/// What `repair index` found and did. Lists are sorted by id.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RepairIndexReport {
    /// Pack files in the repository.
    pub packs_listed: usize,
    /// Packs whose old index entry fitted and was kept without reading the pack.
    pub packs_reused: usize,
    /// Packs read (their header, or whole with `read_all_packs`).
    pub packs_read: usize,
    /// Packs no readable index listed, now indexed from their header.
    pub packs_added: Vec<Id>,
    /// Packs whose size disagreed with their index entry, indexed again from their header.
    pub packs_reindexed: Vec<Id>,
    /// Packs the old index listed that are not in the repository: their entries are gone.
    pub packs_removed: Vec<Id>,
    /// Packs left out of the new index because they cannot be read or are corrupt, and why.
    /// Their blobs are lost to the snapshots that use them (`repair snapshots` next).
    pub packs_damaged: Vec<(Id, String)>,
    /// Old index files that could not be read, and why (replaced like the others).
    pub index_files_unreadable: Vec<(Id, String)>,
    pub index_files_written: usize,
    pub index_files_removed: usize,
}

/// Rebuild the index under an exclusive lock.
pub async fn repair_index(
    repo: &Arc<Repository>,
    opts: &RepairIndexOptions,
) -> Result<RepairIndexReport> {
    let lock = Lock::acquire(repo.clone(), true).await?;
    let r = run(repo, opts).await;
    lock.release().await;
    r
}

/// Rebuild the index while the caller holds an exclusive lock.
pub async fn run(repo: &Arc<Repository>, opts: &RepairIndexOptions) -> Result<RepairIndexReport> {
    let mut rep = RepairIndexReport::default();
    let conns = repo.opts.connections.max(1);
    let old_files: Vec<Id> = repo
        .backend()
        .list(FileType::Index)
        .await?
        .into_iter()
        .filter_map(|f| f.name.parse().ok())
        .collect();

    // Per pack, every listing the old index files give (usually one).
    let mut listed: HashMap<Id, Vec<Vec<PackedBlob>>> = HashMap::new();
    if !opts.read_all_packs {
        let loaded: Vec<(Id, Result<IndexFile>)> = futures::stream::iter(old_files.clone())
            .map(|id| async move {
                let name = id.to_hex();
                (
                    id,
                    repo.load_json::<IndexFile>(FileType::Index, &name).await,
                )
            })
            .buffer_unordered(conns * 2)
            .collect()
            .await;
        for (id, f) in loaded {
            match f {
                Ok(f) => {
                    for p in f.packs {
                        let blobs = p.blobs.iter().map(|b| b.to_packed()).collect();
                        listed.entry(p.id).or_default().push(blobs);
                    }
                }
                // A transient failure must not make us forget a whole index file's packs.
                Err(RepoError::Backend(e)) if !e.is_not_found() => {
                    return Err(RepoError::Backend(e))
                }
                Err(e) => rep.index_files_unreadable.push((id, e.to_string())),
            }
        }
    }

    let on_disk: BTreeMap<Id, u64> = repo
        .backend()
        .list(FileType::Pack)
        .await?
        .into_iter()
        .filter_map(|f| f.name.parse().ok().map(|id| (id, f.size)))
        .collect();
    rep.packs_listed = on_disk.len();

    let mut new_index: Vec<IndexPack> = Vec::new();
    let mut to_read: Vec<(Id, u64)> = Vec::new();
    for (p, &size) in &on_disk {
        let fitting = listed
            .get(p)
            .and_then(|ls| ls.iter().find(|l| pack::expected_size(l) == size));
        match fitting {
            Some(blobs) => {
                rep.packs_reused += 1;
                new_index.push(IndexPack::from_packed(*p, blobs));
            }
            None => {
                if listed.contains_key(p) {
                    rep.packs_reindexed.push(*p);
                } else if !opts.read_all_packs {
                    rep.packs_added.push(*p);
                }
                to_read.push((*p, size));
            }
        }
    }
    rep.packs_removed = listed
        .keys()
        .filter(|p| !on_disk.contains_key(p))
        .copied()
        .collect();
    rep.packs_removed.sort();

    let whole = opts.read_all_packs;
    let read: Vec<(Id, Result<Vec<PackedBlob>>)> = futures::stream::iter(to_read)
        .map(|(p, size)| async move {
            let blobs = if whole {
                read_whole_pack(repo, p, size).await
            } else {
                repo.read_pack_header(&p, size).await
            };
            (p, blobs)
        })
        .buffer_unordered(if whole { conns + 1 } else { conns * 4 })
        .collect()
        .await;
    rep.packs_read = read.len();
    for (p, blobs) in read {
        match blobs {
            Ok(blobs) => new_index.push(IndexPack::from_packed(p, &blobs)),
            Err(RepoError::Backend(e)) if !e.is_not_found() => return Err(RepoError::Backend(e)),
            Err(e) => rep.packs_damaged.push((p, reason(e))),
        }
    }
    rep.packs_damaged.sort_by_key(|d| d.0);
    let damaged = |p: &Id| rep.packs_damaged.iter().any(|(d, _)| d == p);
    let (added, reindexed) = (&rep.packs_added, &rep.packs_reindexed);
    let added: Vec<Id> = added.iter().filter(|p| !damaged(p)).copied().collect();
    let reindexed: Vec<Id> = reindexed.iter().filter(|p| !damaged(p)).copied().collect();
    (rep.packs_added, rep.packs_reindexed) = (added, reindexed);

    new_index.sort_by_key(|p| p.id);
    let written = repo.save_index_batched(new_index, &old_files).await?;
    rep.index_files_written = written.len();
    for old in old_files.iter().filter(|f| !written.contains(f)) {
        repo.backend()
            .remove(FileType::Index, &old.to_hex())
            .await?;
        rep.index_files_removed += 1;
    }
    repo.load_index().await?;
    Ok(rep)
}

/// Read pack `p` in full: its hash must be its name, and its header must describe it.
async fn read_whole_pack(repo: &Arc<Repository>, p: Id, size: u64) -> Result<Vec<PackedBlob>> {
    let raw = repo.backend().read(FileType::Pack, &p.to_hex()).await?;
    let what = format!("pack {p}");
    if raw.len() as u64 != size {
        return Err(RepoError::corrupt(
            what,
            format!("read {} bytes, but it is listed with {size}", raw.len()),
        ));
    }
    let repo = repo.clone();
    tokio::task::spawn_blocking(move || {
        if Id::hash(&raw) != p {
            return Err(RepoError::corrupt(
                what,
                "content does not match its name (hash mismatch)",
            ));
        }
        match pack::decode_header(repo.key(), &raw, size) {
            Ok(Ok(blobs)) => Ok(blobs),
            Ok(Err(_)) => Err(RepoError::corrupt(what, "header length inconsistent")),
            Err(e) => Err(RepoError::corrupt(what, e)),
        }
    })
    .await
    .map_err(|e| RepoError::Other(format!("reading pack {p}: {e}")))?
}

/// Why a pack was left out, without the pack's name (the report pairs it with the id).
fn reason(e: RepoError) -> String {
    match e {
        RepoError::Corrupt { detail, .. } => detail,
        RepoError::Decrypt { source, .. } => format!("cannot be decrypted: {source}"),
        e => e.to_string(),
    }
}
