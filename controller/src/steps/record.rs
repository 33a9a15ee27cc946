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

use crate::store::{EventType, ObjectStore, StoreError, StoreExt};

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
            let stats = t.stats.get_or_insert_with(Vec::new);
            for h in &hosts {
                match stats.iter_mut().find(|o| o.hostname == h.hostname) {
                    Some(o) => *o = h.clone(),
                    None => stats.push(h.clone()),
                }
            }
            t.phase = Some(backup_target_phase(t));
        })
        .await?;
    let Some(s) = updated else {
        return Err(StoreError::NotFound(crate::store::ObjRef::of::<
            BackupSession,
        >(namespace, session)));
    };
    let (kind, name) = target
        .as_ref()
        .map(|t| (t.kind().to_string(), t.name().to_string()))
        .unwrap_or_default();
    for h in &hosts {
        let host = h.hostname.clone().unwrap_or_default();
        let (type_, reason, msg) = match (h.phase, &h.error) {
            (Some(HostBackupPhase::Succeeded), _) => (
                EventType::Normal,
                "Host Backup Succeeded",
                format!("backup succeeded for host {host:?} of {kind:?}/{name:?}."),
            ),
            (_, e) => (
                EventType::Warning,
                "Host Backup Failed",
                format!(
                    "backup failed for host {host:?} of {kind:?}/{name:?}. Reason: {}",
                    e.clone().unwrap_or_else(|| "unknown".into())
                ),
            ),
        };
        store
            .event(&s, type_, SOURCE, reason, msg, Utc::now())
            .await?;
    }
    Ok(())
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
            let stats = st.stats.get_or_insert_with(Vec::new);
            for h in &hosts {
                match stats.iter_mut().find(|o| o.hostname == h.hostname) {
                    Some(o) => *o = h.clone(),
                    None => stats.push(h.clone()),
                }
            }
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
    let (kind, name) = target
        .as_ref()
        .map(|t| (t.kind().to_string(), t.name().to_string()))
        .unwrap_or_default();
    for h in &hosts {
        let host = h.hostname.clone().unwrap_or_default();
        let (type_, reason, msg) = match (h.phase, &h.error) {
            (Some(HostRestorePhase::Succeeded), _) => (
                EventType::Normal,
                "Host Restore Succeeded",
                format!("restore succeeded for host {host:?} of {kind:?}/{name:?}."),
            ),
            (_, e) => (
                EventType::Warning,
                "Host Restore Failed",
                format!(
                    "restore failed for host {host:?} of {kind:?}/{name:?}. Reason: {}",
                    e.clone().unwrap_or_else(|| "unknown".into())
                ),
            ),
        };
        store
            .event(&s, type_, SOURCE, reason, msg, Utc::now())
            .await?;
    }
    Ok(())
}
