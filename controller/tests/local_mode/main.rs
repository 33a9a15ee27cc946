//! Local mode end to end: `stash run` over a folder of manifests, against the machine's
//! PostgreSQL, MariaDB and Redis, the MongoDB-wire and S3 test servers, with local-folder and
//! S3 repositories. Judges: the objects' status and events in the state store (read through
//! the library, as `stash get` reads them), the real `restic`, and independent readers of the
//! data (`pg_dump`, `CHECKSUM TABLE`, Redis `DUMP`, MongoDB documents, file hashes, the S3
//! server's listing). Tests are named after the acceptance checks of the spec (§9) they prove;
//! the modules group them by subject, `fixtures` holds what they share.
use std::path::Path;

use serde_json::Value;
use stash_integration::pgcluster::Pg;
use stash_integration::restic::restic;

mod addons;
mod batch;
mod blueprint;
mod compose;
mod fixtures;
mod hooks;
mod metrics;
mod repository;
mod restore;
mod retention;
mod retries;
mod snapshots;

use fixtures::*;

/// Checks 7, 15 and 23: the first session initialises the repository, backs the AppBinding's
/// database up as `/dumpfile.sql` of `host-0`, runs retention and the integrity check once and
/// fills in the Repository's status; the RestoreSession waits for it and restores into an
/// empty database that then dumps identically.
#[test]
fn check_07_15_23_postgres_backup_then_restore_in_local_mode() {
    let l = Local::new();
    let (src, dst) = (PgDb::create("stash_lm_src"), PgDb::create("stash_lm_dst"));
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    l.pg_appbinding("pg-dst", &dst);
    l.write("backup.yaml", &pg_backup("0 3 * * *", 5, 3));
    l.write("restore.yaml", PG_RESTORE);
    let out = l.run_once();
    assert_ok(&out);

    let bc = l.get("BackupConfiguration", "pg-backup").unwrap();
    assert_eq!(text(&bc, "/status/phase"), "Ready", "{bc:#}");
    let cj = l.get("CronJob", "stash-trigger-pg-backup").unwrap();
    assert_eq!(text(&cj, "/spec/schedule"), "0 3 * * *");

    let sessions = l.list("BackupSession");
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    let s = &sessions[0];
    let name = text(s, "/metadata/name");
    assert_eq!(text(s, "/status/phase"), "Succeeded", "{s:#}");
    let st = &s["status"];
    for ty in [
        "BackendRepositoryInitialized",
        "RetentionPolicyApplied",
        "RepositoryIntegrityVerified",
        "MetricsPushed",
    ] {
        assert_eq!(
            condition(&st["conditions"], ty).map(|c| c.0),
            Some("True".into()),
            "{ty}: {st:#}"
        );
    }
    let host = &st["targets"][0]["stats"][0];
    assert_eq!(text(host, "/hostname"), "host-0", "{st:#}");
    assert_eq!(text(host, "/phase"), "Succeeded", "{st:#}");
    assert!(!text(st, "/sessionDuration").is_empty(), "{st:#}");
    let events = l.events("BackupSession", &name);
    assert!(
        events.iter().any(|e| e.contains("Host Backup Succeeded")),
        "{events:#?}"
    );

    let snaps = l.restic_snapshots();
    assert_eq!(snaps.len(), 1, "{snaps:#?}");
    assert_eq!(snaps[0]["hostname"], "host-0");
    assert_eq!(snaps[0]["paths"], serde_json::json!(["/dumpfile.sql"]));
    restic(&l.repo, &["check", "--read-data"]);

    let repo = l.get("Repository", "repo").unwrap();
    assert_eq!(repo["status"]["integrity"], true, "{repo:#}");
    assert_eq!(repo["status"]["snapshotCount"], 1, "{repo:#}");
    assert!(!text(&repo, "/status/totalSize").is_empty(), "{repo:#}");
    assert_eq!(
        text(&repo, "/status/lastBackupTime"),
        text(s, "/metadata/creationTimestamp"),
        "{repo:#}"
    );

    let rs = l.get("RestoreSession", "pg-restore").unwrap();
    assert_eq!(text(&rs, "/status/phase"), "Succeeded", "{rs:#}");
    assert_eq!(
        src.dump(),
        dst.dump(),
        "the restored database differs from the source"
    );

    // A second run finds nothing due: no new session, no second init.
    let again = l.run_once();
    assert_ok(&again);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing was due"));
    assert_eq!(l.list("BackupSession").len(), 1);
}

/// Check 1: a storage Secret without RESTIC_PASSWORD fails the host with Stash's message, and
/// `--once` exits non-zero naming the session.
#[test]
fn check_01_storage_secret_without_restic_password_fails_the_host() {
    let l = Local::with_repo_secret("OTHER_KEY: x");
    let src = PgDb::create("stash_lm_nopw");
    l.pg_appbinding("pg-src", &src);
    l.write("backup.yaml", &pg_backup("0 3 * * *", 5, 3));
    let out = l.run_once();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("BackupSession demo/pg-backup-"), "{stderr}");
    let s = &l.list("BackupSession")[0];
    assert_eq!(text(s, "/status/phase"), "Failed", "{s:#}");
    let whole = s.to_string();
    assert!(
        whole.contains("storage Secret missing RESTIC_PASSWORD key"),
        "{s:#}"
    );
}

/// Check 2: a BackupConfiguration whose Repository does not exist is NotReady with
/// `RepositoryFound=False`; adding the Repository file makes it Ready with no restart.
#[test]
fn check_02_missing_repository_then_ready_without_user_action() {
    let l = Local::new();
    let repo_file = l.manifests.join("repository.yaml");
    let repo_yaml = std::fs::read_to_string(&repo_file).unwrap();
    std::fs::remove_file(&repo_file).unwrap();
    let src = PgDb::create("stash_lm_norepo");
    l.pg_appbinding("pg-src", &src);
    l.write("backup.yaml", &pg_backup("0 3 * * *", 5, 3));
    let _run = l.start();
    let not_ready = || {
        l.get("BackupConfiguration", "pg-backup")
            .is_some_and(|bc| text(&bc, "/status/phase") == "NotReady")
    };
    l.wait_for("NotReady", 60, not_ready);
    let bc = l.get("BackupConfiguration", "pg-backup").unwrap();
    let (status, message) = condition(&bc["status"]["conditions"], "RepositoryFound").unwrap();
    assert_eq!(status, "False");
    assert!(message.contains("repo"), "{message}");
    std::fs::write(&repo_file, repo_yaml).unwrap();
    let ready = || {
        l.get("BackupConfiguration", "pg-backup")
            .is_some_and(|bc| text(&bc, "/status/phase") == "Ready")
    };
    l.wait_for("Ready after the Repository appeared", 60, ready);
}

/// The examples run as they are, against this machine's servers.
#[test]
fn example_postgres_runs_once() {
    let pg = Pg::shared();
    for db in ["stash_demo", "stash_demo_restored"] {
        pg.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
        pg.psql("postgres", &format!("CREATE DATABASE {db}"));
    }
    let src = PgDb("stash_demo".into());
    let dst = PgDb("stash_demo_restored".into());
    fill(&src);
    run_example_once("postgres");
    assert_eq!(src.dump(), dst.dump());
}

/// Checks 11 and 16 through a real schedule: a BackupConfiguration firing every minute runs
/// three sessions; `keepLast: 2` leaves two snapshots (restic agrees), `backupHistoryLimit: 2`
/// two sessions, and the Repository says so with its integrity verified.
#[test]
fn check_11_16_every_minute_three_sessions_keep_two() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_sched");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    l.write("backup.yaml", &pg_backup("* * * * *", 2, 2));
    let _run = l.start();
    let succeeded = || {
        l.list("BackupSession")
            .iter()
            .filter(|s| text(s, "/status/phase") == "Succeeded")
            .count()
    };
    let mut seen = std::collections::BTreeSet::new();
    l.wait_for("three successful sessions", 240, || {
        for s in l.list("BackupSession") {
            if text(&s, "/status/phase") == "Succeeded" {
                seen.insert(text(&s, "/metadata/name"));
            }
        }
        seen.len() >= 3
    });
    drop(_run);
    let sessions = l.list("BackupSession");
    assert_eq!(sessions.len(), 2, "history limit 2: {sessions:#?}");
    assert_eq!(succeeded(), 2);
    let repo = l.get("Repository", "repo").unwrap();
    assert_eq!(repo["status"]["snapshotCount"], 2, "{repo:#}");
    assert_eq!(repo["status"]["integrity"], true, "{repo:#}");
    assert_eq!(
        repo["status"]["snapshotsRemovedOnLastCleanup"], 1,
        "{repo:#}"
    );
    assert_eq!(l.restic_snapshots().len(), 2);
    restic(&l.repo, &["check"]);
}

/// `stash run` killed with SIGKILL while a session runs, then started again: that session ends
/// Failed with a reason that says why (or completes), the repository passes `restic check`,
/// and the next scheduled session succeeds.
#[test]
fn killed_run_resumes_or_fails_the_session_and_the_next_one_succeeds() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_kill");
    fill(&src);
    // Enough rows that the dump takes a moment.
    Pg::shared().psql(
        &src.0,
        "CREATE TABLE big AS SELECT g, md5(g::text) AS h FROM generate_series(1, 1500000) g;",
    );
    l.pg_appbinding("pg-src", &src);
    l.write("backup.yaml", &pg_backup("* * * * *", 5, 5));
    let mut run = l.start();
    let running = || {
        l.list("BackupSession")
            .iter()
            .find(|s| text(s, "/status/phase") == "Running")
            .map(|s| text(s, "/metadata/name"))
    };
    let mut killed = None;
    l.wait_for("a Running session", 150, || {
        killed = running();
        killed.is_some()
    });
    let killed = killed.unwrap();
    // SIGKILL: no chance to clean up.
    run.0.kill().unwrap();
    run.0.wait().unwrap();
    let _run = l.start();
    let ended = || {
        l.get("BackupSession", &killed)
            .is_some_and(|s| matches!(text(&s, "/status/phase").as_str(), "Failed" | "Succeeded"))
    };
    l.wait_for("the killed session to end", 60, ended);
    let s = l.get("BackupSession", &killed).unwrap();
    if text(&s, "/status/phase") == "Failed" {
        assert!(
            s.to_string().contains("stash was stopped while it ran"),
            "{s:#}"
        );
    }
    let next_ok = || {
        l.list("BackupSession")
            .iter()
            .any(|s| text(s, "/metadata/name") != killed && text(s, "/status/phase") == "Succeeded")
    };
    l.wait_for("the next session to succeed", 150, next_ok);
    restic(&l.repo, &["check"]);
}

/// A bad manifest (not YAML, an invalid field) is reported with its file, kind, name and field;
/// the rest of the folder runs; fixing the file recovers it without a restart.
#[test]
fn bad_manifests_are_reported_and_fixing_them_recovers_without_restart() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_bad");
    l.pg_appbinding("pg-src", &src);
    l.write("good.yaml", &pg_backup("0 3 * * *", 5, 3));
    l.write("broken.yaml", "kind: [unclosed");
    let bad = pg_backup("0 3 * * *", 5, 3)
        .replace("name: pg-backup", "name: pg-bad")
        .replace("backupHistoryLimit: 3", "backupHistoryLimit: many");
    l.write("bad.yaml", &bad);
    let _run = l.start();
    let ready = |name: &str| {
        l.get("BackupConfiguration", name)
            .is_some_and(|bc| text(&bc, "/status/phase") == "Ready")
    };
    l.wait_for("the good BackupConfiguration Ready", 60, || {
        ready("pg-backup")
    });
    l.wait_for("the problems reported", 30, || {
        let log = l.run_log();
        log.contains("broken.yaml")
            && log.contains("bad.yaml")
            && log.contains("BackupConfiguration demo/pg-bad")
            && log.contains("backupHistoryLimit")
    });
    assert!(l.get("BackupConfiguration", "pg-bad").is_none());
    l.write(
        "bad.yaml",
        &bad.replace("backupHistoryLimit: many", "backupHistoryLimit: 2"),
    );
    l.wait_for("the fixed BackupConfiguration Ready", 60, || {
        ready("pg-bad")
    });
    assert!(l.run_log().contains("manifest fixed"), "{}", l.run_log());
}

/// No password appears in any log, status, event or the state folder: the repository's and the
/// database's passwords are grepped for everywhere `stash run` writes.
#[test]
fn secrets_appear_in_no_log_status_or_event() {
    const REPO_PW: &str = "repo-pw-7f3a9c1e";
    const DB_PW: &str = "db-pw-b52d0e88";
    let l = Local::with_repo_secret(&format!("RESTIC_PASSWORD: {REPO_PW}"));
    let src = PgDb::create("stash_lm_secret");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    let ab = std::fs::read_to_string(l.manifests.join("pg-src.yaml")).unwrap();
    l.write(
        "pg-src.yaml",
        &ab.replace("password: \"\"", &format!("password: {DB_PW}")),
    );
    l.write("backup.yaml", &pg_backup("0 3 * * *", 5, 3));
    let out = l.run_once();
    assert_ok(&out);
    let mut seen = vec![
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ];
    let session = text(&l.list("BackupSession")[0], "/metadata/name");
    for args in [
        vec!["describe", "backupsession", session.as_str(), "-n", "demo"],
        vec!["describe", "repository", "repo", "-n", "demo"],
        vec!["describe", "secret", "repo-secret", "-n", "demo"],
        vec!["describe", "secret", "pg-src-auth", "-n", "demo"],
        vec!["get", "backupsession", "-n", "demo", "-o", "yaml"],
    ] {
        let out = l.stash(&args).output().unwrap();
        assert!(
            out.status.success(),
            "stash {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        seen.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    assert!(
        seen.iter().any(|s| s.contains("Host Backup Succeeded")),
        "describe shows the events"
    );
    for entry in walk(&l.state) {
        seen.push(String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned());
    }
    assert!(
        seen.len() > 3,
        "the state folder holds the store and step logs"
    );
    for (i, text) in seen.iter().enumerate() {
        assert!(
            !text.contains(REPO_PW) && !text.contains(DB_PW),
            "a password leaked into output {i}"
        );
    }
}

/// Check 4, and `stash get` from a second process while `stash run` works: a paused
/// configuration's CronJob is suspended, `stash trigger` still makes a session, and
/// `stash get backupsession NAME -o json` shows it Running, then Succeeded.
#[test]
fn check_04_paused_schedule_manual_session_runs_and_get_shows_it_live() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_pause");
    fill(&src);
    Pg::shared().psql(
        &src.0,
        "CREATE TABLE big AS SELECT g, md5(g::text) AS h FROM generate_series(1, 300000) g;",
    );
    l.pg_appbinding("pg-src", &src);
    l.write(
        "backup.yaml",
        &pg_backup("* * * * *", 5, 3)
            .replace("spec:\n", "spec:\n  paused: true\n")
            // A pre-backup hook that takes a while: Running lasts long enough to be seen.
            .replace(
                "  retentionPolicy:",
                "  hooks:\n    preBackup:\n      exec:\n        command: [sleep, '3']\n  retentionPolicy:",
            ),
    );
    let _run = l.start();
    l.wait_for("Ready", 60, || {
        l.get("BackupConfiguration", "pg-backup")
            .is_some_and(|bc| text(&bc, "/status/phase") == "Ready")
    });
    let cj = l.get("CronJob", "stash-trigger-pg-backup").unwrap();
    assert_eq!(cj["spec"]["suspend"], true, "{cj:#}");

    let out = l
        .stash(&["trigger", "pg-backup", "-n", "demo"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let name = printed
        .trim()
        .trim_start_matches("backupsession.stash.appscode.com/")
        .trim_end_matches(" created")
        .to_string();
    assert!(name.starts_with("pg-backup-"), "{printed}");

    let mut phases = Vec::new();
    l.wait_for("the session to end", 120, || {
        let out = l
            .stash(&["get", "backupsession", &name, "-n", "demo", "-o", "json"])
            .output()
            .unwrap();
        if !out.status.success() {
            return false;
        }
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(text(&v, "/kind"), "BackupSession");
        let phase = text(&v, "/status/phase");
        if phases.last() != Some(&phase) {
            phases.push(phase.clone());
        }
        matches!(phase.as_str(), "Succeeded" | "Failed")
    });
    let session = l.get("BackupSession", &name).unwrap();
    assert!(
        phases.contains(&"Running".to_string()),
        "{phases:?}: {session:#}\n{}",
        l.run_log()
    );
    assert_eq!(
        phases.last().map(String::as_str),
        Some("Succeeded"),
        "{phases:?}"
    );
    // The schedule stayed suspended: the manual session is the only one.
    assert_eq!(l.list("BackupSession").len(), 1);
}

#[test]
fn example_mariadb_runs_once() {
    for db in ["stash_demo", "stash_demo_restored"] {
        mariadb(
            "mysql",
            &format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}"),
        );
    }
    mariadb(
        "stash_demo",
        "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(190) NOT NULL UNIQUE, balance DECIMAL(12,2) NOT NULL) ENGINE=InnoDB;
         INSERT INTO customers (email, balance) SELECT CONCAT('user', seq, '@example.com'), seq * 0.25 FROM seq_1_to_3000;",
    );
    run_example_once("mariadb");
    let checksum = |db: &str| {
        mariadb(db, "CHECKSUM TABLE customers")
            .split_whitespace()
            .last()
            .unwrap()
            .to_string()
    };
    assert_eq!(checksum("stash_demo"), checksum("stash_demo_restored"));
    mariadb(
        "mysql",
        "DROP DATABASE stash_demo; DROP DATABASE stash_demo_restored",
    );
}

/// Check 5: a session of an invoker that is not Ready is Skipped (`BackupSkipped=True`,
/// `SkippedTakingNewBackup`).
#[test]
fn check_05_session_of_a_not_ready_invoker_is_skipped() {
    let l = Local::new();
    std::fs::remove_file(l.manifests.join("repository.yaml")).unwrap();
    let src = PgDb::create("stash_lm_skip");
    l.pg_appbinding("pg-src", &src);
    l.write("backup.yaml", &pg_backup("0 3 * * *", 5, 3));
    let _run = l.start();
    l.wait_for("NotReady", 60, || {
        l.phase("BackupConfiguration", "pg-backup") == "NotReady"
    });
    let name = l.trigger("pg-backup");
    l.wait_for("Skipped", 60, || {
        l.phase("BackupSession", &name) == "Skipped"
    });
    let s = l.get("BackupSession", &name).unwrap();
    let skipped = s["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "BackupSkipped")
        .cloned()
        .unwrap();
    assert_eq!(skipped["status"], "True");
    assert_eq!(skipped["reason"], "SkippedTakingNewBackup");
    assert!(
        text(&skipped, "/message").contains("is not ready"),
        "{skipped:#}"
    );
}

/// Check 6: while a session of an invoker runs, a second one is Skipped, naming the first.
#[test]
fn check_06_second_session_while_one_runs_is_skipped() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_two");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    // A pre-backup hook that takes a while keeps the first session Running long enough.
    let slow = pg_backup("0 3 * * *", 5, 3).replace(
        "  retentionPolicy:",
        "  hooks:\n    preBackup:\n      exec:\n        command: [sleep, '6']\n  retentionPolicy:",
    );
    l.write("backup.yaml", &slow);
    let _run = l.start();
    l.wait_for("Ready", 60, || {
        l.phase("BackupConfiguration", "pg-backup") == "Ready"
    });
    let first = l.trigger("pg-backup");
    l.wait_for("the first Running", 60, || {
        l.phase("BackupSession", &first) == "Running"
    });
    let second = l.trigger("pg-backup");
    l.wait_for("the second Skipped", 60, || {
        l.phase("BackupSession", &second) == "Skipped"
    });
    let s = l.get("BackupSession", &second).unwrap();
    assert!(
        s.to_string().contains(&format!(
            "Previous BackupSession: {first} is \\\"Running\\\""
        )),
        "{s:#}"
    );
    l.wait_for("the first Succeeded", 120, || {
        l.phase("BackupSession", &first) == "Succeeded"
    });
}

/// Check 34: a Repository's default usagePolicy keeps invokers of other namespaces out (the
/// configuration is Invalid, naming spec.repository); `from: All` lets them in.
#[test]
fn check_34_repository_usage_policy_across_namespaces() {
    let l = Local::new();
    let repo = std::fs::read_to_string(l.manifests.join("repository.yaml")).unwrap();
    l.write(
        "repository.yaml",
        &repo.replace("namespace: demo", "namespace: shared"),
    );
    let src = PgDb::create("stash_lm_usage");
    l.pg_appbinding("pg-src", &src);
    l.write(
        "backup.yaml",
        &pg_backup("0 3 * * *", 5, 3).replace(
            "repository: {name: repo}",
            "repository: {name: repo, namespace: shared}",
        ),
    );
    let _run = l.start();
    l.wait_for("Invalid", 60, || {
        l.phase("BackupConfiguration", "pg-backup") == "Invalid"
    });
    let bc = l.get("BackupConfiguration", "pg-backup").unwrap();
    assert!(bc.to_string().contains("usagePolicy"), "{bc:#}");
    let allowed = repo
        .replace("namespace: demo", "namespace: shared")
        .replace(
            "spec:\n  backend:",
            "spec:\n  usagePolicy:\n    allowedNamespaces:\n      from: All\n  backend:",
        );
    l.write("repository.yaml", &allowed);
    l.wait_for("Ready once the policy allows it", 60, || {
        l.phase("BackupConfiguration", "pg-backup") == "Ready"
    });
}

/// examples/redis: database 5 backed up, replayed into database 6; every key's DUMP equal.
#[test]
fn example_redis_runs_once() {
    for db in [5, 6] {
        redis_cli(db, &["FLUSHDB"]);
    }
    for i in 0..300 {
        redis_cli(5, &["SET", &format!("key:{i}"), &format!("välue {i}")]);
    }
    redis_cli(5, &["HSET", "hash", "a", "1", "b", "2"]);
    redis_cli(5, &["RPUSH", "list", "x", "y", "z"]);
    redis_cli(5, &["ZADD", "zset", "1", "one", "2", "two"]);
    run_example_once("redis");
    assert_eq!(assert_redis_keys_restored(5, 6).len(), 303);
    assert_eq!(redis_cli(6, &["DBSIZE"]), redis_cli(5, &["DBSIZE"]));
    for db in [5, 6] {
        redis_cli(db, &["FLUSHDB"]);
    }
}

/// Check 8: a Deployment mounting one PersistentVolumeClaim at `/a` and `/b` (subPaths of
/// its volume's host folder), backed up with `paths: [/a, /b]` and no Task: two snapshots of
/// `host-0` recording `/a` and `/b`, both listed in the host's stats, and restic restores
/// each folder identical to the host's. The Repository is mounted in pods elsewhere than its
/// host folder, so the jobs reach it through its `hostPath` too.
#[test]
fn check_08_29_two_paths_two_snapshots_then_a_rule_restores_one() {
    let l = Local::new();
    l.mount_repository_in_pods();
    let pv = l.folder("pv");
    stash_integration::data::make_tree(&pv.join("a"), 8);
    std::fs::create_dir_all(pv.join("b/logs")).unwrap();
    std::fs::write(pv.join("b/logs/today.txt"), "b's file\n").unwrap();
    std::fs::write(pv.join("not-mounted.txt"), "outside both subPaths\n").unwrap();
    l.write("volume.yaml", &claim_on_host("data", &pv));
    l.write(
        "app.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: demo}\n\
         spec:\n  selector: {matchLabels: {app: app}}\n  template:\n    metadata: {labels: {app: app}}\n    spec:\n\
         \x20     containers:\n      - name: app\n        image: busybox\n        volumeMounts:\n\
         \x20       - {name: data, mountPath: /a, subPath: a}\n        - {name: data, mountPath: /b, subPath: b}\n\
         \x20     volumes:\n      - name: data\n        persistentVolumeClaim: {claimName: data}\n",
    );
    l.write(
        "backup.yaml",
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {name: app-backup, namespace: demo}\n\
         spec:\n  schedule: '0 3 * * *'\n  repository: {name: repo}\n\
         \x20 target:\n    ref: {apiVersion: apps/v1, kind: Deployment, name: app}\n    paths: [/a, /b]\n\
         \x20 retentionPolicy: {name: keep, keepLast: 5, prune: true}\n",
    );
    assert_ok(&l.run_once());

    let s = succeeded_session(&l);
    let host = &s["status"]["targets"][0]["stats"][0];
    assert_eq!(text(host, "/hostname"), "host-0", "{s:#}");
    let listed: Vec<(String, String)> = host["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (text(x, "/path"), text(x, "/name")))
        .collect();
    assert_eq!(
        listed.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
        ["/a", "/b"],
        "{s:#}"
    );

    let snaps = l.restic_snapshots();
    assert_eq!(snaps.len(), 2, "{snaps:#?}");
    for (snap, (path, name)) in snaps.iter().zip(&listed) {
        assert_eq!(snap["hostname"], "host-0");
        assert_eq!(snap["paths"], serde_json::json!([path]));
        assert_eq!(
            &text(snap, "/short_id"),
            name,
            "the host stats name restic's snapshot"
        );
        let out = l.folder(&format!("restic-restore{path}"));
        restic(
            &l.repo,
            &[
                "restore",
                &text(snap, "/id"),
                "--target",
                out.to_str().unwrap(),
            ],
        );
        let restored = out.join(path.trim_start_matches('/'));
        stash_integration::treehash::assert_same(&pv.join(path.trim_start_matches('/')), &restored);
        assert!(!out.join("not-mounted.txt").exists());
    }
    restic(&l.repo, &["check", "--read-data"]);
    let repo = l.get("Repository", "repo").unwrap();
    assert_eq!(repo["status"]["snapshotCount"], 2, "{repo:#}");

    // Check 29 through the controller: a RestoreSession on the Deployment, a rule with
    // `paths: [/b]` and `include: ["*.txt"]`, brings /b's files back into the host folder.
    std::fs::remove_dir_all(pv.join("b")).unwrap();
    std::fs::create_dir_all(pv.join("b")).unwrap();
    l.write(
        "restore.yaml",
        "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {name: app-restore, namespace: demo}\n\
         spec:\n  repository: {name: repo}\n\
         \x20 target:\n    ref: {apiVersion: apps/v1, kind: Deployment, name: app}\n\
         \x20   rules:\n    - paths: [/b]\n      include: ['*.txt']\n",
    );
    assert_ok(&l.run_once());
    assert_eq!(l.phase("RestoreSession", "app-restore"), "Succeeded");
    assert_eq!(
        std::fs::read_to_string(pv.join("b/logs/today.txt")).unwrap(),
        "b's file\n"
    );
}

/// A PersistentVolumeClaim target: `pvc-backup` backs up its volume's host folder as
/// `/stash-data` (where the Function mounts it); the volume addon restores the snapshot into
/// another host folder given as the pod's mount (by flag, then by `STASH_MOUNTS` with a rule's
/// include pattern, as a restore job gets it), and the files come back identical.
#[test]
fn pvc_target_round_trip_through_its_host_folder() {
    let l = Local::new();
    let vol = l.folder("vol");
    stash_integration::data::make_tree(&vol, 9);
    l.write("volume.yaml", &claim_on_host("vol", &vol));
    l.write("backup.yaml", &pvc_backup("vol-backup", "vol"));
    assert_ok(&l.run_once());
    let s = succeeded_session(&l);
    assert_eq!(
        text(&s, "/status/targets/0/stats/0/snapshots/0/path"),
        "/stash-data",
        "{s:#}"
    );
    let snaps = l.restic_snapshots();
    assert_eq!(snaps.len(), 1, "{snaps:#?}");
    assert_eq!(snaps[0]["paths"], serde_json::json!(["/stash-data"]));

    let repo_flags = [
        "--provider=local".to_string(),
        format!("--path={}", l.repo.display()),
        "--storage-secret-name=repo-secret".to_string(),
        "--namespace=demo".to_string(),
        "--restore-paths=/stash-data".to_string(),
    ];
    let restore = |extra: &[String], env: Option<String>| {
        let mut c = l.stash(&["addon", "volume", "restore"]);
        c.args(&repo_flags).args(extra);
        if let Some(m) = env {
            c.env("STASH_MOUNTS", m);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "restore failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let dst = l.folder("restored-vol");
    restore(&[format!("--mount=/stash-data={}", dst.display())], None);
    stash_integration::treehash::assert_same(&vol, &dst);

    let txt = l.folder("only-txt");
    restore(
        &["--include=*.txt".to_string()],
        Some(format!("/stash-data={}", txt.display())),
    );
    let got: Vec<String> = stash_integration::treehash::fingerprint(&txt)
        .into_iter()
        .filter(|(_, d)| d.starts_with("file"))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(got, ["empty.txt", "small.txt", "unicodé/東京 file.txt"]);
}

/// A volume holding an entry the backup cannot read: the snapshot of everything else is saved
/// and listed, but the host fails naming the entry and the fix, and retention does not run.
#[test]
fn unreadable_entry_fails_the_host_naming_it() {
    use stash_integration::unreadable::{make_readable, make_unreadable};
    let l = Local::new();
    let vol = l.folder("vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("a.txt"), "a").unwrap();
    std::fs::write(vol.join("secret.txt"), "s").unwrap();
    make_unreadable(&vol.join("secret.txt"));
    l.write("volume.yaml", &claim_on_host("vol", &vol));
    l.write("backup.yaml", &pvc_backup("vol-backup", "vol"));
    let out = l.run_once_bound_by_permissions();
    make_readable(&vol.join("secret.txt"));
    assert!(!out.status.success());
    let s = &l.list("BackupSession")[0];
    assert_eq!(text(s, "/status/phase"), "Failed", "{s:#}");
    let host = &s["status"]["targets"][0]["stats"][0];
    assert_eq!(text(host, "/phase"), "Failed", "{s:#}");
    let error = text(host, "/error");
    assert!(
        error.contains("1 entry could not be read and is missing from snapshot(s) ")
            && error.contains("/stash-data/secret.txt: Permission denied")
            && error.contains("target.exclude"),
        "{error}"
    );
    let snaps = l.restic_snapshots();
    assert_eq!(snaps.len(), 1, "{snaps:#?}");
    assert!(
        error.contains(&snaps[0]["short_id"].as_str().unwrap()[..8]),
        "the error names the snapshot saved: {error}"
    );
    assert_eq!(text(host, "/snapshots/0/path"), "/stash-data", "{s:#}");
    assert_eq!(
        condition(&s["status"]["conditions"], "RetentionPolicyApplied"),
        None,
        "{s:#}"
    );
}

/// A claim bound to no volume fails the target's executor with a message that says how to fix
/// it, and `--once` reports the session.
#[test]
fn unbound_claim_fails_the_executor_saying_how_to_fix_it() {
    let l = Local::new();
    l.write(
        "volume.yaml",
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: demo}\n\
         spec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n",
    );
    l.write("backup.yaml", &pvc_backup("data-backup", "data"));
    let out = l.run_once();
    assert!(!out.status.success());
    let s = &l.list("BackupSession")[0];
    assert_eq!(text(s, "/status/phase"), "Failed", "{s:#}");
    let (status, message) = condition(
        &s["status"]["targets"][0]["conditions"],
        "BackupExecutorEnsured",
    )
    .unwrap();
    assert_eq!(status, "False");
    assert!(
        message.ends_with("PersistentVolumeClaim demo/data is not bound: set spec.volumeName to a PersistentVolume with hostPath or local.path"),
        "{message}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not bound"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The documents of `db.collection`, in `_id` order.
async fn mongo_docs(client: &mongodb::Client, db: &str, collection: &str) -> Vec<bson::Document> {
    use futures::TryStreamExt;
    client
        .database(db)
        .collection::<bson::Document>(collection)
        .find(bson::doc! {})
        .sort(bson::doc! {"_id": 1})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

/// examples/mongodb: database stash_demo backed up, restored as stash_demo_restored; every
/// document equal, in `_id` order.
#[test]
fn example_mongodb_runs_once() {
    let (rt, client) = mongo_client(&["stash_demo", "stash_demo_restored"]);
    rt.block_on(async {
        let docs: Vec<bson::Document> = (0..500)
            .map(|i| {
                bson::doc! {
                    "_id": i,
                    "name": format!("Jürgen {i}"),
                    "tags": ["a", format!("t{}", i % 7)],
                    "address": {"city": "Berlin", "n": i * 3},
                    "joined": bson::DateTime::from_millis(1_700_000_000_000 + i64::from(i) * 86_400_000),
                }
            })
            .collect();
        let users = client.database("stash_demo").collection("users");
        users.insert_many(docs).await.unwrap();
    });
    run_example_once("mongodb");
    rt.block_on(async {
        let source = mongo_docs(&client, "stash_demo", "users").await;
        let restored = mongo_docs(&client, "stash_demo_restored", "users").await;
        assert_eq!(source.len(), 500);
        assert_eq!(source, restored);
        for db in ["stash_demo", "stash_demo_restored"] {
            client.database(db).drop().await.unwrap();
        }
    });
}

/// examples/volume: the claim app-data's folder backed up with pvc-backup and restored into
/// app-data-restored's folder with pvc-restore, identical file for file.
#[test]
fn example_volume_runs_once() {
    let root = Path::new("/tmp/stash-examples/volume");
    for dir in ["data", "restored"] {
        let _ = std::fs::remove_dir_all(root.join(dir));
    }
    stash_integration::data::make_tree(&root.join("data"), 11);
    run_example_once("volume");
    stash_integration::treehash::assert_same(&root.join("data"), &root.join("restored"));
}
