//! The catalog's Tasks, run as a cluster would run them: a BackupConfiguration or
//! RestoreSession plus its Repository is resolved with the API's variables and task resolver
//! into the steps' argument lists, and each step runs through the built `stash` binary, in
//! local mode (objects from a folder of manifests), against the real PostgreSQL and MariaDB.
//! Judges: `output.json` as update-status reads it, the real `restic`, and `pg_dump` /
//! `mariadb-dump` of the source and the freshly restored database.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use stash::api::catalog::Catalog;
use stash::api::resolve::resolve_task;
use stash::api::resolve::variables::{
    addon_task, backup_variables, restore_variables, BackupInputs, OperatorSettings, RestoreInputs,
};
use stash::api::{BackupConfiguration, Repository, RestoreSession};
use stash_integration::pgcluster::Pg;
use stash_integration::restic::{restic, PASSWORD};

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A manifests folder holding a local Repository and its storage Secret, plus the folders the
/// steps write to.
struct Stack {
    _tmp: tempfile::TempDir,
    manifests: PathBuf,
    repo: PathBuf,
    out: PathBuf,
    repository: Repository,
}

impl Stack {
    fn new() -> Stack {
        Stack::with_storage_secret(&format!("  RESTIC_PASSWORD: {PASSWORD}\n"))
    }

    /// `string_data` is the storage Secret's `stringData` body.
    fn with_storage_secret(string_data: &str) -> Stack {
        let tmp = tempfile::tempdir().unwrap();
        let manifests = tmp.path().join("manifests");
        let repo = tmp.path().join("repo");
        let out = tmp.path().join("output");
        std::fs::create_dir_all(&manifests).unwrap();
        // In local mode the folder is both the volume's host path and where a Job would mount it.
        let repository = format!(
            "apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {{name: local-repo, namespace: demo}}\n\
             spec:\n  backend:\n    storageSecretName: local-repo-secret\n    local:\n      mountPath: {r}\n      hostPath: {{path: {r}}}\n",
            r = repo.display()
        );
        let secret = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: local-repo-secret, namespace: demo}}\nstringData:\n{string_data}");
        std::fs::write(
            manifests.join("repository.yaml"),
            format!("{repository}---\n{secret}"),
        )
        .unwrap();
        let repository = serde_saphyr::from_str(&repository).unwrap();
        Stack {
            _tmp: tmp,
            manifests,
            repo,
            out,
            repository,
        }
    }

    fn write(&self, name: &str, yaml: &str) {
        std::fs::write(self.manifests.join(name), yaml).unwrap();
    }

    /// An AppBinding `name` for `url` with Secret `<name>-auth` (user `user`, an empty password:
    /// the servers here trust local logins, and the key itself is required).
    fn appbinding(&self, name: &str, kind: &str, url: &str, user: &str) {
        self.write(
            &format!("{name}.yaml"),
            &format!(
                "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata: {{name: {name}, namespace: demo}}\n\
                 spec:\n  type: kubedb.com/{kind}\n  clientConfig:\n    url: {url}\n  secret:\n    name: {name}-auth\n---\n\
                 apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}-auth, namespace: demo}}\nstringData:\n  username: {user}\n  password: \"\"\n"
            ),
        );
    }

    /// The argument lists of the BackupConfiguration's Task steps, as the controller resolves
    /// them for a session.
    fn backup_steps(&self, bc: &str, session: &str) -> Vec<Vec<String>> {
        let bc: BackupConfiguration = serde_saphyr::from_str(bc).unwrap();
        let t = &bc.spec.template;
        let (task, params) = addon_task(
            t.task.as_ref(),
            &t.target.as_ref().unwrap().target_ref(),
            None,
            false,
        );
        let settings = OperatorSettings::default();
        let vars = backup_variables(&BackupInputs {
            repository: Some(&self.repository),
            invoker_kind: "BackupConfiguration",
            invoker_name: bc.metadata.name.as_deref().unwrap(),
            target: t,
            retention_policy: bc.spec.retention_policy.as_ref(),
            session_name: session,
            session_namespace: "demo",
            settings: &settings,
            task_params: &params,
        });
        steps(&task, &vars)
    }

    fn restore_steps(&self, rs: &str) -> Vec<Vec<String>> {
        let rs: RestoreSession = serde_saphyr::from_str(rs).unwrap();
        let t = &rs.spec.template;
        let (task, params) = addon_task(
            t.task.as_ref(),
            &t.target.as_ref().unwrap().target_ref(),
            None,
            true,
        );
        let settings = OperatorSettings::default();
        let vars = restore_variables(&RestoreInputs {
            repository: Some(&self.repository),
            invoker_kind: "RestoreSession",
            invoker_name: rs.metadata.name.as_deref().unwrap(),
            invoker_namespace: "demo",
            target: t,
            settings: &settings,
            task_params: &params,
        });
        steps(&task, &vars)
    }

    /// One step, as its container would run it (the image's entrypoint is `stash`).
    fn run(&self, args: &[String]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_stash"))
            .args(args)
            .env("STASH_MANIFESTS", &self.manifests)
            .env_remove("RESTIC_REPOSITORY")
            .env_remove("RESTIC_PASSWORD")
            .output()
            .unwrap()
    }

    fn run_ok(&self, args: &[String]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "stash {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn output_json(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.out.join("output.json")).unwrap()).unwrap()
    }

    fn restic_snapshots(&self) -> Vec<serde_json::Value> {
        serde_json::from_slice::<serde_json::Value>(
            &restic(&self.repo, &["snapshots", "--json"]).stdout,
        )
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
    }
}

fn steps(task: &str, vars: &stash::api::resolve::Vars) -> Vec<Vec<String>> {
    let cat = Catalog::builtin().unwrap();
    let resolved = resolve_task(&cat.tasks[task], &cat.functions, vars).unwrap();
    resolved
        .steps
        .iter()
        .map(|s| s.container.args.clone().unwrap())
        .collect()
}

fn flag<'a>(args: &'a [String], name: &str) -> &'a str {
    let prefix = format!("{name}=");
    args.iter()
        .find_map(|a| a.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} not in {args:?}"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const BACKUP_TASK_PG: &str = "postgres-backup-14.0";
const RESTORE_TASK_PG: &str = "postgres-restore-14.0";

fn pg_backup_configuration(out: &Path) -> String {
    // backupCMD=pg_dump: the shared server holds other tests' databases; dump only ours.
    format!(
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {{name: pg-backup, namespace: demo}}\n\
         spec:\n  schedule: '*/5 * * * *'\n  task:\n    name: {BACKUP_TASK_PG}\n    params:\n    - {{name: backupCMD, value: pg_dump}}\n    - {{name: outputDir, value: {}}}\n\
         \x20 repository: {{name: local-repo}}\n\
         \x20 target:\n    ref: {{apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg-src}}\n\
         \x20 retentionPolicy: {{name: keep-last-2, keepLast: 2, prune: true}}\n",
        out.display()
    )
}

fn restore_session(name: &str, task: &str, target: &str, out: &Path) -> String {
    format!(
        "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {{name: {name}, namespace: demo}}\n\
         spec:\n  task:\n    name: {task}\n    params:\n    - {{name: outputDir, value: {}}}\n\
         \x20 repository: {{name: local-repo}}\n\
         \x20 target:\n    ref: {{apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: {target}}}\n    rules:\n    - snapshots: [latest]\n",
        out.display()
    )
}

/// A database on the shared PostgreSQL, dropped at the end.
struct PgDb(String);

impl PgDb {
    fn create(prefix: &str) -> PgDb {
        let name = unique(prefix);
        Pg::shared().psql("postgres", &format!("CREATE DATABASE {name}"));
        PgDb(name)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
            ])
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0))
            .output();
    }
}

/// pg_dump without the per-run `\restrict` token lines.
fn pg_dump(db: &str) -> String {
    let dump = Pg::shared().pg_dump(db);
    dump.lines()
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn postgres_catalog_tasks_back_up_apply_retention_and_restore_into_a_fresh_database() {
    let s = Stack::new();
    let (src, dst) = (PgDb::create("stash_cat_src"), PgDb::create("stash_cat_dst"));
    let pg = Pg::shared();
    pg.psql(
        &src.0,
        "CREATE TABLE t (id serial PRIMARY KEY, name text NOT NULL, note text, amount numeric(10,2));
         CREATE INDEX t_name ON t (name);
         INSERT INTO t (name, note, amount) SELECT 'row ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'naïve café ' || g END, g * 1.5 FROM generate_series(1, 5000) g;
         CREATE VIEW v AS SELECT name FROM t WHERE amount > 100;",
    );
    s.appbinding(
        "pg-src",
        "postgres",
        &format!("postgresql://127.0.0.1:5432/{}?sslmode=disable", src.0),
        "postgres",
    );
    s.appbinding(
        "pg-dst",
        "postgres",
        &format!("postgresql://127.0.0.1:5432/{}?sslmode=disable", dst.0),
        "postgres",
    );
    let bc = pg_backup_configuration(&s.out);
    s.write("backup.yaml", &bc);

    // Three sessions; keepLast 2 (with prune) leaves two snapshots.
    let mut short_ids = Vec::new();
    for i in 1..=3 {
        let steps = s.backup_steps(&bc, &format!("pg-backup-{i}"));
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert_eq!(&steps[0][..3], ["addon", "postgres", "backup"]);
        assert_eq!(flag(&steps[0], "--provider"), "local");
        assert_eq!(flag(&steps[0], "--path"), s.repo.display().to_string());
        assert_eq!(flag(&steps[0], "--retention-keep-last"), "2");
        s.run_ok(&steps[0]);
        let out = s.output_json();
        let target = &out["targetStatus"];
        assert_eq!(
            target["ref"],
            serde_json::json!({"apiVersion": "appcatalog.appscode.com/v1alpha1", "kind": "AppBinding", "name": "pg-src", "namespace": "demo"})
        );
        let host = &target["stats"][0];
        assert_eq!(
            (host["hostname"].as_str(), host["phase"].as_str()),
            (Some("host-0"), Some("Succeeded")),
            "{out}"
        );
        assert!(host["duration"].as_str().unwrap().ends_with('s'), "{out}");
        let snap = &host["snapshots"][0];
        assert_eq!(snap["path"], "/dumpfile.sql");
        assert!(
            snap["totalSize"].as_str().unwrap().ends_with("KiB"),
            "{out}"
        );
        assert_eq!(snap["fileStats"]["totalFiles"], 1);
        short_ids.push(snap["name"].as_str().unwrap().to_string());
        let repo = &out["repository"];
        assert_eq!(repo["snapshotCount"], i.min(2), "{out}");
        assert_eq!(
            repo["snapshotsRemovedOnLastCleanup"],
            if i == 3 { 1 } else { 0 },
            "{out}"
        );
        // update-status reads it and reports the host.
        let us = s.run_ok(&steps[1]);
        assert_eq!(flag(&steps[1], "--backupsession"), format!("pg-backup-{i}"));
        assert!(String::from_utf8_lossy(&us.stdout).contains(&format!(
            "pg-backup-{i}: host host-0 Succeeded: snapshot {}",
            short_ids[i - 1]
        )));
    }
    // restic agrees: the two newest snapshots remain, the repository is sound after prune.
    let snaps = s.restic_snapshots();
    let mut kept: Vec<&str> = snaps
        .iter()
        .map(|v| v["short_id"].as_str().unwrap())
        .collect();
    kept.sort();
    let mut want: Vec<&str> = short_ids[1..].iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(kept, want);
    assert!(snaps
        .iter()
        .all(|v| v["hostname"] == "host-0" && v["paths"] == serde_json::json!(["/dumpfile.sql"])));
    restic(&s.repo, &["check", "--read-data"]);

    // Restore into the fresh database through the restore Task.
    let rs = restore_session("pg-restore", RESTORE_TASK_PG, "pg-dst", &s.out);
    let steps = s.restore_steps(&rs);
    assert_eq!(&steps[0][..3], ["addon", "postgres", "restore"]);
    assert_eq!(flag(&steps[0], "--snapshot"), "latest");
    s.run_ok(&steps[0]);
    let out = s.output_json();
    assert_eq!(out["targetStatus"]["ref"]["name"], "pg-dst");
    let host = &out["targetStatus"]["stats"][0];
    assert_eq!(
        (host["hostname"].as_str(), host["phase"].as_str()),
        (Some("host-0"), Some("Succeeded")),
        "{out}"
    );
    assert!(host.get("error").is_none(), "{out}");
    let us = s.run_ok(&steps[1]);
    assert!(String::from_utf8_lossy(&us.stdout).contains("pg-restore: host host-0 Succeeded"));
    let (a, b) = (pg_dump(&src.0), pg_dump(&dst.0));
    assert!(
        a.contains("CREATE VIEW public.v") && a.lines().count() > 5000,
        "a real dump"
    );
    assert!(a == b, "restored database differs from the source");
}

/// The MariaDB server of the machine, as root.
fn mariadb(db: &str, q: &str) -> String {
    let out = Command::new("mariadb")
        .args([
            "-h",
            "127.0.0.1",
            "-P",
            "3306",
            "-u",
            "root",
            "--batch",
            "--skip-column-names",
            "--default-character-set=utf8mb4",
        ])
        .arg(format!("--database={db}"))
        .arg(format!("--execute={q}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mariadb {q}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct MariaDb(String);

impl MariaDb {
    fn create(prefix: &str) -> MariaDb {
        let n = unique(prefix);
        mariadb(
            "mysql",
            &format!("CREATE DATABASE `{n}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
        );
        MariaDb(n)
    }
    fn dump(&self) -> String {
        let out = Command::new("mariadb-dump")
            .args([
                "-h",
                "127.0.0.1",
                "-u",
                "root",
                "--skip-dump-date",
                "--skip-comments",
                "--routines",
                "--triggers",
                &self.0,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = Command::new("mariadb")
            .args([
                "-h",
                "127.0.0.1",
                "-u",
                "root",
                "-e",
                &format!("DROP DATABASE IF EXISTS `{}`", self.0),
            ])
            .output();
    }
}

#[test]
fn mariadb_catalog_tasks_round_trip_into_a_fresh_database() {
    let s = Stack::new();
    let (src, dst) = (
        MariaDb::create("stash_cat_src"),
        MariaDb::create("stash_cat_dst"),
    );
    mariadb(
        &src.0,
        "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(190) NOT NULL UNIQUE, name VARCHAR(200) NOT NULL,
           balance DECIMAL(12,2) NOT NULL DEFAULT 0, prefs JSON NULL) ENGINE=InnoDB;
         INSERT INTO customers (email, name, balance, prefs)
           SELECT CONCAT('user', seq, '@example.com'), CONCAT('Zoë ', seq), seq * 0.25, JSON_OBJECT('n', seq) FROM seq_1_to_3000;
         CREATE VIEW rich AS SELECT name FROM customers WHERE balance > 500;",
    );
    s.appbinding(
        "maria-src",
        "mariadb",
        &format!("mysql://127.0.0.1:3306/{}", src.0),
        "root",
    );
    s.appbinding(
        "maria-dst",
        "mariadb",
        &format!("mysql://127.0.0.1:3306/{}", dst.0),
        "root",
    );
    // args: just the one database (the catalog default dumps them all, and the shared server
    // holds other tests' databases); the dump then loads into whichever database the restore
    // AppBinding names.
    let bc = format!(
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {{name: maria-backup, namespace: demo}}\n\
         spec:\n  schedule: '@daily'\n  task:\n    name: mariadb-backup-10.6.23\n    params:\n    - {{name: args, value: {}}}\n    - {{name: outputDir, value: {}}}\n\
         \x20 repository: {{name: local-repo}}\n\
         \x20 target:\n    ref: {{apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: maria-src}}\n\
         \x20 retentionPolicy: {{name: keep-all, prune: false}}\n",
        src.0,
        s.out.display()
    );
    let steps = s.backup_steps(&bc, "maria-backup-1");
    assert_eq!(&steps[0][..3], ["addon", "mariadb", "backup"]);
    s.run_ok(&steps[0]);
    let out = s.output_json();
    assert_eq!(
        out["targetStatus"]["stats"][0]["phase"], "Succeeded",
        "{out}"
    );
    assert_eq!(out["repository"]["snapshotCount"], 1, "{out}");
    s.run_ok(&steps[1]);

    let rs = restore_session(
        "maria-restore",
        "mariadb-restore-10.6.23",
        "maria-dst",
        &s.out,
    );
    let steps = s.restore_steps(&rs);
    s.run_ok(&steps[0]);
    assert_eq!(
        s.output_json()["targetStatus"]["stats"][0]["phase"],
        "Succeeded"
    );
    s.run_ok(&steps[1]);
    let (a, b) = (src.dump(), dst.dump());
    assert!(
        a.contains("INSERT INTO `customers`") && a.contains("VIEW `rich`"),
        "a real dump"
    );
    assert!(a == b, "restored database differs from the source");
    assert_eq!(
        mariadb(&dst.0, "SELECT count(*), sum(balance) FROM customers"),
        mariadb(&src.0, "SELECT count(*), sum(balance) FROM customers")
    );
}

#[test]
fn a_failed_step_is_recorded_for_update_status_and_names_the_fix() {
    let s = Stack::new();
    s.appbinding(
        "pg-src",
        "postgres",
        "postgresql://127.0.0.1:5432/postgres",
        "postgres",
    );
    let bc = pg_backup_configuration(&s.out).replace("name: pg-src", "name: pg-typo");
    let steps = s.backup_steps(&bc, "pg-backup-1");
    // The step records the failure and exits 0, so that update-status runs and records it.
    let run = s.run(&steps[0]);
    assert!(run.status.success(), "{}", stderr(&run));
    let out = s.output_json();
    let host = &out["targetStatus"]["stats"][0];
    assert_eq!(host["phase"], "Failed", "{out}");
    let error = host["error"].as_str().unwrap();
    assert!(
        error.contains("AppBinding demo/pg-typo not found in the manifests in"),
        "{error}"
    );
    assert!(
        error.contains(&s.manifests.display().to_string()),
        "{error}"
    );
    assert!(
        error.contains("AppBindings in namespace demo: pg-src"),
        "{error}"
    );
    assert!(
        stderr(&run).contains("backup of host host-0 failed") && stderr(&run).contains("pg-typo"),
        "{}",
        stderr(&run)
    );
    let us = s.run(&steps[1]);
    assert_eq!(us.status.code(), Some(1));
    assert!(
        stderr(&us).contains("1 of 1 hosts failed; host host-0: looking up --appbinding=pg-typo"),
        "{}",
        stderr(&us)
    );
    // Run by hand (no --output-dir), the same failure is an error exit.
    let by_hand: Vec<String> = steps[0]
        .iter()
        .filter(|a| !a.starts_with("--output-dir="))
        .cloned()
        .collect();
    let run = s.run(&by_hand);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("AppBinding demo/pg-typo not found"),
        "{}",
        stderr(&run)
    );
    assert!(!s.repo.exists(), "nothing was written to the repository");
}

#[test]
fn a_storage_secret_without_restic_password_is_named() {
    let s = Stack::with_storage_secret("  AWS_ACCESS_KEY_ID: not-the-password\n");
    s.appbinding(
        "pg-src",
        "postgres",
        "postgresql://127.0.0.1:5432/postgres",
        "postgres",
    );
    let steps = s.backup_steps(&pg_backup_configuration(&s.out), "pg-backup-1");
    s.run_ok(&steps[0]);
    let out = s.output_json();
    let error = out["targetStatus"]["stats"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("storage Secret demo/local-repo-secret (--storage-secret-name)"),
        "{error}"
    );
    assert!(
        error.contains("add the repository password under RESTIC_PASSWORD"),
        "{error}"
    );
    assert!(
        error.contains("storage Secret missing RESTIC_PASSWORD key"),
        "{error}"
    );
    assert!(!error.contains("not-the-password"));
    assert!(!s.repo.exists(), "no repository was created");
}

#[test]
fn pvc_catalog_tasks_back_up_and_restore_folders_in_place() {
    let s = Stack::new();
    let data = s.repo.parent().unwrap().join("volume");
    for (p, body) in [
        ("a.txt", "alpha\n"),
        ("sub/b.bin", "beta"),
        ("sub/deeper/c.log", "skipped"),
    ] {
        std::fs::create_dir_all(data.join(p).parent().unwrap()).unwrap();
        std::fs::write(data.join(p), body).unwrap();
    }
    let bc = format!(
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {{name: pvc-backup, namespace: demo}}\n\
         spec:\n  schedule: '@daily'\n  task:\n    name: pvc-backup\n    params:\n    - {{name: outputDir, value: {out}}}\n\
         \x20 repository: {{name: local-repo}}\n\
         \x20 target:\n    ref: {{apiVersion: v1, kind: PersistentVolumeClaim, name: data-pvc}}\n    paths: [{data}]\n    exclude: ['*.log']\n",
        out = s.out.display(),
        data = data.display()
    );
    let steps = s.backup_steps(&bc, "pvc-backup-1");
    assert_eq!(&steps[0][..3], ["addon", "volume", "backup"]);
    s.run_ok(&steps[0]);
    let out = s.output_json();
    let host = &out["targetStatus"]["stats"][0];
    assert_eq!(host["phase"], "Succeeded", "{out}");
    assert_eq!(host["snapshots"][0]["path"], data.display().to_string());
    assert_eq!(out["targetStatus"]["ref"]["kind"], "PersistentVolumeClaim");
    s.run_ok(&steps[1]);
    let before = stash_integration::treehash::fingerprint(&data);
    std::fs::remove_dir_all(&data).unwrap();

    let rs = format!(
        "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {{name: pvc-restore, namespace: demo}}\n\
         spec:\n  task:\n    name: pvc-restore\n    params:\n    - {{name: outputDir, value: {}}}\n\
         \x20 repository: {{name: local-repo}}\n\
         \x20 target:\n    ref: {{apiVersion: v1, kind: PersistentVolumeClaim, name: data-pvc}}\n    rules:\n    - paths: [{}]\n",
        s.out.display(),
        data.display()
    );
    let steps = s.restore_steps(&rs);
    assert_eq!(&steps[0][..3], ["addon", "volume", "restore"]);
    s.run_ok(&steps[0]);
    assert_eq!(
        s.output_json()["targetStatus"]["stats"][0]["phase"],
        "Succeeded"
    );
    s.run_ok(&steps[1]);
    let mut want = before;
    want.retain(|k, _| !k.ends_with(".log"));
    assert_eq!(stash_integration::treehash::fingerprint(&data), want);
    assert!(
        !data.join("sub/deeper/c.log").exists(),
        "excluded at backup"
    );
}
