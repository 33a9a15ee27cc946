//! Counters a long backup or restore updates and a front end (progress bar, session status) reads.
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read from the source.
    pub bytes_read: AtomicU64,
    /// Plaintext bytes of blobs that were new to the repository.
    pub bytes_new: AtomicU64,
    /// Bytes written to storage (encrypted, compressed).
    pub bytes_stored: AtomicU64,
    pub files: AtomicU64,
    pub dirs: AtomicU64,
    pub blobs_new: AtomicU64,
    pub blobs_dup: AtomicU64,
    /// Expected total, when known (0 = unknown).
    pub bytes_total: AtomicU64,
}

impl Progress {
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}
