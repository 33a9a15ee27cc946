//! Backup and restore hooks: kmodules' prober `Handler` (exec, httpGet, httpPost, tcpSocket plus
//! `containerName`) and the post hooks that add an `executionPolicy`.
//!
//! Go inlines `Handler` into the post hooks; here [`PostHook`] repeats the handler fields rather
//! than using `#[serde(flatten)]`, so the generated CRD schema stays a plain structural object.

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One action; exactly one of `exec`, `httpGet`, `httpPost`, `tcpSocket` should be set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Handler {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<core::ExecAction>,
    #[serde(default, rename = "httpGet", skip_serializing_if = "Option::is_none")]
    pub http_get: Option<core::HTTPGetAction>,
    #[serde(default, rename = "httpPost", skip_serializing_if = "Option::is_none")]
    pub http_post: Option<HTTPPostAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<core::TCPSocketAction>,
    /// Container to exec into (sidecar/init-container model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
}

/// A post-backup or post-restore hook: a [`Handler`] plus when to run it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostHook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<core::ExecAction>,
    #[serde(default, rename = "httpGet", skip_serializing_if = "Option::is_none")]
    pub http_get: Option<core::HTTPGetAction>,
    #[serde(default, rename = "httpPost", skip_serializing_if = "Option::is_none")]
    pub http_post: Option<HTTPPostAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<core::TCPSocketAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Always"))]
    pub execution_policy: Option<HookExecutionPolicy>,
}

impl PostHook {
    /// The handler part, as the hook executor takes it.
    pub fn handler(&self) -> Handler {
        Handler {
            exec: self.exec.clone(),
            http_get: self.http_get.clone(),
            http_post: self.http_post.clone(),
            tcp_socket: self.tcp_socket.clone(),
            container_name: self.container_name.clone(),
        }
    }
    pub fn execution_policy(&self) -> HookExecutionPolicy {
        self.execution_policy.unwrap_or_default()
    }
}

/// When a post hook runs, judged against the session's phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HookExecutionPolicy {
    #[default]
    Always,
    OnFailure,
    OnSuccess,
    OnFinalRetryFailure,
}

impl HookExecutionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::OnFailure => "OnFailure",
            Self::OnSuccess => "OnSuccess",
            Self::OnFinalRetryFailure => "OnFinalRetryFailure",
        }
    }
}

/// An HTTP POST; `body` and exec commands are Go templates over the session summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HTTPPostAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub port: IntOrString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(
        default,
        rename = "httpHeaders",
        skip_serializing_if = "Option::is_none"
    )]
    pub http_headers: Option<Vec<core::HTTPHeader>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Vec<FormEntry>>,
}

/// One form field of an [`HTTPPostAction`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FormEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// `spec.hooks` of backup invokers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupHooks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_backup: Option<Handler>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_backup: Option<PostHook>,
}

/// `spec.hooks` of restore invokers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreHooks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_restore: Option<Handler>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_restore: Option<PostHook>,
}
