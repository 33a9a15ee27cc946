//! The restore's hooks (spec §3.8), each a job of its own running
//! `stash session-action pre-restore-hook|post-restore-hook`, which records the hook's
//! condition among the RestoreSession's conditions:
//!
//! - the pre-restore hook runs after the backups the restore waits for and before the restore
//!   job; False fails the restore: nothing is restored, and no post-restore hook runs;
//! - the post-restore hook runs once every host reported (or the job was disrupted), before the
//!   final phase. Its policy is decided here from the summary (a skip records the condition
//!   True with Stash's message and starts no job); False fails the restore.
//!
//! As for backups, a hook whose condition is present never runs again, and a hook job that
//! ended without its condition gets one made of the job's message.
use chrono::{DateTime, Utc};
use stash::api::common::{find_condition, set_condition};
use stash::api::conditions::types;
use stash::api::restore_session::RestoreSessionStatus;
use stash::api::RestoreSession;

use super::{has, name_of, namespace_of};
use crate::context::Ctx;
use crate::error::Result;
use crate::hooks::{decide, Decision, HookType, Summary};
use crate::reconcile::job::job;
use crate::runner::{JobState, Step};
use crate::steps::hooks::restore_hook_of;
use crate::store::{ObjRef, StoreExt};

/// The job of `hook` for RestoreSession `name`.
pub fn hook_job_name(hook: HookType, name: &str) -> String {
    format!("stash-{}-{name}", hook.action()).replace('.', "-")
}

/// Starts the hook's job, or folds in how it ended: the condition its step recorded (read
/// afresh: this pass's view may predate it), else one made of the job's message.
async fn follow_job(
    rs: &RestoreSession,
    st: &mut RestoreSessionStatus,
    hook: HookType,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<()> {
    let (ns, name) = (namespace_of(rs), name_of(rs));
    let job_name = hook_job_name(hook, &name);
    let message = match ctx.runner.state(&job_name) {
        None => {
            let steps = vec![Step {
                name: hook.action().into(),
                args: vec![
                    "session-action".into(),
                    hook.action().into(),
                    format!("--namespace={ns}"),
                    format!("--restoresession={name}"),
                ],
            }];
            let spec = job(ctx, job_name, ObjRef::to(rs), steps, remaining);
            ctx.runner.start(spec).await?;
            return Ok(());
        }
        Some(JobState::Running) => return Ok(()),
        Some(JobState::Succeeded) => None,
        Some(JobState::Failed { message, .. }) => Some(message),
    };
    let fresh: Option<RestoreSession> = ctx.store.get(&ns, &name).await?;
    let recorded = fresh
        .and_then(|r| r.status)
        .and_then(|s| find_condition(s.conditions.as_deref(), hook.condition_type()).cloned());
    let c = match (recorded, message) {
        (Some(c), _) => c,
        (None, Some(m)) => hook.failed(&m, now),
        // Succeeded: its condition is on its way through the store.
        (None, None) => return Ok(()),
    };
    set_condition(st.conditions.get_or_insert_with(Vec::new), c);
    Ok(())
}

/// The pre-restore hook; true while it is still to finish.
pub async fn pre_restore(
    rs: &RestoreSession,
    st: &mut RestoreSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<bool> {
    if restore_hook_of(rs, HookType::PreRestore).is_none()
        || has(st, types::PRE_RESTORE_HOOK_EXECUTION_SUCCEEDED).is_some()
    {
        return Ok(false);
    }
    follow_job(rs, st, HookType::PreRestore, ctx, now, remaining).await?;
    Ok(has(st, types::PRE_RESTORE_HOOK_EXECUTION_SUCCEEDED).is_none())
}

/// Whether the restore still owes its post-restore hook: one is configured, the restore job
/// was started, and the hook has no condition yet.
pub fn post_restore_pending(rs: &RestoreSession, st: &RestoreSessionStatus) -> bool {
    restore_hook_of(rs, HookType::PostRestore).is_some()
        && has(st, types::RESTORE_EXECUTOR_ENSURED) == Some(true)
        && has(st, types::POST_RESTORE_HOOK_EXECUTION_SUCCEEDED).is_none()
}

/// The post-restore hook, once the hosts are done (`hosts_done`).
pub async fn post_restore(
    rs: &RestoreSession,
    st: &mut RestoreSessionStatus,
    hosts_done: bool,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<()> {
    if !hosts_done || !post_restore_pending(rs, st) {
        return Ok(());
    }
    let Some((_, policy)) = restore_hook_of(rs, HookType::PostRestore) else {
        return Ok(());
    };
    let summary = Summary::for_restore(rs, st, now);
    match decide(
        HookType::PostRestore,
        policy.unwrap_or_default(),
        &summary.status.phase,
        0,
    ) {
        Decision::Skip(msg) => {
            tracing::info!(restore = %name_of(rs), "{msg}");
            set_condition(
                st.conditions.get_or_insert_with(Vec::new),
                HookType::PostRestore.succeeded(Some(msg), now),
            );
        }
        Decision::Run => follow_job(rs, st, HookType::PostRestore, ctx, now, remaining).await?,
    }
    Ok(())
}
