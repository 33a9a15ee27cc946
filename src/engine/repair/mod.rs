//! `repair index` and `repair snapshots`: bring a damaged repository back to one that
//! `check` (ours and restic's) accepts, losing only what is already lost.
//!
//! restic 0.16 added these commands; restic 0.14, which Stash's images shipped, has neither,
//! so a Stash user with a lost or corrupt pack had no way out but restic ≥ 0.16. The order is
//! restic's: first [`index`] makes the index say what the packs hold (dropping packs that are
//! gone or unreadable), then [`snapshots`] rewrites the snapshots whose trees reference what
//! the index no longer has. Both run under the exclusive lock, as prune does, and write
//! before they delete, so a repair killed at any moment leaves a readable repository and
//! running it again finishes the job.
pub mod index;
pub mod snapshots;

pub use index::{repair_index, RepairIndexOptions, RepairIndexReport};
pub use snapshots::{
    repair_snapshots, RepairSnapshotsOptions, RepairSnapshotsReport, SnapshotOutcome,
    SnapshotRepair,
};
