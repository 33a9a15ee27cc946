//! `repair index` and `repair snapshots`: restic 0.16's commands, flags and wording, on the
//! engine's `repair` module. Both print every pack and snapshot they drop or rewrite, since
//! that is what a user must know after a repair: what was lost.
use clap::{Args, Subcommand};
use stash::engine::repair::{
    repair_index, repair_snapshots, RepairIndexOptions, RepairSnapshotsOptions, SnapshotOutcome,
};

use super::restore::FilterArgs;
use super::GlobalArgs;

#[derive(Subcommand, Debug)]
pub enum RepairCmd {
    /// Build a new index from the pack files (restic's `repair index`)
    Index(IndexArgs),
    /// Rewrite snapshots whose files or folders reference missing data (restic's
    /// `repair snapshots`); run `repair index` first
    Snapshots(SnapshotsArgs),
}

#[derive(Args, Debug)]
pub struct IndexArgs {
    /// Ignore the old index and read every pack in full, checking its hash (finds corrupt packs)
    #[arg(long)]
    pub read_all_packs: bool,
}

#[derive(Args, Debug)]
pub struct SnapshotsArgs {
    /// Snapshot ids or prefixes (default: every snapshot the filter matches)
    pub snapshots: Vec<String>,
    /// Print what would change; change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Remove each original snapshot once its repaired one is saved
    #[arg(long)]
    pub forget: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
}

pub async fn run(g: &GlobalArgs, cmd: RepairCmd) -> anyhow::Result<()> {
    match cmd {
        RepairCmd::Index(a) => index(g, a).await,
        RepairCmd::Snapshots(a) => snapshots(g, a).await,
    }
}

async fn index(g: &GlobalArgs, a: IndexArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let opts = RepairIndexOptions {
        read_all_packs: a.read_all_packs,
    };
    let rep = repair_index(&repo, &opts).await?;
    if g.json {
        println!("{}", serde_json::to_string(&rep)?);
        return Ok(());
    }
    // What was dropped is printed even with --quiet: it is data the repository lost.
    for (id, why) in &rep.index_files_unreadable {
        eprintln!("index {id}: unreadable, replaced: {why}");
    }
    for p in &rep.packs_removed {
        eprintln!("pack {p}: missing from the repository, removed from the index");
    }
    for (p, why) in &rep.packs_damaged {
        eprintln!("pack {p}: left out of the index: {why}");
    }
    if g.quiet {
        return Ok(());
    }
    for p in &rep.packs_added {
        println!("pack {p}: not in any index, added");
    }
    for p in &rep.packs_reindexed {
        println!("pack {p}: size differed from its index entry, indexed from its header");
    }
    println!(
        "{} packs: {} kept from the old index, {} read ({} added, {} re-indexed, {} left out), \
         {} removed as missing; wrote {} index files, removed {} old ones",
        rep.packs_listed,
        rep.packs_reused,
        rep.packs_read,
        rep.packs_added.len(),
        rep.packs_reindexed.len(),
        rep.packs_damaged.len(),
        rep.packs_removed.len(),
        rep.index_files_written,
        rep.index_files_removed
    );
    if !rep.packs_removed.is_empty() || !rep.packs_damaged.is_empty() {
        println!(
            "snapshots that used the packs left out now reference missing data: \
             run `stash repair snapshots --forget`"
        );
    }
    Ok(())
}

async fn snapshots(g: &GlobalArgs, a: SnapshotsArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let opts = RepairSnapshotsOptions {
        dry_run: a.dry_run,
        forget: a.forget,
        snapshots: a.snapshots,
        filter: a.filter.filter(),
    };
    let rep = repair_snapshots(&repo, &opts).await?;
    if g.json {
        println!("{}", serde_json::to_string(&rep)?);
        return Ok(());
    }
    if g.quiet {
        return Ok(());
    }
    let would = if a.dry_run { "would " } else { "" };
    for s in &rep.snapshots {
        if s.time.is_empty() {
            println!("snapshot {}", s.id.short());
        } else {
            println!("snapshot {} of {:?} at {}", s.id.short(), s.paths, s.time);
        }
        for c in &s.changes {
            println!("  {c}");
        }
        match &s.outcome {
            SnapshotOutcome::Unchanged => {}
            SnapshotOutcome::Removed => println!("  {would}remove snapshot {}", s.id.short()),
            SnapshotOutcome::Rewritten { new_id, forgotten } => {
                match new_id {
                    Some(id) => println!("  saved new snapshot {}", id.short()),
                    None => println!("  would save new snapshot"),
                }
                if *forgotten {
                    println!("  {would}remove old snapshot {}", s.id.short());
                }
            }
        }
    }
    match (rep.modified(), a.dry_run) {
        (0, false) => println!("no snapshots were modified"),
        (0, true) => println!("no snapshots would be modified"),
        (n, false) => println!("modified {n} snapshots"),
        (n, true) => println!("would modify {n} snapshots"),
    }
    Ok(())
}
