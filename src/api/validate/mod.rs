//! Stash's admission rules as pure functions that return every problem (not just the first, as
//! Stash's webhooks do), each with the field path it concerns, so `stash validate -f` can list
//! all of them at once and the controller can put the same text into a `ValidationPassed`
//! condition.
//!
//! - [`validate`]: rules on one object alone (create, and the new object of an update).
//! - [`validate_update`]: rules comparing old and new (target frozen while Ready, session specs
//!   immutable).
//! - [`check_repository_usage`]: cross-namespace Repository use against its `usagePolicy`.
//! - [`validate_path`]: reads a file or a directory of multi-document YAML, dispatches on
//!   `apiVersion`/`kind`, and applies all of the above that the files allow.
//!
//! Messages reuse Stash's wording where Stash has one.

mod backup;
mod files;
mod misc;
mod repository;
mod restore;
pub mod syntax;
mod update;

use std::fmt;
use std::path::PathBuf;

pub use files::{validate_documents, validate_path};
pub use update::validate_update;

use super::object::StashObject;
use super::Repository;

/// One thing wrong with a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// File the object came from, when read from disk.
    pub file: Option<PathBuf>,
    /// `Kind/name`, when the object could be identified.
    pub object: Option<String>,
    /// Dotted field path such as `spec.target.rules[1].targetHosts`; empty for the whole object.
    pub path: String,
    pub message: String,
}

impl Problem {
    /// A problem at `path` of an unidentified object (the caller fills in file and object).
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: None,
            object: None,
            path: path.into(),
            message: message.into(),
        }
    }

    fn required(path: impl Into<String>) -> Self {
        Problem::at(path, "Required value")
    }

    fn for_object(mut self, kind: &str, name: &str) -> Self {
        self.object = Some(format!("{kind}/{name}"));
        self
    }
}

/// `<file>: <kind>/<name>: <field path>: <message>`, leaving out the parts that are unknown.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if let Some(obj) = &self.object {
            write!(f, "{obj}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Errors of this module that are not problems of a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `base.field`, or `field` when `base` is empty.
pub(crate) fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

/// Every rule that applies to `obj` on its own. The problems carry `Kind/name` but no file.
pub fn validate(obj: &StashObject) -> Vec<Problem> {
    let problems = match obj {
        StashObject::Repository(r) => repository::repository(r),
        StashObject::BackupConfiguration(bc) => backup::backup_configuration(bc),
        StashObject::BackupBatch(bb) => backup::backup_batch(bb),
        StashObject::BackupBlueprint(bp) => backup::backup_blueprint(bp),
        StashObject::RestoreSession(rs) => restore::restore_session(rs),
        StashObject::RestoreBatch(rb) => restore::restore_batch(rb),
        StashObject::BackupSession(s) => misc::backup_session(s),
        StashObject::Function(f) => misc::function(f),
        StashObject::Task(t) => misc::task(t),
        StashObject::AppBinding(ab) => misc::appbinding(ab),
        StashObject::Snapshot(_) => Vec::new(),
    };
    let (kind, name) = (obj.kind(), obj.name());
    problems
        .into_iter()
        .map(|p| p.for_object(kind, name))
        .collect()
}

/// Stash's usage-policy webhook: an invoker in `invoker_namespace` (whose labels are
/// `namespace_labels`) referencing `repo` from another namespace must be allowed by the
/// Repository's `usagePolicy`. `None` when allowed.
pub fn check_repository_usage(
    repo: &Repository,
    invoker_namespace: &str,
    namespace_labels: &std::collections::BTreeMap<String, String>,
) -> Option<Problem> {
    if repo.usage_allowed(invoker_namespace, namespace_labels) {
        return None;
    }
    let repo_ns = repo.metadata.namespace.as_deref().unwrap_or_default();
    let repo_name = repo.metadata.name.as_deref().unwrap_or_default();
    Some(Problem::at(
        "spec.repository",
        format!(
            "namespace {invoker_namespace:?} is not allowed to refer Repository {repo_name:?} of \
             {repo_ns:?} namespace. Please, check the `usagePolicy` of the Repository"
        ),
    ))
}

#[cfg(test)]
mod tests;
