//! `s3`: Amazon S3 and S3-compatible servers (MinIO, Ceph, moto, …).
//!
//! Addressing is path-style (`endpoint/bucket/key`), which every S3-compatible server accepts
//! and restic's client uses for non-AWS endpoints. A pack is one PUT (OpenDAL writes a whole
//! buffer in one request), so it is visible whole or not at all.
use opendal::Operator;

use super::{restic_prefix, root_of, StorageError};
use crate::api::repository::S3Spec;
use crate::storage::http::{self, TlsOptions};
use crate::storage::secret::{Credentials, Redactor, Sensitive};

/// Used when neither the spec nor `AWS_DEFAULT_REGION` names one (restic's default too).
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Clone)]
pub struct S3Config {
    /// `https://…` or `http://…`, without a trailing slash. The spec's `s3.amazonaws.com`,
    /// `https://minio.example:9000`, `http://127.0.0.1:9000`; no scheme means https, none at
    /// all AWS.
    pub endpoint: String,
    pub bucket: String,
    /// As given (`/demo/pg/`); restic's string and the operator's root normalise it.
    pub prefix: String,
    pub region: String,
    /// Both or neither; neither means OpenDAL's default chain (environment, profile, IRSA web
    /// identity, instance metadata), like Stash's optional keys.
    pub access_key_id: Option<Sensitive>,
    pub secret_access_key: Option<Sensitive>,
    pub session_token: Option<Sensitive>,
    /// `insecureTLS`: skip verifying the server's certificate.
    pub insecure_tls: bool,
    pub ca_cert_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("insecure_tls", &self.insecure_tls)
            .field("access_key_id", &self.access_key_id.as_ref().map(|_| "***"))
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .field("ca_cert", &self.ca_cert_pem.is_some())
            .finish()
    }
}

impl S3Config {
    pub fn new(spec: &S3Spec, creds: &dyn Credentials) -> Result<S3Config, StorageError> {
        let bucket = spec.required_bucket()?.to_string();
        let raw = spec
            .endpoint
            .as_deref()
            .unwrap_or_default()
            .trim()
            .trim_end_matches('/');
        let endpoint = if raw.is_empty() {
            "https://s3.amazonaws.com".to_string()
        } else if raw.starts_with("http://") || raw.starts_with("https://") {
            raw.to_string()
        } else {
            format!("https://{raw}")
        };
        let (access_key_id, secret_access_key) = match (
            creds.optional("AWS_ACCESS_KEY_ID"),
            creds.optional("AWS_SECRET_ACCESS_KEY"),
        ) {
            (None, None) => (None, None),
            (Some(_), None) => {
                return Err(creds.require("AWS_SECRET_ACCESS_KEY").unwrap_err().into())
            }
            (None, Some(_)) => return Err(creds.require("AWS_ACCESS_KEY_ID").unwrap_err().into()),
            (Some(a), Some(s)) => (Some(a), Some(s)),
        };
        let region = spec
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| {
                creds
                    .optional("AWS_DEFAULT_REGION")
                    .map(|r| r.expose().to_string())
            })
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        Ok(S3Config {
            endpoint,
            bucket,
            prefix: spec.prefix.clone().unwrap_or_default(),
            region,
            access_key_id,
            secret_access_key,
            session_token: creds.optional("AWS_SESSION_TOKEN"),
            insecure_tls: spec.insecure_tls.unwrap_or(false),
            ca_cert_pem: creds
                .optional("CA_CERT_DATA")
                .map(|c| c.expose().as_bytes().to_vec()),
        })
    }

    /// `s3:<endpoint>/<bucket>/<prefix>`, as Stash hands it to restic.
    pub fn location(&self) -> String {
        let ep = self
            .endpoint
            .strip_prefix("https://")
            .unwrap_or(&self.endpoint);
        format!("s3:{ep}/{}{}", self.bucket, restic_prefix(&self.prefix))
    }

    pub fn redactor(&self) -> Redactor {
        Redactor::new(
            self.access_key_id
                .iter()
                .chain(&self.secret_access_key)
                .chain(&self.session_token),
        )
    }

    pub fn tls(&self) -> TlsOptions {
        TlsOptions {
            insecure: self.insecure_tls,
            ca_cert_pem: self.ca_cert_pem.clone(),
        }
    }

    pub fn builder(&self) -> opendal::services::S3 {
        let mut b = opendal::services::S3::default()
            .endpoint(&self.endpoint)
            .bucket(&self.bucket)
            .root(&root_of(&self.prefix))
            .region(&self.region);
        if let (Some(a), Some(s)) = (&self.access_key_id, &self.secret_access_key) {
            // Explicit keys win over whatever the environment or a profile says.
            b = b
                .access_key_id(a.expose())
                .secret_access_key(s.expose())
                .disable_config_load();
            if let Some(t) = &self.session_token {
                b = b.session_token(t.expose());
            }
        }
        b
    }

    pub fn build(&self) -> Result<Operator, StorageError> {
        let op = Operator::new(self.builder()).map_err(|e| StorageError::Build {
            service: "s3",
            location: self.location(),
            source: Box::new(e),
        })?;
        Ok(http::finish(op, http::client(&self.tls())?, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::secret::{EnvCredentials, StorageSecret};

    fn spec(v: serde_json::Value) -> S3Spec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn stash_fields_map_to_the_operator() {
        let s = spec(serde_json::json!({
            "endpoint": "http://minio.storage:9000", "bucket": "stash", "prefix": "/demo/pg/", "region": "eu-west-1", "insecureTLS": true
        }));
        assert_eq!(s.insecure_tls, Some(true));
        let secret = StorageSecret::from_strings([
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE1"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMIsecret"),
        ]);
        let c = S3Config::new(&s, &secret).unwrap();
        assert_eq!(c.location(), "s3:http://minio.storage:9000/stash/demo/pg");
        assert_eq!(c.region, "eu-west-1");
        assert!(c.tls().insecure);
        let op = c.build().unwrap();
        assert_eq!(op.info().scheme(), "s3");
        assert_eq!(op.info().name(), "stash");
        assert_eq!(op.info().root(), "/demo/pg/");
    }

    #[test]
    fn endpoint_without_scheme_is_https_and_region_defaults() {
        let c = S3Config::new(
            &spec(serde_json::json!({"endpoint": "s3.amazonaws.com", "bucket": "b"})),
            &StorageSecret::default(),
        )
        .unwrap();
        assert_eq!(c.endpoint, "https://s3.amazonaws.com");
        assert_eq!(c.region, DEFAULT_REGION);
        assert_eq!(c.location(), "s3:s3.amazonaws.com/b");
        let env = EnvCredentials::from_fn(|k| {
            (k == "AWS_DEFAULT_REGION").then(|| "ap-south-1".to_string())
        });
        let c = S3Config::new(
            &spec(serde_json::json!({"endpoint": "s3.amazonaws.com", "bucket": "b"})),
            &env,
        )
        .unwrap();
        assert_eq!(c.region, "ap-south-1");
    }

    #[test]
    fn half_a_key_pair_names_the_missing_key() {
        let s = spec(serde_json::json!({"endpoint": "s3.amazonaws.com", "bucket": "b"}));
        let only_id = StorageSecret::from_strings([("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE1")]);
        assert_eq!(
            S3Config::new(&s, &only_id).unwrap_err().to_string(),
            "storage Secret missing AWS_SECRET_ACCESS_KEY key"
        );
        let only_secret = StorageSecret::from_strings([("AWS_SECRET_ACCESS_KEY", "x-secret-x")]);
        assert_eq!(
            S3Config::new(&s, &only_secret).unwrap_err().to_string(),
            "storage Secret missing AWS_ACCESS_KEY_ID key"
        );
        let e = S3Config::new(&spec(serde_json::json!({"bucket": " "})), &only_id)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "s3 backend: bucket is empty: set spec.backend.s3.bucket");
    }

    #[test]
    fn debug_hides_keys() {
        let secret = StorageSecret::from_strings([
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE1"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMIsecret"),
            ("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEtoken"),
        ]);
        let c = S3Config::new(
            &spec(serde_json::json!({"endpoint": "s3.amazonaws.com", "bucket": "b"})),
            &secret,
        )
        .unwrap();
        let d = format!("{c:?} {:?}", c.redactor());
        for s in ["AKIAEXAMPLE1", "wJalrXUtnFEMIsecret", "FwoGZXIvYXdzEtoken"] {
            assert!(!d.contains(s), "{d}");
        }
        assert_eq!(
            c.redactor()
                .redact("key AKIAEXAMPLE1 and wJalrXUtnFEMIsecret"),
            "key *** and ***"
        );
    }
}
