//! BackupBatch (spec §3.11): one session whose targets are the members, sharing one
//! Repository; retention and the integrity check once per session; Sequential members after
//! one another whatever the previous one's outcome; a global preBackup hook that fails stops
//! every member.
use serde_json::Value;
use stash_integration::pgcluster::Pg;
use stash_integration::restic::restic;

use super::fixtures::*;
use super::metrics::{go_seconds, http_get, one};
use super::mongo_docs;

/// A BackupBatch `app` of `members` (YAML list items, indented by four) with `extra` spec
/// lines (indented by two).
fn batch(members: &str, extra: &str) -> String {
    format!(
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupBatch\nmetadata: {{name: app, namespace: demo}}\n\
         spec:\n  schedule: '0 3 * * *'\n  repository: {{name: repo}}\n\
         \x20 retentionPolicy: {{name: keep, keepLast: 1, prune: true}}\n{extra}  members:\n{members}"
    )
}

/// A member backing up PostgreSQL AppBinding `name` as host `alias`.
fn pg_member(name: &str, alias: &str) -> String {
    format!(
        "  - task: {{name: postgres-backup-14.0, params: [{{name: backupCMD, value: pg_dump}}]}}\n\
         \x20   target:\n      alias: {alias}\n      ref: {{apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: {name}}}\n"
    )
}

/// A member backing up claim `claim` (files, `pvc-backup`).
fn pvc_member(claim: &str) -> String {
    format!(
        "  - task: {{name: pvc-backup}}\n    target:\n      ref: {{apiVersion: v1, kind: PersistentVolumeClaim, name: {claim}}}\n"
    )
}

fn the_session(l: &Local) -> Value {
    let sessions = l.list("BackupSession");
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    sessions[0].clone()
}

/// Check 9, for a batch: a database and a volume back up in one session into one
/// Repository; retention and the integrity check run once per session over both groups.
#[test]
fn check_09_batch_members_share_one_repository_and_retention_runs_once() {
    let l = Local::new();
    let db = PgDb::create("stash_lm_batch");
    fill(&db);
    l.pg_appbinding("pg-src", &db);
    let files = l.folder("uploads");
    stash_integration::data::make_tree(&files, 30);
    l.write("volume.yaml", &claim_on_host("uploads", &files));
    l.write(
        "batch.yaml",
        &batch(&(pg_member("pg-src", "db") + &pvc_member("uploads")), ""),
    );
    assert_ok(&l.run_once());
    let s = the_session(&l);
    assert_eq!(text(&s, "/status/phase"), "Succeeded", "{s:#}");
    assert_eq!(text(&s, "/spec/invoker/kind"), "BackupBatch");
    let targets = s["status"]["targets"].as_array().unwrap();
    let kinds: Vec<String> = targets.iter().map(|t| text(t, "/ref/kind")).collect();
    assert_eq!(kinds, ["AppBinding", "PersistentVolumeClaim"]);

    // A second run of the batch: keepLast 1 keeps one snapshot per host and paths.
    let second = l.trigger("backupbatch/app");
    assert_ok(&l.run_once());
    assert_eq!(l.phase("BackupSession", &second), "Succeeded");
    let s = l.get("BackupSession", &second).unwrap();
    let applied = s["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["type"] == "RetentionPolicyApplied" || c["type"] == "RepositoryIntegrityVerified"
        })
        .count();
    assert_eq!(applied, 2, "retention and check once each: {s:#}");
    let snapshots = l.restic_snapshots();
    let mut groups: Vec<(String, String)> = snapshots
        .iter()
        .map(|s| (text(s, "/hostname"), s["paths"].to_string()))
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        [
            ("db".to_string(), "[\"/dumpfile.sql\"]".to_string()),
            ("host-0".to_string(), "[\"/stash-data\"]".to_string())
        ],
        "one snapshot per member's group after keepLast 1"
    );
    let repo = l.get("Repository", "repo").unwrap();
    assert_eq!(repo["status"]["snapshotCount"], 2, "{repo:#}");
    assert_eq!(
        repo["status"]["snapshotsRemovedOnLastCleanup"], 2,
        "{repo:#}"
    );
    assert_eq!(repo["status"]["integrity"], true);
    let check = restic(&l.repo, &["check"]);
    assert!(check.status.success(), "{check:?}");
    // backupHistoryLimit (default 1) applies to a batch's sessions too.
    assert_eq!(l.list("BackupSession").len(), 1);
    let batch = l.get("BackupBatch", "app").unwrap();
    assert_eq!(text(&batch, "/status/phase"), "Ready", "{batch:#}");
    assert_eq!(
        batch["status"]["memberConditions"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{batch:#}"
    );
}

/// Check 31: Sequential, the first member fails (its database does not exist); the second
/// still runs, after the first ended, and the session ends Failed naming the member's error.
#[test]
fn check_31_sequential_batch_runs_the_next_member_after_one_fails() {
    let l = Local::new();
    let good = PgDb::create("stash_lm_seq");
    fill(&good);
    let gone = PgDb(unique("stash_lm_gone"));
    l.pg_appbinding("pg-gone", &gone);
    l.pg_appbinding("pg-good", &good);
    l.write(
        "batch.yaml",
        &batch(
            &(pg_member("pg-gone", "first") + &pg_member("pg-good", "second")),
            "  executionOrder: Sequential\n",
        ),
    );
    let out = l.run_once();
    assert!(!out.status.success(), "a failed member fails --once");
    let s = the_session(&l);
    assert_eq!(text(&s, "/status/phase"), "Failed", "{s:#}");
    let targets = s["status"]["targets"].as_array().unwrap();
    assert_eq!(text(&targets[0], "/phase"), "Failed", "{s:#}");
    assert_eq!(text(&targets[1], "/phase"), "Succeeded", "{s:#}");
    let error = text(&targets[0], "/stats/0/error");
    assert!(
        error.contains(&gone.0),
        "the member's error names its database: {error}"
    );
    let events = l.events("BackupSession", &text(&s, "/metadata/name"));
    assert!(
        events
            .iter()
            .any(|e| e.contains("BackupSession Failed") && e.contains(&gone.0)),
        "{events:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&gone.0), "{stderr}");

    // The second member's snapshot began after the first member's job had ended.
    let snapshots = l.restic_snapshots();
    assert_eq!(snapshots.len(), 1, "{snapshots:#?}");
    assert_eq!(text(&snapshots[0], "/hostname"), "second");
    let started: chrono::DateTime<chrono::Utc> = text(&snapshots[0], "/time").parse().unwrap();
    let name = text(&s, "/metadata/name");
    let first_log = l
        .state
        .join("logs")
        .join(format!("stash-backup-{name}-0.log"));
    let first_ended: chrono::DateTime<chrono::Utc> = std::fs::metadata(&first_log)
        .unwrap_or_else(|e| panic!("{}: {e}", first_log.display()))
        .modified()
        .unwrap()
        .into();
    assert!(
        started >= first_ended - chrono::Duration::milliseconds(5),
        "second started {started}, first ended {first_ended}"
    );
}

/// Check 32: the batch's global preBackup hook fails: no member backs up, the session is
/// Failed with GlobalPreBackupHookSucceeded=False.
#[test]
fn check_32_failing_global_pre_backup_hook_backs_up_no_member() {
    let l = Local::new();
    let db = PgDb::create("stash_lm_gpre");
    fill(&db);
    l.pg_appbinding("pg-src", &db);
    let marker = l.folder("post-ran");
    l.write(
        "batch.yaml",
        &batch(
            &pg_member("pg-src", "db"),
            &format!(
                "  hooks:\n    preBackup:\n      exec: {{command: [sh, -c, 'echo app is in maintenance; exit 1']}}\n\
                 \x20   postBackup:\n      exec: {{command: [touch, {}]}}\n",
                marker.display()
            ),
        ),
    );
    let out = l.run_once();
    assert!(!out.status.success());
    let s = the_session(&l);
    assert_eq!(text(&s, "/status/phase"), "Failed", "{s:#}");
    let (status, message) =
        condition(&s["status"]["conditions"], "GlobalPreBackupHookSucceeded").unwrap();
    assert_eq!(status, "False");
    assert!(message.contains("app is in maintenance"), "{message}");
    assert!(
        !l.repo.join("config").exists(),
        "no member ran: the repository was not even initialised"
    );
    assert_eq!(text(&s, "/status/targets/0/phase"), "Pending", "{s:#}");
    assert!(
        !marker.exists(),
        "no global postBackup after a failed preBackup"
    );
}

/// examples/batch: the whole application — PostgreSQL, MariaDB, Redis, MongoDB and a folder —
/// backed up by one Parallel BackupBatch every minute, three times with keepLast 2; then the
/// RestoreBatch restores each member into its second copy, each judged by its own tool
/// (`pg_dump`, `CHECKSUM TABLE`, every key's `DUMP`, the documents, file hashes). `/metrics`
/// shows the session's success and each member's host duration.
#[test]
fn example_batch_three_scheduled_runs_then_restore_batch() {
    let root = std::path::Path::new("/tmp/stash-examples/batch");
    let _ = std::fs::remove_dir_all(root);
    stash_integration::data::make_tree(&root.join("uploads"), 12);
    std::fs::create_dir_all(root.join("uploads-restored")).unwrap();
    let pg = Pg::shared();
    for db in ["stash_batch", "stash_batch_restored"] {
        pg.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
        pg.psql("postgres", &format!("CREATE DATABASE {db}"));
        mariadb(
            "mysql",
            &format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}"),
        );
    }
    let (pg_src, pg_dst) = (
        PgDb("stash_batch".into()),
        PgDb("stash_batch_restored".into()),
    );
    fill(&pg_src);
    mariadb(
        "stash_batch",
        "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(100) NOT NULL, total DECIMAL(12,2)) ENGINE=InnoDB;
         INSERT INTO orders (item, total) SELECT CONCAT('item ', seq), seq * 1.75 FROM seq_1_to_2000;",
    );
    for db in [7, 8] {
        redis_cli(db, &["FLUSHDB"]);
    }
    for i in 0..200 {
        redis_cli(7, &["SET", &format!("session:{i}"), &format!("dätä {i}")]);
    }
    redis_cli(7, &["RPUSH", "queue", "a", "b", "c"]);
    let (rt, mongo) = mongo_client(&["stash_batch", "stash_batch_restored"]);
    rt.block_on(async {
        let docs: Vec<bson::Document> = (0..300)
            .map(|i| bson::doc! {"_id": i, "user": format!("Zoë {i}"), "cart": [i, i * 2]})
            .collect();
        mongo
            .database("stash_batch")
            .collection("carts")
            .insert_many(docs)
            .await
            .unwrap();
    });

    // The example as it is, but for the RestoreBatch, which comes after three backups.
    let tmp = tempfile::tempdir().unwrap();
    let l = Local {
        manifests: tmp.path().join("manifests"),
        state: tmp.path().join("state"),
        repo: root.join("repo"),
        tmp,
    };
    std::fs::create_dir_all(&l.manifests).unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/batch");
    for f in ["repository.yaml", "app.yaml", "backupbatch.yaml"] {
        std::fs::copy(example.join(f), l.manifests.join(f)).unwrap();
    }
    let log = std::fs::File::create(l.tmp.path().join("run.log")).unwrap();
    let run = Running(
        l.stash(&["run", "--metrics-addr", "127.0.0.1:0"])
            .env_remove("STASH_PUSHGATEWAY_URL")
            .stdout(std::process::Stdio::from(log.try_clone().unwrap()))
            .stderr(std::process::Stdio::from(log))
            .spawn()
            .unwrap(),
    );
    let mut seen = std::collections::BTreeSet::new();
    l.wait_for("three successful batch sessions", 300, || {
        for s in l.list("BackupSession") {
            match text(&s, "/status/phase").as_str() {
                "Succeeded" => {
                    seen.insert(text(&s, "/metadata/name"));
                }
                "Failed" => panic!("{s:#}\n--- stash run:\n{}", l.run_log()),
                _ => {}
            }
        }
        seen.len() >= 3
    });
    // /metrics: the session's success, and each member's host duration as a session recorded it.
    let addr = l
        .run_log()
        .lines()
        .find_map(|line| line.strip_prefix("stash run: metrics at http://"))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .expect("the metrics address in the run's log")
        .to_string();
    let metrics = http_get(&addr, "/metrics");
    drop(run);
    let labels = [
        ("invoker_kind", "BackupBatch"),
        ("invoker_name", "app-backup"),
    ];
    assert_eq!(
        one(
            &metrics,
            "stash_appscode_com_backupsession_success",
            &labels
        ),
        1.0
    );
    let sessions = l.list("BackupSession");
    for host in ["postgres", "mariadb", "redis", "mongodb", "uploads"] {
        let mut hl = labels.to_vec();
        hl.push(("hostname", host));
        let got = one(
            &metrics,
            "stash_appscode_com_backupsession_host_backup_duration_seconds",
            &hl,
        );
        let recorded: Vec<f64> = sessions
            .iter()
            .flat_map(|s| {
                s["status"]["targets"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .flat_map(|t| t["stats"].as_array().cloned().unwrap_or_default())
            .filter(|h| text(h, "/hostname") == host)
            .map(|h| go_seconds(&text(&h, "/duration")))
            .collect();
        assert!(
            recorded.iter().any(|d| (d - got).abs() < 1e-9),
            "{host}: /metrics says {got}, the sessions recorded {recorded:?}"
        );
    }
    let repo = l.get("Repository", "app-repo").unwrap();
    assert_eq!(repo["status"]["integrity"], true, "{repo:#}");
    assert_eq!(repo["status"]["snapshotCount"], 10, "{repo:#}");
    let mut groups = std::collections::BTreeMap::<String, usize>::new();
    let snapshots: Vec<Value> =
        serde_json::from_slice(&restic_example(&l.repo, &["snapshots", "--json"])).unwrap();
    for s in snapshots {
        *groups.entry(text(&s, "/hostname")).or_default() += 1;
    }
    let want: std::collections::BTreeMap<String, usize> =
        ["mariadb", "mongodb", "postgres", "redis", "uploads"]
            .into_iter()
            .map(|h| (h.to_string(), 2))
            .collect();
    assert_eq!(groups, want, "keepLast 2 per member, as restic lists them");
    restic_example(&l.repo, &["check"]);

    std::fs::copy(
        example.join("restorebatch.yaml"),
        l.manifests.join("restorebatch.yaml"),
    )
    .unwrap();
    assert_ok(&l.run_once());
    let rb = l.get("RestoreBatch", "app-restore").unwrap();
    assert_eq!(text(&rb, "/status/phase"), "Succeeded", "{rb:#}");
    let members = rb["status"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 5, "{rb:#}");
    assert!(
        members.iter().all(|m| text(m, "/phase") == "Succeeded"),
        "{rb:#}"
    );

    assert_eq!(pg_src.dump(), pg_dst.dump());
    let checksum = |db: &str| {
        mariadb(db, "CHECKSUM TABLE orders")
            .split_whitespace()
            .last()
            .unwrap()
            .to_string()
    };
    assert_eq!(checksum("stash_batch"), checksum("stash_batch_restored"));
    assert_eq!(assert_redis_keys_restored(7, 8).len(), 201);
    rt.block_on(async {
        let source = mongo_docs(&mongo, "stash_batch", "carts").await;
        assert_eq!(source.len(), 300);
        assert_eq!(
            source,
            mongo_docs(&mongo, "stash_batch_restored", "carts").await
        );
        for db in ["stash_batch", "stash_batch_restored"] {
            mongo.database(db).drop().await.unwrap();
        }
    });
    stash_integration::treehash::assert_same(&root.join("uploads"), &root.join("uploads-restored"));
    for db in [7, 8] {
        redis_cli(db, &["FLUSHDB"]);
    }
    mariadb(
        "mysql",
        "DROP DATABASE stash_batch; DROP DATABASE stash_batch_restored",
    );
}
