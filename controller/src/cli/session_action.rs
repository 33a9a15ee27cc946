//! `stash session-action ACTION`: a BackupSession's own actions and hooks
//! (`init-repository`, `post-backup`, `pre-backup-hook`, `post-backup-hook`), a
//! RestoreSession's hooks (`pre-restore-hook`, `post-restore-hook`) and a deleted Repository's
//! `wipe-out`, each run as a step of its own by the controller ([`crate::steps::actions`],
//! [`crate::steps::hooks`]). They read and write local mode's
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
    /// The RestoreSession's spec.hooks.preRestore, before the restore
    PreRestoreHook,
    /// The RestoreSession's spec.hooks.postRestore (subject to its executionPolicy)
    PostRestoreHook,
    /// Remove every object under a deleted Repository's backend (its spec.wipeOut)
    WipeOut,
}

#[derive(Args, Debug)]
pub struct SessionActionArgs {
    pub action: Action,
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// The BackupSession (its actions and hooks)
    #[arg(long, required_unless_present_any = ["repository", "restoresession"])]
    pub backupsession: Option<String>,
    /// The RestoreSession (its hooks)
    #[arg(long)]
    pub restoresession: Option<String>,
    /// The Repository (wipe-out)
    #[arg(long)]
    pub repository: Option<String>,
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
    let (ns, store) = (a.namespace.as_str(), store.as_ref());
    let session = || {
        a.backupsession
            .as_deref()
            .with_context(|| format!("{:?} needs --backupsession NAME", a.action))
    };
    let hook = |h: HookType, session: &str| {
        let session = session.to_string();
        async move {
            hooks::backup_hook(store, ns, &session, h, &ExecOptions::default())
                .await
                .with_context(|| format!("{} hook of BackupSession {ns}/{session}", h.as_str()))
        }
    };
    match a.action {
        Action::InitRepository => {
            let s = session()?;
            actions::init_repository(store, ns, s)
                .await
                .with_context(|| format!("initialising the repository of BackupSession {ns}/{s}"))
        }
        Action::PostBackup => {
            let s = session()?;
            actions::post_backup(store, ns, s)
                .await
                .with_context(|| format!("post-backup actions of BackupSession {ns}/{s}"))
        }
        Action::PreBackupHook => hook(HookType::PreBackup, session()?).await,
        Action::PostBackupHook => hook(HookType::PostBackup, session()?).await,
        Action::PreRestoreHook | Action::PostRestoreHook => {
            let rs = a
                .restoresession
                .as_deref()
                .with_context(|| format!("{:?} needs --restoresession NAME", a.action))?;
            let h = match a.action {
                Action::PreRestoreHook => HookType::PreRestore,
                _ => HookType::PostRestore,
            };
            hooks::restore_hook(store, ns, rs, h, &ExecOptions::default())
                .await
                .with_context(|| format!("{} hook of RestoreSession {ns}/{rs}", h.as_str()))
        }
        Action::WipeOut => {
            let repo = a
                .repository
                .as_deref()
                .context("wipe-out needs --repository NAME")?;
            let n = actions::wipe_out(store, ns, repo)
                .await
                .with_context(|| format!("wiping out Repository {ns}/{repo}"))?;
            println!("removed {n} objects of Repository {ns}/{repo}");
            Ok(())
        }
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
            assert_eq!(cli.args.backupsession.as_deref(), Some("s"));
        }
    }
}
