//! `stash restore` and `stash dump`.
use std::path::PathBuf;
use std::sync::Arc;

use std::os::fd::AsFd;

use anyhow::{bail, Context};
use clap::Args;
use stash::engine::archiver::Progress;
use stash::engine::restorer::{
    dump_content_to_file, find_node, restore as restore_tree, RestoreOptions,
};
use stash::engine::snapshot::{select, SnapshotFilter};

use super::progress::Ticker;
use super::GlobalArgs;

#[derive(Args, Debug, Clone)]
pub struct FilterArgs {
    /// Only consider snapshots of this host (repeatable)
    #[arg(short = 'H', long = "host")]
    pub hosts: Vec<String>,
    /// Only consider snapshots that include this path (repeatable)
    #[arg(long = "path")]
    pub paths: Vec<String>,
    /// Only consider snapshots with these tags (a,b = both; repeatable = either)
    #[arg(long = "tag")]
    pub tags: Vec<String>,
}

impl FilterArgs {
    pub fn filter(&self) -> SnapshotFilter {
        SnapshotFilter {
            hosts: self.hosts.clone(),
            paths: self.paths.clone(),
            tags: self.tags.clone(),
        }
    }
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Snapshot id (or prefix) or "latest"
    pub snapshot: String,
    /// Folder to restore into
    #[arg(short = 't', long)]
    pub target: PathBuf,
    /// Restore only paths matching a pattern (repeatable)
    #[arg(short = 'i', long = "include")]
    pub include: Vec<String>,
    /// Skip paths matching a pattern (repeatable)
    #[arg(short = 'e', long = "exclude")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    /// Snapshot id (or prefix) or "latest"
    pub snapshot: String,
    /// Path of the file inside the snapshot, e.g. /dumpfile.sql
    pub file: String,
    #[command(flatten)]
    pub filter: FilterArgs,
}

pub async fn restore(g: &GlobalArgs, a: RestoreArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let snaps = repo.snapshots().await?;
    let s = select(&snaps, &a.snapshot, &a.filter.filter())?.clone();
    repo.load_index().await?;
    let progress = Arc::new(Progress::default());
    let ticker = Ticker::start(progress.clone(), g.show_progress(), "restored");
    let opts = RestoreOptions {
        include: a.include,
        exclude: a.exclude,
    };
    let res = restore_tree(&repo, s.snapshot.tree, &a.target, &opts, &progress).await;
    ticker.stop();
    let st = res?;
    if g.json {
        println!(
            "{}",
            serde_json::json!({"message_type": "summary", "files_restored": st.files, "bytes_restored": st.bytes, "snapshot_id": s.id.to_hex()})
        );
    } else if !g.quiet {
        println!(
            "restored snapshot {} to {}: {} files, {} dirs, {}",
            s.id.short(),
            a.target.display(),
            st.files,
            st.dirs,
            indicatif::HumanBytes(st.bytes)
        );
    }
    Ok(())
}

pub async fn dump(g: &GlobalArgs, a: DumpArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let snaps = repo.snapshots().await?;
    let s = select(&snaps, &a.snapshot, &a.filter.filter())?.clone();
    repo.load_index().await?;
    let node = find_node(&repo, &s.snapshot.tree, &a.file).await?;
    if !node.is_file() {
        bail!(
            "{} is a {}, not a file; only files can be dumped",
            a.file,
            node.node_type
        );
    }
    let progress = Progress::default();
    // Stdout as a file of its own (a duplicate descriptor): decoded runs are written straight
    // from their buffers by a blocking thread, with no copy through an async writer.
    let out = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .context("duplicating stdout")?;
    dump_content_to_file(
        &repo,
        node.content.as_deref().unwrap_or(&[]),
        &std::fs::File::from(out),
        &progress,
    )
    .await?;
    Ok(())
}
