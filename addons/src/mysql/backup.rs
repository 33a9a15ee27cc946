//! `mariadb-dump`/`mysqldump` with the user's args (default `--all-databases`), one stream.
//! `multiDumpArgs` runs several dumps back to back into the same stream, as Stash chains them
//! with `&&`: the first failure fails the whole backup.
use crate::addon::{Ctx, Report, Sink};
use crate::connection::SecretDir;
use crate::error::{AddonError, Result};

use super::Mysql;

const LOCKING: &[&str] = &[
    "--single-transaction",
    "--skip-single-transaction",
    "--lock-all-tables",
    "-x",
    "--lock-tables",
    "-l",
];

pub(super) async fn backup(m: &Mysql, ctx: &Ctx, sink: Sink<'_>) -> Result<Report> {
    let secrets =
        SecretDir::new().map_err(|e| AddonError::io("creating a private temp folder", e))?;
    let base = m
        .opts
        .args
        .clone()
        .unwrap_or_else(|| m.opts.flavor.default_args());
    let runs: Vec<Vec<String>> = if m.opts.multi_dump_args.is_empty() {
        vec![base]
    } else {
        m.opts.multi_dump_args.clone()
    };
    let mut report = Report::default();
    for args in runs {
        let mut t = m.tool(m.opts.flavor.dump_tool(), &secrets)?;
        if m.opts.single_transaction && !args.iter().any(|a| LOCKING.contains(&a.as_str())) {
            t.cmd.arg("--single-transaction");
        }
        t.cmd.args(&args);
        let n = t.stdout_into(sink).await?;
        report.count("bytes", n);
        report.count("dumps", 1);
        ctx.add_items(1);
    }
    Ok(report)
}
