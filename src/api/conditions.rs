//! Condition types, reasons and action names Stash writes into statuses. kmodules' `Condition`
//! keeps `type` and `reason` as open strings, so these are string constants rather than enums:
//! a status written by another Stash version with a type we do not know still round-trips.

/// Condition types.
pub mod types {
    // Backup invoker setup (BackupConfiguration, BackupBatch, and their members).
    pub const BACKUP_TARGET_FOUND: &str = "BackupTargetFound";
    pub const STASH_SIDECAR_INJECTED: &str = "StashSidecarInjected";
    pub const CRON_JOB_CREATED: &str = "CronJobCreated";
    pub const REPOSITORY_FOUND: &str = "RepositoryFound";
    pub const BACKEND_SECRET_FOUND: &str = "BackendSecretFound";
    pub const VALIDATION_PASSED: &str = "ValidationPassed";
    // BackupSession.
    pub const RETENTION_POLICY_APPLIED: &str = "RetentionPolicyApplied";
    pub const BACKEND_REPOSITORY_INITIALIZED: &str = "BackendRepositoryInitialized";
    pub const REPOSITORY_INTEGRITY_VERIFIED: &str = "RepositoryIntegrityVerified";
    pub const REPOSITORY_METRICS_PUSHED: &str = "RepositoryMetricsPushed";
    pub const BACKUP_SKIPPED: &str = "BackupSkipped";
    pub const BACKUP_HISTORY_CLEANED: &str = "BackupHistoryCleaned";
    pub const BACKUP_EXECUTOR_ENSURED: &str = "BackupExecutorEnsured";
    pub const PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED: &str = "PreBackupHookExecutionSucceeded";
    pub const POST_BACKUP_HOOK_EXECUTION_SUCCEEDED: &str = "PostBackupHookExecutionSucceeded";
    pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
    pub const BACKUP_DISRUPTED: &str = "BackupDisrupted";
    pub const METRICS_PUSHED: &str = "MetricsPushed";
    pub const GLOBAL_PRE_BACKUP_HOOK_SUCCEEDED: &str = "GlobalPreBackupHookSucceeded";
    pub const GLOBAL_POST_BACKUP_HOOK_SUCCEEDED: &str = "GlobalPostBackupHookSucceeded";
    // Restore.
    pub const RESTORE_TARGET_FOUND: &str = "RestoreTargetFound";
    pub const STASH_INIT_CONTAINER_INJECTED: &str = "StashInitContainerInjected";
    pub const RESTORE_JOB_CREATED: &str = "RestoreJobCreated";
    pub const RESTORE_COMPLETED: &str = "RestoreCompleted";
    pub const RESTORE_EXECUTOR_ENSURED: &str = "RestoreExecutorEnsured";
    pub const PRE_RESTORE_HOOK_EXECUTION_SUCCEEDED: &str = "PreRestoreHookExecutionSucceeded";
    pub const POST_RESTORE_HOOK_EXECUTION_SUCCEEDED: &str = "PostRestoreHookExecutionSucceeded";
    pub const GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED: &str = "GlobalPreRestoreHookSucceeded";
    pub const GLOBAL_POST_RESTORE_HOOK_SUCCEEDED: &str = "GlobalPostRestoreHookSucceeded";
    /// Ours, the restore twin of `BackupDisrupted`: the restore job ended (or vanished)
    /// without reporting its hosts. Stash has no such type; a status written by Stash simply
    /// never carries it.
    pub const RESTORE_DISRUPTED: &str = "RestoreDisrupted";
}

/// Condition reasons.
pub mod reasons {
    pub const TARGET_AVAILABLE: &str = "TargetAvailable";
    pub const TARGET_NOT_AVAILABLE: &str = "TargetNotAvailable";
    pub const UNABLE_TO_CHECK_TARGET_AVAILABILITY: &str = "UnableToCheckTargetAvailability";
    pub const SIDECAR_INJECTION_SUCCEEDED: &str = "SidecarInjectionSucceeded";
    pub const SIDECAR_INJECTION_FAILED: &str = "SidecarInjectionFailed";
    pub const CRON_JOB_CREATION_SUCCEEDED: &str = "CronJobCreationSucceeded";
    pub const CRON_JOB_CREATION_FAILED: &str = "CronJobCreationFailed";
    pub const REPOSITORY_AVAILABLE: &str = "RepositoryAvailable";
    pub const REPOSITORY_NOT_AVAILABLE: &str = "RepositoryNotAvailable";
    pub const UNABLE_TO_CHECK_REPOSITORY_AVAILABILITY: &str = "UnableToCheckRepositoryAvailability";
    pub const BACKEND_SECRET_AVAILABLE: &str = "BackendSecretAvailable";
    pub const BACKEND_SECRET_NOT_AVAILABLE: &str = "BackendSecretNotAvailable";
    pub const UNABLE_TO_CHECK_BACKEND_SECRET_AVAILABILITY: &str =
        "UnableToCheckBackendSecretAvailability";
    pub const RESOURCE_VALIDATION_PASSED: &str = "ResourceValidationPassed";
    pub const RESOURCE_VALIDATION_FAILED: &str = "ResourceValidationFailed";

    pub const SUCCESSFULLY_APPLIED_RETENTION_POLICY: &str = "SuccessfullyAppliedRetentionPolicy";
    pub const FAILED_TO_APPLY_RETENTION_POLICY: &str = "FailedToApplyRetentionPolicy";
    pub const BACKEND_REPOSITORY_FOUND: &str = "BackendRepositoryFound";
    pub const FAILED_TO_INITIALIZE_BACKEND_REPOSITORY: &str = "FailedToInitializeBackendRepository";
    pub const SUCCESSFULLY_VERIFIED_REPOSITORY_INTEGRITY: &str =
        "SuccessfullyVerifiedRepositoryIntegrity";
    pub const FAILED_TO_VERIFY_REPOSITORY_INTEGRITY: &str = "FailedToVerifyRepositoryIntegrity";
    pub const SUCCESSFULLY_PUSHED_REPOSITORY_METRICS: &str = "SuccessfullyPushedRepositoryMetrics";
    pub const FAILED_TO_PUSH_REPOSITORY_METRICS: &str = "FailedToPushRepositoryMetrics";
    pub const SKIPPED_TAKING_NEW_BACKUP: &str = "SkippedTakingNewBackup";
    pub const SUCCESSFULLY_CLEANED_BACKUP_HISTORY: &str = "SuccessfullyCleanedBackupHistory";
    pub const FAILED_TO_CLEAN_BACKUP_HISTORY: &str = "FailedToCleanBackupHistory";
    pub const SUCCESSFULLY_ENSURED_BACKUP_EXECUTOR: &str = "SuccessfullyEnsuredBackupExecutor";
    pub const FAILED_TO_ENSURE_BACKUP_EXECUTOR: &str = "FailedToEnsureBackupExecutor";
    pub const SUCCESSFULLY_EXECUTED_PRE_BACKUP_HOOK: &str = "SuccessfullyExecutedPreBackupHook";
    pub const FAILED_TO_EXECUTE_PRE_BACKUP_HOOK: &str = "FailedToExecutePreBackupHook";
    pub const SUCCESSFULLY_EXECUTED_POST_BACKUP_HOOK: &str = "SuccessfullyExecutedPostBackupHook";
    pub const FAILED_TO_EXECUTE_POST_BACKUP_HOOK: &str = "FailedToExecutePostBackupHook";
    pub const FAILED_TO_COMPLETE_WITHIN_DEADLINE: &str = "FailedToCompleteWithinDeadline";
    pub const FAILED_TO_COMPLETE_DUE_TO_DISRUPTION: &str = "FailedToCompleteDueToDisruption";
    pub const SUCCESSFULLY_PUSHED_METRICS: &str = "SuccessfullyPushedMetrics";
    pub const FAILED_TO_PUSH_METRICS: &str = "FailedToPushMetrics";
    pub const GLOBAL_PRE_BACKUP_HOOK_EXECUTED_SUCCESSFULLY: &str =
        "GlobalPreBackupHookExecutedSuccessfully";
    pub const GLOBAL_PRE_BACKUP_HOOK_EXECUTION_FAILED: &str = "GlobalPreBackupHookExecutionFailed";
    pub const GLOBAL_POST_BACKUP_HOOK_EXECUTED_SUCCESSFULLY: &str =
        "GlobalPostBackupHookExecutedSuccessfully";
    pub const GLOBAL_POST_BACKUP_HOOK_EXECUTION_FAILED: &str =
        "GlobalPostBackupHookExecutionFailed";

    pub const INIT_CONTAINER_INJECTION_SUCCEEDED: &str = "InitContainerInjectionSucceeded";
    pub const INIT_CONTAINER_INJECTION_FAILED: &str = "InitContainerInjectionFailed";
    pub const RESTORE_JOB_CREATION_SUCCEEDED: &str = "RestoreJobCreationSucceeded";
    pub const RESTORE_JOB_CREATION_FAILED: &str = "RestoreJobCreationFailed";
    pub const SUCCESSFULLY_ENSURED_RESTORE_EXECUTOR: &str = "SuccessfullyEnsuredRestoreExecutor";
    pub const FAILED_TO_ENSURE_RESTORE_EXECUTOR: &str = "FailedToEnsureRestoreExecutor";
    pub const SUCCESSFULLY_EXECUTED_PRE_RESTORE_HOOK: &str = "SuccessfullyExecutedPreRestoreHook";
    pub const FAILED_TO_EXECUTE_PRE_RESTORE_HOOK: &str = "FailedToExecutePreRestoreHook";
    pub const SUCCESSFULLY_EXECUTED_POST_RESTORE_HOOK: &str = "SuccessfullyExecutedPostRestoreHook";
    pub const FAILED_TO_EXECUTE_POST_RESTORE_HOOK: &str = "FailedToExecutePostRestoreHook";
    pub const POST_RESTORE_TASKS_EXECUTED: &str = "PostRestoreTasksExecuted";
    pub const POST_RESTORE_TASKS_NOT_EXECUTED: &str = "PostRestoreTasksNotExecuted";
    pub const GLOBAL_PRE_RESTORE_HOOK_EXECUTED_SUCCESSFULLY: &str =
        "GlobalPreRestoreHookExecutedSuccessfully";
    pub const GLOBAL_PRE_RESTORE_HOOK_EXECUTION_FAILED: &str =
        "GlobalPreRestoreHookExecutionFailed";
    pub const GLOBAL_POST_RESTORE_HOOK_EXECUTED_SUCCESSFULLY: &str =
        "GlobalPostRestoreHookExecutedSuccessfully";
    pub const GLOBAL_POST_RESTORE_HOOK_EXECUTION_FAILED: &str =
        "GlobalPostRestoreHookExecutionFailed";
}

/// Pre- and post-backup actions listed on BackupSession targets.
pub mod actions {
    pub const INITIALIZE_BACKEND_REPOSITORY: &str = "InitializeBackendRepository";
    pub const APPLY_RETENTION_POLICY: &str = "ApplyRetentionPolicy";
    pub const VERIFY_REPOSITORY_INTEGRITY: &str = "VerifyRepositoryIntegrity";
    pub const SEND_REPOSITORY_METRICS: &str = "SendRepositoryMetrics";
}

/// Condition statuses.
pub mod status {
    pub const TRUE: &str = "True";
    pub const FALSE: &str = "False";
    pub const UNKNOWN: &str = "Unknown";
}
