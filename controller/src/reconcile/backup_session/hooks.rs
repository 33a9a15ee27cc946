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
//! A BackupBatch's global hooks (its own `spec.hooks`) run around all members, recorded
//! among the session's conditions: the global pre-backup hook before any member's hook or
//! backup (False: no member runs, the session fails), the global post-backup hook after every
//! member's post-backup hook, by its policy against the session's outcome.
//!
//! A hook whose condition is present never runs again. A hook job that ended without its
//! condition gets one from the job's own message; one that a restart forgot is started again,
//! as Stash re-runs a hook that has no condition.
use chrono::{DateTime, Utc};
use stash::api::backup_session::{backup_target_phase, BackupTargetStatus, TargetPhase};
use stash::api::common::{find_condition, set_condition};
use stash::api::conditions::types;
use stash::api::{BackupSession, BackupSessionStatus};

use super::super::{name_of, namespace_of};
use super::{action_args, has, plan, set};
use crate::context::Ctx;
use crate::error::Result;
use crate::hooks::{decide, Decision, HookType, Summary};
use crate::invoker::BackupInvoker;
use crate::runner::{JobState, Step};
use crate::steps::hooks::{backup_hook_of, hook_condition};
use crate::store::{ObjRef, StoreExt};

/// The job of `hook` for target `index` of `session` (a global hook has one per session).
pub fn hook_job_name(hook: HookType, session: &str, index: usize) -> String {
    match hook.is_global() {
        true => format!("stash-{}-{session}", hook.action()),
        false => format!("stash-{}-{session}-{index}", hook.action()),
    }
    .replace('.', "-")
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
pub fn post_hook_pending(t: &BackupTargetStatus, inv: &BackupInvoker, index: usize) -> bool {
    backup_hook_of(inv, HookType::PostBackup, index).is_some()
        && executor_ensured(t)
        && !cond(t, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_some_and(|c| c.is_false())
        && cond(t, types::POST_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_none()
}

/// Starts the hook's job for target `index` (a global hook: the session), or folds in how it
/// ended: the condition its step recorded (read afresh: this pass's view may predate it),
/// else one made of the job's message.
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
            let mut args = action_args(hook.action(), &ns, &name);
            if !hook.is_global() {
                args.push(format!("--member={index}"));
            }
            let steps = vec![Step {
                name: hook.action().into(),
                args,
            }];
            let spec = plan::job(ctx, job, ObjRef::to(session), steps, remaining);
            ctx.runner.start(spec).await?;
            return Ok(());
        }
        Some(JobState::Running) => return Ok(()),
        Some(JobState::Succeeded) => None,
        Some(JobState::Failed { message, .. }) => Some(message),
    };
    let fresh: Option<BackupSession> = ctx.store.get(&ns, &name).await?;
    if hook.is_global() {
        let recorded = fresh
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .and_then(|s| find_condition(s.conditions.as_deref(), hook.condition_type()))
            .cloned();
        match (recorded, message) {
            (Some(c), _) => set(st, c),
            (None, Some(m)) => set(st, hook.failed(&m, now)),
            (None, None) => {}
        }
        return Ok(());
    }
    let Some(t) = st.targets.as_mut().and_then(|t| t.get_mut(index)) else {
        return Ok(());
    };
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

/// The batch's global pre-backup hook: `Some(true)` when there is none or it succeeded,
/// `Some(false)` when it failed (no member runs), `None` while it runs.
pub async fn global_pre_backup(
    session: &BackupSession,
    inv: &BackupInvoker,
    st: &mut BackupSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<Option<bool>> {
    let hook = HookType::GlobalPreBackup;
    if backup_hook_of(inv, hook, 0).is_none() {
        return Ok(Some(true));
    }
    if has(st, hook.condition_type()).is_none() {
        follow_job(session, st, 0, hook, ctx, now, remaining).await?;
    }
    Ok(has(st, hook.condition_type()))
}

/// Pre-backup hooks of the members whose turn it is ([`super::may_start`]); true while one
/// is still to finish. Starting one initiates its target (`totalHosts`), so the session is
/// Running while the hook runs.
#[allow(clippy::too_many_arguments)]
pub async fn pre_backup(
    session: &BackupSession,
    inv: &BackupInvoker,
    st: &mut BackupSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
    limit: usize,
) -> Result<bool> {
    let mut waiting = false;
    for i in 0..st.targets.as_ref().map_or(0, Vec::len) {
        if backup_hook_of(inv, HookType::PreBackup, i).is_none() {
            continue;
        }
        let t = &st.targets.as_ref().expect("targets")[i];
        // A target past its executor (the hook was added later) is not held back.
        if cond(t, types::BACKUP_EXECUTOR_ENSURED).is_some()
            || cond(t, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_some()
            || (t.total_hosts.is_none() && !super::may_start(inv, st, i, limit))
        {
            continue;
        }
        let t = &mut st.targets.as_mut().expect("targets")[i];
        t.total_hosts.get_or_insert(1);
        follow_job(session, st, i, HookType::PreBackup, ctx, now, remaining).await?;
        let t = &st.targets.as_ref().expect("targets")[i];
        waiting |= cond(t, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_none();
    }
    Ok(waiting)
}

/// Whether the pre-backup hook lets target `t` (member `index`)'s backup job start.
pub fn pre_hook_passed(t: &BackupTargetStatus, inv: &BackupInvoker, index: usize) -> bool {
    backup_hook_of(inv, HookType::PreBackup, index).is_none()
        || cond(t, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED).is_some_and(|c| c.is_true())
}

/// Post-backup hooks of the targets that finished, once the post-backup actions (which the
/// hook's summary reports on) are settled.
pub async fn post_backup(
    session: &BackupSession,
    inv: &BackupInvoker,
    st: &mut BackupSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<()> {
    if !super::actions_settled(st) {
        return Ok(());
    }
    for i in 0..st.targets.as_ref().map_or(0, Vec::len) {
        let Some((_, policy)) = backup_hook_of(inv, HookType::PostBackup, i) else {
            continue;
        };
        let t = &st.targets.as_ref().expect("targets")[i];
        let done = matches!(
            backup_target_phase(t),
            TargetPhase::Succeeded | TargetPhase::Failed
        );
        if !done || !post_hook_pending(t, inv, i) {
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

/// Whether the batch's global post-backup hook is still owed: one is configured, the global
/// pre-backup hook did not fail, and it has no condition yet.
pub fn global_post_pending(st: &BackupSessionStatus, inv: &BackupInvoker) -> bool {
    backup_hook_of(inv, HookType::GlobalPostBackup, 0).is_some()
        && has(st, types::GLOBAL_PRE_BACKUP_HOOK_SUCCEEDED) != Some(false)
        && has(st, types::GLOBAL_POST_BACKUP_HOOK_SUCCEEDED).is_none()
}

/// The batch's global post-backup hook, once every member's post-backup hook is settled, as
/// its policy says against the whole session's outcome.
pub async fn global_post_backup(
    session: &BackupSession,
    inv: &BackupInvoker,
    st: &mut BackupSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<()> {
    let hook = HookType::GlobalPostBackup;
    let Some((_, policy)) = backup_hook_of(inv, hook, 0) else {
        return Ok(());
    };
    let members_pending = st
        .targets
        .iter()
        .flatten()
        .enumerate()
        .any(|(i, t)| post_hook_pending(t, inv, i));
    if !global_post_pending(st, inv) || !super::actions_settled(st) || members_pending {
        return Ok(());
    }
    if ctx
        .runner
        .state(&hook_job_name(hook, &name_of(session), 0))
        .is_none()
    {
        let summary = Summary::for_backup(session, st, None, now);
        let policy = policy.unwrap_or_default();
        if let Decision::Skip(msg) = decide(hook, policy, &summary.status.phase, summary.retry_left)
        {
            tracing::info!(session = %name_of(session), "{msg}");
            set(st, hook.succeeded(Some(msg), now));
            return Ok(());
        }
    }
    follow_job(session, st, 0, hook, ctx, now, remaining).await
}
