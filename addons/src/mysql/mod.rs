//! MySQL and MariaDB addon: Stash's `mysqldump`/`mariadb-dump … | restic backup --stdin` and
//! `restic dump | mysql`, with `--single-transaction` for a consistent InnoDB dump.
//!
//! Credentials and TLS files go into a `[client]` option file (mode 0600, private temp folder)
//! passed as `--defaults-extra-file`, so neither the password nor the user appear on a command
//! line (Stash passes `-u` and `MYSQL_PWD`).
use std::fmt::Write as _;
use std::path::PathBuf;

use async_trait::async_trait;

use crate::addon::{Addon, Capabilities, Ctx, ProbeInfo, Report, Sink, Source};
use crate::connection::{DbConnection, SecretDir};
use crate::error::{AddonError, Result};
use crate::process::Tool;

mod backup;
mod probe;
mod restore;

pub const DEFAULT_PORT: u16 = 3306;
pub const FILE_NAME: &str = "dumpfile.sql";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flavor {
    MySql,
    #[default]
    MariaDb,
}

impl Flavor {
    pub fn dump_tool(self) -> &'static str {
        match self {
            Flavor::MySql => "mysqldump",
            Flavor::MariaDb => "mariadb-dump",
        }
    }
    pub fn client_tool(self) -> &'static str {
        match self {
            Flavor::MySql => "mysql",
            Flavor::MariaDb => "mariadb",
        }
    }
    /// The catalog's default backup `args`.
    pub fn default_args(self) -> Vec<String> {
        match self {
            Flavor::MySql => vec!["--all-databases".into()],
            Flavor::MariaDb => vec!["--all-databases".into(), "--ignore-database=mysql".into()],
        }
    }
}

#[derive(Clone, Debug)]
pub struct MysqlOptions {
    pub flavor: Flavor,
    /// Backup: dump tool arguments (`None` = the catalog default for the flavor).
    /// Restore: client arguments.
    pub args: Option<Vec<String>>,
    /// Stash's `multiDumpArgs`: several dumps, one after the other, in one stream.
    pub multi_dump_args: Vec<Vec<String>>,
    /// Add `--single-transaction` unless the args choose a locking mode themselves.
    pub single_transaction: bool,
    pub bin_dir: Option<PathBuf>,
}

impl Default for MysqlOptions {
    fn default() -> Self {
        MysqlOptions {
            flavor: Flavor::MariaDb,
            args: None,
            multi_dump_args: vec![],
            single_transaction: true,
            bin_dir: None,
        }
    }
}

pub struct Mysql {
    pub conn: DbConnection,
    pub opts: MysqlOptions,
}

impl Mysql {
    pub fn new(conn: DbConnection, opts: MysqlOptions) -> Mysql {
        Mysql { conn, opts }
    }

    /// A tool whose first argument is our option file (the tools require it first).
    pub(crate) fn tool(&self, program: &str, secrets: &SecretDir) -> Result<Tool> {
        debug_assert!(
            crate::CLIENT_TOOLS.contains(&program),
            "{program} is not in CLIENT_TOOLS"
        );
        let path = match &self.opts.bin_dir {
            Some(d) => d.join(program).to_string_lossy().into_owned(),
            None => program.to_string(),
        };
        let io = |e| AddonError::io("writing the client option file", e);
        let mut cnf = String::from("[client]\n");
        let _ = writeln!(cnf, "host={}", quote(&self.conn.host));
        let _ = writeln!(cnf, "port={}", self.conn.port_or(DEFAULT_PORT));
        // TCP even for "localhost" (the tools would pick the socket otherwise).
        cnf.push_str("protocol=TCP\n");
        if let Some(u) = &self.conn.user {
            let _ = writeln!(cnf, "user={}", quote(u));
        }
        if let Some(p) = &self.conn.password {
            let _ = writeln!(cnf, "password={}", quote(p));
        }
        if let Some(tls) = &self.conn.tls {
            cnf.push_str("ssl\n");
            if let Some(ca) = &tls.ca_pem {
                let _ = writeln!(
                    cnf,
                    "ssl-ca={}",
                    quote(
                        &secrets
                            .write("ca.crt", ca.as_bytes())
                            .map_err(io)?
                            .to_string_lossy()
                    )
                );
            }
            if let (Some(c), Some(k)) = (&tls.client_cert_pem, &tls.client_key_pem) {
                let _ = writeln!(
                    cnf,
                    "ssl-cert={}",
                    quote(
                        &secrets
                            .write("tls.crt", c.as_bytes())
                            .map_err(io)?
                            .to_string_lossy()
                    )
                );
                let _ = writeln!(
                    cnf,
                    "ssl-key={}",
                    quote(
                        &secrets
                            .write("tls.key", k.as_bytes())
                            .map_err(io)?
                            .to_string_lossy()
                    )
                );
            }
            if !tls.insecure_skip_verify && tls.ca_pem.is_some() {
                cnf.push_str("ssl-verify-server-cert\n");
            }
        }
        let file = secrets.write("client.cnf", cnf.as_bytes()).map_err(io)?;
        let mut t = Tool::new(&path);
        t.cmd
            .env_remove("MYSQL_PWD")
            .env_remove("MYSQL_HOST")
            .env_remove("MYSQL_TCP_PORT");
        t.cmd
            .arg(format!("--defaults-extra-file={}", file.display()));
        Ok(t)
    }

    fn kind(&self) -> &'static str {
        match self.opts.flavor {
            Flavor::MySql => "mysql",
            Flavor::MariaDb => "mariadb",
        }
    }
}

/// An option-file value in double quotes with `\` and `"` escaped.
fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

#[async_trait]
impl Addon for Mysql {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: self.kind(),
            file_name: FILE_NAME,
            tools: vec![self.opts.flavor.dump_tool(), self.opts.flavor.client_tool()],
            parallel: false,
            consistent: self.opts.single_transaction,
            tls: true,
            selective: true,
        }
    }

    fn target(&self) -> String {
        self.conn.target(DEFAULT_PORT)
    }

    async fn probe(&self) -> Result<ProbeInfo> {
        probe::probe(self).await
    }

    async fn backup(&self, ctx: &Ctx, sink: Sink<'_>) -> Result<Report> {
        backup::backup(self, ctx, sink).await
    }

    async fn restore(&self, ctx: &Ctx, source: Source<'_>) -> Result<Report> {
        restore::restore(self, ctx, source).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_file_values_are_quoted() {
        assert_eq!(quote(r#"p"w\x"#), r#""p\"w\\x""#);
    }
}
