//! `--scratch-dir`: in a Job, the writable tmp volume (the root filesystem may be read-only).
//! Temporary files — the addons' private folders for client option files and TLS material —
//! go there when it exists; otherwise (running by hand, where the catalog's `/stash-tmp` does
//! not exist) the system's temp folder is used.
use std::path::Path;

use super::flags::nonempty;

pub fn use_scratch_dir(flag: &str) {
    let Some(dir) = nonempty(flag) else { return };
    let dir = Path::new(dir);
    if !dir.is_dir() {
        tracing::debug!(dir = %dir.display(), "--scratch-dir does not exist here: using the system temp folder");
        return;
    }
    // Only the first call takes effect; a process runs one step.
    if tempfile::env::override_temp_dir(dir).is_err() {
        tracing::debug!("temp folder already chosen");
    }
}
