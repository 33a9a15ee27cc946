//! The seam every database addon implements.
//!
//! An addon turns a database into one byte stream (`backup` into a sink) and one byte stream
//! back into a database (`restore` from a source); it knows nothing about repositories. The
//! engine side (snapshot selection, the in-memory pipe, hashing, readiness wait) lives in
//! [`crate::run`] and is the same for every addon.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::Result;

/// What an addon declares about itself.
#[derive(Clone, Debug, Serialize)]
pub struct Capabilities {
    /// Stash's addon name: `postgres`, `mysql`, `mariadb`, `mongodb`, `redis`.
    pub kind: &'static str,
    /// Name of the stream inside the snapshot (`dumpfile.sql` → path `/dumpfile.sql`).
    pub file_name: &'static str,
    /// Client tools the addon runs (must be on PATH); empty for native addons.
    pub tools: Vec<&'static str>,
    /// Dumps or restores with several connections at once.
    pub parallel: bool,
    /// All tables/collections come from one point in time.
    pub consistent: bool,
    /// Can connect over TLS from [`crate::DbConnection::tls`].
    pub tls: bool,
    /// `args` can narrow the dump to some databases/tables/keys.
    pub selective: bool,
}

/// What `probe()` learned.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeInfo {
    pub server_version: String,
}

/// Shared with a running backup or restore: counters a front end can read.
#[derive(Debug, Default)]
pub struct Ctx {
    /// Items done: rows/tables (PostgreSQL), documents (MongoDB), keys (Redis).
    pub items: AtomicU64,
}

impl Ctx {
    pub fn new() -> Arc<Ctx> {
        Arc::new(Ctx::default())
    }
    pub fn add_items(&self, n: u64) {
        self.items.fetch_add(n, Ordering::Relaxed);
    }
    pub fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }
}

/// Outcome of an addon's backup or restore, beyond the bytes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Keys, documents, tables… whatever the addon counts; names are addon-specific.
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Things the user should know (keys that vanished during a scan, skipped objects).
    pub notes: Vec<String>,
}

impl Report {
    pub fn count(&mut self, what: &str, n: u64) {
        *self.counts.entry(what.to_string()).or_default() += n;
    }
    pub fn get(&self, what: &str) -> u64 {
        self.counts.get(what).copied().unwrap_or(0)
    }
}

pub type Sink<'a> = &'a mut (dyn AsyncWrite + Unpin + Send);
pub type Source<'a> = &'a mut (dyn AsyncRead + Unpin + Send);

#[async_trait]
pub trait Addon: Send + Sync {
    fn capabilities(&self) -> Capabilities;

    /// `host:port` for messages.
    fn target(&self) -> String;

    /// One readiness check: connect, log in, read the server version. Connection failures
    /// are retryable ([`crate::AddonError::is_retryable`]); a rejected login is not.
    async fn probe(&self) -> Result<ProbeInfo>;

    /// Write the dump into `sink`. Return an error (never a short `Ok`) if anything fails.
    async fn backup(&self, ctx: &Ctx, sink: Sink<'_>) -> Result<Report>;

    /// Load a dump this addon wrote from `source` into the database.
    async fn restore(&self, ctx: &Ctx, source: Source<'_>) -> Result<Report>;
}
