//! Stash core library.
//!
//! Layers, with dependencies pointing one way:
//! - [`api`]: Stash's Kubernetes kinds as plain data (no I/O).
//! - [`engine`]: the repository engine on restic's format v2 — chunking, crypto, packs,
//!   index, trees, snapshots, retention, prune, check. It owns the [`engine::backend::Backend`]
//!   trait and never names a storage library.
//! - [`storage`]: the one place that talks to OpenDAL, implementing `Backend`.
//! - [`store`]: where objects (AppBindings, Secrets, Repositories) come from: the
//!   [`store::ObjectStore`] seam and local mode's folder of manifests.
pub mod api;
pub mod engine;
pub mod storage;
pub mod store;
