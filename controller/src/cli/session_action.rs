//! `stash session-action init-repository|post-backup`: a BackupSession's own actions, run as
//! steps of their own by the controller ([`crate::steps::actions`]). They read and write local
//! mode's state store (`--state`, set by `stash run` in `STASH_STATE`).
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use crate::steps::{actions, open_local_store, MANIFESTS_ENV, STATE_ENV};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Action {
    /// Create the repository in the Repository's backend if it has none
    InitRepository,
    /// Retention policy, integrity check and the Repository's status, once per session
    PostBackup,
}

#[derive(Args, Debug)]
pub struct SessionActionArgs {
    pub action: Action,
    #[arg(long, default_value = "default")]
    pub namespace: String,
    #[arg(long)]
    pub backupsession: String,
    /// Local mode's state folder
    #[arg(long, env = STATE_ENV)]
    pub state: Option<PathBuf>,
    /// Manifests folder(s) holding the Secrets
    #[arg(long = "manifests", env = MANIFESTS_ENV, value_delimiter = ':')]
    pub manifests: Vec<PathBuf>,
}

pub async fn run(a: SessionActionArgs) -> anyhow::Result<()> {
    let Some(store) = open_local_store(a.state.clone(), &a.manifests).await? else {
        bail!(
            "session-action needs the state store: pass --state DIR (stash run sets {STATE_ENV})"
        );
    };
    let what = format!("BackupSession {}/{}", a.namespace, a.backupsession);
    match a.action {
        Action::InitRepository => {
            actions::init_repository(store.as_ref(), &a.namespace, &a.backupsession)
                .await
                .with_context(|| format!("initialising the repository of {what}"))
        }
        Action::PostBackup => actions::post_backup(store.as_ref(), &a.namespace, &a.backupsession)
            .await
            .with_context(|| format!("post-backup actions of {what}")),
    }
}
