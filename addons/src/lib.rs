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

/// Every client program a database addon runs, by the name it runs it (MongoDB and Redis are
/// spoken natively). The container image installs each one: the Dockerfile's check line runs
/// `<tool> --version` for exactly these (a test keeps the two in step), and the addons assert
/// in debug builds that they run nothing else.
pub const CLIENT_TOOLS: &[&str] = &[
    "pg_dump",
    "pg_dumpall",
    "psql",
    "mariadb-dump",
    "mariadb",
    "mysqldump",
    "mysql",
];

pub use addon::{Addon, Capabilities, Ctx, ProbeInfo, Report};
pub use connection::{DbConnection, SecretDir, TlsConfig};
pub use error::{chain, AddonError, Result};
pub use run::{
    backup, restore, wait_ready, BackupOutcome, BackupRequest, RestoreOutcome, RestoreRequest,
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_program_an_addon_names_is_a_client_tool() {
        use mysql::Flavor;
        use postgres::BackupCmd;
        let named = [
            Flavor::MySql.dump_tool(),
            Flavor::MySql.client_tool(),
            Flavor::MariaDb.dump_tool(),
            Flavor::MariaDb.client_tool(),
            BackupCmd::PgDump.program(),
            BackupCmd::PgDumpall.program(),
            "psql",
        ];
        for p in named {
            assert!(CLIENT_TOOLS.contains(&p), "{p}");
        }
    }

    /// The image checks `<tool> --version` for every tool when it is built: that list is
    /// exactly [`CLIENT_TOOLS`].
    #[test]
    fn the_image_installs_exactly_the_client_tools() {
        let dockerfile = include_str!("../../Dockerfile");
        let words: Vec<&str> = dockerfile.split_whitespace().collect();
        let checked: BTreeSet<&str> = words
            .windows(2)
            .filter(|w| w[1] == "--version")
            .map(|w| w[0])
            .collect();
        let wanted: BTreeSet<&str> = CLIENT_TOOLS.iter().copied().collect();
        assert_eq!(
            checked, wanted,
            "Dockerfile's `<tool> --version` check line"
        );
    }
}
