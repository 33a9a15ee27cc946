//! What the local-mode tests share: a manifests folder with its state and repository
//! folders, a database on the shared PostgreSQL, and readers of what `stash run` wrote.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use stash_controller::clock::SystemClock;
use stash_controller::store::{Kind, ObjRef, ObjectStore, SqliteStore};
use stash_integration::pgcluster::Pg;
use stash_integration::restic::{restic, PASSWORD};

pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A database on the shared PostgreSQL, dropped at the end.
pub struct PgDb(pub String);

impl PgDb {
    pub fn create(prefix: &str) -> PgDb {
        let name = unique(prefix);
        Pg::shared().psql("postgres", &format!("CREATE DATABASE {name}"));
        PgDb(name)
    }

    pub fn url(&self) -> String {
        format!("postgresql://127.0.0.1:5432/{}?sslmode=disable", self.0)
    }

    /// `pg_dump` without the per-run `\restrict` token lines.
    pub fn dump(&self) -> String {
        let dump = Pg::shared().pg_dump(&self.0);
        dump.lines()
            .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `psql` on database `db` of the shared PostgreSQL, quiet, as the superuser.
pub fn psql(db: &str) -> Command {
    let mut c = Command::new("psql");
    c.args(["-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db]);
    c
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = psql("postgres")
            .arg("-c")
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0))
            .output();
    }
}

/// A manifests folder (namespace `demo`, a local Repository `repo` and its Secret), a state
/// folder, and the repository's folder.
pub struct Local {
    pub tmp: tempfile::TempDir,
    pub manifests: PathBuf,
    pub state: PathBuf,
    pub repo: PathBuf,
}

impl Local {
    pub fn new() -> Local {
        Local::with_repo_secret(&format!("RESTIC_PASSWORD: {PASSWORD}"))
    }

    pub fn with_repo_secret(string_data: &str) -> Local {
        let tmp = tempfile::tempdir().unwrap();
        let (manifests, state, repo) = (
            tmp.path().join("manifests"),
            tmp.path().join("state"),
            tmp.path().join("repo"),
        );
        std::fs::create_dir_all(&manifests).unwrap();
        let l = Local {
            tmp,
            manifests,
            state,
            repo,
        };
        l.write("repository.yaml", &l.repository_yaml(string_data));
        l
    }

    pub fn repository_yaml(&self, string_data: &str) -> String {
        format!(
            "apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {{name: repo, namespace: demo}}\n\
             spec:\n  backend:\n    storageSecretName: repo-secret\n    local:\n      mountPath: {r}\n      hostPath: {{path: {r}}}\n\
             ---\napiVersion: v1\nkind: Secret\nmetadata: {{name: repo-secret, namespace: demo}}\nstringData:\n  {string_data}\n",
            r = self.repo.display()
        )
    }

    pub fn write(&self, name: &str, yaml: &str) {
        std::fs::write(self.manifests.join(name), yaml).unwrap();
    }

    /// An AppBinding `name` for PostgreSQL database `db`, with its Secret.
    pub fn pg_appbinding(&self, name: &str, db: &PgDb) {
        self.write(
            &format!("{name}.yaml"),
            &format!(
                "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata: {{name: {name}, namespace: demo}}\n\
                 spec:\n  type: kubedb.com/postgres\n  clientConfig:\n    url: {}\n  secret:\n    name: {name}-auth\n---\n\
                 apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}-auth, namespace: demo}}\nstringData:\n  username: postgres\n  password: \"\"\n",
                db.url()
            ),
        );
    }

    pub fn stash(&self, args: &[&str]) -> Command {
        self.prepare(Command::new(env!("CARGO_BIN_EXE_stash")), args)
    }

    /// `stash run --once` as a process that file permissions apply to, even as root.
    pub fn run_once_bound_by_permissions(&self) -> Output {
        let c = stash_integration::unreadable::command_bound_by_permissions(Path::new(env!(
            "CARGO_BIN_EXE_stash"
        )));
        self.prepare(c, &["run", "--once"]).output().unwrap()
    }

    fn prepare(&self, mut c: Command, args: &[&str]) -> Command {
        c.args(args)
            .env("STASH_STATE", &self.state)
            .env("STASH_MANIFESTS", &self.manifests)
            .env_remove("RESTIC_REPOSITORY")
            .env_remove("RESTIC_PASSWORD");
        c
    }

    pub fn run_once(&self) -> Output {
        self.stash(&["run", "--once"]).output().unwrap()
    }

    /// `stash run` in the background.
    pub fn start(&self) -> Running {
        let log = std::fs::File::create(self.tmp.path().join("run.log")).unwrap();
        let child = self
            .stash(&["run"])
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        Running(child)
    }

    pub fn run_log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("run.log")).unwrap_or_default()
    }

    /// Runs `f` on the state store, in a runtime of its own.
    pub fn with_store<T>(&self, f: impl AsyncFnOnce(&SqliteStore) -> T) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = SqliteStore::open(&self.state, Arc::new(SystemClock))
                .await
                .unwrap();
            f(&store).await
        })
    }

    /// Which object: `kind` (Stash's, a CronJob) `demo/name`.
    fn obj_ref(kind: &str, name: &str) -> ObjRef {
        let (group, version) = match kind {
            "Repository" => ("stash.appscode.com", "v1alpha1"),
            "CronJob" => ("batch", "v1"),
            _ => ("stash.appscode.com", "v1beta1"),
        };
        ObjRef::new(
            Kind {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
            },
            "demo",
            name,
        )
    }

    /// An object as the store holds it.
    pub fn get(&self, kind: &str, name: &str) -> Option<Value> {
        let r = Local::obj_ref(kind, name);
        self.with_store(async |s| s.get_raw(&r).await.unwrap())
    }

    pub fn list(&self, kind: &str) -> Vec<Value> {
        let k = Local::obj_ref(kind, "").kind;
        self.with_store(async |s| s.list_raw(&k, Some("demo")).await.unwrap())
    }

    /// The events about an object, as `Type Reason: message`.
    pub fn events(&self, kind: &str, name: &str) -> Vec<String> {
        let r = Local::obj_ref(kind, name);
        let events = self.with_store(async |s| s.events(&r).await.unwrap());
        events
            .iter()
            .map(|e| format!("{:?} {}: {}", e.type_, e.reason, e.message))
            .collect()
    }

    /// Waits (up to `secs`) for `f` to hold, showing the run's log if it never does.
    pub fn wait_for(&self, what: &str, secs: u64, mut f: impl FnMut() -> bool) {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!(
            "timed out waiting for {what}\n--- stash run:\n{}",
            self.run_log()
        );
    }

    pub fn restic_snapshots(&self) -> Vec<Value> {
        serde_json::from_slice::<Value>(&restic(&self.repo, &["snapshots", "--json"]).stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// `stash trigger NAME -n demo`: the new session's name.
    pub fn trigger(&self, bc: &str) -> String {
        let out = self.stash(&["trigger", bc, "-n", "demo"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout).into_owned();
        printed
            .trim()
            .trim_start_matches("backupsession.stash.appscode.com/")
            .trim_end_matches(" created")
            .to_string()
    }

    pub fn phase(&self, kind: &str, name: &str) -> String {
        self.get(kind, name)
            .map(|v| text(&v, "/status/phase"))
            .unwrap_or_default()
    }

    /// The Repository as a pod sees it, mounted at `/stash-backup/repository`; its folder here is
    /// `self.repo`, its volume's host path.
    pub fn mount_repository_in_pods(&self) {
        let yaml = self
            .repository_yaml(&format!("RESTIC_PASSWORD: {PASSWORD}"))
            .replacen(
                &format!("mountPath: {}", self.repo.display()),
                "mountPath: /stash-backup/repository",
                1,
            );
        assert!(yaml.contains("mountPath: /stash-backup/repository"));
        self.write("repository.yaml", &yaml);
    }

    pub fn folder(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
}

/// A `stash run` child, killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The condition `ty` of a status (or a target's), as `True`/`False` and its message.
pub fn condition(conditions: &Value, ty: &str) -> Option<(String, String)> {
    conditions
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)
        .map(|c| (text(c, "/status"), text(c, "/message")))
}

pub fn pg_backup(schedule: &str, keep_last: u32, history: u32) -> String {
    format!(
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {{name: pg-backup, namespace: demo}}\n\
         spec:\n  schedule: '{schedule}'\n  task:\n    name: postgres-backup-14.0\n    params:\n    - {{name: backupCMD, value: pg_dump}}\n\
         \x20 repository: {{name: repo}}\n\
         \x20 target:\n    ref: {{apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg-src}}\n\
         \x20 retentionPolicy: {{name: keep, keepLast: {keep_last}, prune: true}}\n\
         \x20 backupHistoryLimit: {history}\n"
    )
}

pub const PG_RESTORE: &str = "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {name: pg-restore, namespace: demo}\n\
spec:\n  task:\n    name: postgres-restore-14.0\n  repository: {name: repo}\n\
\x20 target:\n    ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg-dst}\n    rules:\n    - snapshots: [latest]\n";

pub fn fill(db: &PgDb) {
    Pg::shared().psql(
        &db.0,
        "CREATE TABLE t (id serial PRIMARY KEY, name text NOT NULL, note text, amount numeric(10,2));
         INSERT INTO t (name, note, amount) SELECT 'row ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'naïve café ' || g END, g * 1.5 FROM generate_series(1, 3000) g;
         CREATE VIEW v AS SELECT name FROM t WHERE amount > 100;",
    );
}

pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "stash run --once failed\n--- stdout:\n{}\n--- stderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `stash run --once` over `examples/<name>` as they are, with a fresh repository (the
/// example's `/tmp/stash-examples/<name>/repo`) and a state folder of its own.
pub fn run_example_once(name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    let tmp = tempfile::tempdir().unwrap();
    let _ = std::fs::remove_dir_all(Path::new("/tmp/stash-examples").join(name).join("repo"));
    let out = Command::new(env!("CARGO_BIN_EXE_stash"))
        .args(["run", "--once", "--manifests"])
        .arg(&root)
        .arg("--state")
        .arg(tmp.path())
        .env_remove("STASH_MANIFESTS")
        .env_remove("STASH_STATE")
        .output()
        .unwrap();
    assert_ok(&out);
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn mariadb(db: &str, q: &str) -> String {
    let out = Command::new("mariadb")
        .args(["-h", "127.0.0.1", "-u", "root", "-N", "-B", db, "-e", q])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mariadb {q}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts that every key of Redis database `src` is restored in `dst`: the same `DUMP`, or
/// for a set or hash (whose `DUMP` follows the order of the server's hash table, which a
/// restore that adds the same members may build differently) the same type, members and
/// values. Returns the keys of `src`.
pub fn assert_redis_keys_restored(src: u32, dst: u32) -> Vec<String> {
    let keys = String::from_utf8(redis_cli(src, &["KEYS", "*"])).unwrap();
    let keys: Vec<String> = keys.lines().map(str::to_string).collect();
    for k in &keys {
        let (a, b) = (redis_cli(src, &["DUMP", k]), redis_cli(dst, &["DUMP", k]));
        if a == b {
            continue;
        }
        let kind = redis_cli(src, &["TYPE", k]);
        assert_eq!(kind, redis_cli(dst, &["TYPE", k]), "Redis key {k}: type");
        let members = |db| {
            let cmd = match String::from_utf8_lossy(&kind).trim() {
                "set" => "SMEMBERS",
                "hash" => "HGETALL",
                other => panic!("Redis key {k} ({other}): DUMP differs: {a:?} vs {b:?}"),
            };
            let out = redis_cli(db, &[cmd, k]);
            let mut lines: Vec<Vec<u8>> = out.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            if cmd == "HGETALL" {
                // field, value pairs: sort the pairs, not the lines.
                let mut pairs: Vec<Vec<u8>> = lines.chunks(2).map(|p| p.join(&0u8)).collect();
                pairs.sort();
                return pairs;
            }
            lines.sort();
            lines
        };
        assert_eq!(members(src), members(dst), "Redis key {k}: members");
    }
    keys
}

pub fn redis_cli(db: u32, args: &[&str]) -> Vec<u8> {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-n", &db.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "redis-cli {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A PersistentVolume `pv-<claim>` whose `hostPath` is `folder`, and claim `demo/<claim>`
/// bound to it.
pub fn claim_on_host(claim: &str, folder: &Path) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolume\nmetadata: {{name: pv-{claim}}}\n\
         spec:\n  capacity: {{storage: 1Gi}}\n  accessModes: [ReadWriteOnce]\n  hostPath: {{path: {}}}\n---\n\
         apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {claim}, namespace: demo}}\n\
         spec:\n  volumeName: pv-{claim}\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n",
        folder.display()
    )
}

/// A daily BackupConfiguration `name` of claim `claim` with `pvc-backup`, keeping 5 and pruning.
pub fn pvc_backup(name: &str, claim: &str) -> String {
    format!(
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {{name: {name}, namespace: demo}}\n\
         spec:\n  schedule: '0 3 * * *'\n  task: {{name: pvc-backup}}\n  repository: {{name: repo}}\n\
         \x20 target:\n    ref: {{apiVersion: v1, kind: PersistentVolumeClaim, name: {claim}}}\n\
         \x20 retentionPolicy: {{name: keep, keepLast: 5, prune: true}}\n"
    )
}

/// The only BackupSession, after checking that it succeeded.
pub fn succeeded_session(l: &Local) -> Value {
    let sessions = l.list("BackupSession");
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    let s = sessions[0].clone();
    assert_eq!(text(&s, "/status/phase"), "Succeeded", "{s:#}");
    s
}

/// The examples' repository password (their Secrets hold it).
pub const EXAMPLE_PASSWORD: &str = "change-me-repository-password";

/// restic on an example's repository, with the examples' password: its stdout.
pub fn restic_example(repo: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("restic")
        .args(["--no-cache", "-r"])
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD", EXAMPLE_PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "restic {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A client of the MongoDB-wire test server and the runtime it runs on, with databases `drop`
/// dropped first.
pub fn mongo_client(drop: &[&str]) -> (tokio::runtime::Runtime, mongodb::Client) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(async {
        let client = mongodb::Client::with_uri_str(
            "mongodb://127.0.0.1:27017/?directConnection=true&serverSelectionTimeoutMS=5000",
        )
        .await
        .unwrap();
        for db in drop {
            client.database(db).drop().await.unwrap();
        }
        client
    });
    (rt, client)
}
