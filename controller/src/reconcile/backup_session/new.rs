//! A new BackupSession for an invoker (spec §3.2), as the trigger CronJob and `stash trigger`
//! create one.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use stash::api::common::BackupInvokerRef;
use stash::api::{BackupConfiguration, BackupSession, BackupSessionSpec, STASH_GROUP};

use super::super::backup_configuration::offshoot_labels;
use super::super::{name_of, owner_ref};

/// From a schedule tick (`Some(unix seconds)`: named `<invoker>-<seconds>`, with the
/// invoker's retries) or by hand (`None`: `generateName: <invoker>-`, no retries, as
/// `kubectl stash trigger`).
pub fn new_session(bc: &BackupConfiguration, tick: Option<i64>) -> BackupSession {
    let invoker = name_of(bc);
    let mut labels = bc.metadata.labels.clone().unwrap_or_default();
    labels.extend(offshoot_labels("BackupConfiguration", &invoker));
    if let Some(t) = bc
        .spec
        .template
        .target
        .as_ref()
        .and_then(|t| t.r#ref.as_ref())
    {
        let ns = bc.metadata.namespace.clone().unwrap_or_default();
        labels.insert("stash.appscode.com/target-kind".into(), t.kind().into());
        labels.insert("stash.appscode.com/target-name".into(), t.name().into());
        labels.insert(
            "stash.appscode.com/target-namespace".into(),
            t.namespace_or(&ns).into(),
        );
    }
    let retry_left = match (tick, &bc.spec.retry_config) {
        (Some(_), Some(r)) => r.max_retry(),
        _ => 0,
    };
    BackupSession {
        metadata: ObjectMeta {
            name: tick.map(|t| format!("{invoker}-{t}")),
            generate_name: tick.is_none().then(|| format!("{invoker}-")),
            namespace: bc.metadata.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![owner_ref(bc)]),
            ..Default::default()
        },
        spec: BackupSessionSpec {
            invoker: Some(BackupInvokerRef {
                api_group: Some(STASH_GROUP.into()),
                kind: "BackupConfiguration".into(),
                name: invoker,
            }),
            retry_left: Some(retry_left),
        },
        status: None,
    }
}
