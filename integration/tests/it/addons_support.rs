//! What the addon tests share: fresh repositories, unique names, the restic judge.
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use stash::engine::{Compression, Repository};
use stash_addons::{BackupRequest, RestoreRequest};
use stash_integration::restic::{json, restic, restic_stdout_hash};

use super::common::init;

pub struct TestRepo {
    pub _tmp: tempfile::TempDir,
    pub path: PathBuf,
    pub repo: Arc<Repository>,
}

pub async fn fresh_repo() -> TestRepo {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("repo");
    let repo = init(&path, 2, Compression::Auto).await;
    TestRepo {
        _tmp: tmp,
        path,
        repo,
    }
}

impl TestRepo {
    pub fn backup_req(&self) -> BackupRequest {
        BackupRequest {
            wait_timeout: Duration::from_secs(30),
            ..BackupRequest::new(self.repo.clone())
        }
    }

    pub fn restore_req(&self) -> RestoreRequest {
        RestoreRequest {
            wait_timeout: Duration::from_secs(30),
            ..RestoreRequest::latest(self.repo.clone())
        }
    }

    /// Snapshots as restic lists them.
    pub fn restic_snapshots(&self) -> Vec<serde_json::Value> {
        json(&restic(&self.path, &["snapshots", "--json"]))
            .as_array()
            .unwrap()
            .clone()
    }

    /// sha256 and length of `restic dump <id> <file>`.
    pub fn restic_dump(&self, id: &str, file: &str) -> (String, u64) {
        restic_stdout_hash(&self.path, &["dump", id, file])
    }

    /// The snapshot is one file at `file` of host `host`, restic agrees with our digest, and
    /// `restic check --read-data` passes.
    pub fn assert_restic_agrees(&self, id: &str, file: &str, host: &str, sha256: &str, bytes: u64) {
        let snaps = self.restic_snapshots();
        let s = snaps
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("restic does not list {id}"));
        assert_eq!(s["hostname"], host);
        assert_eq!(s["paths"], serde_json::json!([file]));
        let (h, n) = self.restic_dump(id, file);
        assert_eq!(
            (h.as_str(), n),
            (sha256, bytes),
            "restic dump differs from the stream we stored"
        );
        restic(&self.path, &["check", "--read-data"]);
    }
}

/// A name unique to this test process and call: `<prefix>_<pid>_<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Error text with its causes.
pub fn err_text(e: &stash_addons::AddonError) -> String {
    stash_addons::chain(e)
}

/// Take a database server away in the middle of a backup: once the engine has stored the first
/// MiB (so the dump is under way and cannot have finished) the server is frozen, then killed.
/// Returns the backup's error; panics if the backup succeeded or never started.
pub async fn kill_server_mid_dump(
    backup: tokio::task::JoinHandle<stash_addons::Result<stash_addons::BackupOutcome>>,
    progress: &stash::engine::archiver::Progress,
    server: &mut std::process::Child,
) -> stash_addons::AddonError {
    use stash::engine::archiver::Progress;
    let t = std::time::Instant::now();
    while Progress::get(&progress.bytes_read) == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(60) && !backup.is_finished(),
            "the dump never got under way"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = server.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !backup.is_finished(),
        "the dump must still be running when the server goes away"
    );
    server.kill().unwrap();
    backup
        .await
        .unwrap()
        .expect_err("a backup whose server was killed mid-dump must fail")
}
