//! Stash's `Repository.spec.backend`, one module per backend, all of the same shape:
//!
//! * `XSpec` — the CRD's fields, camelCase as Stash spells them (plain serde data);
//! * `XConfig` — the spec plus credentials from a [`Credentials`] source (a storage Secret or
//!   the environment), with a hand-written `Debug` that hides every secret;
//! * `XConfig::location()` — restic's repository string, never with a secret in it;
//! * `XConfig::build()` — the OpenDAL operator rooted at the repository (the REST backend,
//!   which OpenDAL has no service for, builds our own client instead).
//!
//! [`BackendSpec`] mirrors Stash's `Backend` (exactly one member set) and turns into a
//! [`BackendConfig`], which opens an `Arc<dyn Backend>` for the engine.
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::secret::{MissingKey, Redactor, StorageSecret};
use super::{LazyBackend, OpendalBackend};
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

pub use azure::{AzureConfig, AzureSpec};
pub use b2::{B2Config, B2Spec};
pub use gcs::{GcsConfig, GcsSpec};
pub use local::{LocalConfig, LocalSpec};
pub use rest::{RestBackend, RestConfig, RestSpec};
pub use s3::{S3Config, S3Spec};
pub use swift::{SwiftConfig, SwiftSpec};

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

impl StorageError {
    pub(crate) fn invalid(backend: &'static str, message: impl Into<String>) -> StorageError {
        StorageError::Invalid {
            backend,
            message: message.into(),
        }
    }
}

/// Stash's `Repository.spec.backend`: the storage Secret's name and exactly one backend.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_secret_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Spec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<GcsSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swift: Option<SwiftSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b2: Option<B2Spec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<RestSpec>,
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

impl BackendSpec {
    fn members(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.local.is_some() {
            v.push("local");
        }
        if self.s3.is_some() {
            v.push("s3");
        }
        if self.gcs.is_some() {
            v.push("gcs");
        }
        if self.azure.is_some() {
            v.push("azure");
        }
        if self.swift.is_some() {
            v.push("swift");
        }
        if self.b2.is_some() {
            v.push("b2");
        }
        if self.rest.is_some() {
            v.push("rest");
        }
        v
    }

    /// Combine with the storage Secret. A missing required key fails with Stash's text
    /// (`storage Secret missing <KEY> key`).
    pub fn config(
        &self,
        secret: &StorageSecret,
        local: LocalAccess,
    ) -> Result<BackendConfig, StorageError> {
        let members = self.members();
        if members.len() != 1 {
            let what = if members.is_empty() {
                "none".to_string()
            } else {
                members.join(" and ")
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
                self.rest.as_ref().expect("one member"),
                secret,
            )?)
        })
    }

    /// Stash's `maxConnections` of the backend, if it has one (for `RepoOptions.connections`).
    pub fn max_connections(&self) -> Option<usize> {
        let n = self
            .gcs
            .as_ref()
            .map(|s| s.max_connections)
            .or(self.azure.as_ref().map(|s| s.max_connections))
            .or(self.b2.as_ref().map(|s| s.max_connections))?;
        (n > 0).then_some(n as usize)
    }
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
        let spec: BackendSpec =
            serde_json::from_value(serde_json::json!({"storageSecretName": "s"})).unwrap();
        let e = spec
            .config(&StorageSecret::default(), LocalAccess::Mounted)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sets none"), "{e}");
        let spec: BackendSpec = serde_json::from_value(serde_json::json!({
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
    fn stash_yaml_parses_and_maps() {
        let spec: BackendSpec = serde_json::from_value(serde_json::json!({
            "storageSecretName": "gcs-secret",
            "gcs": {"bucket": "stash-testing", "prefix": "/demo/mariadb/sample-mariadb", "maxConnections": 3}
        }))
        .unwrap();
        assert_eq!(spec.max_connections(), Some(3));
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
            let spec: BackendSpec = serde_json::from_value(spec).unwrap();
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
