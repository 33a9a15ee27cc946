//! MongoDB addon against the MongoDB-wire server the scripts start (nx-27017): nested
//! documents, arrays, ObjectIds, dates, doubles, binaries and several indexes → our repository → a fresh
//! database, judged by every collection's documents hashed in `_id` order and its indexes.
//! (No Decimal128: nx-27017 stores JSON and rejects it.)
use std::sync::Arc;
use std::time::Duration;

use bson::{doc, oid::ObjectId, Bson, DateTime, Document, RawDocumentBuf};
use futures::TryStreamExt;
use mongodb::{Client, IndexModel};
use sha2::Digest;
use stash::engine::archiver::Progress;
use stash_addons::mongodb::{Mongo, MongoOptions};
use stash_addons::{backup, restore, AddonError, Ctx, DbConnection};
use stash_integration::appbinding::connection;
use stash_integration::pgcluster::free_port;

use super::addons_support::{err_text, fresh_repo, kill_server_mid_dump, unique};

pub(super) fn port() -> u16 {
    std::env::var("STASH_IT_MONGO_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(27017)
}

fn conn(port: u16) -> DbConnection {
    let y = format!(
        "spec:\n  type: kubedb.com/mongodb\n  clientConfig:\n    url: mongodb://127.0.0.1:{port}\n"
    );
    connection(&y, "demo", &Default::default()).unwrap()
}

pub(super) async fn client() -> Client {
    Client::with_uri_str(format!(
        "mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=5000",
        port()
    ))
    .await
    .unwrap()
}

pub(super) async fn load(db: &mongodb::Database) {
    let users = db.collection::<Document>("users");
    let mut docs = Vec::new();
    for i in 0..1500i64 {
        docs.push(doc! {
            "_id": ObjectId::parse_str(format!("65a0000000000000{:08x}", i)).unwrap(),
            "email": format!("user{i}@example.org"),
            "name": (["Jürgen Groß", "李小龍", "Ольга", "emoji 🚀"][i as usize % 4]),
            "age": (20 + i % 50) as i32,
            // nx-27017 rejects Decimal128 ("not JSON serializable"); doubles and int64 instead.
            "balance": i as f64 * 1.25,
            "cents": i * 125,
            "joined": DateTime::from_millis(1_700_000_000_000 + i * 86_400_000),
            "tags": ["a", "b", format!("t{}", i % 7)],
            "address": {"city": "Berlin", "geo": {"lat": 52.5 + i as f64 / 1e4, "lon": 13.4}, "lines": [{"n": 1}, {"n": 2}]},
            "nickname": if i % 5 == 0 { Bson::Null } else { Bson::String(format!("nick{i}")) },
            "blob": Bson::Binary(bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![0, 1, 2, 255, i as u8] }),
        });
    }
    users.insert_many(docs).await.unwrap();
    users
        .create_index(
            IndexModel::builder()
                .keys(doc! {"email": 1})
                .options(
                    mongodb::options::IndexOptions::builder()
                        .unique(true)
                        .name("email_unique".to_string())
                        .build(),
                )
                .build(),
        )
        .await
        .unwrap();
    users
        .create_index(
            IndexModel::builder()
                .keys(doc! {"age": 1, "joined": -1})
                .build(),
        )
        .await
        .unwrap();
    users
        .create_index(IndexModel::builder().keys(doc! {"address.city": 1}).build())
        .await
        .unwrap();

    let orders = db.collection::<Document>("orders");
    let docs: Vec<Document> = (0..3000i64)
        .map(|i| doc! {"_id": i, "user": ObjectId::parse_str(format!("65a0000000000000{:08x}", i % 1500)).unwrap(), "lines": (0..(i % 4)).map(|l| doc!{"sku": format!("S{l}"), "qty": l}).collect::<Vec<_>>(), "total": (i % 200) as f64 / 4.0, "note": if i % 9 == 0 { Bson::String("multi\nline".into()) } else { Bson::Null }})
        .collect();
    orders.insert_many(docs).await.unwrap();
    orders
        .create_index(IndexModel::builder().keys(doc! {"user": 1}).build())
        .await
        .unwrap();
    // nx-27017 allows only [A-Za-z0-9_] in collection names.
    let misc = db.collection::<Document>("misc_items");
    misc.insert_many(vec![
        doc! {"_id": "string-id", "v": 1},
        doc! {"_id": 2.5, "v": [1, [2, [3]]]},
    ])
    .await
    .unwrap();
}

/// collection → (count, sha256 of documents in _id order, normalised index list).
pub(super) async fn fingerprint(db: &mongodb::Database) -> Vec<(String, u64, String, Vec<String>)> {
    let mut names = db.list_collection_names().await.unwrap();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let c = db.collection::<RawDocumentBuf>(&n);
        let mut cur = c.find(doc! {}).sort(doc! {"_id": 1}).await.unwrap();
        let mut h = sha2::Sha256::new();
        let mut count = 0;
        while let Some(d) = cur.try_next().await.unwrap() {
            h.update(d.as_bytes());
            count += 1;
        }
        let r = db.run_command(doc! {"listIndexes": &n}).await.unwrap();
        let mut idx: Vec<String> = r
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()
            .iter()
            .map(|i| {
                let i = i.as_document().unwrap();
                format!(
                    "{} {:?} unique={:?}",
                    i.get_str("name").unwrap_or(""),
                    i.get_document("key").unwrap(),
                    i.get_bool("unique").unwrap_or(false)
                )
            })
            .collect();
        idx.sort();
        out.push((n, count, hex::encode(h.finalize()), idx));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_round_trip_into_fresh_database() {
    let c = client().await;
    let (src, dst) = (unique("stash_it_mongo_src"), unique("stash_it_mongo_dst"));
    load(&c.database(&src)).await;
    let r = fresh_repo().await;
    let addon = Mongo::new(
        conn(port()),
        MongoOptions::from_args(
            &["--db".into(), src.clone(), "--batchSize=400".into()],
            false,
        )
        .unwrap(),
    );
    let out = backup(
        &addon,
        &r.backup_req(),
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert_eq!(out.report.get("documents"), 4502);
    assert_eq!(out.report.get("collections"), 3);
    r.assert_restic_agrees(
        &out.snapshot.id.to_hex(),
        "/dump",
        "host-0",
        &out.stream.sha256,
        out.stream.bytes,
    );

    let target = Mongo::new(
        conn(port()),
        MongoOptions::from_args(&["--db".into(), dst.clone(), "--drop".into()], true).unwrap(),
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
    let (a, b) = (
        fingerprint(&c.database(&src)).await,
        fingerprint(&c.database(&dst)).await,
    );
    assert_eq!(a.len(), 3);
    assert!(
        a.iter()
            .any(|(n, count, _, idx)| n == "users" && *count == 1500 && idx.len() == 4),
        "{a:?}"
    );
    assert_eq!(a, b);
    // --drop makes a second restore idempotent instead of failing on duplicate _ids.
    restore(
        &target,
        &r.restore_req(),
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert_eq!(fingerprint(&c.database(&dst)).await, a);
    // Without --drop, the server rejects the duplicate keys and the restore says so.
    let no_drop = Mongo::new(
        conn(port()),
        MongoOptions::from_args(&["--db".into(), dst.clone()], true).unwrap(),
    );
    let e = restore(
        &no_drop,
        &r.restore_req(),
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap_err();
    assert!(err_text(&e).contains("inserting into"), "{}", err_text(&e));

    c.database(&src).drop().await.unwrap();
    c.database(&dst).drop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_unreachable_times_out_without_snapshot() {
    let r = fresh_repo().await;
    let mut req = r.backup_req();
    req.wait_timeout = Duration::from_secs(3);
    let e = backup(
        &Mongo::new(conn(free_port()), MongoOptions::default()),
        &req,
        &Ctx::new(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, AddonError::NotReady { .. }), "{}", err_text(&e));
    assert!(r.restic_snapshots().is_empty());
}

/// A throwaway nx-27017 (from the venv `mongo-server.sh` installs) on a free port, killed on drop.
struct OwnServer {
    child: std::process::Child,
    port: u16,
    /// The server's data folder, removed on drop.
    _data: tempfile::TempDir,
}
impl OwnServer {
    async fn start() -> OwnServer {
        let venv =
            std::env::var("STASH_IT_VENV").unwrap_or_else(|_| "/tmp/stash-it/venv-nx".into());
        let (port, dir) = (free_port(), tempfile::tempdir().unwrap());
        let child = std::process::Command::new(format!("{venv}/bin/nx-27017"))
            .args(["--host", "127.0.0.1", "-p", &port.to_string(), "--data-dir"])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nx-27017 (integration/scripts/mongo-server.sh installs it)");
        let t = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "nx-27017 did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        OwnServer {
            child,
            port,
            _data: dir,
        }
    }
}
impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server goes away in the middle of the dump (frozen once the engine has stored the first
/// MiB, so the dump cannot have finished, then killed): the backup fails and leaves no snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_server_killed_mid_dump_leaves_no_snapshot() {
    let mut s = OwnServer::start().await;
    let c = Client::with_uri_str(format!(
        "mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=5000",
        s.port
    ))
    .await
    .unwrap();
    let db = "stash_it_mongo_killed";
    let filler = "x".repeat(1000);
    for batch in 0..8i64 {
        let docs: Vec<Document> = (0..1000i64)
            .map(|i| doc! {"_id": batch * 1000 + i, "pad": &filler})
            .collect();
        c.database(db)
            .collection::<Document>("big")
            .insert_many(docs)
            .await
            .unwrap();
    }
    let r = fresh_repo().await;
    let progress = Arc::new(Progress::default());
    let addon = Mongo::new(
        conn(s.port),
        MongoOptions::from_args(&["--db".into(), db.into(), "--batchSize=100".into()], false)
            .unwrap(),
    );
    let (req, p2) = (r.backup_req(), progress.clone());
    let task = tokio::spawn(async move { backup(&addon, &req, &Ctx::new(), p2).await });
    let e = kill_server_mid_dump(task, &progress, &mut s.child).await;
    let text = err_text(&e);
    assert!(text.contains("mongodb"), "{text}");
    assert!(
        r.restic_snapshots().is_empty(),
        "a failed dump must not become a snapshot: {text}"
    );
}
