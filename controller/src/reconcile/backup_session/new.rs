//! A new BackupSession for an invoker (spec §3.2), as the trigger CronJob and `stash trigger`
//! create one.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use stash::api::common::BackupInvokerRef;
use stash::api::{BackupSession, BackupSessionSpec, STASH_GROUP};

use super::super::backup_configuration::offshoot_labels;
use crate::invoker::BackupInvoker;

/// From a schedule tick (`Some(unix seconds)`: named `<invoker>-<seconds>`, with the
/// invoker's retries) or by hand (`None`: `generateName: <invoker>-`, no retries, as
/// `kubectl stash trigger`). A configuration's session is labelled with its target; a batch's
/// has one target per member and no such label.
pub fn new_session(inv: &BackupInvoker, tick: Option<i64>) -> BackupSession {
    let invoker = inv.name();
    let ns = inv.namespace();
    let mut labels = inv.metadata.labels.clone().unwrap_or_default();
    labels.extend(offshoot_labels(inv.kind, &invoker));
    if let [member] = inv.members.as_slice() {
        if let Some(t) = member.target.as_ref().and_then(|t| t.r#ref.as_ref()) {
            labels.insert("stash.appscode.com/target-kind".into(), t.kind().into());
            labels.insert("stash.appscode.com/target-name".into(), t.name().into());
            labels.insert(
                "stash.appscode.com/target-namespace".into(),
                t.namespace_or(&ns).into(),
            );
        }
    }
    let retry_left = match (tick, &inv.retry_config) {
        (Some(_), Some(r)) => r.max_retry(),
        _ => 0,
    };
    BackupSession {
        metadata: ObjectMeta {
            name: tick.map(|t| format!("{invoker}-{t}")),
            generate_name: tick.is_none().then(|| format!("{invoker}-")),
            namespace: Some(ns),
            labels: Some(labels),
            owner_references: Some(vec![inv.owner.clone()]),
            ..Default::default()
        },
        spec: BackupSessionSpec {
            invoker: Some(BackupInvokerRef {
                api_group: Some(STASH_GROUP.into()),
                kind: inv.kind.into(),
                name: invoker,
            }),
            retry_left: Some(retry_left),
        },
        status: None,
    }
}
