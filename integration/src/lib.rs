//! Shared helpers for the end-to-end tests: running the real `restic`, generating test data,
//! fingerprinting directory trees so restored data can be compared with the original, entries
//! a backup cannot read, and (for the addons) AppBinding-to-connection resolution, throwaway
//! PostgreSQL clusters, Redis and MariaDB servers, and TLS certificates for them.
pub mod appbinding;
pub mod data;
pub mod pgcluster;
pub mod restic;
pub mod servers;
pub mod tlscerts;
pub mod treehash;
pub mod unreadable;
