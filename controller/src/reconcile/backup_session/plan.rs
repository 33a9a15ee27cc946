//! Turning a session's target into a job: the invoker's Task (or the AppBinding's addon Task)
//! resolved with Stash's variables against the catalog ([`crate::reconcile::job`]) into
//! steps. A workload without a Task runs `pvc-backup` over its paths. In local mode the job
//! also gets where the target's volumes and a local repository are on this machine
//! ([`crate::volumes`]). An error here is the user's (an unknown Task, a Function a Task names
//! that does not exist, a claim with no volume) and becomes `BackupExecutorEnsured=False` with
//! its message.
use stash::api::resolve::variables::{addon_task, backup_variables, BackupInputs};
use stash::api::{AppBinding, BackupSession, Repository};

use super::super::{name_of, namespace_of};
use crate::context::Ctx;
use crate::error::Result;
use crate::invoker::BackupInvoker;
use crate::runner::JobSpec;
use crate::store::{ObjRef, StoreExt};
use crate::volumes;

// Shared with restores; kept reachable here for callers that name them through `plan`.
pub use super::super::job::{catalog, job, task_steps, POD_SCRATCH};

/// The jobs of target `index` of `session` (the invoker's member `index`), one per host (a
/// StatefulSet has one per replica), or the message saying why there are none.
pub async fn backup_jobs(
    ctx: &Ctx,
    session: &BackupSession,
    inv: &BackupInvoker,
    repo: &Repository,
    index: usize,
    timeout: Option<std::time::Duration>,
) -> Result<Result<Vec<JobSpec>, String>> {
    let ns = namespace_of(session);
    let Some(template) = inv.members.get(index) else {
        return Ok(Err(format!("{} has no member {index}", inv.display())));
    };
    let target_ref = template
        .target
        .as_ref()
        .map(|t| t.target_ref())
        .unwrap_or_default();
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
        false,
    );
    if task_name.is_empty() {
        task_name = volumes::default_task(target_ref.kind(), false)
            .unwrap_or_default()
            .to_string();
    }
    if task_name.is_empty() {
        return Ok(Err(format!(
            "no Task to run for {} {}: set spec.task.name (e.g. postgres-backup-14.0, pvc-backup)",
            target_ref.kind(),
            target_ref.name()
        )));
    }
    let (task, functions) = catalog(ctx, &task_name).await?;
    let Some(task) = task else {
        return Ok(Err(format!("Task {task_name:?} does not exist (spec.task.name): use one of the catalog's Tasks, e.g. postgres-backup-14.0, or apply your own")));
    };
    let vars = backup_variables(&BackupInputs {
        repository: Some(repo),
        invoker_kind: inv.kind,
        invoker_name: &inv.name(),
        target: template,
        retention_policy: inv.retention_policy.as_ref(),
        session_name: &name_of(session),
        session_namespace: &ns,
        settings: &ctx.settings.operator,
        task_params: &params,
    });
    let alias = template.target.as_ref().and_then(|t| t.alias.as_deref());
    let node_host = volumes::host_name(target_ref.kind(), alias, &volumes::this_node());
    let hosts = match &template.target {
        Some(target) => match volumes::backup_hosts(ctx, &ns, target).await? {
            Ok(h) => h,
            Err(msg) => return Ok(Err(msg)),
        },
        None => vec![volumes::Host::default()],
    };
    let own_hostname = params.iter().any(|p| p.name == "HOSTNAME");
    let count = hosts.len();
    let mut jobs = Vec::with_capacity(count);
    for (ordinal, host) in hosts.into_iter().enumerate() {
        let mut vars = vars.clone();
        if let Some(h) = host.name.or(node_host.clone()).filter(|_| !own_hostname) {
            vars.insert("HOSTNAME".into(), h);
        }
        let steps = match task_steps(&task, &functions, &vars) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let name = backup_job_name(&name_of(session), index, ordinal, count);
        let mut job = job(ctx, name, ObjRef::to(session), steps, timeout);
        volumes::attach(&mut job, repo, &host.mounts);
        jobs.push(job);
    }
    Ok(Ok(jobs))
}

/// The backup job of host `ordinal` of target `index` (of `hosts`): `stash-backup-<session>-<index>`,
/// with `-<ordinal>` when the target has several hosts.
pub fn backup_job_name(session: &str, index: usize, ordinal: usize, hosts: usize) -> String {
    let name = if hosts > 1 {
        format!("stash-backup-{session}-{index}-{ordinal}")
    } else {
        format!("stash-backup-{session}-{index}")
    };
    name.replace('.', "-")
}
