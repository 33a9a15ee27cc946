//! `forget`: apply a retention policy (Stash's RetentionPolicy, restic's rules) and
//! optionally prune in the same exclusive lock.
use std::sync::Arc;

use super::backend::FileType;
use super::lock::Lock;
use super::prune::{PruneOptions, PruneStats};
use super::repo::{RepoError, Repository, Result};
use super::retention::{apply, ForgetGroup, GroupBy, KeepPolicy, SnapshotInfo};
use super::snapshot::SnapshotFilter;
use super::Id;

#[derive(Clone, Debug, Default)]
pub struct ForgetOptions {
    pub policy: KeepPolicy,
    pub group_by: GroupBy,
    pub filter: SnapshotFilter,
    /// Remove exactly these snapshots (restic's `forget ID…`) instead of applying the policy.
    pub ids: Vec<Id>,
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
    let mut res = ForgetResult::default();
    let remove: Vec<Id> = if opts.ids.is_empty() {
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
        res.groups = apply(&infos, &opts.policy, opts.group_by);
        res.kept = res.groups.iter().map(|g| g.keep.len()).sum();
        res.groups
            .iter()
            .flat_map(|g| &g.remove)
            .map(|id| id.parse().expect("ids come from file names"))
            .collect()
    } else {
        let mut ids = opts.ids.clone();
        ids.sort();
        ids.dedup();
        // Looked up under the lock, so one that another client removed meanwhile is reported.
        for id in &ids {
            if !snaps.iter().any(|s| s.id == *id) {
                return Err(RepoError::Other(format!(
                    "snapshot {} is no longer in the repository",
                    id.short()
                )));
            }
        }
        res.kept = snaps.len() - ids.len();
        ids
    };
    for id in remove {
        if !opts.dry_run {
            repo.backend()
                .remove(FileType::Snapshot, &id.to_hex())
                .await?;
        }
        res.removed.push(id);
    }
    if let Some(p) = &opts.prune {
        if !opts.dry_run || p.dry_run {
            let mut p = p.clone();
            p.dry_run |= opts.dry_run;
            res.prune = Some(super::prune::run(repo, &p).await?);
        }
    }
    Ok(res)
}
