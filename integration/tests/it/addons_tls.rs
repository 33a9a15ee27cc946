//! The addons over TLS, against servers that take nothing else: PostgreSQL (`hostssl …
//! clientcert=verify-full`), Redis (TLS port, client certificates required) and MariaDB
//! (`require_secure_transport`, `REQUIRE X509`), all started by the project's scripts with a
//! throwaway CA. MongoDB's test server (nx-27017) speaks no TLS, so a socat front terminates
//! TLS for it, requiring client certificates. The AppBinding carries the CA as Kubernetes stores it (`caBundle`, base64
//! PEM) and the client certificate through `spec.tlsSecret`. Each round trip is judged like
//! the plaintext tests, by a judge that reads the servers without TLS (socket or plaintext
//! port); a CA that did not sign the server's certificate must fail fast, say so, and leave no
//! snapshot.
use std::sync::Arc;
use std::time::{Duration, Instant};

use stash::engine::archiver::Progress;
use stash_addons::mongodb::{Mongo, MongoOptions};
use stash_addons::mysql::{Flavor, Mysql, MysqlOptions};
use stash_addons::postgres::{BackupCmd, PgMode, Postgres, PostgresOptions};
use stash_addons::redis::{Redis, RedisOptions};
use stash_addons::{backup, restore, AddonError, Ctx, DbConnection};
use stash_integration::appbinding::{auth_secret, connection, Secrets};
use stash_integration::pgcluster::PgCluster;
use stash_integration::servers::{MariaDbServer, RedisServer, TlsFront};
use stash_integration::tlscerts::TestCerts;

use super::addons_mongodb::{
    client as mongo_judge, fingerprint as mongo_fingerprint, load as mongo_load, port as mongo_port,
};
use super::addons_mysql::{fingerprint_with, SCHEMA};
use super::addons_postgres::{assert_same_text, fixture};
use super::addons_redis::{assert_same_keys, load, snapshot_keys, SRC_DB};
use super::addons_support::{err_text, fresh_repo, unique};

/// An AppBinding for `url`; `ca` is a file of `certs` put into `caBundle`; `auth` adds
/// `spec.secret: auth`, `client_cert` adds `spec.tlsSecret: client-tls`.
fn binding(
    kind: &str,
    url: &str,
    certs: &TestCerts,
    ca: Option<&str>,
    auth: bool,
    client_cert: bool,
) -> String {
    let mut y = format!(
        "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata: {{name: {kind}, namespace: demo}}\nspec:\n  type: kubedb.com/{kind}\n  clientConfig:\n    url: {url}\n"
    );
    if let Some(f) = ca {
        y += &format!("    caBundle: {}\n", certs.base64(f));
    }
    if auth {
        y += "  secret: {name: auth}\n";
    }
    if client_cert {
        y += "  tlsSecret: {name: client-tls}\n";
    }
    y
}

fn secrets(certs: &TestCerts, user: &str, password: &str) -> Secrets {
    let mut s = auth_secret("auth", user, Some(password));
    s.extend(certs.client_secret("client-tls"));
    s
}

fn progress() -> Arc<Progress> {
    Arc::new(Progress::default())
}

/// A wrong CA is a configuration error: no waiting out the timeout, a message that names TLS
/// and the certificate, and no snapshot.
fn assert_wrong_ca_error(e: &AddonError, started: Instant) {
    let text = err_text(e);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "a certificate error must not wait out the timeout: {text}"
    );
    assert!(matches!(e, AddonError::Tls { .. }), "{e:?}");
    assert!(
        text.contains("TLS") && text.contains("certificate") && text.contains("caBundle"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tls_verify_full_round_trip_into_fresh_cluster() {
    let certs = TestCerts::generate();
    let pw = "tls-pw";
    let a = PgCluster::start_tls("tls-src", Some(pw), &certs);
    let apg = a.pg();
    apg.psql("postgres", "CREATE DATABASE app");
    apg.psql_file("app", fixture());
    let s = secrets(&certs, "postgres", pw);
    let tls = |port: u16, db: &str| -> DbConnection {
        let url = format!("postgres://127.0.0.1:{port}/{db}?sslmode=verify-full");
        connection(
            &binding("postgres", &url, &certs, Some("ca.crt"), true, true),
            "demo",
            &s,
        )
        .unwrap()
    };
    let r = fresh_repo().await;

    // The server takes no plaintext TCP, so what follows really went through TLS.
    let plain = connection(
        &binding(
            "postgres",
            &format!("postgres://127.0.0.1:{}/app?sslmode=disable", a.port),
            &certs,
            None,
            true,
            false,
        ),
        "demo",
        &s,
    )
    .unwrap();
    let e = backup(
        &Postgres::new(plain, PostgresOptions::default()),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap_err();
    assert!(err_text(&e).contains("no encryption"), "{}", err_text(&e));

    // TLS without the client certificate of spec.tlsSecret: pg_hba refuses the login.
    let no_cert = connection(
        &binding(
            "postgres",
            &format!("postgres://127.0.0.1:{}/app?sslmode=verify-full", a.port),
            &certs,
            Some("ca.crt"),
            true,
            false,
        ),
        "demo",
        &s,
    )
    .unwrap();
    let e = backup(
        &Postgres::new(no_cert, PostgresOptions::default()),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, AddonError::Auth { .. })
            && err_text(&e).contains("requires a valid client certificate"),
        "{}",
        err_text(&e)
    );
    assert!(r.restic_snapshots().is_empty());

    // Stash mode: pg_dumpall over TLS into a fresh TLS cluster.
    let out = backup(
        &Postgres::new(tls(a.port, ""), PostgresOptions::default()),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    r.assert_restic_agrees(
        &out.snapshot.id.to_hex(),
        "/dumpfile.sql",
        "host-0",
        &out.stream.sha256,
        out.stream.bytes,
    );
    let b = PgCluster::start_tls("tls-dst", Some(pw), &certs);
    let res = restore(
        &Postgres::new(tls(b.port, ""), PostgresOptions::default()),
        &r.restore_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    assert_eq!(res.stream.sha256, out.stream.sha256);
    // The target's postgres keeps its own password (Stash's restore drops that line).
    let strip = |s: String| {
        s.lines()
            .filter(|l| !l.starts_with("ALTER ROLE postgres WITH"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (da, db) = (apg.pg_dumpall(), b.pg().pg_dumpall());
    assert!(
        da.contains("CREATE DATABASE app"),
        "the judge saw the source"
    );
    assert_same_text(&strip(da), &strip(db));

    // Native mode (COPY sessions through rustls, pg_dump sections through libpq) into a fresh
    // database of the target.
    let native = PostgresOptions {
        mode: PgMode::Native,
        jobs: 3,
        ..Default::default()
    };
    let r2 = fresh_repo().await;
    backup(
        &Postgres::new(tls(a.port, "app"), native.clone()),
        &r2.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    b.pg().psql("postgres", "CREATE DATABASE app_native");
    restore(
        &Postgres::new(tls(b.port, "app_native"), native),
        &r2.restore_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    assert_same_text(&apg.pg_dump("app"), &b.pg().pg_dump("app_native"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tls_wrong_ca_fails_naming_the_certificate_without_snapshot() {
    let certs = TestCerts::generate();
    let a = PgCluster::start_tls("tls-wrongca", Some("pw"), &certs);
    let s = secrets(&certs, "postgres", "pw");
    let url = format!(
        "postgres://127.0.0.1:{}/postgres?sslmode=verify-full",
        a.port
    );
    let r = fresh_repo().await;
    for opts in [
        PostgresOptions {
            backup_cmd: BackupCmd::PgDump,
            ..Default::default()
        },
        PostgresOptions {
            mode: PgMode::Native,
            ..Default::default()
        },
    ] {
        let c = connection(
            &binding("postgres", &url, &certs, Some("other-ca.crt"), true, true),
            "demo",
            &s,
        )
        .unwrap();
        let t = Instant::now();
        let e = backup(
            &Postgres::new(c, opts),
            &r.backup_req(),
            &Ctx::new(),
            progress(),
        )
        .await
        .unwrap_err();
        assert_wrong_ca_error(&e, t);
    }
    assert!(r.restic_snapshots().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tls_round_trip_into_fresh_server() {
    let certs = TestCerts::generate();
    let src = RedisServer::start_tls("tls-src", &certs, "yes");
    let dst = RedisServer::start_tls("tls-dst", &certs, "yes");
    let prefix = unique("stash_it_redis_tls");
    let pattern = format!("{prefix}:*");
    load(src.port, &prefix).await;
    let before = snapshot_keys(src.port, SRC_DB, &pattern).await;
    assert!(before.len() > 3400, "{}", before.len());
    let s = certs.client_secret("client-tls");
    let tls = |port: u16, ca: &str| {
        connection(
            &binding(
                "redis",
                &format!("rediss://127.0.0.1:{port}"),
                &certs,
                Some(ca),
                false,
                true,
            ),
            "demo",
            &s,
        )
        .unwrap()
    };
    let r = fresh_repo().await;

    let wrong = Redis::new(
        tls(src.tls_port.unwrap(), "other-ca.crt"),
        RedisOptions::default(),
    );
    let t = Instant::now();
    assert_wrong_ca_error(
        &backup(&wrong, &r.backup_req(), &Ctx::new(), progress())
            .await
            .unwrap_err(),
        t,
    );
    // The server requires a client certificate: without spec.tlsSecret it is refused, and the
    // message says where the certificate comes from.
    let y = binding(
        "redis",
        &format!("rediss://127.0.0.1:{}", src.tls_port.unwrap()),
        &certs,
        Some("ca.crt"),
        false,
        false,
    );
    let no_cert = Redis::new(connection(&y, "demo", &s).unwrap(), RedisOptions::default());
    let t = Instant::now();
    let e = backup(&no_cert, &r.backup_req(), &Ctx::new(), progress())
        .await
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(15) && matches!(e, AddonError::Tls { .. }),
        "{}",
        err_text(&e)
    );
    assert!(err_text(&e).contains("spec.tlsSecret"), "{}", err_text(&e));
    assert!(r.restic_snapshots().is_empty());

    let opts = RedisOptions {
        dbs: vec![SRC_DB],
        ..Default::default()
    };
    let out = backup(
        &Redis::new(tls(src.tls_port.unwrap(), "ca.crt"), opts),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    assert_eq!(out.report.get("keys"), before.len() as u64);
    r.assert_restic_agrees(
        &out.snapshot.id.to_hex(),
        "/dumpfile.resp",
        "host-0",
        &out.stream.sha256,
        out.stream.bytes,
    );
    let res = restore(
        &Redis::new(
            tls(dst.tls_port.unwrap(), "ca.crt"),
            RedisOptions::default(),
        ),
        &r.restore_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    assert_eq!(res.report.get("keys"), before.len() as u64);
    assert_same_keys(&before, &snapshot_keys(dst.port, SRC_DB, &pattern).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_tls_round_trip_into_fresh_server() {
    let certs = TestCerts::generate();
    let src = MariaDbServer::start("tls-src", Some(&certs));
    let dst = MariaDbServer::start("tls-dst", Some(&certs));
    let db = "shop";
    src.sql(
        "mysql",
        &format!("CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
    );
    src.sql(db, SCHEMA);
    dst.sql(
        "mysql",
        &format!("CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
    );
    let s = secrets(&certs, &src.user, &src.password);
    let conn = |port: u16, ca: Option<&str>, client_cert: bool| {
        connection(
            &binding(
                "mariadb",
                &format!("mysql://127.0.0.1:{port}/{db}"),
                &certs,
                ca,
                true,
                client_cert,
            ),
            "demo",
            &s,
        )
        .unwrap()
    };
    let r = fresh_repo().await;

    // Without a client certificate the server refuses the login: the certificate from
    // spec.tlsSecret is what gets us in below.
    let e = backup(
        &Mysql::new(
            conn(src.port, Some("ca.crt"), false),
            MysqlOptions::default(),
        ),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, AddonError::Auth { .. }), "{}", err_text(&e));
    let t = Instant::now();
    let e = backup(
        &Mysql::new(
            conn(src.port, Some("other-ca.crt"), true),
            MysqlOptions::default(),
        ),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap_err();
    assert_wrong_ca_error(&e, t);
    assert!(r.restic_snapshots().is_empty());

    let opts = MysqlOptions {
        flavor: Flavor::MariaDb,
        args: Some(vec![
            db.into(),
            "--routines".into(),
            "--triggers".into(),
            "--events".into(),
        ]),
        ..Default::default()
    };
    let out = backup(
        &Mysql::new(conn(src.port, Some("ca.crt"), true), opts),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    r.assert_restic_agrees(
        &out.snapshot.id.to_hex(),
        "/dumpfile.sql",
        "host-0",
        &out.stream.sha256,
        out.stream.bytes,
    );
    restore(
        &Mysql::new(
            conn(dst.port, Some("ca.crt"), true),
            MysqlOptions::default(),
        ),
        &r.restore_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    let (a, b) = (
        fingerprint_with(&|d, q| src.sql(d, q), db),
        fingerprint_with(&|d, q| dst.sql(d, q), db),
    );
    assert!(
        a.iter()
            .any(|t| t.contains("order_lines: checksum=") && t.contains("rows=24000")),
        "{a:?}"
    );
    assert_eq!(a, b);
}

/// A server certificate that names only `db.stash.test` while clients dial 127.0.0.1 (a
/// Service IP, a port-forward): verification by name fails and says to set `serverName`;
/// with `serverName` it passes (libpq gets it as host, the address as hostaddr; Redis as the
/// TLS name); `sslmode=verify-ca` checks the chain only, in pg_dump and in our own probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_server_name_and_verify_ca() {
    let certs = TestCerts::generate_with_san("DNS:db.stash.test");
    let a = PgCluster::start_tls("tls-name", Some("pw"), &certs);
    a.pg().psql("postgres", "CREATE DATABASE app");
    a.pg().psql("app", "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 1000) i");
    let s = secrets(&certs, "postgres", "pw");
    let pg = |db: &str, mode: &str, server_name: bool| {
        let mut y = binding(
            "postgres",
            &format!("postgres://127.0.0.1:{}/{db}?sslmode={mode}", a.port),
            &certs,
            Some("ca.crt"),
            true,
            true,
        );
        if server_name {
            y = y.replace(
                "    caBundle:",
                "    serverName: db.stash.test\n    caBundle:",
            );
        }
        Postgres::new(
            connection(&y, "demo", &s).unwrap(),
            PostgresOptions {
                backup_cmd: BackupCmd::PgDump,
                ..Default::default()
            },
        )
    };
    let r = fresh_repo().await;
    let t = Instant::now();
    let e = backup(
        &pg("app", "verify-full", false),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(15) && matches!(e, AddonError::Tls { .. }),
        "{}",
        err_text(&e)
    );
    assert!(
        err_text(&e).contains("spec.clientConfig.serverName"),
        "{}",
        err_text(&e)
    );
    assert!(r.restic_snapshots().is_empty());

    backup(
        &pg("app", "verify-full", true),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    a.pg().psql("postgres", "CREATE DATABASE copy");
    restore(
        &pg("copy", "verify-full", true),
        &r.restore_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    assert_same_text(&a.pg().pg_dump("app"), &a.pg().pg_dump("copy"));
    backup(
        &pg("app", "verify-ca", false),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    assert_eq!(r.restic_snapshots().len(), 2);

    let redis = RedisServer::start_tls("tls-name", &certs, "optional");
    let prefix = unique("stash_it_redis_name");
    load(redis.port, &prefix).await;
    let s = certs.client_secret("client-tls");
    let addon = |server_name: bool| {
        let mut y = binding(
            "redis",
            &format!("rediss://127.0.0.1:{}", redis.tls_port.unwrap()),
            &certs,
            Some("ca.crt"),
            false,
            false,
        );
        if server_name {
            y = y.replace(
                "    caBundle:",
                "    serverName: db.stash.test\n    caBundle:",
            );
        }
        Redis::new(
            connection(&y, "demo", &s).unwrap(),
            RedisOptions {
                dbs: vec![SRC_DB],
                ..Default::default()
            },
        )
    };
    let r = fresh_repo().await;
    let e = backup(&addon(false), &r.backup_req(), &Ctx::new(), progress())
        .await
        .unwrap_err();
    assert!(
        matches!(e, AddonError::Tls { .. }) && err_text(&e).contains("serverName"),
        "{}",
        err_text(&e)
    );
    let out = backup(&addon(true), &r.backup_req(), &Ctx::new(), progress())
        .await
        .unwrap();
    assert_eq!(
        out.report.get("keys"),
        snapshot_keys(redis.port, SRC_DB, &format!("{prefix}:*"))
            .await
            .len() as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_tls_round_trip_through_a_tls_front() {
    let certs = TestCerts::generate();
    let front = TlsFront::start(&certs, mongo_port());
    let judge = mongo_judge().await; // plaintext, straight to the server
    let (src, dst) = (
        unique("stash_it_mongo_tls_src"),
        unique("stash_it_mongo_tls_dst"),
    );
    mongo_load(&judge.database(&src)).await;
    let s = certs.client_secret("client-tls");
    let url = format!("mongodb://127.0.0.1:{}", front.port);
    let tls = |ca: &str, client_cert: bool| {
        connection(
            &binding("mongodb", &url, &certs, Some(ca), false, client_cert),
            "demo",
            &s,
        )
        .unwrap()
    };
    let opts = |db: &str, restore: bool| {
        let mut a = vec!["--db".to_string(), db.to_string()];
        if restore {
            a.push("--drop".into());
        }
        MongoOptions::from_args(&a, restore).unwrap()
    };
    let r = fresh_repo().await;

    let t = Instant::now();
    let e = backup(
        &Mongo::new(tls("other-ca.crt", true), opts(&src, false)),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap_err();
    assert_wrong_ca_error(&e, t);
    // The front requires a client certificate: without spec.tlsSecret the handshake is refused
    // at once, and the message says where the certificate comes from.
    let t = Instant::now();
    let e = backup(
        &Mongo::new(tls("ca.crt", false), opts(&src, false)),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(15) && matches!(e, AddonError::Tls { .. }),
        "{}",
        err_text(&e)
    );
    assert!(err_text(&e).contains("spec.tlsSecret"), "{}", err_text(&e));
    // The driver cannot verify against another name than the host it dials: refused, named.
    let mut renamed = tls("ca.crt", true);
    renamed.tls.as_mut().unwrap().server_name = Some("db.stash.test".into());
    let e = backup(
        &Mongo::new(renamed, opts(&src, false)),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, AddonError::Invalid(_)) && err_text(&e).contains("serverName"),
        "{}",
        err_text(&e)
    );
    assert!(r.restic_snapshots().is_empty());

    let out = backup(
        &Mongo::new(tls("ca.crt", true), opts(&src, false)),
        &r.backup_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    assert_eq!(out.report.get("documents"), 4502);
    r.assert_restic_agrees(
        &out.snapshot.id.to_hex(),
        "/dump",
        "host-0",
        &out.stream.sha256,
        out.stream.bytes,
    );
    let res = restore(
        &Mongo::new(tls("ca.crt", true), opts(&dst, true)),
        &r.restore_req(),
        &Ctx::new(),
        progress(),
    )
    .await
    .unwrap();
    assert_eq!(res.stream.sha256, out.stream.sha256);
    let (a, b) = (
        mongo_fingerprint(&judge.database(&src)).await,
        mongo_fingerprint(&judge.database(&dst)).await,
    );
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
    judge.database(&src).drop().await.unwrap();
    judge.database(&dst).drop().await.unwrap();
}
