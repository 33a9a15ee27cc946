//! `update-status` writing into the session (spec §3.7 step 2): the target's host results are
//! upserted by hostname into its entry (found by kind and name), the target's phase is
//! recomputed, and each host gets its event ("Host Backup Succeeded" / "Host Backup Failed",
//! source "Status Updater"). A restore's results go into the RestoreSession's `stats` the same
//! way ("Host Restore Succeeded" / "Host Restore Failed"). The session reconcilers take it
//! from there.
use chrono::Utc;
use stash::api::backup_session::{backup_target_phase, BackupTargetStatus, HostBackupPhase};
use stash::api::output::{BackupOutput, RestoreOutput};
use stash::api::restore_session::{restore_session_phase, HostRestorePhase};
use stash::api::{BackupSession, RestorePhase, RestoreSession, TargetRef};

use crate::store::{EventType, Object, ObjectStore, StoreError, StoreExt};

const SOURCE: &str = "Status Updater";

/// Whether two target references name the same target (by kind and name, as Stash's
/// `TargetMatched`).
pub fn same_target(a: Option<&TargetRef>, b: Option<&TargetRef>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.kind() == b.kind() && a.name() == b.name(),
        (None, None) => true,
        _ => false,
    }
}

/// Records `out` for `target` in BackupSession `namespace/session`.
pub async fn record_backup(
    store: &dyn ObjectStore,
    namespace: &str,
    session: &str,
    target: Option<TargetRef>,
    out: &BackupOutput,
) -> Result<(), StoreError> {
    let target = target.or_else(|| out.target_status.r#ref.clone());
    let hosts = out.target_status.stats.clone().unwrap_or_default();
    let updated = store
        .update_status::<BackupSession, _>(namespace, session, |s| {
            let st = s.status.get_or_insert_with(Default::default);
            let targets = st.targets.get_or_insert_with(Vec::new);
            let i = match targets
                .iter()
                .position(|t| same_target(t.r#ref.as_ref(), target.as_ref()))
            {
                Some(i) => i,
                None => {
                    targets.push(BackupTargetStatus {
                        r#ref: target.clone(),
                        total_hosts: Some(hosts.len() as i32),
                        ..Default::default()
                    });
                    targets.len() - 1
                }
            };
            let t = &mut targets[i];
            upsert_hosts(t.stats.get_or_insert_with(Vec::new), &hosts, |h| {
                &h.hostname
            });
            t.phase = Some(backup_target_phase(t));
        })
        .await?;
    let Some(s) = updated else {
        return Err(StoreError::NotFound(crate::store::ObjRef::of::<
            BackupSession,
        >(namespace, session)));
    };
    let results = hosts.iter().map(|h| {
        let ok = h.phase == Some(HostBackupPhase::Succeeded);
        (h.hostname.clone(), ok, h.error.clone())
    });
    host_events(store, &s, "Backup", target.as_ref(), results).await
}

/// Records `out` in RestoreSession `namespace/session`: its hosts upserted by hostname into
/// `status.stats`, the phase recomputed (a final phase is left alone), an event per host.
/// `target` (else the output's own reference) only names the target in the events.
pub async fn record_restore(
    store: &dyn ObjectStore,
    namespace: &str,
    session: &str,
    target: Option<TargetRef>,
    out: &RestoreOutput,
) -> Result<(), StoreError> {
    let target = target.or_else(|| Some(out.target_status.r#ref.clone()));
    let hosts = out.target_status.stats.clone().unwrap_or_default();
    let updated = store
        .update_status::<RestoreSession, _>(namespace, session, |s| {
            let st = s.status.get_or_insert_with(Default::default);
            upsert_hosts(st.stats.get_or_insert_with(Vec::new), &hosts, |h| {
                &h.hostname
            });
            if !st.phase.is_some_and(RestorePhase::is_final) {
                st.phase = Some(restore_session_phase(st));
            }
        })
        .await?;
    let Some(s) = updated else {
        return Err(StoreError::NotFound(crate::store::ObjRef::of::<
            RestoreSession,
        >(namespace, session)));
    };
    let results = hosts.iter().map(|h| {
        let ok = h.phase == Some(HostRestorePhase::Succeeded);
        (h.hostname.clone(), ok, h.error.clone())
    });
    host_events(store, &s, "Restore", target.as_ref(), results).await
}

/// Replaces each of `hosts` in `stats` by hostname, or appends it.
fn upsert_hosts<H: Clone>(stats: &mut Vec<H>, hosts: &[H], name: impl Fn(&H) -> &Option<String>) {
    for h in hosts {
        match stats.iter_mut().find(|o| name(o) == name(h)) {
            Some(o) => *o = h.clone(),
            None => stats.push(h.clone()),
        }
    }
}

/// One event per host on `session`: "Host Backup Succeeded" / "Host Restore Failed", …
/// (`direction` is `Backup` or `Restore`). `results` are (hostname, succeeded, error).
async fn host_events<T: Object>(
    store: &dyn ObjectStore,
    session: &T,
    direction: &str,
    target: Option<&TargetRef>,
    results: impl Iterator<Item = (Option<String>, bool, Option<String>)>,
) -> Result<(), StoreError> {
    let (kind, name) = target
        .map(|t| (t.kind().to_string(), t.name().to_string()))
        .unwrap_or_default();
    let what = direction.to_lowercase();
    for (host, ok, error) in results {
        let host = host.unwrap_or_default();
        let (type_, reason, msg) = if ok {
            (
                EventType::Normal,
                format!("Host {direction} Succeeded"),
                format!("{what} succeeded for host {host:?} of {kind:?}/{name:?}."),
            )
        } else {
            (
                EventType::Warning,
                format!("Host {direction} Failed"),
                format!(
                    "{what} failed for host {host:?} of {kind:?}/{name:?}. Reason: {}",
                    error.unwrap_or_else(|| "unknown".into())
                ),
            )
        };
        store
            .event(session, type_, SOURCE, &reason, msg, Utc::now())
            .await?;
    }
    Ok(())
}
