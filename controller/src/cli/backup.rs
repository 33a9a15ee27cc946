//! `stash backup`: paths, or standard input as one named file.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use stash::engine::archiver::{
    fs::backup_paths, stream::backup_stream, ChangeDetection, ParentChoice, Progress,
    SnapshotOptions,
};
use stash::engine::snapshot::DEFAULT_HOST;

use super::progress::Ticker;
use super::GlobalArgs;

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Files and directories to back up
    pub paths: Vec<PathBuf>,
    /// Read the data from standard input
    #[arg(long)]
    pub stdin: bool,
    /// File name to store standard input as
    #[arg(long, default_value = "stdin")]
    pub stdin_filename: String,
    /// Host name for the snapshot (Stash's default: host-0)
    #[arg(long, default_value = DEFAULT_HOST)]
    pub host: String,
    /// Tags for the snapshot (repeatable, or comma separated)
    #[arg(long = "tag", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Exclude paths matching a pattern (repeatable)
    #[arg(short = 'e', long = "exclude")]
    pub excludes: Vec<String>,
    /// Snapshot time instead of now, "YYYY-MM-DD HH:MM:SS" in local time
    #[arg(long)]
    pub time: Option<String>,
    /// Snapshot whose unchanged files are not read again (default: the latest of the same
    /// host and paths)
    #[arg(long, value_name = "SNAPSHOT", conflicts_with = "force")]
    pub parent: Option<String>,
    /// Read every file, whatever the parent snapshot says
    #[arg(long)]
    pub force: bool,
    /// A changed inode number alone does not make a file be read again
    #[arg(long)]
    pub ignore_inode: bool,
    /// A changed ctime alone does not make a file be read again
    #[arg(long)]
    pub ignore_ctime: bool,
}

pub async fn run(g: &GlobalArgs, a: BackupArgs) -> anyhow::Result<()> {
    if a.stdin && !a.paths.is_empty() {
        bail!("--stdin and paths cannot be combined");
    }
    if !a.stdin && a.paths.is_empty() {
        bail!("nothing to back up: give paths or --stdin");
    }
    let repo = g.open().await?;
    let parent = match (&a.parent, a.force) {
        (_, true) => ParentChoice::None,
        (Some(id), false) => ParentChoice::Snapshot(id.clone()),
        (None, false) => ParentChoice::Latest,
    };
    let mut opts = SnapshotOptions {
        host: a.host.clone(),
        tags: a.tags.clone(),
        parent,
        change: ChangeDetection {
            ignore_inode: a.ignore_inode,
            ignore_ctime: a.ignore_ctime,
        },
        ..Default::default()
    };
    if let Some(t) = &a.time {
        let naive = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
            .with_context(|| format!("invalid --time {t:?}: use \"YYYY-MM-DD HH:MM:SS\""))?;
        let local = naive
            .and_local_timezone(chrono::Local)
            .single()
            .context("ambiguous --time")?;
        opts.time = Some(local.fixed_offset());
    }
    let progress = Arc::new(Progress::default());
    let ticker = Ticker::start(progress.clone(), g.show_progress(), "backed up");
    let started = std::time::Instant::now();
    let res = if a.stdin {
        backup_stream(
            repo.clone(),
            tokio::io::stdin(),
            &a.stdin_filename,
            &opts,
            progress.clone(),
        )
        .await
    } else {
        backup_paths(repo.clone(), &a.paths, &a.excludes, &opts, progress.clone()).await
    };
    ticker.stop();
    let (snap, stats) = res?;
    let secs = started.elapsed().as_secs_f64();
    for w in &stats.warnings {
        eprintln!("warning: {w}");
    }
    for u in &stats.unreadable {
        if g.json {
            // restic's JSON error message (its newer form, whose error has a message).
            let line = serde_json::json!({
                "message_type": "error",
                "error": { "message": u.error },
                "during": "archival",
                "item": u.path,
            });
            eprintln!("{line}");
        } else {
            eprintln!("error: {u}");
        }
    }
    let (files, dirs, processed) = (stats.files, stats.dirs, stats.bytes_processed);
    if g.json {
        let summary = serde_json::json!({
            "message_type": "summary",
            "files_new": files.new,
            "files_changed": files.changed,
            "files_unmodified": files.unmodified,
            "dirs_new": dirs.new,
            "dirs_changed": dirs.changed,
            "dirs_unmodified": dirs.unmodified,
            "data_blobs": stats.blobs_new,
            "data_added": stats.bytes_stored,
            "total_files_processed": files.total(),
            "total_bytes_processed": processed,
            "total_bytes_read": stats.bytes_read,
            "total_duration": secs,
            "snapshot_id": snap.id.to_hex(),
        });
        println!("{summary}");
    } else if !g.quiet {
        if !a.stdin {
            if let Some(p) = &snap.snapshot.parent {
                println!("using parent snapshot {}", p.short());
            }
            println!(
                "Files: {:>7} new, {:>7} changed, {:>7} unmodified",
                files.new, files.changed, files.unmodified
            );
            println!(
                "Dirs:  {:>7} new, {:>7} changed, {:>7} unmodified",
                dirs.new, dirs.changed, dirs.unmodified
            );
        }
        println!(
            "processed {} files, {} ({} read) in {:.1}s; added {} ({} stored, {} new blobs, {} reused)",
            files.total(),
            indicatif::HumanBytes(processed),
            indicatif::HumanBytes(stats.bytes_read),
            secs,
            indicatif::HumanBytes(stats.bytes_new),
            indicatif::HumanBytes(stats.bytes_stored),
            stats.blobs_new,
            stats.blobs_dup,
        );
        println!("snapshot {} saved", snap.id.short());
    }
    if !stats.unreadable.is_empty() {
        return Err(Incomplete(snap.id.short()).into());
    }
    Ok(())
}

/// The snapshot was saved without the entries that could not be read: exit status 3, as
/// restic's, so a script can tell it from a failed backup and from a complete one.
#[derive(Debug, thiserror::Error)]
#[error("at least one source file could not be read; snapshot {0} holds everything else")]
pub struct Incomplete(pub String);

pub const INCOMPLETE: u8 = 3;
