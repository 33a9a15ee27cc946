//! Local mode's CronJob controller. In a cluster the trigger CronJob runs
//! `stash create-backupsession`; here the CronJob object is kept for what it says (schedule,
//! `suspend`, `lastScheduleTime`) and this reconciler does the creating: when a tick is due it
//! creates the BackupSession `<invoker>-<unix seconds of the tick>` — the name makes a second
//! attempt at the same tick a no-op — and records the tick. Ticks missed while nothing ran are
//! caught up once ([`crate::schedule`]).
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus};

use super::backup_session::new_session;
use super::namespace_of;
use crate::context::Ctx;
use crate::error::Result;
use crate::invoker::BackupInvoker;
use crate::next::Next;
use crate::schedule::Schedule;
use crate::store::{StoreError, StoreExt};

pub async fn reconcile(cj: &CronJob, ctx: &Ctx) -> Result<Next> {
    let labels = cj.metadata.labels.clone().unwrap_or_default();
    let (Some(kind), Some(invoker)) = (
        labels.get("stash.appscode.com/invoker-type"),
        labels.get("stash.appscode.com/invoker-name"),
    ) else {
        return Ok(Next::Wait);
    };
    let spec = cj.spec.clone().unwrap_or_default();
    if spec.suspend == Some(true) || spec.schedule.trim().is_empty() {
        return Ok(Next::Wait);
    }
    // An invalid schedule is reported on the invoker (ValidationPassed).
    let Ok(schedule) = Schedule::parse(&spec.schedule) else {
        return Ok(Next::Wait);
    };
    let now = ctx.clock.now();
    let last = cj
        .status
        .as_ref()
        .and_then(|s| s.last_schedule_time.clone())
        .or(cj.metadata.creation_timestamp.clone())
        .map_or(now, |t| crate::reconcile::from_time(&t));
    let due = schedule.due(last, now);
    if let Some(tick) = due.missed {
        let ns = namespace_of(cj);
        if let Some(inv) = BackupInvoker::get(ctx.store.as_ref(), &ns, kind, invoker).await? {
            let session = new_session(&inv, Some(tick.timestamp()));
            match ctx.store.create(&session).await {
                Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
            tracing::info!(invoker = %format!("{kind} {ns}/{invoker}"), tick = %tick, "schedule due: BackupSession created");
        }
        let name = cj.metadata.name.clone().unwrap_or_default();
        ctx.store
            .update_status::<CronJob, _>(&ns, &name, |c| {
                c.status
                    .get_or_insert_with(CronJobStatus::default)
                    .last_schedule_time = Some(crate::reconcile::to_time(tick));
            })
            .await?;
    }
    Ok(match due.next {
        Some(next) => Next::After((next - now).to_std().unwrap_or_default()),
        None => Next::Wait,
    })
}
