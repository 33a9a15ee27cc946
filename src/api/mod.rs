//! Stash's Kubernetes API as plain Rust data: the kinds of `stash.appscode.com` (v1alpha1
//! Repository; v1beta1 BackupConfiguration, BackupBatch, BackupSession, RestoreSession,
//! RestoreBatch, Function, Task, BackupBlueprint), kmodules' AppBinding, and the Snapshot object
//! of Stash's aggregated API, plus pure functions over them: admission-style validation
//! ([`validate`]), Task/AppBinding/BackupBlueprint resolution ([`resolve`]), the built-in
//! catalog ([`catalog`]) and CRD generation ([`crd`]).
//!
//! Shape: one file per kind, named after Stash's Go file; shared pieces in [`common`],
//! [`runtime`], [`hooks`]. Field names are Stash's camelCase JSON names and every field a user
//! may write is optional in Rust, so any manifest written for Stash parses and re-serialises to
//! the same JSON. Kubernetes core types are k8s-openapi's. Nothing here does I/O except
//! [`validate::validate_path`] and [`catalog`] reading the files they are given, and nothing
//! talks to an API server (kube is used for its derive only).

// kube's `printcolumn(type_ = "string", …)` repeated per column trips this lint.
#![allow(clippy::duplicated_attributes)]

pub mod appbinding;
pub mod backup_batch;
pub mod backup_blueprint;
pub mod backup_configuration;
pub mod backup_session;
pub mod catalog;
pub mod common;
pub mod conditions;
pub mod crd;
pub mod function;
pub mod hooks;
pub mod object;
pub mod output;
pub mod repository;
pub mod resolve;
pub mod restore_batch;
pub mod restore_session;
pub mod runtime;
mod schema;
pub mod selector;
pub mod snapshot;
pub mod task;
pub mod validate;

pub use appbinding::{AppBinding, AppBindingSpec};
pub use backup_batch::{BackupBatch, BackupBatchSpec, BackupBatchStatus};
pub use backup_blueprint::{BackupBlueprint, BackupBlueprintSpec};
pub use backup_configuration::{
    BackupConfiguration, BackupConfigurationSpec, BackupConfigurationStatus,
    BackupConfigurationTemplateSpec, BackupInvokerPhase, BackupTarget,
};
pub use backup_session::{
    BackupSession, BackupSessionPhase, BackupSessionSpec, BackupSessionStatus,
};
pub use common::{Condition, ObjectReference, Param, Snapshotter, TargetRef, TaskRef};
pub use function::{Function, FunctionSpec};
pub use object::StashObject;
pub use repository::{Backend, Repository, RepositorySpec, RepositoryStatus, RetentionPolicy};
pub use restore_batch::{RestoreBatch, RestoreBatchSpec, RestoreBatchStatus};
pub use restore_session::{
    RestorePhase, RestoreSession, RestoreSessionSpec, RestoreSessionStatus, RestoreTarget,
    RestoreTargetSpec, Rule,
};
pub use snapshot::Snapshot;
pub use task::{Task, TaskSpec};

/// API group of Stash's own kinds.
pub const STASH_GROUP: &str = "stash.appscode.com";
/// API group of AppBinding.
pub const APPCATALOG_GROUP: &str = "appcatalog.appscode.com";
/// Finalizer Stash puts on invokers.
pub const INVOKER_FINALIZER: &str = "stash.appscode.com";
/// Finalizer Stash puts on Repositories.
pub const REPOSITORY_FINALIZER: &str = "stash";

#[cfg(test)]
mod examples_tests;
