//! `stash.appscode.com/v1beta1` RestoreBatch (Enterprise in Stash): restore every member of a
//! BackupBatch from its shared Repository, in parallel or in order, with global hooks.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Condition, ExecutionOrder, ObjectReference, Snapshotter, TargetRef};
use super::hooks::RestoreHooks;
use super::restore_session::{HostRestoreStats, RestorePhase, RestoreTargetSpec};

/// RestoreBatch spec.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "stash.appscode.com",
    version = "v1beta1",
    kind = "RestoreBatch",
    plural = "restorebatches",
    singular = "restorebatch",
    namespaced,
    status = "RestoreBatchStatus",
    category = "stash",
    category = "appscode",
    category = "all",
    printcolumn(
        name = "Repository",
        type_ = "string",
        json_path = ".spec.repository.name"
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
    doc = "RestoreBatch restores several targets backed up by a BackupBatch"
)]
#[serde(rename_all = "camelCase")]
pub struct RestoreBatchSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Restic"))]
    pub driver: Option<Snapshotter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<ObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<RestoreTargetSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_order: Option<ExecutionOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<RestoreHooks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_out: Option<String>,
}

impl RestoreBatchSpec {
    pub fn members(&self) -> &[RestoreTargetSpec] {
        self.members.as_deref().unwrap_or_default()
    }
    pub fn execution_order(&self) -> ExecutionOrder {
        self.execution_order.unwrap_or_default()
    }
}

/// Phase of one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RestoreTargetPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// RestoreBatch status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreBatchStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RestorePhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<RestoreMemberStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_deadline: Option<Time>,
}

/// Progress of one member.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreMemberStatus {
    pub r#ref: TargetRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_hosts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RestoreTargetPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<HostRestoreStats>>,
}
