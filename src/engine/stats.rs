//! `stats`: how big the snapshots are when restored, and what the repository stores.
//!
//! The restore-size figures count as restic's `stats` (its default mode) does, so that both
//! tools print the same numbers for the same snapshots: every node of every chosen snapshot
//! is one "file" (folders, symlinks and the rest included; a folder met twice, in two
//! snapshots or twice in one, counts twice), and the size is the sum of the nodes' sizes,
//! a hard-linked file's (same inode and device, more than one link) once per snapshot.
use std::collections::HashSet;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::backend::FileType;
use super::pack::BlobType;
use super::repo::{Repository, Result};
use super::restorer::load_tree;
use super::snapshot::SnapshotEntry;
use super::tree::Node;
use super::Id;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RepoStats {
    pub snapshots_count: usize,
    /// Nodes and bytes a restore of every chosen snapshot would write (restic's restore-size).
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

/// What one snapshot's walk has seen: data blobs across snapshots, hard links within it.
struct Seen<'a> {
    blobs: &'a mut HashSet<Id>,
    /// (inode, device) of hard-linked files already counted in this snapshot.
    links: HashSet<(u64, u64)>,
}

/// Count `node` as restic's restore-size mode does.
fn count_node(st: &mut RepoStats, links: &mut HashSet<(u64, u64)>, n: &Node) {
    st.total_file_count += 1;
    // A file that may have other links (restic: not exactly one) is counted once per
    // (inode, device); folders and nodes without an inode always count.
    let linked = n.links != 1 && !n.is_dir() && n.inode != 0;
    if !linked || links.insert((n.inode, n.device_id)) {
        st.total_size += n.size;
    }
}

fn walk<'a>(
    repo: &'a Repository,
    tree: Id,
    st: &'a mut RepoStats,
    seen: &'a mut Seen<'_>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let t = load_tree(repo, &tree).await?;
        for n in &t.nodes {
            count_node(st, &mut seen.links, n);
            if n.is_file() {
                for id in n.content.iter().flatten() {
                    if seen.blobs.insert(*id) {
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
    let mut blobs = HashSet::new();
    for s in snaps {
        let mut seen = Seen {
            blobs: &mut blobs,
            links: HashSet::new(),
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_counts_and_hard_links_once_per_snapshot() {
        let t = "2024-01-01T00:00:00Z".parse().unwrap();
        let node = |name: &str, kind: &str, size: u64, inode: u64, links: u64| {
            let mut n = Node::new(name, kind, t);
            (n.size, n.inode, n.device_id, n.links) = (size, inode, 7, links);
            n
        };
        let mut st = RepoStats::default();
        let mut links = HashSet::new();
        for n in [
            node("dir", "dir", 0, 1, 2),
            node("a", "file", 100, 2, 1),
            node("b", "file", 10, 3, 2),
            node("b-again", "file", 10, 3, 2),
            node("link", "symlink", 5, 4, 1),
            node("fifo", "fifo", 0, 5, 1),
            node("old", "file", 1, 0, 0),
            node("old2", "file", 1, 0, 0),
        ] {
            count_node(&mut st, &mut links, &n);
        }
        assert_eq!((st.total_file_count, st.total_size), (8, 100 + 10 + 5 + 2));
        // The next snapshot counts its own hard links again.
        count_node(&mut st, &mut HashSet::new(), &node("b", "file", 10, 3, 2));
        assert_eq!((st.total_file_count, st.total_size), (9, 127));
    }
}
