//! Hooks before and after a backup or a restore (spec §3.10), executed in local mode.
//!
//! - [`summary`]: the Summary a hook sees, built from a session;
//! - [`template`]: Go-template rendering of exec words and the httpPost body against it;
//! - [`policy`]: whether a post hook runs, from its `executionPolicy`, the phase and the
//!   retries left (a pure function);
//! - [`exec`]: running a handler here — a local command, an HTTP request, a TCP connect.
//!
//! [`run`] puts them together and says what to record: the condition of the hook type
//! ([`HookType`]), with Stash's reasons and messages. Where the condition is written (a
//! BackupSession's target, a RestoreSession) is the caller's business, so backup and restore
//! share all of this; the step commands that call it are in [`crate::steps::hooks`].
use chrono::{DateTime, Utc};
use stash::api::conditions::{reasons, types};
use stash::api::hooks::{Handler, HookExecutionPolicy};
use stash::api::Condition;

pub mod exec;
pub mod policy;
pub mod summary;
pub mod template;

pub use exec::{execute, ExecOptions, HookError};
pub use policy::{decide, Decision};
pub use summary::Summary;

/// Which hook: its name in messages, its condition type and reasons. The `Global` ones are a
/// BackupBatch's or RestoreBatch's `spec.hooks`, around all members; their conditions are the
/// session's own, not a target's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookType {
    PreBackup,
    PostBackup,
    PreRestore,
    PostRestore,
    GlobalPreBackup,
    GlobalPostBackup,
    GlobalPreRestore,
    GlobalPostRestore,
}

impl HookType {
    /// Stash's name (`apis.PreBackupHook` …), as messages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            HookType::PreBackup => "preBackup",
            HookType::PostBackup => "postBackup",
            HookType::PreRestore => "preRestore",
            HookType::PostRestore => "postRestore",
            HookType::GlobalPreBackup => "global preBackup",
            HookType::GlobalPostBackup => "global postBackup",
            HookType::GlobalPreRestore => "global preRestore",
            HookType::GlobalPostRestore => "global postRestore",
        }
    }

    /// Its `stash session-action` (and step) name: `pre-backup-hook` …
    pub fn action(self) -> &'static str {
        match self {
            HookType::PreBackup => "pre-backup-hook",
            HookType::PostBackup => "post-backup-hook",
            HookType::PreRestore => "pre-restore-hook",
            HookType::PostRestore => "post-restore-hook",
            HookType::GlobalPreBackup => "global-pre-backup-hook",
            HookType::GlobalPostBackup => "global-post-backup-hook",
            HookType::GlobalPreRestore => "global-pre-restore-hook",
            HookType::GlobalPostRestore => "global-post-restore-hook",
        }
    }

    pub fn is_post(self) -> bool {
        matches!(
            self,
            HookType::PostBackup
                | HookType::PostRestore
                | HookType::GlobalPostBackup
                | HookType::GlobalPostRestore
        )
    }

    pub fn is_global(self) -> bool {
        matches!(
            self,
            HookType::GlobalPreBackup
                | HookType::GlobalPostBackup
                | HookType::GlobalPreRestore
                | HookType::GlobalPostRestore
        )
    }

    /// The condition that records this hook: present once it ran (or was skipped).
    pub fn condition_type(self) -> &'static str {
        match self {
            HookType::PreBackup => types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED,
            HookType::PostBackup => types::POST_BACKUP_HOOK_EXECUTION_SUCCEEDED,
            HookType::PreRestore => types::PRE_RESTORE_HOOK_EXECUTION_SUCCEEDED,
            HookType::PostRestore => types::POST_RESTORE_HOOK_EXECUTION_SUCCEEDED,
            HookType::GlobalPreBackup => types::GLOBAL_PRE_BACKUP_HOOK_SUCCEEDED,
            HookType::GlobalPostBackup => types::GLOBAL_POST_BACKUP_HOOK_SUCCEEDED,
            HookType::GlobalPreRestore => types::GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED,
            HookType::GlobalPostRestore => types::GLOBAL_POST_RESTORE_HOOK_SUCCEEDED,
        }
    }

    fn reasons(self) -> (&'static str, &'static str) {
        match self {
            HookType::PreBackup => (
                reasons::SUCCESSFULLY_EXECUTED_PRE_BACKUP_HOOK,
                reasons::FAILED_TO_EXECUTE_PRE_BACKUP_HOOK,
            ),
            HookType::PostBackup => (
                reasons::SUCCESSFULLY_EXECUTED_POST_BACKUP_HOOK,
                reasons::FAILED_TO_EXECUTE_POST_BACKUP_HOOK,
            ),
            HookType::PreRestore => (
                reasons::SUCCESSFULLY_EXECUTED_PRE_RESTORE_HOOK,
                reasons::FAILED_TO_EXECUTE_PRE_RESTORE_HOOK,
            ),
            HookType::PostRestore => (
                reasons::SUCCESSFULLY_EXECUTED_POST_RESTORE_HOOK,
                reasons::FAILED_TO_EXECUTE_POST_RESTORE_HOOK,
            ),
            HookType::GlobalPreBackup => (
                reasons::GLOBAL_PRE_BACKUP_HOOK_EXECUTED_SUCCESSFULLY,
                reasons::GLOBAL_PRE_BACKUP_HOOK_EXECUTION_FAILED,
            ),
            HookType::GlobalPostBackup => (
                reasons::GLOBAL_POST_BACKUP_HOOK_EXECUTED_SUCCESSFULLY,
                reasons::GLOBAL_POST_BACKUP_HOOK_EXECUTION_FAILED,
            ),
            HookType::GlobalPreRestore => (
                reasons::GLOBAL_PRE_RESTORE_HOOK_EXECUTED_SUCCESSFULLY,
                reasons::GLOBAL_PRE_RESTORE_HOOK_EXECUTION_FAILED,
            ),
            HookType::GlobalPostRestore => (
                reasons::GLOBAL_POST_RESTORE_HOOK_EXECUTED_SUCCESSFULLY,
                reasons::GLOBAL_POST_RESTORE_HOOK_EXECUTION_FAILED,
            ),
        }
    }

    /// `True`: "Successfully executed preBackup hook.", or `message` (a skip).
    pub fn succeeded(self, message: Option<String>, now: DateTime<Utc>) -> Condition {
        let msg =
            message.unwrap_or_else(|| format!("Successfully executed {} hook.", self.as_str()));
        crate::reconcile::condition(self.condition_type(), true, self.reasons().0, msg, now)
    }

    /// `False`: "Failed to execute preBackup hook. Reason: …" ("global preBackup" for a
    /// batch's own hooks).
    pub fn failed(self, reason: &str, now: DateTime<Utc>) -> Condition {
        let msg = format!("Failed to execute {} hook. Reason: {reason}", self.as_str());
        crate::reconcile::condition(self.condition_type(), false, self.reasons().1, msg, now)
    }
}

/// How a hook ended.
#[derive(Debug)]
pub enum Outcome {
    Executed,
    /// A post hook its policy did not allow; the message says why.
    Skipped(String),
    Failed(HookError),
}

impl Outcome {
    /// The condition to record.
    pub fn condition(&self, hook: HookType, now: DateTime<Utc>) -> Condition {
        match self {
            Outcome::Executed => hook.succeeded(None, now),
            Outcome::Skipped(msg) => hook.succeeded(Some(msg.clone()), now),
            Outcome::Failed(e) => hook.failed(&crate::steps::actions::error_chain(e), now),
        }
    }

    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

/// Runs `handler` as hook `hook` for `summary`: a post hook first asks its `policy`
/// (default `Always`).
pub async fn run(
    hook: HookType,
    handler: &Handler,
    policy: Option<HookExecutionPolicy>,
    summary: &Summary,
    opts: &ExecOptions,
) -> Outcome {
    if hook.is_post() {
        let policy = policy.unwrap_or_default();
        if let Decision::Skip(msg) = decide(hook, policy, &summary.status.phase, summary.retry_left)
        {
            tracing::info!("{msg}");
            return Outcome::Skipped(msg);
        }
    }
    if handler.container_name.is_some() {
        tracing::debug!(
            hook = hook.as_str(),
            "containerName is ignored in local mode: the hook runs on this machine"
        );
    }
    match execute(handler, summary, opts).await {
        Ok(()) => Outcome::Executed,
        Err(e) => Outcome::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_carry_stashs_reasons_and_messages() {
        let now: DateTime<Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
        let c = HookType::PreBackup.succeeded(None, now);
        assert_eq!(c.type_, "PreBackupHookExecutionSucceeded");
        assert_eq!(
            c.reason.as_deref(),
            Some("SuccessfullyExecutedPreBackupHook")
        );
        assert_eq!(
            c.message.as_deref(),
            Some("Successfully executed preBackup hook.")
        );
        let c = HookType::PostBackup.failed("boom", now);
        assert!(c.is_false());
        assert_eq!(c.reason.as_deref(), Some("FailedToExecutePostBackupHook"));
        assert_eq!(
            c.message.as_deref(),
            Some("Failed to execute postBackup hook. Reason: boom")
        );
        let c = HookType::PostRestore.failed("x", now);
        assert_eq!(c.type_, "PostRestoreHookExecutionSucceeded");
        assert_eq!(c.reason.as_deref(), Some("FailedToExecutePostRestoreHook"));
    }
}
