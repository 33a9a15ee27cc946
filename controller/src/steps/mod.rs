//! The controller's side of the catalog's steps: what a step process does with the state
//! store. [`record`] is `update-status` putting a target's host results into its session;
//! [`actions`] are a session's own actions (initialising the repository once, and the
//! post-backup actions: retention, integrity check, the Repository's status); [`hooks`] runs a
//! session's pre- and post-backup hooks. They run as step processes, like the Tasks' steps, so
//! the controller itself never opens a repository nor runs a user's command.
pub mod actions;
pub mod hooks;
pub mod record;

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::store::{LocalStore, StoreError};

/// Environment variable naming local mode's state folder, set by `stash run` for its steps.
pub const STATE_ENV: &str = "STASH_STATE";
/// Environment variable naming the manifests folder(s) (`:`-separated).
pub const MANIFESTS_ENV: &str = "STASH_MANIFESTS";

/// Local mode's state folder when none is given: `$XDG_STATE_HOME/stash`, else
/// `~/.local/state/stash` (one per user, as a kubeconfig names one cluster), else `.stash-state`.
pub fn default_state_dir() -> PathBuf {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(x) = from("XDG_STATE_HOME") {
        return x.join("stash");
    }
    match from("HOME") {
        Some(h) => h.join(".local/state/stash"),
        None => PathBuf::from(".stash-state"),
    }
}

/// The store a step process writes to: local mode's, when `stash run` said where it is.
pub async fn open_local_store(
    state: Option<PathBuf>,
    manifests: &[PathBuf],
) -> Result<Option<Arc<LocalStore>>, StoreError> {
    let Some(state) = state.filter(|s| !s.as_os_str().is_empty()) else {
        return Ok(None);
    };
    Ok(Some(Arc::new(
        LocalStore::open(&state, manifests.to_vec(), Arc::new(SystemClock)).await?,
    )))
}
