//! `stash addon <database> backup|restore`: the entry point the catalog's Functions call and
//! the way to run a database backup by hand.
//!
//! The database is given as an AppBinding manifest plus the Secret(s) it names (`--appbinding`,
//! `--secret`, resolved exactly as in a cluster), or directly with `--host/--port/--user` and
//! the password in `DB_PASSWORD`. Credentials never go on a command line or into logs.
//! (In a cluster the controller resolves the AppBinding and Secret through the API server.)
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use stash::api::appbinding::AppBinding;
use stash::api::resolve::appbinding::{resolve_appbinding, SecretData};
use stash::engine::archiver::Progress;
use stash_addons::mongodb::{Mongo, MongoOptions};
use stash_addons::mysql::{Flavor, Mysql, MysqlOptions};
use stash_addons::postgres::{BackupCmd, PgMode, Postgres, PostgresOptions};
use stash_addons::redis::{Redis, RedisOptions};
use stash_addons::{process::split_args, Addon, BackupRequest, Ctx, DbConnection, RestoreRequest};

use super::GlobalArgs;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Database {
    Postgres,
    Mysql,
    Mariadb,
    Mongodb,
    Redis,
}

#[derive(Subcommand, Debug)]
pub enum AddonCmd {
    /// Dump the database into a new snapshot
    Backup(BackupArgs),
    /// Restore the database from a snapshot
    Restore(RestoreArgs),
}

#[derive(Args, Debug)]
pub struct AddonArgs {
    #[arg(value_enum)]
    pub database: Database,
    #[command(subcommand)]
    pub cmd: AddonCmd,
}

#[derive(Args, Debug)]
pub struct ConnArgs {
    /// AppBinding manifest (YAML) describing the database
    #[arg(long)]
    pub appbinding: Option<PathBuf>,
    /// Secret manifest(s) (YAML) the AppBinding refers to
    #[arg(long = "secret")]
    pub secrets: Vec<PathBuf>,
    /// Database host (instead of --appbinding)
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    /// Database user; the password is read from DB_PASSWORD
    #[arg(long)]
    pub user: Option<String>,
    /// Extra arguments for the dump/restore tool (Stash's `args`)
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub args: String,
    /// How long to wait for the database to accept connections
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub wait_timeout: Duration,
    /// PostgreSQL: pg_dumpall or pg_dump (Stash's `backupCMD`)
    #[arg(long, default_value = "pg_dumpall")]
    pub backup_cmd: String,
    /// PostgreSQL: `stash` (pg_dumpall/pg_dump, as Stash) or `native` (parallel COPY)
    #[arg(long, default_value = "stash")]
    pub mode: String,
    /// Native mode: tables dumped or restored at once
    #[arg(long, default_value_t = 4)]
    pub max_concurrency: usize,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Snapshot host (Stash: host-0, or the target's alias)
    #[arg(long, default_value = "host-0")]
    pub hostname: String,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Snapshot id or "latest"
    #[arg(long, default_value = "latest")]
    pub snapshot: String,
    /// Host whose latest snapshot is restored
    #[arg(long, default_value = "host-0")]
    pub source_hostname: String,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("invalid duration {s:?}: use e.g. 30s, 5m"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("invalid duration {s:?}: use s, m or h")),
    }
}

/// A Kubernetes Secret manifest: `data` (base64) and `stringData`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretManifest {
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    #[serde(default)]
    data: BTreeMap<String, k8s_openapi::ByteString>,
    #[serde(default)]
    string_data: BTreeMap<String, String>,
}

fn connection(a: &ConnArgs) -> anyhow::Result<DbConnection> {
    if let Some(path) = &a.appbinding {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let ab: AppBinding =
            serde_saphyr::from_str(&text).with_context(|| format!("{}: not an AppBinding manifest", path.display()))?;
        let mut secrets: BTreeMap<String, SecretData> = BTreeMap::new();
        for s in &a.secrets {
            let text = std::fs::read_to_string(s).with_context(|| format!("reading {}", s.display()))?;
            let m: SecretManifest =
                serde_saphyr::from_str(&text).with_context(|| format!("{}: not a Secret manifest", s.display()))?;
            let mut data: SecretData = m.data.into_iter().map(|(k, v)| (k, v.0)).collect();
            data.extend(m.string_data.into_iter().map(|(k, v)| (k, v.into_bytes())));
            secrets.insert(m.metadata.name.unwrap_or_default(), data);
        }
        let c = resolve_appbinding(&ab, &secrets).map_err(|e| anyhow::anyhow!("AppBinding {}: {e}", path.display()))?;
        return DbConnection::from_appbinding(&c).map_err(|e| anyhow::anyhow!("AppBinding {}: {e}", path.display()));
    }
    let Some(host) = &a.host else {
        bail!("say where the database is: --appbinding FILE [--secret FILE], or --host [--port] [--user] with DB_PASSWORD");
    };
    Ok(DbConnection {
        host: host.clone(),
        port: a.port,
        user: a.user.clone(),
        password: std::env::var("DB_PASSWORD").ok(),
        ..Default::default()
    })
}

fn build(db: Database, a: &ConnArgs, restore: bool) -> anyhow::Result<Box<dyn Addon>> {
    let conn = connection(a)?;
    let args = split_args(&a.args)?;
    Ok(match db {
        Database::Postgres => {
            let mode = match a.mode.as_str() {
                "stash" => PgMode::Stash,
                "native" => PgMode::Native,
                m => bail!("invalid --mode {m:?}: use stash or native"),
            };
            let backup_cmd = match a.backup_cmd.as_str() {
                "pg_dumpall" => BackupCmd::PgDumpall,
                "pg_dump" => BackupCmd::PgDump,
                c => bail!("invalid --backup-cmd {c:?}: use pg_dumpall or pg_dump"),
            };
            let opts = PostgresOptions { mode, backup_cmd, args, jobs: a.max_concurrency.max(1), ..Default::default() };
            Box::new(Postgres::new(conn, opts))
        }
        Database::Mysql | Database::Mariadb => {
            let flavor = if matches!(db, Database::Mysql) { Flavor::MySql } else { Flavor::MariaDb };
            let opts = MysqlOptions { flavor, args: (!args.is_empty()).then_some(args), ..Default::default() };
            Box::new(Mysql::new(conn, opts))
        }
        Database::Mongodb => Box::new(Mongo::new(conn, MongoOptions::from_args(&args, restore)?)),
        Database::Redis => Box::new(Redis::new(conn, RedisOptions::from_args(&args)?)),
    })
}

pub async fn run(g: &GlobalArgs, a: AddonArgs) -> anyhow::Result<()> {
    let repo = g.open().await?;
    let ctx = Ctx::new();
    let progress = Arc::new(Progress::default());
    let ticker = super::progress::Ticker::start(progress.clone(), g.show_progress(), "dumped");
    let res = match &a.cmd {
        AddonCmd::Backup(b) => {
            let addon = build(a.database, &b.conn, false)?;
            let mut req = BackupRequest::new(repo);
            req.snapshot.host = b.hostname.clone();
            req.wait_timeout = b.conn.wait_timeout;
            stash_addons::backup(addon.as_ref(), &req, &ctx, progress.clone()).await.map(|o| {
                serde_json::json!({
                    "message_type": "summary", "snapshot_id": o.snapshot.id.to_hex(),
                    "hostname": o.snapshot.snapshot.hostname, "paths": o.snapshot.snapshot.paths,
                    "total_bytes_processed": o.stats.bytes_read, "data_added": o.stats.bytes_stored,
                    "duration_seconds": o.duration.as_secs_f64(),
                })
            })
        }
        AddonCmd::Restore(r) => {
            let addon = build(a.database, &r.conn, true)?;
            let mut req = RestoreRequest::latest(repo);
            req.snapshot = r.snapshot.clone();
            req.source_host = r.source_hostname.clone();
            req.wait_timeout = r.conn.wait_timeout;
            stash_addons::restore(addon.as_ref(), &req, &ctx, progress.clone()).await.map(|o| {
                serde_json::json!({
                    "message_type": "summary", "snapshot_id": o.snapshot.id.to_hex(),
                    "duration_seconds": o.duration.as_secs_f64(),
                })
            })
        }
    };
    ticker.stop();
    let summary = res.map_err(|e| anyhow::anyhow!(stash_addons::chain(&e)))?;
    if g.json {
        println!("{summary}");
    } else if !g.quiet {
        let verb = match a.cmd {
            AddonCmd::Backup(_) => "backed up into",
            AddonCmd::Restore(_) => "restored from",
        };
        let id = summary["snapshot_id"].as_str().unwrap_or_default();
        let secs = summary["duration_seconds"].as_f64().unwrap_or_default();
        println!("{:?} {verb} snapshot {} in {secs:.1}s", a.database, id.get(..8).unwrap_or(id));
    }
    Ok(())
}
