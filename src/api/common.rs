//! Small types shared by several kinds: references, params, retry and temp-dir settings,
//! the driver and execution-order enums, and kmodules' `Condition`.
//!
//! Every field is an `Option` (or `Option<Vec<_>>`) even where Stash's Go type uses a plain value
//! with `omitempty`: a manifest that says `paused: false` or `targetHosts: []` must come back out
//! exactly as written, so "absent" and "zero" have to stay distinguishable. Accessors on the
//! owning kinds supply Stash's defaults.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `kmodules.xyz/client-go/api/v1.ObjectReference`: a namespaced reference (namespace defaults to
/// the referrer's own).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectReference {
    /// The namespace, falling back to the referrer's namespace when unset or empty.
    pub fn namespace_or<'a>(&'a self, own: &'a str) -> &'a str {
        match self.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => own,
        }
    }
}

/// `kmodules.xyz/client-go/api/v1.TypedObjectReference`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypedObjectReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

/// The object a backup or restore acts on (`TargetRef`). Empty namespace = the invoker's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl TargetRef {
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
    /// The target's namespace, or `own` (the invoker's) when unset or empty.
    pub fn namespace_or<'a>(&'a self, own: &'a str) -> &'a str {
        match self.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => own,
        }
    }
}

/// A `{name, value}` pair passed to a Task or Function.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Param {
    pub name: String,
    pub value: String,
}

/// Which Task to run and the params that override its variables.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<Param>>,
}

impl TaskRef {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
    pub fn params(&self) -> &[Param] {
        self.params.as_deref().unwrap_or_default()
    }
}

/// `BackupInvokerRef`: the BackupConfiguration or BackupBatch behind a BackupSession.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupInvokerRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    pub kind: String,
    pub name: String,
}

/// The backup agent. `Restic` unless told otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Snapshotter {
    #[default]
    Restic,
    VolumeSnapshotter,
}

/// How batch members run: all at once (default) or one after another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ExecutionOrder {
    #[default]
    Parallel,
    Sequential,
}

/// Retry a failed session `maxRetry` times (default 1 when the block is present), `delay` apart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 1))]
    pub max_retry: Option<i32>,
    /// A Go duration (`30s`, `2m`, `1h30m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
}

impl RetryConfig {
    pub fn max_retry(&self) -> i32 {
        self.max_retry.unwrap_or(1)
    }
}

/// The `stash-tmp-dir` emptyDir mounted at `/stash-tmp` in every container Stash adds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    /// `true` runs restic with `--no-cache` (`ENABLE_CACHE=false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_caching: Option<bool>,
}

/// `kmodules.xyz/client-go/api/v1.Condition`. `type` and `reason` are open strings; the values
/// Stash uses are the constants in [`crate::api::conditions`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `"True"`, `"False"` or `"Unknown"`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Condition {
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
    pub fn is_false(&self) -> bool {
        self.status == "False"
    }
}

/// How Stash runs a backup or restore of a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// A sidecar (backup) or init-container (restore) injected into the workload.
    Sidecar,
    /// A Job built from a Task (CronJob-triggered for backups).
    Job,
}

/// Stash's `BackupModel`/`RestoreModel`: sidecar when no task is named and the target is a
/// Deployment, StatefulSet, DaemonSet or DeploymentConfig; a Job otherwise.
pub fn model(target_kind: &str, task_name: &str) -> Model {
    let workload = matches!(
        target_kind,
        "Deployment" | "StatefulSet" | "DaemonSet" | "DeploymentConfig"
    );
    if task_name.is_empty() && workload {
        Model::Sidecar
    } else {
        Model::Job
    }
}

/// Finds a condition by type.
pub fn find_condition<'a>(conds: Option<&'a [Condition]>, type_: &str) -> Option<&'a Condition> {
    conds.unwrap_or_default().iter().find(|c| c.type_ == type_)
}

/// Upserts a condition by type, as kmodules' `SetCondition`: the transition time moves only
/// when the status changes. Returns whether anything changed.
pub fn set_condition(conds: &mut Vec<Condition>, new: Condition) -> bool {
    match conds.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            let same =
                old.status == new.status && old.reason == new.reason && old.message == new.message;
            if same {
                return false;
            }
            let keep_time = old.status == new.status && old.last_transition_time.is_some();
            let time = if keep_time {
                old.last_transition_time.clone()
            } else {
                new.last_transition_time.clone()
            };
            *old = Condition {
                last_transition_time: time,
                ..new
            };
            true
        }
        None => {
            conds.push(new);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_namespace_defaults_to_invoker() {
        let r = TargetRef {
            namespace: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(r.namespace_or("demo"), "demo");
        let r = TargetRef {
            namespace: Some("db".into()),
            ..Default::default()
        };
        assert_eq!(r.namespace_or("demo"), "db");
    }

    #[test]
    fn retry_defaults_to_one() {
        assert_eq!(RetryConfig::default().max_retry(), 1);
    }
}
