//! Sessions that fail or hang: retries after a delay, the hook that waits for the final
//! retry, and the session deadline (checks 17, 18, 21).
use std::process::Stdio;
use std::time::Duration;

use chrono::DateTime;
use stash_integration::pgcluster::Pg;

use super::fixtures::*;
use super::hooks::{pg_backup_with_hooks, target_condition};

fn time(v: &serde_json::Value, pointer: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(&text(v, pointer)).unwrap()
}

/// Checks 17 and 21: a backup that fails with `retryConfig {maxRetry: 2, delay: 2s}` is
/// retried twice, each retry created at least the delay later with `retryLeft` one less, the
/// old session marked `retried`, and no session after the last. A post-backup hook with
/// `OnFinalRetryFailure` runs only on the session with no retry left; the others say they
/// skipped it.
#[test]
fn check_17_21_retries_and_the_final_retry_failure_hook() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_retry");
    l.pg_appbinding("pg-src", &src);
    let ab = std::fs::read_to_string(l.manifests.join("pg-src.yaml")).unwrap();
    l.write(
        "pg-src.yaml",
        &ab.replace(&format!("/{}?", src.0), "/no_such_database_here?"),
    );
    let ran = l.folder("final-hook-ran");
    let bc = pg_backup_with_hooks(&format!(
        "    postBackup:\n      executionPolicy: OnFinalRetryFailure\n      exec:\n\
         \x20       command: [sh, -c, 'echo {{{{ .RetryLeft }}}} >> {}']\n",
        ran.display()
    ))
    .replace(
        "  backupHistoryLimit:",
        "  retryConfig: {maxRetry: 2, delay: 2s}\n  backupHistoryLimit:",
    );
    l.write("backup.yaml", &bc);
    let out = l.run_once();
    assert!(
        !out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let mut sessions = l.list("BackupSession");
    sessions.sort_by_key(|s| s["spec"]["retryLeft"].as_i64().map(|n| -n));
    let left: Vec<i64> = sessions
        .iter()
        .map(|s| s["spec"]["retryLeft"].as_i64().unwrap())
        .collect();
    assert_eq!(left, [2, 1, 0], "{sessions:#?}");
    for s in &sessions {
        assert_eq!(text(s, "/status/phase"), "Failed", "{s:#}");
    }
    for pair in sessions.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        assert_eq!(old["status"]["retried"], true, "{old:#}");
        // The retry is due `delay` after the old session failed, and not created before.
        let due = time(old, "/status/nextRetry");
        assert!(
            due - time(old, "/metadata/creationTimestamp") >= chrono::Duration::seconds(2),
            "{old:#}"
        );
        assert!(
            time(new, "/metadata/creationTimestamp") >= due,
            "{old:#}\n{new:#}"
        );
        let (status, message) = target_condition(old, "PostBackupHookExecutionSucceeded");
        assert_eq!(status, "True");
        assert!(
            message.starts_with("Skipping executing postBackup"),
            "{message}"
        );
    }
    assert!(sessions[2]["status"]["retried"].is_null());
    let (status, _) = target_condition(&sessions[2], "PostBackupHookExecutionSucceeded");
    assert_eq!(status, "True");
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "0\n");
}

/// Check 18: a backup that hangs (pg_dump waits for a lock another client holds) is stopped
/// at `timeOut`: `DeadlineExceeded=True`, the session Failed, `sessionDeadline` its creation
/// plus the timeout, and its pg_dump is gone from the server.
#[test]
fn check_18_deadline_stops_a_hanging_backup() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_hang");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    let mut holder = psql(&src.0)
        .args([
            "-c",
            "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let dumps = || {
        Pg::shared()
            .psql(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND application_name = 'pg_dump'",
                    src.0
                ),
            )
            .trim()
            .to_string()
    };
    l.write(
        "backup.yaml",
        &pg_backup("0 3 * * *", 5, 5).replace(
            "  backupHistoryLimit:",
            "  timeOut: 6s\n  backupHistoryLimit:",
        ),
    );
    let out = l.run_once();
    let s = l.list("BackupSession").remove(0);
    assert!(!out.status.success(), "{s:#}");
    assert_eq!(text(&s, "/status/phase"), "Failed", "{s:#}");
    let (status, message) = condition(&s["status"]["conditions"], "DeadlineExceeded").unwrap();
    assert_eq!(status, "True");
    assert!(message.contains("spec.timeOut 6s"), "{message}");
    assert_eq!(
        time(&s, "/status/sessionDeadline") - time(&s, "/metadata/creationTimestamp"),
        chrono::Duration::seconds(6)
    );
    // The lock is still held: only the deadline can have stopped the dump.
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while dumps() != "0" && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(dumps(), "0", "pg_dump still runs after the deadline");
    assert_eq!(
        holder.try_wait().unwrap(),
        None,
        "the lock holder ended early"
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(l.restic_snapshots().is_empty());
}
