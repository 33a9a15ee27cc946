//! The reconcilers: plain `reconcile(obj, ctx) -> Result<Next>` functions, one file (or
//! folder, split by step) per kind. Each reads what exists, decides, writes, and says when to
//! look again; run twice on the same world, the second run writes nothing.
//!
//! - [`backup_configuration`]: BackupConfiguration and BackupBatch: conditions, phase,
//!   finalizer, the trigger CronJob.
//! - [`backup_blueprint`]: auto-backup: an annotated target gets its Repository and
//!   BackupConfiguration from a BackupBlueprint, and loses the configuration with the
//!   annotation.
//! - [`cronjob`]: local mode's CronJob controller: schedules become BackupSessions.
//! - [`backup_session`]: a session from Pending to its final phase, for a configuration's
//!   one target or a batch's members.
//! - [`restore_session`]: a restore from Pending to its final phase, after any backup into
//!   the same Repository.
//! - [`restore_batch`]: a RestoreBatch's members, each through a RestoreSession of its own,
//!   between the batch's global hooks.
//! - [`job`]: the catalog and the job a Task becomes, shared by backup and restore sessions.
//! - [`repository`]: the finalizer, and wipeOut when it is deleted.
use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use stash::api::Condition;

use crate::store::Object;

pub mod backup_blueprint;
pub mod backup_configuration;
pub mod backup_session;
pub mod cronjob;
pub mod job;
pub mod repository;
pub mod restore_batch;
pub mod restore_session;

/// chrono's time as the API's `Time` (k8s-openapi keeps a jiff timestamp).
pub fn to_time(t: DateTime<Utc>) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::from_nanosecond(i128::from(
            t.timestamp_nanos_opt().unwrap_or_default(),
        ))
        .unwrap_or_default(),
    )
}

/// The API's `Time` as chrono's.
pub fn from_time(t: &Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// A condition as Stash writes it.
pub fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: impl Into<String>,
    now: DateTime<Utc>,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: Some(to_time(now)),
        ..Default::default()
    }
}

/// A controller owner reference to `owner` (garbage collection in a cluster; in local mode,
/// `stash get` shows it and deletes follow it).
pub fn owner_ref<T: Object>(owner: &T) -> OwnerReference {
    let m = owner.meta();
    OwnerReference {
        api_version: T::api_version(&()).into_owned(),
        kind: T::kind(&()).into_owned(),
        name: m.name.clone().unwrap_or_default(),
        uid: m.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

pub fn namespace_of<T: Object>(obj: &T) -> String {
    obj.meta().namespace.clone().unwrap_or_default()
}

pub fn name_of<T: Object>(obj: &T) -> String {
    obj.meta().name.clone().unwrap_or_default()
}
