//! Backup hooks as `stash run` executes them: a failed pre-backup hook stops the backup, an
//! execution policy skips a hook with a condition that says so, an httpPost body is rendered
//! from the session (checks 19, 20, 22).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use super::fixtures::*;
use serde_json::Value;

/// `pg_backup` with `hooks` (YAML at the depth of `spec.hooks`' fields) added.
pub fn pg_backup_with_hooks(hooks: &str) -> String {
    pg_backup("0 3 * * *", 5, 5).replace(
        "  retentionPolicy:",
        &format!("  hooks:\n{hooks}  retentionPolicy:"),
    )
}

/// The condition `ty` of the session's first target.
pub fn target_condition(s: &Value, ty: &str) -> (String, String) {
    condition(&s["status"]["targets"][0]["conditions"], ty)
        .unwrap_or_else(|| panic!("no {ty} on the target: {s:#}"))
}

/// Check 19: a pre-backup hook that exits 1 stops the backup: no snapshot,
/// `PreBackupHookExecutionSucceeded=False`, the session Failed, the post-backup hook not run.
#[test]
fn check_19_failed_pre_backup_hook_takes_no_backup() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_prefail");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    let marker = l.folder("post-hook-ran");
    l.write(
        "backup.yaml",
        &pg_backup_with_hooks(&format!(
            "    preBackup:\n      exec:\n        command: [sh, -c, 'echo quiescing failed >&2; exit 1']\n\
             \x20   postBackup:\n      executionPolicy: Always\n      exec:\n        command: [touch, {}]\n",
            marker.display()
        )),
    );
    let out = l.run_once();
    assert!(!out.status.success());
    let s = &l.list("BackupSession")[0];
    assert_eq!(text(s, "/status/phase"), "Failed", "{s:#}");
    let (status, message) = target_condition(s, "PreBackupHookExecutionSucceeded");
    assert_eq!(status, "False");
    assert!(message.contains("quiescing failed"), "{message}");
    assert!(!marker.exists(), "the post-backup hook ran");
    assert!(
        !l.repo.join("snapshots").exists() || l.restic_snapshots().is_empty(),
        "a snapshot was taken"
    );
}

/// Check 20: a post-backup hook with `executionPolicy: OnFailure` after a successful backup
/// is not executed; its condition is True and says it was skipped.
#[test]
fn check_20_on_failure_hook_skipped_after_success() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_onfail");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    let marker = l.folder("on-failure-ran");
    l.write(
        "backup.yaml",
        &pg_backup_with_hooks(&format!(
            "    postBackup:\n      executionPolicy: OnFailure\n      exec:\n        command: [touch, {}]\n",
            marker.display()
        )),
    );
    assert_ok(&l.run_once());
    let s = succeeded_session(&l);
    let (status, message) = target_condition(&s, "PostBackupHookExecutionSucceeded");
    assert_eq!(status, "True");
    assert!(
        message.starts_with("Skipping executing postBackup"),
        "{message}"
    );
    assert!(!marker.exists(), "the OnFailure hook ran after a success");
}

/// One HTTP request to a listener of this test: its request line and body.
fn serve_one(listener: TcpListener, tx: mpsc::Sender<(String, String)>) {
    let (stream, _) = listener.accept().unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .unwrap();
    tx.send((
        request_line.trim().to_string(),
        String::from_utf8(body).unwrap(),
    ))
    .unwrap();
}

/// Check 22: an httpPost post-backup hook posts its body rendered from the session: the
/// phase, the session's name and the invoker's.
#[test]
fn check_22_http_post_hook_body_is_rendered() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_post");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || serve_one(listener, tx));
    l.write(
        "backup.yaml",
        &pg_backup_with_hooks(&format!(
            "    postBackup:\n      httpPost:\n        port: {port}\n        path: /notify\n\
             \x20       body: 'phase={{{{ .Status.Phase }}}} session={{{{ .Name }}}} invoker={{{{ .Invoker.Name }}}}'\n"
        )),
    );
    assert_ok(&l.run_once());
    let s = succeeded_session(&l);
    let (line, body) = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("the hook posted nothing");
    assert_eq!(line, "POST /notify HTTP/1.1");
    assert_eq!(
        body,
        format!(
            "phase=Succeeded session={} invoker=pg-backup",
            text(&s, "/metadata/name")
        )
    );
    let (status, _) = target_condition(&s, "PostBackupHookExecutionSucceeded");
    assert_eq!(status, "True");
}
