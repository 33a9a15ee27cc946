//! `stash addon volume backup|restore`: the catalog's `pvc-backup`/`pvc-restore` Functions.
//! The PVC is mounted at `TARGET_MOUNT_PATH`; the paths are backed up as one snapshot (Stash
//! runs one restic backup per path) and restored to where they were (`--target /`, as Stash's
//! `restic restore --target /`).
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use stash::api::backup_session::FileStats;
use stash::api::TargetRef;
use stash::engine::archiver::{Progress, SnapshotOptions};
use stash_addons::volume::{self, VolumeBackupOptions, VolumeRestoreOptions};

use super::flags::{list, nonempty, BackupFlags, RestoreFlags};
use super::objects::Objects;
use super::report::{BackupReport, RestoreReport};
use super::{repo, retention, scratch};
use crate::cli::progress::Ticker;
use crate::cli::GlobalArgs;

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
        Some(TargetRef {
            api_version: (kind == "PersistentVolumeClaim").then(|| "v1".to_string()),
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

#[derive(Args, Debug)]
pub struct VolumeBackupArgs {
    #[command(flatten)]
    pub common: BackupFlags,
    #[command(flatten)]
    pub target: TargetFlags,
    /// Comma-separated folders to back up (TARGET_PATHS)
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
    /// Comma-separated snapshot ids to restore (default: the latest of --source-hostname)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub snapshots: String,
    /// Comma-separated paths the latest snapshot must contain (RESTORE_PATHS)
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
    /// Folder the snapshot's absolute paths are recreated under (Stash: /)
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
        let objects = Objects::load(&f.source)?;
        let repo = repo::open(g, &f.repo, &f.source, &objects, true).await?;
        let opts = VolumeBackupOptions {
            paths,
            excludes: list(&a.exclude),
            snapshot: SnapshotOptions { host: report.host().to_string(), ..Default::default() },
        };
        let progress = Arc::new(Progress::default());
        let ticker = Ticker::start(progress.clone(), g.show_progress(), "read");
        let start = std::time::Instant::now();
        let out = volume::backup(repo.clone(), &opts, progress.clone()).await;
        ticker.stop();
        let (snap, stats) = out.map_err(|e| anyhow!(stash_addons::chain(&e)))?;
        let files = FileStats { total_files: Some(Progress::get(&progress.files) as i64), ..Default::default() };
        report.snapshot(&snap, &stats, files, start.elapsed());
        report.repository = retention::apply_unless_controlled(&repo, &f.retention).await?;
        Ok(())
    }
    .await;
    report.finish(g, "volume", res)
}

async fn restore(g: &GlobalArgs, a: VolumeRestoreArgs) -> anyhow::Result<()> {
    let f = &a.common;
    scratch::use_scratch_dir(&f.repo.scratch_dir);
    let mut report = RestoreReport::new(&f.invoker);
    report.target = a.target.target_ref(f.source.namespace());
    let res: anyhow::Result<()> = async {
        warn_args(&a.args);
        let objects = Objects::load(&f.source)?;
        let repo = repo::open(g, &f.repo, &f.source, &objects, false).await?;
        let mut which = list(&a.snapshots);
        if which.is_empty() {
            which.push("latest".into());
        }
        let progress = Arc::new(Progress::default());
        let ticker = Ticker::start(progress.clone(), g.show_progress(), "restored");
        let mut last = Ok(());
        for snapshot in which {
            let opts = VolumeRestoreOptions {
                snapshot,
                source_host: f.source_host(),
                paths: list(&a.restore_paths),
                include: list(&a.include),
                exclude: list(&a.exclude),
                target: a.target_dir.clone(),
            };
            match volume::restore(repo.clone(), &opts, progress.clone()).await {
                Ok((snap, _)) => report.snapshot = Some(snap.id.to_hex()),
                Err(e) => {
                    last = Err(anyhow!(stash_addons::chain(&e)));
                    break;
                }
            }
        }
        ticker.stop();
        last
    }
    .await;
    report.finish(g, "volume", res)
}
