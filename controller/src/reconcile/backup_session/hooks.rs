//! The target's hooks in a session (spec §3.10), each a job of its own running
//! `stash session-action pre-backup-hook|post-backup-hook`, which records the hook's condition
//! on the target:
//!
//! - the pre-backup hook runs first, before the repository is touched; the target's backup
//!   job starts only when `PreBackupHookExecutionSucceeded` is True. False fails the target:
//!   no snapshot, and no post-backup hook;
//! - the post-backup hook runs once the target's backup job ended (either way) and the
//!   post-backup actions are settled, before the session's end. Its policy is decided here
//!   from the summary (a skip records the condition True with Stash's message and starts no
//!   job); False fails the target and so the session.
//!
//! A hook whose condition is present never runs again. A hook job that ended without its
//! condition gets one from the job's own message; one that a restart forgot is started again,
//! as Stash re-runs a hook that has no condition.
use chrono::{DateTime, Utc};
use stash::api::backup_session::{backup_target_phase, BackupTargetStatus, TargetPhase};
use stash::api::common::{find_condition, set_condition};
use stash::api::conditions::types;
use stash::api::{BackupConfiguration, BackupSession, BackupSessionStatus};

use super::super::{name_of, namespace_of};
use super::{action_args, plan};
use crate::context::Ctx;
use crate::error::Result;
use crate::hooks::{decide, Decision, HookType, Summary};
use crate::runner::{JobState, Step};
use crate::steps::hooks::{backup_hook_of, hook_condition};
use crate::store::{ObjRef, StoreExt};

/// The job of `hook` for target `index` of `session`.
pub fn hook_job_name(hook: HookType, session: &str, index: usize) -> String {
    format!("stash-{}-{session}-{index}", hook.action()).replace('.', "-")
}

fn cond<'a>(t: &'a BackupTargetStatus, ty: &str) -> Option<&'a stash::api::Condition> {
    find_condition(t.conditions.as_deref(), ty)
}

/// Whether the target's backup job was started.
pub fn executor_ensured(t: &BackupTargetStatus) -> bool {
    cond(t, types::BACKUP_EXECUTOR_ENSURED).is_some_and(|c| c.is_true())
}

/// Whether target `t` still owes its post-backup hook: one is configured, its backup job ran,
/// its pre-backup hook did not fail, and the hook has no condition yet.
pub fn post_hook_pending(t: &BackupTargetStatus, bc: &BackupConfiguration) -> bool {
    backup_hook_of(bc, HookType::PostBackup).is_some()
        && executor_ensured(t)
        && !cond(t, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_some_and(|c| c.is_false())
        && cond(t, types::POST_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_none()
}

/// Starts the hook's job for target `index`, or folds in how it ended: the condition its step
/// recorded (read afresh: this pass's view may predate it), else one made of the job's message.
async fn follow_job(
    session: &BackupSession,
    st: &mut BackupSessionStatus,
    index: usize,
    hook: HookType,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<()> {
    let (ns, name) = (namespace_of(session), name_of(session));
    let job = hook_job_name(hook, &name, index);
    let state = ctx.runner.state(&job);
    let message = match state {
        None => {
            let steps = vec![Step {
                name: hook.action().into(),
                args: action_args(hook.action(), &ns, &name),
            }];
            let spec = plan::job(ctx, job, ObjRef::to(session), steps, remaining);
            ctx.runner.start(spec).await?;
            return Ok(());
        }
        Some(JobState::Running) => return Ok(()),
        Some(JobState::Succeeded) => None,
        Some(JobState::Failed { message, .. }) => Some(message),
    };
    let Some(t) = st.targets.as_mut().and_then(|t| t.get_mut(index)) else {
        return Ok(());
    };
    let fresh: Option<BackupSession> = ctx.store.get(&ns, &name).await?;
    let recorded = fresh
        .as_ref()
        .and_then(|s| hook_condition(s, t.r#ref.as_ref(), hook))
        .cloned();
    let c = match (recorded, message) {
        (Some(c), _) => c,
        (None, Some(m)) => hook.failed(&m, now),
        // Succeeded: its condition is on its way through the store.
        (None, None) => return Ok(()),
    };
    set_condition(t.conditions.get_or_insert_with(Vec::new), c);
    Ok(())
}

/// Pre-backup hooks; true while one is still to finish. Starting one initiates its target
/// (`totalHosts`), so the session is Running while the hook runs.
pub async fn pre_backup(
    session: &BackupSession,
    bc: &BackupConfiguration,
    st: &mut BackupSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<bool> {
    if backup_hook_of(bc, HookType::PreBackup).is_none() {
        return Ok(false);
    }
    let mut waiting = false;
    for i in 0..st.targets.as_ref().map_or(0, Vec::len) {
        let t = &mut st.targets.as_mut().expect("targets")[i];
        // A target past its executor (the hook was added later) is not held back.
        if cond(t, types::BACKUP_EXECUTOR_ENSURED).is_some()
            || cond(t, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_some()
        {
            continue;
        }
        t.total_hosts.get_or_insert(1);
        follow_job(session, st, i, HookType::PreBackup, ctx, now, remaining).await?;
        let t = &st.targets.as_ref().expect("targets")[i];
        waiting |= cond(t, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_none();
    }
    Ok(waiting)
}

/// Whether the pre-backup hook lets target `t`'s backup job start.
pub fn pre_hook_passed(t: &BackupTargetStatus, bc: &BackupConfiguration) -> bool {
    backup_hook_of(bc, HookType::PreBackup).is_none()
        || cond(t, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_some_and(|c| c.is_true())
}

/// Post-backup hooks of the targets that finished, once the post-backup actions (which the
/// hook's summary reports on) are settled.
pub async fn post_backup(
    session: &BackupSession,
    bc: &BackupConfiguration,
    st: &mut BackupSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<()> {
    let Some((_, policy)) = backup_hook_of(bc, HookType::PostBackup) else {
        return Ok(());
    };
    if !super::actions_settled(st) {
        return Ok(());
    }
    for i in 0..st.targets.as_ref().map_or(0, Vec::len) {
        let t = &st.targets.as_ref().expect("targets")[i];
        let done = matches!(
            backup_target_phase(t),
            TargetPhase::Succeeded | TargetPhase::Failed
        );
        if !done || !post_hook_pending(t, bc) {
            continue;
        }
        let summary = Summary::for_backup(session, st, t.r#ref.as_ref(), now);
        let policy = policy.unwrap_or_default();
        match decide(
            HookType::PostBackup,
            policy,
            &summary.status.phase,
            summary.retry_left,
        ) {
            Decision::Skip(msg) => {
                tracing::info!(session = %name_of(session), "{msg}");
                let t = &mut st.targets.as_mut().expect("targets")[i];
                set_condition(
                    t.conditions.get_or_insert_with(Vec::new),
                    HookType::PostBackup.succeeded(Some(msg), now),
                );
            }
            Decision::Run => {
                follow_job(session, st, i, HookType::PostBackup, ctx, now, remaining).await?
            }
        }
    }
    Ok(())
}
