//! `stash.appscode.com/v1beta1` BackupBatch (Enterprise in Stash): several members, each a
//! [`BackupConfigurationTemplateSpec`], sharing one schedule, one Repository and one retention
//! policy, with optional global hooks and an execution order.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::backup_configuration::{BackupConfigurationTemplateSpec, BackupInvokerPhase};
use super::common::{
    Condition, ExecutionOrder, ObjectReference, RetryConfig, Snapshotter, TargetRef,
};
use super::hooks::BackupHooks;
use super::repository::RetentionPolicy;
use super::runtime::RuntimeSettings;

/// BackupBatch spec.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "stash.appscode.com",
    version = "v1beta1",
    kind = "BackupBatch",
    plural = "backupbatches",
    singular = "backupbatch",
    namespaced,
    status = "BackupBatchStatus",
    category = "stash",
    category = "appscode",
    category = "all",
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule"),
    printcolumn(name = "Paused", type_ = "boolean", json_path = ".spec.paused"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    doc = "BackupBatch backs up several co-related targets into one Repository under one schedule"
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::schema::require_retention_policy)]
pub struct BackupBatchSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<BackupConfigurationTemplateSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Settings for the CronJob and its ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_settings: Option<RuntimeSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Restic"))]
    pub driver: Option<Snapshotter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<ObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_policy: Option<RetentionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_history_limit: Option<i32>,
    /// Global hooks, run by the operator around all members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<BackupHooks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_order: Option<ExecutionOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_out: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_config: Option<RetryConfig>,
}

impl BackupBatchSpec {
    pub fn members(&self) -> &[BackupConfigurationTemplateSpec] {
        self.members.as_deref().unwrap_or_default()
    }
    pub fn driver(&self) -> Snapshotter {
        self.driver.unwrap_or_default()
    }
    pub fn execution_order(&self) -> ExecutionOrder {
        self.execution_order.unwrap_or_default()
    }
    pub fn backup_history_limit(&self) -> i32 {
        self.backup_history_limit.unwrap_or(1)
    }
}

/// BackupBatch status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupBatchStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_conditions: Option<Vec<MemberConditions>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BackupInvokerPhase>,
}

/// Setup conditions of one member (BackupTargetFound, StashSidecarInjected, …).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemberConditions {
    pub target: TargetRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}
