//! `stash addon volume backup|restore`: the catalog's `pvc-backup`/`pvc-restore` Functions,
//! also what local mode runs for a workload's `paths`. Each path becomes a snapshot of its own
//! (Stash runs one `restic backup` per path) and is restored to where it was (Stash's
//! `restic restore --target /`).
//!
//! Paths are the pod's. `--mount POD=HOST` (or `STASH_MOUNTS`, one mount per line, which
//! `stash run` sets for its jobs) says where the pod's volumes are on this machine: files are
//! read from and restored to the host folders, and snapshots record the pod's paths. Without
//! mounts, paths are this machine's own.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use stash::api::backup_session::FileStats;
use stash::api::TargetRef;
use stash::engine::archiver::{Progress, SnapshotOptions};
use stash::engine::pathmap::PathMap;
use stash_addons::volume::{self, VolumeBackupOptions, VolumeRestoreOptions};

use super::flags::{list, nonempty, BackupFlags, RestoreFlags};
use super::objects::Objects;
use super::report::{BackupReport, RestoreReport};
use super::{repo, retention, scratch};
use crate::cli::progress::Ticker;
use crate::cli::GlobalArgs;
use crate::volumes::MOUNTS_ENV;

#[derive(Subcommand, Debug)]
pub enum VolumeCmd {
    /// Back up folders (a mounted PVC) into a new snapshot
    Backup(VolumeBackupArgs),
    /// Restore folders from snapshots
    Restore(VolumeRestoreArgs),
}

/// The target the paths belong to (for the session's records).
#[derive(Args, Debug, Clone)]
pub struct TargetFlags {
    #[arg(long, default_value = "", hide_default_value = true)]
    pub target_kind: String,
    #[arg(long, default_value = "", hide_default_value = true)]
    pub target_name: String,
    #[arg(long, default_value = "", hide_default_value = true)]
    pub target_namespace: String,
}

impl TargetFlags {
    fn target_ref(&self, namespace: &str) -> Option<TargetRef> {
        let name = nonempty(&self.target_name)?;
        let kind = nonempty(&self.target_kind).unwrap_or("PersistentVolumeClaim");
        let api_version = match kind {
            "PersistentVolumeClaim" | "ReplicationController" => Some("v1"),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => Some("apps/v1"),
            _ => None,
        };
        Some(TargetRef {
            api_version: api_version.map(String::from),
            kind: Some(kind.to_string()),
            name: Some(name.to_string()),
            namespace: Some(
                nonempty(&self.target_namespace)
                    .unwrap_or(namespace)
                    .to_string(),
            ),
        })
    }
}

/// Where the pod's paths are on this machine.
#[derive(Args, Debug, Clone)]
pub struct MountFlags {
    /// A folder of the pod and the host folder behind it, POD=HOST (repeatable); paths on no
    /// mount are unreachable. Default: paths are this machine's own
    #[arg(long = "mount", value_name = "POD=HOST", env = MOUNTS_ENV, value_delimiter = '\n')]
    pub mounts: Vec<String>,
}

impl MountFlags {
    fn given(&self) -> Vec<&str> {
        self.mounts
            .iter()
            .map(|m| m.trim())
            .filter(|m| !m.is_empty())
            .collect()
    }

    /// The mounts, or `otherwise` when none are given.
    fn path_map(&self, otherwise: PathMap) -> anyhow::Result<PathMap> {
        let given = self.given();
        if given.is_empty() {
            return Ok(otherwise);
        }
        let parsed = given
            .into_iter()
            .map(PathMap::parse_mount)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PathMap::new(parsed)?)
    }
}

#[derive(Args, Debug)]
pub struct VolumeBackupArgs {
    #[command(flatten)]
    pub common: BackupFlags,
    #[command(flatten)]
    pub target: TargetFlags,
    #[command(flatten)]
    pub mounts: MountFlags,
    /// Comma-separated folders to back up, one snapshot each (TARGET_PATHS)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub backup_paths: String,
    /// Comma-separated exclude patterns
    #[arg(long, default_value = "", hide_default_value = true)]
    pub exclude: String,
    /// restic arguments of the target (`target.args`): not supported, ignored with a warning
    #[arg(
        long,
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub args: String,
}

#[derive(Args, Debug)]
pub struct VolumeRestoreArgs {
    #[command(flatten)]
    pub common: RestoreFlags,
    #[command(flatten)]
    pub target: TargetFlags,
    #[command(flatten)]
    pub mounts: MountFlags,
    /// Comma-separated snapshot ids (or `latest`) to restore whole (RESTORE_SNAPSHOTS)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub snapshots: String,
    /// Comma-separated paths: the latest snapshot of each of --source-hostname (RESTORE_PATHS).
    /// With neither this nor --snapshots: the latest snapshot of every path of the host
    #[arg(long, default_value = "", hide_default_value = true)]
    pub restore_paths: String,
    /// Comma-separated patterns: restore only matching files
    #[arg(long, default_value = "", hide_default_value = true)]
    pub include: String,
    /// Comma-separated patterns: do not restore matching files
    #[arg(long, default_value = "", hide_default_value = true)]
    pub exclude: String,
    /// restic arguments of the target: not supported, ignored with a warning
    #[arg(
        long,
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub args: String,
    /// Folder the snapshot's absolute paths are recreated under (Stash: /); not with --mount
    #[arg(long, default_value = "/")]
    pub target_dir: PathBuf,
}

fn warn_args(args: &str) {
    if let Some(a) = nonempty(args) {
        tracing::warn!(
            args = a,
            "--args (the target's restic arguments) are not supported and were ignored"
        );
    }
}

pub async fn run(g: &GlobalArgs, cmd: VolumeCmd) -> anyhow::Result<()> {
    match cmd {
        VolumeCmd::Backup(a) => backup(g, a).await,
        VolumeCmd::Restore(a) => restore(g, a).await,
    }
}

async fn backup(g: &GlobalArgs, a: VolumeBackupArgs) -> anyhow::Result<()> {
    let f = &a.common;
    scratch::use_scratch_dir(&f.repo.scratch_dir);
    let mut report = BackupReport::new(&f.invoker);
    report.target = a.target.target_ref(f.source.namespace());
    let res: anyhow::Result<()> = async {
        let paths: Vec<PathBuf> = list(&a.backup_paths).into_iter().map(PathBuf::from).collect();
        if paths.is_empty() {
            bail!("--backup-paths is empty: name the folders to back up (the target's paths; default /stash-data)");
        }
        warn_args(&a.args);
        let mounts = a.mounts.path_map(PathMap::identity())?;
        let objects = Objects::load(&f.source)?;
        let repo = repo::open(g, &f.repo, &f.source, &objects, true).await?;
        let opts = VolumeBackupOptions {
            paths,
            excludes: list(&a.exclude),
            snapshot: SnapshotOptions { host: report.host().to_string(), ..Default::default() },
            mounts,
        };
        let progress = Arc::new(Progress::default());
        let ticker = Ticker::start(progress.clone(), g.show_progress(), "read");
        let out = volume::backup(repo.clone(), &opts, progress.clone()).await;
        ticker.stop();
        let out = out.map_err(|e| anyhow!(stash_addons::chain(&e)))?;
        for p in &out {
            let f = &p.stats.files;
            let files = FileStats {
                total_files: Some(p.files as i64),
                new_files: Some(f.new as i64),
                modified_files: Some(f.changed as i64),
                unmodified_files: Some(f.unmodified as i64),
            };
            report.snapshot(&p.snapshot, &p.stats, files, p.took);
        }
        let unreadable: Vec<_> = out.iter().flat_map(|p| &p.stats.unreadable).collect();
        if !unreadable.is_empty() {
            let ids: Vec<String> = out.iter().map(|p| p.snapshot.id.short()).collect();
            bail!("{}", incomplete_message(&ids, &unreadable));
        }
        report.repository = retention::apply_unless_controlled(&repo, &f.retention).await?;
        Ok(())
    }
    .await;
    report.finish(g, "volume", res)
}

/// Entries named in a failed target's message; the rest are counted.
const UNREADABLE_SHOWN: usize = 10;

/// Why a backup whose snapshots lack unreadable entries is not a success: which snapshots
/// were saved without what, and how to fix it.
fn incomplete_message(ids: &[String], unreadable: &[impl std::fmt::Display]) -> String {
    let mut shown: Vec<String> = unreadable
        .iter()
        .take(UNREADABLE_SHOWN)
        .map(|s| s.to_string())
        .collect();
    if unreadable.len() > UNREADABLE_SHOWN {
        shown.push("…".into());
    }
    let n = unreadable.len();
    format!(
        "{n} {} could not be read and {} missing from snapshot(s) {}: {}; let the backup run as \
         a user that can read them (spec.runtimeSettings) or exclude them (target.exclude)",
        if n == 1 { "entry" } else { "entries" },
        if n == 1 { "is" } else { "are" },
        ids.join(", "),
        shown.join("; ")
    )
}

async fn restore(g: &GlobalArgs, a: VolumeRestoreArgs) -> anyhow::Result<()> {
    let f = &a.common;
    scratch::use_scratch_dir(&f.repo.scratch_dir);
    let mut report = RestoreReport::new(&f.invoker);
    report.target = a.target.target_ref(f.source.namespace());
    let res: anyhow::Result<()> = async {
        warn_args(&a.args);
        if !a.mounts.given().is_empty() && a.target_dir != std::path::Path::new("/") {
            bail!("--target-dir and --mount both say where files go: give one of them");
        }
        let mounts = a.mounts.path_map(PathMap::under(&a.target_dir))?;
        let objects = Objects::load(&f.source)?;
        let repo = repo::open(g, &f.repo, &f.source, &objects, false).await?;
        let opts = VolumeRestoreOptions {
            snapshots: list(&a.snapshots),
            paths: list(&a.restore_paths),
            source_host: f.source_host(),
            include: list(&a.include),
            exclude: list(&a.exclude),
            mounts,
        };
        let progress = Arc::new(Progress::default());
        let ticker = Ticker::start(progress.clone(), g.show_progress(), "restored");
        let out = volume::restore(repo.clone(), &opts, progress.clone()).await;
        ticker.stop();
        let restored = out.map_err(|e| anyhow!(stash_addons::chain(&e)))?;
        report.snapshot = restored.last().map(|(snap, _)| snap.id.to_hex());
        Ok(())
    }
    .await;
    report.finish(g, "volume", res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_message_names_the_first_entries_and_counts_all() {
        let one = ["/data/a: Permission denied (os error 13)".to_string()];
        let msg = incomplete_message(&["1a2b3c4d".into()], &one.iter().collect::<Vec<_>>());
        assert!(
            msg.starts_with(
                "1 entry could not be read and is missing from snapshot(s) 1a2b3c4d: \
                 /data/a: Permission denied (os error 13); let the backup run as"
            ),
            "{msg}"
        );
        let many: Vec<String> = (0..12).map(|i| format!("/data/f{i}: denied")).collect();
        let msg = incomplete_message(
            &["1a2b3c4d".into(), "5e6f7a8b".into()],
            &many.iter().collect::<Vec<_>>(),
        );
        assert!(
            msg.starts_with("12 entries could not be read and are missing from snapshot(s) 1a2b3c4d, 5e6f7a8b: /data/f0: denied;"),
            "{msg}"
        );
        assert!(msg.contains("/data/f9: denied; …; let"), "{msg}");
        assert!(!msg.contains("/data/f10"), "{msg}");
    }
}
