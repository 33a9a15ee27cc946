//! Object storage end to end: the engine's whole cycle (init, backup, snapshots, restore,
//! forget + prune, check --read-data) against real servers that
//! `integration/scripts/services.sh start` runs on loopback — moto (S3), Azurite (Azure
//! Blob), fake-gcs-server (GCS), `rclone serve restic` (restic's REST protocol) — and the real
//! `restic` on the same S3 location in both directions. Swift and B2 have no server here; their
//! request shapes are unit-tested in `src/storage/backends/{swift,b2}.rs`.
//!
//! The fault tests run their own file-backed S3 server (s3s-fs, which keeps its data across a
//! restart and checks credentials, unlike moto) so they can stop it without disturbing others.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use stash::api::repository::{self as api, AzureSpec, GCSSpec, RestServerSpec, S3Spec};
use stash::engine::archiver::{fs::backup_paths, stream::backup_stream, Progress, SnapshotOptions};
use stash::engine::backend::{Backend, FileType};
use stash::engine::check::check;
use stash::engine::forget::{forget, ForgetOptions};
use stash::engine::prune::{prune, PruneOptions};
use stash::engine::restorer::{dump_content, find_node, restore, RestoreOptions};
use stash::engine::retention::KeepPolicy;
use stash::engine::snapshot::{select, SnapshotFilter};
use stash::engine::{RepoOptions, Repository};
use stash::storage::{open_location_with, EnvCredentials, LocalAccess, Location, StorageSecret};
use stash_integration::data::{make_tree, SqlDump};
use stash_integration::restic::{json, restic_at_ok, PASSWORD};
use stash_integration::treehash::assert_same;

use super::common::FAST_KDF;
use super::interop::HashSink;

const BUCKET: &str = "stash-test";
const AWS_KEY: &str = "stash-test-key";
const AWS_SECRET: &str = "stash-test-secret-value";
const AZ_ACCOUNT: &str = "devstoreaccount1";
const AZ_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const REST_USER: &str = "stash";
const REST_PASS: &str = "stash-rest-pw";

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A server the services script must have started; a clear failure otherwise.
fn server(var: &str, default: u16, what: &str) -> String {
    let p = port(var, default);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", p)).is_ok(),
        "{what} is not listening on 127.0.0.1:{p}: run integration/scripts/services.sh start"
    );
    format!("127.0.0.1:{p}")
}

/// A prefix no other test (or earlier run) uses.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("it/{name}-{}-{nanos}", std::process::id())
}

fn opts() -> RepoOptions {
    // Small packs: several per backup, so listing, range reads and prune have work to do.
    RepoOptions {
        pack_size: 4 << 20,
        ..Default::default()
    }
}

fn s3_secret() -> StorageSecret {
    StorageSecret::from_strings([
        ("RESTIC_PASSWORD", PASSWORD),
        ("AWS_ACCESS_KEY_ID", AWS_KEY),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
    ])
}

/// Open a backend the way the operator will: Repository.spec.backend + storage Secret.
fn open_spec(spec: &api::Backend, secret: &StorageSecret) -> Arc<dyn Backend> {
    spec.config(secret, LocalAccess::Mounted)
        .unwrap()
        .open(true)
        .unwrap()
}

fn moto_spec(prefix: &str) -> api::Backend {
    let endpoint = format!(
        "http://{}",
        server("STASH_S3_PORT", 9100, "the S3 server (moto)")
    );
    api::Backend {
        s3: Some(S3Spec {
            endpoint: Some(endpoint),
            bucket: Some(BUCKET.into()),
            prefix: Some(prefix.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn dump_hash(repo: &Arc<Repository>, tree: &stash::engine::Id, path: &str) -> String {
    let node = find_node(repo, tree, path).await.unwrap();
    let mut sink = HashSink::default();
    dump_content(
        repo,
        node.content.as_deref().unwrap(),
        &mut sink,
        &Progress::default(),
    )
    .await
    .unwrap();
    sink.finish()
}

/// The whole cycle on one backend; `reopen` gives a fresh backend on the same location (so
/// nothing is served from memory).
async fn whole_cycle(backend: Arc<dyn Backend>, reopen: impl Fn() -> Arc<dyn Backend>) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Arc::new(
        Repository::init(backend, PASSWORD, 2, FAST_KDF, opts())
            .await
            .unwrap(),
    );
    let src = tmp.path().join("src");
    make_tree(&src, 5);
    let progress = || Arc::new(Progress::default());
    let (dir_snap, st) = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &SnapshotOptions::default(),
        progress(),
    )
    .await
    .unwrap();
    assert!(st.packs_written >= 2, "{st:?}");
    let (first, _) = backup_stream(
        repo.clone(),
        SqlDump::new(1, 10 << 20),
        "dumpfile.sql",
        &SnapshotOptions::default(),
        progress(),
    )
    .await
    .unwrap();
    let mut second_src = SqlDump::new(2, 10 << 20);
    let (second, _) = backup_stream(
        repo.clone(),
        &mut second_src,
        "dumpfile.sql",
        &SnapshotOptions::default(),
        progress(),
    )
    .await
    .unwrap();
    let second_hash = second_src.digest();

    // Everything below reads through a new backend.
    let repo = Arc::new(Repository::open(reopen(), PASSWORD, opts()).await.unwrap());
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 3);
    repo.load_index().await.unwrap();
    let out = tmp.path().join("restored");
    restore(
        &repo,
        dir_snap.snapshot.tree,
        &out,
        &RestoreOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_same(&src, &out.join(src.strip_prefix("/").unwrap()));

    // Keep the last snapshot of each host+paths group: the first stream snapshot goes.
    let fo = ForgetOptions {
        policy: KeepPolicy {
            last: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let res = forget(&repo, &fo).await.unwrap();
    assert_eq!(res.removed, vec![first.id]);
    let ps = prune(
        &repo,
        &PruneOptions {
            max_unused: 0.0,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert!(
        ps.packs_deleted + ps.packs_repacked > 0 && ps.bytes_freed > 0,
        "{ps:?}"
    );

    let repo = Arc::new(Repository::open(reopen(), PASSWORD, opts()).await.unwrap());
    let rep = check(&repo, true).await.unwrap();
    assert!(rep.ok(), "{:?}", rep.errors);
    assert!(rep.bytes_read > 0);
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 2);
    repo.load_index().await.unwrap();
    let s = select(
        &snaps,
        "latest",
        &SnapshotFilter {
            paths: vec!["/dumpfile.sql".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.id, second.id);
    assert_eq!(
        dump_hash(&repo, &s.snapshot.tree, "/dumpfile.sql").await,
        second_hash
    );
}

/// A Repository's `wipeOut` on the repository `open` reaches: nothing of it is left, and it no
/// longer opens.
async fn wipe_out_leaves_nothing(open: impl Fn() -> Arc<dyn Backend>) {
    let wiper = open();
    assert!(wiper.wipe_out().await.unwrap() > 0);
    for t in [
        FileType::Key,
        FileType::Snapshot,
        FileType::Index,
        FileType::Pack,
        FileType::Lock,
    ] {
        assert_eq!(wiper.list(t).await.unwrap(), vec![], "{t:?} left behind");
    }
    assert_eq!(wiper.stat(FileType::Config, "").await.unwrap(), None);
    assert!(Repository::open(open(), PASSWORD, opts()).await.is_err());
}

/// Every object under `prefix` sits where restic puts it.
fn assert_restic_layout(keys: &[String], prefix: &str) {
    let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    assert!(
        keys.iter().any(|k| k == &format!("{prefix}/config")),
        "{keys:?}"
    );
    for k in keys {
        let rel = k
            .strip_prefix(&format!("{prefix}/"))
            .unwrap_or_else(|| panic!("{k} outside {prefix}"));
        let parts: Vec<&str> = rel.split('/').collect();
        let ok = match parts.as_slice() {
            ["config"] => true,
            ["keys" | "snapshots" | "index", name] => hex(name),
            ["data", sub, name] => hex(name) && name.starts_with(sub) && sub.len() == 2,
            _ => false,
        };
        assert!(ok, "{k} is not in restic's layout");
    }
    assert!(
        keys.iter().any(|k| k.contains("/data/")) && keys.iter().any(|k| k.contains("/index/")),
        "{keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_whole_cycle_on_moto() {
    let prefix = unique("s3-cycle");
    let spec = moto_spec(&prefix);
    let secret = s3_secret();
    whole_cycle(open_spec(&spec, &secret), || open_spec(&spec, &secret)).await;
    // And restic agrees with the result, reading it at the same bucket/prefix.
    let repo = format!(
        "s3:{}/{BUCKET}/{prefix}",
        spec.s3.as_ref().unwrap().endpoint.as_deref().unwrap()
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", AWS_KEY),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
    ];
    restic_at_ok(&repo, &env, &["check", "--read-data"], None);
    let list = json(&restic_at_ok(&repo, &env, &["snapshots", "--json"], None));
    assert_eq!(list.as_array().unwrap().len(), 2);
    wipe_out_leaves_nothing(|| open_spec(&spec, &secret)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_whole_cycle_on_azurite() {
    let prefix = unique("azure-cycle");
    let endpoint = format!(
        "http://{}/{AZ_ACCOUNT}",
        server("STASH_AZURE_PORT", 9101, "Azurite")
    );
    let spec = api::Backend {
        azure: Some(AzureSpec {
            container: Some(BUCKET.into()),
            prefix: Some(prefix.clone()),
            max_connections: Some(3),
        }),
        ..Default::default()
    };
    let secret = StorageSecret::from_strings([
        ("RESTIC_PASSWORD", PASSWORD),
        ("AZURE_ACCOUNT_NAME", AZ_ACCOUNT),
        ("AZURE_ACCOUNT_KEY", AZ_KEY),
        ("AZURE_ENDPOINT", endpoint.as_str()),
    ]);
    assert_eq!(spec.connections(), Some(3));
    whole_cycle(open_spec(&spec, &secret), || open_spec(&spec, &secret)).await;
    let bucket_root = api::Backend {
        azure: Some(AzureSpec {
            container: Some(BUCKET.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_restic_layout(&raw_keys(&bucket_root, &secret, &prefix).await, &prefix);
    wipe_out_leaves_nothing(|| open_spec(&spec, &secret)).await;
    assert_eq!(
        raw_keys(&bucket_root, &secret, &prefix).await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gcs_whole_cycle_on_fake_gcs_single_shot_uploads() {
    // fake-gcs-server rejects OpenDAL's chunked (XML multipart) uploads; our writes are
    // single-shot media uploads, the path this test proves.
    let prefix = unique("gcs-cycle");
    let emulator = format!(
        "http://{}",
        server("STASH_GCS_PORT", 9102, "fake-gcs-server")
    );
    let spec = api::Backend {
        gcs: Some(GCSSpec {
            bucket: Some(BUCKET.into()),
            prefix: Some(prefix.clone()),
            max_connections: Some(2),
        }),
        ..Default::default()
    };
    let secret = StorageSecret::from_strings([
        ("RESTIC_PASSWORD", PASSWORD),
        ("GOOGLE_PROJECT_ID", "stash"),
        ("STORAGE_EMULATOR_HOST", emulator.as_str()),
    ]);
    whole_cycle(open_spec(&spec, &secret), || open_spec(&spec, &secret)).await;
    let bucket_root = api::Backend {
        gcs: Some(GCSSpec {
            bucket: Some(BUCKET.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_restic_layout(&raw_keys(&bucket_root, &secret, &prefix).await, &prefix);
    wipe_out_leaves_nothing(|| open_spec(&spec, &secret)).await;
    assert_eq!(
        raw_keys(&bucket_root, &secret, &prefix).await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_whole_cycle_on_rclone_serve_restic() {
    let prefix = unique("rest-cycle");
    let url = format!(
        "http://{}/{prefix}/",
        server("STASH_REST_PORT", 9103, "rclone serve restic")
    );
    let spec = api::Backend {
        rest: Some(RestServerSpec {
            url: Some(url.clone()),
        }),
        ..Default::default()
    };
    let secret = StorageSecret::from_strings([
        ("RESTIC_PASSWORD", PASSWORD),
        ("REST_SERVER_USERNAME", REST_USER),
        ("REST_SERVER_PASSWORD", REST_PASS),
    ]);
    whole_cycle(open_spec(&spec, &secret), || open_spec(&spec, &secret)).await;
    // restic's own REST client reads it too (Stash's form: credentials as URL user info).
    let with_auth = url.replacen("http://", &format!("http://{REST_USER}:{REST_PASS}@"), 1);
    restic_at_ok(
        &format!("rest:{with_auth}"),
        &[],
        &["check", "--read-data"],
        None,
    );
    wipe_out_leaves_nothing(|| open_spec(&spec, &secret)).await;
}

/// All object keys under `prefix`, listed from the bucket's root.
async fn raw_keys(bucket_root: &api::Backend, secret: &StorageSecret, prefix: &str) -> Vec<String> {
    bucket_root
        .config(secret, LocalAccess::Mounted)
        .unwrap()
        .object_keys(prefix)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn restic_reads_ours_and_we_read_restics_on_s3() {
    let endpoint = format!(
        "http://{}",
        server("STASH_S3_PORT", 9100, "the S3 server (moto)")
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", AWS_KEY),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
    ];
    let env_fn = |k: &str| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, 9);

    // Ours, written through restic's repository string (the CLI's path), read by restic.
    let ours = format!("s3:{endpoint}/{BUCKET}/{}", unique("ours"));
    let loc = Location::parse(&ours).unwrap();
    assert_eq!(loc.display(), ours);
    let b = open_location_with(&loc, &EnvCredentials::from_fn(env_fn), true).unwrap();
    let repo = Arc::new(
        Repository::init(b, PASSWORD, 2, FAST_KDF, opts())
            .await
            .unwrap(),
    );
    let (snap, _) = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &SnapshotOptions::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    let mut dump = SqlDump::new(4, 6 << 20);
    backup_stream(
        repo.clone(),
        &mut dump,
        "dumpfile.sql",
        &SnapshotOptions::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    let dump_hash_want = dump.digest();
    restic_at_ok(&ours, &env, &["check", "--read-data"], None);
    let out = tmp.path().join("by-restic");
    restic_at_ok(
        &ours,
        &env,
        &[
            "restore",
            &snap.id.to_hex(),
            "--target",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_same(&src, &out.join(src.strip_prefix("/").unwrap()));
    let dumped = restic_at_ok(&ours, &env, &["dump", "latest", "/dumpfile.sql"], None).stdout;
    assert_eq!(hex_sha(&dumped), dump_hash_want);

    // restic's, read and restored by us.
    let theirs = format!("s3:{endpoint}/{BUCKET}/{}", unique("theirs"));
    restic_at_ok(&theirs, &env, &["init", "--repository-version", "2"], None);
    restic_at_ok(
        &theirs,
        &env,
        &["backup", "--host", "restic-host", src.to_str().unwrap()],
        None,
    );
    let dump_file = tmp.path().join("dump.sql");
    std::fs::write(&dump_file, SqlDump::to_vec(8, 5 << 20)).unwrap();
    restic_at_ok(
        &theirs,
        &env,
        &["backup", "--stdin", "--stdin-filename", "dumpfile.sql"],
        Some(&dump_file),
    );
    let b = open_location_with(
        &Location::parse(&theirs).unwrap(),
        &EnvCredentials::from_fn(env_fn),
        false,
    )
    .unwrap();
    let repo = Arc::new(Repository::open(b, PASSWORD, opts()).await.unwrap());
    let rep = check(&repo, true).await.unwrap();
    assert!(rep.ok(), "{:?}", rep.errors);
    let snaps = repo.snapshots().await.unwrap();
    let s = select(
        &snaps,
        "latest",
        &SnapshotFilter {
            hosts: vec!["restic-host".into()],
            ..Default::default()
        },
    )
    .unwrap();
    let out = tmp.path().join("by-us");
    restore(
        &repo,
        s.snapshot.tree,
        &out,
        &RestoreOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_same(&src, &out.join(src.strip_prefix("/").unwrap()));
    let s = select(
        &snaps,
        "latest",
        &SnapshotFilter {
            paths: vec!["/dumpfile.sql".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        dump_hash(&repo, &s.snapshot.tree, "/dumpfile.sql").await,
        hex_sha(&std::fs::read(&dump_file).unwrap())
    );
}

fn hex_sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// A private s3s-fs (file-backed, checks credentials) that a test may stop and restart.
struct S3sFs {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl S3sFs {
    fn binary() -> PathBuf {
        if let Ok(p) = std::env::var("STASH_S3S_FS") {
            return p.into();
        }
        let cache = std::env::var("STASH_CACHE").unwrap_or_else(|_| {
            if Path::new("/var/cache/stash-ci").is_dir() {
                "/var/cache/stash-ci".into()
            } else {
                format!("{}/.cache/stash", std::env::var("HOME").unwrap_or_default())
            }
        });
        let p = Path::new(&cache).join("cargo/bin/s3s-fs");
        assert!(
            p.is_file(),
            "{} is missing: run integration/scripts/install-tools.sh",
            p.display()
        );
        p
    }

    fn start(dir: &Path) -> S3sFs {
        std::fs::create_dir_all(dir.join(BUCKET)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = S3sFs {
            dir: dir.to_path_buf(),
            port,
            child: None,
        };
        s.restart();
        s
    }

    fn restart(&mut self) {
        let child = Command::new(Self::binary())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--access-key",
                AWS_KEY,
                "--secret-key",
                AWS_SECRET,
            ])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("s3s-fs did not start on port {}", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn spec(&self, prefix: &str) -> api::Backend {
        api::Backend {
            s3: Some(S3Spec {
                endpoint: Some(format!("http://127.0.0.1:{}", self.port)),
                bucket: Some(BUCKET.into()),
                prefix: Some(prefix.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_server_stopped_mid_backup_then_restarted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = S3sFs::start(&tmp.path().join("s3"));
    let spec = server.spec("repo");
    let secret = s3_secret();
    // Uncompressed, so the 48 MiB make a dozen packs and the backup is surely mid-way.
    let opts = || RepoOptions {
        compression: stash::engine::Compression::Off,
        ..opts()
    };
    let repo = Arc::new(
        Repository::init(open_spec(&spec, &secret), PASSWORD, 2, FAST_KDF, opts())
            .await
            .unwrap(),
    );
    let packs_dir = tmp.path().join("s3").join(BUCKET).join("repo/data");
    let count_packs = || walk_files(&packs_dir).len();

    let mut src = SqlDump::new(11, 48 << 20);
    let r2 = repo.clone();
    let task = tokio::spawn(async move {
        let r = backup_stream(
            r2,
            &mut src,
            "dumpfile.sql",
            &SnapshotOptions::default(),
            Arc::new(Progress::default()),
        )
        .await;
        (r.map(|(s, _)| s.id), src.digest())
    });
    // Stop the server once some packs are in, and bring it back a few seconds later.
    let t0 = std::time::Instant::now();
    while count_packs() < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no pack was uploaded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    assert!(
        !task.is_finished(),
        "the backup must still be running when the server stops"
    );
    let packs_at_stop = count_packs();
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.restart();
    let (result, want) = task.await.unwrap();
    eprintln!(
        "backup after a 3 s outage ({packs_at_stop} packs in at the stop): {:?}",
        result.as_ref().map_err(|e| e.to_string())
    );

    let repo = Arc::new(
        Repository::open(open_spec(&spec, &secret), PASSWORD, opts())
            .await
            .unwrap(),
    );
    match result {
        Ok(id) => {
            // Retries carried it through: the snapshot is whole.
            repo.load_index().await.unwrap();
            let snaps = repo.snapshots().await.unwrap();
            let s = snaps
                .iter()
                .find(|s| s.id == id)
                .expect("the snapshot was written");
            assert_eq!(
                dump_hash(&repo, &s.snapshot.tree, "/dumpfile.sql").await,
                want
            );
        }
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains(&format!(
                    "s3:http://127.0.0.1:{}/{BUCKET}/repo",
                    server.port
                )),
                "{text}"
            );
            assert!(
                repo.snapshots().await.unwrap().is_empty(),
                "a failed backup leaves no snapshot"
            );
        }
    }
    let rep = check(&repo, true).await.unwrap();
    assert!(rep.ok(), "{:?}", rep.errors);
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_s3_credentials_name_backend_and_bucket_without_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let server = S3sFs::start(&tmp.path().join("s3"));
    let spec = server.spec("repo");
    Repository::init(
        open_spec(&spec, &s3_secret()),
        PASSWORD,
        2,
        FAST_KDF,
        opts(),
    )
    .await
    .unwrap();

    let wrong = StorageSecret::from_strings([
        ("AWS_ACCESS_KEY_ID", AWS_KEY),
        ("AWS_SECRET_ACCESS_KEY", "not-the-right-secret-42"),
    ]);
    let err = Repository::open(open_spec(&spec, &wrong), PASSWORD, opts())
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    eprintln!("{text}");
    assert!(
        text.contains(&format!(
            "s3:http://127.0.0.1:{}/{BUCKET}/repo",
            server.port
        )),
        "{text}"
    );
    assert!(text.contains("access denied by the s3 service"), "{text}");
    for secret in ["not-the-right-secret-42", AWS_SECRET, AWS_KEY, PASSWORD] {
        assert!(!text.contains(secret), "{secret:?} leaked: {text}");
    }
    // The Debug form of everything involved is clean too.
    let cfg = spec.config(&wrong, LocalAccess::Mounted).unwrap();
    let debug = format!("{err:?} {cfg:?} {wrong:?}");
    assert!(!debug.contains("not-the-right-secret-42"), "{debug}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_rest_password_is_permission_denied_and_not_retried() {
    let url = format!(
        "http://{}/{}/",
        server("STASH_REST_PORT", 9103, "rclone serve restic"),
        unique("rest-auth")
    );
    let spec = api::Backend {
        rest: Some(RestServerSpec {
            url: Some(url.clone()),
        }),
        ..Default::default()
    };
    let wrong = StorageSecret::from_strings([
        ("REST_SERVER_USERNAME", REST_USER),
        ("REST_SERVER_PASSWORD", "wrong-rest-password"),
    ]);
    let t0 = std::time::Instant::now();
    let b = open_spec(&spec, &wrong);
    let err = b.stat(FileType::Config, "").await.unwrap_err();
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "a 401 must not be retried"
    );
    assert_eq!(
        err.kind,
        stash::engine::backend::ErrorKind::PermissionDenied
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("rest:{url}")) && text.contains("REST_SERVER_PASSWORD"),
        "{text}"
    );
    assert!(
        !text.contains("wrong-rest-password") && !text.contains(REST_PASS),
        "{text}"
    );
}
