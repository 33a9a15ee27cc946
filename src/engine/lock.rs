//! Repository locks, as restic's: shared for backup, exclusive for prune and friends.
//!
//! A lock is an encrypted JSON file in `locks/`. It is stale when older than 30 minutes
//! or when its holder ran on this host and is gone. Locks are refreshed every 5 minutes
//! while held. Self-healing: a stale lock in the way is removed and the removal is logged,
//! instead of failing the way restic does (Stash users' most common complaint).
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Local};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::backend::FileType;
use super::id::Id;
use super::repo::{RepoError, Repository, Result};
use super::sys;

pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LockFile {
    pub time: DateTime<Local>,
    pub exclusive: bool,
    pub hostname: String,
    #[serde(default)]
    pub username: String,
    pub pid: u32,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
}

impl LockFile {
    fn new(exclusive: bool) -> LockFile {
        LockFile {
            time: Local::now(),
            exclusive,
            hostname: sys::hostname(),
            username: sys::username(),
            pid: sys::pid(),
            uid: sys::uid(),
            gid: sys::gid(),
        }
    }

    /// Why this lock is stale, or `None` when it is live.
    pub fn stale_reason(&self) -> Option<String> {
        let age = Local::now().signed_duration_since(self.time);
        if age.to_std().map(|a| a > STALE_AFTER).unwrap_or(false) {
            return Some(format!(
                "older than 30 minutes (created {})",
                self.time.format("%Y-%m-%d %H:%M:%S")
            ));
        }
        if self.hostname == sys::hostname() && !sys::process_alive(self.pid) {
            return Some(format!("its process {} on this host is gone", self.pid));
        }
        None
    }
}

/// A held lock; refreshed in the background until [`Lock::release`].
pub struct Lock {
    repo: Arc<Repository>,
    current: Arc<Mutex<Id>>,
    refresher: tokio::task::JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
#[error("repository is already locked{mode} by PID {pid} on {host} by {user} (since {since}); if that process is gone, run `stash unlock`")]
pub struct LockedError {
    pub mode: &'static str,
    pub pid: u32,
    pub host: String,
    pub user: String,
    pub since: String,
}

impl Lock {
    /// Take a shared (`exclusive = false`) or exclusive lock.
    pub async fn acquire(repo: Arc<Repository>, exclusive: bool) -> Result<Lock> {
        check_conflicts(&repo, exclusive, None).await?;
        let id = repo
            .save_json(FileType::Lock, &LockFile::new(exclusive))
            .await?;
        // A racing client may have written its lock at the same time: look again.
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Err(e) = check_conflicts(&repo, exclusive, Some(id)).await {
            let _ = repo.backend().remove(FileType::Lock, &id.to_hex()).await;
            return Err(e);
        }
        let current = Arc::new(Mutex::new(id));
        let (r2, c2) = (repo.clone(), current.clone());
        let refresher = tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH_EVERY).await;
                let mut cur = c2.lock().await;
                match r2
                    .save_json(FileType::Lock, &LockFile::new(exclusive))
                    .await
                {
                    Ok(new) => {
                        let _ = r2.backend().remove(FileType::Lock, &cur.to_hex()).await;
                        *cur = new;
                    }
                    Err(e) => tracing::warn!(error = %e, "refreshing the repository lock failed"),
                }
            }
        });
        Ok(Lock {
            repo,
            current,
            refresher,
        })
    }

    pub async fn release(self) {
        self.refresher.abort();
        let id = *self.current.lock().await;
        if let Err(e) = self
            .repo
            .backend()
            .remove(FileType::Lock, &id.to_hex())
            .await
        {
            tracing::warn!(error = %e, "removing our lock failed; `stash unlock` will clear it once stale");
        }
    }
}

async fn check_conflicts(repo: &Repository, exclusive: bool, own: Option<Id>) -> Result<()> {
    for f in repo.backend().list(FileType::Lock).await? {
        if own.map(|o| o.to_hex() == f.name).unwrap_or(false) {
            continue;
        }
        let lock: LockFile = match repo.load_json(FileType::Lock, &f.name).await {
            Ok(l) => l,
            // Removed meanwhile by its owner: no conflict.
            Err(RepoError::Backend(e)) if e.is_not_found() => continue,
            Err(e) => {
                tracing::warn!(lock = %&f.name[..8], error = %e, "ignoring an unreadable lock file");
                continue;
            }
        };
        if !exclusive && !lock.exclusive {
            continue;
        }
        if let Some(reason) = lock.stale_reason() {
            tracing::warn!(
                lock = %&f.name[..8], host = %lock.hostname, pid = lock.pid, %reason,
                "removing stale lock"
            );
            repo.backend().remove(FileType::Lock, &f.name).await?;
            continue;
        }
        return Err(RepoError::Locked(LockedError {
            mode: if lock.exclusive { " exclusively" } else { "" },
            pid: lock.pid,
            host: lock.hostname,
            user: lock.username,
            since: lock.time.format("%Y-%m-%d %H:%M:%S").to_string(),
        }));
    }
    Ok(())
}

/// Remove stale locks (or all, with `all`). Returns how many were removed.
pub async fn unlock(repo: &Repository, all: bool) -> Result<usize> {
    let mut n = 0;
    for f in repo.backend().list(FileType::Lock).await? {
        let remove = if all {
            true
        } else {
            match repo.load_json::<LockFile>(FileType::Lock, &f.name).await {
                Ok(l) => l.stale_reason().is_some(),
                Err(_) => false,
            }
        };
        if remove {
            repo.backend().remove(FileType::Lock, &f.name).await?;
            n += 1;
        }
    }
    Ok(n)
}
