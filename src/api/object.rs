//! Any Stash object, recognised by `apiVersion` and `kind`. This is the one place that maps a
//! parsed manifest onto a Rust type; validation and the CLI dispatch on [`StashObject`].

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    AppBinding, BackupBatch, BackupBlueprint, BackupConfiguration, BackupConfigurationTemplateSpec,
    BackupSession, Function, Repository, RepositorySpec, RestoreBatch, RestoreSession,
    RestoreTargetSpec, Snapshot, Task,
};

/// Errors turning a manifest into a typed object.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The group is Stash's but no kind of that name is served at that version.
    #[error("kind {kind:?} is not served by {api_version:?}")]
    UnknownKind { api_version: String, kind: String },
    /// A field has the wrong shape; `path` is the dotted field path (e.g. `spec.paused`).
    #[error("{message}")]
    Field { path: String, message: String },
}

/// One object of a kind this crate knows.
#[derive(Clone, Debug, PartialEq)]
pub enum StashObject {
    Repository(Box<Repository>),
    BackupConfiguration(Box<BackupConfiguration>),
    BackupBatch(Box<BackupBatch>),
    BackupSession(Box<BackupSession>),
    RestoreSession(Box<RestoreSession>),
    RestoreBatch(Box<RestoreBatch>),
    Function(Box<Function>),
    Task(Box<Task>),
    BackupBlueprint(Box<BackupBlueprint>),
    AppBinding(Box<AppBinding>),
    Snapshot(Box<Snapshot>),
}

fn field_error<E: std::fmt::Display>(
    e: serde_path_to_error::Error<E>,
    prefix: &str,
) -> ObjectError {
    let path = e.path().to_string();
    let path = match (prefix, path.as_str()) {
        (p, ".") => p.to_string(),
        ("", _) => path,
        (p, _) => format!("{p}.{path}"),
    };
    ObjectError::Field {
        path,
        message: e.into_inner().to_string(),
    }
}

fn typed<T: DeserializeOwned>(value: &Value) -> Result<Box<T>, ObjectError> {
    serde_path_to_error::deserialize(value)
        .map(Box::new)
        .map_err(|e| field_error(e, ""))
}

/// Like [`typed`] for kinds whose spec flattens a template struct `F`: serde loses the path of
/// errors inside a flattened struct, so on an error at `spec` the template is parsed alone to
/// find the field.
fn typed_flat<T: DeserializeOwned, F: DeserializeOwned>(
    value: &Value,
) -> Result<Box<T>, ObjectError> {
    typed::<T>(value).map_err(|err| match (&err, value.get("spec")) {
        (ObjectError::Field { path, .. }, Some(spec)) if path == "spec" => {
            match serde_path_to_error::deserialize::<_, F>(spec) {
                Err(e) => field_error(e, "spec"),
                Ok(_) => err,
            }
        }
        _ => err,
    })
}

/// Whether `api_version` belongs to one of the groups this crate models.
pub fn is_stash_group(api_version: &str) -> bool {
    let group = api_version.split('/').next().unwrap_or_default();
    matches!(
        group,
        "stash.appscode.com" | "appcatalog.appscode.com" | "repositories.stash.appscode.com"
    )
}

impl StashObject {
    /// Parses a manifest. `Ok(None)` for objects of other groups (a Deployment next to a
    /// BackupConfiguration in the same file is not an error).
    pub fn from_value(value: &Value) -> Result<Option<StashObject>, ObjectError> {
        let api_version = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !is_stash_group(api_version) {
            return Ok(None);
        }
        let obj = match (api_version, kind) {
            ("stash.appscode.com/v1alpha1", "Repository") => Self::Repository(typed(value)?),
            ("stash.appscode.com/v1beta1", "BackupConfiguration") => {
                Self::BackupConfiguration(typed_flat::<_, BackupConfigurationTemplateSpec>(value)?)
            }
            ("stash.appscode.com/v1beta1", "BackupBatch") => Self::BackupBatch(typed(value)?),
            ("stash.appscode.com/v1beta1", "BackupSession") => Self::BackupSession(typed(value)?),
            ("stash.appscode.com/v1beta1", "RestoreSession") => {
                Self::RestoreSession(typed_flat::<_, RestoreTargetSpec>(value)?)
            }
            ("stash.appscode.com/v1beta1", "RestoreBatch") => Self::RestoreBatch(typed(value)?),
            ("stash.appscode.com/v1beta1", "Function") => Self::Function(typed(value)?),
            ("stash.appscode.com/v1beta1", "Task") => Self::Task(typed(value)?),
            ("stash.appscode.com/v1beta1", "BackupBlueprint") => {
                Self::BackupBlueprint(typed_flat::<_, RepositorySpec>(value)?)
            }
            ("appcatalog.appscode.com/v1alpha1", "AppBinding") => Self::AppBinding(typed(value)?),
            ("repositories.stash.appscode.com/v1alpha1", "Snapshot") => {
                Self::Snapshot(typed(value)?)
            }
            _ => {
                return Err(ObjectError::UnknownKind {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                })
            }
        };
        Ok(Some(obj))
    }

    /// Serialises back to JSON.
    pub fn to_value(&self) -> Value {
        let r = match self {
            Self::Repository(o) => serde_json::to_value(o),
            Self::BackupConfiguration(o) => serde_json::to_value(o),
            Self::BackupBatch(o) => serde_json::to_value(o),
            Self::BackupSession(o) => serde_json::to_value(o),
            Self::RestoreSession(o) => serde_json::to_value(o),
            Self::RestoreBatch(o) => serde_json::to_value(o),
            Self::Function(o) => serde_json::to_value(o),
            Self::Task(o) => serde_json::to_value(o),
            Self::BackupBlueprint(o) => serde_json::to_value(o),
            Self::AppBinding(o) => serde_json::to_value(o),
            Self::Snapshot(o) => serde_json::to_value(o),
        };
        // Serialising plain data with string keys cannot fail.
        r.unwrap_or(Value::Null)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Repository(_) => "Repository",
            Self::BackupConfiguration(_) => "BackupConfiguration",
            Self::BackupBatch(_) => "BackupBatch",
            Self::BackupSession(_) => "BackupSession",
            Self::RestoreSession(_) => "RestoreSession",
            Self::RestoreBatch(_) => "RestoreBatch",
            Self::Function(_) => "Function",
            Self::Task(_) => "Task",
            Self::BackupBlueprint(_) => "BackupBlueprint",
            Self::AppBinding(_) => "AppBinding",
            Self::Snapshot(_) => "Snapshot",
        }
    }

    pub fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            Self::Repository(o) => &o.metadata,
            Self::BackupConfiguration(o) => &o.metadata,
            Self::BackupBatch(o) => &o.metadata,
            Self::BackupSession(o) => &o.metadata,
            Self::RestoreSession(o) => &o.metadata,
            Self::RestoreBatch(o) => &o.metadata,
            Self::Function(o) => &o.metadata,
            Self::Task(o) => &o.metadata,
            Self::BackupBlueprint(o) => &o.metadata,
            Self::AppBinding(o) => &o.metadata,
            Self::Snapshot(o) => &o.metadata,
        }
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }
}
