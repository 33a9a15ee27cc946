//! A minimal AppBinding reader for the tests: the fields of `appcatalog.appscode.com/v1alpha1`
//! AppBinding that decide a connection, resolved against in-memory Secrets the way Stash's
//! addons read them (`username`/`password`; `tls.crt`/`tls.key`). The real resolver (with
//! `secretTransforms`, Kubernetes lookups) belongs to the controller; this one only builds the
//! [`DbConnection`] the addons take.
use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;
use stash_addons::{DbConnection, TlsConfig};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppBinding {
    pub spec: Spec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default)]
    pub client_config: ClientConfig,
    pub secret: Option<Ref>,
    pub tls_secret: Option<Ref>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    pub url: Option<String>,
    pub service: Option<Service>,
    pub ca_bundle: Option<String>,
    pub server_name: Option<String>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: bool,
}

#[derive(Deserialize)]
pub struct Service {
    pub name: String,
    pub namespace: Option<String>,
    pub port: Option<u16>,
    pub path: Option<String>,
    pub query: Option<String>,
}

#[derive(Deserialize)]
pub struct Ref {
    pub name: String,
}

/// Secret name → key → value (already decoded).
pub type Secrets = BTreeMap<String, BTreeMap<String, String>>;

/// Build the connection an addon gets from an AppBinding (YAML) in `namespace`.
pub fn connection(yaml: &str, namespace: &str, secrets: &Secrets) -> Result<DbConnection, String> {
    let ab: AppBinding = serde_saphyr::from_str(yaml).map_err(|e| format!("AppBinding YAML: {e}"))?;
    let cc = &ab.spec.client_config;
    let mut c = DbConnection::default();
    let (path, query) = match (&cc.url, &cc.service) {
        (Some(url), _) => {
            let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
            if rest.contains('@') {
                return Err("spec.clientConfig.url must not contain credentials; use spec.secret".into());
            }
            let (hostport, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
            let (host, port) = match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.parse::<u16>().map_err(|_| format!("spec.clientConfig.url: bad port {p:?}"))?)),
                None => (hostport.to_string(), None),
            };
            c.host = host;
            c.port = port;
            let (p, q) = tail.split_once('?').unwrap_or((tail, ""));
            (p.to_string(), q.to_string())
        }
        (None, Some(s)) => {
            c.host = format!("{}.{}.svc", s.name, s.namespace.as_deref().unwrap_or(namespace));
            c.port = s.port;
            (s.path.clone().unwrap_or_default(), s.query.clone().unwrap_or_default())
        }
        (None, None) => return Err("spec.clientConfig needs url or service".into()),
    };
    let db = path.trim_start_matches('/');
    if !db.is_empty() {
        c.database = Some(db.to_string());
    }
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        c.params.insert(k.to_string(), v.to_string());
    }
    if let Some(r) = &ab.spec.secret {
        let s = secrets.get(&r.name).ok_or_else(|| format!("spec.secret: secret {:?} not found", r.name))?;
        c.user = s.get("username").cloned();
        c.password = s.get("password").cloned();
    }
    if cc.ca_bundle.is_some() || ab.spec.tls_secret.is_some() || cc.insecure_skip_tls_verify {
        let mut t = TlsConfig { server_name: cc.server_name.clone(), insecure_skip_verify: cc.insecure_skip_tls_verify, ..Default::default() };
        if let Some(b) = &cc.ca_bundle {
            let pem = base64::engine::general_purpose::STANDARD.decode(b.trim()).map_err(|e| format!("spec.clientConfig.caBundle: {e}"))?;
            t.ca_pem = Some(String::from_utf8(pem).map_err(|_| "spec.clientConfig.caBundle is not PEM text")?);
        }
        if let Some(r) = &ab.spec.tls_secret {
            let s = secrets.get(&r.name).ok_or_else(|| format!("spec.tlsSecret: secret {:?} not found", r.name))?;
            t.client_cert_pem = s.get("tls.crt").cloned();
            t.client_key_pem = s.get("tls.key").cloned();
        }
        c.tls = Some(t);
    }
    Ok(c)
}

/// One secret with `username` (and `password` if given).
pub fn auth_secret(name: &str, user: &str, password: Option<&str>) -> Secrets {
    let mut m = BTreeMap::from([("username".to_string(), user.to_string())]);
    if let Some(p) = password {
        m.insert("password".into(), p.into());
    }
    BTreeMap::from([(name.to_string(), m)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_and_service_forms() {
        let y = "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata: {name: pg}\nspec:\n  clientConfig:\n    url: postgres://127.0.0.1:5433/app?sslmode=disable\n  secret: {name: pg-auth}\n";
        let c = connection(y, "demo", &auth_secret("pg-auth", "postgres", Some("pw"))).unwrap();
        assert_eq!((c.host.as_str(), c.port, c.database.as_deref()), ("127.0.0.1", Some(5433), Some("app")));
        assert_eq!(c.params["sslmode"], "disable");
        assert_eq!(c.password.as_deref(), Some("pw"));
        let y = "spec:\n  clientConfig:\n    service: {name: redis, port: 6379}\n    insecureSkipTLSVerify: true\n";
        let c = connection(y, "demo", &Secrets::new()).unwrap();
        assert_eq!(c.host, "redis.demo.svc");
        assert!(c.tls.unwrap().insecure_skip_verify);
        assert!(connection("spec:\n  clientConfig:\n    url: pg://u:p@h:1\n", "d", &Secrets::new()).is_err());
    }
}
