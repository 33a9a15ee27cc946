//! Backup invoker rules: BackupConfiguration, BackupBatch (per member) and BackupBlueprint.
//! Retention policy, schedule and durations are checked here because a mistake in them only
//! shows up later, when the CronJob is created or the first session runs.

use super::syntax::{check_cron, parse_go_duration};
use super::{join, Problem};
use crate::api::backup_configuration::BackupConfigurationTemplateSpec;
use crate::api::common::{model, Model, ObjectReference, RetryConfig, Snapshotter, TargetRef};
use crate::api::hooks::{BackupHooks, Handler, PostHook};
use crate::api::repository::RetentionPolicy;
use crate::api::{BackupBatch, BackupBlueprint, BackupConfiguration};

pub(super) fn backup_configuration(bc: &BackupConfiguration) -> Vec<Problem> {
    let mut out = Vec::new();
    let ns = bc.metadata.namespace.as_deref().unwrap_or_default();
    let s = &bc.spec;
    template(&s.template, "spec", ns, &mut out);
    schedule(s.schedule.as_deref(), "spec.schedule", &mut out);
    repository_ref(
        s.repository.as_ref(),
        s.driver(),
        "spec.repository",
        &mut out,
    );
    retention(
        s.retention_policy.as_ref(),
        "spec.retentionPolicy",
        &mut out,
    );
    duration(s.time_out.as_deref(), "spec.timeOut", &mut out);
    retry(s.retry_config.as_ref(), "spec.retryConfig", &mut out);
    out
}

pub(super) fn backup_batch(bb: &BackupBatch) -> Vec<Problem> {
    let mut out = Vec::new();
    let ns = bb.metadata.namespace.as_deref().unwrap_or_default();
    let s = &bb.spec;
    if s.members().is_empty() {
        out.push(Problem::at(
            "spec.members",
            "Required value: a BackupBatch needs at least one member",
        ));
    }
    for (i, m) in s.members().iter().enumerate() {
        template(m, &format!("spec.members[{i}]"), ns, &mut out);
    }
    schedule(s.schedule.as_deref(), "spec.schedule", &mut out);
    repository_ref(
        s.repository.as_ref(),
        s.driver(),
        "spec.repository",
        &mut out,
    );
    retention(
        s.retention_policy.as_ref(),
        "spec.retentionPolicy",
        &mut out,
    );
    if let Some(h) = &s.hooks {
        hooks(h, "spec.hooks", &mut out);
    }
    duration(s.time_out.as_deref(), "spec.timeOut", &mut out);
    retry(s.retry_config.as_ref(), "spec.retryConfig", &mut out);
    out
}

pub(super) fn backup_blueprint(bp: &BackupBlueprint) -> Vec<Problem> {
    let s = &bp.spec;
    let mut out = super::repository::repository_spec(&s.repository, "spec");
    schedule(s.schedule.as_deref(), "spec.schedule", &mut out);
    retention(
        s.retention_policy.as_ref(),
        "spec.retentionPolicy",
        &mut out,
    );
    if let Some(h) = &s.hooks {
        hooks(h, "spec.hooks", &mut out);
    }
    duration(s.time_out.as_deref(), "spec.timeOut", &mut out);
    retry(s.retry_config.as_ref(), "spec.retryConfig", &mut out);
    out
}

fn template(t: &BackupConfigurationTemplateSpec, base: &str, ns: &str, out: &mut Vec<Problem>) {
    if let Some(target) = &t.target {
        let r = target.target_ref();
        target_ref(&r, &join(base, "target.ref"), out);
        cross_namespace(
            &r,
            ns,
            t.task_name(),
            &join(base, "target.ref.namespace"),
            out,
        );
    }
    if let Some(h) = &t.hooks {
        hooks(h, &join(base, "hooks"), out);
    }
}

pub(super) fn target_ref(r: &TargetRef, path: &str, out: &mut Vec<Problem>) {
    if r.kind().is_empty() {
        out.push(Problem::required(join(path, "kind")));
    }
    if r.name().is_empty() {
        out.push(Problem::required(join(path, "name")));
    }
}

/// Stash's `verifyCrossNamespacePermission`: PVC and sidecar-model targets must live in the
/// invoker's namespace (`kubedump*` tasks excepted).
pub(super) fn cross_namespace(
    r: &TargetRef,
    ns: &str,
    task: &str,
    path: &str,
    out: &mut Vec<Problem>,
) {
    let target_ns = r.namespace.as_deref().unwrap_or_default();
    if target_ns.is_empty() || target_ns == ns || task.starts_with("kubedump") {
        return;
    }
    if r.kind() == "PersistentVolumeClaim" || model(r.kind(), task) == Model::Sidecar {
        out.push(Problem::at(
            path,
            format!(
                "cross-namespace target reference is not allowed for {:?}",
                r.kind()
            ),
        ));
    }
}

pub(super) fn repository_ref(
    r: Option<&ObjectReference>,
    driver: Snapshotter,
    path: &str,
    out: &mut Vec<Problem>,
) {
    if driver == Snapshotter::Restic && r.is_none_or(|r| r.name.is_empty()) {
        out.push(Problem::required(join(path, "name")));
    }
}

fn schedule(s: Option<&str>, path: &str, out: &mut Vec<Problem>) {
    if let Some(s) = s.filter(|s| !s.is_empty()) {
        if let Err(e) = check_cron(s) {
            out.push(Problem::at(
                path,
                format!("invalid cron schedule {s:?}: {e}"),
            ));
        }
    }
}

fn retention(r: Option<&RetentionPolicy>, path: &str, out: &mut Vec<Problem>) {
    let Some(r) = r else {
        out.push(Problem::required(path));
        return;
    };
    if r.name.as_deref().unwrap_or_default().is_empty() {
        out.push(Problem::required(join(path, "name")));
    }
    if r.prune.is_none() {
        out.push(Problem::required(join(path, "prune")));
    }
    let keeps = [
        ("keepLast", r.keep_last),
        ("keepHourly", r.keep_hourly),
        ("keepDaily", r.keep_daily),
        ("keepWeekly", r.keep_weekly),
        ("keepMonthly", r.keep_monthly),
        ("keepYearly", r.keep_yearly),
    ];
    for (field, v) in keeps {
        if v.is_some_and(|v| v < 0) {
            out.push(Problem::at(
                join(path, field),
                "must be greater than or equal to 0",
            ));
        }
    }
}

pub(super) fn duration(d: Option<&str>, path: &str, out: &mut Vec<Problem>) {
    if let Some(d) = d {
        match parse_go_duration(d) {
            Err(e) => out.push(Problem::at(path, e)),
            Ok(secs) if secs < 0.0 => out.push(Problem::at(path, "must not be negative")),
            Ok(_) => {}
        }
    }
}

fn retry(r: Option<&RetryConfig>, path: &str, out: &mut Vec<Problem>) {
    let Some(r) = r else { return };
    if r.max_retry.is_some_and(|m| m < 0) {
        out.push(Problem::at(
            join(path, "maxRetry"),
            "must be greater than or equal to 0",
        ));
    }
    duration(r.delay.as_deref(), &join(path, "delay"), out);
}

fn hooks(h: &BackupHooks, path: &str, out: &mut Vec<Problem>) {
    if let Some(pre) = &h.pre_backup {
        handler(pre, &join(path, "preBackup"), out);
    }
    if let Some(post) = &h.post_backup {
        post_hook(post, &join(path, "postBackup"), out);
    }
}

pub(super) fn post_hook(h: &PostHook, path: &str, out: &mut Vec<Problem>) {
    handler(&h.handler(), path, out);
}

/// Exactly one action per hook, as the hook executor needs.
pub(super) fn handler(h: &Handler, path: &str, out: &mut Vec<Problem>) {
    let set = [
        h.exec.is_some(),
        h.http_get.is_some(),
        h.http_post.is_some(),
        h.tcp_socket.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if set != 1 {
        out.push(Problem::at(
            path,
            format!("exactly one of exec, httpGet, httpPost, tcpSocket must be set, found {set}"),
        ));
    }
    if let Some(exec) = &h.exec {
        if exec.command.as_deref().unwrap_or_default().is_empty() {
            out.push(Problem::required(join(path, "exec.command")));
        }
    }
}
