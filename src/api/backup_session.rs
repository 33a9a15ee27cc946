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
