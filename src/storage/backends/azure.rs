//! `azure`: Azure Blob Storage with a shared account key (Stash's Secret) or a SAS token.
//!
//! A pack is one Put Blob request, committed whole.
use opendal::Operator;

use super::gcs::or_root;
use super::{connection_limit, restic_prefix, root_of, StorageError};
use crate::api::repository::AzureSpec;
use crate::storage::http::{self, TlsOptions};
use crate::storage::secret::{Credentials, Redactor, Sensitive};

#[derive(Clone)]
pub struct AzureConfig {
    pub container: String,
    pub prefix: String,
    /// `maxConnections`; 0: no limit of ours.
    pub max_connections: usize,
    pub account_name: String,
    pub account_key: Option<Sensitive>,
    /// restic's `AZURE_ACCOUNT_SAS`, an alternative to the key.
    pub sas_token: Option<Sensitive>,
    /// The blob service URL. Default `https://<account>.blob.core.windows.net`; restic's
    /// `AZURE_ENDPOINT_SUFFIX` changes the suffix; `AZURE_ENDPOINT` (ours) replaces the whole
    /// URL, for Azurite (`http://127.0.0.1:10000/devstoreaccount1`) or a private endpoint.
    pub endpoint: String,
    pub ca_cert_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureConfig")
            .field("container", &self.container)
            .field("prefix", &self.prefix)
            .field("max_connections", &self.max_connections)
            .field("account_name", &self.account_name)
            .field("account_key", &self.account_key.as_ref().map(|_| "***"))
            .field("sas_token", &self.sas_token.as_ref().map(|_| "***"))
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl AzureConfig {
    pub fn new(spec: &AzureSpec, creds: &dyn Credentials) -> Result<AzureConfig, StorageError> {
        let container = spec.required_container()?.to_string();
        let max_connections = connection_limit("azure", spec.max_connections)?;
        let account_name = creds.require("AZURE_ACCOUNT_NAME")?.expose().to_string();
        let sas_token = creds.optional("AZURE_ACCOUNT_SAS");
        let account_key = match &sas_token {
            Some(_) => creds.optional("AZURE_ACCOUNT_KEY"),
            None => Some(creds.require("AZURE_ACCOUNT_KEY")?),
        };
        let endpoint = match creds.optional("AZURE_ENDPOINT") {
            Some(e) => e.expose().trim_end_matches('/').to_string(),
            None => {
                let suffix = creds
                    .optional("AZURE_ENDPOINT_SUFFIX")
                    .map(|s| s.expose().to_string());
                format!(
                    "https://{account_name}.blob.{}",
                    suffix.as_deref().unwrap_or("core.windows.net")
                )
            }
        };
        Ok(AzureConfig {
            container,
            prefix: spec.prefix.clone().unwrap_or_default(),
            max_connections,
            account_name,
            account_key,
            sas_token,
            endpoint,
            ca_cert_pem: creds
                .optional("CA_CERT_DATA")
                .map(|c| c.expose().as_bytes().to_vec()),
        })
    }

    /// `azure:<container>:/<prefix>`.
    pub fn location(&self) -> String {
        format!(
            "azure:{}:{}",
            self.container,
            or_root(restic_prefix(&self.prefix))
        )
    }

    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.account_key.iter().chain(&self.sas_token))
    }

    pub fn builder(&self) -> opendal::services::Azblob {
        let mut b = opendal::services::Azblob::default()
            .container(&self.container)
            .root(&root_of(&self.prefix))
            .endpoint(&self.endpoint)
            .account_name(&self.account_name);
        if let Some(k) = &self.account_key {
            b = b.account_key(k.expose());
        }
        if let Some(t) = &self.sas_token {
            b = b.sas_token(t.expose().trim_start_matches('?'));
        }
        b
    }

    pub fn build(&self) -> Result<Operator, StorageError> {
        let op = Operator::new(self.builder()).map_err(|e| StorageError::Build {
            service: "azure",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::secret::StorageSecret;

    const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    #[test]
    fn stash_fields_map_to_the_operator() {
        let spec: AzureSpec = serde_json::from_value(
            serde_json::json!({"container": "stash", "prefix": "demo/pg", "maxConnections": 2}),
        )
        .unwrap();
        let secret = StorageSecret::from_strings([
            ("AZURE_ACCOUNT_NAME", "acct"),
            ("AZURE_ACCOUNT_KEY", KEY),
        ]);
        let c = AzureConfig::new(&spec, &secret).unwrap();
        assert_eq!(c.endpoint, "https://acct.blob.core.windows.net");
        assert_eq!(c.location(), "azure:stash:/demo/pg");
        assert!(!format!("{c:?}").contains("Eby8vdM02"));
        let op = c.build().unwrap();
        assert_eq!(
            (op.info().scheme(), op.info().name(), op.info().root()),
            ("azblob", "stash".to_string(), "/demo/pg/".to_string())
        );
    }

    #[test]
    fn both_keys_are_required() {
        let spec = AzureSpec {
            container: Some("c".into()),
            ..Default::default()
        };
        let e = AzureConfig::new(
            &spec,
            &StorageSecret::from_strings([("AZURE_ACCOUNT_KEY", KEY)]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "storage Secret missing AZURE_ACCOUNT_NAME key"
        );
        let e = AzureConfig::new(
            &spec,
            &StorageSecret::from_strings([("AZURE_ACCOUNT_NAME", "a")]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "storage Secret missing AZURE_ACCOUNT_KEY key"
        );
    }

    #[test]
    fn endpoint_overrides() {
        let spec = AzureSpec {
            container: Some("c".into()),
            ..Default::default()
        };
        let s = StorageSecret::from_strings([
            ("AZURE_ACCOUNT_NAME", "a"),
            ("AZURE_ACCOUNT_KEY", KEY),
            ("AZURE_ENDPOINT_SUFFIX", "core.chinacloudapi.cn"),
        ]);
        assert_eq!(
            AzureConfig::new(&spec, &s).unwrap().endpoint,
            "https://a.blob.core.chinacloudapi.cn"
        );
        let s = StorageSecret::from_strings([
            ("AZURE_ACCOUNT_NAME", "a"),
            ("AZURE_ACCOUNT_KEY", KEY),
            ("AZURE_ENDPOINT", "http://127.0.0.1:10000/a/"),
        ]);
        assert_eq!(
            AzureConfig::new(&spec, &s).unwrap().endpoint,
            "http://127.0.0.1:10000/a"
        );
    }
}
