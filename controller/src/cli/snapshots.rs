//! `stash snapshots`: a table, or restic's JSON.
use clap::Args;
use stash::engine::snapshot::SnapshotEntry;

use super::restore::FilterArgs;
use super::GlobalArgs;

#[derive(Args, Debug)]
pub struct SnapshotsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// A snapshot as `restic snapshots --json` prints it: the file's fields plus id and short_id.
pub fn snapshot_json(e: &SnapshotEntry) -> serde_json::Value {
    let mut v = serde_json::to_value(&e.snapshot).expect("snapshot serialises");
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), e.id.to_hex().into());
        o.insert("short_id".into(), e.id.short().into());
    }
    v
}

pub async fn run(g: &GlobalArgs, a: SnapshotsArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let f = a.filter.filter();
    let snaps: Vec<SnapshotEntry> = repo
        .snapshots()
        .await?
        .into_iter()
        .filter(|s| f.matches(&s.snapshot))
        .collect();
    if g.json {
        let arr: Vec<serde_json::Value> = snaps.iter().map(snapshot_json).collect();
        println!("{}", serde_json::Value::Array(arr));
        return Ok(());
    }
    println!(
        "{:<9} {:<20} {:<12} {:<16} Paths",
        "ID", "Time", "Host", "Tags"
    );
    println!("{}", "-".repeat(72));
    for s in &snaps {
        let sn = &s.snapshot;
        println!(
            "{:<9} {:<20} {:<12} {:<16} {}",
            s.id.short(),
            sn.time.format("%Y-%m-%d %H:%M:%S"),
            sn.hostname,
            sn.tags.join(","),
            sn.paths
                .join("\n                                                           ")
        );
    }
    println!("{}", "-".repeat(72));
    println!("{} snapshots", snaps.len());
    Ok(())
}
