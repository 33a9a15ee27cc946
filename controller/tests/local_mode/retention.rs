//! Retention and the post-backup actions as a session runs them: per group, dry run, and not
//! at all when the host failed (checks 12, 13, 14).
use super::fixtures::*;
use stash_integration::restic::restic;

/// A BackupConfiguration `name` of the AppBinding `pg-src` whose hosts are called `alias`.
fn pg_backup_as(name: &str, alias: &str, retention: &str) -> String {
    pg_backup("0 3 * * *", 1, 5)
        .replace("name: pg-backup", &format!("name: {name}"))
        .replace("    ref: {", &format!("    alias: {alias}\n    ref: {{"))
        .replace("{name: keep, keepLast: 1, prune: true}", retention)
}

/// Check 12: retention keeps `keepLast` per host and paths. Two configurations back up into
/// one repository as hosts `app-a` and `app-b`, twice each, with `keepLast: 1`: one snapshot
/// of each host remains, the newest.
#[test]
fn check_12_retention_keeps_n_per_host() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_groups");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    let keep_one = "{name: keep, keepLast: 1, prune: true}";
    l.write("a.yaml", &pg_backup_as("backup-a", "app-a", keep_one));
    l.write("b.yaml", &pg_backup_as("backup-b", "app-b", keep_one));
    // The first run backs both up once; the second runs a manual session of each.
    assert_ok(&l.run_once());
    l.trigger("backup-a");
    l.trigger("backup-b");
    assert_ok(&l.run_once());

    let sessions = l.list("BackupSession");
    assert_eq!(sessions.len(), 4, "{sessions:#?}");
    let newest = |bc: &str| {
        sessions
            .iter()
            .filter(|s| text(s, "/spec/invoker/name") == bc)
            .max_by_key(|s| text(s, "/metadata/creationTimestamp"))
            .map(|s| text(s, "/status/targets/0/stats/0/snapshots/0/name"))
            .unwrap()
    };
    let mut kept: Vec<(String, String)> = l
        .restic_snapshots()
        .iter()
        .map(|s| (text(s, "/hostname"), text(s, "/short_id")))
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            ("app-a".to_string(), newest("backup-a")),
            ("app-b".to_string(), newest("backup-b"))
        ]
    );
    restic(&l.repo, &["check"]);
}

/// Check 13: with `dryRun: true` retention removes nothing, though `keepLast: 1` would.
#[test]
fn check_13_dry_run_retention_removes_nothing() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_dry");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    l.write(
        "backup.yaml",
        &pg_backup("0 3 * * *", 1, 5).replace("prune: true}", "prune: true, dryRun: true}"),
    );
    assert_ok(&l.run_once());
    l.trigger("pg-backup");
    assert_ok(&l.run_once());
    assert_eq!(l.restic_snapshots().len(), 2);
    let repo = l.get("Repository", "repo").unwrap();
    assert_eq!(repo["status"]["snapshotCount"], 2, "{repo:#}");
    assert_eq!(
        repo["status"]["snapshotsRemovedOnLastCleanup"], 0,
        "{repo:#}"
    );
    let mut sessions = l.list("BackupSession");
    sessions.sort_by_key(|s| text(s, "/metadata/creationTimestamp"));
    let (status, message) = condition(
        &sessions[1]["status"]["conditions"],
        "RetentionPolicyApplied",
    )
    .unwrap();
    assert_eq!(status, "True");
    assert!(
        message.contains("dryRun: 1 snapshot(s) would be removed; none was"),
        "{message}"
    );
}

/// Check 14: a host that fails (its database does not exist) fails its target and the
/// session, with a Warning "Host Backup Failed" on the session; retention and the integrity
/// check do not run for it, so the Repository gets no status from it.
#[test]
fn check_14_host_failure_fails_the_session_and_skips_the_actions() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_hostfail");
    l.pg_appbinding("pg-src", &src);
    let ab = std::fs::read_to_string(l.manifests.join("pg-src.yaml")).unwrap();
    l.write(
        "pg-src.yaml",
        &ab.replace(&format!("/{}?", src.0), "/no_such_database_here?"),
    );
    l.write("backup.yaml", &pg_backup("0 3 * * *", 1, 5));
    let out = l.run_once();
    assert!(!out.status.success());

    let s = &l.list("BackupSession")[0];
    let name = text(s, "/metadata/name");
    assert_eq!(text(s, "/status/phase"), "Failed", "{s:#}");
    let target = &s["status"]["targets"][0];
    assert_eq!(text(target, "/phase"), "Failed", "{s:#}");
    assert_eq!(text(target, "/stats/0/phase"), "Failed", "{s:#}");
    assert!(
        text(target, "/stats/0/error").contains("no_such_database_here"),
        "the host's error names the database: {s:#}"
    );
    for ty in ["RetentionPolicyApplied", "RepositoryIntegrityVerified"] {
        assert_eq!(
            condition(&s["status"]["conditions"], ty),
            None,
            "{ty} must not be set: {s:#}"
        );
    }
    let events = l.events("BackupSession", &name);
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning") && e.contains("Host Backup Failed")),
        "{events:#?}"
    );
    assert!(l.restic_snapshots().is_empty());
    let repo = l.get("Repository", "repo").unwrap();
    assert!(repo["status"]["snapshotCount"].is_null(), "{repo:#}");
}
