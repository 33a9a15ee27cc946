//! `init`, `forget`, `prune`, `check`, `stats`, `key`, `unlock`.
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use stash::engine::check::check as run_check;
use stash::engine::forget::{forget as run_forget, ForgetOptions};
use stash::engine::keyfile::KdfParams;
use stash::engine::prune::{prune as run_prune, PruneOptions};
use stash::engine::retention::{GroupBy, KeepPolicy};
use stash::engine::snapshot::select;
use stash::engine::{keys, lock, Repository};
use stash::storage::create_location;

use super::restore::FilterArgs;
use super::snapshots::snapshot_json;
use super::GlobalArgs;

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Repository format version (1 or 2)
    #[arg(long, default_value_t = 2)]
    pub repository_version: u32,
}

pub async fn init(g: &GlobalArgs, a: InitArgs) -> anyhow::Result<()> {
    let loc = g.location()?;
    let backend = create_location(&loc)?;
    let repo = Repository::init(
        backend,
        &g.password()?,
        a.repository_version,
        KdfParams::default(),
        g.options()?,
    )
    .await?;
    if g.json {
        println!(
            "{}",
            serde_json::json!({"message_type": "initialized", "id": repo.config().id, "repository": loc.display()})
        );
    } else if !g.quiet {
        println!(
            "created stash repository {} at {}",
            &repo.config().id[..10],
            loc.display()
        );
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ForgetArgs {
    /// Snapshot ids to remove (besides the policy)
    pub snapshots: Vec<String>,
    #[arg(long, default_value_t = 0)]
    pub keep_last: i64,
    #[arg(long, default_value_t = 0)]
    pub keep_hourly: i64,
    #[arg(long, default_value_t = 0)]
    pub keep_daily: i64,
    #[arg(long, default_value_t = 0)]
    pub keep_weekly: i64,
    #[arg(long, default_value_t = 0)]
    pub keep_monthly: i64,
    #[arg(long, default_value_t = 0)]
    pub keep_yearly: i64,
    /// Keep snapshots with this tag set (repeatable)
    #[arg(long = "keep-tag")]
    pub keep_tags: Vec<String>,
    /// Group by host, paths, tags (comma separated; "" = no grouping)
    #[arg(long, default_value = "host,paths")]
    pub group_by: String,
    #[arg(long)]
    pub prune: bool,
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
}

pub async fn forget(g: &GlobalArgs, a: ForgetArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let ids = if a.snapshots.is_empty() {
        Vec::new()
    } else {
        let snaps = repo.snapshots().await?;
        a.snapshots
            .iter()
            .map(|s| select(&snaps, s, &Default::default()).map(|e| e.id))
            .collect::<Result<Vec<_>, _>>()?
    };
    let policy = KeepPolicy {
        last: stash::engine::retention::keep_count(a.keep_last),
        hourly: stash::engine::retention::keep_count(a.keep_hourly),
        daily: stash::engine::retention::keep_count(a.keep_daily),
        weekly: stash::engine::retention::keep_count(a.keep_weekly),
        monthly: stash::engine::retention::keep_count(a.keep_monthly),
        yearly: stash::engine::retention::keep_count(a.keep_yearly),
        tags: a.keep_tags.clone(),
    };
    let group_by: GroupBy = a.group_by.parse()?;
    let opts = ForgetOptions {
        policy,
        group_by,
        filter: a.filter.filter(),
        ids,
        dry_run: a.dry_run,
        prune: a.prune.then(PruneOptions::default),
    };
    let res = run_forget(&repo, &opts).await?;
    let verb = if a.dry_run { "would remove" } else { "removed" };
    if !opts.ids.is_empty() {
        if !g.quiet && !g.json {
            for id in &res.removed {
                println!("{verb} snapshot {}", id.short());
            }
            print_prune(res.prune.as_ref());
        }
        return Ok(());
    }
    let snaps = repo.snapshots().await.unwrap_or_default();
    if g.json {
        let all: std::collections::HashMap<String, serde_json::Value> = snaps
            .iter()
            .map(|s| (s.id.to_hex(), snapshot_json(s)))
            .collect();
        let groups: Vec<serde_json::Value> = res
            .groups
            .iter()
            .map(|gr| {
                serde_json::json!({
                    "tags": if gr.key.tags.is_empty() { serde_json::Value::Null } else { gr.key.tags.clone().into() },
                    "host": gr.key.hostname,
                    "paths": gr.key.paths,
                    "keep": gr.keep.iter().map(|(id, _)| all.get(id).cloned().unwrap_or_else(|| serde_json::json!({"id": id}))).collect::<Vec<_>>(),
                    "remove": gr.remove,
                    "reasons": gr.keep.iter().map(|(id, r)| serde_json::json!({"snapshot": {"id": id}, "matches": r})).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(groups));
    } else if !g.quiet {
        for gr in &res.groups {
            println!(
                "snapshots for host {:?}, paths {:?}:",
                gr.key.hostname, gr.key.paths
            );
            println!(
                "  keep {} snapshots, remove {}",
                gr.keep.len(),
                gr.remove.len()
            );
        }
        println!("{verb} {} snapshots, kept {}", res.removed.len(), res.kept);
        print_prune(res.prune.as_ref());
    }
    Ok(())
}

fn print_prune(stats: Option<&stash::engine::prune::PruneStats>) {
    if let Some(p) = stats {
        println!(
            "prune: deleted {} packs, repacked {}, removed {} unindexed packs, freed {}",
            p.packs_deleted,
            p.packs_repacked,
            p.packs_unindexed_deleted,
            indicatif::HumanBytes(p.bytes_freed)
        );
    }
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Tolerated unused space in percent
    #[arg(long, default_value = "5%")]
    pub max_unused: String,
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

pub async fn prune(g: &GlobalArgs, a: PruneArgs) -> anyhow::Result<()> {
    let pct: f64 = a
        .max_unused
        .trim_end_matches('%')
        .parse()
        .with_context(|| {
            format!(
                "invalid --max-unused {:?}: use a percentage such as 5%",
                a.max_unused
            )
        })?;
    let repo = g.open().await?;
    let st = run_prune(
        &repo,
        &PruneOptions {
            max_unused: pct / 100.0,
            dry_run: a.dry_run,
        },
    )
    .await?;
    if g.json {
        println!("{}", serde_json::to_string(&st)?);
    } else if !g.quiet {
        println!(
            "{}deleted {} unused packs, repacked {}, removed {} unindexed packs, {} blobs, {} half-written files; freed {}",
            if a.dry_run { "would have " } else { "" },
            st.packs_deleted,
            st.packs_repacked,
            st.packs_unindexed_deleted,
            st.blobs_removed,
            st.temp_files_deleted,
            indicatif::HumanBytes(st.bytes_freed)
        );
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Read and verify every blob
    #[arg(long)]
    pub read_data: bool,
}

pub async fn check(g: &GlobalArgs, a: CheckArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let lock = lock::Lock::acquire(repo.clone(), false).await?;
    let rep = run_check(&repo, a.read_data).await;
    lock.release().await;
    let rep = rep?;
    if g.json {
        println!("{}", serde_json::to_string(&rep)?);
    } else {
        for h in &rep.hints {
            println!("hint: {h}");
        }
        for e in &rep.errors {
            eprintln!("error: {e}");
        }
    }
    if !rep.ok() {
        bail!("check found {} errors", rep.errors.len());
    }
    if !g.quiet && !g.json {
        println!(
            "no errors were found ({} snapshots, {} packs{})",
            rep.snapshots_checked,
            rep.packs_checked,
            if a.read_data {
                format!(", {} read", indicatif::HumanBytes(rep.bytes_read))
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Snapshots to count (default: all)
    pub snapshots: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

pub async fn stats(g: &GlobalArgs, a: StatsArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let all = repo.snapshots().await?;
    let f = a.filter.filter();
    let chosen: Vec<_> = if a.snapshots.is_empty() {
        all.iter()
            .filter(|s| f.matches(&s.snapshot))
            .cloned()
            .collect()
    } else {
        a.snapshots
            .iter()
            .map(|s| select(&all, s, &f).cloned())
            .collect::<Result<_, _>>()?
    };
    let st = stash::engine::stats::stats(&repo, &chosen).await?;
    if g.json {
        println!("{}", serde_json::to_string(&st)?);
    } else {
        println!("Snapshots:            {}", st.snapshots_count);
        println!("Total file count:     {}", st.total_file_count);
        println!(
            "Total restore size:   {}",
            indicatif::HumanBytes(st.total_size)
        );
        println!("Unique data blobs:    {}", st.total_blob_count);
        println!(
            "Uncompressed size:    {}",
            indicatif::HumanBytes(st.total_uncompressed_size)
        );
        println!(
            "Stored size:          {}",
            indicatif::HumanBytes(st.total_packed_size)
        );
        println!("Compression ratio:    {:.2}x", st.compression_ratio);
    }
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// List keys
    List,
    /// Add a key (password) read from --new-password-file
    Add {
        #[arg(long)]
        new_password_file: PathBuf,
    },
    /// Remove a key by id
    Remove { id: String },
}

pub async fn key(g: &GlobalArgs, k: KeyCmd) -> anyhow::Result<()> {
    let repo = g.open().await?;
    match k {
        KeyCmd::List => {
            let list = keys::list(&repo).await?;
            if g.json {
                println!("{}", serde_json::to_string(&list)?);
            } else {
                println!(" {:<9} {:<10} {:<16} Created", "ID", "User", "Host");
                for k in list {
                    println!(
                        "{}{:<9} {:<10} {:<16} {}",
                        if k.current { "*" } else { " " },
                        k.id,
                        k.username,
                        k.hostname,
                        k.created
                    );
                }
            }
        }
        KeyCmd::Add { new_password_file } => {
            let pw = std::fs::read_to_string(&new_password_file)
                .with_context(|| format!("reading {}", new_password_file.display()))?;
            let pw = pw.trim_end_matches(['\n', '\r']);
            if pw.is_empty() {
                bail!("the new password is empty");
            }
            let id = keys::add(&repo, pw, KdfParams::default()).await?;
            println!("saved new key as {}", id.short());
        }
        KeyCmd::Remove { id } => {
            let name = keys::remove(&repo, &id).await?;
            println!("removed key {}", &name[..8]);
        }
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct UnlockArgs {
    /// Remove all locks, even those of running processes
    #[arg(long)]
    pub remove_all: bool,
}

pub async fn unlock(g: &GlobalArgs, a: UnlockArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let n = lock::unlock(&repo, a.remove_all).await?;
    if !g.quiet {
        println!("removed {n} locks");
    }
    Ok(())
}
