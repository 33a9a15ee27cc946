//! Step 7's event: once, when the phase has just become final, with Stash's reasons and
//! texts (source "RestoreSession Controller").
use stash::api::conditions::types;
use stash::api::restore_session::{HostRestorePhase, RestoreSessionStatus};
use stash::api::{RestorePhase, RestoreSession};

use super::super::{name_of, namespace_of};
use super::Note;
use crate::store::EventType;

/// The event of a session that has just become final (Stash's reasons and texts).
pub(super) fn final_note(rs: &RestoreSession, st: &RestoreSessionStatus) -> Note {
    let (ns, name) = (namespace_of(rs), name_of(rs));
    let phase = st.phase.unwrap_or(RestorePhase::Unknown);
    if phase == RestorePhase::Succeeded {
        return Note {
            type_: EventType::Normal,
            reason: "RestoreSession Succeeded",
            message: format!(
                "restore has been completed successfully for RestoreSession {ns}/{name}"
            ),
        };
    }
    let host = |p: HostRestorePhase| {
        st.stats
            .iter()
            .flatten()
            .find(|h| h.phase == Some(p))
            .map(|h| {
                format!(
                    "restore {} for host: {}. Reason: {}",
                    if p == HostRestorePhase::Unknown {
                        "phase is 'Unknown'"
                    } else {
                        "failed"
                    },
                    h.hostname.as_deref().unwrap_or_default(),
                    h.error.as_deref().unwrap_or("unknown")
                )
            })
    };
    let cause = || {
        st.conditions
            .iter()
            .flatten()
            .find(|c| {
                (c.is_true()
                    && (c.type_ == types::DEADLINE_EXCEEDED || c.type_ == types::RESTORE_DISRUPTED))
                    || c.is_false()
            })
            .and_then(|c| c.message.clone())
    };
    if phase == RestorePhase::Unknown {
        let why = host(HostRestorePhase::Unknown).unwrap_or_else(|| "unknown".into());
        return Note {
            type_: EventType::Warning,
            reason: "RestoreSession Phase Unknown",
            message: format!("Restore session phase is unknown. Reason: {why}"),
        };
    }
    let why = host(HostRestorePhase::Failed)
        .or_else(cause)
        .unwrap_or_else(|| "unknown".into());
    Note {
        type_: EventType::Warning,
        reason: "RestoreSession Failed",
        message: format!("Restore session failed to complete. Reason: {why}"),
    }
}
