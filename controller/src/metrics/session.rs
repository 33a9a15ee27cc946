//! What the reconcilers and steps call: at a session's end, record it with its Repository and
//! push (`MetricsPushed`); in the post-backup action, push the Repository's metrics
//! (`RepositoryMetricsPushed`, where Stash sets it: spec §3.7). Each returns the condition, so
//! a push that failed is a `False` condition naming the Pushgateway and the error, never
//! silence; the session's phase rules then fail the session, as in Stash.
use chrono::{DateTime, Utc};
use stash::api::backup_session::{backup_session_phase, backup_target_phase};
use stash::api::common::set_condition;
use stash::api::conditions::{reasons, types};
use stash::api::restore_session::restore_session_phase;
use stash::api::{
    AppBinding, BackupSession, BackupSessionStatus, Condition, Repository, RestoreSession,
    RestoreSessionStatus, TargetRef,
};

use super::{Invoker, Metrics, Pushgateway};
use crate::context::Ctx;
use crate::error::Result;
use crate::invoker::BackupInvoker;
use crate::reconcile::{condition, name_of, namespace_of};
use crate::store::{ObjectStore, StoreExt};

/// How long ago `created` was, as the session's `sessionDuration` will say.
fn duration_since(created: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let secs = created.map_or(0, |c| (now - c).num_seconds().max(0) as u64);
    stash::api::output::go_duration(std::time::Duration::from_secs(secs))
}

fn created(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<DateTime<Utc>> {
    meta.creation_timestamp
        .as_ref()
        .map(crate::reconcile::from_time)
}

/// The AppBindings that `targets` name (their labels come from the application's type).
async fn app_bindings<'a>(
    store: &dyn ObjectStore,
    ns: &str,
    targets: impl Iterator<Item = &'a TargetRef>,
) -> Result<Vec<AppBinding>> {
    let mut apps = Vec::new();
    for t in targets.filter(|t| t.kind() == "AppBinding") {
        apps.extend(
            store
                .get::<AppBinding>(t.namespace_or(ns), t.name())
                .await?,
        );
    }
    Ok(apps)
}

/// The `MetricsPushed` condition after pushing to `to` (or recording only, without one).
fn pushed(result: Result<Option<String>, super::PushError>, now: DateTime<Utc>) -> Condition {
    match result {
        Ok(Some(url)) => condition(
            types::METRICS_PUSHED,
            true,
            reasons::SUCCESSFULLY_PUSHED_METRICS,
            format!("Successfully pushed the session's metrics to the Pushgateway {url}."),
            now,
        ),
        Ok(None) => condition(
            types::METRICS_PUSHED,
            true,
            reasons::SUCCESSFULLY_PUSHED_METRICS,
            "Successfully recorded the session's metrics (no Pushgateway configured).",
            now,
        ),
        Err(e) => condition(
            types::METRICS_PUSHED,
            false,
            reasons::FAILED_TO_PUSH_METRICS,
            format!("Failed to push the session's metrics. Reason: {e}; set a reachable --pushgateway-url (or STASH_PUSHGATEWAY_URL), or none to keep metrics local."),
            now,
        ),
    }
}

/// A BackupSession whose status `st` is complete: records it as it will end (`MetricsPushed`
/// is the last condition, so the phase and duration are those it gets with it), with its
/// Repository as the store holds it now, and pushes; returns `MetricsPushed`.
pub async fn backup_session_finished(
    ctx: &Ctx,
    session: &BackupSession,
    inv: &BackupInvoker,
    st: &BackupSessionStatus,
    now: DateTime<Utc>,
) -> Result<Condition> {
    let ns = namespace_of(session);
    let mut end = st.clone();
    set_condition(
        end.conditions.get_or_insert_with(Vec::new),
        condition(types::METRICS_PUSHED, true, "", "", now),
    );
    for t in end.targets.iter_mut().flatten() {
        t.phase = Some(backup_target_phase(t));
    }
    end.phase = Some(backup_session_phase(&end));
    end.session_duration
        .get_or_insert_with(|| duration_since(created(&session.metadata), now));
    let mut ended = session.clone();
    ended.status = Some(end);
    let (repo_ns, repo_name) = inv.repository_key();
    let repo = ctx.store.get::<Repository>(&repo_ns, &repo_name).await?;
    let targets = st.targets.iter().flatten().filter_map(|t| t.r#ref.as_ref());
    let apps = app_bindings(ctx.store.as_ref(), &ns, targets).await?;
    let invoker = Invoker::backup(inv);
    let repo_key = repo
        .as_ref()
        .map(|_| (repo_ns.as_str(), repo_name.as_str()));
    // This session's series alone go to the Pushgateway (as Stash pushes a registry per
    // session); the long-lived registry gets the phase the session ends with, which a failed
    // push turns to Failed.
    let one = Metrics::new(ctx.metrics.pushgateway().cloned());
    one.record_backup_session(&ended, &invoker, repo.as_ref(), &apps);
    let result = one.push(&invoker, repo_key).await;
    if result.is_err() {
        if let Some(s) = ended.status.as_mut() {
            s.phase = Some(stash::api::BackupSessionPhase::Failed);
        }
    }
    ctx.metrics
        .record_backup_session(&ended, &invoker, repo.as_ref(), &apps);
    Ok(pushed(result, now))
}

/// A RestoreSession whose status `st` is complete: as [`backup_session_finished`].
pub async fn restore_session_finished(
    ctx: &Ctx,
    rs: &RestoreSession,
    st: &RestoreSessionStatus,
    now: DateTime<Utc>,
) -> Result<Condition> {
    let ns = namespace_of(rs);
    let mut end = st.clone();
    set_condition(
        end.conditions.get_or_insert_with(Vec::new),
        condition(types::METRICS_PUSHED, true, "", "", now),
    );
    end.phase = Some(restore_session_phase(&end));
    end.session_duration
        .get_or_insert_with(|| duration_since(created(&rs.metadata), now));
    let mut ended = rs.clone();
    ended.status = Some(end);
    let repo_ref = rs.spec.repository.clone().unwrap_or_default();
    let repo_ns = repo_ref.namespace_or(&ns).to_string();
    let repo = ctx
        .store
        .get::<Repository>(&repo_ns, &repo_ref.name)
        .await?;
    let target = rs.spec.template.target.as_ref().map(|t| t.target_ref());
    let apps = app_bindings(ctx.store.as_ref(), &ns, target.iter()).await?;
    let repo_key = repo
        .as_ref()
        .map(|_| (repo_ns.as_str(), repo_ref.name.as_str()));
    let invoker = Invoker::restore_session(rs);
    let one = Metrics::new(ctx.metrics.pushgateway().cloned());
    one.record_restore_session(&ended, repo.as_ref(), &apps);
    let result = one.push(&invoker, repo_key).await;
    if result.is_err() {
        if let Some(s) = ended.status.as_mut() {
            s.phase = Some(stash::api::RestorePhase::Failed);
        }
    }
    ctx.metrics
        .record_restore_session(&ended, repo.as_ref(), &apps);
    Ok(pushed(result, now))
}

/// The post-backup action's last step (Stash's `SendRepositoryMetrics`): the Repository's
/// metrics, from its status just written, pushed under the invoker's job to `pushgateway`
/// (from [`super::PUSHGATEWAY_ENV`] in a step); returns `RepositoryMetricsPushed`.
pub async fn push_repository(
    inv: &BackupInvoker,
    repo: &Repository,
    pushgateway: Option<&str>,
    now: DateTime<Utc>,
) -> Condition {
    let failed = |e: &dyn std::fmt::Display| {
        condition(
            types::REPOSITORY_METRICS_PUSHED,
            false,
            reasons::FAILED_TO_PUSH_REPOSITORY_METRICS,
            format!("Failed to push repository metrics. Reason: {e}"),
            now,
        )
    };
    let gw = match pushgateway
        .filter(|u| !u.trim().is_empty())
        .map(Pushgateway::new)
    {
        None => None,
        Some(Ok(gw)) => Some(gw),
        Some(Err(e)) => return failed(&e),
    };
    let metrics = Metrics::new(gw);
    metrics.record_repository(repo);
    let key = (namespace_of(repo), name_of(repo));
    match metrics
        .push(
            &Invoker::backup(inv),
            Some((key.0.as_str(), key.1.as_str())),
        )
        .await
    {
        Ok(Some(url)) => condition(
            types::REPOSITORY_METRICS_PUSHED,
            true,
            reasons::SUCCESSFULLY_PUSHED_REPOSITORY_METRICS,
            format!("Successfully pushed repository metrics to the Pushgateway {url}."),
            now,
        ),
        Ok(None) => condition(
            types::REPOSITORY_METRICS_PUSHED,
            true,
            reasons::SUCCESSFULLY_PUSHED_REPOSITORY_METRICS,
            "Repository metrics are in the Repository's status (no Pushgateway configured).",
            now,
        ),
        Err(e) => failed(&e),
    }
}
