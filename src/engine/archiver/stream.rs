//! Back up one byte stream as one file of a snapshot (restic's `--stdin --stdin-filename`).
//!
//! This is the path every database addon takes: `pg_dumpall | stash backup --stdin` without
//! the pipe. The snapshot looks exactly like restic's stdin snapshots: one root tree holding
//! one regular file, and `paths = ["/<name>"]`.
use std::sync::Arc;

use chrono::Local;
use tokio::io::AsyncRead;

use super::{BackupStats, BlobSaver, Progress, SnapshotOptions};
use crate::engine::backend::FileType;
use crate::engine::lock::Lock;
use crate::engine::repo::{RepoError, Repository, Result};
use crate::engine::snapshot::SnapshotEntry;
use crate::engine::sys;
use crate::engine::tree::{Node, Tree};

/// Validate a stream's file name: one path component, no slashes.
pub fn check_name(name: &str) -> Result<String> {
    let n = name.trim_start_matches('/');
    if n.is_empty() || n.contains('/') || n == "." || n == ".." {
        return Err(RepoError::Other(format!(
            "invalid stdin filename {name:?}: give a plain file name such as dumpfile.sql"
        )));
    }
    Ok(n.to_string())
}

/// Back up `reader` as `/<name>`. Takes a shared lock for the duration.
pub async fn backup_stream<R: AsyncRead + Unpin>(
    repo: Arc<Repository>,
    reader: R,
    name: &str,
    opts: &SnapshotOptions,
    progress: Arc<Progress>,
) -> Result<(SnapshotEntry, BackupStats)> {
    let name = check_name(name)?;
    let lock = Lock::acquire(repo.clone(), false).await?;
    let res = run(&repo, reader, &name, opts, progress).await;
    lock.release().await;
    res
}

async fn run<R: AsyncRead + Unpin>(
    repo: &Arc<Repository>,
    reader: R,
    name: &str,
    opts: &SnapshotOptions,
    progress: Arc<Progress>,
) -> Result<(SnapshotEntry, BackupStats)> {
    repo.load_index().await?;
    let saver = BlobSaver::new(repo.clone(), progress.clone());
    let (content, size) = saver.save_stream(reader).await?;
    let now = Local::now().fixed_offset();
    let mut node = Node::new(name, "file", now);
    node.mode = 0o644;
    node.uid = sys::uid();
    node.gid = sys::gid();
    node.user = sys::username();
    node.group = sys::group_name(node.gid);
    node.size = size;
    node.content = Some(content);
    Progress::add(&progress.files, 1);
    let mut root = Tree { nodes: vec![node] };
    let tree_id = saver.save_tree(root.to_blob()).await?;
    let mut stats = saver.finish().await?;
    stats.files.new = 1;
    stats.bytes_processed = size;
    let snap = opts.build(opts.time_or_now(), None, tree_id, vec![format!("/{name}")]);
    let id = repo.save_json(FileType::Snapshot, &snap).await?;
    Ok((SnapshotEntry { id, snapshot: snap }, stats))
}
