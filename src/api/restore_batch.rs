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

/// The phase of a RestoreBatch (spec §1.6), from its conditions and its members' phases:
/// MetricsPushed False → Failed; pushed with a global hook False or the deadline passed →
/// Failed; ValidationPassed False → Invalid; no members yet, all Pending, or a repository or
/// secret missing → Pending; every member complete → Unknown if one is, Failed if one is,
/// else Succeeded once metrics are pushed; Running in between.
pub fn restore_batch_phase(s: &RestoreBatchStatus) -> RestorePhase {
    use super::conditions::types::*;
    let conds = s.conditions.as_deref();
    let is = |ty: &str, status: &str| {
        super::common::find_condition(conds, ty).is_some_and(|c| c.status == status)
    };
    if is(METRICS_PUSHED, "False") {
        return RestorePhase::Failed;
    }
    let pushed = is(METRICS_PUSHED, "True");
    if pushed
        && (is(GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED, "False")
            || is(GLOBAL_POST_RESTORE_HOOK_SUCCEEDED, "False")
            || is(DEADLINE_EXCEEDED, "True"))
    {
        return RestorePhase::Failed;
    }
    if is(VALIDATION_PASSED, "False") {
        return RestorePhase::Invalid;
    }
    let phases: Vec<RestoreTargetPhase> = s
        .members
        .iter()
        .flatten()
        .map(|m| m.phase.unwrap_or(RestoreTargetPhase::Pending))
        .collect();
    if is(REPOSITORY_FOUND, "False")
        || is(BACKEND_SECRET_FOUND, "False")
        || phases.iter().all(|p| *p == RestoreTargetPhase::Pending)
    {
        return RestorePhase::Pending;
    }
    let complete = phases.iter().all(|p| {
        matches!(
            p,
            RestoreTargetPhase::Succeeded
                | RestoreTargetPhase::Failed
                | RestoreTargetPhase::Unknown
        )
    });
    if !complete || !pushed {
        return RestorePhase::Running;
    }
    if phases.contains(&RestoreTargetPhase::Unknown) {
        RestorePhase::Unknown
    } else if phases.contains(&RestoreTargetPhase::Failed) {
        RestorePhase::Failed
    } else {
        RestorePhase::Succeeded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::types::*;

    fn status(conds: &[(&str, &str)], members: &[RestoreTargetPhase]) -> RestoreBatchStatus {
        RestoreBatchStatus {
            conditions: Some(
                conds
                    .iter()
                    .map(|(t, s)| Condition {
                        type_: t.to_string(),
                        status: s.to_string(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            members: Some(
                members
                    .iter()
                    .map(|p| RestoreMemberStatus {
                        phase: Some(*p),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn phase_table() {
        use RestoreTargetPhase::*;
        let pushed = (METRICS_PUSHED, "True");
        let cases = [
            (status(&[], &[]), RestorePhase::Pending),
            (status(&[], &[Pending, Pending]), RestorePhase::Pending),
            (status(&[], &[Running, Pending]), RestorePhase::Running),
            (status(&[], &[Succeeded, Succeeded]), RestorePhase::Running),
            (
                status(&[pushed], &[Succeeded, Succeeded]),
                RestorePhase::Succeeded,
            ),
            (
                status(&[pushed], &[Succeeded, Failed]),
                RestorePhase::Failed,
            ),
            (status(&[pushed], &[Unknown, Failed]), RestorePhase::Unknown),
            (
                status(&[pushed, (GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED, "False")], &[]),
                RestorePhase::Failed,
            ),
            (
                status(&[(GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED, "False")], &[]),
                RestorePhase::Pending,
            ),
            (
                status(&[(METRICS_PUSHED, "False")], &[Succeeded]),
                RestorePhase::Failed,
            ),
            (
                status(&[(VALIDATION_PASSED, "False")], &[]),
                RestorePhase::Invalid,
            ),
            (
                status(&[pushed, (DEADLINE_EXCEEDED, "True")], &[Running]),
                RestorePhase::Failed,
            ),
        ];
        for (i, (st, want)) in cases.into_iter().enumerate() {
            assert_eq!(restore_batch_phase(&st), want, "case {i}: {st:?}");
        }
    }
}
