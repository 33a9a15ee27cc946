//! What a step reports, and how it ends.
//!
//! With `--output-dir`, the result goes to `output.json` in Stash's shapes
//! ([`stash::api::output`]) and a failure is *recorded there* rather than ending the process
//! with an error: the step exits 0 so that the Task's next step, `update-status`, runs and
//! puts the failure into the session — Stash's contract for catalog steps. The error is still
//! printed on stderr. Without `--output-dir` (by hand), a failure is an ordinary error exit.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use stash::api::backup_session::{
    BackupTargetStatus, FileStats, HostBackupPhase, HostBackupStats, SnapshotStats,
};
use stash::api::output::{
    format_bytes, format_seconds, go_duration, BackupOutput, RepositoryStats, RestoreOutput,
};
use stash::api::restore_batch::RestoreMemberStatus;
use stash::api::restore_session::{HostRestorePhase, HostRestoreStats};
use stash::api::TargetRef;
use stash::engine::archiver::BackupStats;
use stash::engine::snapshot::SnapshotEntry;

use super::flags::InvokerFlags;
use crate::cli::GlobalArgs;

/// The TargetRef of an AppBinding, as Stash puts it in the session.
pub fn appbinding_ref(name: &str, namespace: &str) -> TargetRef {
    TargetRef {
        api_version: Some(format!("{}/v1alpha1", stash::api::APPCATALOG_GROUP)),
        kind: Some("AppBinding".into()),
        name: Some(name.into()),
        namespace: Some(namespace.into()),
    }
}

/// Writes `value` as indented JSON, atomically (a reader never sees half a file).
fn write_json<T: serde::Serialize>(file: &Path, value: &T) -> anyhow::Result<()> {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = file.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, file)
    };
    write().with_context(|| format!("writing {} (--output-dir)", file.display()))
}

/// How a failed step ends: recorded (exit 0) when there is an output file, else an error.
fn end(verb: &str, host: &str, file: Option<&Path>, res: anyhow::Result<()>) -> anyhow::Result<()> {
    match (res, file) {
        (Ok(()), _) => Ok(()),
        (Err(e), Some(file)) => {
            eprintln!("{verb} of host {host} failed: {e:#}");
            eprintln!("recorded as Failed in {} for update-status", file.display());
            Ok(())
        }
        (Err(e), None) => Err(e),
    }
}

pub struct BackupReport {
    host: String,
    start: Instant,
    file: Option<PathBuf>,
    pub target: Option<TargetRef>,
    snapshots: Vec<SnapshotStats>,
    pub repository: Option<RepositoryStats>,
    summary: Option<serde_json::Value>,
}

impl BackupReport {
    pub fn new(inv: &InvokerFlags) -> BackupReport {
        BackupReport {
            host: inv.host(),
            start: Instant::now(),
            file: inv.output_file(),
            target: None,
            snapshots: vec![],
            repository: None,
            summary: None,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Records the snapshot a backup wrote.
    pub fn snapshot(
        &mut self,
        snap: &SnapshotEntry,
        stats: &BackupStats,
        files: FileStats,
        took: Duration,
    ) {
        let paths = &snap.snapshot.paths;
        self.snapshots.push(SnapshotStats {
            name: Some(snap.id.short()),
            path: Some(paths.join(",")),
            total_size: Some(format_bytes(stats.bytes_processed)),
            uploaded: Some(format_bytes(stats.bytes_stored)),
            processing_time: Some(format_seconds(took.as_secs())),
            file_stats: Some(files),
        });
        self.summary = Some(serde_json::json!({
            "message_type": "summary", "snapshot_id": snap.id.to_hex(),
            "hostname": snap.snapshot.hostname, "paths": paths,
            "total_bytes_processed": stats.bytes_processed, "data_added": stats.bytes_stored,
            "duration_seconds": took.as_secs_f64(),
        }));
    }

    pub fn output(&self, error: Option<String>) -> BackupOutput {
        let phase = if error.is_some() {
            HostBackupPhase::Failed
        } else {
            HostBackupPhase::Succeeded
        };
        let host = HostBackupStats {
            hostname: Some(self.host.clone()),
            phase: Some(phase),
            snapshots: Some(self.snapshots.clone()).filter(|s| !s.is_empty()),
            duration: Some(go_duration(self.start.elapsed())),
            error,
        };
        BackupOutput {
            target_status: BackupTargetStatus {
                r#ref: self.target.clone(),
                stats: Some(vec![host]),
                ..Default::default()
            },
            repository_stats: self.repository.clone(),
        }
    }

    pub fn finish(self, g: &GlobalArgs, what: &str, res: anyhow::Result<()>) -> anyhow::Result<()> {
        let error = res.as_ref().err().map(|e| format!("{e:#}"));
        if let Some(file) = &self.file {
            write_json(file, &self.output(error))?;
        }
        if res.is_ok() && !g.quiet {
            if let Some(s) = self.summary.as_ref().filter(|_| g.json) {
                println!("{s}");
            } else if !g.json {
                let id = self
                    .snapshots
                    .first()
                    .and_then(|s| s.name.clone())
                    .unwrap_or_default();
                let secs = self.start.elapsed().as_secs_f64();
                println!(
                    "{what} backed up into snapshot {id} (host {}) in {secs:.1}s",
                    self.host
                );
            }
        }
        end("backup", &self.host, self.file.as_deref(), res)
    }
}

pub struct RestoreReport {
    host: String,
    start: Instant,
    file: Option<PathBuf>,
    pub target: Option<TargetRef>,
    pub snapshot: Option<String>,
}

impl RestoreReport {
    pub fn new(inv: &InvokerFlags) -> RestoreReport {
        RestoreReport {
            host: inv.host(),
            start: Instant::now(),
            file: inv.output_file(),
            target: None,
            snapshot: None,
        }
    }

    pub fn output(&self, error: Option<String>) -> RestoreOutput {
        let phase = if error.is_some() {
            HostRestorePhase::Failed
        } else {
            HostRestorePhase::Succeeded
        };
        let host = HostRestoreStats {
            hostname: Some(self.host.clone()),
            phase: Some(phase),
            duration: Some(go_duration(self.start.elapsed())),
            error,
        };
        RestoreOutput {
            target_status: RestoreMemberStatus {
                r#ref: self.target.clone().unwrap_or_default(),
                stats: Some(vec![host]),
                ..Default::default()
            },
        }
    }

    pub fn finish(self, g: &GlobalArgs, what: &str, res: anyhow::Result<()>) -> anyhow::Result<()> {
        let error = res.as_ref().err().map(|e| format!("{e:#}"));
        if let Some(file) = &self.file {
            write_json(file, &self.output(error))?;
        }
        if res.is_ok() && !g.quiet {
            let id = self.snapshot.clone().unwrap_or_default();
            let secs = self.start.elapsed().as_secs_f64();
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"message_type": "summary", "snapshot_id": id, "hostname": self.host, "duration_seconds": secs})
                );
            } else {
                println!(
                    "{what} restored from snapshot {} (host {}) in {secs:.1}s",
                    id.get(..8).unwrap_or(&id),
                    self.host
                );
            }
        }
        end("restore", &self.host, self.file.as_deref(), res)
    }
}
