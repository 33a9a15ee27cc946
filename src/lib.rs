//! Stash core library.
//!
//! Three layers, with dependencies pointing one way:
//! - [`api`]: Stash's Kubernetes kinds as plain data (no I/O).
//! - [`engine`]: the repository engine on restic's format v2 — chunking, crypto, packs,
//!   index, trees, snapshots, retention, prune, check. It owns the [`engine::backend::Backend`]
//!   trait and never names a storage library.
//! - [`storage`]: the one place that talks to OpenDAL, implementing `Backend`.
pub mod api;
pub mod engine;
pub mod storage;
