//! `stash.appscode.com/v1beta1` RestoreSession: restore one target from a Repository.
//! [`RestoreTargetSpec`] (task, target, runtime settings, temp dir, interim volume, hooks) is
//! shared with RestoreBatch members and flattened here as Go inlines it.
//!
//! `spec.rules` is deprecated in favour of `spec.target.rules`; Stash's mutating webhook moves
//! the former into the latter ([`RestoreSession::migrate`]).

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Condition, EmptyDirSettings, ObjectReference, Snapshotter, TargetRef, TaskRef,
};
use super::hooks::RestoreHooks;
use super::runtime::{PersistentVolumeClaimTemplate, RuntimeSettings};

/// The per-target part of a restore invoker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreTargetSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<RestoreTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_settings: Option<RuntimeSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_dir: Option<EmptyDirSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interim_volume_template: Option<PersistentVolumeClaimTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<RestoreHooks>,
}

impl RestoreTargetSpec {
    pub fn task_name(&self) -> &str {
        self.task.as_ref().map(TaskRef::name).unwrap_or_default()
    }
}

/// Where to restore and which data each host gets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#ref: Option<TargetRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<core::VolumeMount>>,
    /// Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// PVCs to create; `${POD_ORDINAL}` is substituted per replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_claim_templates: Option<Vec<PersistentVolumeClaimTemplate>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    /// Extra arguments for `restic restore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

impl RestoreTarget {
    pub fn target_ref(&self) -> TargetRef {
        self.r#ref.clone().unwrap_or_default()
    }
    pub fn rules(&self) -> &[Rule] {
        self.rules.as_deref().unwrap_or_default()
    }
}

/// Which data a set of hosts gets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Hosts this rule applies to; empty = every host without a more specific rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_hosts: Option<Vec<String>>,
    /// Host whose data is restored; defaults to the restoring host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
}

impl Rule {
    pub fn target_hosts(&self) -> &[String] {
        self.target_hosts.as_deref().unwrap_or_default()
    }
    pub fn snapshots(&self) -> &[String] {
        self.snapshots.as_deref().unwrap_or_default()
    }
    pub fn paths(&self) -> &[String] {
        self.paths.as_deref().unwrap_or_default()
    }
}

/// RestoreSession spec.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "stash.appscode.com",
    version = "v1beta1",
    kind = "RestoreSession",
    plural = "restoresessions",
    singular = "restoresession",
    namespaced,
    status = "RestoreSessionStatus",
    shortname = "restore",
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
    doc = "RestoreSession restores one target from a Repository"
)]
#[serde(rename_all = "camelCase")]
pub struct RestoreSessionSpec {
    #[serde(flatten)]
    pub template: RestoreTargetSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Restic"))]
    pub driver: Option<Snapshotter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<ObjectReference>,
    /// Deprecated: use `spec.target.rules`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_out: Option<String>,
}

impl RestoreSessionSpec {
    pub fn driver(&self) -> Snapshotter {
        self.driver.unwrap_or_default()
    }
}

impl RestoreSession {
    /// Stash's mutating webhook: move deprecated `spec.rules` under `spec.target.rules` (only
    /// when there is a target, as Stash does).
    pub fn migrate(&mut self) {
        let spec = &mut self.spec;
        if spec.rules.as_ref().is_some_and(|r| !r.is_empty()) {
            if let Some(target) = spec.template.target.as_mut() {
                target.rules = spec.rules.take();
            }
        }
    }

    /// The rules in effect: `spec.target.rules`, else the deprecated `spec.rules`.
    pub fn effective_rules(&self) -> &[Rule] {
        match self
            .spec
            .template
            .target
            .as_ref()
            .and_then(|t| t.rules.as_deref())
        {
            Some(r) if !r.is_empty() => r,
            _ => self.spec.rules.as_deref().unwrap_or_default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RestorePhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
    Invalid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HostRestorePhase {
    Succeeded,
    Failed,
    Running,
    Unknown,
}

/// RestoreSession status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreSessionStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RestorePhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_hosts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<HostRestoreStats>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_deadline: Option<Time>,
}

/// Result of one host's restore.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostRestoreStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<HostRestorePhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
