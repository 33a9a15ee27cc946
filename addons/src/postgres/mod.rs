//! PostgreSQL addon.
//!
//! Two modes share a connection and a probe:
//! - [`PgMode::Stash`] does what Stash's `stash-postgres` does: `pg_dumpall` or `pg_dump`
//!   (Stash's `backupCMD`) with the user's `args`, one plain SQL stream stored as
//!   `/dumpfile.sql`, restored through `psql` with the `ALTER ROLE postgres … PASSWORD` line
//!   removed. Credentials reach the tools through `PGPASSWORD`/`PGSSL*` in their environment
//!   and 0600 files, never their command lines.
//! - [`PgMode::Native`] ([`native`]) dumps every table's `COPY` output in parallel from one
//!   exported snapshot into a framed stream `/dumpfile.pgx`, and restores tables in parallel.
use std::path::PathBuf;
use std::str::FromStr;

use async_trait::async_trait;

use crate::addon::{Addon, Capabilities, Ctx, ProbeInfo, Report, Sink, Source};
use crate::connection::{DbConnection, SecretDir};
use crate::error::{AddonError, Result};
use crate::process::Tool;

mod backup;
pub mod native;
mod postdata;
mod probe;
mod restore;

pub use probe::connect;
pub use restore::GlobalsFilter;

pub const DEFAULT_PORT: u16 = 5432;
pub const DEFAULT_USER: &str = "postgres";
/// Stash's stream name for PostgreSQL dumps.
pub const FILE_NAME: &str = "dumpfile.sql";

/// Stash's `backupCMD` parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackupCmd {
    #[default]
    PgDumpall,
    PgDump,
}

impl FromStr for BackupCmd {
    type Err = AddonError;
    fn from_str(s: &str) -> Result<BackupCmd> {
        match s {
            "pg_dumpall" | "" => Ok(BackupCmd::PgDumpall),
            "pg_dump" => Ok(BackupCmd::PgDump),
            other => Err(AddonError::Invalid(format!(
                "backupCMD {other:?}: use pg_dumpall or pg_dump"
            ))),
        }
    }
}

impl BackupCmd {
    pub fn program(self) -> &'static str {
        match self {
            BackupCmd::PgDumpall => "pg_dumpall",
            BackupCmd::PgDump => "pg_dump",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PgMode {
    /// Stash's: one SQL file from pg_dumpall/pg_dump, loaded by psql.
    #[default]
    Stash,
    /// Parallel COPY from one exported snapshot ([`native`]).
    Native,
}

/// Options of the PostgreSQL addon (the CLI maps `--backup-cmd`, `--pg-args`, … onto these).
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    pub mode: PgMode,
    /// Stash mode: which dump tool runs.
    pub backup_cmd: BackupCmd,
    /// Extra arguments for pg_dump/pg_dumpall (backup) or psql (restore); Stash's `args`.
    pub args: Vec<String>,
    /// Stash mode restore: stop at the first failing statement (`ON_ERROR_STOP=1`), so a
    /// rejected statement fails the restore. Stash's psql carries on; set false for that.
    pub on_error_stop: bool,
    /// Native mode: tables dumped/restored at once.
    pub jobs: usize,
    /// Folder of the client tools; `None` = PATH.
    pub bin_dir: Option<PathBuf>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            mode: PgMode::Stash,
            backup_cmd: BackupCmd::PgDumpall,
            args: vec![],
            on_error_stop: true,
            jobs: 4,
            bin_dir: None,
        }
    }
}

pub struct Postgres {
    pub conn: DbConnection,
    pub opts: PostgresOptions,
}

impl Postgres {
    pub fn new(conn: DbConnection, opts: PostgresOptions) -> Postgres {
        Postgres { conn, opts }
    }

    pub fn user(&self) -> &str {
        self.conn.user.as_deref().unwrap_or(DEFAULT_USER)
    }

    /// A client tool with connection flags and credentials (environment + 0600 files in
    /// `secrets`, which must outlive the tool).
    pub(crate) fn tool(&self, program: &str, secrets: &SecretDir) -> Result<Tool> {
        debug_assert!(
            crate::CLIENT_TOOLS.contains(&program),
            "{program} is not in CLIENT_TOOLS"
        );
        let path = match &self.opts.bin_dir {
            Some(d) => d.join(program).to_string_lossy().into_owned(),
            None => program.to_string(),
        };
        let mut t = Tool::new(&path);
        for v in [
            "PGPASSWORD",
            "PGPASSFILE",
            "PGSERVICE",
            "PGSSLMODE",
            "PGSSLROOTCERT",
            "PGSSLCERT",
            "PGSSLKEY",
            "PGOPTIONS",
            "PGHOSTADDR",
        ] {
            t.cmd.env_remove(v);
        }
        let (host, hostaddr) = self.endpoint()?;
        t.cmd.arg(format!("--host={host}"));
        if let Some(ip) = hostaddr {
            t.cmd.env("PGHOSTADDR", ip.to_string());
        }
        t.cmd
            .arg(format!("--port={}", self.conn.port_or(DEFAULT_PORT)));
        t.cmd.arg(format!("--username={}", self.user()));
        t.cmd.env("PGAPPNAME", format!("stash-{program}"));
        t.cmd.env("PGCONNECT_TIMEOUT", "10");
        if let Some(pw) = &self.conn.password {
            t.cmd.env("PGPASSWORD", pw);
        }
        let io = |e| AddonError::io("writing TLS files for the PostgreSQL tools", e);
        if let Some(tls) = &self.conn.tls {
            if let Some(ca) = &tls.ca_pem {
                t.cmd.env(
                    "PGSSLROOTCERT",
                    secrets.write("ca.crt", ca.as_bytes()).map_err(io)?,
                );
            }
            if let (Some(c), Some(k)) = (&tls.client_cert_pem, &tls.client_key_pem) {
                t.cmd.env(
                    "PGSSLCERT",
                    secrets.write("tls.crt", c.as_bytes()).map_err(io)?,
                );
                t.cmd.env(
                    "PGSSLKEY",
                    secrets.write("tls.key", k.as_bytes()).map_err(io)?,
                );
            }
        }
        if let Some(mode) = self.ssl_mode() {
            t.cmd.env("PGSSLMODE", mode);
        }
        Ok(t)
    }

    /// `(host, hostaddr)` for libpq and tokio-postgres, which both check the server's
    /// certificate against `host`: an AppBinding `serverName` other than the host becomes the
    /// host, and the address we really connect to goes into `hostaddr` (libpq's own split).
    pub(crate) fn endpoint(&self) -> Result<(String, Option<std::net::IpAddr>)> {
        let name = self
            .conn
            .tls
            .as_ref()
            .and_then(|t| t.server_name.as_deref())
            .filter(|n| !n.is_empty() && *n != self.conn.host);
        let Some(name) = name else {
            return Ok((self.conn.host.clone(), None));
        };
        if let Ok(ip) = self.conn.host.parse() {
            return Ok((name.to_string(), Some(ip)));
        }
        let port = self.conn.port_or(DEFAULT_PORT);
        let unresolved = |source: std::io::Error| AddonError::Connect {
            addon: "postgres",
            target: self.conn.target(DEFAULT_PORT),
            source: Box::new(source),
        };
        let mut addrs = std::net::ToSocketAddrs::to_socket_addrs(&(self.conn.host.as_str(), port))
            .map_err(unresolved)?;
        let addr = addrs.next().ok_or_else(|| {
            unresolved(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the host name has no address",
            ))
        })?;
        Ok((name.to_string(), Some(addr.ip())))
    }

    /// libpq's `sslmode`: the AppBinding's `sslmode` parameter wins; with a TLS config and no
    /// parameter, verify the server unless told to skip verification.
    pub(crate) fn ssl_mode(&self) -> Option<String> {
        if let Some(m) = self.conn.params.get("sslmode") {
            return Some(m.clone());
        }
        self.conn.tls.as_ref().map(|t| {
            if t.insecure_skip_verify {
                "require".to_string()
            } else if t.ca_pem.is_some() {
                "verify-full".to_string()
            } else {
                "require".to_string()
            }
        })
    }
}

#[async_trait]
impl Addon for Postgres {
    fn capabilities(&self) -> Capabilities {
        match self.opts.mode {
            PgMode::Stash => Capabilities {
                kind: "postgres",
                file_name: FILE_NAME,
                tools: vec![self.opts.backup_cmd.program(), "psql"],
                parallel: false,
                consistent: self.opts.backup_cmd == BackupCmd::PgDump,
                tls: true,
                selective: true,
            },
            PgMode::Native => Capabilities {
                kind: "postgres",
                file_name: native::FILE_NAME,
                tools: vec!["pg_dump", "psql"],
                parallel: true,
                consistent: true,
                tls: true,
                selective: false,
            },
        }
    }

    fn target(&self) -> String {
        self.conn.target(DEFAULT_PORT)
    }

    async fn probe(&self) -> Result<ProbeInfo> {
        probe::probe(self).await
    }

    async fn backup(&self, ctx: &Ctx, sink: Sink<'_>) -> Result<Report> {
        match self.opts.mode {
            PgMode::Stash => backup::backup(self, ctx, sink).await,
            PgMode::Native => native::backup(self, ctx, sink).await,
        }
    }

    async fn restore(&self, ctx: &Ctx, source: Source<'_>) -> Result<Report> {
        match self.opts.mode {
            PgMode::Stash => restore::restore(self, ctx, source).await,
            PgMode::Native => native::restore(self, ctx, source).await,
        }
    }
}
