//! RestoreSession (spec §3.8), job model, as a sequence of steps that each derive what to do
//! from what exists, so a crash anywhere resumes cleanly:
//!
//! 1. final (Succeeded, Failed, Unknown) → nothing more;
//! 2. deadline: `sessionDeadline` from `spec.timeOut`, and past it `DeadlineExceeded` (the job
//!    is stopped);
//! 3. before the job starts: the spec is valid (`ValidationPassed`), and the Repository, its
//!    storage Secret and the target exist (`RepositoryFound`, `BackendSecretFound`,
//!    `RestoreTargetFound`), rechecked every 5 s while missing;
//! 4. backups first: while a BackupSession into the same Repository is in progress the
//!    restore stays Pending (rechecked every 5 s), so a backup and a restore started together
//!    (`stash run --once`) restore what was just backed up;
//! 5. the pre-restore hook, a job of its own ([`hooks`]); False fails the restore;
//! 6. executor: one job `stash-restore-<name>` from the resolved restore Task
//!    (`RestoreExecutorEnsured`), `totalHosts`;
//! 7. fold: the hosts' results arrive through the store (written by the Task's
//!    `update-status --restoresession`, [`crate::steps::record::record_restore`]); a job that
//!    ended without reporting marks the restore disrupted (`RestoreDisrupted`, ours);
//! 8. the post-restore hook, as its execution policy says;
//! 9. finish: `MetricsPushed` (always last), the final phase
//!    ([`restore_session_phase`]), the duration and an event.
//!
//! Each pass computes the new status from the one it read plus the facts (job state, the
//! clock, the objects named) and writes it once, and only over the status it read: a host
//! result written meanwhile makes the pass start over on the fresh object, so a stale copy
//! never marks a reported restore disrupted. A pass over an unchanged world writes nothing.
//!
//! Steps 3–4 are in [`check`], 5 and 8 in [`hooks`], the job of step 6 in [`plan`], step 9's
//! event in [`finish`].
use chrono::{DateTime, Utc};
use stash::api::common::{find_condition, set_condition};
use stash::api::conditions::{reasons, types};
use stash::api::restore_batch::RestoreTargetPhase;
use stash::api::restore_session::{
    restore_session_phase, restore_target_phase, RestoreSessionStatus,
};
use stash::api::{Condition, RestorePhase, RestoreSession};

use super::backup_session::parse_go_duration;
use super::{condition, from_time, name_of, namespace_of, to_time};
use crate::context::Ctx;
use crate::error::Result;
use crate::hooks::HookType;
use crate::next::Next;
use crate::runner::{ended_unreported, JobState};
use crate::store::{EventType, StoreExt};
use check::{backup_in_progress, check_objects};
use finish::final_note;

mod check;
mod finish;
pub mod hooks;
mod plan;

pub use plan::{restore_job_name, restore_jobs};

/// How often a restore is looked at while it waits (for an object, a backup) or runs
/// (deadline, a lost job).
const POLL_SECS: u64 = 5;
/// Passes one reconcile makes when host results keep arriving under it.
const MAX_PASSES: usize = 4;
const SOURCE: &str = "RestoreSession Controller";

/// The restore job of session `name`: `stash-restore-<name>`, dots as dashes (Stash's name).
/// The restore jobs of a session with `hosts` hosts.
fn jobs(session: &str, hosts: usize) -> Vec<String> {
    (0..hosts.max(1))
        .map(|o| restore_job_name(session, o, hosts))
        .collect()
}

fn has(st: &RestoreSessionStatus, ty: &str) -> Option<bool> {
    find_condition(st.conditions.as_deref(), ty).map(Condition::is_true)
}

fn set(st: &mut RestoreSessionStatus, c: Condition) {
    set_condition(st.conditions.get_or_insert_with(Vec::new), c);
}

fn target_phase(st: &RestoreSessionStatus) -> RestoreTargetPhase {
    restore_target_phase(
        st.conditions.as_deref(),
        st.total_hosts,
        st.stats.as_deref(),
    )
}

/// Every host reported, or the executor, the job or the pre-restore hook failed.
fn hosts_done(st: &RestoreSessionStatus) -> bool {
    matches!(
        target_phase(st),
        RestoreTargetPhase::Succeeded | RestoreTargetPhase::Failed | RestoreTargetPhase::Unknown
    )
}

/// Nothing will run any more: the hosts are done and the post-restore hook (if any) ran, or
/// the deadline passed.
fn completed(rs: &RestoreSession, st: &RestoreSessionStatus) -> bool {
    has(st, types::DEADLINE_EXCEEDED) == Some(true)
        || (hosts_done(st) && !hooks::post_restore_pending(rs, st))
}

fn created(rs: &RestoreSession, now: DateTime<Utc>) -> DateTime<Utc> {
    rs.metadata
        .creation_timestamp
        .as_ref()
        .map_or(now, from_time)
}

/// An event to record once the pass's status is written.
struct Note {
    type_: EventType,
    reason: &'static str,
    message: String,
}

enum Pass {
    Done(Next),
    /// The stored status moved while the pass ran: start over on this object.
    Moved(Box<RestoreSession>),
}

pub async fn reconcile(rs: &RestoreSession, ctx: &Ctx) -> Result<Next> {
    let mut current = rs.clone();
    for _ in 0..MAX_PASSES {
        match pass(&current, ctx).await? {
            Pass::Done(next) => return Ok(next),
            Pass::Moved(fresh) => current = *fresh,
        }
    }
    Ok(Next::secs(1))
}

async fn pass(rs: &RestoreSession, ctx: &Ctx) -> Result<Pass> {
    let (ns, name) = (namespace_of(rs), name_of(rs));
    let now = ctx.clock.now();
    let old = rs.status.clone().unwrap_or_default();
    if old.phase.is_some_and(RestorePhase::is_final) {
        return Ok(Pass::Done(Next::Wait));
    }
    let mut st = old.clone();
    let mut notes = Vec::new();
    let mut next = advance(rs, &mut st, &mut notes, ctx, now).await?;

    // 9. Finish: metrics are the last condition; after them the phase is final.
    if completed(rs, &st) && has(&st, types::METRICS_PUSHED).is_none() {
        // The session's metrics (and its Repository's), recorded and pushed; a failed push is
        // MetricsPushed=False, which fails the session.
        let pushed = crate::metrics::session::restore_session_finished(ctx, rs, &st, now).await?;
        set(&mut st, pushed);
    }
    st.phase = Some(restore_session_phase(&st));
    let is_final = st.phase.is_some_and(RestorePhase::is_final);
    if is_final {
        if st.session_duration.is_none() {
            let secs = (now - created(rs, now)).num_seconds().max(0) as u64;
            st.session_duration = Some(stash::api::output::go_duration(
                std::time::Duration::from_secs(secs),
            ));
        }
        notes.push(final_note(rs, &st));
        next = Next::Wait;
    }

    if st != old {
        let mut moved = None;
        let new = st.clone();
        let written = ctx
            .store
            .update_status::<RestoreSession, _>(&ns, &name, |s| {
                if s.status.clone().unwrap_or_default() == old {
                    s.status = Some(new.clone());
                    moved = None;
                } else {
                    moved = Some(Box::new(s.clone()));
                }
            })
            .await?;
        if written.is_none() {
            // Deleted meanwhile.
            return Ok(Pass::Done(Next::Wait));
        }
        if let Some(fresh) = moved {
            return Ok(Pass::Moved(fresh));
        }
    }
    for n in notes {
        ctx.store
            .event(rs, n.type_, SOURCE, n.reason, n.message, now)
            .await?;
    }
    Ok(Pass::Done(next))
}

/// Steps 2–8.
async fn advance(
    rs: &RestoreSession,
    st: &mut RestoreSessionStatus,
    notes: &mut Vec<Note>,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> Result<Next> {
    let (ns, name) = (namespace_of(rs), name_of(rs));
    let started = st.total_hosts.is_some() || has(st, types::RESTORE_EXECUTOR_ENSURED).is_some();

    // 2. Deadline.
    let timeout = rs.spec.time_out.as_deref().and_then(parse_go_duration);
    if let (Some(t), None) = (timeout, &st.session_deadline) {
        let deadline = created(rs, now) + chrono::Duration::from_std(t).unwrap_or_default();
        st.session_deadline = Some(to_time(deadline));
    }
    let deadline = st.session_deadline.as_ref().map(from_time);
    if let Some(deadline) = deadline.filter(|d| now > *d) {
        if has(st, types::DEADLINE_EXCEEDED).is_none() {
            let msg = format!(
                "Failed to complete restore within the session deadline {} (spec.timeOut {}).",
                deadline.to_rfc3339(),
                rs.spec.time_out.clone().unwrap_or_default()
            );
            set(
                st,
                condition(
                    types::DEADLINE_EXCEEDED,
                    true,
                    reasons::FAILED_TO_COMPLETE_WITHIN_DEADLINE,
                    msg,
                    now,
                ),
            );
        }
        for job in jobs(&name, st.total_hosts.unwrap_or(1) as usize) {
            ctx.runner.cancel(&job).await;
        }
        for hook in [HookType::PreRestore, HookType::PostRestore] {
            ctx.runner.cancel(&hooks::hook_job_name(hook, &name)).await;
        }
        return Ok(Next::Wait);
    }
    let remaining = deadline.and_then(|d| (d - now).to_std().ok());

    if !started {
        // 3. A valid spec, and everything it names.
        let repo = match check_objects(rs, st, ctx, now).await? {
            Ok(repo) => repo,
            Err(next) => return Ok(next),
        };
        // 4. Backups first.
        let repo_ns = namespace_of(&repo);
        if backup_in_progress(ctx, &repo_ns, &name_of(&repo)).await? {
            return Ok(Next::secs(POLL_SECS));
        }
        // 5. The pre-restore hook.
        if hooks::pre_restore(rs, st, ctx, now, remaining).await? {
            return Ok(Next::secs(POLL_SECS));
        }
        if has(st, types::PRE_RESTORE_HOOK_EXECUTION_SUCCEEDED) == Some(false) {
            return Ok(Next::Wait);
        }
        // 6. The executor.
        match restore_jobs(ctx, rs, &repo, remaining).await? {
            Ok(jobs) => {
                let hosts = jobs.len();
                for job in jobs {
                    ctx.runner.start(job).await?;
                }
                set(
                    st,
                    condition(
                        types::RESTORE_EXECUTOR_ENSURED,
                        true,
                        reasons::SUCCESSFULLY_ENSURED_RESTORE_EXECUTOR,
                        "Successfully ensured restore executor.",
                        now,
                    ),
                );
                st.total_hosts = Some(hosts as i32);
                notes.push(Note {
                    type_: EventType::Normal,
                    reason: "Restore Job Created",
                    message: format!(
                        "restore job has been created successfully for RestoreSession {ns}/{name}"
                    ),
                });
            }
            Err(msg) => {
                set(
                    st,
                    condition(
                        types::RESTORE_EXECUTOR_ENSURED,
                        false,
                        reasons::FAILED_TO_ENSURE_RESTORE_EXECUTOR,
                        format!("Failed to ensure restore executor. Reason: {msg}"),
                        now,
                    ),
                );
                notes.push(Note {
                    type_: EventType::Warning,
                    reason: "Restore Job Creation Failed",
                    message: format!(
                        "failed to create restore job for RestoreSession {ns}/{name}. Reason: {msg}"
                    ),
                });
            }
        }
    }

    // 7. A job that ended without its results.
    if st.total_hosts.is_some() && target_phase(st) == RestoreTargetPhase::Running {
        // Every host's job ended, and a host has not reported.
        let names = jobs(&name, st.total_hosts.unwrap_or(1) as usize);
        let states: Vec<Option<JobState>> = names.iter().map(|j| ctx.runner.state(j)).collect();
        if let Some(why) = ended_unreported(
            &states,
            "the job is gone: stash was stopped while it ran",
            "the job ended without reporting them",
        ) {
            let job = names.join(", ");
            set(
                st,
                condition(
                    types::RESTORE_DISRUPTED,
                    true,
                    reasons::FAILED_TO_COMPLETE_DUE_TO_DISRUPTION,
                    format!("Restore job {job} did not report its hosts. Reason: {why}"),
                    now,
                ),
            );
        }
    }

    // 8. The post-restore hook.
    hooks::post_restore(rs, st, hosts_done(st), ctx, now, remaining).await?;
    Ok(if completed(rs, st) {
        Next::Wait
    } else {
        Next::secs(POLL_SECS)
    })
}

#[cfg(test)]
mod tests;
