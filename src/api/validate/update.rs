//! Update-time rules, which need the old object: a BackupConfiguration's target is frozen while
//! it is Ready, and BackupSession and RestoreSession specs are immutable.

use super::{validate, Problem};
use crate::api::object::StashObject;
use crate::api::BackupInvokerPhase;

/// Problems with updating `old` to `new`: the update rules, then [`validate`] of `new`.
/// An object being deleted may always be updated (finalizers must be removable).
pub fn validate_update(old: &StashObject, new: &StashObject) -> Vec<Problem> {
    if new.metadata().deletion_timestamp.is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    match (old, new) {
        (StashObject::BackupConfiguration(o), StashObject::BackupConfiguration(n)) => {
            let ready = o.status.as_ref().and_then(|s| s.phase) == Some(BackupInvokerPhase::Ready);
            if ready && o.spec.template.target != n.spec.template.target {
                out.push(Problem::at(
                    "spec.target",
                    "updating target is forbidden when BackupConfiguration is in READY state",
                ));
            }
        }
        (StashObject::BackupSession(o), StashObject::BackupSession(n)) if o.spec != n.spec => {
            out.push(Problem::at("spec", "BackupSession spec is immutable"));
        }
        (StashObject::RestoreSession(o), StashObject::RestoreSession(n)) if o.spec != n.spec => {
            out.push(Problem::at("spec", "RestoreSession spec is immutable"));
        }
        _ => {}
    }
    let (kind, name) = (new.kind(), new.name());
    out = out
        .into_iter()
        .map(|p| Problem {
            object: Some(format!("{kind}/{name}")),
            ..p
        })
        .collect();
    // Stash only compares session specs on update; every other kind is validated again.
    if !matches!(
        new,
        StashObject::BackupSession(_) | StashObject::RestoreSession(_)
    ) {
        out.extend(validate(new));
    }
    out
}
