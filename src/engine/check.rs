//! `check`: is the repository whole? Structure always; every byte with `read_data`.
//!
//! Each problem is reported with the file it concerns, so a user knows what is broken.
//! What harms nothing is a hint, not an error, as in restic: packs that no index lists (left
//! by an interrupted backup; `prune` removes them), packs that several index files list
//! (restic's "duplicate packs") and index files that a newer one supersedes but that are still
//! there (both left by an interrupted prune or repair; `repair index` writes one index again).
use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;

use super::backend::FileType;
use super::index::MasterIndex;
use super::pack::BlobType;
use super::repo::{Repository, Result};
use super::walk::reachable;
use super::Id;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CheckReport {
    pub errors: Vec<String>,
    pub hints: Vec<String>,
    pub packs_checked: usize,
    pub snapshots_checked: usize,
    pub bytes_read: u64,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

pub async fn check(repo: &Arc<Repository>, read_data: bool) -> Result<CheckReport> {
    let mut rep = CheckReport::default();
    // Snapshots first, then the index (restic's read order).
    let snaps = match repo.snapshots().await {
        Ok(s) => s,
        Err(e) => {
            rep.errors.push(format!("loading snapshots: {e}"));
            Vec::new()
        }
    };
    rep.snapshots_checked = snaps.len();
    if let Err(e) = repo.load_index().await {
        rep.errors.push(format!("loading index: {e}"));
        return Ok(rep);
    }
    rep.hints.extend(index_hints(&repo.index()));
    let on_disk: HashMap<String, u64> = repo
        .backend()
        .list(FileType::Pack)
        .await?
        .into_iter()
        .map(|f| (f.name, f.size))
        .collect();
    let indexed: Vec<Id> = repo.index().packs().copied().collect();
    for p in &indexed {
        if !on_disk.contains_key(&p.to_hex()) {
            rep.errors.push(format!(
                "pack {p}: listed in the index but missing from the repository"
            ));
        }
    }
    for name in on_disk.keys() {
        let id: Id = match name.parse() {
            Ok(id) => id,
            Err(_) => continue,
        };
        if !repo.index().has_pack(&id) {
            rep.hints.push(format!(
                "pack {}: not referenced in any index (run prune to remove it)",
                id.short()
            ));
        }
    }
    // Pack headers must agree with the index.
    let mut expected: HashMap<Id, Vec<(BlobType, Id, u32, u32)>> = HashMap::new();
    for ((t, id), loc) in repo.index().iter() {
        expected
            .entry(loc.pack)
            .or_default()
            .push((*t, *id, loc.offset, loc.length));
    }
    let present: Vec<(Id, u64)> = indexed
        .iter()
        .filter_map(|p| on_disk.get(&p.to_hex()).map(|s| (*p, *s)))
        .collect();
    let headers: Vec<(Id, Result<Vec<super::pack::PackedBlob>>)> =
        futures::stream::iter(present.clone())
            .map(|(p, size)| async move { (p, repo.read_pack_header(&p, size).await) })
            .buffer_unordered(8)
            .collect()
            .await;
    for (p, h) in headers {
        rep.packs_checked += 1;
        match h {
            Err(e) => rep.errors.push(format!("pack {p}: {e}")),
            Ok(blobs) => {
                for (t, id, off, len) in expected.get(&p).map(|v| v.as_slice()).unwrap_or(&[]) {
                    if !blobs.iter().any(|b| {
                        b.blob_type == *t && b.id == *id && b.offset == *off && b.length == *len
                    }) {
                        rep.errors.push(format!(
                            "pack {p}: {t} blob {} is in the index but not in the pack header",
                            id.short()
                        ));
                    }
                }
            }
        }
    }
    // Every snapshot's trees and data must be reachable.
    let mut tree_errors = Vec::new();
    let reach = reachable(repo, snaps.iter().map(|s| s.snapshot.tree), |id, e| {
        tree_errors.push(format!("tree {id}: {e}"))
    })
    .await?;
    rep.errors.extend(tree_errors);
    for id in &reach.data {
        if !repo.has_blob(BlobType::Data, id) {
            rep.errors.push(format!(
                "data blob {id} is referenced by a snapshot but not in the index"
            ));
        }
    }
    if read_data {
        let results: Vec<(Id, std::result::Result<u64, String>)> = futures::stream::iter(present)
            .map(|(p, size)| {
                let repo = repo.clone();
                async move { (p, verify_pack(&repo, p, size).await) }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        for (p, r) in results {
            match r {
                Ok(n) => rep.bytes_read += n,
                Err(e) => rep.errors.push(format!("pack {p}: {e}")),
            }
        }
    }
    Ok(rep)
}

/// restic's index hints: each pack listed by several index files, each index file that a
/// loaded one supersedes. Both are harmless (lookups take one listing) and `repair index`
/// or `prune` clears them.
fn index_hints(mi: &MasterIndex) -> Vec<String> {
    let mut hints: Vec<String> = mi
        .duplicate_packs()
        .into_iter()
        .map(|(p, files)| {
            let files: Vec<String> = files.iter().map(|f| f.short()).collect();
            format!(
                "pack {p}: contained in several indexes ({}); non-critical, \
                 `stash repair index` writes an index that lists it once",
                files.join(", ")
            )
        })
        .collect();
    hints.extend(mi.obsolete_files().into_iter().map(|(newer, older)| {
        format!(
            "index {older}: superseded by index {} but still present (obsolete index); \
             non-critical, `stash repair index` removes it",
            newer.short()
        )
    }));
    hints
}

/// Read a whole pack: its hash must be its name, and every blob must decrypt to its id.
async fn verify_pack(repo: &Arc<Repository>, p: Id, size: u64) -> std::result::Result<u64, String> {
    let raw = repo
        .backend()
        .read(FileType::Pack, &p.to_hex())
        .await
        .map_err(|e| e.to_string())?;
    if raw.len() as u64 != size {
        return Err(format!("size {} differs from listing {size}", raw.len()));
    }
    let repo2 = repo.clone();
    tokio::task::spawn_blocking(move || {
        if Id::hash(&raw) != p {
            return Err(
                "content does not match its name (hash mismatch): the pack is corrupt".to_string(),
            );
        }
        let blobs = match super::pack::decode_header(repo2.key(), &raw, raw.len() as u64) {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => return Err("header length inconsistent".into()),
            Err(e) => return Err(e.to_string()),
        };
        let mut raw = Vec::from(raw);
        for b in blobs {
            let loc = b.location(p);
            let s = &mut raw[b.offset as usize..(b.offset + b.length) as usize];
            repo2
                .decode_blob(b.blob_type, &b.id, &loc, s)
                .map_err(|e| e.to_string())?;
        }
        Ok(raw.len() as u64)
    })
    .await
    .map_err(|e| e.to_string())?
}
