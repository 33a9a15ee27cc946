//! `stash.appscode.com/v1beta1` BackupSession: one run of a backup invoker. Its spec only names
//! the invoker; the status carries per-target, per-host results and the session conditions the
//! phase is computed from (see [`crate::api::conditions`]).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{BackupInvokerRef, Condition, TargetRef};

/// BackupSession spec (immutable once created).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "stash.appscode.com",
    version = "v1beta1",
    kind = "BackupSession",
    plural = "backupsessions",
    singular = "backupsession",
    namespaced,
    status = "BackupSessionStatus",
    category = "stash",
    category = "appscode",
    category = "all",
    printcolumn(
        name = "Invoker-Type",
        type_ = "string",
        json_path = ".spec.invoker.kind"
    ),
    printcolumn(
        name = "Invoker-Name",
        type_ = "string",
        json_path = ".spec.invoker.name"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Duration",
        type_ = "string",
        json_path = ".status.sessionDuration"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    doc = "BackupSession is one backup run of a BackupConfiguration or BackupBatch"
)]
#[serde(rename_all = "camelCase")]
pub struct BackupSessionSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoker: Option<BackupInvokerRef>,
    /// Retries left after this session (from the invoker's retryConfig).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_left: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum BackupSessionPhase {
    Pending,
    Skipped,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// Phase of one target within a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TargetPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// Outcome for one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HostBackupPhase {
    Succeeded,
    Failed,
}

/// BackupSession status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupSessionStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BackupSessionPhase>,
    /// Set once when the phase becomes final, e.g. `22.5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<BackupTargetStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_deadline: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry: Option<Time>,
}

/// One target's progress in a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupTargetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#ref: Option<TargetRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_hosts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<TargetPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<HostBackupStats>>,
    /// `InitializeBackendRepository` (first target only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_backup_actions: Option<Vec<String>>,
    /// `ApplyRetentionPolicy`, `VerifyRepositoryIntegrity`, `SendRepositoryMetrics` (last target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_backup_actions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

/// Result of one host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostBackupStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<HostBackupPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<Vec<SnapshotStats>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One restic snapshot taken for a host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotStats {
    /// restic short id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_stats: Option<FileStats>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_files: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_files: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_files: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmodified_files: Option<i64>,
}

/// A target's phase, recomputed from its status (Stash's `calculateBackupTargetPhase`):
/// Failed when its executor, a hook or a disruption says so; Pending until it knows its hosts;
/// Succeeded or Failed once every host reported; Running in between.
pub fn backup_target_phase(t: &BackupTargetStatus) -> TargetPhase {
    use super::conditions::types::*;
    let conds = t.conditions.as_deref();
    let is = |ty: &str, status: &str| {
        super::common::find_condition(conds, ty).is_some_and(|c| c.status == status)
    };
    if is(BACKUP_EXECUTOR_ENSURED, "False")
        || is(PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED, "False")
        || is(BACKUP_DISRUPTED, "True")
        || is(POST_BACKUP_HOOK_EXECUTION_SUCCEEDED, "False")
    {
        return TargetPhase::Failed;
    }
    let Some(total) = t.total_hosts else {
        return TargetPhase::Pending;
    };
    let stats = t.stats.as_deref().unwrap_or_default();
    let failed = stats
        .iter()
        .filter(|h| h.phase == Some(HostBackupPhase::Failed))
        .count();
    let succeeded = stats
        .iter()
        .filter(|h| h.phase == Some(HostBackupPhase::Succeeded))
        .count();
    if (failed + succeeded) as i64 >= i64::from(total) {
        return if failed > 0 {
            TargetPhase::Failed
        } else {
            TargetPhase::Succeeded
        };
    }
    TargetPhase::Running
}

/// A session's phase, in Stash's exact order (§1.4 of the spec): pushing metrics is the last
/// step, so a session is never final before `MetricsPushed` is set.
pub fn backup_session_phase(s: &BackupSessionStatus) -> BackupSessionPhase {
    use super::conditions::types::*;
    let conds = s.conditions.as_deref();
    let is = |ty: &str, status: &str| {
        super::common::find_condition(conds, ty).is_some_and(|c| c.status == status)
    };
    if is(METRICS_PUSHED, "False") {
        return BackupSessionPhase::Failed;
    }
    if is(BACKUP_SKIPPED, "True") {
        return BackupSessionPhase::Skipped;
    }
    let pushed = is(METRICS_PUSHED, "True");
    if pushed
        && (is(DEADLINE_EXCEEDED, "True")
            || is(BACKUP_HISTORY_CLEANED, "False")
            || is(GLOBAL_PRE_BACKUP_HOOK_SUCCEEDED, "False")
            || is(GLOBAL_POST_BACKUP_HOOK_SUCCEEDED, "False"))
    {
        return BackupSessionPhase::Failed;
    }
    let targets = s.targets.as_deref().unwrap_or_default();
    let phases: Vec<TargetPhase> = targets
        .iter()
        .map(|t| t.phase.unwrap_or(TargetPhase::Pending))
        .collect();
    if phases.iter().all(|p| *p == TargetPhase::Pending) {
        return BackupSessionPhase::Pending;
    }
    let completed = phases
        .iter()
        .all(|p| matches!(p, TargetPhase::Succeeded | TargetPhase::Failed));
    if completed && pushed {
        let failed = phases.contains(&TargetPhase::Failed)
            || is(RETENTION_POLICY_APPLIED, "False")
            || is(REPOSITORY_METRICS_PUSHED, "False")
            || is(REPOSITORY_INTEGRITY_VERIFIED, "False");
        return if failed {
            BackupSessionPhase::Failed
        } else {
            BackupSessionPhase::Succeeded
        };
    }
    BackupSessionPhase::Running
}

impl BackupSessionPhase {
    /// Succeeded, Failed or Skipped: nothing more happens to the session.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            BackupSessionPhase::Succeeded
                | BackupSessionPhase::Failed
                | BackupSessionPhase::Skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::types::*;
    use crate::api::Condition;

    fn cond(ty: &str, status: &str) -> Condition {
        Condition {
            type_: ty.into(),
            status: status.into(),
            ..Default::default()
        }
    }

    fn host(phase: HostBackupPhase) -> HostBackupStats {
        HostBackupStats {
            hostname: Some("host-0".into()),
            phase: Some(phase),
            ..Default::default()
        }
    }

    #[test]
    fn target_phases() {
        let mut t = BackupTargetStatus::default();
        assert_eq!(backup_target_phase(&t), TargetPhase::Pending);
        t.total_hosts = Some(2);
        assert_eq!(backup_target_phase(&t), TargetPhase::Running);
        t.stats = Some(vec![host(HostBackupPhase::Succeeded)]);
        assert_eq!(backup_target_phase(&t), TargetPhase::Running);
        t.stats
            .as_mut()
            .unwrap()
            .push(host(HostBackupPhase::Succeeded));
        assert_eq!(backup_target_phase(&t), TargetPhase::Succeeded);
        t.stats.as_mut().unwrap()[1].phase = Some(HostBackupPhase::Failed);
        assert_eq!(backup_target_phase(&t), TargetPhase::Failed);
        let pre_failed = BackupTargetStatus {
            conditions: Some(vec![cond(PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED, "False")]),
            ..Default::default()
        };
        assert_eq!(backup_target_phase(&pre_failed), TargetPhase::Failed);
        let disrupted = BackupTargetStatus {
            total_hosts: Some(1),
            conditions: Some(vec![cond(BACKUP_DISRUPTED, "True")]),
            ..Default::default()
        };
        assert_eq!(backup_target_phase(&disrupted), TargetPhase::Failed);
    }

    fn status(targets: &[TargetPhase], conds: &[(&str, &str)]) -> BackupSessionStatus {
        BackupSessionStatus {
            targets: Some(
                targets
                    .iter()
                    .map(|p| BackupTargetStatus {
                        phase: Some(*p),
                        ..Default::default()
                    })
                    .collect(),
            ),
            conditions: Some(conds.iter().map(|(t, s)| cond(t, s)).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn session_phases_in_stashs_order() {
        use BackupSessionPhase as P;
        use TargetPhase::*;
        type Case<'a> = (&'a [TargetPhase], &'a [(&'a str, &'a str)], P);
        let cases: &[Case] = &[
            (&[], &[], P::Pending),
            (&[Pending], &[], P::Pending),
            (&[Running], &[], P::Running),
            (&[Succeeded], &[], P::Running),
            (&[Succeeded], &[(METRICS_PUSHED, "True")], P::Succeeded),
            (&[Succeeded, Failed], &[(METRICS_PUSHED, "True")], P::Failed),
            (
                &[Succeeded],
                &[
                    (METRICS_PUSHED, "True"),
                    (RETENTION_POLICY_APPLIED, "False"),
                ],
                P::Failed,
            ),
            (
                &[Succeeded],
                &[
                    (METRICS_PUSHED, "True"),
                    (REPOSITORY_INTEGRITY_VERIFIED, "False"),
                ],
                P::Failed,
            ),
            (
                &[Running],
                &[(METRICS_PUSHED, "True"), (DEADLINE_EXCEEDED, "True")],
                P::Failed,
            ),
            (&[Running], &[(DEADLINE_EXCEEDED, "True")], P::Running),
            (&[], &[(BACKUP_SKIPPED, "True")], P::Skipped),
            (&[Succeeded], &[(METRICS_PUSHED, "False")], P::Failed),
            (
                &[Pending],
                &[
                    (METRICS_PUSHED, "True"),
                    (GLOBAL_PRE_BACKUP_HOOK_SUCCEEDED, "False"),
                ],
                P::Failed,
            ),
        ];
        for (targets, conds, want) in cases {
            assert_eq!(
                backup_session_phase(&status(targets, conds)),
                *want,
                "{targets:?} {conds:?}"
            );
        }
    }
}
