//! MongoDB addon, native through the `mongodb` driver (no mongodump/mongorestore).
//!
//! The stream `/dump` is a sequence of BSON documents — each starts with its own int32
//! length, so the stream needs no other framing:
//!
//! ```text
//! {stash_mongo_dump: 1, server_version: "…"}                        header
//! {collection: {db, name, options: {…}, indexes: [{key, name, …}]}} one per collection
//!   {batch: <n>}  then n raw documents, in _id order                 repeated
//!   {end_collection: {db, name, count}}
//! {end: {collections, documents}}                                   trailer
//! ```
//!
//! It is *not* mongodump's `--archive` format (no mongorestore exists here to prove
//! compatibility). Restore recreates each collection with its options, inserts documents in
//! batches, then builds its indexes; `--drop` drops existing collections first. Replica-set
//! and sharded topologies (Stash's per-host dumps with `--oplog`) are not implemented.
use std::time::Duration;

use async_trait::async_trait;
use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use mongodb::Client;

use crate::addon::{Addon, Capabilities, Ctx, ProbeInfo, Report, Sink, Source};
use crate::connection::{DbConnection, SecretDir};
use crate::error::{AddonError, Result};

mod backup;
pub mod format;
mod probe;
mod restore;

pub const DEFAULT_PORT: u16 = 27017;
pub const FILE_NAME: &str = "dump";

#[derive(Clone, Debug)]
pub struct MongoOptions {
    /// Databases to dump (`--db`); empty = all but admin/config/local.
    pub dbs: Vec<String>,
    /// Collections to dump (`--collection`, needs exactly one `--db`); empty = all.
    pub collections: Vec<String>,
    /// Restore: drop each collection before restoring it (`--drop`).
    pub drop: bool,
    /// Restore: put every collection into this database (mongorestore's `--db` on restore).
    pub restore_db: Option<String>,
    /// Documents per batch (find batch size and insert batch).
    pub batch_size: usize,
    /// `authenticationDatabase` (Stash's default: admin).
    pub auth_db: String,
}

impl Default for MongoOptions {
    fn default() -> Self {
        MongoOptions {
            dbs: vec![],
            collections: vec![],
            drop: false,
            restore_db: None,
            batch_size: 1000,
            auth_db: "admin".into(),
        }
    }
}

impl MongoOptions {
    /// Stash's `args` in mongodump/mongorestore spelling: `--db`/`-d`, `--collection`/`-c`,
    /// `--drop`, `--batchSize`.
    pub fn from_args(args: &[String], restore: bool) -> Result<MongoOptions> {
        let mut o = MongoOptions::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) => (f, Some(v.to_string())),
                None => (a.as_str(), None),
            };
            let mut val = || {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| AddonError::Invalid(format!("mongo arg {flag} needs a value")))
            };
            match flag {
                "--db" | "-d" if restore => o.restore_db = Some(val()?),
                "--db" | "-d" => o.dbs.push(val()?),
                "--collection" | "-c" => o.collections.push(val()?),
                "--drop" => o.drop = true,
                "--batchSize" => o.batch_size = val()?.parse().map_err(|_| AddonError::Invalid("--batchSize needs a number".into()))?,
                "--authenticationDatabase" => o.auth_db = val()?,
                _ => return Err(AddonError::Invalid(format!("unknown mongo arg {a:?} (known: --db, --collection, --drop, --batchSize, --authenticationDatabase)"))),
            }
        }
        if !o.collections.is_empty() && !restore && o.dbs.len() != 1 {
            return Err(AddonError::Invalid(
                "--collection needs exactly one --db".into(),
            ));
        }
        Ok(o)
    }
}

pub struct Mongo {
    pub conn: DbConnection,
    pub opts: MongoOptions,
}

/// A client and the files its TLS options point at (which must outlive it).
pub(crate) struct Conn {
    pub client: Client,
    _secrets: Option<SecretDir>,
}

impl Mongo {
    pub fn new(conn: DbConnection, opts: MongoOptions) -> Mongo {
        Mongo { conn, opts }
    }

    pub(crate) async fn connect(&self) -> Result<Conn> {
        let mut o = ClientOptions::default();
        o.hosts = vec![ServerAddress::Tcp {
            host: self.conn.host.clone(),
            port: Some(self.conn.port_or(DEFAULT_PORT)),
        }];
        o.direct_connection = Some(true);
        o.server_selection_timeout = Some(Duration::from_secs(5));
        o.connect_timeout = Some(Duration::from_secs(5));
        o.app_name = Some("stash".into());
        if let Some(u) = &self.conn.user {
            let mut c = Credential::default();
            c.username = Some(u.clone());
            c.password = self.conn.password.clone();
            c.source = Some(self.opts.auth_db.clone());
            o.credential = Some(c);
        }
        let mut secrets = None;
        if let Some(t) = &self.conn.tls {
            self.check_server_name()?;
            let dir = SecretDir::new()
                .map_err(|e| AddonError::io("creating a private temp folder", e))?;
            let io = |e| AddonError::io("writing TLS files", e);
            let mut to = TlsOptions::default();
            if let Some(ca) = &t.ca_pem {
                to.ca_file_path = Some(dir.write("ca.crt", ca.as_bytes()).map_err(io)?);
            }
            if let (Some(c), Some(k)) = (&t.client_cert_pem, &t.client_key_pem) {
                to.cert_key_file_path = Some(
                    dir.write("client.pem", format!("{c}\n{k}").as_bytes())
                        .map_err(io)?,
                );
            }
            if t.insecure_skip_verify {
                to.allow_invalid_certificates = Some(true);
            }
            o.tls = Some(Tls::Enabled(to));
            secrets = Some(dir);
        }
        let client = Client::with_options(o)
            .map_err(|e| AddonError::Invalid(format!("mongodb connection settings: {e}")))?;
        Ok(Conn {
            client,
            _secrets: secrets,
        })
    }

    /// The driver checks the server's certificate against the host it dials and has no
    /// setting for another name, so an AppBinding `serverName` that differs is refused rather
    /// than silently not applied.
    pub(crate) fn check_server_name(&self) -> Result<()> {
        let name = self
            .conn
            .tls
            .as_ref()
            .and_then(|t| t.server_name.as_deref());
        match name.filter(|n| !n.is_empty() && *n != self.conn.host) {
            Some(name) => Err(AddonError::Invalid(format!(
                "spec.clientConfig.serverName {name:?} cannot be used with MongoDB: its driver checks the server's certificate against the host it dials; put a host name the certificate holds into spec.clientConfig.url (or service.name) instead"
            ))),
            None => Ok(()),
        }
    }

    pub(crate) fn classify(&self, e: mongodb::error::Error, doing: &str) -> AddonError {
        let target = self.conn.target(DEFAULT_PORT);
        match e.kind.as_ref() {
            mongodb::error::ErrorKind::Authentication { message, .. } => AddonError::Auth {
                addon: "mongodb",
                target,
                user: self.conn.user.clone().unwrap_or_default(),
                detail: message.clone(),
            },
            mongodb::error::ErrorKind::ServerSelection { .. }
            | mongodb::error::ErrorKind::Io(_)
                if doing == "connecting" =>
            {
                AddonError::Connect {
                    addon: "mongodb",
                    target,
                    source: Box::new(e),
                }
            }
            _ => AddonError::db(format!("{doing} (mongodb at {target})"), e),
        }
    }
}

#[async_trait]
impl Addon for Mongo {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: "mongodb",
            file_name: FILE_NAME,
            tools: vec![],
            parallel: false,
            consistent: false,
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
    fn parses_mongodump_args() {
        let a: Vec<String> = ["--db", "app", "-c", "users", "--batchSize=10"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = MongoOptions::from_args(&a, false).unwrap();
        assert_eq!(o.dbs, vec!["app"]);
        assert_eq!(o.collections, vec!["users"]);
        assert_eq!(o.batch_size, 10);
        let o = MongoOptions::from_args(&["--db=new".into(), "--drop".into()], true).unwrap();
        assert_eq!(o.restore_db.as_deref(), Some("new"));
        assert!(o.drop);
        assert!(MongoOptions::from_args(&["-c".into(), "x".into()], false).is_err());
    }
}
