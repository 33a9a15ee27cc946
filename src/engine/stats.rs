//! `stats`: how big the snapshots are when restored, and what the repository stores.
use std::collections::HashSet;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::backend::FileType;
use super::pack::BlobType;
use super::repo::{Repository, Result};
use super::restorer::load_tree;
use super::snapshot::SnapshotEntry;
use super::Id;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RepoStats {
    pub snapshots_count: usize,
    /// Files and bytes a restore of every chosen snapshot would write (restic's restore-size).
    pub total_file_count: u64,
    pub total_size: u64,
    /// Distinct data blobs referenced, their plaintext and stored sizes (restic's raw-data).
    pub total_blob_count: u64,
    pub total_uncompressed_size: u64,
    pub total_packed_size: u64,
    /// Bytes of all pack files.
    pub pack_bytes: u64,
    pub compression_ratio: f64,
}

fn walk<'a>(
    repo: &'a Repository,
    tree: Id,
    st: &'a mut RepoStats,
    seen: &'a mut HashSet<Id>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let t = load_tree(repo, &tree).await?;
        for n in &t.nodes {
            if n.is_file() {
                st.total_file_count += 1;
                st.total_size += n.size;
                for id in n.content.iter().flatten() {
                    if seen.insert(*id) {
                        if let Some(loc) = repo.lookup(BlobType::Data, id) {
                            st.total_blob_count += 1;
                            st.total_uncompressed_size += loc.data_length() as u64;
                            st.total_packed_size += loc.length as u64;
                        }
                    }
                }
            }
            if let Some(s) = n.subtree {
                walk(repo, s, st, seen).await?;
            }
        }
        Ok(())
    })
}

pub async fn stats(repo: &Arc<Repository>, snaps: &[SnapshotEntry]) -> Result<RepoStats> {
    repo.load_index().await?;
    let mut st = RepoStats {
        snapshots_count: snaps.len(),
        ..Default::default()
    };
    let mut seen = HashSet::new();
    for s in snaps {
        walk(repo, s.snapshot.tree, &mut st, &mut seen).await?;
    }
    st.pack_bytes = repo
        .backend()
        .list(FileType::Pack)
        .await?
        .iter()
        .map(|f| f.size)
        .sum();
    st.compression_ratio = if st.total_packed_size > 0 {
        st.total_uncompressed_size as f64 / st.total_packed_size as f64
    } else {
        1.0
    };
    Ok(st)
}
