//! AppBinding → [`Connection`]: where the app is (`clientConfig.service` as
//! `<name>.<namespace>.svc:<port>`, or `clientConfig.url`), its credentials (the Secret after
//! `secretTransforms`, applied in order), TLS material and the Stash addon tasks.
//!
//! Secrets are passed in as maps of key → bytes (`secrets`, by name, all in the AppBinding's
//! namespace): this module never fetches anything. [`Connection`]'s `Debug` is written by hand
//! and shows secret keys but never their values.

use std::collections::BTreeMap;
use std::fmt;

use super::ResolveError;
use crate::api::appbinding::{AddonTaskRef, AppBinding};

/// Secret data: key → bytes.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// Everything an addon needs to connect to the app.
#[derive(Clone, PartialEq, Default)]
pub struct Connection {
    /// The AppBinding's name (for messages).
    pub appbinding: String,
    /// Name of the Secret `spec.secret` refers to, if any (for messages).
    pub secret_name: Option<String>,
    /// `service.scheme` or the URL's scheme (`postgresql`, `mysql`, …), if any.
    pub scheme: Option<String>,
    pub host: String,
    /// 0 when neither the service nor the URL gives one (the addon picks its default).
    pub port: u16,
    pub path: Option<String>,
    /// Encoded query without `?` (`sslmode=disable`), from the service or the URL.
    pub query: Option<String>,
    /// The Secret after the transforms (contains the password: never log it).
    pub secret: SecretData,
    pub ca_bundle: Option<Vec<u8>>,
    /// `tls.crt` and `tls.key` of `tlsSecret`.
    pub client_cert: Option<Vec<u8>>,
    pub client_key: Option<Vec<u8>>,
    pub insecure_skip_tls_verify: bool,
    pub server_name: Option<String>,
    /// `spec.type` (`Opaque` when unset), split into group and resource.
    pub app_type: String,
    pub app_group: String,
    pub app_resource: String,
    pub version: Option<String>,
    /// `spec.parameters`, verbatim (MongoDB replica sets, Redis client cert secret, …).
    pub parameters: Option<serde_json::Value>,
    pub backup_task: Option<AddonTaskRef>,
    pub restore_task: Option<AddonTaskRef>,
}

impl Connection {
    fn text(&self, key: &str) -> Option<String> {
        self.secret
            .get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
    /// Secret key `username`.
    pub fn username(&self) -> Option<String> {
        self.text("username")
    }
    /// Secret key `password`.
    pub fn password(&self) -> Option<String> {
        self.text("password")
    }
    /// Key `key` of the Secret after the transforms; `Ok(None)` when the AppBinding names no
    /// Secret. A named Secret without the key is an error that says which Secret, which keys
    /// it has (names only) and how to fix the AppBinding: Stash's addons read `username` and
    /// `password`, and KubeDB's older Secrets spell them `POSTGRES_PASSWORD` and the like,
    /// which `secretTransforms` must rename.
    pub fn required_secret_key(&self, key: &str) -> Result<Option<String>, ResolveError> {
        let Some(secret) = &self.secret_name else {
            return Ok(None);
        };
        if let Some(v) = self.text(key) {
            return Ok(Some(v));
        }
        let keys: Vec<&str> = self.secret.keys().map(String::as_str).collect();
        let upper = key.to_ascii_uppercase();
        let similar: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| k.to_ascii_uppercase().contains(&upper))
            .collect();
        let fix = match similar.as_slice() {
            [one] => format!(
                "to use {one}, add to the AppBinding spec.secretTransforms: [{{renameKey: {{from: {one}, to: {key}}}}}]"
            ),
            _ => format!(
                "add key {key:?} to the Secret, or have spec.secretTransforms produce it (renameKey, addKey, addKeysFrom)"
            ),
        };
        Err(ResolveError::MissingSecretKey {
            name: self.appbinding.clone(),
            secret: secret.clone(),
            key: key.to_string(),
            keys: if keys.is_empty() {
                "none".into()
            } else {
                keys.join(", ")
            },
            fix,
        })
    }
    /// Whether TLS should be used (a CA bundle is given).
    pub fn tls(&self) -> bool {
        self.ca_bundle.is_some()
    }
    /// A query parameter of `query` (e.g. `sslmode`).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.as_deref()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then(|| v.to_string())
        })
    }
    /// `host:port`, or `host` when the port is 0 (IPv6 hosts bracketed).
    pub fn address(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 0 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |o: &Option<Vec<u8>>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("Connection")
            .field("appbinding", &self.appbinding)
            .field("secret_name", &self.secret_name)
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("username", &self.username())
            .field(
                "password",
                &self.secret.get("password").map(|_| "<redacted>"),
            )
            .field("secret_keys", &self.secret.keys().collect::<Vec<_>>())
            .field(
                "ca_bundle",
                &self
                    .ca_bundle
                    .as_ref()
                    .map(|b| format!("{} bytes", b.len())),
            )
            .field(
                "client_cert",
                &self
                    .client_cert
                    .as_ref()
                    .map(|b| format!("{} bytes", b.len())),
            )
            .field("client_key", &redacted(&self.client_key))
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("server_name", &self.server_name)
            .field("app_type", &self.app_type)
            .field("version", &self.version)
            .field("backup_task", &self.backup_task.as_ref().map(|t| &t.name))
            .field("restore_task", &self.restore_task.as_ref().map(|t| &t.name))
            .finish_non_exhaustive()
    }
}

/// Parts of a `clientConfig.url`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlParts {
    pub scheme: Option<String>,
    pub host: String,
    pub port: u16,
    pub path: Option<String>,
    pub query: Option<String>,
}

/// Errors in a `clientConfig.url`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("url has no host")]
    NoHost,
    #[error("url must not contain user info; put credentials in the Secret")]
    UserInfo,
    #[error("url must not contain a fragment")]
    Fragment,
    #[error("invalid port {0:?} in url")]
    Port(String),
}

/// Parses `[scheme://]host[:port][/path][?query]` (host may be `[ipv6]`).
pub fn parse_url(url: &str) -> Result<UrlParts, UrlError> {
    if url.contains('#') {
        return Err(UrlError::Fragment);
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s.to_string()), r),
        None => (None, url),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q.to_string())),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(rest[i..].to_string())),
        None => (rest, None),
    };
    if authority.contains('@') {
        return Err(UrlError::UserInfo);
    }
    let (host, port) = if let Some(after) = authority.strip_prefix('[') {
        let (h, tail) = after.split_once(']').ok_or(UrlError::NoHost)?;
        (h, tail.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let port = match port {
        None | Some("") => 0,
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| UrlError::Port(p.to_string()))?,
    };
    Ok(UrlParts {
        scheme,
        host: host.to_string(),
        port,
        path,
        query,
    })
}

/// Resolves `ab` with the Secrets of its namespace (`secrets`, by name).
pub fn resolve_appbinding(
    ab: &AppBinding,
    secrets: &BTreeMap<String, SecretData>,
) -> Result<Connection, ResolveError> {
    let name = ab.metadata.name.clone().unwrap_or_default();
    let ns = ab.metadata.namespace.clone().unwrap_or_default();
    let spec = &ab.spec;
    let cc = spec
        .client_config
        .as_ref()
        .ok_or_else(|| ResolveError::NoClientConfig { name: name.clone() })?;
    let mut conn = Connection {
        appbinding: name.clone(),
        ..Default::default()
    };
    if let Some(svc) = &cc.service {
        let svc_ns = svc
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&ns);
        conn.scheme = Some(svc.scheme.clone()).filter(|s| !s.is_empty());
        conn.host = format!("{}.{svc_ns}.svc", svc.name);
        conn.port = u16::try_from(svc.port).unwrap_or(0);
        conn.path = svc.path.clone();
        conn.query = svc.query.clone().filter(|q| !q.is_empty());
    } else if let Some(url) = &cc.url {
        let u = parse_url(url).map_err(|e| ResolveError::BadUrl {
            name: name.clone(),
            url: url.clone(),
            reason: e.to_string(),
        })?;
        conn.scheme = u.scheme;
        conn.host = u.host;
        conn.port = u.port;
        conn.path = u.path;
        conn.query = u.query;
    }
    conn.ca_bundle = cc
        .ca_bundle
        .as_ref()
        .map(|b| b.0.clone())
        .filter(|b| !b.is_empty());
    conn.insecure_skip_tls_verify = cc.insecure_skip_tls_verify.unwrap_or(false);
    conn.server_name = cc.server_name.clone().filter(|s| !s.is_empty());

    let missing = |field: &str, secret: &str| ResolveError::MissingSecretRef {
        name: name.clone(),
        field: field.to_string(),
        secret: secret.to_string(),
    };
    if let Some(s) = &spec.secret {
        conn.secret_name = Some(s.name.clone());
        conn.secret = secrets
            .get(&s.name)
            .cloned()
            .ok_or_else(|| missing("secret", &s.name))?;
    }
    for (i, t) in spec.secret_transforms.iter().flatten().enumerate() {
        if let Some(r) = &t.rename_key {
            if let Some(v) = conn.secret.remove(&r.from) {
                conn.secret.insert(r.to.clone(), v);
            }
        }
        if let Some(a) = &t.add_key {
            let value = match (&a.string_value, &a.value) {
                (Some(s), _) => s.clone().into_bytes(),
                (None, Some(b)) => b.0.clone(),
                (None, None) => Vec::new(),
            };
            conn.secret.insert(a.key.clone(), value);
        }
        if let Some(from) = &t.add_keys_from {
            let other = from
                .secret_ref
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default();
            let data = secrets
                .get(&other)
                .ok_or_else(|| missing(&format!("secretTransforms[{i}].addKeysFrom"), &other))?;
            conn.secret
                .extend(data.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if let Some(r) = &t.remove_key {
            conn.secret.remove(&r.key);
        }
    }
    if let Some(tls) = &spec.tls_secret {
        let data = secrets
            .get(&tls.name)
            .ok_or_else(|| missing("tlsSecret", &tls.name))?;
        conn.client_cert = data.get("tls.crt").cloned();
        conn.client_key = data.get("tls.key").cloned();
    }
    conn.app_type = spec.app_type().to_string();
    let (group, resource) = spec.app_group_resource();
    conn.app_group = group.to_string();
    conn.app_resource = resource.to_string();
    conn.version = spec.version.clone();
    conn.parameters = spec.parameters.clone();
    if let Some(addon) = spec.stash_addon() {
        conn.backup_task = Some(addon.stash.addon.backup_task).filter(|t| !t.name.is_empty());
        conn.restore_task = Some(addon.stash.addon.restore_task).filter(|t| !t.name.is_empty());
    }
    Ok(conn)
}
