//! The SQL stream into the `mariadb`/`mysql` client, which stops at the first error.
use crate::addon::{Ctx, Report, Source};
use crate::connection::SecretDir;
use crate::error::{AddonError, Result};

use super::Mysql;

pub(super) async fn restore(m: &Mysql, _ctx: &Ctx, source: Source<'_>) -> Result<Report> {
    let secrets =
        SecretDir::new().map_err(|e| AddonError::io("creating a private temp folder", e))?;
    let mut t = m.tool(m.opts.flavor.client_tool(), &secrets)?;
    if let Some(db) = &m.conn.database {
        t.cmd.arg(format!("--database={db}"));
    }
    t.cmd.args(m.opts.args.clone().unwrap_or_default());
    let n = t.stdin_from(source, None).await?;
    let mut r = Report::default();
    r.count("bytes", n);
    Ok(r)
}
