//! `stash.appscode.com/v1beta1` Task (cluster-scoped): an ordered list of Functions with their
//! params, and the volumes the resulting pod needs. Every step but the last becomes an
//! init-container of the backup/restore Job; the last is the main container.

use k8s_openapi::api::core::v1 as core;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Param;

/// Task spec.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "stash.appscode.com",
    version = "v1beta1",
    kind = "Task",
    plural = "tasks",
    singular = "task",
    shortname = "task",
    category = "stash",
    category = "appscode",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    doc = "Task is an ordered collection of Functions that make up a backup or restore"
)]
pub struct TaskSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<FunctionRef>>,
    /// Volumes of the Job's pod; may hold placeholders (`claimName: ${TARGET_NAME}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<core::Volume>>,
}

impl TaskSpec {
    pub fn steps(&self) -> &[FunctionRef] {
        self.steps.as_deref().unwrap_or_default()
    }
}

/// A step: the Function's name and the params given to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FunctionRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<Param>>,
}

impl FunctionRef {
    pub fn params(&self) -> &[Param] {
        self.params.as_deref().unwrap_or_default()
    }
}
