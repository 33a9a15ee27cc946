//! `stash session-action init-repository|post-backup|pre-backup-hook|post-backup-hook`: a
//! BackupSession's own actions and hooks, run as steps of their own by the controller
//! ([`crate::steps::actions`], [`crate::steps::hooks`]). They read and write local mode's
//! state store (`--state`, set by `stash run` in `STASH_STATE`). Exit status 1 when the action
//! or the hook failed; its condition is in the session either way.
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use crate::hooks::{ExecOptions, HookType};
use crate::steps::{actions, hooks, open_local_store, MANIFESTS_ENV, STATE_ENV};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Action {
    /// Create the repository in the Repository's backend if it has none
    InitRepository,
    /// Retention policy, integrity check and the Repository's status, once per session
    PostBackup,
    /// The invoker's spec.hooks.preBackup, once per session
    PreBackupHook,
    /// The invoker's spec.hooks.postBackup (subject to its executionPolicy), once per session
    PostBackupHook,
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
    let hook = |h: HookType| {
        let store = store.clone();
        let (ns, session) = (a.namespace.clone(), a.backupsession.clone());
        let what = what.clone();
        async move {
            hooks::backup_hook(store.as_ref(), &ns, &session, h, &ExecOptions::default())
                .await
                .with_context(|| format!("{} hook of {what}", h.as_str()))
        }
    };
    match a.action {
        Action::InitRepository => {
            actions::init_repository(store.as_ref(), &a.namespace, &a.backupsession)
                .await
                .with_context(|| format!("initialising the repository of {what}"))
        }
        Action::PostBackup => actions::post_backup(store.as_ref(), &a.namespace, &a.backupsession)
            .await
            .with_context(|| format!("post-backup actions of {what}")),
        Action::PreBackupHook => hook(HookType::PreBackup).await,
        Action::PostBackupHook => hook(HookType::PostBackup).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SessionActionArgs,
    }

    #[test]
    fn the_hook_steps_parse_as_the_controller_writes_them() {
        for (word, want) in [
            ("pre-backup-hook", "PreBackupHook"),
            ("post-backup-hook", "PostBackupHook"),
        ] {
            let cli = Cli::try_parse_from(["stash", word, "--namespace=demo", "--backupsession=s"])
                .unwrap();
            assert_eq!(format!("{:?}", cli.args.action), want);
            assert_eq!(cli.args.backupsession, "s");
        }
    }
}
