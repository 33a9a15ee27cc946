//! `stash.appscode.com/v1beta1` BackupConfiguration: one target, a schedule, a Repository and a
//! retention policy. [`BackupConfigurationTemplateSpec`] (task, target, runtime settings, temp dir,
//! interim volume, hooks) is shared with BackupBatch members and BackupBlueprints; Go inlines it,
//! here it is a `#[serde(flatten)]` field so the wire shape is identical.

use k8s_openapi::api::core::v1 as core;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Condition, EmptyDirSettings, ObjectReference, RetryConfig, Snapshotter, TargetRef, TaskRef,
};
use super::hooks::BackupHooks;
use super::repository::RetentionPolicy;
use super::runtime::{PersistentVolumeClaimTemplate, RuntimeSettings};

/// The per-target part of a backup invoker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupConfigurationTemplateSpec {
    /// Task to run (job model); empty for the sidecar model and for KubeDB AppBindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<BackupTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_settings: Option<RuntimeSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_dir: Option<EmptyDirSettings>,
    /// PVC holding dumps before upload (job model only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interim_volume_template: Option<PersistentVolumeClaimTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<BackupHooks>,
}

impl BackupConfigurationTemplateSpec {
    pub fn task_name(&self) -> &str {
        self.task.as_ref().map(TaskRef::name).unwrap_or_default()
    }
}

/// What to back up and how to name it in the repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupTarget {
    /// Host identifier override (see host naming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#ref: Option<TargetRef>,
    /// Paths to back up; one restic snapshot per path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<core::VolumeMount>>,
    /// Replicas to back up (VolumeSnapshotter / StatefulSet), default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(
        default,
        rename = "snapshotClassName",
        skip_serializing_if = "Option::is_none"
    )]
    pub volume_snapshot_class_name: Option<String>,
    /// restic `--exclude` patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    /// Extra arguments for `restic backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

impl BackupTarget {
    pub fn target_ref(&self) -> TargetRef {
        self.r#ref.clone().unwrap_or_default()
    }
}

/// BackupConfiguration spec.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "stash.appscode.com",
    version = "v1beta1",
    kind = "BackupConfiguration",
    plural = "backupconfigurations",
    singular = "backupconfiguration",
    namespaced,
    status = "BackupConfigurationStatus",
    shortname = "bc",
    category = "stash",
    category = "appscode",
    category = "all",
    printcolumn(name = "Task", type_ = "string", json_path = ".spec.task.name"),
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule"),
    printcolumn(name = "Paused", type_ = "boolean", json_path = ".spec.paused"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    doc = "BackupConfiguration schedules backups of one target into a Repository"
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::schema::require_retention_policy)]
pub struct BackupConfigurationSpec {
    #[serde(flatten)]
    pub template: BackupConfigurationTemplateSpec,
    /// Cron expression of the triggering CronJob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Restic"))]
    pub driver: Option<Snapshotter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<ObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_policy: Option<RetentionPolicy>,
    /// Suspends the CronJob; manually created sessions still run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Completed BackupSessions to keep, default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_history_limit: Option<i32>,
    /// Session deadline as a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_out: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_config: Option<RetryConfig>,
}

impl BackupConfigurationSpec {
    pub fn driver(&self) -> Snapshotter {
        self.driver.unwrap_or_default()
    }
    pub fn backup_history_limit(&self) -> i32 {
        self.backup_history_limit.unwrap_or(1)
    }
    pub fn paused(&self) -> bool {
        self.paused.unwrap_or(false)
    }
}

/// Phase of a backup invoker (BackupConfiguration, BackupBatch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum BackupInvokerPhase {
    Invalid,
    Ready,
    NotReady,
}

/// Stash's `CalculateBackupInvokerPhase`: `NotReady` while the Repository or its Secret is
/// not found, `Invalid` when validation failed, `Ready` once validated with the CronJob created
/// (and, for Restic, both repository conditions True), `NotReady` otherwise.
pub fn backup_invoker_phase(driver: Snapshotter, conditions: &[Condition]) -> BackupInvokerPhase {
    use super::conditions::types::*;
    let is = |t: &str, status: &str| {
        conditions
            .iter()
            .any(|c| c.type_ == t && c.status == status)
    };
    let truthy = |t: &str| is(t, "True");
    if conditions.iter().any(|c| {
        (c.type_ == REPOSITORY_FOUND || c.type_ == BACKEND_SECRET_FOUND) && c.status != "True"
    }) {
        return BackupInvokerPhase::NotReady;
    }
    if is(VALIDATION_PASSED, "False") {
        return BackupInvokerPhase::Invalid;
    }
    let repo_ok = truthy(REPOSITORY_FOUND) && truthy(BACKEND_SECRET_FOUND);
    if truthy(VALIDATION_PASSED)
        && truthy(CRON_JOB_CREATED)
        && (driver != Snapshotter::Restic || repo_ok)
    {
        return BackupInvokerPhase::Ready;
    }
    BackupInvokerPhase::NotReady
}

/// BackupConfiguration status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupConfigurationStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BackupInvokerPhase>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::types::*;

    fn conds(list: &[(&str, &str)]) -> Vec<Condition> {
        list.iter()
            .map(|(t, s)| Condition {
                type_: t.to_string(),
                status: s.to_string(),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn invoker_phase_rule() {
        use BackupInvokerPhase::*;
        let all_ok = [
            (REPOSITORY_FOUND, "True"),
            (BACKEND_SECRET_FOUND, "True"),
            (VALIDATION_PASSED, "True"),
            (CRON_JOB_CREATED, "True"),
        ];
        assert_eq!(
            backup_invoker_phase(Snapshotter::Restic, &conds(&all_ok)),
            Ready
        );
        assert_eq!(
            backup_invoker_phase(
                Snapshotter::Restic,
                &conds(&[(REPOSITORY_FOUND, "False"), (VALIDATION_PASSED, "False")])
            ),
            NotReady
        );
        assert_eq!(
            backup_invoker_phase(Snapshotter::Restic, &conds(&[(VALIDATION_PASSED, "False")])),
            Invalid
        );
        assert_eq!(
            backup_invoker_phase(
                Snapshotter::Restic,
                &conds(&[(VALIDATION_PASSED, "True"), (CRON_JOB_CREATED, "True")])
            ),
            NotReady
        );
        assert_eq!(
            backup_invoker_phase(
                Snapshotter::VolumeSnapshotter,
                &conds(&[(VALIDATION_PASSED, "True"), (CRON_JOB_CREATED, "True")])
            ),
            Ready
        );
        assert_eq!(
            backup_invoker_phase(Snapshotter::Restic, &conds(&all_ok[..3])),
            NotReady
        );
        assert_eq!(backup_invoker_phase(Snapshotter::Restic, &[]), NotReady);
    }
}
