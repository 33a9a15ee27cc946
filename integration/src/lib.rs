//! Shared helpers for the end-to-end tests: running the real `restic`, generating test data,
//! and fingerprinting directory trees so restored data can be compared with the original.
pub mod data;
pub mod restic;
pub mod treehash;
