//! `stash.appscode.com/v1beta1` Function (cluster-scoped): one container step of a backup or
//! restore Task. Strings may hold `${VAR}` / `${VAR:=default}` placeholders that
//! [`crate::api::resolve`] fills in.

use k8s_openapi::api::core::v1 as core;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::runtime::ContainerRuntimeSettings;

/// Function spec: the container to run.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "stash.appscode.com",
    version = "v1beta1",
    kind = "Function",
    plural = "functions",
    singular = "function",
    shortname = "fn",
    category = "stash",
    category = "appscode",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    doc = "Function is one step (a container) of a backup or restore Task"
)]
#[serde(rename_all = "camelCase")]
pub struct FunctionSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<core::ContainerPort>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<core::VolumeMount>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_devices: Option<Vec<core::VolumeDevice>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_settings: Option<ContainerRuntimeSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_policy_name: Option<String>,
}
