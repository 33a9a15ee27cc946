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
use super::restore_batch::RestoreTargetPhase;
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

impl RestorePhase {
    /// Succeeded, Failed or Unknown: nothing more happens to the session. (Invalid is not
    /// final: fixing the spec makes the session valid again.)
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RestorePhase::Succeeded | RestorePhase::Failed | RestorePhase::Unknown
        )
    }
}

/// The phase of a restore target (a RestoreSession's one target, or a RestoreBatch member),
/// as Stash's `calculateRestoreTargetPhase`: Failed when its executor or a hook failed (or,
/// ours, its job was disrupted, as `BackupDisrupted` for a backup target); Pending until it
/// knows its hosts or while the target is missing; once every host reported, Unknown if any
/// host is Unknown, Failed if any failed, else Succeeded; Running in between.
pub fn restore_target_phase(
    conditions: Option<&[Condition]>,
    total_hosts: Option<i32>,
    stats: Option<&[HostRestoreStats]>,
) -> RestoreTargetPhase {
    use super::conditions::types::*;
    let is = |ty: &str, status: &str| {
        super::common::find_condition(conditions, ty).is_some_and(|c| c.status == status)
    };
    if is(RESTORE_EXECUTOR_ENSURED, "False")
        || is(PRE_RESTORE_HOOK_EXECUTION_SUCCEEDED, "False")
        || is(POST_RESTORE_HOOK_EXECUTION_SUCCEEDED, "False")
        || is(RESTORE_DISRUPTED, "True")
    {
        return RestoreTargetPhase::Failed;
    }
    let Some(total) = total_hosts else {
        return RestoreTargetPhase::Pending;
    };
    if conditions.unwrap_or_default().is_empty() || is(RESTORE_TARGET_FOUND, "False") {
        return RestoreTargetPhase::Pending;
    }
    let stats = stats.unwrap_or_default();
    let count = |p: HostRestorePhase| stats.iter().filter(|h| h.phase == Some(p)).count();
    let (succeeded, failed, unknown) = (
        count(HostRestorePhase::Succeeded),
        count(HostRestorePhase::Failed),
        count(HostRestorePhase::Unknown),
    );
    if (succeeded + failed + unknown) as i64 >= i64::from(total) {
        return if unknown > 0 {
            RestoreTargetPhase::Unknown
        } else if failed > 0 {
            RestoreTargetPhase::Failed
        } else {
            RestoreTargetPhase::Succeeded
        };
    }
    RestoreTargetPhase::Running
}

/// A RestoreSession's phase (§1.5 of the spec, Stash's `calculateRestoreSessionPhase`):
/// pushing metrics is the last step, so a session is never final before `MetricsPushed`.
///
/// One deliberate change of order: `ValidationPassed=False` is checked before the Pending
/// rules, so an invalid session shows `Invalid` rather than `Pending` forever (Stash rejects
/// invalid sessions at admission and so never meets that case).
pub fn restore_session_phase(s: &RestoreSessionStatus) -> RestorePhase {
    use super::conditions::types::*;
    let conds = s.conditions.as_deref();
    let is = |ty: &str, status: &str| {
        super::common::find_condition(conds, ty).is_some_and(|c| c.status == status)
    };
    if is(METRICS_PUSHED, "False") {
        return RestorePhase::Failed;
    }
    let pushed = is(METRICS_PUSHED, "True");
    if pushed && is(DEADLINE_EXCEEDED, "True") {
        return RestorePhase::Failed;
    }
    if is(VALIDATION_PASSED, "False") {
        return RestorePhase::Invalid;
    }
    if conds.unwrap_or_default().is_empty()
        || is(REPOSITORY_FOUND, "False")
        || is(BACKEND_SECRET_FOUND, "False")
        || is(RESTORE_TARGET_FOUND, "False")
    {
        return RestorePhase::Pending;
    }
    let target = restore_target_phase(conds, s.total_hosts, s.stats.as_deref());
    match target {
        RestoreTargetPhase::Pending => RestorePhase::Pending,
        RestoreTargetPhase::Running => RestorePhase::Running,
        _ if !pushed => RestorePhase::Running,
        RestoreTargetPhase::Succeeded => RestorePhase::Succeeded,
        RestoreTargetPhase::Failed => RestorePhase::Failed,
        RestoreTargetPhase::Unknown => RestorePhase::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::types::*;

    fn cond(ty: &str, status: &str) -> Condition {
        Condition {
            type_: ty.into(),
            status: status.into(),
            ..Default::default()
        }
    }

    fn host(name: &str, phase: HostRestorePhase) -> HostRestoreStats {
        HostRestoreStats {
            hostname: Some(name.into()),
            phase: Some(phase),
            ..Default::default()
        }
    }

    fn status(
        total: Option<i32>,
        hosts: &[HostRestorePhase],
        conds: &[(&str, &str)],
    ) -> RestoreSessionStatus {
        RestoreSessionStatus {
            total_hosts: total,
            stats: (!hosts.is_empty()).then(|| {
                hosts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| host(&format!("host-{i}"), *p))
                    .collect()
            }),
            conditions: Some(conds.iter().map(|(t, s)| cond(t, s)).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn session_phases_in_stashs_order() {
        use HostRestorePhase::{Failed as HF, Running as HR, Succeeded as HS, Unknown as HU};
        use RestorePhase as P;
        let found = (REPOSITORY_FOUND, "True");
        let ensured = (RESTORE_EXECUTOR_ENSURED, "True");
        let pushed = (METRICS_PUSHED, "True");
        type Case<'a> = (
            Option<i32>,
            &'a [HostRestorePhase],
            &'a [(&'a str, &'a str)],
            P,
        );
        let cases: &[Case] = &[
            (None, &[], &[], P::Pending),
            (None, &[], &[found], P::Pending),
            (None, &[], &[(REPOSITORY_FOUND, "False")], P::Pending),
            (
                None,
                &[],
                &[found, (BACKEND_SECRET_FOUND, "False")],
                P::Pending,
            ),
            (
                Some(1),
                &[],
                &[found, (RESTORE_TARGET_FOUND, "False")],
                P::Pending,
            ),
            (Some(1), &[], &[found, ensured], P::Running),
            (Some(1), &[HR], &[found, ensured], P::Running),
            (Some(2), &[HS], &[found, ensured], P::Running),
            // Every host reported: still Running until the metrics are in.
            (Some(1), &[HS], &[found, ensured], P::Running),
            (Some(1), &[HS], &[found, ensured, pushed], P::Succeeded),
            (Some(2), &[HS, HF], &[found, ensured, pushed], P::Failed),
            (Some(2), &[HF, HU], &[found, ensured, pushed], P::Unknown),
            (
                None,
                &[],
                &[found, (RESTORE_EXECUTOR_ENSURED, "False"), pushed],
                P::Failed,
            ),
            (
                Some(1),
                &[],
                &[found, ensured, (RESTORE_DISRUPTED, "True"), pushed],
                P::Failed,
            ),
            (
                Some(1),
                &[],
                &[found, ensured, (RESTORE_DISRUPTED, "True")],
                P::Running,
            ),
            (
                Some(1),
                &[],
                &[found, (DEADLINE_EXCEEDED, "True")],
                P::Running,
            ),
            (
                None,
                &[],
                &[
                    (REPOSITORY_FOUND, "False"),
                    (DEADLINE_EXCEEDED, "True"),
                    pushed,
                ],
                P::Failed,
            ),
            (
                Some(1),
                &[HS],
                &[found, (METRICS_PUSHED, "False")],
                P::Failed,
            ),
            (
                None,
                &[],
                &[found, (VALIDATION_PASSED, "False")],
                P::Invalid,
            ),
        ];
        for (total, hosts, conds, want) in cases {
            assert_eq!(
                restore_session_phase(&status(*total, hosts, conds)),
                *want,
                "{total:?} {hosts:?} {conds:?}"
            );
        }
    }

    #[test]
    fn final_phases() {
        assert!(RestorePhase::Succeeded.is_final());
        assert!(RestorePhase::Unknown.is_final());
        assert!(!RestorePhase::Invalid.is_final());
        assert!(!RestorePhase::Running.is_final());
    }
}
