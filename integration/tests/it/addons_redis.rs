//! Redis addon, end to end: keys of every type with TTLs → our repository → a fresh database
//! (native replay) and a fresh server (`restic dump | redis-cli --pipe`), judged by every
//! key's `DUMP` payload and TTL.
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use stash::engine::archiver::Progress;
use stash_addons::redis::{Redis, RedisOptions};
use stash_addons::{backup, restore, AddonError, Ctx, DbConnection};
use stash_integration::appbinding::connection;
use stash_integration::pgcluster::free_port;

use super::addons_support::{err_text, fresh_repo, kill_server_mid_dump, unique};

pub(super) const SRC_DB: i64 = 11;
const DST_DB: i64 = 12;

fn conn(port: u16) -> DbConnection {
    let y = format!(
        "spec:\n  type: kubedb.com/redis\n  clientConfig:\n    url: redis://127.0.0.1:{port}\n"
    );
    connection(&y, "demo", &Default::default()).unwrap()
}

async fn client(port: u16, db: i64) -> redis::aio::MultiplexedConnection {
    let c = redis::Client::open(format!("redis://127.0.0.1:{port}/{db}")).unwrap();
    c.get_multiplexed_async_connection().await.unwrap()
}

/// What the judge records per key.
#[derive(Debug)]
pub(super) struct KeyState {
    /// `DUMP` payload.
    dump: Vec<u8>,
    /// The value read back type by type, order-normalised where the type is unordered.
    content: String,
    encoding: String,
    pttl: i64,
}

/// key → state for keys matching `pattern`.
pub(super) async fn snapshot_keys(
    port: u16,
    db: i64,
    pattern: &str,
) -> BTreeMap<Vec<u8>, KeyState> {
    let mut c = client(port, db).await;
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut c)
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for k in keys {
        let q = |name: &str| {
            let mut c = redis::cmd(name);
            c.arg(&k);
            c
        };
        let dump: Vec<u8> = q("DUMP").query_async(&mut c).await.unwrap();
        let pttl: i64 = q("PTTL").query_async(&mut c).await.unwrap();
        let kind: String = q("TYPE").query_async(&mut c).await.unwrap();
        let encoding: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(&k)
            .query_async(&mut c)
            .await
            .unwrap();
        let content = match kind.as_str() {
            "string" => format!(
                "{:?}",
                q("GET").query_async::<Vec<u8>>(&mut c).await.unwrap()
            ),
            "hash" => {
                let mut v: Vec<(Vec<u8>, Vec<u8>)> =
                    q("HGETALL").query_async(&mut c).await.unwrap();
                v.sort();
                format!("{v:?}")
            }
            "set" => {
                let mut v: Vec<Vec<u8>> = q("SMEMBERS").query_async(&mut c).await.unwrap();
                v.sort();
                format!("{v:?}")
            }
            "list" => format!(
                "{:?}",
                q("LRANGE")
                    .arg(0)
                    .arg(-1)
                    .query_async::<Vec<Vec<u8>>>(&mut c)
                    .await
                    .unwrap()
            ),
            "zset" => format!(
                "{:?}",
                q("ZRANGE")
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query_async::<Vec<Vec<u8>>>(&mut c)
                    .await
                    .unwrap()
            ),
            "stream" => {
                let entries: redis::Value = q("XRANGE")
                    .arg("-")
                    .arg("+")
                    .query_async(&mut c)
                    .await
                    .unwrap();
                let groups: redis::Value = redis::cmd("XINFO")
                    .arg("GROUPS")
                    .arg(&k)
                    .query_async(&mut c)
                    .await
                    .unwrap();
                format!("{entries:?} {groups:?}")
            }
            other => panic!("unexpected type {other}"),
        };
        out.insert(
            k,
            KeyState {
                dump,
                content,
                encoding,
                pttl,
            },
        );
    }
    out
}

/// Same keys, same values, same TTLs (± 2 min of test time). `DUMP` payloads must be equal
/// byte for byte, except for hash-table and skiplist encodings, whose serialisation follows
/// the table's internal order (which a RESTORE does not reproduce): those compare by content.
pub(super) fn assert_same_keys(a: &BTreeMap<Vec<u8>, KeyState>, b: &BTreeMap<Vec<u8>, KeyState>) {
    assert_eq!(a.len(), b.len(), "key counts differ");
    for (k, s) in a {
        let t = b
            .get(k)
            .unwrap_or_else(|| panic!("key {:?} missing", String::from_utf8_lossy(k)));
        let (dump, ttl, d2, t2) = (&s.dump, &s.pttl, &t.dump, &t.pttl);
        assert_eq!(
            s.content,
            t.content,
            "value of {:?} differs",
            String::from_utf8_lossy(k)
        );
        assert_eq!(
            s.encoding,
            t.encoding,
            "encoding of {:?} differs",
            String::from_utf8_lossy(k)
        );
        if !matches!(s.encoding.as_str(), "hashtable" | "skiplist") {
            assert!(
                dump == d2,
                "DUMP of {:?} ({}) differs",
                String::from_utf8_lossy(k),
                s.encoding
            );
        }
        if *ttl < 0 {
            assert_eq!(*t2, -1, "{:?} gained a TTL", String::from_utf8_lossy(k));
        } else {
            assert!(
                *t2 > 0 && (ttl - t2).abs() < 120_000,
                "TTL of {:?}: {ttl} vs {t2}",
                String::from_utf8_lossy(k)
            );
        }
    }
}

pub(super) async fn load(port: u16, prefix: &str) {
    let mut c = client(port, SRC_DB).await;
    let mut p = redis::pipe();
    for i in 0..3000 {
        p.set(
            format!("{prefix}:str:{i}"),
            format!("value {i} – ünïcode ✓"),
        )
        .ignore();
    }
    p.set(format!("{prefix}:bin"), vec![0u8, 13, 10, 255, 36, 42])
        .ignore();
    p.set(format!("{prefix}:big"), "x".repeat(2 << 20)).ignore();
    p.set(format!("{prefix}:int"), 12345).ignore();
    for i in 0..50 {
        p.hset_multiple(
            format!("{prefix}:hash:{i}"),
            &[
                ("name", format!("n{i}")),
                ("emoji", "🚀".into()),
                ("n", i.to_string()),
            ],
        )
        .ignore();
        p.rpush(
            format!("{prefix}:list:{i}"),
            (0..i + 1).map(|x| format!("item{x}")).collect::<Vec<_>>(),
        )
        .ignore();
        p.sadd(format!("{prefix}:set:{i}"), (0..i + 1).collect::<Vec<_>>())
            .ignore();
        p.zadd_multiple(
            format!("{prefix}:zset:{i}"),
            &(0..i + 1)
                .map(|x| (x as f64 / 3.0, format!("m{x}")))
                .collect::<Vec<_>>(),
        )
        .ignore();
    }
    // A big hash and list (non-listpack encodings).
    for i in 0..2000 {
        p.hset(format!("{prefix}:bighash"), format!("f{i}"), i)
            .ignore();
        p.rpush(format!("{prefix}:biglist"), i).ignore();
        p.sadd(format!("{prefix}:bigset"), format!("m{i}")).ignore();
        p.zadd(format!("{prefix}:bigzset"), format!("m{i}"), i as f64 * 0.5)
            .ignore();
    }
    for i in 0..100 {
        p.cmd("XADD")
            .arg(format!("{prefix}:stream"))
            .arg(format!("{}-1", 1000 + i))
            .arg("field")
            .arg(i)
            .arg("who")
            .arg("ø")
            .ignore();
    }
    p.cmd("XGROUP")
        .arg("CREATE")
        .arg(format!("{prefix}:stream"))
        .arg("workers")
        .arg("0")
        .ignore();
    p.cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("alice")
        .arg("COUNT")
        .arg(5)
        .arg("STREAMS")
        .arg(format!("{prefix}:stream"))
        .arg(">")
        .ignore();
    for i in 0..200 {
        p.cmd("SET")
            .arg(format!("{prefix}:ttl:{i}"))
            .arg(i)
            .arg("EX")
            .arg(3600 + i)
            .ignore();
    }
    p.cmd("EXPIRE")
        .arg(format!("{prefix}:hash:1"))
        .arg(7200)
        .ignore();
    p.query_async::<()>(&mut c).await.unwrap();
}

async fn cleanup(port: u16, db: i64, pattern: &str) {
    let mut c = client(port, db).await;
    let keys: Vec<String> = c.keys(pattern).await.unwrap();
    if !keys.is_empty() {
        let _: () = c.del(keys).await.unwrap();
    }
}

/// A throwaway redis-server on a free port, killed on drop.
struct Server(Child, u16);
impl Server {
    fn start() -> Server {
        let port = free_port();
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Server(child, port)
    }
}
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_round_trip_into_fresh_db_and_redis_cli_pipe() {
    let prefix = unique("stash_it_redis");
    let pattern = format!("{prefix}:*");
    load(6379, &prefix).await;
    let before = snapshot_keys(6379, SRC_DB, &pattern).await;
    assert!(before.len() > 3400, "{}", before.len());

    let r = fresh_repo().await;
    let opts = RedisOptions {
        dbs: vec![SRC_DB],
        pattern: Some(pattern.clone()),
        ..Default::default()
    };
    let addon = Redis::new(conn(6379), opts);
    let out = backup(
        &addon,
        &r.backup_req(),
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert_eq!(out.report.get("keys"), before.len() as u64);
    assert_eq!(out.report.get("vanished"), 0);
    assert!(
        out.server.server_version.starts_with('7'),
        "{:?}",
        out.server
    );
    let id = out.snapshot.id.to_hex();
    r.assert_restic_agrees(
        &id,
        "/dumpfile.resp",
        "host-0",
        &out.stream.sha256,
        out.stream.bytes,
    );

    // Native replay into another database of the same server.
    cleanup(6379, DST_DB, &pattern).await;
    let target = Redis::new(
        conn(6379),
        RedisOptions {
            db_map: BTreeMap::from([(SRC_DB, DST_DB)]),
            ..Default::default()
        },
    );
    let res = restore(
        &target,
        &r.restore_req(),
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert_eq!(res.stream.sha256, out.stream.sha256);
    assert_eq!(res.report.get("keys"), before.len() as u64);
    let after = snapshot_keys(6379, DST_DB, &pattern).await;
    assert_same_keys(&before, &after);

    // Stash's way: restic dump | redis-cli --pipe, into a brand-new server.
    let fresh = Server::start();
    let t = Instant::now();
    while Command::new("redis-cli")
        .args(["-p", &fresh.1.to_string(), "ping"])
        .output()
        .map(|o| o.stdout != b"PONG\n")
        .unwrap_or(true)
    {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    let sh = format!(
        "set -o pipefail; restic -r {} dump {id} /dumpfile.resp | redis-cli -p {} --pipe",
        r.path.display(),
        fresh.1
    );
    let o = Command::new("bash")
        .args(["-c", &sh])
        .env("RESTIC_PASSWORD", stash_integration::restic::PASSWORD)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && text.contains("errors: 0"),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_same_keys(&before, &snapshot_keys(fresh.1, SRC_DB, &pattern).await);

    cleanup(6379, SRC_DB, &pattern).await;
    cleanup(6379, DST_DB, &pattern).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_and_wrong_password_fail_without_snapshot() {
    let r = fresh_repo().await;
    let mut req = r.backup_req();
    req.wait_timeout = Duration::from_secs(2);
    let e = backup(
        &Redis::new(conn(free_port()), RedisOptions::default()),
        &req,
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, AddonError::NotReady { .. }), "{e:?}");

    // A server with a password.
    let s = Server::start();
    let t = Instant::now();
    while Command::new("redis-cli")
        .args([
            "-p",
            &s.1.to_string(),
            "config",
            "set",
            "requirepass",
            "right",
        ])
        .output()
        .map(|o| o.stdout != b"OK\n")
        .unwrap_or(true)
    {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut c = conn(s.1);
    c.password = Some("wrong".into());
    let t = Instant::now();
    let e = backup(
        &Redis::new(c, RedisOptions::default()),
        &r.backup_req(),
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(matches!(e, AddonError::Auth { .. }), "{}", err_text(&e));
    assert!(!err_text(&e).contains("wrong"), "{}", err_text(&e));
    assert!(r.restic_snapshots().is_empty());
}

/// A server that rejects a command mid-replay (an existing key and a dump without REPLACE is
/// not what we write, so: a read-only replica) fails the restore with the server's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restore_rejected_command_fails() {
    let prefix = unique("stash_it_redis_rej");
    let mut c = client(6379, SRC_DB).await;
    let _: () = c.set(format!("{prefix}:a"), "1").await.unwrap();
    let r = fresh_repo().await;
    let opts = RedisOptions {
        dbs: vec![SRC_DB],
        pattern: Some(format!("{prefix}:*")),
        ..Default::default()
    };
    backup(
        &Redis::new(conn(6379), opts),
        &r.backup_req(),
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    cleanup(6379, SRC_DB, &format!("{prefix}:*")).await;

    let s = Server::start();
    let t = Instant::now();
    // replica-read-only: every write is refused with READONLY.
    while Command::new("redis-cli")
        .args(["-p", &s.1.to_string(), "replicaof", "127.0.0.1", "1"])
        .output()
        .map(|o| o.stdout != b"OK\n")
        .unwrap_or(true)
    {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    let e = restore(
        &Redis::new(conn(s.1), RedisOptions::default()),
        &r.restore_req(),
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap_err();
    let text = err_text(&e);
    assert!(
        text.contains("restoring into database")
            && text.contains("You can't write against a read only replica"),
        "{text}"
    );
}

/// Restore picks `latest` among the snapshots of the source host, or the snapshot named by id;
/// a host without snapshots is a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restore_picks_latest_of_source_host_or_named_snapshot() {
    let prefix = unique("stash_it_redis_pick");
    let key = format!("{prefix}:k");
    let mut c = client(6379, SRC_DB).await;
    let r = fresh_repo().await;
    let opts = || RedisOptions {
        dbs: vec![SRC_DB],
        pattern: Some(format!("{prefix}:*")),
        ..Default::default()
    };
    let mut ids = Vec::new();
    for (value, host) in [("v1", "host-0"), ("v2", "host-0"), ("v3", "replica-alias")] {
        let _: () = c.set(&key, value).await.unwrap();
        let mut req = r.backup_req();
        req.snapshot.host = host.into();
        ids.push(
            backup(
                &Redis::new(conn(6379), opts()),
                &req,
                &Ctx::new(),
                Arc::new(Progress::default()),
            )
            .await
            .unwrap()
            .snapshot
            .id,
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let target = || {
        Redis::new(
            conn(6379),
            RedisOptions {
                db_map: BTreeMap::from([(SRC_DB, DST_DB)]),
                ..Default::default()
            },
        )
    };
    let get = || async {
        client(6379, DST_DB)
            .await
            .get::<_, String>(&key)
            .await
            .unwrap()
    };

    let res = restore(
        &target(),
        &r.restore_req(),
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert_eq!(
        (res.snapshot.id, get().await),
        (ids[1], "v2".to_string()),
        "latest of host-0"
    );
    let mut req = r.restore_req();
    req.source_host = "replica-alias".into();
    restore(&target(), &req, &Ctx::new(), Arc::new(Progress::default()))
        .await
        .unwrap();
    assert_eq!(get().await, "v3");
    let mut req = r.restore_req();
    req.snapshot = ids[0].to_hex()[..8].to_string();
    restore(&target(), &req, &Ctx::new(), Arc::new(Progress::default()))
        .await
        .unwrap();
    assert_eq!(get().await, "v1", "named snapshot");
    let mut req = r.restore_req();
    req.source_host = "nobody".into();
    let e = restore(&target(), &req, &Ctx::new(), Arc::new(Progress::default()))
        .await
        .unwrap_err();
    assert!(
        err_text(&e).contains("no snapshot matched \"latest host=nobody path=/dumpfile.resp\""),
        "{}",
        err_text(&e)
    );

    cleanup(6379, SRC_DB, &format!("{prefix}:*")).await;
    cleanup(6379, DST_DB, &format!("{prefix}:*")).await;
}

/// The server goes away in the middle of the dump (frozen once the engine has stored the first
/// MiB, so the dump cannot have finished, then killed): the backup fails and leaves no
/// snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_server_killed_mid_dump_leaves_no_snapshot() {
    let mut s = Server::start();
    let t = Instant::now();
    while Command::new("redis-cli")
        .args(["-p", &s.1.to_string(), "ping"])
        .output()
        .map(|o| o.stdout != b"PONG\n")
        .unwrap_or(true)
    {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut c = client(s.1, 0).await;
    for batch in 0..20 {
        let mut p = redis::pipe();
        for i in 0..10_000 {
            p.set(format!("k:{batch}:{i}"), format!("{i:0>100}"))
                .ignore();
        }
        let _: () = p.query_async(&mut c).await.unwrap();
    }
    let r = fresh_repo().await;
    let progress = Arc::new(Progress::default());
    let (req, p2, addon) = (
        r.backup_req(),
        progress.clone(),
        Redis::new(conn(s.1), RedisOptions::default()),
    );
    let task = tokio::spawn(async move { backup(&addon, &req, &Ctx::new(), p2).await });
    let e = kill_server_mid_dump(task, &progress, &mut s.0).await;
    let text = err_text(&e);
    assert!(text.contains("redis"), "{text}");
    assert!(
        r.restic_snapshots().is_empty(),
        "a failed dump must not become a snapshot: {text}"
    );
}
