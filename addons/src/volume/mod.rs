//! Volume addon: Stash's `pvc-backup`/`pvc-restore` and the workload sidecar's path backup, as
//! thin wrappers over the engine's file backup and restore, which keep modes, owners (when run
//! as root), times, symlinks and empty directories. Files are not a stream, so this is not an
//! [`crate::Addon`]; the shape of its options matches the catalog's flags instead.
//!
//! As in Stash, each path is its own snapshot (`restic backup <path>` once per path), and a
//! restore takes, per path, the latest snapshot of that path (`restic restore latest --path p
//! --host h --target /`), or the snapshots it is given. Paths are the pod's: `mounts` (a
//! [`PathMap`]) says where the pod's volumes are on this machine, so a snapshot records
//! `/stash-data` or `/var/lib/app` exactly as a backup inside the pod would, while the files
//! are read from, and restored to, the host folders behind them. Without mounts, paths are
//! this machine's own.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stash::engine::archiver::fs::backup_mapped;
use stash::engine::archiver::{BackupStats, Progress, SnapshotOptions};
use stash::engine::pathmap::PathMap;
use stash::engine::restorer::{restore_mapped, RestoreOptions, RestoreStats};
use stash::engine::snapshot::{select, SnapshotEntry, SnapshotFilter, DEFAULT_HOST};
use stash::engine::Repository;

use crate::error::{AddonError, Result};

/// `pvc-backup`: `TARGET_PATHS`, `--exclude`, snapshot host/tags, and where the paths are.
#[derive(Clone, Debug)]
pub struct VolumeBackupOptions {
    /// Paths as the pod names them; one snapshot each.
    pub paths: Vec<PathBuf>,
    /// restic patterns, matched against the pod's paths.
    pub excludes: Vec<String>,
    pub snapshot: SnapshotOptions,
    /// The pod's mounts (identity: the paths are this machine's).
    pub mounts: PathMap,
}

impl VolumeBackupOptions {
    pub fn new(paths: Vec<PathBuf>) -> Self {
        VolumeBackupOptions {
            paths,
            excludes: vec![],
            snapshot: SnapshotOptions::default(),
            mounts: PathMap::identity(),
        }
    }
}

/// The snapshot of one path.
#[derive(Clone, Debug)]
pub struct PathBackup {
    pub snapshot: SnapshotEntry,
    pub stats: BackupStats,
    /// Files read for it.
    pub files: u64,
    pub took: Duration,
}

/// `pvc-restore`: a rule (`--snapshots`, `--restore-paths`, `--include`, `--exclude`), the host
/// whose snapshots are restored, and where the snapshot's paths go.
#[derive(Clone, Debug)]
pub struct VolumeRestoreOptions {
    /// Snapshot ids, id prefixes or `latest` (of the source host), each restored whole
    /// (`RESTORE_SNAPSHOTS`); when set, `paths` are not looked at.
    pub snapshots: Vec<String>,
    /// Otherwise, for each path, the source host's latest snapshot of it (`RESTORE_PATHS`).
    /// With neither: the latest snapshot of every path the source host has.
    pub paths: Vec<String>,
    pub source_host: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Where the snapshot's paths are restored: the pod's mounts, or [`PathMap::under`] a
    /// folder (restic's `--target`). Paths on no mount are not restored.
    pub mounts: PathMap,
}

impl VolumeRestoreOptions {
    /// The latest snapshot of each path of `host-0`, below `target`.
    pub fn latest(target: PathBuf) -> Self {
        VolumeRestoreOptions {
            snapshots: vec![],
            paths: vec![],
            source_host: DEFAULT_HOST.into(),
            include: vec![],
            exclude: vec![],
            mounts: PathMap::under(target),
        }
    }
}

/// Backs up each path into a snapshot of its own, in order; stops at the first failure
/// (the snapshots taken before it stay).
pub async fn backup(
    repo: Arc<Repository>,
    o: &VolumeBackupOptions,
    progress: Arc<Progress>,
) -> Result<Vec<PathBackup>> {
    if o.paths.is_empty() {
        return Err(AddonError::Invalid(
            "no paths to back up: name the folders (the target's paths)".into(),
        ));
    }
    let mut out = Vec::new();
    for path in &o.paths {
        let start = Instant::now();
        let files_before = Progress::get(&progress.files);
        let (snapshot, stats) = backup_mapped(
            repo.clone(),
            std::slice::from_ref(path),
            &o.mounts,
            &o.excludes,
            &o.snapshot,
            progress.clone(),
        )
        .await
        .map_err(|e| AddonError::repo(format!("backing up {}", path.display()), e))?;
        out.push(PathBackup {
            snapshot,
            stats,
            files: Progress::get(&progress.files) - files_before,
            took: start.elapsed(),
        });
    }
    Ok(out)
}

/// The snapshots a restore takes, oldest first, each once.
fn chosen<'a>(
    snaps: &'a [SnapshotEntry],
    o: &VolumeRestoreOptions,
) -> Result<Vec<&'a SnapshotEntry>> {
    let of_host = |paths: Vec<String>| SnapshotFilter {
        hosts: vec![o.source_host.clone()],
        paths,
        tags: vec![],
    };
    let pick = |which: &str, filter: SnapshotFilter| {
        select(snaps, which, &filter)
            .map_err(|e| AddonError::Invalid(format!("choosing the snapshot to restore: {e}")))
    };
    let mut out: Vec<&SnapshotEntry> = Vec::new();
    if !o.snapshots.is_empty() {
        for s in &o.snapshots {
            out.push(pick(s, of_host(vec![]))?);
        }
    } else if !o.paths.is_empty() {
        for p in &o.paths {
            out.push(pick("latest", of_host(vec![p.clone()]))?);
        }
    } else {
        let mut groups: Vec<Vec<String>> = snaps
            .iter()
            .filter(|s| s.snapshot.hostname == o.source_host)
            .map(|s| s.snapshot.paths.clone())
            .collect();
        groups.sort();
        groups.dedup();
        if groups.is_empty() {
            return Err(AddonError::Invalid(format!(
                "choosing the snapshot to restore: host {} has no snapshots",
                o.source_host
            )));
        }
        for paths in groups {
            out.push(pick("latest", of_host(paths))?);
        }
    }
    out.sort_by_key(|s| s.snapshot.time);
    out.dedup_by_key(|s| s.id);
    Ok(out)
}

/// Restores the chosen snapshots through `mounts`. A snapshot holding a path that no mount
/// reaches is refused before anything is written: its data would have nowhere to go.
pub async fn restore(
    repo: Arc<Repository>,
    o: &VolumeRestoreOptions,
    progress: Arc<Progress>,
) -> Result<Vec<(SnapshotEntry, RestoreStats)>> {
    let snaps = repo
        .snapshots()
        .await
        .map_err(|e| AddonError::repo("listing snapshots", e))?;
    let chosen = chosen(&snaps, o)?;
    for s in &chosen {
        if let Some(p) = s
            .snapshot
            .paths
            .iter()
            .find(|p| o.mounts.host_of(p).is_none())
        {
            let mounted: Vec<&str> = o.mounts.mounts().iter().map(|(m, _)| m.as_str()).collect();
            return Err(AddonError::Invalid(format!(
                "snapshot {} holds {p}, which is on none of the target's volumes ({}): mount a volume there (the target's volumeMounts)",
                s.id.short(),
                mounted.join(", ")
            )));
        }
    }
    repo.load_index()
        .await
        .map_err(|e| AddonError::repo("loading the repository index", e))?;
    let ro = RestoreOptions {
        include: o.include.clone(),
        exclude: o.exclude.clone(),
    };
    let mut out = Vec::new();
    for snap in chosen {
        let stats = restore_mapped(&repo, snap.snapshot.tree, &o.mounts, &ro, &progress)
            .await
            .map_err(|e| {
                AddonError::repo(
                    format!(
                        "restoring snapshot {} ({})",
                        snap.id.short(),
                        snap.snapshot.paths.join(", ")
                    ),
                    e,
                )
            })?;
        out.push((snap.clone(), stats));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
