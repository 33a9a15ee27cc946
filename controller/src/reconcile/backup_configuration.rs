//! BackupConfiguration (spec §3.1): finalizer; the Repository, its storage Secret and the
//! target must exist (conditions `RepositoryFound`, `BackendSecretFound`, `BackupTargetFound`,
//! rechecked every 5 s while missing, so creating them later makes the configuration Ready
//! with no user action); admission rules (`ValidationPassed`, a failure names the field); the
//! trigger CronJob `stash-trigger-<name>` with the schedule, suspended while `paused`
//! (`CronJobCreated`); the phase from those conditions. Deleting the configuration deletes the
//! CronJob and releases the finalizer.
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use stash::api::backup_configuration::backup_invoker_phase;
use stash::api::common::set_condition;
use stash::api::conditions::{reasons, types};
use stash::api::validate::{check_repository_usage, validate};
use stash::api::{
    BackupConfiguration, BackupConfigurationStatus, Repository, StashObject, INVOKER_FINALIZER,
};

use super::{condition, name_of, namespace_of, owner_ref};
use crate::context::Ctx;
use crate::error::Result;
use crate::next::Next;
use crate::store::StoreExt;
use crate::targets::target_exists;

/// How often a configuration waiting for its Repository, Secret or target looks again.
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

/// The CronJob's name: `stash-trigger-<name>`, dots as dashes; with the target in another
/// namespace, that namespace is part of it.
pub fn cronjob_name(bc: &BackupConfiguration) -> String {
    let own = namespace_of(bc);
    let target_ns = bc
        .spec
        .template
        .target
        .as_ref()
        .map(|t| t.target_ref().namespace_or(&own).to_string())
        .unwrap_or(own.clone());
    let base = if target_ns != own {
        format!("stash-trigger-{target_ns}-{}", name_of(bc))
    } else {
        format!("stash-trigger-{}", name_of(bc))
    };
    base.replace('.', "-")
}

fn desired_cronjob(bc: &BackupConfiguration) -> CronJob {
    CronJob {
        metadata: ObjectMeta {
            name: Some(cronjob_name(bc)),
            namespace: bc.metadata.namespace.clone(),
            labels: Some(offshoot_labels("BackupConfiguration", &name_of(bc))),
            owner_references: Some(vec![owner_ref(bc)]),
            ..Default::default()
        },
        spec: Some(CronJobSpec {
            schedule: bc.spec.schedule.clone().unwrap_or_default(),
            suspend: Some(bc.spec.paused()),
            job_template: JobTemplateSpec::default(),
            ..Default::default()
        }),
        status: None,
    }
}

/// Creates or updates the CronJob; `Err(message)` when that failed.
async fn ensure_cronjob(ctx: &Ctx, bc: &BackupConfiguration) -> Result<Result<(), String>> {
    let want = desired_cronjob(bc);
    let ns = namespace_of(bc);
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
    let (ns, name) = (namespace_of(bc), name_of(bc));
    let now = ctx.clock.now();
    if bc.metadata.deletion_timestamp.is_some() {
        let cron = cronjob_name(bc);
        ctx.store.delete::<CronJob>(&ns, &cron).await?;
        ctx.store
            .update::<BackupConfiguration, _>(&ns, &name, |b| {
                if let Some(f) = &mut b.metadata.finalizers {
                    f.retain(|f| f != INVOKER_FINALIZER);
                }
            })
            .await?;
        return Ok(Next::Wait);
    }
    if !bc
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == INVOKER_FINALIZER)
    {
        ctx.store
            .update::<BackupConfiguration, _>(&ns, &name, |b| {
                b.metadata
                    .finalizers
                    .get_or_insert_with(Vec::new)
                    .push(INVOKER_FINALIZER.into())
            })
            .await?;
    }

    let mut conds = Vec::new();
    let mut waiting = false;
    // The Repository and its Secret.
    let repo_ref = bc.spec.repository.clone().unwrap_or_default();
    let repo_ns = repo_ref.namespace_or(&ns).to_string();
    let repo = ctx
        .store
        .get::<Repository>(&repo_ns, &repo_ref.name)
        .await?;
    match &repo {
        Some(_) => conds.push(condition(
            types::REPOSITORY_FOUND,
            true,
            reasons::REPOSITORY_AVAILABLE,
            format!("Repository {repo_ns}/{} exist.", repo_ref.name),
            now,
        )),
        None => {
            waiting = true;
            let msg = format!(
                "Repository {repo_ns}/{} does not exist: create it (spec.repository names it)",
                repo_ref.name
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
            let msg = format!("Backend Secret {repo_ns}/{secret} does not exist: create it (Repository {repo_ns}/{} spec.backend.storageSecretName names it)", repo_ref.name);
            conds.push(condition(
                types::BACKEND_SECRET_FOUND,
                false,
                reasons::BACKEND_SECRET_NOT_AVAILABLE,
                msg,
                now,
            ));
        }
    }
    // The target.
    if let Some(t) = bc
        .spec
        .template
        .target
        .as_ref()
        .and_then(|t| t.r#ref.as_ref())
    {
        let tns = t.namespace_or(&ns).to_string();
        let (kind, tname) = (t.kind().to_string(), t.name().to_string());
        if target_exists(ctx, t, &tns).await? {
            conds.push(condition(
                types::BACKUP_TARGET_FOUND,
                true,
                reasons::TARGET_AVAILABLE,
                format!("Backup target {kind} {tns}/{tname} found."),
                now,
            ));
        } else {
            waiting = true;
            let msg = format!("Backup target {kind} {tns}/{tname} does not exist: create it (spec.target.ref names it)");
            conds.push(condition(
                types::BACKUP_TARGET_FOUND,
                false,
                reasons::TARGET_NOT_AVAILABLE,
                msg,
                now,
            ));
        }
    }
    // Admission rules.
    let mut problems: Vec<String> =
        validate(&StashObject::BackupConfiguration(Box::new(bc.clone())))
            .iter()
            .map(|p| p.to_string())
            .collect();
    if let Some(p) = repo
        .as_ref()
        .and_then(|r| check_repository_usage(r, &ns, &Default::default()))
    {
        problems.push(p.to_string());
    }
    if let Some(s) = bc.spec.schedule.as_deref().filter(|s| !s.is_empty()) {
        if let Err(e) = crate::schedule::Schedule::parse(s) {
            problems.push(format!("spec.schedule: {e}"));
        }
    }
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
    match ensure_cronjob(ctx, bc).await? {
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

    let generation = bc.metadata.generation;
    let driver = bc.spec.driver();
    ctx.store
        .update_status::<BackupConfiguration, _>(&ns, &name, |b| {
            let st = b
                .status
                .get_or_insert_with(BackupConfigurationStatus::default);
            let list = st.conditions.get_or_insert_with(Vec::new);
            for c in &conds {
                set_condition(list, c.clone());
            }
            st.phase = Some(backup_invoker_phase(driver, list));
            st.observed_generation = generation;
        })
        .await?;
    Ok(if waiting {
        Next::secs(RECHECK_SECS)
    } else {
        Next::Wait
    })
}
