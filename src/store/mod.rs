//! Where the controller's objects come from: AppBindings, Secrets, Repositories (and, as the
//! controller grows, the other kinds) looked up by namespace and name.
//!
//! [`ObjectStore`] is the seam. In a cluster it is the Kubernetes API (implemented in the
//! `controller` crate, the only one that talks to Kubernetes); in local mode it is a folder of
//! manifests, [`ManifestDir`]. Code that needs an object — the addon subcommands today, the
//! reconcilers later — takes `&dyn ObjectStore` and does not know which one it has.
//!
//! The trait is async and object-safe because the Kubernetes implementation does network I/O
//! per lookup; the manifest folder answers from memory. Errors name the kind, namespace and
//! name, where the store looked, and what to do about it. Secret values only travel inside
//! [`SecretObject`], whose `Debug` shows key names, never values.
use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;

use crate::api::resolve::appbinding::{resolve_appbinding, Connection, SecretData};
use crate::api::resolve::ResolveError;
use crate::api::{AppBinding, Repository};
use crate::storage::StorageSecret;

pub mod env;
mod manifests;

pub use manifests::ManifestDir;

/// Which object: kind, namespace and name (`AppBinding demo/pg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &'static str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// An object that exists but does not parse as its kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{object} (in {origin}): field {path}: {message}")]
pub struct InvalidObject {
    pub object: ObjectRef,
    /// Where it was read (a file, `file#2` for the second document).
    pub origin: String,
    /// The field, e.g. `spec.secret`.
    pub path: String,
    pub message: String,
}

/// Errors looking objects up.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such object. `hint` says what to do and what the store holds instead.
    #[error("{object} not found in {origin}{hint}")]
    NotFound {
        object: ObjectRef,
        origin: String,
        hint: String,
    },
    #[error(transparent)]
    Invalid(Box<InvalidObject>),
    /// Two manifests define the same object; the store will not guess which one is meant.
    #[error("{object} is defined twice, in {first} and in {second}: keep one")]
    Duplicate {
        object: ObjectRef,
        first: String,
        second: String,
    },
    #[error("reading {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not YAML: {message}")]
    Yaml { path: String, message: String },
    /// An AppBinding was found but cannot be turned into a connection.
    #[error("resolving {object} into a connection")]
    Resolve {
        object: ObjectRef,
        #[source]
        source: Box<ResolveError>,
    },
}

impl StoreError {
    /// Worth trying again later (a file being written, an API server restarting); a missing or
    /// malformed object is not.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Read { .. })
    }
}

/// A Secret's data (`data`, base64-decoded, merged with `stringData`). `Debug` lists the keys
/// only, so a Secret can be logged by accident without leaking anything.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretObject {
    data: SecretData,
}

impl SecretObject {
    pub fn new(data: SecretData) -> SecretObject {
        SecretObject { data }
    }
    pub fn data(&self) -> &SecretData {
        &self.data
    }
    pub fn into_data(self) -> SecretData {
        self.data
    }
    /// As a Repository's storage Secret (`RESTIC_PASSWORD`, provider credentials).
    pub fn into_storage_secret(self) -> StorageSecret {
        StorageSecret::new(self.data)
    }
}

impl fmt::Debug for SecretObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretObject")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Objects by namespace and name.
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// Where objects come from, for messages: `manifests in /etc/stash`, `the Kubernetes API`.
    fn origin(&self) -> String;
    async fn app_binding(&self, namespace: &str, name: &str) -> Result<AppBinding, StoreError>;
    async fn secret(&self, namespace: &str, name: &str) -> Result<SecretObject, StoreError>;
    async fn repository(&self, namespace: &str, name: &str) -> Result<Repository, StoreError>;
}

/// The Secrets an AppBinding names, by the field that names them (in order).
fn secret_refs(ab: &AppBinding) -> Vec<(String, String)> {
    let spec = &ab.spec;
    let mut refs = Vec::new();
    if let Some(s) = &spec.secret {
        refs.push(("spec.secret".to_string(), s.name.clone()));
    }
    for (i, t) in spec.secret_transforms.iter().flatten().enumerate() {
        if let Some(r) = t.add_keys_from.as_ref().and_then(|a| a.secret_ref.as_ref()) {
            refs.push((
                format!("spec.secretTransforms[{i}].addKeysFrom.secretRef"),
                r.name.clone(),
            ));
        }
    }
    if let Some(s) = &spec.tls_secret {
        refs.push(("spec.tlsSecret".to_string(), s.name.clone()));
    }
    refs
}

/// Looks up AppBinding `namespace/name` and every Secret it names (same namespace), and
/// resolves them into a [`Connection`], as Stash's addons do with the API server.
pub async fn app_connection(
    store: &dyn ObjectStore,
    namespace: &str,
    name: &str,
) -> Result<(AppBinding, Connection), StoreError> {
    let ab = store.app_binding(namespace, name).await?;
    let mut secrets: BTreeMap<String, SecretData> = BTreeMap::new();
    for (field, secret) in secret_refs(&ab) {
        if secrets.contains_key(&secret) {
            continue;
        }
        let data = match store.secret(namespace, &secret).await {
            Ok(s) => s.into_data(),
            // Say which field of the AppBinding pointed at the missing Secret.
            Err(StoreError::NotFound {
                object,
                origin,
                hint,
            }) => {
                let hint = format!("{hint} (named by {field} of AppBinding {namespace}/{name})");
                return Err(StoreError::NotFound {
                    object,
                    origin,
                    hint,
                });
            }
            Err(e) => return Err(e),
        };
        secrets.insert(secret, data);
    }
    let conn = resolve_appbinding(&ab, &secrets).map_err(|source| StoreError::Resolve {
        object: ObjectRef::new("AppBinding", namespace, name),
        source: Box::new(source),
    })?;
    Ok((ab, conn))
}

#[cfg(test)]
mod tests;
