//! The restore job: the restore Task (the target's `spec.task.name`, else the AppBinding's
//! addon restore Task, else `pvc-restore` for volumes) resolved with Stash's restore variables against the catalog
//! ([`crate::reconcile::job`]: the user's Functions and Tasks override the built-in ones). An
//! error here is the user's (no Task named, an unknown Task, a Function it names that does not
//! exist, a claim with no volume, a shape this controller cannot run) and becomes `RestoreExecutorEnsured=False` with
//! its message.
use stash::api::common::Snapshotter;
use stash::api::resolve::variables::{
    addon_task, restore_host_vars, restore_variables, RestoreInputs,
};
use stash::api::{AppBinding, Repository, RestoreSession};

use super::super::job::{catalog, job, task_steps};
use super::super::{name_of, namespace_of};
use crate::context::Ctx;
use crate::error::Result;
use crate::runner::JobSpec;
use crate::store::{ObjRef, StoreExt};
use crate::volumes;

/// The jobs of `rs`, one per host (a StatefulSet has one per replica, each restoring what the
/// rules give its host), or the message saying why there are none.
pub async fn restore_jobs(
    ctx: &Ctx,
    rs: &RestoreSession,
    repo: &Repository,
    timeout: Option<std::time::Duration>,
) -> Result<Result<Vec<JobSpec>, String>> {
    let ns = namespace_of(rs);
    // The deprecated `spec.rules` apply as Stash's webhook would have moved them.
    let mut rs = rs.clone();
    rs.migrate();
    let template = &rs.spec.template;
    if rs.spec.driver() == Snapshotter::VolumeSnapshotter {
        return Ok(Err(
            "spec.driver VolumeSnapshotter is not supported: restore with the Restic driver".into(),
        ));
    }
    let target = template.target.as_ref();
    if let Some(n) = target.and_then(|t| t.replicas).filter(|n| *n > 1) {
        return Ok(Err(format!(
            "spec.target.replicas is {n}: restoring several replicas (one job per ordinal) is not supported yet; use 1"
        )));
    }
    let target_ref = target.map(|t| t.target_ref()).unwrap_or_default();
    let appbinding = if target_ref.kind() == "AppBinding" {
        ctx.store
            .get::<AppBinding>(target_ref.namespace_or(&ns), target_ref.name())
            .await?
    } else {
        None
    };
    let (mut task_name, params) = addon_task(
        template.task.as_ref(),
        &target_ref,
        appbinding.as_ref(),
        true,
    );
    if task_name.is_empty() {
        task_name = volumes::default_task(target_ref.kind(), true)
            .unwrap_or_default()
            .to_string();
    }
    if task_name.is_empty() {
        return Ok(Err(format!(
            "no Task to run for {} {}: set spec.task.name (e.g. postgres-restore-14.0, pvc-restore)",
            target_ref.kind(),
            target_ref.name()
        )));
    }
    let (task, functions) = catalog(ctx, &task_name).await?;
    let Some(task) = task else {
        let named_by = if template.task_name().is_empty() {
            format!(
                "AppBinding {}/{} parameters.stash.addon.restoreTask.name",
                target_ref.namespace_or(&ns),
                target_ref.name()
            )
        } else {
            "spec.task.name".to_string()
        };
        return Ok(Err(format!(
            "Task {task_name:?} does not exist ({named_by}): use one of the catalog's Tasks, e.g. postgres-restore-14.0, or apply your own"
        )));
    };
    let vars = restore_variables(&RestoreInputs {
        repository: Some(repo),
        invoker_kind: "RestoreSession",
        invoker_name: &name_of(&rs),
        invoker_namespace: &ns,
        target: template,
        settings: &ctx.settings.operator,
        task_params: &params,
    });
    let hosts = match target {
        Some(t) => match volumes::restore_hosts(ctx, &ns, t).await? {
            Ok(h) => h,
            Err(msg) => return Ok(Err(msg)),
        },
        None => vec![volumes::Host::default()],
    };
    let own_hostname = params.iter().any(|p| p.name == "HOSTNAME");
    let rules = target.map(|t| t.rules()).unwrap_or_default();
    let count = hosts.len();
    let mut jobs = Vec::with_capacity(count);
    for (ordinal, host) in hosts.into_iter().enumerate() {
        let mut vars = vars.clone();
        if let Some(h) = host.name.as_deref().filter(|_| !own_hostname) {
            restore_host_vars(&mut vars, h, rules);
        }
        let steps = match task_steps(&task, &functions, &vars) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let name = restore_job_name(&name_of(&rs), ordinal, count);
        let mut job = job(ctx, name, ObjRef::to(&rs), steps, timeout);
        volumes::attach(&mut job, repo, &host.mounts);
        jobs.push(job);
    }
    Ok(Ok(jobs))
}

/// The restore job of host `ordinal` (of `hosts`): `stash-restore-<name>`, with `-<ordinal>`
/// when the target has several hosts.
pub fn restore_job_name(name: &str, ordinal: usize, hosts: usize) -> String {
    let name = if hosts > 1 {
        format!("stash-restore-{name}-{ordinal}")
    } else {
        format!("stash-restore-{name}")
    };
    name.replace('.', "-")
}
