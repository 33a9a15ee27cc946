//! A restore is durable before it reports success: one `syncfs` per filesystem written to at
//! the end, not an `fsync` per file (30 000 small files: 20 s instead of 5). restic does not
//! sync at all; a Stash restore that says Succeeded and then loses its files to a node crash
//! would be lying.
//!
//! Left to itself the kernel writes dirty pages back only after 30 s or past a tenth of the
//! memory, so the final sync of a restore of a few GiB would start the whole write then and
//! wait for it. [`Writeback`] asks for it early instead: after every [`KICK_EVERY`] bytes
//! restored a blocking thread calls `syncfs`, whose writeback runs in the kernel's flusher
//! threads while the restore goes on, so the final sync waits only for the last stretch.
//! (A per-file `sync_file_range` was measured slower: it does the writeback in our threads.)
//!
//! Each filesystem's folder is opened once, before anything is written where possible:
//! `syncfs` reports a writeback error only to descriptors opened before it happened, so a
//! folder opened at the end could miss the failure of an early write. An early sync's error
//! is kept and reported by [`Writeback::finish`].
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::sys;

/// Bytes restored between two early syncs.
pub const KICK_EVERY: u64 = 64 << 20;

/// One open folder per filesystem (by device id) a restore writes to.
type Filesystems = Vec<(u64, PathBuf, File)>;

/// Durability of one restore's writes; see the module docs.
pub struct Writeback {
    shared: Arc<Shared>,
}

struct Shared {
    filesystems: Mutex<Filesystems>,
    since_kick: AtomicU64,
    syncing: AtomicBool,
    /// The first failure of an early sync, reported at the end.
    failed: Mutex<Option<(PathBuf, io::Error)>>,
}

impl Writeback {
    /// Open the folders among `folders` that exist (the others are opened at the end).
    pub fn new(folders: &[PathBuf]) -> Self {
        let mut filesystems = Vec::new();
        for f in folders {
            // A folder that cannot be opened now is tried again (and its error reported) at
            // the end.
            let _ = add_folder(&mut filesystems, f);
        }
        Writeback {
            shared: Arc::new(Shared {
                filesystems: Mutex::new(filesystems),
                since_kick: AtomicU64::new(0),
                syncing: AtomicBool::new(false),
                failed: Mutex::new(None),
            }),
        }
    }

    /// `bytes` more were written: start an early sync when enough are pending and none is
    /// under way. Call from within a Tokio runtime.
    pub fn wrote(&self, bytes: u64) {
        let s = &self.shared;
        if s.since_kick.fetch_add(bytes, Ordering::Relaxed) + bytes < KICK_EVERY
            || s.syncing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        s.since_kick.store(0, Ordering::Relaxed);
        let s = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            s.sync_all();
            s.syncing.store(false, Ordering::Release);
        });
    }

    /// Sync every filesystem of `folders` (those not opened at the start are opened now),
    /// after any early sync under way; the first error of any sync, naming its folder.
    pub async fn finish(self, folders: Vec<PathBuf>) -> Result<(), (PathBuf, io::Error)> {
        let s = self.shared;
        tokio::task::spawn_blocking(move || {
            {
                let mut fs = s.filesystems.lock().unwrap();
                for f in folders.iter().filter(|f| f.exists()) {
                    add_folder(&mut fs, f).map_err(|e| (f.clone(), e))?;
                }
            }
            // An early sync still running holds the list's lock until it has recorded its
            // outcome, so this one starts after it and sees its error.
            s.sync_all();
            match s.failed.lock().unwrap().take() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })
        .await
        .map_err(|e| (PathBuf::new(), io::Error::other(e)))?
    }
}

impl Shared {
    /// Sync every open filesystem; a failure is kept (the first one) before the list is
    /// let go, since the descriptor will not report it again.
    fn sync_all(&self) {
        let fs = self.filesystems.lock().unwrap();
        for (_, path, dir) in fs.iter() {
            if let Err(e) = sys::sync_filesystem(dir) {
                self.failed.lock().unwrap().get_or_insert((path.clone(), e));
            }
        }
    }
}

/// Open `folder` unless a folder of its filesystem is open already.
fn add_folder(fs: &mut Filesystems, folder: &Path) -> io::Result<()> {
    let dir = File::open(folder)?;
    let dev = dir.metadata()?.dev();
    if !fs.iter().any(|(d, _, _)| *d == dev) {
        fs.push((dev, folder.to_path_buf(), dir));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_descriptor_per_filesystem_and_folders_made_later_are_synced() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        let wb = Writeback::new(&[a.clone(), b.clone(), tmp.path().to_path_buf()]);
        assert_eq!(
            wb.shared.filesystems.lock().unwrap().len(),
            1,
            "a and tmp share a device"
        );
        // Enough bytes for an early sync; it must not disturb the final one.
        wb.wrote(KICK_EVERY);
        std::fs::create_dir(&b).unwrap();
        wb.finish(vec![a, b]).await.unwrap();

        let gone = tmp.path().join("gone");
        std::fs::create_dir(&gone).unwrap();
        let wb = Writeback::new(&[]);
        std::fs::remove_dir(&gone).unwrap();
        // A folder that does not exist at the end was never written to: nothing to sync.
        wb.finish(vec![gone]).await.unwrap();
    }
}
