//! What an addon connects to: the resolved form of Stash's AppBinding and its Secret.
//!
//! The controller's AppBinding resolver (another crate) turns `spec.clientConfig`, `spec.secret`
//! (after `secretTransforms`) and `spec.tlsSecret` into a [`DbConnection`]; addons never see
//! Kubernetes objects. Secrets stay out of `Debug` output, and [`SecretDir`] is how addons hand
//! them to client tools without a command line: files with mode 0600 in a private temp folder
//! that disappears with the value.
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// How to reach a database server and log in.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DbConnection {
    pub host: String,
    /// `None` = the database's default port.
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Database to connect to (PostgreSQL `dbname`, MySQL default schema, MongoDB auth db is
    /// in the addon options); `None` = the tool's default.
    pub database: Option<String>,
    pub tls: Option<TlsConfig>,
    /// Extra connection parameters from the AppBinding URL/service query, e.g. `sslmode`.
    pub params: BTreeMap<String, String>,
}

impl DbConnection {
    /// A plaintext connection to `host:port` without credentials.
    pub fn new(host: impl Into<String>, port: u16) -> DbConnection {
        DbConnection {
            host: host.into(),
            port: Some(port),
            ..Default::default()
        }
    }

    pub fn port_or(&self, default: u16) -> u16 {
        self.port.unwrap_or(default)
    }

    /// `host:port` for messages (never includes credentials).
    pub fn target(&self, default_port: u16) -> String {
        format!("{}:{}", self.host, self.port_or(default_port))
    }
}

impl fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbConnection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("tls", &self.tls)
            .field("params", &self.params)
            .finish()
    }
}

/// TLS settings: AppBinding `clientConfig.caBundle`, `serverName`, `insecureSkipTLSVerify`
/// and the client certificate of `spec.tlsSecret`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    pub ca_pem: Option<String>,
    pub client_cert_pem: Option<String>,
    pub client_key_pem: Option<String>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
    /// Verify the chain but not the name (libpq's `sslmode=verify-ca`); not from the AppBinding.
    pub skip_hostname_check: bool,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field(
                "ca_pem",
                &self.ca_pem.as_ref().map(|c| format!("<{} bytes>", c.len())),
            )
            .field(
                "client_cert_pem",
                &self
                    .client_cert_pem
                    .as_ref()
                    .map(|c| format!("<{} bytes>", c.len())),
            )
            .field(
                "client_key_pem",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("server_name", &self.server_name)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("skip_hostname_check", &self.skip_hostname_check)
            .finish()
    }
}

/// A private folder (0700) of secret files (0600), removed on drop.
pub struct SecretDir {
    dir: tempfile::TempDir,
    /// Name → SHA-256 of what was written, so a second tool can share a file (see `write`).
    written: std::sync::Mutex<BTreeMap<String, [u8; 32]>>,
}

impl SecretDir {
    pub fn new() -> std::io::Result<SecretDir> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new().prefix("stash-addon-").tempdir()?;
        // tempfile does not promise 0700 (it follows the umask here); secrets need it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        Ok(SecretDir {
            dir,
            written: Default::default(),
        })
    }

    /// Write `contents` to `name` with mode 0600 and return its path. Tools that run one after
    /// another or side by side (multiDumpArgs, native mode's pg_dump sections) share one
    /// folder: the same name with the same contents returns the file already written; other
    /// contents are an error, never an overwrite under a running tool.
    pub fn write(&self, name: &str, contents: &[u8]) -> std::io::Result<PathBuf> {
        use sha2::Digest;
        let p = self.dir.path().join(name);
        let digest: [u8; 32] = sha2::Sha256::digest(contents).into();
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        match written.get(name) {
            Some(d) if *d == digest => return Ok(p),
            Some(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{name} was already written with other contents"),
                ));
            }
            None => {}
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)?;
        f.write_all(contents)?;
        f.sync_all()?;
        written.insert(name.to_string(), digest);
        Ok(p)
    }
}

impl fmt::Debug for SecretDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretDir({})", self.dir.path().display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn debug_hides_secrets() {
        let c = DbConnection {
            host: "db".into(),
            password: Some("hunter2".into()),
            tls: Some(TlsConfig {
                client_key_pem: Some("PRIVATE KEY hunter3".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && !s.contains("hunter3"), "{s}");
        assert!(s.contains("<redacted>"));
    }

    /// Regression: native mode's second pg_dump over TLS failed with "File exists" (ca.crt).
    #[test]
    fn tools_share_secret_files() {
        let d = SecretDir::new().unwrap();
        let a = d.write("ca.crt", b"CA").unwrap();
        assert_eq!(d.write("ca.crt", b"CA").unwrap(), a);
        assert_eq!(
            d.write("ca.crt", b"other").unwrap_err().kind(),
            std::io::ErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read(&a).unwrap(), b"CA");
    }

    #[test]
    fn secret_files_are_private() {
        let d = SecretDir::new().unwrap();
        let p = d.write("pw", b"x").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(p.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }
}

impl DbConnection {
    /// The connection an AppBinding resolves to (`stash::api`'s resolver: service or URL,
    /// the Secret after its transforms, CA bundle, client certificate, server name).
    ///
    /// Every addon logs in with the Secret's `password`: a Secret that lacks it is refused
    /// here, naming the Secret and the fix, rather than becoming a login without a password
    /// (which a server may keep refusing until the wait timeout, or even accept).
    pub fn from_appbinding(
        c: &stash::api::resolve::appbinding::Connection,
    ) -> Result<DbConnection, crate::AddonError> {
        // An empty password is no password (PostgreSQL, MySQL and Redis all read it so); for
        // Redis it must not become an AUTH with an empty argument. Likewise an empty username
        // is none: MongoDB would otherwise try to log in as "" (a Secret whose values come
        // from an environment, as in examples/compose, may leave both empty).
        let password = c.required_secret_key("password")?.filter(|p| !p.is_empty());
        let text = |b: &Vec<u8>| String::from_utf8_lossy(b).into_owned();
        let tls = (c.ca_bundle.is_some() || c.client_cert.is_some() || c.insecure_skip_tls_verify)
            .then(|| TlsConfig {
                ca_pem: c.ca_bundle.as_ref().map(text),
                client_cert_pem: c.client_cert.as_ref().map(text),
                client_key_pem: c.client_key.as_ref().map(text),
                server_name: c.server_name.clone(),
                insecure_skip_verify: c.insecure_skip_tls_verify,
                skip_hostname_check: false,
            });
        let params = c
            .query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        Ok(DbConnection {
            host: c.host.clone(),
            port: (c.port != 0).then_some(c.port),
            user: c.username().filter(|u| !u.is_empty()),
            password,
            database: c
                .path
                .as_deref()
                .map(|p| p.trim_matches('/').to_string())
                .filter(|p| !p.is_empty()),
            tls,
            params,
        })
    }
}

#[cfg(test)]
mod appbinding_tests {
    use super::*;
    use stash::api::resolve::appbinding::Connection;

    #[test]
    fn maps_a_resolved_appbinding() {
        let mut c = Connection {
            host: "pg.demo.svc".into(),
            port: 5432,
            path: Some("/app".into()),
            query: Some("sslmode=require&x=1".into()),
            secret_name: Some("pg-auth".into()),
            ..Default::default()
        };
        c.secret.insert("username".into(), b"postgres".to_vec());
        c.secret.insert("password".into(), b"s3cret".to_vec());
        c.ca_bundle = Some(b"-----BEGIN CERTIFICATE-----".to_vec());
        c.server_name = Some("pg.example".into());
        let d = DbConnection::from_appbinding(&c).unwrap();
        assert_eq!(d.target(1), "pg.demo.svc:5432");
        assert_eq!(d.user.as_deref(), Some("postgres"));
        assert_eq!(d.password.as_deref(), Some("s3cret"));
        assert_eq!(d.database.as_deref(), Some("app"));
        assert_eq!(d.params.get("sslmode").map(String::as_str), Some("require"));
        let tls = d.tls.clone().unwrap();
        assert_eq!(tls.server_name.as_deref(), Some("pg.example"));
        assert!(!format!("{d:?}").contains("s3cret"));
        let plain = DbConnection::from_appbinding(&Connection {
            host: "h".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (plain.port, plain.tls.is_none(), plain.database),
            (None, true, None)
        );
        c.secret.remove("password");
        let e = DbConnection::from_appbinding(&c).unwrap_err().to_string();
        assert!(
            e.contains("Secret \"pg-auth\"") && e.contains("no key \"password\""),
            "{e}"
        );
        c.secret.insert("username".into(), Vec::new());
        c.secret.insert("password".into(), Vec::new());
        let d = DbConnection::from_appbinding(&c).unwrap();
        assert_eq!((d.user, d.password), (None, None), "empty means none");
    }
}
