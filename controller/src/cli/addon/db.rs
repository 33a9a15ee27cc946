//! Database steps: the AppBinding (or `--host`) → a connection → an addon, streamed into or out
//! of the repository by `stash_addons::run`, reported as Stash's steps report.
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use stash::api::backup_session::FileStats;
use stash::engine::archiver::Progress;
use stash::store::app_connection;
use stash_addons::{Addon, BackupRequest, Ctx, DbConnection, RestoreRequest};

use super::flags::{nonempty, BackupFlags, DbFlags, RestoreFlags, SourceFlags};
use super::objects::Objects;
use super::report::{appbinding_ref, BackupReport, RestoreReport};
use super::{repo, retention, scratch};
use crate::cli::progress::Ticker;
use crate::cli::GlobalArgs;

/// The database to connect to, and the AppBinding's TargetRef when there is one.
pub async fn connection(
    db: &DbFlags,
    source: &SourceFlags,
    objects: &Objects,
) -> anyhow::Result<(DbConnection, Option<stash::api::TargetRef>)> {
    let (mut conn, target) = if let Some(name) = nonempty(&db.appbinding) {
        let ns = nonempty(&db.appbinding_namespace).unwrap_or(source.namespace());
        let store = objects.get("--appbinding")?;
        let (_, resolved) = app_connection(store, ns, name)
            .await
            .with_context(|| format!("looking up --appbinding={name} (namespace {ns})"))?;
        let conn = DbConnection::from_appbinding(&resolved).map_err(|e| anyhow::anyhow!("{e}"))?;
        (conn, Some(appbinding_ref(name, ns)))
    } else if let Some(host) = &db.host {
        let conn = DbConnection {
            host: host.clone(),
            port: db.port,
            password: std::env::var("DB_PASSWORD").ok(),
            ..Default::default()
        };
        (conn, None)
    } else {
        bail!(
            "say which database: --appbinding NAME (with --manifests DIR in local mode), or --host [--port] [--user] \
             with the password in DB_PASSWORD"
        );
    };
    if let Some(user) = nonempty(&db.user) {
        conn.user = Some(user.to_string());
    }
    Ok((conn, target))
}

/// Dump the database into a new snapshot, then apply the retention policy.
pub async fn backup(
    g: &GlobalArgs,
    what: &str,
    f: &BackupFlags,
    db: &DbFlags,
    make: impl FnOnce(DbConnection) -> anyhow::Result<Box<dyn Addon>>,
) -> anyhow::Result<()> {
    scratch::use_scratch_dir(&f.repo.scratch_dir);
    let mut report = BackupReport::new(&f.invoker);
    let res: anyhow::Result<()> = async {
        let objects = Objects::load(&f.source)?;
        let (conn, target) = connection(db, &f.source, &objects).await?;
        report.target = target;
        let addon = make(conn)?;
        let repo = repo::open(g, &f.repo, &f.source, &objects, true).await?;
        let mut req = BackupRequest::new(repo.clone());
        req.snapshot.host = report.host().to_string();
        req.wait_timeout = db.wait_timeout;
        let progress = Arc::new(Progress::default());
        let ticker = Ticker::start(progress.clone(), g.show_progress(), "dumped");
        let out = stash_addons::backup(addon.as_ref(), &req, &Ctx::new(), progress).await;
        ticker.stop();
        let out = out.map_err(|e| anyhow!(stash_addons::chain(&e)))?;
        // One file per snapshot: the dump.
        let files = FileStats {
            total_files: Some(1),
            new_files: Some(1),
            modified_files: Some(0),
            unmodified_files: Some(0),
        };
        report.snapshot(&out.snapshot, &out.stats, files, out.duration);
        report.repository = retention::apply_unless_controlled(&repo, &f.retention).await?;
        Ok(())
    }
    .await;
    report.finish(g, what, res)
}

/// Load the chosen snapshot's dump into the database.
pub async fn restore(
    g: &GlobalArgs,
    what: &str,
    f: &RestoreFlags,
    db: &DbFlags,
    snapshot: &str,
    make: impl FnOnce(DbConnection) -> anyhow::Result<Box<dyn Addon>>,
) -> anyhow::Result<()> {
    scratch::use_scratch_dir(&f.repo.scratch_dir);
    let mut report = RestoreReport::new(&f.invoker);
    let res: anyhow::Result<()> = async {
        let objects = Objects::load(&f.source)?;
        let (conn, target) = connection(db, &f.source, &objects).await?;
        report.target = target;
        let addon = make(conn)?;
        let repo = repo::open(g, &f.repo, &f.source, &objects, false).await?;
        let mut req = RestoreRequest::latest(repo);
        // RESTORE_SNAPSHOTS may list several; a database restores from the first (Stash too).
        if let Some(first) = super::flags::list(snapshot).first() {
            req.snapshot = first.clone();
        }
        req.source_host = f.source_host();
        req.wait_timeout = db.wait_timeout;
        let progress = Arc::new(Progress::default());
        let ticker = Ticker::start(progress.clone(), g.show_progress(), "restored");
        let out = stash_addons::restore(addon.as_ref(), &req, &Ctx::new(), progress).await;
        ticker.stop();
        let out = out.map_err(|e| anyhow!(stash_addons::chain(&e)))?;
        report.snapshot = Some(out.snapshot.id.to_hex());
        Ok(())
    }
    .await;
    report.finish(g, what, res)
}
