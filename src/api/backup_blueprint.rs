//! `stash.appscode.com/v1beta1` BackupBlueprint (cluster-scoped): a template for the Repository
//! and BackupConfiguration that auto-backup creates for each annotated target. The Repository
//! part is Go's inlined `RepositorySpec`, flattened here; resolution lives in
//! [`crate::api::resolve::blueprint`].

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{EmptyDirSettings, RetryConfig, TaskRef};
use super::hooks::BackupHooks;
use super::repository::{RepositorySpec, RetentionPolicy};
use super::runtime::{PersistentVolumeClaimTemplate, RuntimeSettings};

/// BackupBlueprint spec.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "stash.appscode.com",
    version = "v1beta1",
    kind = "BackupBlueprint",
    plural = "backupblueprints",
    singular = "backupblueprint",
    shortname = "bb",
    category = "stash",
    category = "appscode",
    printcolumn(name = "Task", type_ = "string", json_path = ".spec.task.name"),
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    doc = "BackupBlueprint is a template of the Repository and BackupConfiguration for auto-backup"
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::schema::require_retention_policy)]
pub struct BackupBlueprintSpec {
    #[serde(flatten)]
    pub repository: RepositorySpec,
    /// Namespace for the BackupConfiguration, sessions and Jobs; default the target's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_namespace: Option<String>,
    /// Namespace for the Repository; default backupNamespace, else the target's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_policy: Option<RetentionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_settings: Option<RuntimeSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_dir: Option<EmptyDirSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interim_volume_template: Option<PersistentVolumeClaimTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<BackupHooks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_history_limit: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_out: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_config: Option<RetryConfig>,
}
