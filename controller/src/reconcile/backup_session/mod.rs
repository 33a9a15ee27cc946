//! BackupSession (spec §3.3), as a sequence of steps that each derive what to do from what
//! exists, so a crash anywhere resumes cleanly:
//!
//! 1. final → retry if the invoker asks for one ([`finish::retry`]);
//! 2. deadline: store `sessionDeadline`, and past it `DeadlineExceeded` (jobs are stopped);
//! 3. skip: the invoker is not Ready, or another of its sessions runs → `BackupSkipped`;
//! 4. a batch's global pre-backup hook, then each member's pre-backup hook, a job each, before
//!    anything else ([`hooks`]); a failed global hook stops every member, a failed member
//!    hook fails its target, which then takes no backup;
//! 5. pre-backup action: the repository is initialised once (`BackendRepositoryInitialized`),
//!    by a job of its own;
//! 6. targets (a configuration's one, a batch's members): each gets its jobs (the resolved
//!    Task), `totalHosts` and its actions — a Sequential batch's member once every earlier
//!    member is done (failed or not), a Parallel batch's while fewer than
//!    `max_parallel_members` are under way;
//! 7. fold: the hosts' results arrive through the store (written by the Task's
//!    `update-status`); a job that ended without reporting marks its target disrupted;
//! 8. post-backup actions, once, after every target: retention, integrity check, the
//!    Repository's status — a job of their own;
//! 9. post-backup hooks, per target, after its backup ended and the actions are settled,
//!    as their execution policy says; then a batch's global post-backup hook;
//! 10. finish: history cleanup, metrics, the final phase, duration and events.
//!
//! Each pass computes the new status from the old one plus the facts (job states, the clock)
//! and writes what it changed once, merged into the stored status so that a step's
//! concurrent write is kept; a pass over an unchanged world writes nothing.
use chrono::{DateTime, Utc};
use stash::api::backup_session::{
    backup_session_phase, backup_target_phase, BackupTargetStatus, TargetPhase,
};
use stash::api::common::{find_condition, set_condition};
use stash::api::conditions::{actions, reasons, types};
use stash::api::{
    BackupInvokerPhase, BackupSession, BackupSessionPhase, BackupSessionStatus, Condition,
    Repository,
};

use super::{condition, name_of, namespace_of};
use crate::context::Ctx;
use crate::error::Result;
use crate::hooks::HookType;
use crate::invoker::BackupInvoker;
use crate::next::Next;
use crate::runner::{ended_unreported, JobState, Step};
use crate::store::{ObjRef, Selector, StoreExt};

mod finish;
pub mod hooks;
mod new;
pub mod plan;

pub use hooks::hook_job_name;
pub use new::new_session;

/// How often a running session is looked at even without a change (deadlines, lost jobs).
const POLL_SECS: u64 = 5;

fn has(st: &BackupSessionStatus, ty: &str) -> Option<bool> {
    find_condition(st.conditions.as_deref(), ty).map(Condition::is_true)
}

fn set(st: &mut BackupSessionStatus, c: Condition) {
    set_condition(st.conditions.get_or_insert_with(Vec::new), c);
}

/// Job names of a session's own actions.
pub fn init_job_name(session: &str) -> String {
    format!("stash-init-{session}").replace('.', "-")
}
pub fn post_job_name(session: &str) -> String {
    format!("stash-post-{session}").replace('.', "-")
}

/// Parses a Go duration (`1m`, `1h30m`, `90s`, `2.5h`).
pub fn parse_go_duration(s: &str) -> Option<std::time::Duration> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let c = rest.chars().next()?;
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            rest = &rest[1..];
            continue;
        }
        let (unit, secs) = [
            ("ms", 0.001),
            ("us", 1e-6),
            ("ns", 1e-9),
            ("h", 3600.0),
            ("m", 60.0),
            ("s", 1.0),
        ]
        .into_iter()
        .find(|(u, _)| rest.starts_with(u))?;
        total += num.parse::<f64>().ok()? * secs;
        num.clear();
        rest = &rest[unit.len()..];
    }
    num.is_empty()
        .then(|| std::time::Duration::from_secs_f64(total))
}

pub async fn reconcile(session: &BackupSession, ctx: &Ctx) -> Result<Next> {
    let (ns, name) = (namespace_of(session), name_of(session));
    let now = ctx.clock.now();
    let old = session.status.clone().unwrap_or_default();
    if old.phase.is_some_and(BackupSessionPhase::is_final) {
        return finish::retry(session, ctx).await;
    }
    let invoker = session.spec.invoker.clone().unwrap_or_default();
    let inv = BackupInvoker::get(ctx.store.as_ref(), &ns, &invoker.kind, &invoker.name).await?;
    let mut st = old.clone();
    let mut next = Next::Wait;
    match &inv {
        None => {
            let msg = format!(
                "Skipped taking backup. Reason: {} {ns}/{} does not exist.",
                invoker.kind, invoker.name
            );
            set(
                &mut st,
                condition(
                    types::BACKUP_SKIPPED,
                    true,
                    reasons::SKIPPED_TAKING_NEW_BACKUP,
                    msg,
                    now,
                ),
            );
        }
        Some(inv) => next = advance(session, inv, &mut st, ctx, now).await?,
    }
    // Without an invoker the session ends Skipped: its condition is already set.
    if let Some(inv) = inv.as_ref().filter(|inv| session_completed(&st, inv)) {
        next = finish::finish(session, inv, &mut st, ctx, now).await?;
    }
    for t in st.targets.iter_mut().flatten() {
        t.phase = Some(backup_target_phase(t));
    }
    st.phase = Some(backup_session_phase(&st));
    if st.phase.is_some_and(BackupSessionPhase::is_final) && st.session_duration.is_none() {
        let created = session
            .metadata
            .creation_timestamp
            .clone()
            .map_or(now, |t| crate::reconcile::from_time(&t));
        st.session_duration = Some(stash::api::output::go_duration(
            std::time::Duration::from_secs((now - created).num_seconds().max(0) as u64),
        ));
    }
    if st != old {
        // Decisions above (a job that ended "without reporting") hold only for the status they
        // were made on: if a step wrote meanwhile, look again at the fresh object instead.
        let fresh = ctx.store.get::<BackupSession>(&ns, &name).await?;
        if fresh.and_then(|f| f.metadata.resource_version) != session.metadata.resource_version {
            return Ok(Next::After(std::time::Duration::ZERO));
        }
        ctx.store
            .update_status::<BackupSession, _>(&ns, &name, |s| {
                merge_status(s.status.get_or_insert_with(Default::default), &old, &st)
            })
            .await?;
    }
    if st.phase.is_some_and(BackupSessionPhase::is_final) {
        finish::after_final(session, &old, &st, ctx, now).await?;
        return Ok(Next::Wait);
    }
    Ok(next)
}

/// Applies what a pass changed (`old` → `new`) to the stored status `cur`: fields it changed
/// are set, conditions it changed are upserted by type, targets by reference — the way Stash
/// merges status updates — so results a step wrote meanwhile are kept.
fn merge_status(
    cur: &mut BackupSessionStatus,
    old: &BackupSessionStatus,
    new: &BackupSessionStatus,
) {
    fn field<T: Clone + PartialEq>(cur: &mut T, old: &T, new: &T) {
        if old != new {
            *cur = new.clone();
        }
    }
    fn conditions(
        cur: &mut Option<Vec<Condition>>,
        old: Option<&[Condition]>,
        new: Option<&[Condition]>,
    ) {
        for c in new.unwrap_or_default() {
            if find_condition(old, &c.type_) != Some(c) {
                set_condition(cur.get_or_insert_with(Vec::new), c.clone());
            }
        }
    }
    field(&mut cur.phase, &old.phase, &new.phase);
    field(
        &mut cur.session_duration,
        &old.session_duration,
        &new.session_duration,
    );
    field(
        &mut cur.session_deadline,
        &old.session_deadline,
        &new.session_deadline,
    );
    field(&mut cur.retried, &old.retried, &new.retried);
    field(&mut cur.next_retry, &old.next_retry, &new.next_retry);
    conditions(
        &mut cur.conditions,
        old.conditions.as_deref(),
        new.conditions.as_deref(),
    );
    let same = |a: &BackupTargetStatus, b: &BackupTargetStatus| {
        crate::steps::record::same_target(a.r#ref.as_ref(), b.r#ref.as_ref())
    };
    for n in new.targets.iter().flatten() {
        let o = old
            .targets
            .iter()
            .flatten()
            .find(|o| same(o, n))
            .cloned()
            .unwrap_or_default();
        let targets = cur.targets.get_or_insert_with(Vec::new);
        let c = match targets.iter().position(|c| same(c, n)) {
            Some(i) => &mut targets[i],
            None => {
                targets.push(BackupTargetStatus {
                    r#ref: n.r#ref.clone(),
                    ..Default::default()
                });
                targets.last_mut().expect("just pushed")
            }
        };
        field(&mut c.total_hosts, &o.total_hosts, &n.total_hosts);
        field(&mut c.stats, &o.stats, &n.stats);
        field(
            &mut c.pre_backup_actions,
            &o.pre_backup_actions,
            &n.pre_backup_actions,
        );
        field(
            &mut c.post_backup_actions,
            &o.post_backup_actions,
            &n.post_backup_actions,
        );
        conditions(
            &mut c.conditions,
            o.conditions.as_deref(),
            n.conditions.as_deref(),
        );
        c.phase = Some(backup_target_phase(c));
    }
}

/// Every target done and what follows it settled, or nothing will run any more (skipped, a
/// global hook failed, the deadline passed).
fn session_completed(st: &BackupSessionStatus, inv: &BackupInvoker) -> bool {
    if has(st, types::BACKUP_SKIPPED) == Some(true)
        || has(st, types::DEADLINE_EXCEEDED) == Some(true)
        || has(st, types::GLOBAL_PRE_BACKUP_HOOK_SUCCEEDED) == Some(false)
    {
        return true;
    }
    actions_settled(st)
        && !st
            .targets
            .iter()
            .flatten()
            .enumerate()
            .any(|(i, t)| hooks::post_hook_pending(t, inv, i))
        && !hooks::global_post_pending(st, inv)
}

fn target_done(t: &BackupTargetStatus) -> bool {
    matches!(
        backup_target_phase(t),
        TargetPhase::Succeeded | TargetPhase::Failed
    )
}

/// Whether member `i` may start (its pre-backup hook or its backup): in a Sequential batch
/// once every earlier member is done, failed or not; otherwise while fewer than `limit`
/// members are under way.
fn may_start(inv: &BackupInvoker, st: &BackupSessionStatus, i: usize, limit: usize) -> bool {
    let targets = st.targets.as_deref().unwrap_or_default();
    if inv.is_sequential() {
        return targets.iter().take(i).all(target_done);
    }
    let under_way = targets
        .iter()
        .filter(|t| t.total_hosts.is_some() && !target_done(t))
        .count();
    under_way < limit.max(1)
}

/// Every target done, and the post-backup actions done or not to be run.
fn actions_settled(st: &BackupSessionStatus) -> bool {
    let targets = st.targets.as_deref().unwrap_or_default();
    if targets.is_empty() || !targets.iter().all(target_done) {
        return false;
    }
    // Post-backup actions run only when every target succeeded; they are done when their
    // conditions are in.
    let all_ok = targets
        .iter()
        .all(|t| backup_target_phase(t) == TargetPhase::Succeeded);
    !all_ok
        || has(st, types::RETENTION_POLICY_APPLIED).is_some()
            && has(st, types::REPOSITORY_INTEGRITY_VERIFIED).is_some()
}

/// Creates the target entries, one per member (a BackupConfiguration has one).
fn ensure_targets(st: &mut BackupSessionStatus, inv: &BackupInvoker) {
    let targets = st.targets.get_or_insert_with(Vec::new);
    if targets.is_empty() {
        targets.extend((0..inv.members.len()).map(|i| BackupTargetStatus {
            r#ref: inv.target_ref(i),
            ..Default::default()
        }));
    }
}

/// Steps 2–9.
async fn advance(
    session: &BackupSession,
    inv: &BackupInvoker,
    st: &mut BackupSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> Result<Next> {
    let (ns, name) = (namespace_of(session), name_of(session));
    let started = st.targets.as_ref().is_some_and(|t| !t.is_empty());

    // 2. Deadline.
    let timeout = inv.time_out.as_deref().and_then(parse_go_duration);
    if let (Some(t), None) = (timeout, &st.session_deadline) {
        let created = session
            .metadata
            .creation_timestamp
            .clone()
            .map_or(now, |t| crate::reconcile::from_time(&t));
        st.session_deadline = Some(crate::reconcile::to_time(
            created + chrono::Duration::from_std(t).unwrap_or_default(),
        ));
    }
    if let Some(deadline) = st.session_deadline.clone() {
        if now > crate::reconcile::from_time(&deadline) {
            if has(st, types::DEADLINE_EXCEEDED).is_none() {
                let msg = format!(
                    "Failed to complete backup within the session deadline {} (spec.timeOut {}).",
                    crate::reconcile::from_time(&deadline).to_rfc3339(),
                    inv.time_out.clone().unwrap_or_default()
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
            for job in session_jobs(&name, st) {
                ctx.runner.cancel(&job).await;
            }
            return Ok(Next::Wait);
        }
    }

    // 3. Skip.
    if !started && has(st, types::BACKUP_SKIPPED).is_none() {
        let reason = if inv.phase != Some(BackupInvokerPhase::Ready) {
            Some(format!(
                "Skipped taking backup. Reason: {} is not ready.",
                inv.display()
            ))
        } else {
            let invoker_name = inv.name();
            let selector = Selector::labels([
                ("stash.appscode.com/invoker-name", invoker_name.as_str()),
                ("stash.appscode.com/invoker-type", inv.kind),
            ]);
            let running = ctx
                .store
                .list::<BackupSession>(Some(&ns), &selector)
                .await?;
            running
                .iter()
                .find(|o| {
                    name_of(*o) != name
                        && o.status.as_ref().and_then(|s| s.phase)
                            == Some(BackupSessionPhase::Running)
                })
                .map(|o| {
                    format!(
                        "Skipped taking backup. Reason: Previous BackupSession: {} is \"Running\".",
                        name_of(o)
                    )
                })
        };
        if let Some(msg) = reason {
            set(
                st,
                condition(
                    types::BACKUP_SKIPPED,
                    true,
                    reasons::SKIPPED_TAKING_NEW_BACKUP,
                    msg,
                    now,
                ),
            );
            return Ok(Next::Wait);
        }
    }

    let remaining = st
        .session_deadline
        .as_ref()
        .and_then(|d| (crate::reconcile::from_time(d) - now).to_std().ok());

    // 4. Pre-backup hooks, before the repository is touched: a batch's global one first.
    ensure_targets(st, inv);
    match hooks::global_pre_backup(session, inv, st, ctx, now, remaining).await? {
        Some(true) => {}
        Some(false) => return Ok(Next::Wait),
        None => return Ok(Next::secs(POLL_SECS)),
    }
    let limit = ctx.settings.max_parallel_members;
    if hooks::pre_backup(session, inv, st, ctx, now, remaining, limit).await? {
        return Ok(Next::secs(POLL_SECS));
    }
    let pre_failed = |t: &BackupTargetStatus| {
        find_condition(
            t.conditions.as_deref(),
            types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED,
        )
        .is_some_and(Condition::is_false)
    };
    if st.targets.iter().flatten().all(pre_failed) {
        // Every pre-backup hook failed: nothing is backed up.
        return Ok(Next::Wait);
    }

    let (repo_ns, repo_name) = inv.repository_key();
    let Some(repo) = ctx.store.get::<Repository>(&repo_ns, &repo_name).await? else {
        // The invoker was Ready a moment ago; wait for it to notice.
        return Ok(Next::secs(POLL_SECS));
    };

    // 5. The repository, once.
    match has(st, types::BACKEND_REPOSITORY_INITIALIZED) {
        None => {
            let job_name = init_job_name(&name);
            if ctx.runner.state(&job_name).is_none()
                && init_running_elsewhere(ctx, session, &repo).await?
            {
                return Ok(Next::secs(1));
            }
            let steps = vec![Step {
                name: "init-repository".into(),
                args: action_args("init-repository", &ns, &name),
            }];
            let spec = plan::job(ctx, job_name.clone(), ObjRef::to(session), steps, remaining);
            match ctx.runner.state(&job_name) {
                None => ctx.runner.start(spec).await?,
                Some(JobState::Failed { message, .. }) => {
                    let msg = format!("Failed to initialize backend repository. Reason: {message}");
                    set(
                        st,
                        condition(
                            types::BACKEND_REPOSITORY_INITIALIZED,
                            false,
                            reasons::FAILED_TO_INITIALIZE_BACKEND_REPOSITORY,
                            msg,
                            now,
                        ),
                    );
                }
                // Succeeded: its condition is on its way through the store.
                Some(_) => {}
            }
            if has(st, types::BACKEND_REPOSITORY_INITIALIZED).is_none() {
                return Ok(Next::secs(POLL_SECS));
            }
        }
        Some(false) => {}
        Some(true) => {}
    }
    let repo_failed = has(st, types::BACKEND_REPOSITORY_INITIALIZED) == Some(false);

    // 6. Targets, once their pre-backup hook passed and their turn came.
    let count = st.targets.as_ref().map_or(0, Vec::len);
    for i in 0..count {
        let t = &st.targets.as_ref().expect("targets")[i];
        if find_condition(t.conditions.as_deref(), types::BACKUP_EXECUTOR_ENSURED).is_some()
            || !hooks::pre_hook_passed(t, inv, i)
            || (t.total_hosts.is_none() && !may_start(inv, st, i, limit))
        {
            continue;
        }
        let planned = match repo_failed {
            true => Err("the backend repository could not be initialized (see the BackendRepositoryInitialized condition)".to_string()),
            false => plan::backup_jobs(ctx, session, inv, &repo, i, remaining).await?,
        };
        let t = &mut st.targets.as_mut().expect("targets")[i];
        let conds = t.conditions.get_or_insert_with(Vec::new);
        match planned {
            Ok(jobs) => {
                let hosts = jobs.len();
                for job in jobs {
                    ctx.runner.start(job).await?;
                }
                set_condition(
                    conds,
                    condition(
                        types::BACKUP_EXECUTOR_ENSURED,
                        true,
                        reasons::SUCCESSFULLY_ENSURED_BACKUP_EXECUTOR,
                        "Successfully ensured backup executor.",
                        now,
                    ),
                );
                t.total_hosts = Some(hosts as i32);
                if i == 0 {
                    t.pre_backup_actions =
                        Some(vec![actions::INITIALIZE_BACKEND_REPOSITORY.into()]);
                }
                if i + 1 == count {
                    let post = [
                        actions::APPLY_RETENTION_POLICY,
                        actions::VERIFY_REPOSITORY_INTEGRITY,
                        actions::SEND_REPOSITORY_METRICS,
                    ];
                    t.post_backup_actions = Some(post.iter().map(|a| a.to_string()).collect());
                }
            }
            Err(msg) => {
                let msg = format!("Failed to ensure backup executor. Reason: {msg}");
                set_condition(
                    conds,
                    condition(
                        types::BACKUP_EXECUTOR_ENSURED,
                        false,
                        reasons::FAILED_TO_ENSURE_BACKUP_EXECUTOR,
                        msg,
                        now,
                    ),
                );
            }
        }
    }

    // 7. Jobs that ended without their results.
    for (i, t) in st.targets.iter_mut().flatten().enumerate() {
        if !hooks::executor_ensured(t) || backup_target_phase(t) != TargetPhase::Running {
            continue;
        }
        // Every host's job ended, and a host has not reported.
        let states: Vec<Option<JobState>> = target_jobs(&name, i, t)
            .iter()
            .map(|j| ctx.runner.state(j))
            .collect();
        let Some(why) = ended_unreported(
            &states,
            "the backup job is gone: stash was stopped while it ran",
            "the backup job ended without reporting its hosts",
        ) else {
            continue;
        };
        let msg = format!(
            "Backup of {} {} was disrupted. Reason: {why}",
            t.r#ref.as_ref().map(|r| r.kind()).unwrap_or_default(),
            t.r#ref.as_ref().map(|r| r.name()).unwrap_or_default()
        );
        set_condition(
            t.conditions.get_or_insert_with(Vec::new),
            condition(
                types::BACKUP_DISRUPTED,
                true,
                reasons::FAILED_TO_COMPLETE_DUE_TO_DISRUPTION,
                msg,
                now,
            ),
        );
    }

    // 8. Post-backup actions, once, when every target succeeded.
    let targets = st.targets.as_deref().unwrap_or_default();
    let all_ok = !targets.is_empty()
        && targets
            .iter()
            .all(|t| backup_target_phase(t) == TargetPhase::Succeeded);
    if all_ok && has(st, types::RETENTION_POLICY_APPLIED).is_none() {
        let job_name = post_job_name(&name);
        match ctx.runner.state(&job_name) {
            None => {
                let steps = vec![Step {
                    name: "post-backup".into(),
                    args: action_args("post-backup", &ns, &name),
                }];
                ctx.runner
                    .start(plan::job(
                        ctx,
                        job_name,
                        ObjRef::to(session),
                        steps,
                        remaining,
                    ))
                    .await?;
            }
            Some(JobState::Failed { message, .. }) => {
                let msg = format!("Failed to apply retention policy. Reason: {message}");
                set(
                    st,
                    condition(
                        types::RETENTION_POLICY_APPLIED,
                        false,
                        reasons::FAILED_TO_APPLY_RETENTION_POLICY,
                        msg,
                        now,
                    ),
                );
                let msg = "Repository integrity was not verified: the post-backup actions failed.";
                set(
                    st,
                    condition(
                        types::REPOSITORY_INTEGRITY_VERIFIED,
                        false,
                        reasons::FAILED_TO_VERIFY_REPOSITORY_INTEGRITY,
                        msg,
                        now,
                    ),
                );
            }
            Some(_) => {}
        }
    }

    // 9. Post-backup hooks: the members', then the batch's global one.
    hooks::post_backup(session, inv, st, ctx, now, remaining).await?;
    hooks::global_post_backup(session, inv, st, ctx, now, remaining).await?;
    Ok(if session_completed(st, inv) {
        Next::Wait
    } else {
        Next::secs(POLL_SECS)
    })
}

/// Whether another session is initialising `repo` right now. Two inits of one empty backend
/// would each write a config and a key, and the sessions would then write with different
/// master keys; so a session waits, and its own init then finds the repository there.
async fn init_running_elsewhere(
    ctx: &Ctx,
    session: &BackupSession,
    repo: &Repository,
) -> Result<bool> {
    let (repo_ns, repo_name) = (namespace_of(repo), name_of(repo));
    for other in ctx
        .store
        .list::<BackupSession>(None, &Selector::all())
        .await?
    {
        let other_name = name_of(&other);
        let other_ns = namespace_of(&other);
        if (other_ns == namespace_of(session) && other_name == name_of(session))
            || ctx.runner.state(&init_job_name(&other_name)) != Some(JobState::Running)
        {
            continue;
        }
        let r = other.spec.invoker.clone().unwrap_or_default();
        let Some(other_inv) =
            BackupInvoker::get(ctx.store.as_ref(), &other_ns, &r.kind, &r.name).await?
        else {
            continue;
        };
        if other_inv.repository_key() == (repo_ns.clone(), repo_name.clone()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The command line of a session's own action (`init-repository`, `post-backup`, the hooks).
fn action_args(action: &str, ns: &str, session: &str) -> Vec<String> {
    vec![
        "session-action".into(),
        action.into(),
        format!("--namespace={ns}"),
        format!("--backupsession={session}"),
    ]
}

/// The backup jobs of target `index`, one per host.
fn target_jobs(session: &str, index: usize, t: &BackupTargetStatus) -> Vec<String> {
    let hosts = t.total_hosts.unwrap_or(1).max(1) as usize;
    (0..hosts)
        .map(|o| plan::backup_job_name(session, index, o, hosts))
        .collect()
}

/// Every job a session may have started.
fn session_jobs(name: &str, st: &BackupSessionStatus) -> Vec<String> {
    let targets = st.targets.as_deref().unwrap_or_default();
    let n = targets.len();
    let mut jobs: Vec<String> = targets
        .iter()
        .enumerate()
        .flat_map(|(i, t)| target_jobs(name, i, t))
        .collect();
    jobs.extend((0..n).flat_map(|i| {
        [HookType::PreBackup, HookType::PostBackup].map(|h| hook_job_name(h, name, i))
    }));
    jobs.extend(
        [HookType::GlobalPreBackup, HookType::GlobalPostBackup].map(|h| hook_job_name(h, name, 0)),
    );
    jobs.push(init_job_name(name));
    jobs.push(post_job_name(name));
    jobs
}

#[cfg(test)]
mod tests;
