//! `prune`: drop blobs no snapshot references; repack packs that are partly used.
//!
//! Order keeps the repository valid at every step (restic's invariants): write repacked packs,
//! write the new index, delete the old index files, and only then delete obsolete packs.
//! Runs under an exclusive lock, so packs that no index lists can only be leftovers of
//! interrupted backups and are deleted too.
//!
//! A damaged repository is not pruned (restic refuses too): a pack the index lists that is
//! missing or has the wrong size, or a pack to repack whose blobs do not decrypt to their ids,
//! stops prune before it deletes anything, and what it had written is removed again. Deleting
//! from a damaged repository could throw away what a repair would still save; the refusal
//! names the packs and points at `repair index` and `repair snapshots` (`super::repair`).
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};

use super::aligned::AlignedBuf;
use super::backend::FileType;
use super::index::{IndexFile, IndexPack};
use super::lock::Lock;
use super::pack::{BlobType, PackedBlob};
use super::repo::{RepoError, Repository, Result};
use super::walk::reachable;
use super::Id;

#[derive(Clone, Debug)]
pub struct PruneOptions {
    /// Tolerated unused space, as a fraction of the repository (restic's `--max-unused`, default 5%).
    pub max_unused: f64,
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            max_unused: 0.05,
            dry_run: false,
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PruneStats {
    pub packs_deleted: usize,
    pub packs_repacked: usize,
    pub packs_unindexed_deleted: usize,
    pub blobs_removed: usize,
    pub bytes_freed: u64,
    pub packs_written: usize,
    pub index_files_replaced: usize,
    /// Half-written files of killed writers (local `tmp/`), removed.
    pub temp_files_deleted: usize,
}

/// Run prune (takes its own exclusive lock).
pub async fn prune(repo: &Arc<Repository>, opts: &PruneOptions) -> Result<PruneStats> {
    let lock = Lock::acquire(repo.clone(), true).await?;
    let r = run(repo, opts).await;
    lock.release().await;
    r
}

/// Prune while the caller already holds an exclusive lock.
pub async fn run(repo: &Arc<Repository>, opts: &PruneOptions) -> Result<PruneStats> {
    let snaps = repo.snapshots().await?;
    repo.load_index().await?;
    let mut unreadable: Vec<(String, String)> = Vec::new();
    let used = reachable(repo, snaps.iter().map(|s| s.snapshot.tree), |id, e| {
        unreadable.push((format!("tree {id}"), e.to_string()));
    })
    .await?;
    unreadable.extend(
        used.data
            .iter()
            .filter(|id| !repo.has_blob(BlobType::Data, id))
            .map(|id| {
                (
                    format!("data blob {id}"),
                    "a snapshot references it, but no index lists it".to_string(),
                )
            }),
    );
    if !unreadable.is_empty() {
        unreadable.sort();
        return Err(refusal(&unreadable));
    }

    // Per pack, every blob the index files list for it (duplicates included: the master
    // index keeps one copy of each blob), split into used and not. A blob counts as used in
    // the pack that holds its indexed copy only.
    let sizes: HashMap<String, u64> = repo
        .backend()
        .list(FileType::Pack)
        .await?
        .into_iter()
        .map(|f| (f.name, f.size))
        .collect();
    let files: Vec<Id> = repo.index().files.clone();
    let index_files: Vec<IndexFile> = futures::stream::iter(files)
        .map(|f| async move {
            repo.load_json::<IndexFile>(FileType::Index, &f.to_hex())
                .await
        })
        .buffer_unordered(repo.opts.connections.max(1) * 2)
        .try_collect()
        .await?;
    let mut packs: HashMap<Id, (Vec<PackedBlob>, Vec<PackedBlob>)> = HashMap::new();
    for p in index_files.iter().flat_map(|f| &f.packs) {
        if packs.contains_key(&p.id) {
            // Listed by two index files (an interrupted prune): one listing is enough.
            continue;
        }
        let e = packs.entry(p.id).or_default();
        for b in &p.blobs {
            let indexed_here = repo
                .lookup(b.blob_type, &b.id)
                .is_some_and(|l| l.pack == p.id);
            if indexed_here && used.contains(b.blob_type, &b.id) {
                e.0.push(b.to_packed());
            } else {
                e.1.push(b.to_packed());
            }
        }
    }
    let mut damaged: Vec<(String, String)> = packs
        .iter()
        .filter_map(|(p, (u, x))| {
            let listed: Vec<PackedBlob> = u.iter().chain(x).copied().collect();
            let want = super::pack::expected_size(&listed);
            let why = match sizes.get(&p.to_hex()) {
                None => "missing from the repository".to_string(),
                Some(&got) if got != want => {
                    format!("{got} bytes, but its index entry says {want}")
                }
                Some(_) => return None,
            };
            Some((format!("pack {p}"), why))
        })
        .collect();
    if !damaged.is_empty() {
        damaged.sort();
        return Err(refusal(&damaged));
    }
    let indexed: HashSet<Id> = packs.keys().copied().collect();
    let mut stats = PruneStats::default();
    let mut delete: Vec<Id> = Vec::new();
    let mut partly: Vec<(Id, u64, u64)> = Vec::new(); // pack, used bytes, unused bytes
    let mut total: u64 = 0;
    let mut unused_total: u64 = 0;
    for (p, (u, x)) in &packs {
        let size = sizes.get(&p.to_hex()).copied().unwrap_or(0);
        total += size;
        let ub: u64 = u.iter().map(|b| b.length as u64).sum();
        if u.is_empty() {
            delete.push(*p);
            stats.blobs_removed += x.len();
            stats.bytes_freed += size;
        } else if !x.is_empty() {
            let xb = size.saturating_sub(ub);
            unused_total += xb;
            partly.push((*p, ub, xb));
        }
    }
    // Repack the emptiest packs first until what stays unused is within the limit.
    partly.sort_by(|a, b| {
        (b.2 * a.1.max(1))
            .cmp(&(a.2 * b.1.max(1)))
            .then(a.0.cmp(&b.0))
    });
    let limit = (opts.max_unused * total as f64) as u64;
    let mut repack: Vec<Id> = Vec::new();
    for (p, _ub, xb) in &partly {
        if unused_total <= limit {
            break;
        }
        repack.push(*p);
        unused_total -= xb;
    }
    stats.packs_deleted = delete.len();
    stats.packs_repacked = repack.len();
    let unindexed: Vec<String> = sizes
        .keys()
        .filter(|n| {
            n.parse::<Id>()
                .map(|id| !indexed.contains(&id))
                .unwrap_or(false)
        })
        .cloned()
        .collect();
    stats.packs_unindexed_deleted = unindexed.len();
    stats.bytes_freed += unindexed.iter().map(|n| sizes[n]).sum::<u64>();
    // Under the exclusive lock no writer runs, so whatever waits in tmp/ was abandoned.
    let (temp_files, temp_bytes) = repo.backend().remove_leftovers(opts.dry_run).await?;
    stats.temp_files_deleted = temp_files;
    stats.bytes_freed += temp_bytes;
    if opts.dry_run {
        return Ok(stats);
    }

    let mut new_packs: Vec<IndexPack> = Vec::new();
    let repacked = repack_packs(repo, &repack, &packs, &mut new_packs).await;
    if !matches!(&repacked, Ok(corrupt) if corrupt.is_empty()) {
        // Leave the repository as it was: drop what was written (no index names it yet).
        for p in &new_packs {
            let _ = repo.backend().remove(FileType::Pack, &p.id.to_hex()).await;
        }
    }
    let corrupt = repacked?;
    if !corrupt.is_empty() {
        return Err(refusal(&corrupt));
    }
    stats.packs_written = new_packs.len();

    // New index: every kept pack with all its blobs, as restic keeps them (its `check`
    // compares a pack's size with what the index lists; unused blobs stay until the pack is
    // repacked), plus the repacked ones.
    let gone: HashSet<Id> = delete.iter().chain(repack.iter()).copied().collect();
    let mut kept: Vec<IndexPack> = packs
        .iter()
        .filter(|(p, _)| !gone.contains(p))
        .map(|(p, (u, x))| {
            let mut blobs: Vec<PackedBlob> = u.iter().chain(x).copied().collect();
            blobs.sort_by_key(|b| b.offset);
            IndexPack::from_packed(*p, &blobs)
        })
        .collect();
    kept.extend(new_packs);
    let old_index: Vec<Id> = repo.index().files.clone();
    repo.save_index_batched(kept, &old_index).await?;
    stats.index_files_replaced = old_index.len();
    for id in &old_index {
        repo.backend().remove(FileType::Index, &id.to_hex()).await?;
    }
    let removals: Vec<String> = gone.iter().map(|p| p.to_hex()).chain(unindexed).collect();
    let results: Vec<Result<()>> = futures::stream::iter(removals)
        .map(|name| async move {
            repo.backend()
                .remove(FileType::Pack, &name)
                .await
                .map_err(RepoError::from)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for r in results {
        r?;
    }
    repo.load_index().await?;
    Ok(stats)
}

/// Copies the used blobs of `repack` into new packs (their encrypted bytes, no re-encryption),
/// appending each written pack to `written`. Every blob is verified before it is copied, so
/// corrupt data never moves into a new pack; a pack with a blob that fails is listed in the
/// result, and from then on packs are only verified, not written, so that every damaged pack
/// is named at once.
async fn repack_packs(
    repo: &Arc<Repository>,
    repack: &[Id],
    packs: &HashMap<Id, (Vec<PackedBlob>, Vec<PackedBlob>)>,
    written: &mut Vec<IndexPack>,
) -> Result<Vec<(String, String)>> {
    let mut damaged: Vec<(Id, String)> = Vec::new();
    for t in [BlobType::Data, BlobType::Tree] {
        let mut body = AlignedBuf::default();
        let mut blobs: Vec<PackedBlob> = Vec::new();
        for p in repack {
            let keep: Vec<PackedBlob> = packs[p]
                .0
                .iter()
                .filter(|b| b.blob_type == t)
                .copied()
                .collect();
            if keep.is_empty() || damaged.iter().any(|(d, _)| d == p) {
                continue;
            }
            let raw = repo.backend().read(FileType::Pack, &p.to_hex()).await?;
            let bad = keep.iter().find_map(|b| {
                let mut bytes = raw[b.offset as usize..(b.offset + b.length) as usize].to_vec();
                repo.decode_blob(b.blob_type, &b.id, &b.location(*p), &mut bytes)
                    .err()
                    .map(|e| format!("{} blob {}: {e}", b.blob_type, b.id.short()))
            });
            if let Some(e) = bad {
                damaged.push((*p, e));
                continue;
            }
            if !damaged.is_empty() {
                continue;
            }
            for b in keep {
                let offset = body.len() as u32;
                body.extend_from_slice(&raw[b.offset as usize..(b.offset + b.length) as usize]);
                blobs.push(PackedBlob { offset, ..b });
                if body.len() >= repo.opts.pack_size {
                    written.push(
                        repo.save_pack(std::mem::take(&mut body), std::mem::take(&mut blobs))
                            .await?,
                    );
                }
            }
        }
        if damaged.is_empty() && !blobs.is_empty() {
            written.push(repo.save_pack(body, blobs).await?);
        }
    }
    Ok(damaged
        .into_iter()
        .map(|(p, why)| (format!("pack {p}"), why))
        .collect())
}

/// The error of a prune that found the repository damaged: every pack, tree or blob and what
/// is wrong with it, that nothing was changed, and how to repair.
fn refusal(damaged: &[(String, String)]) -> RepoError {
    let packs: String = damaged
        .iter()
        .map(|(what, why)| format!("\n  {what}: {why}"))
        .collect();
    RepoError::Other(format!(
        "refusing to prune a damaged repository; nothing was changed:{packs}\n\
         `stash check --read-data` shows what is affected. To repair, keeping everything that \
         can still be read: `stash repair index` (add `--read-all-packs` when a pack is corrupt \
         rather than missing), then `stash repair snapshots --forget`; then prune again. \
         restic's own `repair index` and `repair snapshots` (0.16 or later) work on this \
         repository too."
    ))
}
