//! The Summary a hook sees (Stash's `v1beta1.Summary`): which session, which invoker and
//! target, how the target stands, and how many retries are left. Templates name its fields
//! with Go's names (`{{ .Status.Phase }}`, `{{ .Invoker.Name }}`, `{{ .RetryLeft }}`); post
//! hooks' execution policy judges `Status.Phase` and `RetryLeft`.
//!
//! The phase is Stash's `getTargetBackupSummary`: `Failed`, with the first reason as the
//! error, when a host of the target failed, a condition of the target is False, or a
//! condition of the session is False; `Succeeded` otherwise (also before the backup, as for
//! Stash's pre hooks).
use chrono::{DateTime, Utc};
use serde::Serialize;
use stash::api::backup_session::HostBackupPhase;
use stash::api::restore_session::{HostRestorePhase, RestoreSessionStatus};
use stash::api::{
    BackupSession, BackupSessionStatus, Condition, RestoreSession, TargetRef, STASH_GROUP,
};

use super::template::{Fields, TemplateError};
use crate::steps::record::same_target;

/// `{apiGroup, kind, name}` of the invoker.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokerRef {
    pub api_group: String,
    pub kind: String,
    pub name: String,
}

/// `{apiVersion, kind, name, namespace}` of the target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetInfo {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// `{phase, duration, error}` of the target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SummaryStatus {
    pub phase: String,
    pub duration: String,
    pub error: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The session's (or the restore invoker's) name and namespace.
    pub name: String,
    pub namespace: String,
    pub invoker: InvokerRef,
    pub target: TargetInfo,
    pub status: SummaryStatus,
    pub retry_left: i32,
}

impl From<Option<&TargetRef>> for TargetInfo {
    fn from(t: Option<&TargetRef>) -> TargetInfo {
        let t = t.cloned().unwrap_or_default();
        TargetInfo {
            api_version: t.api_version.unwrap_or_default(),
            kind: t.kind.unwrap_or_default(),
            name: t.name.unwrap_or_default(),
            namespace: t.namespace.unwrap_or_default(),
        }
    }
}

fn first_false(conds: Option<&[Condition]>) -> Option<String> {
    conds
        .unwrap_or_default()
        .iter()
        .find(|c| c.is_false())
        .map(|c| c.message.clone().unwrap_or_default())
}

/// Go's `time.Duration.Round(time.Second).String()` of `to - from`.
pub fn rounded_duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let ms = (to - from).num_milliseconds().max(0);
    let secs = (ms + 500) / 1000;
    stash::api::output::go_duration(std::time::Duration::from_secs(secs as u64))
}

impl Summary {
    /// The summary of `target` in BackupSession `session` whose status is `st` (the stored
    /// one, or one a reconcile is about to write), at `now`.
    pub fn for_backup(
        session: &BackupSession,
        st: &BackupSessionStatus,
        target: Option<&TargetRef>,
        now: DateTime<Utc>,
    ) -> Summary {
        let invoker = session.spec.invoker.clone().unwrap_or_default();
        let created = session
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(now, crate::reconcile::from_time);
        let target_failure = st
            .targets
            .iter()
            .flatten()
            .filter(|t| target.is_none() || same_target(t.r#ref.as_ref(), target))
            .find_map(|t| {
                t.stats
                    .iter()
                    .flatten()
                    .find(|h| h.phase == Some(HostBackupPhase::Failed))
                    .map(|h| h.error.clone().unwrap_or_default())
                    .or_else(|| first_false(t.conditions.as_deref()))
            });
        let error = target_failure.or_else(|| first_false(st.conditions.as_deref()));
        Summary {
            name: session.metadata.name.clone().unwrap_or_default(),
            namespace: session.metadata.namespace.clone().unwrap_or_default(),
            invoker: InvokerRef {
                api_group: invoker
                    .api_group
                    .filter(|g| !g.is_empty())
                    .unwrap_or_else(|| STASH_GROUP.into()),
                kind: invoker.kind,
                name: invoker.name,
            },
            target: TargetInfo::from(target),
            status: SummaryStatus {
                phase: if error.is_some() {
                    "Failed"
                } else {
                    "Succeeded"
                }
                .into(),
                duration: rounded_duration(created, now),
                error: error.unwrap_or_default(),
            },
            retry_left: session.spec.retry_left.unwrap_or(0),
        }
    }
}

impl Summary {
    /// A summary of invoker `kind`/`name` itself, with no target (a batch's global hooks):
    /// `Succeeded` until the caller says otherwise.
    pub fn for_invoker(
        kind: &str,
        name: &str,
        namespace: &str,
        created: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Summary {
        Summary {
            name: name.into(),
            namespace: namespace.into(),
            invoker: InvokerRef {
                api_group: STASH_GROUP.into(),
                kind: kind.into(),
                name: name.into(),
            },
            target: TargetInfo::default(),
            status: SummaryStatus {
                phase: "Succeeded".into(),
                duration: rounded_duration(created, now),
                error: String::new(),
            },
            retry_left: 0,
        }
    }

    /// The summary of RestoreSession `rs` whose status is `st`, at `now`: the invoker is the
    /// RestoreSession itself; `Failed`, with the first reason, when a host failed to restore
    /// or a condition is False.
    pub fn for_restore(
        rs: &RestoreSession,
        st: &RestoreSessionStatus,
        now: DateTime<Utc>,
    ) -> Summary {
        let created = rs
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(now, crate::reconcile::from_time);
        let error = st
            .stats
            .iter()
            .flatten()
            .find(|h| h.phase == Some(HostRestorePhase::Failed))
            .map(|h| h.error.clone().unwrap_or_default())
            .or_else(|| first_false(st.conditions.as_deref()));
        let name = rs.metadata.name.clone().unwrap_or_default();
        let target = rs.spec.template.target.as_ref().map(|t| t.target_ref());
        Summary {
            name: name.clone(),
            namespace: rs.metadata.namespace.clone().unwrap_or_default(),
            invoker: InvokerRef {
                api_group: STASH_GROUP.into(),
                kind: "RestoreSession".into(),
                name,
            },
            target: TargetInfo::from(target.as_ref()),
            status: SummaryStatus {
                phase: if error.is_some() {
                    "Failed"
                } else {
                    "Succeeded"
                }
                .into(),
                duration: rounded_duration(created, now),
                error: error.unwrap_or_default(),
            },
            retry_left: 0,
        }
    }
}

impl Fields for Summary {
    fn field(&self, path: &[&str]) -> Result<String, TemplateError> {
        let dotted = || format!(".{}", path.join("."));
        let value = match path {
            ["Name"] => &self.name,
            ["Namespace"] => &self.namespace,
            ["Invoker", "APIGroup"] => &self.invoker.api_group,
            ["Invoker", "Kind"] => &self.invoker.kind,
            ["Invoker", "Name"] => &self.invoker.name,
            ["Target", "APIVersion"] => &self.target.api_version,
            ["Target", "Kind"] => &self.target.kind,
            ["Target", "Name"] => &self.target.name,
            ["Target", "Namespace"] => &self.target.namespace,
            ["Status", "Phase"] => &self.status.phase,
            ["Status", "Duration"] => &self.status.duration,
            ["Status", "Error"] => &self.status.error,
            ["RetryLeft"] => return Ok(self.retry_left.to_string()),
            _ => {
                let (known, owner, has): (&[&str], &str, &str) = match path.first() {
                    Some(&"Invoker") => (
                        &["APIGroup", "Kind", "Name"],
                        "Invoker",
                        "APIGroup, Kind, Name",
                    ),
                    Some(&"Target") => (
                        &["APIVersion", "Kind", "Name", "Namespace"],
                        "Target",
                        "APIVersion, Kind, Name, Namespace",
                    ),
                    Some(&"Status") => (
                        &["Phase", "Duration", "Error"],
                        "Status",
                        "Phase, Duration, Error",
                    ),
                    _ => (&[], "", ""),
                };
                if !owner.is_empty() {
                    if path.len() == 1 {
                        return Err(TemplateError::NotAValue {
                            path: dotted(),
                            has: has.into(),
                        });
                    }
                    let bad = if known.contains(&path[1]) {
                        path[2]
                    } else {
                        path[1]
                    };
                    return Err(TemplateError::UnknownField {
                        field: bad.into(),
                        path: dotted(),
                        has: format!("{owner} has {has}"),
                    });
                }
                let bad = if ["Name", "Namespace", "RetryLeft"].contains(&path[0]) {
                    path[1]
                } else {
                    path[0]
                };
                return Err(TemplateError::UnknownField {
                    field: bad.into(),
                    path: dotted(),
                    has: "a Summary has Name, Namespace, Invoker, Target, Status, RetryLeft".into(),
                });
            }
        };
        Ok(value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::super::template::render;
    use super::*;

    fn summary() -> Summary {
        Summary {
            name: "pg-backup-1".into(),
            namespace: "demo".into(),
            invoker: InvokerRef {
                api_group: STASH_GROUP.into(),
                kind: "BackupConfiguration".into(),
                name: "pg-backup".into(),
            },
            target: TargetInfo {
                api_version: "appcatalog.appscode.com/v1alpha1".into(),
                kind: "AppBinding".into(),
                name: "pg".into(),
                namespace: String::new(),
            },
            status: SummaryStatus {
                phase: "Failed".into(),
                duration: "1m30s".into(),
                error: "dump failed".into(),
            },
            retry_left: 2,
        }
    }

    #[test]
    fn every_field_renders_under_its_go_name() {
        let t = "{{ .Name }} {{ .Namespace }} {{ .Invoker.APIGroup }} {{ .Invoker.Kind }} \
                 {{ .Invoker.Name }} {{ .Target.APIVersion }} {{ .Target.Kind }} {{ .Target.Name }} \
                 [{{ .Target.Namespace }}] {{ .Status.Phase }} {{ .Status.Duration }} \
                 {{ .Status.Error }} {{ .RetryLeft }}";
        assert_eq!(
            render(t, &summary()).unwrap(),
            "pg-backup-1 demo stash.appscode.com BackupConfiguration pg-backup \
             appcatalog.appscode.com/v1alpha1 AppBinding pg [] Failed 1m30s dump failed 2"
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = |t: &str| render(t, &summary()).unwrap_err().to_string();
        assert_eq!(
            err("{{ .Phase }}"),
            "unknown field \"Phase\" in {{ .Phase }}: a Summary has Name, Namespace, Invoker, Target, Status, RetryLeft"
        );
        assert_eq!(
            err("{{ .Status.phase }}"),
            "unknown field \"phase\" in {{ .Status.phase }}: Status has Phase, Duration, Error"
        );
        assert_eq!(
            err("{{ .Name.First }}"),
            "unknown field \"First\" in {{ .Name.First }}: a Summary has Name, Namespace, Invoker, Target, Status, RetryLeft"
        );
        assert_eq!(
            err("{{ .Status }}"),
            "{{ .Status }} is a struct: name one of its fields (Phase, Duration, Error)"
        );
    }

    #[test]
    fn durations_round_to_the_second_as_go_prints_them() {
        let t0: DateTime<Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
        let at = |ms: i64| t0 + chrono::Duration::milliseconds(ms);
        assert_eq!(rounded_duration(t0, t0), "0s");
        assert_eq!(rounded_duration(t0, at(1_499)), "1s");
        assert_eq!(rounded_duration(t0, at(1_500)), "2s");
        assert_eq!(rounded_duration(t0, at(90_000)), "1m30s");
        assert_eq!(rounded_duration(t0, at(3_600_000)), "1h0m0s");
    }
}
