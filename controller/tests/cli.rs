//! The `stash` binary as users run it: exit codes, JSON output, and a backup killed with
//! SIGKILL at different moments (the repository must stay valid for restic).
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use stash_integration::data::SqlDump;
use stash_integration::restic::{restic, PASSWORD};

fn stash(repo: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stash"));
    c.arg("-r").arg(repo).args(args).env("RESTIC_PASSWORD", PASSWORD).env_remove("RESTIC_REPOSITORY");
    c
}

fn ok(mut c: Command) -> Output {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{c:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn backup_bytes(repo: &Path, data: &[u8], host: &str) -> Output {
    let mut child = stash(repo, &["backup", "--stdin", "--stdin-filename", "dumpfile.sql", "--host", host, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn exit_codes_and_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let out = stash(&repo, &["snapshots"]).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist: it is not a repository"));
    ok(stash(&repo, &["init"]));
    let out = stash(&repo, &["init"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a repository"));
    let out = stash(&repo, &["snapshots"]).env("RESTIC_PASSWORD", "wrong").output().unwrap();
    assert_eq!(out.status.code(), Some(12));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Fatal: wrong password"));
    let out = stash(&repo, &["snapshots"]).env_remove("RESTIC_PASSWORD").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("set RESTIC_PASSWORD or pass --password-file"));
    let pwf = tmp.path().join("pw");
    std::fs::write(&pwf, format!("{PASSWORD}\n")).unwrap();
    ok(stash(&repo, &["snapshots"]).env_remove("RESTIC_PASSWORD").arg("--password-file").arg(&pwf));
}

#[test]
fn json_output_matches_restic_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(stash(&repo, &["init"]));
    let data = SqlDump::to_vec(1, 3 << 20);
    let out = backup_bytes(&repo, &data, "host-0");
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["message_type"], "summary");
    assert_eq!(summary["total_bytes_processed"], 3 << 20);
    let ours: serde_json::Value = serde_json::from_slice(&ok(stash(&repo, &["snapshots", "--json"])).stdout).unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(&restic(&repo, &["snapshots", "--json"]).stdout).unwrap();
    assert_eq!(ours[0]["id"], summary["snapshot_id"]);
    for k in ["id", "short_id", "tree", "paths", "hostname", "time"] {
        assert_eq!(ours[0][k], theirs[0][k], "field {k}");
    }
    let dumped = ok(stash(&repo, &["dump", "latest", "/dumpfile.sql"])).stdout;
    assert!(dumped == data, "dump gives back the bytes");
}

#[test]
fn killed_backups_leave_a_repository_restic_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(stash(&repo, &["init"]));
    let data = stash_integration::data::Rng::new(5).bytes(160 << 20);
    for delay in [30u64, 150, 400, 900, 1600] {
        let mut child = stash(&repo, &["backup", "--stdin", "--stdin-filename", "dumpfile.sql", "--pack-size", "4", "--compression", "off"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let d = data.clone();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&d);
        });
        std::thread::sleep(Duration::from_millis(delay));
        // SAFETY: sending SIGKILL to our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        let _ = writer.join();
    }
    // Whatever was left behind, restic considers the repository valid.
    restic(&repo, &["check"]);
    let snaps: serde_json::Value = serde_json::from_slice(&ok(stash(&repo, &["snapshots", "--json"])).stdout).unwrap();
    // The killed processes' locks are stale (their PIDs are gone): a new backup proceeds.
    let out = backup_bytes(&repo, &data[..8 << 20], "host-0");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Prune removes what the killed backups left; afterwards everything is referenced.
    ok(stash(&repo, &["prune"]));
    let check: serde_json::Value =
        serde_json::from_slice(&ok(stash(&repo, &["check", "--read-data", "--json"])).stdout).unwrap();
    assert_eq!(check["hints"].as_array().unwrap().len(), 0, "{check}");
    assert_eq!(check["errors"].as_array().unwrap().len(), 0, "{check}");
    restic(&repo, &["check", "--read-data"]);
    let after: serde_json::Value = serde_json::from_slice(&ok(stash(&repo, &["snapshots", "--json"])).stdout).unwrap();
    assert_eq!(after.as_array().unwrap().len(), snaps.as_array().unwrap().len() + 1);
}
