//! Locks: concurrent backups, stale-lock self-healing, exclusive operations.
use std::sync::Arc;

use chrono::{Duration, Local};
use stash::engine::archiver::{stream::backup_stream, Progress, SnapshotOptions};
use stash::engine::lock::{Lock, LockFile};
use stash::engine::prune::{prune, PruneOptions};
use stash::engine::{sys, Compression, FileType, Repository};
use stash_integration::data::SqlDump;
use stash_integration::restic::restic;

use super::common::{init, open};

async fn backup(repo: Arc<Repository>, seed: u64, host: &str) -> Result<(), String> {
    let opts = SnapshotOptions {
        host: host.into(),
        ..Default::default()
    };
    backup_stream(
        repo,
        SqlDump::new(seed, 8 << 20),
        "dumpfile.sql",
        &opts,
        Arc::new(Progress::default()),
    )
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_backups_both_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    init(tmp.path(), 2, Compression::Auto).await;
    let (a, b) = (open(tmp.path()).await, open(tmp.path()).await);
    let (ra, rb) = tokio::join!(backup(a, 1, "host-0"), backup(b, 2, "host-1"));
    ra.unwrap();
    rb.unwrap();
    let repo = open(tmp.path()).await;
    assert_eq!(repo.snapshots().await.unwrap().len(), 2);
    assert!(
        repo.backend()
            .list(FileType::Lock)
            .await
            .unwrap()
            .is_empty(),
        "locks released"
    );
    restic(tmp.path(), &["check", "--read-data"]);
}

fn lock_file(exclusive: bool, age: Duration, pid: u32, host: &str) -> LockFile {
    LockFile {
        time: Local::now() - age,
        exclusive,
        hostname: host.into(),
        username: "someone".into(),
        pid,
        uid: 0,
        gid: 0,
    }
}

/// A pid that is not running on this host.
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_removes_stale_locks_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init(tmp.path(), 2, Compression::Auto).await;
    // An exclusive lock from another host, two hours old; one from a dead process here.
    let old = repo
        .save_json(
            FileType::Lock,
            &lock_file(true, Duration::hours(2), 4242, "elsewhere"),
        )
        .await
        .unwrap();
    let dead = repo
        .save_json(
            FileType::Lock,
            &lock_file(true, Duration::seconds(5), dead_pid(), &sys::hostname()),
        )
        .await
        .unwrap();
    backup(repo.clone(), 1, "host-0").await.unwrap();
    let left: Vec<String> = repo
        .backend()
        .list(FileType::Lock)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert!(
        !left.contains(&old.to_hex()) && !left.contains(&dead.to_hex()),
        "{left:?}"
    );
    assert_eq!(repo.snapshots().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_exclusive_lock_blocks_backup_with_its_holder_named() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init(tmp.path(), 2, Compression::Auto).await;
    repo.save_json(
        FileType::Lock,
        &lock_file(true, Duration::seconds(1), 777, "db-node-1"),
    )
    .await
    .unwrap();
    let err = backup(repo.clone(), 1, "host-0").await.unwrap_err();
    assert!(
        err.starts_with(
            "repository is already locked exclusively by PID 777 on db-node-1 by someone (since "
        ) && err.ends_with("if that process is gone, run `stash unlock`"),
        "{err}"
    );
    assert!(repo.snapshots().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_waits_for_no_one_while_a_backup_holds_its_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init(tmp.path(), 2, Compression::Auto).await;
    let shared = Lock::acquire(repo.clone(), false).await.unwrap();
    let err = prune(&repo, &PruneOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("repository is already locked by PID "),
        "{err}"
    );
    shared.release().await;
    prune(&repo, &PruneOptions::default()).await.unwrap();
}
