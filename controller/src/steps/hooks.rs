//! `stash session-action pre-backup-hook|post-backup-hook`: a BackupSession's hooks, each run
//! once per session as a step of its own (spec §3.10). The step reads the hook from the
//! invoker's hooks (a BackupConfiguration's `spec.hooks`, a BackupBatch member's, or the
//! batch's global `spec.hooks`), builds the Summary from the session, runs the hook
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
use stash::api::{BackupSession, Condition, RestoreBatch, RestoreSession, TargetRef};

use super::record::same_target;
use crate::hooks::{self, ExecOptions, HookType, Summary};
use crate::invoker::BackupInvoker;
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

/// The hook of type `hook` of member `index` of `inv` (a global hook: the batch's own
/// `spec.hooks`), with its policy (post hooks).
pub fn backup_hook_of(
    inv: &BackupInvoker,
    hook: HookType,
    index: usize,
) -> Option<(Handler, Option<HookExecutionPolicy>)> {
    let hooks = if hook.is_global() {
        inv.global_hooks.as_ref()?
    } else {
        inv.members.get(index)?.hooks.as_ref()?
    };
    match hook {
        HookType::PreBackup | HookType::GlobalPreBackup => {
            hooks.pre_backup.clone().map(|h| (h, None))
        }
        HookType::PostBackup | HookType::GlobalPostBackup => hooks
            .post_backup
            .as_ref()
            .map(|p| (p.handler(), Some(p.execution_policy()))),
        _ => None,
    }
}

/// A hook whose condition is recorded is not run again: its step ends as the hook did (a
/// failed one with the condition's message).
fn ran_already(hook: HookType, c: &Condition) -> Result<(), String> {
    tracing::info!(
        "Skipping executing {}. Reason: It has been executed already.",
        hook.as_str()
    );
    match c.is_false() {
        true => Err(c.message.clone().unwrap_or_default()),
        false => Ok(()),
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

/// Runs hook `hook` of BackupSession `ns/session` once and records it: a member's hook on
/// member `member`'s target, a global hook among the session's conditions.
pub async fn backup_hook(
    store: &dyn ObjectStore,
    ns: &str,
    session: &str,
    hook: HookType,
    member: usize,
    opts: &ExecOptions,
) -> Result<(), HookStepError> {
    if !matches!(
        hook,
        HookType::PreBackup
            | HookType::PostBackup
            | HookType::GlobalPreBackup
            | HookType::GlobalPostBackup
    ) {
        return Err(HookStepError::WrongKind(hook.as_str(), "backup"));
    }
    let s: BackupSession = store
        .get(ns, session)
        .await?
        .ok_or_else(|| HookStepError::Missing(format!("BackupSession {ns}/{session} not found")))?;
    let r = s.spec.invoker.clone().unwrap_or_default();
    let inv = BackupInvoker::get(store, ns, &r.kind, &r.name)
        .await?
        .ok_or_else(|| HookStepError::Missing(format!("{} {ns}/{} not found", r.kind, r.name)))?;
    let Some((handler, policy)) = backup_hook_of(&inv, hook, member) else {
        let place = match hook.is_global() {
            true => format!("spec.hooks.{}", hook.as_str().trim_start_matches("global ")),
            false if inv.kind == crate::invoker::BACKUP_BATCH => {
                format!("spec.members[{member}].hooks.{}", hook.as_str())
            }
            false => format!("spec.hooks.{}", hook.as_str()),
        };
        return Err(HookStepError::Missing(format!(
            "{} has no {place}",
            inv.display()
        )));
    };
    let target = (!hook.is_global())
        .then(|| inv.target_ref(member))
        .flatten();
    let st = s.status.clone().unwrap_or_default();
    let recorded = match hook.is_global() {
        true => find_condition(st.conditions.as_deref(), hook.condition_type()),
        false => hook_condition(&s, target.as_ref(), hook),
    };
    if let Some(c) = recorded {
        return ran_already(hook, c).map_err(HookStepError::Failed);
    }
    let now = Utc::now();
    let summary = Summary::for_backup(&s, &st, target.as_ref(), now);
    let outcome = hooks::run(hook, &handler, policy, &summary, opts).await;
    let cond = outcome.condition(hook, Utc::now());
    let message = cond.message.clone().unwrap_or_default();
    if hook.is_global() {
        store
            .update_status::<BackupSession, _>(ns, session, |b| {
                let list = b
                    .status
                    .get_or_insert_with(Default::default)
                    .conditions
                    .get_or_insert_with(Vec::new);
                set_condition(list, cond.clone());
            })
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(crate::store::ObjRef::of::<BackupSession>(ns, session))
            })?;
    } else {
        set_target_condition(store, ns, session, target, cond).await?;
    }
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
        return ran_already(hook, c).map_err(HookStepError::Failed);
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

/// Runs global hook `hook` of RestoreBatch `ns/name` once and records its condition among the
/// batch's conditions.
pub async fn restore_batch_hook(
    store: &dyn ObjectStore,
    ns: &str,
    name: &str,
    hook: HookType,
    opts: &ExecOptions,
) -> Result<(), HookStepError> {
    let hooks = |rb: &RestoreBatch| rb.spec.hooks.clone().unwrap_or_default();
    let rb: RestoreBatch = store
        .get(ns, name)
        .await?
        .ok_or_else(|| HookStepError::Missing(format!("RestoreBatch {ns}/{name} not found")))?;
    let (handler, policy) = match hook {
        HookType::GlobalPreRestore => (hooks(&rb).pre_restore, None),
        HookType::GlobalPostRestore => {
            let p = hooks(&rb).post_restore;
            (
                p.as_ref().map(|p| p.handler()),
                p.as_ref().map(|p| p.execution_policy()),
            )
        }
        _ => return Err(HookStepError::WrongKind(hook.as_str(), "RestoreBatch")),
    };
    let Some(handler) = handler else {
        return Err(HookStepError::Missing(format!(
            "RestoreBatch {ns}/{name} has no spec.hooks.{}",
            hook.as_str().trim_start_matches("global ")
        )));
    };
    let st = rb.status.clone().unwrap_or_default();
    if let Some(c) = find_condition(st.conditions.as_deref(), hook.condition_type()) {
        return ran_already(hook, c).map_err(HookStepError::Failed);
    }
    let summary = crate::reconcile::restore_batch::summary(&rb, &st, Utc::now());
    let outcome = hooks::run(hook, &handler, policy, &summary, opts).await;
    let cond = outcome.condition(hook, Utc::now());
    let message = cond.message.clone().unwrap_or_default();
    store
        .update_status::<RestoreBatch, _>(ns, name, |r| {
            let list = r
                .status
                .get_or_insert_with(Default::default)
                .conditions
                .get_or_insert_with(Vec::new);
            set_condition(list, cond.clone());
        })
        .await?
        .ok_or_else(|| StoreError::NotFound(crate::store::ObjRef::of::<RestoreBatch>(ns, name)))?;
    if outcome.is_failure() {
        return Err(HookStepError::Failed(message));
    }
    Ok(())
}
