//! Stash's addons: database and volume backup and restore on the Stash engine.
//!
//! Each database addon implements [`Addon`]: `backup` writes one dump stream into a sink,
//! `restore` reads one back, `probe` reports readiness and the server version. [`run`] joins
//! an addon to a repository exactly the way Stash's `<dump> | restic backup --stdin` pipelines
//! do — one file (`/dumpfile.sql`, `/dump`, `/dumpfile.resp`) in a snapshot of host `host-0`
//! — but in-process, through a bounded pipe, so the dump never touches local disk and a failed
//! dump never becomes a snapshot.
//!
//! Every database folder has the same files: `mod.rs` (options and the `Addon` impl),
//! `backup.rs`, `restore.rs`, `probe.rs`. Options are plain structs (no clap) that the CLI
//! maps its flags onto; [`DbConnection`] is what the AppBinding resolver produces.
pub mod addon;
pub mod connection;
pub mod error;
pub mod mongodb;
pub mod mysql;
pub mod pipe;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod run;
pub mod tls;
pub mod volume;

pub use addon::{Addon, Capabilities, Ctx, ProbeInfo, Report};
pub use connection::{DbConnection, SecretDir, TlsConfig};
pub use error::{chain, AddonError, Result};
pub use run::{
    backup, restore, wait_ready, BackupOutcome, BackupRequest, RestoreOutcome, RestoreRequest,
};
