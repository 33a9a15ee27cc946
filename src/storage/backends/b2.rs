//! `b2`: Backblaze B2 over its native API.
//!
//! OpenDAL's B2 service needs the bucket's id, which Stash's spec does not carry (only the
//! name), so the first use of the backend asks B2 for it: `b2_authorize_account`, then
//! `b2_list_buckets` by name (or the id a bucket-restricted key already names). No B2 server
//! can run here: the request shapes are unit-tested against a scripted HTTP server.
use base64::Engine as _;
use opendal::Operator;
use serde::Deserialize;

use super::gcs::or_root;
use super::{connection_limit, restic_prefix, root_of, StorageError};
use crate::api::repository::B2Spec;
use crate::engine::backend::{BackendError, ErrorKind};
use crate::storage::http::{self, TlsOptions};
use crate::storage::secret::{Credentials, Redactor, Sensitive};
use crate::storage::OpendalBackend;

pub const B2_API: &str = "https://api.backblazeb2.com";

#[derive(Clone)]
pub struct B2Config {
    pub bucket: String,
    pub prefix: String,
    /// `maxConnections`; 0: no limit of ours.
    pub max_connections: usize,
    /// The application key's id (`B2_ACCOUNT_ID`).
    pub account_id: Sensitive,
    pub account_key: Sensitive,
    /// Known up front, or looked up on first use.
    pub bucket_id: Option<String>,
    /// Where `b2_authorize_account` is asked (tests point it at a stub).
    pub api: String,
    pub ca_cert_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for B2Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("B2Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("max_connections", &self.max_connections)
            .field("account_id", &"***")
            .field("account_key", &"***")
            .field("bucket_id", &self.bucket_id)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Authorized {
    account_id: String,
    authorization_token: String,
    api_url: String,
    #[serde(default)]
    allowed: Option<Allowed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Allowed {
    bucket_id: Option<String>,
    bucket_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Buckets {
    buckets: Vec<Bucket>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bucket {
    bucket_id: String,
    bucket_name: String,
}

impl B2Config {
    pub fn new(spec: &B2Spec, creds: &dyn Credentials) -> Result<B2Config, StorageError> {
        let bucket = spec.required_bucket()?.to_string();
        let max_connections = connection_limit("b2", spec.max_connections)?;
        Ok(B2Config {
            bucket,
            prefix: spec.prefix.clone().unwrap_or_default(),
            max_connections,
            account_id: creds.require("B2_ACCOUNT_ID")?,
            account_key: creds.require("B2_ACCOUNT_KEY")?,
            bucket_id: None,
            api: B2_API.to_string(),
            ca_cert_pem: creds
                .optional("CA_CERT_DATA")
                .map(|c| c.expose().as_bytes().to_vec()),
        })
    }

    /// `b2:<bucket>:/<prefix>`.
    pub fn location(&self) -> String {
        format!(
            "b2:{}:{}",
            self.bucket,
            or_root(restic_prefix(&self.prefix))
        )
    }

    pub fn redactor(&self) -> Redactor {
        Redactor::new([&self.account_id, &self.account_key])
    }

    fn client(&self) -> Result<reqwest::Client, StorageError> {
        http::client(&TlsOptions {
            insecure: false,
            ca_cert_pem: self.ca_cert_pem.clone(),
        })
    }

    fn err(&self, kind: ErrorKind, op: &'static str, message: String) -> BackendError {
        BackendError {
            kind,
            op,
            path: String::new(),
            location: self.location(),
            message: self.redactor().redact(&message),
        }
    }

    /// The bucket's id, from the spec's name.
    pub async fn resolve_bucket_id(&self) -> Result<String, BackendError> {
        if let Some(id) = &self.bucket_id {
            return Ok(id.clone());
        }
        let client = self
            .client()
            .map_err(|e| self.err(ErrorKind::Other, "connecting to", e.to_string()))?;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.account_id.expose(),
            self.account_key.expose()
        ));
        let resp = client
            .get(format!(
                "{}/b2api/v2/b2_authorize_account",
                self.api.trim_end_matches('/')
            ))
            .header("authorization", format!("Basic {basic}"))
            .send()
            .await
            .map_err(|e| self.err(ErrorKind::Temporary, "authorizing with", e.to_string()))?;
        let auth: Authorized = json_or_err(self, "authorizing with", resp).await?;
        if let Some(Allowed {
            bucket_id: Some(id),
            bucket_name: Some(name),
        }) = &auth.allowed
        {
            if name == &self.bucket {
                return Ok(id.clone());
            }
        }
        let resp = client
            .post(format!(
                "{}/b2api/v2/b2_list_buckets",
                auth.api_url.trim_end_matches('/')
            ))
            .header("authorization", &auth.authorization_token)
            .json(&serde_json::json!({"accountId": auth.account_id, "bucketName": self.bucket}))
            .send()
            .await
            .map_err(|e| self.err(ErrorKind::Temporary, "listing buckets of", e.to_string()))?;
        let buckets: Buckets = json_or_err(self, "listing buckets of", resp).await?;
        buckets
            .buckets
            .into_iter()
            .find(|b| b.bucket_name == self.bucket)
            .map(|b| b.bucket_id)
            .ok_or_else(|| {
                self.err(
                    ErrorKind::NotFound,
                    "opening",
                    format!(
                        "bucket {:?} does not exist or the key may not see it",
                        self.bucket
                    ),
                )
            })
    }

    pub fn builder(&self, bucket_id: &str) -> opendal::services::B2 {
        opendal::services::B2::default()
            .bucket(&self.bucket)
            .bucket_id(bucket_id)
            .root(&root_of(&self.prefix))
            .application_key_id(self.account_id.expose())
            .application_key(self.account_key.expose())
    }

    pub fn build(&self, bucket_id: &str) -> Result<Operator, StorageError> {
        let op = Operator::new(self.builder(bucket_id)).map_err(|e| StorageError::Build {
            service: "b2",
            location: self.location(),
            source: Box::new(e),
        })?;
        Ok(http::finish(op, self.client()?, Some(self.max_connections)))
    }

    /// Look the bucket up, then build (what the engine's first request triggers).
    pub async fn open(&self) -> Result<OpendalBackend, BackendError> {
        let id = self.resolve_bucket_id().await?;
        let op = self
            .build(&id)
            .map_err(|e| self.err(ErrorKind::Other, "opening", e.to_string()))?;
        Ok(OpendalBackend::new(op, self.location(), false).with_redactor(self.redactor()))
    }
}

async fn json_or_err<T: serde::de::DeserializeOwned>(
    c: &B2Config,
    op: &'static str,
    resp: reqwest::Response,
) -> Result<T, BackendError> {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        let kind = match status.as_u16() {
            401 | 403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            408 | 429 | 500..=599 => ErrorKind::Temporary,
            _ => ErrorKind::Other,
        };
        return Err(c.err(kind, op, format!("B2 answered {status}: {text}")));
    }
    serde_json::from_str(&text)
        .map_err(|e| c.err(ErrorKind::Other, op, format!("unexpected B2 answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::backends::stub::{Reply, Stub};
    use crate::storage::secret::StorageSecret;

    fn config() -> B2Config {
        let spec: B2Spec = serde_json::from_value(
            serde_json::json!({"bucket": "stash-b2", "prefix": "/demo", "maxConnections": 4}),
        )
        .unwrap();
        B2Config::new(
            &spec,
            &StorageSecret::from_strings([
                ("B2_ACCOUNT_ID", "0012345keyid"),
                ("B2_ACCOUNT_KEY", "K001verysecretkey"),
            ]),
        )
        .unwrap()
    }

    #[test]
    fn both_keys_are_required_and_hidden() {
        let spec = B2Spec {
            bucket: Some("b".into()),
            ..Default::default()
        };
        let e = B2Config::new(
            &spec,
            &StorageSecret::from_strings([("B2_ACCOUNT_KEY", "k")]),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "storage Secret missing B2_ACCOUNT_ID key");
        let e = B2Config::new(
            &spec,
            &StorageSecret::from_strings([("B2_ACCOUNT_ID", "i")]),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "storage Secret missing B2_ACCOUNT_KEY key");
        let c = config();
        assert_eq!(c.location(), "b2:stash-b2:/demo");
        let d = format!("{c:?}");
        assert!(
            !d.contains("0012345keyid") && !d.contains("K001verysecretkey"),
            "{d}"
        );
        let op = c.build("bucket-id-1").unwrap();
        assert_eq!(
            (op.info().scheme(), op.info().root()),
            ("b2", "/demo/".to_string())
        );
    }

    #[tokio::test]
    async fn bucket_id_is_looked_up_by_name() {
        let authorize = serde_json::json!({
            "accountId": "acc-1", "authorizationToken": "tok-xyz", "apiUrl": "{base}", "downloadUrl": "x",
            "allowed": {"bucketId": null, "bucketName": null}
        });
        let list = serde_json::json!({"buckets": [{"bucketId": "other-id", "bucketName": "other"}, {"bucketId": "wanted-id", "bucketName": "stash-b2"}]});
        let stub = Stub::start(vec![
            Reply::new(200, authorize.to_string()),
            Reply::new(200, list.to_string()),
        ])
        .await;
        let mut c = config();
        c.api = stub.base.clone();
        assert_eq!(c.resolve_bucket_id().await.unwrap(), "wanted-id");
        let reqs = stub.requests();
        let auth = &reqs[0];
        assert_eq!(
            (auth.method.as_str(), auth.path.as_str()),
            ("GET", "/b2api/v2/b2_authorize_account")
        );
        let want =
            base64::engine::general_purpose::STANDARD.encode("0012345keyid:K001verysecretkey");
        assert_eq!(auth.headers["authorization"], format!("Basic {want}"));
        let lb = &reqs[1];
        assert_eq!(
            (lb.method.as_str(), lb.path.as_str()),
            ("POST", "/b2api/v2/b2_list_buckets")
        );
        assert_eq!(lb.headers["authorization"], "tok-xyz");
        let body: serde_json::Value = serde_json::from_str(&lb.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"accountId": "acc-1", "bucketName": "stash-b2"})
        );
    }

    #[tokio::test]
    async fn restricted_key_names_its_bucket_and_bad_key_is_permission_denied() {
        let authorize = serde_json::json!({
            "accountId": "acc-1", "authorizationToken": "t", "apiUrl": "http://unused", "downloadUrl": "x",
            "allowed": {"bucketId": "restricted-id", "bucketName": "stash-b2"}
        });
        let stub = Stub::start(vec![
            Reply::new(200, authorize.to_string()),
            Reply::new(401, r#"{"code":"bad_auth_token","message":"key K001verysecretkey is invalid","status":401}"#),
        ])
        .await;
        let mut c = config();
        c.api = stub.base.clone();
        assert_eq!(c.resolve_bucket_id().await.unwrap(), "restricted-id");
        let e = c.resolve_bucket_id().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        assert!(!e.is_retryable());
        let text = e.to_string();
        assert!(
            text.contains("b2:stash-b2:/demo") && !text.contains("K001verysecretkey"),
            "{text}"
        );
    }
}
