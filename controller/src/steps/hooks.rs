//! `stash session-action pre-backup-hook|post-backup-hook`: a BackupSession's hooks, each run
//! once per session as a step of its own (spec §3.10). The step reads the hook from the
//! BackupConfiguration's `spec.hooks`, builds the Summary from the session, runs the hook
//! here ([`crate::hooks`]) and records `PreBackupHookExecutionSucceeded` /
//! `PostBackupHookExecutionSucceeded` on the session's target — where Stash records them, so
//! the target's phase turns Failed when a hook fails. A hook whose condition is already there
//! is not run again; a failed hook fails the step (after its condition is written).
//!
//! `pre-restore-hook|post-restore-hook` do the same for a RestoreSession: the hook from its
//! `spec.hooks`, the Summary of the restore, and `PreRestoreHookExecutionSucceeded` /
//! `PostRestoreHookExecutionSucceeded` among the RestoreSession's conditions.
use chrono::Utc;
use stash::api::backup_session::{backup_target_phase, BackupTargetStatus};
use stash::api::common::{find_condition, set_condition};
use stash::api::hooks::{Handler, HookExecutionPolicy};
use stash::api::{BackupConfiguration, BackupSession, Condition, RestoreSession, TargetRef};

use super::record::same_target;
use crate::hooks::{self, ExecOptions, HookType, Summary};
use crate::store::{ObjectStore, StoreError, StoreExt};

#[derive(Debug, thiserror::Error)]
pub enum HookStepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Missing(String),
    #[error("{0} is not a {1} hook")]
    WrongKind(&'static str, &'static str),
    /// The hook failed (now or in an earlier run); its condition says so.
    #[error("{0}")]
    Failed(String),
}

/// The hook of type `hook` in `bc`'s `spec.hooks`, with its policy (post hooks).
pub fn backup_hook_of(
    bc: &BackupConfiguration,
    hook: HookType,
) -> Option<(Handler, Option<HookExecutionPolicy>)> {
    let hooks = bc.spec.template.hooks.as_ref()?;
    match hook {
        HookType::PreBackup => hooks.pre_backup.clone().map(|h| (h, None)),
        HookType::PostBackup => hooks
            .post_backup
            .as_ref()
            .map(|p| (p.handler(), Some(p.execution_policy()))),
        _ => None,
    }
}

/// The hook's condition on `target` in `session`, if recorded.
pub fn hook_condition<'a>(
    session: &'a BackupSession,
    target: Option<&TargetRef>,
    hook: HookType,
) -> Option<&'a Condition> {
    session
        .status
        .as_ref()?
        .targets
        .as_deref()?
        .iter()
        .find(|t| same_target(t.r#ref.as_ref(), target))
        .and_then(|t| find_condition(t.conditions.as_deref(), hook.condition_type()))
}

/// Upserts `cond` on `target` of BackupSession `ns/session`, recomputing the target's phase.
pub async fn set_target_condition(
    store: &dyn ObjectStore,
    ns: &str,
    session: &str,
    target: Option<TargetRef>,
    cond: Condition,
) -> Result<(), StoreError> {
    store
        .update_status::<BackupSession, _>(ns, session, |s| {
            let targets = s
                .status
                .get_or_insert_with(Default::default)
                .targets
                .get_or_insert_with(Vec::new);
            let i = match targets
                .iter()
                .position(|t| same_target(t.r#ref.as_ref(), target.as_ref()))
            {
                Some(i) => i,
                None => {
                    targets.push(BackupTargetStatus {
                        r#ref: target.clone(),
                        ..Default::default()
                    });
                    targets.len() - 1
                }
            };
            let t = &mut targets[i];
            set_condition(t.conditions.get_or_insert_with(Vec::new), cond.clone());
            t.phase = Some(backup_target_phase(t));
        })
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(crate::store::ObjRef::of::<BackupSession>(ns, session))
        })?;
    Ok(())
}

/// Runs hook `hook` of BackupSession `ns/session` once and records it.
pub async fn backup_hook(
    store: &dyn ObjectStore,
    ns: &str,
    session: &str,
    hook: HookType,
    opts: &ExecOptions,
) -> Result<(), HookStepError> {
    if !matches!(hook, HookType::PreBackup | HookType::PostBackup) {
        return Err(HookStepError::WrongKind(hook.as_str(), "backup"));
    }
    let s: BackupSession = store
        .get(ns, session)
        .await?
        .ok_or_else(|| HookStepError::Missing(format!("BackupSession {ns}/{session} not found")))?;
    let inv = s.spec.invoker.clone().unwrap_or_default();
    let bc: BackupConfiguration = store.get(ns, &inv.name).await?.ok_or_else(|| {
        HookStepError::Missing(format!("{} {ns}/{} not found", inv.kind, inv.name))
    })?;
    let Some((handler, policy)) = backup_hook_of(&bc, hook) else {
        return Err(HookStepError::Missing(format!(
            "{} {ns}/{} has no spec.hooks.{}",
            inv.kind,
            inv.name,
            hook.as_str()
        )));
    };
    let target = bc.spec.template.target.as_ref().map(|t| t.target_ref());
    if let Some(c) = hook_condition(&s, target.as_ref(), hook) {
        tracing::info!(
            "Skipping executing {}. Reason: It has been executed already.",
            hook.as_str()
        );
        return match c.is_false() {
            true => Err(HookStepError::Failed(c.message.clone().unwrap_or_default())),
            false => Ok(()),
        };
    }
    let now = Utc::now();
    let st = s.status.clone().unwrap_or_default();
    let summary = Summary::for_backup(&s, &st, target.as_ref(), now);
    let outcome = hooks::run(hook, &handler, policy, &summary, opts).await;
    let cond = outcome.condition(hook, Utc::now());
    let message = cond.message.clone().unwrap_or_default();
    set_target_condition(store, ns, session, target, cond).await?;
    if outcome.is_failure() {
        return Err(HookStepError::Failed(message));
    }
    Ok(())
}

/// The hook of type `hook` in `rs`'s `spec.hooks`, with its policy (post hooks).
pub fn restore_hook_of(
    rs: &RestoreSession,
    hook: HookType,
) -> Option<(Handler, Option<HookExecutionPolicy>)> {
    let hooks = rs.spec.template.hooks.as_ref()?;
    match hook {
        HookType::PreRestore => hooks.pre_restore.clone().map(|h| (h, None)),
        HookType::PostRestore => hooks
            .post_restore
            .as_ref()
            .map(|p| (p.handler(), Some(p.execution_policy()))),
        _ => None,
    }
}

/// Runs hook `hook` of RestoreSession `ns/name` once and records its condition.
pub async fn restore_hook(
    store: &dyn ObjectStore,
    ns: &str,
    name: &str,
    hook: HookType,
    opts: &ExecOptions,
) -> Result<(), HookStepError> {
    if !matches!(hook, HookType::PreRestore | HookType::PostRestore) {
        return Err(HookStepError::WrongKind(hook.as_str(), "restore"));
    }
    let rs: RestoreSession = store
        .get(ns, name)
        .await?
        .ok_or_else(|| HookStepError::Missing(format!("RestoreSession {ns}/{name} not found")))?;
    let Some((handler, policy)) = restore_hook_of(&rs, hook) else {
        return Err(HookStepError::Missing(format!(
            "RestoreSession {ns}/{name} has no spec.hooks.{}",
            hook.as_str()
        )));
    };
    let st = rs.status.clone().unwrap_or_default();
    if let Some(c) = find_condition(st.conditions.as_deref(), hook.condition_type()) {
        tracing::info!(
            "Skipping executing {}. Reason: It has been executed already.",
            hook.as_str()
        );
        return match c.is_false() {
            true => Err(HookStepError::Failed(c.message.clone().unwrap_or_default())),
            false => Ok(()),
        };
    }
    let summary = Summary::for_restore(&rs, &st, Utc::now());
    let outcome = hooks::run(hook, &handler, policy, &summary, opts).await;
    let cond = outcome.condition(hook, Utc::now());
    let message = cond.message.clone().unwrap_or_default();
    store
        .update_status::<RestoreSession, _>(ns, name, |r| {
            let list = r
                .status
                .get_or_insert_with(Default::default)
                .conditions
                .get_or_insert_with(Vec::new);
            set_condition(list, cond.clone());
        })
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(crate::store::ObjRef::of::<RestoreSession>(ns, name))
        })?;
    if outcome.is_failure() {
        return Err(HookStepError::Failed(message));
    }
    Ok(())
}
