//! Stash-mode backup: `pg_dumpall`/`pg_dump <args>` streamed as one SQL file.
use crate::addon::{Ctx, Report, Sink};
use crate::connection::SecretDir;
use crate::error::{AddonError, Result};

use super::{BackupCmd, Postgres};

pub(super) async fn backup(pg: &Postgres, _ctx: &Ctx, sink: Sink<'_>) -> Result<Report> {
    let secrets =
        SecretDir::new().map_err(|e| AddonError::io("creating a private temp folder", e))?;
    let cmd = pg.opts.backup_cmd;
    let mut t = pg.tool(cmd.program(), &secrets)?;
    let names_db = pg.opts.args.iter().any(|a| {
        a.starts_with("--dbname") || a == "-d" || a.starts_with("-l") || a.starts_with("--database")
    });
    if let (Some(db), false) = (&pg.conn.database, names_db) {
        match cmd {
            BackupCmd::PgDump => t.cmd.arg(format!("--dbname={db}")),
            BackupCmd::PgDumpall => t.cmd.arg(format!("--database={db}")),
        };
    }
    t.cmd.args(&pg.opts.args);
    let bytes = t.stdout_into(sink).await?;
    let mut r = Report::default();
    r.count("bytes", bytes);
    Ok(r)
}
