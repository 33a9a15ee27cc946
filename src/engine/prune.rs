//! `prune`: drop blobs no snapshot references; repack packs that are partly used.
//!
//! Order keeps the repository valid at every step (restic's invariants): write repacked packs,
//! write the new index, delete the old index files, and only then delete obsolete packs.
//! Runs under an exclusive lock, so packs that no index lists can only be leftovers of
//! interrupted backups and are deleted too.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};

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
    let mut tree_err = None;
    let used = reachable(repo, snaps.iter().map(|s| s.snapshot.tree), |id, e| {
        tree_err.get_or_insert(format!("tree {id}: {e}"));
    })
    .await?;
    if let Some(e) = tree_err {
        return Err(RepoError::Other(format!(
            "refusing to prune: a snapshot's tree cannot be read ({e}); run `stash check`"
        )));
    }
    for id in &used.data {
        if !repo.has_blob(BlobType::Data, id) {
            return Err(RepoError::Other(format!(
                "refusing to prune: data blob {id} referenced by a snapshot is missing; run `stash check`"
            )));
        }
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

    // Repack: copy used blobs' encrypted bytes into new packs (no re-encryption needed).
    let mut new_packs: Vec<IndexPack> = Vec::new();
    for t in [BlobType::Data, BlobType::Tree] {
        let mut body: Vec<u8> = Vec::new();
        let mut blobs: Vec<PackedBlob> = Vec::new();
        for p in &repack {
            let keep: Vec<PackedBlob> = packs[p]
                .0
                .iter()
                .filter(|b| b.blob_type == t)
                .copied()
                .collect();
            if keep.is_empty() {
                continue;
            }
            let raw = repo.backend().read(FileType::Pack, &p.to_hex()).await?;
            for b in keep {
                let mut bytes = raw[b.offset as usize..(b.offset + b.length) as usize].to_vec();
                let loc = b.location(*p);
                // Verify before copying: never carry corrupt data into a new pack.
                repo.decode_blob(b.blob_type, &b.id, &loc, &mut bytes.clone())?;
                let offset = body.len() as u32;
                body.append(&mut bytes);
                blobs.push(PackedBlob { offset, ..b });
                if body.len() >= repo.opts.pack_size {
                    new_packs.push(
                        repo.save_pack(std::mem::take(&mut body), std::mem::take(&mut blobs))
                            .await?,
                    );
                }
            }
        }
        if !blobs.is_empty() {
            new_packs.push(repo.save_pack(body, blobs).await?);
        }
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
