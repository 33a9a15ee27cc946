//! The end of a session: history cleanup (`BackupHistoryCleaned`), metrics (`MetricsPushed`,
//! always the last condition, after which the phase is final), an event, and retries of a
//! failed session (spec §3.3 step 1, §3.12).
use chrono::{DateTime, Utc};
use stash::api::backup_session::HostBackupPhase;
use stash::api::conditions::{reasons, types};
use stash::api::{BackupSession, BackupSessionPhase, BackupSessionStatus};

use super::super::{condition, name_of, namespace_of};
use super::{has, new_session, parse_go_duration, set};
use crate::context::Ctx;
use crate::error::Result;
use crate::invoker::BackupInvoker;
use crate::next::Next;
use crate::store::{EventType, Selector, StoreError, StoreExt};

const SOURCE: &str = "BackupSession Controller";

fn created(s: &BackupSession) -> Option<DateTime<Utc>> {
    s.metadata
        .creation_timestamp
        .as_ref()
        .map(crate::reconcile::from_time)
}

/// Deletes completed sessions of the invoker beyond `backupHistoryLimit` (default 1), newest
/// kept first; `session` (finishing now) counts as the newest completed one and is never
/// deleted here.
async fn clean_history(
    session: &BackupSession,
    inv: &BackupInvoker,
    ctx: &Ctx,
) -> Result<Result<usize, String>> {
    let ns = namespace_of(session);
    let limit = inv.backup_history_limit;
    let invoker_name = inv.name();
    let selector = Selector::labels([
        ("stash.appscode.com/invoker-name", invoker_name.as_str()),
        ("stash.appscode.com/invoker-type", inv.kind),
    ]);
    let mut all = ctx
        .store
        .list::<BackupSession>(Some(&ns), &selector)
        .await?;
    all.retain(|s| {
        name_of(s) != name_of(session)
            && s.status
                .as_ref()
                .and_then(|st| st.phase)
                .is_some_and(BackupSessionPhase::is_final)
    });
    all.sort_by(|a, b| {
        created(b)
            .cmp(&created(a))
            .then_with(|| name_of(b).cmp(&name_of(a)))
    });
    let keep = usize::try_from(limit.max(1) - 1).unwrap_or(0);
    let mut deleted = 0;
    for old in all.iter().skip(keep) {
        match ctx.store.delete::<BackupSession>(&ns, &name_of(old)).await {
            Ok(_) => deleted += 1,
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => return Ok(Err(e.to_string())),
        }
    }
    Ok(Ok(deleted))
}

/// Step 8, for a completed session: history, then metrics, which makes the phase final.
pub async fn finish(
    session: &BackupSession,
    inv: &BackupInvoker,
    st: &mut BackupSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> Result<Next> {
    if has(st, types::BACKUP_HISTORY_CLEANED).is_none() {
        match clean_history(session, inv, ctx).await? {
            Ok(n) => set(
                st,
                condition(
                    types::BACKUP_HISTORY_CLEANED,
                    true,
                    reasons::SUCCESSFULLY_CLEANED_BACKUP_HISTORY,
                    format!("Successfully cleaned up backup history ({n} old sessions removed)."),
                    now,
                ),
            ),
            Err(e) => set(
                st,
                condition(
                    types::BACKUP_HISTORY_CLEANED,
                    false,
                    reasons::FAILED_TO_CLEAN_BACKUP_HISTORY,
                    format!("Failed to cleanup backup history. Reason: {e}"),
                    now,
                ),
            ),
        }
    }
    if has(st, types::METRICS_PUSHED).is_none() {
        // The session's metrics (and its Repository's), recorded and pushed; a failed push is
        // MetricsPushed=False, which fails the session.
        let pushed = crate::metrics::session::backup_session_finished(ctx, session, inv, st, now);
        let pushed = pushed.await?;
        set(st, pushed);
    }
    Ok(Next::Wait)
}

/// Once, when the phase has just become final: the event.
pub async fn after_final(
    session: &BackupSession,
    old: &BackupSessionStatus,
    st: &BackupSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> Result<()> {
    if old.phase.is_some_and(BackupSessionPhase::is_final) {
        return Ok(());
    }
    let phase = st.phase.unwrap_or(BackupSessionPhase::Unknown);
    let (type_, reason) = match phase {
        BackupSessionPhase::Succeeded => (EventType::Normal, "BackupSession Succeeded"),
        BackupSessionPhase::Skipped => (EventType::Normal, "BackupSession Skipped"),
        _ => (EventType::Warning, "BackupSession Failed"),
    };
    // The session's own conditions first, then its targets' (a failed hook, a disruption),
    // then the first failed host, named with its target (a batch has several).
    let target_conditions = st
        .targets
        .iter()
        .flatten()
        .flat_map(|t| t.conditions.iter().flatten());
    let host_error = st.targets.iter().flatten().find_map(|t| {
        let host = t
            .stats
            .iter()
            .flatten()
            .find(|h| h.phase == Some(HostBackupPhase::Failed))?;
        let r = t.r#ref.clone().unwrap_or_default();
        Some(format!(
            "{} {} host {}: {}",
            r.kind(),
            r.name(),
            host.hostname.clone().unwrap_or_default(),
            host.error.clone().unwrap_or_default()
        ))
    });
    let why = st
        .conditions
        .iter()
        .flatten()
        .chain(target_conditions)
        .find(|c| {
            (c.type_ == types::BACKUP_SKIPPED && c.is_true())
                || (c.type_ == types::DEADLINE_EXCEEDED && c.is_true())
                || (c.type_ == types::BACKUP_DISRUPTED && c.is_true())
                || c.is_false()
        })
        .and_then(|c| c.message.clone())
        .or(host_error);
    let mut msg = format!("BackupSession {} is {phase:?}", name_of(session));
    if let Some(w) = why.filter(|_| phase != BackupSessionPhase::Succeeded) {
        msg.push_str(&format!(": {w}"));
    }
    ctx.store
        .event(session, type_, SOURCE, reason, msg, now)
        .await?;
    Ok(())
}

/// A final session: if it Failed with retries left and was not retried yet, wait for
/// `retryConfig.delay` after it ended, then create the next one (`retryLeft - 1`) and mark this
/// one `retried`.
pub async fn retry(session: &BackupSession, ctx: &Ctx) -> Result<Next> {
    let st = session.status.clone().unwrap_or_default();
    let left = session.spec.retry_left.unwrap_or(0);
    if st.phase != Some(BackupSessionPhase::Failed) || left <= 0 || st.retried == Some(true) {
        return Ok(Next::Wait);
    }
    let (ns, name) = (namespace_of(session), name_of(session));
    let invoker = session.spec.invoker.clone().unwrap_or_default();
    let Some(inv) =
        BackupInvoker::get(ctx.store.as_ref(), &ns, &invoker.kind, &invoker.name).await?
    else {
        return Ok(Next::Wait);
    };
    let now = ctx.clock.now();
    let delay = inv
        .retry_config
        .as_ref()
        .and_then(|r| r.delay.as_deref())
        .and_then(parse_go_duration)
        .unwrap_or_default();
    let Some(at) = st.next_retry.clone() else {
        let at = now + chrono::Duration::from_std(delay).unwrap_or_default();
        ctx.store
            .update_status::<BackupSession, _>(&ns, &name, |s| {
                s.status.get_or_insert_with(Default::default).next_retry =
                    Some(crate::reconcile::to_time(at))
            })
            .await?;
        return Ok(Next::After(delay));
    };
    if now < crate::reconcile::from_time(&at) {
        return Ok(Next::After(
            (crate::reconcile::from_time(&at) - now)
                .to_std()
                .unwrap_or_default(),
        ));
    }
    let mut next = new_session(&inv, Some(now.timestamp()));
    next.spec.retry_left = Some(left - 1);
    match ctx.store.create(&next).await {
        Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    ctx.store
        .update_status::<BackupSession, _>(&ns, &name, |s| {
            s.status.get_or_insert_with(Default::default).retried = Some(true)
        })
        .await?;
    Ok(Next::Wait)
}
