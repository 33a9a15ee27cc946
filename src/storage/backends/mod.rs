//! Opening Stash's `Repository.spec.backend`, one module per backend.
//!
//! There is one family of spec types, the API's ([`crate::api::repository::Backend`] and its
//! `S3Spec`, `GCSSpec`, …): a Repository object opens with no conversion and no second copy
//! of its fields or of the rules on them (the required-field rules are the API types'
//! `required_*` accessors, which admission uses too). restic's repository strings
//! ([`super::location`]) parse into the same types. Each backend module has:
//!
//! * `XConfig::new(&api::XSpec, creds)` — the spec's fields resolved (defaults applied,
//!   required ones checked) plus credentials from a [`Credentials`](super::Credentials) source
//!   (a storage Secret or the environment), with a hand-written `Debug` that hides every
//!   secret;
//! * `XConfig::location()` — restic's repository string, never with a secret in it;
//! * `XConfig::build()` — the OpenDAL operator rooted at the repository (the REST backend,
//!   which OpenDAL has no service for, builds our own client instead).
//!
//! `api::Backend::config` (here) checks that exactly one provider is set and makes the
//! [`BackendConfig`], which opens an `Arc<dyn Backend>` for the engine.
use std::sync::Arc;

use super::secret::{MissingKey, Redactor, StorageSecret};
use super::{LazyBackend, OpendalBackend};
use crate::api::repository::{self as api, MissingField};
use crate::engine::backend::Backend;

pub mod azure;
pub mod b2;
pub mod gcs;
pub mod local;
pub mod rest;
pub mod s3;
pub mod swift;

#[cfg(test)]
pub(crate) mod stub;

pub use azure::AzureConfig;
pub use b2::B2Config;
pub use gcs::GcsConfig;
pub use local::LocalConfig;
pub use rest::{RestBackend, RestConfig};
pub use s3::S3Config;
pub use swift::SwiftConfig;

/// Configuring or building a backend failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    MissingKey(#[from] MissingKey),
    /// A field of the spec is unusable; names the field and what to do.
    #[error("{backend} backend: {message}")]
    Invalid {
        backend: &'static str,
        message: String,
    },
    #[error("{0} does not exist: it is not a repository (create one with `stash init`)")]
    Missing(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("building the {service} backend for {location}")]
    Build {
        service: &'static str,
        location: String,
        #[source]
        source: Box<opendal::Error>,
    },
    #[error("Repository.spec.backend sets {0}: set exactly one of local, s3, gcs, azure, swift, b2, rest")]
    NotExactlyOne(String),
}

/// A required field, in the words storage has always used: `s3 backend: bucket is empty: set
/// spec.backend.s3.bucket`.
impl From<MissingField> for StorageError {
    fn from(m: MissingField) -> StorageError {
        StorageError::invalid(
            m.provider(),
            format!("{} is empty: set spec.backend.{}", m.field(), m.0),
        )
    }
}

impl StorageError {
    pub(crate) fn invalid(backend: &'static str, message: impl Into<String>) -> StorageError {
        StorageError::Invalid {
            backend,
            message: message.into(),
        }
    }
}

/// Where a `local` backend's folder is reached from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalAccess {
    /// Inside a backup Job or sidecar: the volume is mounted at `mountPath` (kubelet applied
    /// `subPath`), like Stash's `RESTIC_REPOSITORY=<mountPath>`.
    Mounted,
    /// Local mode: no pod, the volume's host path (`hostPath.path` + `subPath`) is used.
    Host,
}

/// Opening the API's `spec.backend` (the storage layer's side of the type; it lives here so
/// that the API module does not depend on OpenDAL).
impl api::Backend {
    /// Combine with the storage Secret. Exactly one provider must be set; a missing required
    /// field fails naming it (the rule is the API type's, the one admission applies); a missing
    /// required key fails with Stash's text (`storage Secret missing <KEY> key`).
    pub fn config(
        &self,
        secret: &StorageSecret,
        local: LocalAccess,
    ) -> Result<BackendConfig, StorageError> {
        let providers = self.providers();
        if providers.len() != 1 {
            let what = if providers.is_empty() {
                "none".to_string()
            } else {
                providers.join(" and ")
            };
            return Err(StorageError::NotExactlyOne(what));
        }
        Ok(if let Some(s) = &self.local {
            BackendConfig::Local(LocalConfig::new(s, local)?)
        } else if let Some(s) = &self.s3 {
            BackendConfig::S3(S3Config::new(s, secret)?)
        } else if let Some(s) = &self.gcs {
            BackendConfig::Gcs(GcsConfig::new(s, secret)?)
        } else if let Some(s) = &self.azure {
            BackendConfig::Azure(AzureConfig::new(s, secret)?)
        } else if let Some(s) = &self.swift {
            BackendConfig::Swift(SwiftConfig::new(s, secret)?)
        } else if let Some(s) = &self.b2 {
            BackendConfig::B2(B2Config::new(s, secret)?)
        } else {
            BackendConfig::Rest(RestConfig::new(
                self.rest.as_ref().expect("one provider"),
                secret,
            )?)
        })
    }

    /// Stash's `maxConnections` of the backend, if it sets a positive one (for
    /// `RepoOptions.connections`).
    pub fn connections(&self) -> Option<usize> {
        usize::try_from(self.max_connections())
            .ok()
            .filter(|n| *n > 0)
    }
}

/// A spec's `maxConnections` as a limit (`0`: none); negative is refused.
pub(crate) fn connection_limit(
    backend: &'static str,
    max_connections: Option<i64>,
) -> Result<usize, StorageError> {
    usize::try_from(max_connections.unwrap_or(0))
        .map_err(|_| StorageError::invalid(backend, "maxConnections must not be negative"))
}

/// A backend ready to open: spec plus credentials.
#[derive(Clone, Debug)]
pub enum BackendConfig {
    Local(LocalConfig),
    S3(S3Config),
    Gcs(GcsConfig),
    Azure(AzureConfig),
    Swift(SwiftConfig),
    B2(B2Config),
    Rest(RestConfig),
}

impl BackendConfig {
    /// restic's repository string, without secrets.
    pub fn location(&self) -> String {
        match self {
            BackendConfig::Local(c) => c.location(),
            BackendConfig::S3(c) => c.location(),
            BackendConfig::Gcs(c) => c.location(),
            BackendConfig::Azure(c) => c.location(),
            BackendConfig::Swift(c) => c.location(),
            BackendConfig::B2(c) => c.location(),
            BackendConfig::Rest(c) => c.location(),
        }
    }

    /// The backend for the engine. Nothing is contacted yet (Swift and B2 authenticate on
    /// first use); a local folder must exist unless `create` is set.
    pub fn open(&self, create: bool) -> Result<Arc<dyn Backend>, StorageError> {
        let opendal = |op, redactor: Redactor, location: String| -> Arc<dyn Backend> {
            Arc::new(OpendalBackend::new(op, location, false).with_redactor(redactor))
        };
        Ok(match self {
            BackendConfig::Local(c) => Arc::new(
                OpendalBackend::new(c.build(create)?, c.location(), true)
                    .with_local_root(c.absolute_path()),
            ),
            BackendConfig::S3(c) => opendal(c.build()?, c.redactor(), c.location()),
            BackendConfig::Gcs(c) => opendal(c.build()?, c.redactor(), c.location()),
            BackendConfig::Azure(c) => opendal(c.build()?, c.redactor(), c.location()),
            BackendConfig::Swift(c) => {
                let c = c.clone();
                Arc::new(LazyBackend::new(c.location(), move || {
                    let c = c.clone();
                    Box::pin(async move { c.open().await })
                }))
            }
            BackendConfig::B2(c) => {
                let c = c.clone();
                Arc::new(LazyBackend::new(c.location(), move || {
                    let c = c.clone();
                    Box::pin(async move { c.open().await })
                }))
            }
            BackendConfig::Rest(c) => Arc::new(c.build()?),
        })
    }
}

impl BackendConfig {
    /// Every object key below `dir` (relative to this backend's root; `""` for all), to look at
    /// the raw layout (tests, `wipeOut`). Only for the backends built straight from OpenDAL.
    pub async fn object_keys(&self, dir: &str) -> Result<Vec<String>, StorageError> {
        let op = match self {
            BackendConfig::Local(c) => c.build(false)?,
            BackendConfig::S3(c) => c.build()?,
            BackendConfig::Gcs(c) => c.build()?,
            BackendConfig::Azure(c) => c.build()?,
            _ => {
                return Err(StorageError::invalid(
                    "rest/swift/b2",
                    "listing raw object keys is not supported",
                ))
            }
        };
        let dir = format!("{}/", dir.trim_matches('/'));
        let dir = if dir == "/" { String::new() } else { dir };
        let entries =
            op.list_with(&dir)
                .recursive(true)
                .await
                .map_err(|e| StorageError::Build {
                    service: op.info().scheme(),
                    location: self.location(),
                    source: Box::new(e),
                })?;
        Ok(entries
            .into_iter()
            .filter(|e| !e.metadata().is_dir())
            .map(|e| e.path().to_string())
            .collect())
    }
}

/// Normalise a prefix into an OpenDAL root: `/a/b/` for `a/b`, `/a/b`, `a/b/`; `/` for none.
pub(crate) fn root_of(prefix: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        "/".to_string()
    } else {
        format!("/{p}/")
    }
}

/// The prefix as restic writes it after `bucket:` (`/a/b`, or empty).
pub(crate) fn restic_prefix(prefix: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        String::new()
    } else {
        format!("/{p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_backend() {
        let spec: api::Backend =
            serde_json::from_value(serde_json::json!({"storageSecretName": "s"})).unwrap();
        let e = spec
            .config(&StorageSecret::default(), LocalAccess::Mounted)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sets none"), "{e}");
        let spec: api::Backend = serde_json::from_value(serde_json::json!({
            "s3": {"endpoint": "s3.amazonaws.com", "bucket": "b"}, "gcs": {"bucket": "g"}
        }))
        .unwrap();
        let e = spec
            .config(&StorageSecret::default(), LocalAccess::Mounted)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sets s3 and gcs"), "{e}");
    }

    #[test]
    fn missing_required_fields_are_named() {
        let cases = [
            (
                serde_json::json!({"s3": {"endpoint": "e"}}),
                "s3 backend: bucket is empty: set spec.backend.s3.bucket",
            ),
            (
                serde_json::json!({"gcs": {"bucket": " "}}),
                "gcs backend: bucket is empty: set spec.backend.gcs.bucket",
            ),
            (
                serde_json::json!({"azure": {}}),
                "azure backend: container is empty: set spec.backend.azure.container",
            ),
            (
                serde_json::json!({"swift": {"prefix": "p"}}),
                "swift backend: container is empty: set spec.backend.swift.container",
            ),
            (
                serde_json::json!({"b2": {}}),
                "b2 backend: bucket is empty: set spec.backend.b2.bucket",
            ),
            (
                serde_json::json!({"rest": {}}),
                "rest backend: url is empty: set spec.backend.rest.url",
            ),
            (
                serde_json::json!({"local": {"emptyDir": {}}}),
                "local backend: mountPath is empty: set spec.backend.local.mountPath",
            ),
        ];
        for (spec, want) in cases {
            let spec: api::Backend = serde_json::from_value(spec).unwrap();
            let e = spec
                .config(&StorageSecret::default(), LocalAccess::Mounted)
                .unwrap_err()
                .to_string();
            assert_eq!(e, want);
        }
        let b: api::Backend = serde_json::from_value(
            serde_json::json!({"gcs": {"bucket": "b", "maxConnections": -1}}),
        )
        .unwrap();
        assert_eq!(b.connections(), None);
        assert!(b
            .config(&StorageSecret::default(), LocalAccess::Mounted)
            .unwrap_err()
            .to_string()
            .contains("maxConnections must not be negative"));
    }

    #[test]
    fn stash_yaml_parses_and_maps() {
        let spec: api::Backend = serde_json::from_value(serde_json::json!({
            "storageSecretName": "gcs-secret",
            "gcs": {"bucket": "stash-testing", "prefix": "/demo/mariadb/sample-mariadb", "maxConnections": 3}
        }))
        .unwrap();
        assert_eq!(spec.connections(), Some(3));
        let secret =
            StorageSecret::from_strings([("RESTIC_PASSWORD", "pw"), ("GOOGLE_PROJECT_ID", "p")]);
        let cfg = spec.config(&secret, LocalAccess::Mounted).unwrap();
        assert_eq!(
            cfg.location(),
            "gs:stash-testing:/demo/mariadb/sample-mariadb"
        );
    }

    #[test]
    fn the_repository_string_of_every_backend_matches_stashs() {
        // Stash hands restic these strings; ours are the same for the same spec.
        let secret = StorageSecret::from_strings([
            ("AZURE_ACCOUNT_NAME", "a"),
            ("AZURE_ACCOUNT_KEY", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="),
            ("B2_ACCOUNT_ID", "id"),
            ("B2_ACCOUNT_KEY", "key"),
            ("OS_STORAGE_URL", "https://swift/v1"),
            ("OS_AUTH_TOKEN", "t"),
        ]);
        let cases = [
            (
                serde_json::json!({"s3": {"endpoint": "s3.amazonaws.com", "bucket": "b", "prefix": "/p/q"}}),
                "s3:s3.amazonaws.com/b/p/q",
            ),
            (
                serde_json::json!({"gcs": {"bucket": "b", "prefix": "/p"}}),
                "gs:b:/p",
            ),
            (
                serde_json::json!({"azure": {"container": "c", "prefix": "p"}}),
                "azure:c:/p",
            ),
            (
                serde_json::json!({"b2": {"bucket": "b", "prefix": "/p"}}),
                "b2:b:/p",
            ),
            (
                serde_json::json!({"swift": {"container": "c", "prefix": "/p"}}),
                "swift:c:/p",
            ),
            (
                serde_json::json!({"rest": {"url": "http://rest:8000/r"}}),
                "rest:http://rest:8000/r/",
            ),
            (
                serde_json::json!({"local": {"mountPath": "/safe/data", "hostPath": {"path": "/data"}}}),
                "local:/safe/data",
            ),
        ];
        for (spec, want) in cases {
            let spec: api::Backend = serde_json::from_value(spec).unwrap();
            let cfg = spec.config(&secret, LocalAccess::Mounted).unwrap();
            assert_eq!(cfg.location(), want);
            // Opening contacts nothing (Swift and B2 authenticate on first use).
            if spec.local.is_none() {
                assert_eq!(cfg.open(false).unwrap().location(), want);
            }
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(root_of(""), "/");
        assert_eq!(root_of("/"), "/");
        assert_eq!(root_of("/a/b/"), "/a/b/");
        assert_eq!(root_of("a"), "/a/");
        assert_eq!(restic_prefix("a/b/"), "/a/b");
        assert_eq!(restic_prefix(""), "");
    }
}
