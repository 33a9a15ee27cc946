//! `forget`: apply a retention policy (Stash's RetentionPolicy, restic's rules) and
//! optionally prune in the same exclusive lock.
use std::sync::Arc;

use super::backend::FileType;
use super::lock::Lock;
use super::prune::{PruneOptions, PruneStats};
use super::repo::{Repository, Result};
use super::retention::{apply, ForgetGroup, GroupBy, KeepPolicy, SnapshotInfo};
use super::snapshot::SnapshotFilter;
use super::Id;

#[derive(Clone, Debug, Default)]
pub struct ForgetOptions {
    pub policy: KeepPolicy,
    pub group_by: GroupBy,
    pub filter: SnapshotFilter,
    pub dry_run: bool,
    /// Prune afterwards (Stash's `retentionPolicy.prune`).
    pub prune: Option<PruneOptions>,
}

#[derive(Clone, Debug, Default)]
pub struct ForgetResult {
    pub groups: Vec<ForgetGroup>,
    pub removed: Vec<Id>,
    pub kept: usize,
    pub prune: Option<PruneStats>,
}

pub async fn forget(repo: &Arc<Repository>, opts: &ForgetOptions) -> Result<ForgetResult> {
    let lock = Lock::acquire(repo.clone(), true).await?;
    let r = run(repo, opts).await;
    lock.release().await;
    r
}

async fn run(repo: &Arc<Repository>, opts: &ForgetOptions) -> Result<ForgetResult> {
    let snaps = repo.snapshots().await?;
    let infos: Vec<SnapshotInfo> = snaps
        .iter()
        .filter(|s| opts.filter.matches(&s.snapshot))
        .map(|s| SnapshotInfo {
            id: s.id.to_hex(),
            time: s.snapshot.time,
            hostname: s.snapshot.hostname.clone(),
            paths: s.snapshot.paths.clone(),
            tags: s.snapshot.tags.clone(),
        })
        .collect();
    let groups = apply(&infos, &opts.policy, opts.group_by);
    let mut res = ForgetResult {
        kept: groups.iter().map(|g| g.keep.len()).sum(),
        ..Default::default()
    };
    for g in &groups {
        for id in &g.remove {
            let id: Id = id.parse().expect("ids come from file names");
            if !opts.dry_run {
                repo.backend()
                    .remove(FileType::Snapshot, &id.to_hex())
                    .await?;
            }
            res.removed.push(id);
        }
    }
    res.groups = groups;
    if let Some(p) = &opts.prune {
        if !opts.dry_run || p.dry_run {
            let mut p = p.clone();
            p.dry_run |= opts.dry_run;
            res.prune = Some(super::prune::run(repo, &p).await?);
        }
    }
    Ok(res)
}
