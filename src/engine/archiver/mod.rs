//! Backup: turning byte streams and directory trees into blobs, trees and a snapshot.
//!
//! [`saver::BlobSaver`] is the parallel pipeline every backup goes through (chunk → hash →
//! dedup → compress → encrypt → pack → upload). [`stream`] stores one stream as a file in a
//! snapshot (what every database addon uses), [`fs`] walks directories. Nothing becomes visible
//! until [`saver::BlobSaver::finish`] has uploaded every pack and written the index; the
//! snapshot file is written last, so an interrupted backup leaves only unreferenced packs.
pub mod fs;
pub mod parent;
pub mod progress;
pub mod saver;
pub mod stream;

pub use parent::{ChangeDetection, ParentChoice};
pub use progress::Progress;
pub use saver::{BackupStats, BlobSaver, ChangeCounts, Unreadable};

use chrono::{DateTime, FixedOffset, Local};

use super::snapshot::{Snapshot, DEFAULT_HOST};
use super::{sys, Id};

/// What goes into the snapshot besides its content, and how a directory backup compares
/// itself with an earlier snapshot (see [`parent`]; stream backups have no parent, as in restic).
#[derive(Clone, Debug)]
pub struct SnapshotOptions {
    pub host: String,
    pub tags: Vec<String>,
    pub time: Option<DateTime<FixedOffset>>,
    pub excludes: Vec<String>,
    /// Which snapshot unchanged files are taken from (recorded as the snapshot's `parent`).
    pub parent: ParentChoice,
    /// Which metadata changes make a file be read again.
    pub change: ChangeDetection,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            host: DEFAULT_HOST.to_string(),
            tags: vec![],
            time: None,
            excludes: vec![],
            parent: ParentChoice::default(),
            change: ChangeDetection::default(),
        }
    }
}

impl SnapshotOptions {
    /// The snapshot's time: the one given, else now.
    pub(crate) fn time_or_now(&self) -> DateTime<FixedOffset> {
        self.time.unwrap_or_else(|| Local::now().fixed_offset())
    }

    pub(crate) fn build(
        &self,
        time: DateTime<FixedOffset>,
        parent: Option<Id>,
        tree: Id,
        paths: Vec<String>,
    ) -> Snapshot {
        Snapshot {
            time,
            parent,
            tree,
            paths,
            hostname: self.host.clone(),
            username: sys::username(),
            uid: sys::uid(),
            gid: sys::gid(),
            excludes: self.excludes.clone(),
            tags: self.tags.clone(),
            original: None,
            program_version: format!("stash {}", env!("CARGO_PKG_VERSION")),
            extra: Default::default(),
        }
    }
}
