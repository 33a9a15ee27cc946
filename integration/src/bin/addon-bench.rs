//! Drives a PostgreSQL addon backup or restore through the library, for
//! `benches/bench-postgres.sh` (the `stash addon …` CLI is wired elsewhere).
//!
//!   addon-bench backup|restore REPO stash|native PORT DB [JOBS]
//!
//! REPO must exist (restic-format v2); RESTIC_PASSWORD holds its password. Backup dumps with
//! pg_dumpall (stash mode, DB ignored) or natively from DB; restore loads into DB (stash mode:
//! the cluster on PORT). Prints one JSON line of figures.
use std::sync::Arc;
use std::time::Duration;

use stash::engine::archiver::Progress;
use stash::engine::{RepoOptions, Repository};
use stash::storage::{open_location, Location};
use stash_addons::postgres::{PgMode, Postgres, PostgresOptions};
use stash_addons::{backup, restore, BackupRequest, Ctx, DbConnection, RestoreRequest};

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        eprintln!("usage: addon-bench backup|restore REPO stash|native PORT DB [JOBS]");
        std::process::exit(2);
    }
    let password = std::env::var("RESTIC_PASSWORD").expect("RESTIC_PASSWORD");
    let b = open_location(&Location::Local(a[2].clone().into())).unwrap();
    let repo = Arc::new(
        Repository::open(b, &password, RepoOptions::default())
            .await
            .unwrap(),
    );
    let mode = if a[3] == "native" {
        PgMode::Native
    } else {
        PgMode::Stash
    };
    let mut conn = DbConnection::new("127.0.0.1", a[4].parse().unwrap());
    conn.user = Some("postgres".into());
    if mode == PgMode::Native || a[1] == "restore" {
        conn.database = Some(a[5].clone());
    }
    let jobs = a.get(6).map(|j| j.parse().unwrap()).unwrap_or(4);
    let addon = Postgres::new(
        conn,
        PostgresOptions {
            mode,
            jobs,
            ..Default::default()
        },
    );
    let ctx = Ctx::new();
    let progress = Arc::new(Progress::default());
    let res = match a[1].as_str() {
        "backup" => {
            let req = BackupRequest {
                wait_timeout: Duration::from_secs(30),
                ..BackupRequest::new(repo)
            };
            backup(&addon, &req, &ctx, progress.clone()).await.map(|o| {
                serde_json::json!({"snapshot": o.snapshot.id.to_hex(), "stream_bytes": o.stream.bytes, "seconds": o.duration.as_secs_f64(),
                    "stored_bytes": Progress::get(&progress.bytes_stored), "report": o.report})
            })
        }
        "restore" => {
            let req = RestoreRequest {
                wait_timeout: Duration::from_secs(30),
                ..RestoreRequest::latest(repo)
            };
            restore(&addon, &req, &ctx, progress).await.map(|o| {
                serde_json::json!({"snapshot": o.snapshot.id.to_hex(), "stream_bytes": o.stream.bytes, "seconds": o.duration.as_secs_f64(), "report": o.report})
            })
        }
        other => {
            eprintln!("unknown command {other}");
            std::process::exit(2);
        }
    };
    match res {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("addon-bench: {}", stash_addons::chain(&e));
            std::process::exit(1);
        }
    }
}
