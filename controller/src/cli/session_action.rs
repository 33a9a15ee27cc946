//! `stash session-action ACTION`: a BackupSession's own actions and hooks
//! (`init-repository`, `post-backup`, `pre-backup-hook`, `post-backup-hook` with `--member`
//! for a batch's members, `global-pre-backup-hook`, `global-post-backup-hook`), a
//! RestoreSession's hooks (`pre-restore-hook`, `post-restore-hook`), a RestoreBatch's global
//! hooks (`global-pre-restore-hook`, `global-post-restore-hook`) and a deleted Repository's
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
    /// A BackupBatch's global spec.hooks.preBackup, before any member
    GlobalPreBackupHook,
    /// A BackupBatch's global spec.hooks.postBackup, after every member
    GlobalPostBackupHook,
    /// The RestoreSession's spec.hooks.preRestore, before the restore
    PreRestoreHook,
    /// The RestoreSession's spec.hooks.postRestore (subject to its executionPolicy)
    PostRestoreHook,
    /// A RestoreBatch's global spec.hooks.preRestore, before any member
    GlobalPreRestoreHook,
    /// A RestoreBatch's global spec.hooks.postRestore, after every member
    GlobalPostRestoreHook,
    /// Remove every object under a deleted Repository's backend (its spec.wipeOut)
    WipeOut,
}

#[derive(Args, Debug)]
pub struct SessionActionArgs {
    pub action: Action,
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// The BackupSession (its actions and hooks)
    #[arg(long, required_unless_present_any = ["repository", "restoresession", "restorebatch"])]
    pub backupsession: Option<String>,
    /// The RestoreSession (its hooks)
    #[arg(long)]
    pub restoresession: Option<String>,
    /// The RestoreBatch (its global hooks)
    #[arg(long)]
    pub restorebatch: Option<String>,
    /// Which member of a BackupBatch a hook belongs to (0 for a BackupConfiguration)
    #[arg(long, default_value_t = 0)]
    pub member: usize,
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
    let member = a.member;
    let hook = |h: HookType, session: &str| {
        let session = session.to_string();
        async move {
            hooks::backup_hook(store, ns, &session, h, member, &ExecOptions::default())
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
        Action::GlobalPreBackupHook => hook(HookType::GlobalPreBackup, session()?).await,
        Action::GlobalPostBackupHook => hook(HookType::GlobalPostBackup, session()?).await,
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
        Action::GlobalPreRestoreHook | Action::GlobalPostRestoreHook => {
            let rb = a
                .restorebatch
                .as_deref()
                .with_context(|| format!("{:?} needs --restorebatch NAME", a.action))?;
            let h = match a.action {
                Action::GlobalPreRestoreHook => HookType::GlobalPreRestore,
                _ => HookType::GlobalPostRestore,
            };
            hooks::restore_batch_hook(store, ns, rb, h, &ExecOptions::default())
                .await
                .with_context(|| format!("{} hook of RestoreBatch {ns}/{rb}", h.as_str()))
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
            ("global-pre-backup-hook", "GlobalPreBackupHook"),
            ("global-post-backup-hook", "GlobalPostBackupHook"),
        ] {
            let cli = Cli::try_parse_from(["stash", word, "--namespace=demo", "--backupsession=s"])
                .unwrap();
            assert_eq!(format!("{:?}", cli.args.action), want);
            assert_eq!(cli.args.backupsession.as_deref(), Some("s"));
        }
    }
}
