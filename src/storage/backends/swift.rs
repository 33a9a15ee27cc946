//! `swift`: OpenStack Swift.
//!
//! OpenDAL's Swift service takes a storage URL and a token; getting them is ours, from the
//! keys Stash exports (all optional, the set decides the method, as restic's swift backend
//! does): `OS_STORAGE_URL` + `OS_AUTH_TOKEN` as given; `ST_AUTH`/`ST_USER`/`ST_KEY` (v1 auth);
//! `OS_AUTH_URL` with Keystone v3 (password or application credential) or v2 (tenant). The
//! token is fetched on first use of the backend. No Swift or Keystone server can run here: the
//! request shapes and catalog parsing are unit-tested against a scripted HTTP server.
use opendal::Operator;
use serde_json::{json, Value};

use super::gcs::or_root;
use super::{restic_prefix, root_of, StorageError};
use crate::api::repository::SwiftSpec;
use crate::engine::backend::{BackendError, ErrorKind};
use crate::storage::http::{self, TlsOptions};
use crate::storage::secret::{Credentials, Redactor, Sensitive};
use crate::storage::OpendalBackend;

/// How to get a token.
#[derive(Clone)]
pub enum SwiftAuth {
    Token {
        storage_url: String,
        token: Sensitive,
    },
    V1 {
        auth_url: String,
        user: String,
        key: Sensitive,
    },
    KeystoneV2 {
        auth_url: String,
        user: String,
        password: Sensitive,
        tenant_id: Option<String>,
        tenant_name: Option<String>,
    },
    KeystoneV3 {
        auth_url: String,
        identity: V3Identity,
        project_id: Option<String>,
        project_name: Option<String>,
        project_domain: String,
    },
}

#[derive(Clone)]
pub enum V3Identity {
    Password {
        user: String,
        user_domain: String,
        password: Sensitive,
    },
    ApplicationCredential {
        id: Option<String>,
        name: Option<String>,
        user: Option<String>,
        user_domain: String,
        secret: Sensitive,
    },
}

#[derive(Clone)]
pub struct SwiftConfig {
    pub container: String,
    pub prefix: String,
    pub auth: SwiftAuth,
    /// `OS_REGION_NAME`: which object-store endpoint of the catalog to use.
    pub region: Option<String>,
    pub ca_cert_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for SwiftConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let method = match &self.auth {
            SwiftAuth::Token { storage_url, .. } => format!("token (storage url {storage_url})"),
            SwiftAuth::V1 { auth_url, user, .. } => format!("v1 {auth_url} as {user}"),
            SwiftAuth::KeystoneV2 { auth_url, user, .. } => {
                format!("keystone v2 {auth_url} as {user}")
            }
            SwiftAuth::KeystoneV3 {
                auth_url,
                identity: V3Identity::Password { user, .. },
                ..
            } => {
                format!("keystone v3 {auth_url} as {user}")
            }
            SwiftAuth::KeystoneV3 { auth_url, .. } => {
                format!("keystone v3 {auth_url} with an application credential")
            }
        };
        f.debug_struct("SwiftConfig")
            .field("container", &self.container)
            .field("prefix", &self.prefix)
            .field("auth", &method)
            .field("region", &self.region)
            .finish()
    }
}

fn plain(creds: &dyn Credentials, key: &str) -> Option<String> {
    creds.optional(key).map(|v| v.expose().to_string())
}

impl SwiftConfig {
    pub fn new(spec: &SwiftSpec, creds: &dyn Credentials) -> Result<SwiftConfig, StorageError> {
        let container = spec.required_container()?.to_string();
        let auth = if let (Some(url), Some(token)) = (
            plain(creds, "OS_STORAGE_URL"),
            creds.optional("OS_AUTH_TOKEN"),
        ) {
            SwiftAuth::Token {
                storage_url: url,
                token,
            }
        } else if let Some(auth_url) = plain(creds, "ST_AUTH") {
            SwiftAuth::V1 {
                auth_url,
                user: creds.require("ST_USER")?.expose().to_string(),
                key: creds.require("ST_KEY")?,
            }
        } else if let Some(auth_url) = plain(creds, "OS_AUTH_URL") {
            let app_id = plain(creds, "OS_APPLICATION_CREDENTIAL_ID");
            let app_name = plain(creds, "OS_APPLICATION_CREDENTIAL_NAME");
            let user_domain =
                plain(creds, "OS_USER_DOMAIN_NAME").unwrap_or_else(|| "Default".into());
            if app_id.is_some() || app_name.is_some() {
                SwiftAuth::KeystoneV3 {
                    auth_url,
                    identity: V3Identity::ApplicationCredential {
                        id: app_id,
                        name: app_name,
                        user: plain(creds, "OS_USERNAME"),
                        user_domain,
                        secret: creds.require("OS_APPLICATION_CREDENTIAL_SECRET")?,
                    },
                    project_id: None,
                    project_name: None,
                    project_domain: String::new(),
                }
            } else if auth_url.trim_end_matches('/').ends_with("/v2.0") {
                SwiftAuth::KeystoneV2 {
                    auth_url,
                    user: creds.require("OS_USERNAME")?.expose().to_string(),
                    password: creds.require("OS_PASSWORD")?,
                    tenant_id: plain(creds, "OS_TENANT_ID"),
                    tenant_name: plain(creds, "OS_TENANT_NAME"),
                }
            } else {
                SwiftAuth::KeystoneV3 {
                    auth_url,
                    identity: V3Identity::Password {
                        user: creds.require("OS_USERNAME")?.expose().to_string(),
                        user_domain,
                        password: creds.require("OS_PASSWORD")?,
                    },
                    project_id: plain(creds, "OS_PROJECT_ID")
                        .or_else(|| plain(creds, "OS_TENANT_ID")),
                    project_name: plain(creds, "OS_PROJECT_NAME")
                        .or_else(|| plain(creds, "OS_TENANT_NAME")),
                    project_domain: plain(creds, "OS_PROJECT_DOMAIN_NAME")
                        .unwrap_or_else(|| "Default".into()),
                }
            }
        } else {
            return Err(StorageError::invalid(
                "swift",
                "no credentials: the storage Secret needs OS_AUTH_URL (Keystone), ST_AUTH (v1 auth), or OS_STORAGE_URL and OS_AUTH_TOKEN",
            ));
        };
        Ok(SwiftConfig {
            container,
            prefix: spec.prefix.clone().unwrap_or_default(),
            auth,
            region: plain(creds, "OS_REGION_NAME"),
            ca_cert_pem: creds
                .optional("CA_CERT_DATA")
                .map(|c| c.expose().as_bytes().to_vec()),
        })
    }

    /// `swift:<container>:/<prefix>`.
    pub fn location(&self) -> String {
        format!(
            "swift:{}:{}",
            self.container,
            or_root(restic_prefix(&self.prefix))
        )
    }

    pub fn redactor(&self) -> Redactor {
        let s = match &self.auth {
            SwiftAuth::Token { token, .. } => token,
            SwiftAuth::V1 { key, .. } => key,
            SwiftAuth::KeystoneV2 { password, .. } => password,
            SwiftAuth::KeystoneV3 {
                identity: V3Identity::Password { password, .. },
                ..
            } => password,
            SwiftAuth::KeystoneV3 {
                identity: V3Identity::ApplicationCredential { secret, .. },
                ..
            } => secret,
        };
        Redactor::new([s])
    }

    fn err(&self, kind: ErrorKind, message: String) -> BackendError {
        BackendError {
            kind,
            op: "authenticating with",
            path: String::new(),
            location: self.location(),
            message: self.redactor().redact(&message),
        }
    }

    /// The Keystone v3 request body.
    pub fn v3_body(&self) -> Option<Value> {
        let SwiftAuth::KeystoneV3 {
            identity,
            project_id,
            project_name,
            project_domain,
            ..
        } = &self.auth
        else {
            return None;
        };
        let identity = match identity {
            V3Identity::Password {
                user,
                user_domain,
                password,
            } => json!({
                "methods": ["password"],
                "password": {"user": {"name": user, "domain": {"name": user_domain}, "password": password.expose()}}
            }),
            V3Identity::ApplicationCredential {
                id: Some(id),
                secret,
                ..
            } => json!({
                "methods": ["application_credential"],
                "application_credential": {"id": id, "secret": secret.expose()}
            }),
            V3Identity::ApplicationCredential {
                name,
                user,
                user_domain,
                secret,
                ..
            } => json!({
                "methods": ["application_credential"],
                "application_credential": {"name": name, "secret": secret.expose(), "user": {"name": user, "domain": {"name": user_domain}}}
            }),
        };
        let mut auth = json!({"identity": identity});
        if let Some(id) = project_id {
            auth["scope"] = json!({"project": {"id": id}});
        } else if let Some(name) = project_name {
            auth["scope"] = json!({"project": {"name": name, "domain": {"name": project_domain}}});
        }
        Some(json!({"auth": auth}))
    }

    /// The Keystone v2 request body.
    pub fn v2_body(&self) -> Option<Value> {
        let SwiftAuth::KeystoneV2 {
            user,
            password,
            tenant_id,
            tenant_name,
            ..
        } = &self.auth
        else {
            return None;
        };
        let mut auth =
            json!({"passwordCredentials": {"username": user, "password": password.expose()}});
        if let Some(t) = tenant_id {
            auth["tenantId"] = json!(t);
        } else if let Some(t) = tenant_name {
            auth["tenantName"] = json!(t);
        }
        Some(json!({"auth": auth}))
    }

    /// Get the storage URL and a token.
    pub async fn authenticate(&self) -> Result<(String, Sensitive), BackendError> {
        let client = http::client(&TlsOptions {
            insecure: false,
            ca_cert_pem: self.ca_cert_pem.clone(),
        })
        .map_err(|e| self.err(ErrorKind::Other, e.to_string()))?;
        let send_err =
            |e: reqwest::Error| self.err(ErrorKind::Temporary, format!("no answer: {e}"));
        match &self.auth {
            SwiftAuth::Token { storage_url, token } => Ok((storage_url.clone(), token.clone())),
            SwiftAuth::V1 {
                auth_url,
                user,
                key,
            } => {
                let resp = client
                    .get(auth_url)
                    .header("X-Auth-User", user)
                    .header("X-Auth-Key", key.expose())
                    .send()
                    .await
                    .map_err(send_err)?;
                let resp = self.check(resp).await?;
                let h = |k: &str| {
                    resp.headers()
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .map(|s| s.to_string())
                };
                match (h("x-storage-url"), h("x-auth-token")) {
                    (Some(u), Some(t)) => Ok((u, Sensitive::new(t))),
                    _ => Err(self.err(
                        ErrorKind::Other,
                        "v1 auth answer lacks X-Storage-Url or X-Auth-Token".into(),
                    )),
                }
            }
            SwiftAuth::KeystoneV3 { auth_url, .. } => {
                let url = versioned(auth_url, "v3", "auth/tokens");
                let resp = client
                    .post(url)
                    .json(&self.v3_body().expect("v3"))
                    .send()
                    .await
                    .map_err(send_err)?;
                let resp = self.check(resp).await?;
                let token = resp
                    .headers()
                    .get("x-subject-token")
                    .and_then(|v| v.to_str().ok())
                    .map(|s| s.to_string());
                let body: Value = resp.json().await.map_err(|e| {
                    self.err(ErrorKind::Other, format!("unexpected Keystone answer: {e}"))
                })?;
                let token = token.ok_or_else(|| {
                    self.err(
                        ErrorKind::Other,
                        "Keystone answer lacks X-Subject-Token".into(),
                    )
                })?;
                let url = v3_object_store_url(&body, self.region.as_deref())
                    .ok_or_else(|| self.err(ErrorKind::NotFound, self.no_endpoint()))?;
                Ok((url, Sensitive::new(token)))
            }
            SwiftAuth::KeystoneV2 { auth_url, .. } => {
                let url = versioned(auth_url, "v2.0", "tokens");
                let resp = client
                    .post(url)
                    .json(&self.v2_body().expect("v2"))
                    .send()
                    .await
                    .map_err(send_err)?;
                let resp = self.check(resp).await?;
                let body: Value = resp.json().await.map_err(|e| {
                    self.err(ErrorKind::Other, format!("unexpected Keystone answer: {e}"))
                })?;
                let token = body["access"]["token"]["id"]
                    .as_str()
                    .map(|s| s.to_string());
                let token = token.ok_or_else(|| {
                    self.err(
                        ErrorKind::Other,
                        "Keystone answer lacks access.token.id".into(),
                    )
                })?;
                let url = v2_object_store_url(&body, self.region.as_deref())
                    .ok_or_else(|| self.err(ErrorKind::NotFound, self.no_endpoint()))?;
                Ok((url, Sensitive::new(token)))
            }
        }
    }

    fn no_endpoint(&self) -> String {
        match &self.region {
            Some(r) => format!(
                "the catalog has no public object-store endpoint in region {r:?} (OS_REGION_NAME)"
            ),
            None => "the catalog has no public object-store endpoint".into(),
        }
    }

    async fn check(&self, resp: reqwest::Response) -> Result<reqwest::Response, BackendError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let kind = match status.as_u16() {
            401 | 403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            408 | 429 | 500..=599 => ErrorKind::Temporary,
            _ => ErrorKind::Other,
        };
        let text = resp.text().await.unwrap_or_default();
        Err(self.err(
            kind,
            format!(
                "the auth server answered {status}: {}",
                text.chars().take(300).collect::<String>()
            ),
        ))
    }

    pub fn build(&self, storage_url: &str, token: &Sensitive) -> Result<Operator, StorageError> {
        let b = opendal::services::Swift::default()
            .endpoint(storage_url)
            .container(&self.container)
            .root(&root_of(&self.prefix))
            .token(token.expose());
        let op = Operator::new(b).map_err(|e| StorageError::Build {
            service: "swift",
            location: self.location(),
            source: Box::new(e),
        })?;
        Ok(http::finish(
            op,
            http::client(&TlsOptions {
                insecure: false,
                ca_cert_pem: self.ca_cert_pem.clone(),
            })?,
            None,
        ))
    }

    /// Authenticate, then build (what the engine's first request triggers).
    pub async fn open(&self) -> Result<OpendalBackend, BackendError> {
        let (url, token) = self.authenticate().await?;
        let op = self
            .build(&url, &token)
            .map_err(|e| self.err(ErrorKind::Other, e.to_string()))?;
        let redactor = self.redactor().merge(Redactor::new([&token]));
        Ok(OpendalBackend::new(op, self.location(), false).with_redactor(redactor))
    }
}

/// `https://ks:5000/v3` + `auth/tokens`; a URL without the version gets it added.
fn versioned(auth_url: &str, version: &str, tail: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with(&format!("/{version}")) {
        format!("{base}/{tail}")
    } else {
        format!("{base}/{version}/{tail}")
    }
}

/// The public object-store URL of a v3 catalog, in `region` if given.
pub fn v3_object_store_url(body: &Value, region: Option<&str>) -> Option<String> {
    let catalog = body["token"]["catalog"].as_array()?;
    catalog
        .iter()
        .filter(|s| s["type"] == "object-store")
        .find_map(|s| {
            s["endpoints"].as_array()?.iter().find_map(|e| {
                let in_region = region.is_none_or(|r| e["region"] == r || e["region_id"] == r);
                (e["interface"] == "public" && in_region)
                    .then(|| e["url"].as_str().map(|u| u.to_string()))
                    .flatten()
            })
        })
}

/// The public object-store URL of a v2 catalog, in `region` if given.
pub fn v2_object_store_url(body: &Value, region: Option<&str>) -> Option<String> {
    let catalog = body["access"]["serviceCatalog"].as_array()?;
    catalog
        .iter()
        .filter(|s| s["type"] == "object-store")
        .find_map(|s| {
            s["endpoints"].as_array()?.iter().find_map(|e| {
                let in_region = region.is_none_or(|r| e["region"] == r);
                in_region
                    .then(|| e["publicURL"].as_str().map(|u| u.to_string()))
                    .flatten()
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::backends::stub::{Reply, Stub};
    use crate::storage::secret::StorageSecret;

    fn spec() -> SwiftSpec {
        serde_json::from_value(json!({"container": "stash", "prefix": "/demo/pg"})).unwrap()
    }

    #[test]
    fn keys_choose_the_method() {
        let e = SwiftConfig::new(&spec(), &StorageSecret::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("swift backend: no credentials"), "{e}");
        let e = SwiftConfig::new(
            &spec(),
            &StorageSecret::from_strings([("ST_AUTH", "http://x/auth/v1.0"), ("ST_USER", "u")]),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "storage Secret missing ST_KEY key");
        let e = SwiftConfig::new(
            &spec(),
            &StorageSecret::from_strings([("OS_AUTH_URL", "http://ks/v3"), ("OS_USERNAME", "u")]),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "storage Secret missing OS_PASSWORD key");
        let c = SwiftConfig::new(
            &spec(),
            &StorageSecret::from_strings([
                ("OS_AUTH_URL", "http://ks/v2.0"),
                ("OS_USERNAME", "u"),
                ("OS_PASSWORD", "pw-secret"),
                ("OS_TENANT_NAME", "t"),
            ]),
        )
        .unwrap();
        assert!(matches!(c.auth, SwiftAuth::KeystoneV2 { .. }));
        assert_eq!(
            c.v2_body().unwrap(),
            json!({"auth": {"passwordCredentials": {"username": "u", "password": "pw-secret"}, "tenantName": "t"}})
        );
        assert!(!format!("{c:?}").contains("pw-secret"));
        assert_eq!(c.location(), "swift:stash:/demo/pg");
    }

    #[test]
    fn v3_bodies() {
        let c = SwiftConfig::new(
            &spec(),
            &StorageSecret::from_strings([
                ("OS_AUTH_URL", "https://ks:5000/v3"),
                ("OS_USERNAME", "alice"),
                ("OS_PASSWORD", "pw-secret"),
                ("OS_USER_DOMAIN_NAME", "ud"),
                ("OS_PROJECT_NAME", "proj"),
                ("OS_PROJECT_DOMAIN_NAME", "pd"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.v3_body().unwrap(),
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": "alice", "domain": {"name": "ud"}, "password": "pw-secret"}}},
                "scope": {"project": {"name": "proj", "domain": {"name": "pd"}}}
            }})
        );
        let c = SwiftConfig::new(
            &spec(),
            &StorageSecret::from_strings([
                ("OS_AUTH_URL", "https://ks:5000/v3"),
                ("OS_APPLICATION_CREDENTIAL_ID", "app-1"),
                ("OS_APPLICATION_CREDENTIAL_SECRET", "app-secret"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.v3_body().unwrap(),
            json!({"auth": {"identity": {
                "methods": ["application_credential"], "application_credential": {"id": "app-1", "secret": "app-secret"}
            }}})
        );
        assert_eq!(
            versioned("https://ks:5000/v3/", "v3", "auth/tokens"),
            "https://ks:5000/v3/auth/tokens"
        );
        assert_eq!(
            versioned("https://ks:5000", "v3", "auth/tokens"),
            "https://ks:5000/v3/auth/tokens"
        );
    }

    #[tokio::test]
    async fn v1_auth_request_and_answer() {
        let stub = Stub::start(vec![Reply::new(200, "")
            .header("X-Storage-Url", "{base}/v1/AUTH_test")
            .header("X-Auth-Token", "tk-123")])
        .await;
        let c = SwiftConfig::new(
            &spec(),
            &StorageSecret::from_strings([
                ("ST_AUTH", format!("{}/auth/v1.0", stub.base).as_str()),
                ("ST_USER", "test:tester"),
                ("ST_KEY", "testing-key"),
            ]),
        )
        .unwrap();
        let (url, token) = c.authenticate().await.unwrap();
        assert_eq!(token.expose(), "tk-123");
        assert!(url.ends_with("/v1/AUTH_test"), "{url}");
        let r = &stub.requests()[0];
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/auth/v1.0"));
        assert_eq!(
            (
                r.headers["x-auth-user"].as_str(),
                r.headers["x-auth-key"].as_str()
            ),
            ("test:tester", "testing-key")
        );
    }

    #[tokio::test]
    async fn v3_auth_picks_the_regions_public_endpoint() {
        let catalog = json!({"token": {"catalog": [
            {"type": "identity", "endpoints": [{"interface": "public", "region": "R2", "url": "http://wrong"}]},
            {"type": "object-store", "endpoints": [
                {"interface": "internal", "region": "R2", "url": "http://internal"},
                {"interface": "public", "region": "R1", "url": "http://r1"},
                {"interface": "public", "region": "R2", "url": "http://r2/v1/AUTH_p"}
            ]}
        ]}});
        let stub = Stub::start(vec![
            Reply::new(201, catalog.to_string()).header("X-Subject-Token", "subject-tok"),
            Reply::new(401, r#"{"error": {"message": "The request you have made requires authentication.", "code": 401}}"#),
        ])
        .await;
        let secret = StorageSecret::from_strings([
            ("OS_AUTH_URL", format!("{}/v3", stub.base).as_str()),
            ("OS_USERNAME", "alice"),
            ("OS_PASSWORD", "pw-secret"),
            ("OS_PROJECT_NAME", "proj"),
            ("OS_REGION_NAME", "R2"),
        ]);
        let c = SwiftConfig::new(&spec(), &secret).unwrap();
        let (url, token) = c.authenticate().await.unwrap();
        assert_eq!(
            (url.as_str(), token.expose()),
            ("http://r2/v1/AUTH_p", "subject-tok")
        );
        let r = &stub.requests()[0];
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/v3/auth/tokens")
        );
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body, c.v3_body().unwrap());
        // A rejected password is permanent, named, and secret-free.
        let e = c.authenticate().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        assert!(
            e.to_string().contains("swift:stash:/demo/pg") && !e.to_string().contains("pw-secret"),
            "{e}"
        );
        assert_eq!(v3_object_store_url(&catalog, Some("R9")), None);
    }

    #[test]
    fn token_mode_builds_an_operator() {
        let c = SwiftConfig::new(
            &spec(),
            &StorageSecret::from_strings([
                ("OS_STORAGE_URL", "https://swift/v1/AUTH_x"),
                ("OS_AUTH_TOKEN", "tok-secret"),
            ]),
        )
        .unwrap();
        let op = c
            .build("https://swift/v1/AUTH_x", &Sensitive::new("tok-secret"))
            .unwrap();
        assert_eq!(
            (op.info().scheme(), op.info().root()),
            ("swift", "/demo/pg/".to_string())
        );
        assert!(!format!("{c:?}").contains("tok-secret"));
    }
}
