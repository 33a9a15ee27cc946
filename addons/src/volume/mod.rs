//! Volume addon: Stash's `pvc-backup`/`pvc-restore` (and the workload sidecar's path backup) as
//! thin wrappers over the engine's file backup and restore, which keep modes, owners (when run
//! as root), times, symlinks and empty directories. Files are not a stream, so this is not an
//! [`crate::Addon`]; the shape of its options matches the catalog's flags instead.
use std::path::PathBuf;
use std::sync::Arc;

use stash::engine::archiver::fs::backup_paths;
use stash::engine::archiver::{BackupStats, Progress, SnapshotOptions};
use stash::engine::restorer::{restore as restore_tree, RestoreOptions, RestoreStats};
use stash::engine::snapshot::{select, SnapshotEntry, SnapshotFilter, DEFAULT_HOST};
use stash::engine::Repository;

use crate::error::{AddonError, Result};

/// `pvc-backup`: `TARGET_PATHS`, `--exclude`, snapshot host/tags.
#[derive(Clone, Debug)]
pub struct VolumeBackupOptions {
    pub paths: Vec<PathBuf>,
    pub excludes: Vec<String>,
    pub snapshot: SnapshotOptions,
}

impl VolumeBackupOptions {
    pub fn new(paths: Vec<PathBuf>) -> Self {
        VolumeBackupOptions {
            paths,
            excludes: vec![],
            snapshot: SnapshotOptions::default(),
        }
    }
}

/// `pvc-restore`: `--snapshots`, `--hostname` (source host), `--include`, `--exclude`, and
/// the folder to restore into (snapshot paths are recreated below it, as restic does).
#[derive(Clone, Debug)]
pub struct VolumeRestoreOptions {
    pub snapshot: String,
    pub source_host: String,
    /// Only consider snapshots that include these paths (`RESTORE_PATHS`).
    pub paths: Vec<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub target: PathBuf,
}

impl VolumeRestoreOptions {
    pub fn latest(target: PathBuf) -> Self {
        VolumeRestoreOptions {
            snapshot: "latest".into(),
            source_host: DEFAULT_HOST.into(),
            paths: vec![],
            include: vec![],
            exclude: vec![],
            target,
        }
    }
}

pub async fn backup(
    repo: Arc<Repository>,
    o: &VolumeBackupOptions,
    progress: Arc<Progress>,
) -> Result<(SnapshotEntry, BackupStats)> {
    backup_paths(repo, &o.paths, &o.excludes, &o.snapshot, progress)
        .await
        .map_err(|e| AddonError::repo("backing up the volume", e))
}

pub async fn restore(
    repo: Arc<Repository>,
    o: &VolumeRestoreOptions,
    progress: Arc<Progress>,
) -> Result<(SnapshotEntry, RestoreStats)> {
    let snaps = repo
        .snapshots()
        .await
        .map_err(|e| AddonError::repo("listing snapshots", e))?;
    let filter = SnapshotFilter {
        hosts: vec![o.source_host.clone()],
        paths: o.paths.clone(),
        tags: vec![],
    };
    let snap = select(&snaps, &o.snapshot, &filter)
        .map_err(|e| AddonError::Invalid(format!("choosing the snapshot to restore: {e}")))?
        .clone();
    repo.load_index()
        .await
        .map_err(|e| AddonError::repo("loading the repository index", e))?;
    let ro = RestoreOptions {
        include: o.include.clone(),
        exclude: o.exclude.clone(),
    };
    let stats = restore_tree(&repo, snap.snapshot.tree, &o.target, &ro, &progress)
        .await
        .map_err(|e| {
            AddonError::repo(
                format!(
                    "restoring snapshot {} into {}",
                    snap.id.short(),
                    o.target.display()
                ),
                e,
            )
        })?;
    Ok((snap, stats))
}
