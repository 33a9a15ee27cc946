//! `gcs`: Google Cloud Storage over its JSON API.
//!
//! A pack is written with one single-shot media upload (OpenDAL uses its chunked XML multipart
//! upload only when a writer is given a chunk size, which we never do), so it is visible whole
//! or not at all — and it is the path the GCS emulator in our tests accepts.
use base64::Engine as _;
use opendal::Operator;

use super::{connection_limit, restic_prefix, root_of, StorageError};
use crate::api::repository::GCSSpec;
use crate::storage::http::{self, TlsOptions};
use crate::storage::secret::{Credentials, Redactor, Sensitive};

#[derive(Clone)]
pub struct GcsConfig {
    pub bucket: String,
    pub prefix: String,
    /// `maxConnections`; 0: no limit of ours.
    pub max_connections: usize,
    /// Not needed for object access; kept because Stash's Secret carries it.
    pub project_id: Option<String>,
    /// The service account key (JSON). Absent: workload identity / VM metadata.
    pub service_account_json: Option<Sensitive>,
    /// An emulator's base URL (`STORAGE_EMULATOR_HOST`, Google's convention, which restic's
    /// Go client honours too). Requests are then unsigned.
    pub emulator: Option<String>,
    pub ca_cert_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for GcsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcsConfig")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("max_connections", &self.max_connections)
            .field("project_id", &self.project_id)
            .field(
                "service_account_json",
                &self.service_account_json.as_ref().map(|_| "***"),
            )
            .field("emulator", &self.emulator)
            .finish()
    }
}

impl GcsConfig {
    pub fn new(spec: &GCSSpec, creds: &dyn Credentials) -> Result<GcsConfig, StorageError> {
        let bucket = spec.required_bucket()?.to_string();
        let max_connections = connection_limit("gcs", spec.max_connections)?;
        let emulator = creds.optional("STORAGE_EMULATOR_HOST").map(|h| {
            let h = h.expose().trim_end_matches('/');
            if h.starts_with("http://") || h.starts_with("https://") {
                h.to_string()
            } else {
                format!("http://{h}")
            }
        });
        Ok(GcsConfig {
            bucket,
            prefix: spec.prefix.clone().unwrap_or_default(),
            max_connections,
            project_id: creds
                .optional("GOOGLE_PROJECT_ID")
                .map(|p| p.expose().to_string()),
            service_account_json: creds.optional("GOOGLE_SERVICE_ACCOUNT_JSON_KEY"),
            emulator,
            ca_cert_pem: creds
                .optional("CA_CERT_DATA")
                .map(|c| c.expose().as_bytes().to_vec()),
        })
    }

    /// `gs:<bucket>:/<prefix>`.
    pub fn location(&self) -> String {
        format!(
            "gs:{}:{}",
            self.bucket,
            or_root(restic_prefix(&self.prefix))
        )
    }

    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.service_account_json.iter())
    }

    pub fn builder(&self) -> opendal::services::Gcs {
        let mut b = opendal::services::Gcs::default()
            .bucket(&self.bucket)
            .root(&root_of(&self.prefix))
            .scope("https://www.googleapis.com/auth/devstorage.read_write");
        if let Some(json) = &self.service_account_json {
            b = b.credential(&base64::engine::general_purpose::STANDARD.encode(json.expose()));
        }
        if let Some(ep) = &self.emulator {
            b = b
                .endpoint(ep)
                .skip_signature()
                .disable_vm_metadata()
                .disable_config_load();
        }
        b
    }

    pub fn build(&self) -> Result<Operator, StorageError> {
        let op = Operator::new(self.builder()).map_err(|e| StorageError::Build {
            service: "gcs",
            location: self.location(),
            source: Box::new(e),
        })?;
        let tls = TlsOptions {
            insecure: false,
            ca_cert_pem: self.ca_cert_pem.clone(),
        };
        Ok(http::finish(
            op,
            http::client(&tls)?,
            Some(self.max_connections),
        ))
    }
}

/// restic writes `bucket:/` for the bucket's root.
pub(crate) fn or_root(p: String) -> String {
    if p.is_empty() {
        "/".to_string()
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::secret::StorageSecret;

    #[test]
    fn stash_fields_map_to_the_operator() {
        let spec: GCSSpec = serde_json::from_value(serde_json::json!({"bucket": "stash-testing", "prefix": "/demo/pg", "maxConnections": 5})).unwrap();
        let key = r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEsecretsecret\n-----END PRIVATE KEY-----\n"}"#;
        let secret = StorageSecret::from_strings([
            ("GOOGLE_PROJECT_ID", "my-project"),
            ("GOOGLE_SERVICE_ACCOUNT_JSON_KEY", key),
        ]);
        let c = GcsConfig::new(&spec, &secret).unwrap();
        assert_eq!(c.location(), "gs:stash-testing:/demo/pg");
        assert_eq!(c.project_id.as_deref(), Some("my-project"));
        let d = format!("{c:?}");
        assert!(
            !d.contains("MIIEsecretsecret") && d.contains("my-project"),
            "{d}"
        );
        let op = c.build().unwrap();
        assert_eq!(
            (op.info().scheme(), op.info().name(), op.info().root()),
            ("gcs", "stash-testing".to_string(), "/demo/pg/".to_string())
        );
    }

    #[test]
    fn emulator_and_root_forms() {
        let spec = GCSSpec {
            bucket: Some("b".into()),
            ..Default::default()
        };
        let secret = StorageSecret::from_strings([("STORAGE_EMULATOR_HOST", "127.0.0.1:4443")]);
        let c = GcsConfig::new(&spec, &secret).unwrap();
        assert_eq!(c.emulator.as_deref(), Some("http://127.0.0.1:4443"));
        assert_eq!(c.location(), "gs:b:/");
        let bad = GCSSpec {
            bucket: Some("b".into()),
            max_connections: Some(-1),
            ..Default::default()
        };
        assert!(GcsConfig::new(&bad, &secret)
            .unwrap_err()
            .to_string()
            .contains("maxConnections"));
    }
}
