//! Resolution: turning Stash objects plus the facts of one run into concrete values.
//!
//! - [`subst`]: `${VAR}` / `${VAR:=default}` substitution, per string in a parsed tree.
//! - [`variables`]: the implicit variables of a backup or restore, in Stash's precedence.
//! - [`task`]: Task + Functions → containers.
//! - [`rules`]: which restore rule applies to a host.
//! - [`appbinding`]: AppBinding + its Secret → a typed connection.
//! - [`blueprint`]: BackupBlueprint + a target → the Repository and BackupConfiguration.
//!
//! All pure: callers fetch the objects; nothing here talks to the cluster.

pub mod appbinding;
pub mod blueprint;
pub mod rules;
pub mod subst;
pub mod task;
pub mod variables;

pub use appbinding::{resolve_appbinding, Connection};
pub use task::{resolve_task, ResolvedTask};
pub use variables::{backup_variables, restore_variables, Vars};

/// Errors of resolution.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("Task {task} names Function {function}, which does not exist")]
    MissingFunction { task: String, function: String },
    #[error("Task {task} has no steps")]
    EmptyTask { task: String },
    #[error("substituting variables into {what}")]
    Placeholder {
        what: String,
        #[source]
        source: subst::SubstError,
    },
    #[error("re-reading {what} after substitution")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("AppBinding {name} has no clientConfig")]
    NoClientConfig { name: String },
    #[error("AppBinding {name}: parsing clientConfig.url {url:?}: {reason}")]
    BadUrl {
        name: String,
        url: String,
        reason: String,
    },
    #[error("AppBinding {name}: {field} names Secret {secret:?}, which was not given")]
    MissingSecretRef {
        name: String,
        field: String,
        secret: String,
    },
    #[error("AppBinding {name}: Secret {secret:?} (spec.secret) has no key {key:?} (keys after secretTransforms: {keys}); fix: {fix}")]
    MissingSecretKey {
        name: String,
        secret: String,
        key: String,
        keys: String,
        fix: String,
    },
}

#[cfg(test)]
mod tests;
