//! Backup invokers (spec §3.1): a BackupConfiguration, and a BackupBatch the same way with
//! one target per member. Finalizer; the Repository, its storage Secret and the targets must
//! exist (conditions `RepositoryFound`, `BackendSecretFound`, `BackupTargetFound` — a batch's
//! per member in `memberConditions` — rechecked every 5 s while missing, so creating them
//! later makes the invoker Ready with no user action); admission rules (`ValidationPassed`, a
//! failure names the field); the trigger CronJob `stash-trigger-<name>` with the schedule,
//! suspended while `paused` (`CronJobCreated`); the phase from those conditions. Deleting the
//! invoker deletes the CronJob and releases the finalizer.
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use stash::api::backup_batch::MemberConditions;
use stash::api::backup_configuration::backup_invoker_phase;
use stash::api::common::set_condition;
use stash::api::conditions::{reasons, types};
use stash::api::validate::{check_repository_usage, validate};
use stash::api::{
    BackupBatch, BackupBatchStatus, BackupConfiguration, BackupConfigurationStatus, Condition,
    Repository, StashObject, INVOKER_FINALIZER,
};

use super::condition;
use crate::context::Ctx;
use crate::error::Result;
use crate::invoker::BackupInvoker;
use crate::next::Next;
use crate::store::{Object, StoreExt};
use crate::targets::target_exists;

/// How often an invoker waiting for its Repository, Secret or target looks again.
const RECHECK_SECS: u64 = 5;

/// Labels on everything made for an invoker (Stash's common labels).
pub fn offshoot_labels(kind: &str, name: &str) -> std::collections::BTreeMap<String, String> {
    [
        ("app.kubernetes.io/component", "stash-backup"),
        ("app.kubernetes.io/managed-by", "stash.appscode.com"),
        ("stash.appscode.com/invoker-type", kind),
        ("stash.appscode.com/invoker-name", name),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The CronJob's name: `stash-trigger-<name>`, dots as dashes; with a configuration's target
/// in another namespace, that namespace is part of it.
pub fn cronjob_name(inv: &BackupInvoker) -> String {
    let own = inv.namespace();
    let target_ns = match inv.kind {
        crate::invoker::BACKUP_CONFIGURATION => inv
            .target_ref(0)
            .map(|t| t.namespace_or(&own).to_string())
            .unwrap_or(own.clone()),
        _ => own.clone(),
    };
    let base = if target_ns != own {
        format!("stash-trigger-{target_ns}-{}", inv.name())
    } else {
        format!("stash-trigger-{}", inv.name())
    };
    base.replace('.', "-")
}

fn desired_cronjob(inv: &BackupInvoker) -> CronJob {
    CronJob {
        metadata: ObjectMeta {
            name: Some(cronjob_name(inv)),
            namespace: inv.metadata.namespace.clone(),
            labels: Some(offshoot_labels(inv.kind, &inv.name())),
            owner_references: Some(vec![inv.owner.clone()]),
            ..Default::default()
        },
        spec: Some(CronJobSpec {
            schedule: inv.schedule.clone().unwrap_or_default(),
            suspend: Some(inv.paused),
            job_template: JobTemplateSpec::default(),
            ..Default::default()
        }),
        status: None,
    }
}

/// Creates or updates the CronJob; `Err(message)` when that failed.
async fn ensure_cronjob(ctx: &Ctx, inv: &BackupInvoker) -> Result<Result<(), String>> {
    let want = desired_cronjob(inv);
    let ns = inv.namespace();
    let name = want.metadata.name.clone().unwrap_or_default();
    match ctx.store.get::<CronJob>(&ns, &name).await? {
        None => match ctx.store.create(&want).await {
            Ok(_) => Ok(Ok(())),
            Err(e) if e.is_retryable() => Err(e.into()),
            Err(e) => Ok(Err(e.to_string())),
        },
        Some(_) => {
            ctx.store
                .update::<CronJob, _>(&ns, &name, |cj| {
                    cj.spec = want.spec.clone();
                    cj.metadata.labels = want.metadata.labels.clone();
                })
                .await?;
            Ok(Ok(()))
        }
    }
}

pub async fn reconcile(bc: &BackupConfiguration, ctx: &Ctx) -> Result<Next> {
    let inv = BackupInvoker::from(bc);
    let object = StashObject::BackupConfiguration(Box::new(bc.clone()));
    let Some(mut found) = examine::<BackupConfiguration>(&inv, object, ctx).await? else {
        return Ok(Next::Wait);
    };
    // A configuration's one target is among its own conditions.
    found.conditions.extend(
        found
            .members
            .pop()
            .into_iter()
            .flat_map(|m| m.conditions)
            .flatten(),
    );
    let (generation, driver) = (bc.metadata.generation, bc.spec.driver());
    ctx.store
        .update_status::<BackupConfiguration, _>(&inv.namespace(), &inv.name(), |b| {
            let st = b
                .status
                .get_or_insert_with(BackupConfigurationStatus::default);
            let list = st.conditions.get_or_insert_with(Vec::new);
            for c in &found.conditions {
                set_condition(list, c.clone());
            }
            st.phase = Some(backup_invoker_phase(driver, list));
            st.observed_generation = generation;
        })
        .await?;
    Ok(found.next())
}

/// A BackupBatch: as a configuration, with each member's target in `memberConditions`.
pub async fn reconcile_batch(batch: &BackupBatch, ctx: &Ctx) -> Result<Next> {
    let inv = BackupInvoker::from(batch);
    let object = StashObject::BackupBatch(Box::new(batch.clone()));
    let Some(found) = examine::<BackupBatch>(&inv, object, ctx).await? else {
        return Ok(Next::Wait);
    };
    let (generation, driver) = (batch.metadata.generation, batch.spec.driver());
    ctx.store
        .update_status::<BackupBatch, _>(&inv.namespace(), &inv.name(), |b| {
            let st = b.status.get_or_insert_with(BackupBatchStatus::default);
            let list = st.conditions.get_or_insert_with(Vec::new);
            for c in &found.conditions {
                set_condition(list, c.clone());
            }
            st.phase = Some(backup_invoker_phase(driver, list));
            let members = st.member_conditions.get_or_insert_with(Vec::new);
            members.retain(|m| found.members.iter().any(|f| f.target == m.target));
            for f in &found.members {
                let i = match members.iter().position(|m| m.target == f.target) {
                    Some(i) => i,
                    None => {
                        members.push(MemberConditions {
                            target: f.target.clone(),
                            conditions: None,
                        });
                        members.len() - 1
                    }
                };
                let mine = members[i].conditions.get_or_insert_with(Vec::new);
                for c in f.conditions.iter().flatten() {
                    set_condition(mine, c.clone());
                }
            }
            st.observed_generation = generation;
        })
        .await?;
    Ok(found.next())
}

/// What an invoker's reconcile found.
struct Found {
    conditions: Vec<Condition>,
    /// Per member: `BackupTargetFound`.
    members: Vec<MemberConditions>,
    /// Something is missing: look again soon.
    waiting: bool,
}

impl Found {
    fn next(&self) -> Next {
        if self.waiting {
            Next::secs(RECHECK_SECS)
        } else {
            Next::Wait
        }
    }
}

/// The finalizer (or, for an invoker being deleted, the CronJob's removal and the
/// finalizer's release: `None`), then the conditions of what the invoker needs.
async fn examine<T: Object>(
    inv: &BackupInvoker,
    object: StashObject,
    ctx: &Ctx,
) -> Result<Option<Found>> {
    let (ns, name) = (inv.namespace(), inv.name());
    let now = ctx.clock.now();
    if inv.metadata.deletion_timestamp.is_some() {
        ctx.store.delete::<CronJob>(&ns, &cronjob_name(inv)).await?;
        ctx.store
            .update::<T, _>(&ns, &name, |o| {
                if let Some(f) = &mut o.meta_mut().finalizers {
                    f.retain(|f| f != INVOKER_FINALIZER);
                }
            })
            .await?;
        return Ok(None);
    }
    if !inv
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == INVOKER_FINALIZER)
    {
        ctx.store
            .update::<T, _>(&ns, &name, |o| {
                o.meta_mut()
                    .finalizers
                    .get_or_insert_with(Vec::new)
                    .push(INVOKER_FINALIZER.into())
            })
            .await?;
    }

    let mut conds = Vec::new();
    let mut waiting = false;
    // The Repository and its Secret.
    let (repo_ns, repo_name) = inv.repository_key();
    let repo = ctx.store.get::<Repository>(&repo_ns, &repo_name).await?;
    match &repo {
        Some(_) => conds.push(condition(
            types::REPOSITORY_FOUND,
            true,
            reasons::REPOSITORY_AVAILABLE,
            format!("Repository {repo_ns}/{repo_name} exist."),
            now,
        )),
        None => {
            waiting = true;
            let msg = format!(
                "Repository {repo_ns}/{repo_name} does not exist: create it (spec.repository names it)"
            );
            conds.push(condition(
                types::REPOSITORY_FOUND,
                false,
                reasons::REPOSITORY_NOT_AVAILABLE,
                msg,
                now,
            ));
        }
    }
    if let Some(r) = &repo {
        let secret = r
            .spec
            .backend
            .as_ref()
            .and_then(|b| b.storage_secret_name.clone())
            .unwrap_or_default();
        if ctx.store.get::<Secret>(&repo_ns, &secret).await?.is_some() {
            conds.push(condition(
                types::BACKEND_SECRET_FOUND,
                true,
                reasons::BACKEND_SECRET_AVAILABLE,
                format!("Backend Secret {repo_ns}/{secret} exist."),
                now,
            ));
        } else {
            waiting = true;
            let msg = format!("Backend Secret {repo_ns}/{secret} does not exist: create it (Repository {repo_ns}/{repo_name} spec.backend.storageSecretName names it)");
            conds.push(condition(
                types::BACKEND_SECRET_FOUND,
                false,
                reasons::BACKEND_SECRET_NOT_AVAILABLE,
                msg,
                now,
            ));
        }
    }
    // The targets.
    let batch = inv.kind == crate::invoker::BACKUP_BATCH;
    let mut members = Vec::new();
    for (i, m) in inv.members.iter().enumerate() {
        let Some(t) = m.target.as_ref().and_then(|t| t.r#ref.as_ref()) else {
            continue;
        };
        let tns = t.namespace_or(&ns).to_string();
        let (kind, tname) = (t.kind().to_string(), t.name().to_string());
        let c = if target_exists(ctx, t, &tns).await? {
            condition(
                types::BACKUP_TARGET_FOUND,
                true,
                reasons::TARGET_AVAILABLE,
                format!("Backup target {kind} {tns}/{tname} found."),
                now,
            )
        } else {
            waiting = true;
            let field = match batch {
                true => format!("spec.members[{i}].target.ref"),
                false => "spec.target.ref".into(),
            };
            let msg = format!(
                "Backup target {kind} {tns}/{tname} does not exist: create it ({field} names it)"
            );
            condition(
                types::BACKUP_TARGET_FOUND,
                false,
                reasons::TARGET_NOT_AVAILABLE,
                msg,
                now,
            )
        };
        members.push(MemberConditions {
            target: inv.target_ref(i).unwrap_or_default(),
            conditions: Some(vec![c]),
        });
    }
    // Admission rules.
    let mut problems: Vec<String> = validate(&object).iter().map(|p| p.to_string()).collect();
    if let Some(p) = repo
        .as_ref()
        .and_then(|r| check_repository_usage(r, &ns, &Default::default()))
    {
        problems.push(p.to_string());
    }
    if let Some(s) = inv.schedule.as_deref().filter(|s| !s.is_empty()) {
        if let Err(e) = crate::schedule::Schedule::parse(s) {
            problems.push(format!("spec.schedule: {e}"));
        }
    }
    problems.extend(shared_hosts(inv));
    if problems.is_empty() {
        conds.push(condition(
            types::VALIDATION_PASSED,
            true,
            reasons::RESOURCE_VALIDATION_PASSED,
            "Successfully validated.",
            now,
        ));
    } else {
        conds.push(condition(
            types::VALIDATION_PASSED,
            false,
            reasons::RESOURCE_VALIDATION_FAILED,
            problems.join("; "),
            now,
        ));
    }
    // The trigger.
    match ensure_cronjob(ctx, inv).await? {
        Ok(()) => conds.push(condition(
            types::CRON_JOB_CREATED,
            true,
            reasons::CRON_JOB_CREATION_SUCCEEDED,
            "Successfully created backup triggering CronJob.",
            now,
        )),
        Err(e) => conds.push(condition(
            types::CRON_JOB_CREATED,
            false,
            reasons::CRON_JOB_CREATION_FAILED,
            format!("Failed to create backup triggering CronJob. Reason: {e}"),
            now,
        )),
    }
    Ok(Some(Found {
        conditions: conds,
        members,
        waiting,
    }))
}

/// Batch members whose snapshots would share restic's grouping (host and paths), so that the
/// retention policy of one would remove the other's: two databases (AppBindings) dump to
/// `host-0` (or their alias) under the same file name (`/dumpfile.sql` for PostgreSQL and
/// MySQL alike). Stash accepts such a batch; here it is refused with the fix.
fn shared_hosts(inv: &BackupInvoker) -> Vec<String> {
    let alias = |i: usize| {
        inv.members[i]
            .target
            .as_ref()
            .and_then(|t| t.alias.clone())
            .filter(|a| !a.is_empty())
    };
    let is_db = |i: usize| inv.target_ref(i).is_some_and(|t| t.kind() == "AppBinding");
    let mut problems = Vec::new();
    for j in 0..inv.members.len() {
        if let Some(i) = (0..j).find(|&i| is_db(i) && is_db(j) && alias(i) == alias(j)) {
            let host = alias(j).unwrap_or_else(|| "host-0".into());
            problems.push(format!(
                "spec.members[{j}].target.alias: members {i} and {j} are both databases backed up as host {host:?}: their dumps would share one retention group; give each its own alias"
            ));
        }
    }
    problems
}
