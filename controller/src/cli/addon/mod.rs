//! `stash addon <postgres|mysql|mariadb|mongodb|redis|volume> <backup|restore>`: the commands
//! the catalog's Functions run (`catalog/*.yaml`), taking exactly the flags they pass, and the
//! way to run a database backup by hand.
//!
//! A step resolves its objects through an [`stash::store::ObjectStore`] — the AppBinding named
//! by `--appbinding`, the Secrets it names, the storage Secret named by
//! `--storage-secret-name` — from local mode's manifests (`--manifests DIR`). The repository
//! comes from Stash's repository flags (or restic's `-r`), the dump goes through the addon,
//! the retention flags are applied after a backup, and `--output-dir` receives Stash's
//! `output.json`. Credentials never go on a command line or into logs.
//!
//! Files: [`flags`] (the catalog's flags), [`objects`] (where objects come from), [`repo`]
//! (repository flags → repository), [`db`] and [`volume`] (the steps), [`retention`],
//! [`report`] (output.json and exit status), [`scratch`].
mod db;
pub(crate) mod flags;
mod objects;
mod repo;
pub(crate) mod report;
mod retention;
mod scratch;
pub(crate) mod volume;

use anyhow::bail;
use clap::{Args, Subcommand};
use stash_addons::mongodb::{Mongo, MongoOptions};
use stash_addons::mysql::{Flavor, Mysql, MysqlOptions};
use stash_addons::postgres::{BackupCmd, PgMode, Postgres, PostgresOptions};
use stash_addons::redis::{Redis, RedisOptions};
use stash_addons::{process::split_args, Addon, DbConnection};

use self::flags::{nonempty, BackupFlags, DbFlags, RestoreFlags};
use super::GlobalArgs;

#[derive(Subcommand, Debug)]
pub enum AddonCmd {
    /// PostgreSQL: pg_dumpall/pg_dump and psql (Stash mode), or parallel COPY (native mode)
    #[command(subcommand)]
    Postgres(PostgresCmd),
    /// MySQL: mysqldump and mysql
    #[command(subcommand)]
    Mysql(MysqlCmd),
    /// MariaDB: mariadb-dump and mariadb
    #[command(subcommand)]
    Mariadb(MysqlCmd),
    /// MongoDB (standalone servers)
    #[command(subcommand)]
    Mongodb(MongoCmd),
    /// Redis
    #[command(subcommand)]
    Redis(RedisCmd),
    /// Folders, e.g. a mounted PersistentVolumeClaim
    #[command(subcommand)]
    Volume(volume::VolumeCmd),
}

/// `--snapshot` of database restores (RESTORE_SNAPSHOTS; empty: the latest).
#[derive(Args, Debug, Clone)]
pub struct SnapshotFlag {
    /// Snapshot id (or prefix) to restore; empty or "latest": the newest of --source-hostname
    #[arg(long, default_value = "", hide_default_value = true)]
    pub snapshot: String,
}

/// PostgreSQL options beyond Stash's.
#[derive(Args, Debug, Clone)]
pub struct PgFlags {
    /// `stash` (pg_dumpall/pg_dump, as Stash) or `native` (parallel COPY)
    #[arg(long, default_value = "stash")]
    pub mode: String,
    /// Native mode: tables dumped or restored at once
    #[arg(long, default_value_t = 4)]
    pub max_concurrency: usize,
}

#[derive(Subcommand, Debug)]
pub enum PostgresCmd {
    /// Dump the database into a new snapshot
    Backup(PgBackupArgs),
    /// Restore the database from a snapshot
    Restore(PgRestoreArgs),
}

#[derive(Args, Debug)]
pub struct PgBackupArgs {
    #[command(flatten)]
    pub common: BackupFlags,
    #[command(flatten)]
    pub db: DbFlags,
    #[command(flatten)]
    pub pg: PgFlags,
    /// pg_dumpall or pg_dump (Stash's backupCMD)
    #[arg(long, default_value = "pg_dumpall")]
    pub backup_cmd: String,
}

#[derive(Args, Debug)]
pub struct PgRestoreArgs {
    #[command(flatten)]
    pub common: RestoreFlags,
    #[command(flatten)]
    pub db: DbFlags,
    #[command(flatten)]
    pub pg: PgFlags,
    #[command(flatten)]
    pub snapshot: SnapshotFlag,
}

#[derive(Subcommand, Debug)]
pub enum MysqlCmd {
    /// Dump the databases into a new snapshot
    Backup(MysqlBackupArgs),
    /// Restore the databases from a snapshot
    Restore(MysqlRestoreArgs),
}

#[derive(Args, Debug)]
pub struct MysqlBackupArgs {
    #[command(flatten)]
    pub common: BackupFlags,
    #[command(flatten)]
    pub db: DbFlags,
    /// Several dumps into one stream: `$args=<args of dump 1> $args=<args of dump 2> …`
    /// (each part is a dump's whole argument list; --args is not added to them)
    #[arg(
        long,
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub multi_dump_args: String,
}

#[derive(Args, Debug)]
pub struct MysqlRestoreArgs {
    #[command(flatten)]
    pub common: RestoreFlags,
    #[command(flatten)]
    pub db: DbFlags,
    #[command(flatten)]
    pub snapshot: SnapshotFlag,
}

/// MongoDB options of Stash's Functions.
#[derive(Args, Debug, Clone)]
pub struct MongoFlags {
    /// Database holding the user's credentials (Stash: admin)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub authentication_database: String,
    /// Hosts dumped at once (replica sets/shards; accepted, standalone servers have one)
    #[arg(long, default_value = "3")]
    pub max_concurrency: String,
}

#[derive(Subcommand, Debug)]
pub enum MongoCmd {
    /// Dump the databases into a new snapshot
    Backup(MongoBackupArgs),
    /// Restore the databases from a snapshot
    Restore(MongoRestoreArgs),
}

#[derive(Args, Debug)]
pub struct MongoBackupArgs {
    #[command(flatten)]
    pub common: BackupFlags,
    #[command(flatten)]
    pub db: DbFlags,
    #[command(flatten)]
    pub mongo: MongoFlags,
}

#[derive(Args, Debug)]
pub struct MongoRestoreArgs {
    #[command(flatten)]
    pub common: RestoreFlags,
    #[command(flatten)]
    pub db: DbFlags,
    #[command(flatten)]
    pub mongo: MongoFlags,
    #[command(flatten)]
    pub snapshot: SnapshotFlag,
}

#[derive(Subcommand, Debug)]
pub enum RedisCmd {
    /// Dump the keys into a new snapshot
    Backup(RedisBackupArgs),
    /// Restore the keys from a snapshot
    Restore(RedisRestoreArgs),
}

#[derive(Args, Debug)]
pub struct RedisBackupArgs {
    #[command(flatten)]
    pub common: BackupFlags,
    #[command(flatten)]
    pub db: DbFlags,
}

#[derive(Args, Debug)]
pub struct RedisRestoreArgs {
    #[command(flatten)]
    pub common: RestoreFlags,
    #[command(flatten)]
    pub db: DbFlags,
    #[command(flatten)]
    pub snapshot: SnapshotFlag,
}

fn postgres(
    mut conn: DbConnection,
    db: &DbFlags,
    pg: &PgFlags,
    backup_cmd: Option<&str>,
) -> anyhow::Result<Box<dyn Addon>> {
    // Stash: with a client certificate the login user is --user, else postgres.
    let has_cert = conn
        .tls
        .as_ref()
        .is_some_and(|t| t.client_cert_pem.is_some());
    if conn.user.is_none() && has_cert {
        conn.user = Some("postgres".into());
    }
    let mode = match pg.mode.as_str() {
        "stash" => PgMode::Stash,
        "native" => PgMode::Native,
        m => bail!("invalid --mode {m:?}: use stash or native"),
    };
    let backup_cmd = match backup_cmd.and_then(nonempty).unwrap_or("pg_dumpall") {
        "pg_dumpall" => BackupCmd::PgDumpall,
        "pg_dump" => BackupCmd::PgDump,
        c => bail!("invalid --backup-cmd {c:?} (the backupCMD param): use pg_dumpall or pg_dump"),
    };
    let args = split_args(&db.args)?;
    let opts = PostgresOptions {
        mode,
        backup_cmd,
        args,
        jobs: pg.max_concurrency.max(1),
        ..Default::default()
    };
    Ok(Box::new(Postgres::new(conn, opts)))
}

/// `$args=a b $args=c d` → `[[a, b], [c, d]]`.
fn multi_dump_args(s: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let mut runs = Vec::new();
    for (i, part) in s.split("$args=").enumerate() {
        if i == 0 {
            if nonempty(part).is_some() {
                bail!(
                    "--multi-dump-args (the multiDumpArgs param) must start with $args=, got {s:?}"
                );
            }
            continue;
        }
        runs.push(split_args(part)?);
    }
    Ok(runs)
}

fn mysql(
    conn: DbConnection,
    flavor: Flavor,
    db: &DbFlags,
    multi: &str,
) -> anyhow::Result<Box<dyn Addon>> {
    let args = split_args(&db.args)?;
    let opts = MysqlOptions {
        flavor,
        args: (!args.is_empty()).then_some(args),
        multi_dump_args: multi_dump_args(multi)?,
        ..Default::default()
    };
    Ok(Box::new(Mysql::new(conn, opts)))
}

fn mongo(
    conn: DbConnection,
    db: &DbFlags,
    m: &MongoFlags,
    restore: bool,
) -> anyhow::Result<Box<dyn Addon>> {
    let args = split_args(&db.args)?;
    let mut opts = MongoOptions::from_args(&args, restore)?;
    let in_args = args
        .iter()
        .any(|a| a.starts_with("--authenticationDatabase"));
    if let (Some(auth), false) = (nonempty(&m.authentication_database), in_args) {
        opts.auth_db = auth.to_string();
    }
    Ok(Box::new(Mongo::new(conn, opts)))
}

fn redis(conn: DbConnection, db: &DbFlags) -> anyhow::Result<Box<dyn Addon>> {
    Ok(Box::new(Redis::new(
        conn,
        RedisOptions::from_args(&split_args(&db.args)?)?,
    )))
}

pub async fn run(g: &GlobalArgs, cmd: AddonCmd) -> anyhow::Result<()> {
    match cmd {
        AddonCmd::Postgres(PostgresCmd::Backup(a)) => {
            db::backup(g, "PostgreSQL", &a.common, &a.db, |c| {
                postgres(c, &a.db, &a.pg, Some(a.backup_cmd.as_str()))
            })
            .await
        }
        AddonCmd::Postgres(PostgresCmd::Restore(a)) => {
            db::restore(
                g,
                "PostgreSQL",
                &a.common,
                &a.db,
                &a.snapshot.snapshot,
                |c| postgres(c, &a.db, &a.pg, None),
            )
            .await
        }
        AddonCmd::Mysql(cmd) => mysql_cmd(g, "MySQL", Flavor::MySql, cmd).await,
        AddonCmd::Mariadb(cmd) => mysql_cmd(g, "MariaDB", Flavor::MariaDb, cmd).await,
        AddonCmd::Mongodb(MongoCmd::Backup(a)) => {
            db::backup(g, "MongoDB", &a.common, &a.db, |c| {
                mongo(c, &a.db, &a.mongo, false)
            })
            .await
        }
        AddonCmd::Mongodb(MongoCmd::Restore(a)) => {
            db::restore(g, "MongoDB", &a.common, &a.db, &a.snapshot.snapshot, |c| {
                mongo(c, &a.db, &a.mongo, true)
            })
            .await
        }
        AddonCmd::Redis(RedisCmd::Backup(a)) => {
            db::backup(g, "Redis", &a.common, &a.db, |c| redis(c, &a.db)).await
        }
        AddonCmd::Redis(RedisCmd::Restore(a)) => {
            db::restore(g, "Redis", &a.common, &a.db, &a.snapshot.snapshot, |c| {
                redis(c, &a.db)
            })
            .await
        }
        AddonCmd::Volume(cmd) => volume::run(g, cmd).await,
    }
}

async fn mysql_cmd(
    g: &GlobalArgs,
    what: &str,
    flavor: Flavor,
    cmd: MysqlCmd,
) -> anyhow::Result<()> {
    match cmd {
        MysqlCmd::Backup(a) => {
            db::backup(g, what, &a.common, &a.db, |c| {
                mysql(c, flavor, &a.db, &a.multi_dump_args)
            })
            .await
        }
        MysqlCmd::Restore(a) => {
            db::restore(g, what, &a.common, &a.db, &a.snapshot.snapshot, |c| {
                mysql(c, flavor, &a.db, "")
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_dump_args_split_like_stashs() {
        let runs = multi_dump_args(
            "$args=--no-data --databases a  $args=--no-create-info --databases 'b c'",
        )
        .unwrap();
        assert_eq!(
            runs,
            vec![
                vec!["--no-data", "--databases", "a"],
                vec!["--no-create-info", "--databases", "b c"]
            ]
        );
        assert!(multi_dump_args("").unwrap().is_empty());
        assert!(multi_dump_args("--databases a")
            .unwrap_err()
            .to_string()
            .contains("must start with $args="));
    }
}
