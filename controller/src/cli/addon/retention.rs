//! The retention flags, applied after a successful backup.
//!
//! Stash runs `restic forget` over the whole repository (no host filter; groups by host and
//! paths) in the session's post-backup actions. The catalog hands the policy to the backup
//! step, so here the step applies it itself, with the engine's forget (and prune), and puts
//! the counts in `output.json` for update-status instead of running forget a second time.
use std::sync::Arc;

use anyhow::Context;
use stash::api::output::{format_bytes, RepositoryStats};
use stash::engine::forget::{forget, ForgetOptions};
use stash::engine::prune::PruneOptions;
use stash::engine::retention::{keep_count, KeepPolicy};
use stash::engine::{FileType, Repository};

use super::flags::{list, RetentionFlags};

pub fn policy(f: &RetentionFlags) -> KeepPolicy {
    KeepPolicy {
        last: keep_count(f.retention_keep_last),
        hourly: keep_count(f.retention_keep_hourly),
        daily: keep_count(f.retention_keep_daily),
        weekly: keep_count(f.retention_keep_weekly),
        monthly: keep_count(f.retention_keep_monthly),
        yearly: keep_count(f.retention_keep_yearly),
        // Stash passes one `--keep-tag` per tag: a snapshot with any one of them is kept.
        tags: list(&f.retention_keep_tags),
    }
}

/// Run by hand, the step applies the policy itself. Under the controller (`stash run` sets
/// the state folder) the session applies it once, after every target, as Stash's post-backup
/// action does (`stash session-action post-backup`), so the step leaves it alone.
pub async fn apply_unless_controlled(
    repo: &Arc<Repository>,
    f: &RetentionFlags,
) -> anyhow::Result<Option<RepositoryStats>> {
    if std::env::var_os(crate::steps::STATE_ENV).is_some_and(|s| !s.is_empty()) {
        return Ok(None);
    }
    apply(repo, f).await.map(Some)
}

/// Applies the policy (if it keeps by anything) and reports the repository afterwards.
pub async fn apply(repo: &Arc<Repository>, f: &RetentionFlags) -> anyhow::Result<RepositoryStats> {
    let policy = policy(f);
    let (kept, removed) = if policy.is_empty() {
        // No policy: restic's forget would remove nothing; count what is there.
        (repo.snapshots().await?.len(), 0)
    } else {
        let opts = ForgetOptions {
            policy,
            dry_run: f.retention_dry_run,
            prune: f.retention_prune.then(PruneOptions::default),
            ..Default::default()
        };
        let res = forget(repo, &opts)
            .await
            .context("applying the retention policy (--retention-*)")?;
        if let Some(p) = &res.prune {
            tracing::info!(
                packs_deleted = p.packs_deleted,
                bytes_freed = p.bytes_freed,
                "pruned"
            );
        }
        (res.kept, res.removed.len())
    };
    let packs = repo
        .backend()
        .list(FileType::Pack)
        .await
        .context("listing packs for the repository size")?;
    Ok(RepositoryStats {
        integrity: None,
        size: Some(format_bytes(packs.iter().map(|p| p.size).sum())),
        snapshot_count: Some(kept as i64),
        snapshots_removed_on_last_cleanup: Some(removed as i64),
    })
}
