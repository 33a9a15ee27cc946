//! AppBindings for the tests, resolved by the product's own code: `stash::api`'s AppBinding
//! type and resolver (service or URL, `secretTransforms`, `caBundle` as base64 in YAML,
//! `tlsSecret`) and [`DbConnection::from_appbinding`] — the path `stash addon … --appbinding`
//! takes. Only the Kubernetes lookups are replaced: Secrets are given in memory.
use std::collections::BTreeMap;

use serde::Deserialize;
use stash::api::appbinding::{AppBinding, AppBindingSpec};
use stash::api::resolve::appbinding::{resolve_appbinding, SecretData};
use stash_addons::DbConnection;

/// Secret name → key → value (already decoded).
pub type Secrets = BTreeMap<String, BTreeMap<String, String>>;

/// The parts of a manifest the tests write; `apiVersion`, `kind` and `metadata` may be left
/// out of the YAML (the name then is `app`).
#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    metadata: Option<Meta>,
    spec: AppBindingSpec,
}

#[derive(Deserialize)]
struct Meta {
    name: Option<String>,
}

/// Build the connection an addon gets from an AppBinding (YAML) in `namespace`; the error is
/// the resolver's message.
pub fn connection(yaml: &str, namespace: &str, secrets: &Secrets) -> Result<DbConnection, String> {
    let m: Manifest = serde_saphyr::from_str(yaml).map_err(|e| format!("AppBinding YAML: {e}"))?;
    let name = m
        .metadata
        .and_then(|m| m.name)
        .unwrap_or_else(|| "app".into());
    let mut ab = AppBinding::new(&name, m.spec);
    ab.metadata.namespace = Some(namespace.to_string());
    let data: BTreeMap<String, SecretData> = secrets
        .iter()
        .map(|(n, kv)| {
            (
                n.clone(),
                kv.iter()
                    .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                    .collect(),
            )
        })
        .collect();
    let c = resolve_appbinding(&ab, &data).map_err(|e| e.to_string())?;
    DbConnection::from_appbinding(&c).map_err(|e| e.to_string())
}

/// One secret with `username` and `password`; `None` is a server without a password: the key
/// is there but empty (a Secret without the key is refused).
pub fn auth_secret(name: &str, user: &str, password: Option<&str>) -> Secrets {
    let m = BTreeMap::from([
        ("username".to_string(), user.to_string()),
        ("password".to_string(), password.unwrap_or("").to_string()),
    ]);
    BTreeMap::from([(name.to_string(), m)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_and_service_forms() {
        let y = "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata: {name: pg}\nspec:\n  clientConfig:\n    url: postgres://127.0.0.1:5433/app?sslmode=disable\n  secret: {name: pg-auth}\n";
        let c = connection(y, "demo", &auth_secret("pg-auth", "postgres", Some("pw"))).unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.database.as_deref()),
            ("127.0.0.1", Some(5433), Some("app"))
        );
        assert_eq!(c.params["sslmode"], "disable");
        assert_eq!(c.password.as_deref(), Some("pw"));
        let y = "spec:\n  clientConfig:\n    service: {name: redis, port: 6379, scheme: redis}\n    insecureSkipTLSVerify: true\n";
        let c = connection(y, "demo", &Secrets::new()).unwrap();
        assert_eq!(c.host, "redis.demo.svc");
        assert!(c.tls.unwrap().insecure_skip_verify);
        assert!(connection(
            "spec:\n  clientConfig:\n    url: pg://u:p@h:1\n",
            "d",
            &Secrets::new()
        )
        .is_err());
    }
}
