//! Credentials: where a backend's keys come from, and how they are kept out of sight.
//!
//! A backend asks for keys by Stash's names (`AWS_ACCESS_KEY_ID`, `AZURE_ACCOUNT_KEY`, …). Two
//! sources answer: the storage [`StorageSecret`] of a Repository, and [`EnvCredentials`], the
//! process environment under the names restic reads (it translates the few that differ, e.g.
//! `GOOGLE_APPLICATION_CREDENTIALS` is a file path where Stash's Secret holds the JSON itself).
//! Values travel as [`Sensitive`], whose `Debug` and `Display` print `***`; every backend keeps
//! a [`Redactor`] with its secret values and scrubs them from error text before it leaves.
use std::collections::BTreeMap;
use std::fmt;

/// A secret value. Printing it shows `***`; [`Sensitive::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(String);

impl Sensitive {
    pub fn new(s: impl Into<String>) -> Sensitive {
        Sensitive(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where credentials come from; decides how a missing key is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialOrigin {
    /// A Repository's storage Secret.
    Secret,
    /// The process environment (the CLI, like restic).
    Environment,
}

/// A source of credentials, asked by Stash's key names.
pub trait Credentials {
    fn get(&self, key: &str) -> Option<Sensitive>;
    fn origin(&self) -> CredentialOrigin;

    /// A key that must be present (and non-empty).
    fn require(&self, key: &'static str) -> Result<Sensitive, MissingKey> {
        match self.get(key) {
            Some(v) if !v.expose().is_empty() => Ok(v),
            _ => Err(MissingKey {
                key,
                origin: self.origin(),
            }),
        }
    }

    /// A key that may be absent; an empty value counts as absent.
    fn optional(&self, key: &str) -> Option<Sensitive> {
        self.get(key).filter(|v| !v.expose().is_empty())
    }
}

/// A required credential is missing. From a Secret the text is Stash's, word for word.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct MissingKey {
    pub key: &'static str,
    pub origin: CredentialOrigin,
}

impl fmt::Display for MissingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            CredentialOrigin::Secret => write!(f, "storage Secret missing {} key", self.key),
            CredentialOrigin::Environment => {
                write!(f, "environment variable {} is not set", self.key)
            }
        }
    }
}

/// The data of a Repository's storage Secret (`Secret.data`, already base64-decoded).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StorageSecret(BTreeMap<String, Vec<u8>>);

impl StorageSecret {
    pub fn new(data: BTreeMap<String, Vec<u8>>) -> StorageSecret {
        StorageSecret(data)
    }

    /// From `Secret.stringData`-like pairs.
    pub fn from_strings<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> StorageSecret {
        StorageSecret(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into().into_bytes()))
                .collect(),
        )
    }

    /// The repository password (`RESTIC_PASSWORD`, always required).
    pub fn restic_password(&self) -> Result<Sensitive, MissingKey> {
        self.require("RESTIC_PASSWORD")
    }

    /// The private CA bundle (`CA_CERT_DATA`, PEM), if any.
    pub fn ca_cert_data(&self) -> Option<Vec<u8>> {
        self.0
            .get("CA_CERT_DATA")
            .filter(|v| !v.is_empty())
            .cloned()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(|k| k.as_str())
    }
}

impl fmt::Debug for StorageSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key names help debugging; the values never show.
        f.debug_struct("StorageSecret")
            .field("keys", &self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Credentials for StorageSecret {
    fn get(&self, key: &str) -> Option<Sensitive> {
        self.0
            .get(key)
            .map(|v| Sensitive(String::from_utf8_lossy(v).into_owned()))
    }
    fn origin(&self) -> CredentialOrigin {
        CredentialOrigin::Secret
    }
}

/// A variable lookup: the process environment, or a map in tests.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// The process environment under restic's variable names, or any lookup function (tests pass
/// a map instead of changing the process environment).
pub struct EnvCredentials<'a> {
    lookup: Lookup<'a>,
}

impl EnvCredentials<'static> {
    /// The real process environment.
    pub fn process() -> EnvCredentials<'static> {
        EnvCredentials {
            lookup: Box::new(|k| std::env::var(k).ok()),
        }
    }
}

impl<'a> EnvCredentials<'a> {
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + 'a) -> EnvCredentials<'a> {
        EnvCredentials {
            lookup: Box::new(lookup),
        }
    }

    /// Look up a variable that is not a credential (region, endpoint overrides).
    pub fn var(&self, key: &str) -> Option<String> {
        (self.lookup)(key).filter(|v| !v.is_empty())
    }
}

impl fmt::Debug for EnvCredentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnvCredentials")
    }
}

impl Credentials for EnvCredentials<'_> {
    fn get(&self, key: &str) -> Option<Sensitive> {
        let direct = self.var(key);
        let v = match key {
            // restic reads a key file named by GOOGLE_APPLICATION_CREDENTIALS.
            "GOOGLE_SERVICE_ACCOUNT_JSON_KEY" => direct.or_else(|| {
                let path = self.var("GOOGLE_APPLICATION_CREDENTIALS")?;
                std::fs::read_to_string(path).ok()
            }),
            // restic's names for the REST server's basic auth.
            "REST_SERVER_USERNAME" => direct.or_else(|| self.var("RESTIC_REST_USERNAME")),
            "REST_SERVER_PASSWORD" => direct.or_else(|| self.var("RESTIC_REST_PASSWORD")),
            // restic's --cacert file, as RESTIC_CACERT.
            "CA_CERT_DATA" => {
                direct.or_else(|| std::fs::read_to_string(self.var("RESTIC_CACERT")?).ok())
            }
            _ => direct,
        };
        v.map(Sensitive)
    }
    fn origin(&self) -> CredentialOrigin {
        CredentialOrigin::Environment
    }
}

/// Secret values to scrub from any text that leaves a backend (errors, logs).
#[derive(Clone, Default)]
pub struct Redactor(Vec<String>);

impl Redactor {
    pub fn new<'a>(values: impl IntoIterator<Item = &'a Sensitive>) -> Redactor {
        // Very short values would blank out ordinary words; a real key is never that short.
        let mut v: Vec<String> = values
            .into_iter()
            .map(|s| s.0.clone())
            .filter(|s| s.len() >= 4)
            .collect();
        // Longest first, so a secret that contains another is replaced whole.
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor(v)
    }

    /// Both sets of values.
    pub fn merge(mut self, other: Redactor) -> Redactor {
        self.0.extend(other.0);
        self.0.sort_by_key(|s| std::cmp::Reverse(s.len()));
        self
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.0 {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} values)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_key_text_is_stashs() {
        let s = StorageSecret::from_strings([("AWS_ACCESS_KEY_ID", "AKIA")]);
        assert_eq!(
            s.restic_password().unwrap_err().to_string(),
            "storage Secret missing RESTIC_PASSWORD key"
        );
        assert_eq!(
            s.require("B2_ACCOUNT_KEY").unwrap_err().to_string(),
            "storage Secret missing B2_ACCOUNT_KEY key"
        );
        let empty = StorageSecret::from_strings([("B2_ACCOUNT_KEY", "")]);
        assert_eq!(
            empty.require("B2_ACCOUNT_KEY").unwrap_err().to_string(),
            "storage Secret missing B2_ACCOUNT_KEY key"
        );
        let env = EnvCredentials::from_fn(|_| None);
        assert_eq!(
            env.require("AZURE_ACCOUNT_KEY").unwrap_err().to_string(),
            "environment variable AZURE_ACCOUNT_KEY is not set"
        );
    }

    #[test]
    fn debug_never_shows_values() {
        let s = StorageSecret::from_strings([
            ("RESTIC_PASSWORD", "hunter2-very-secret"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
        ]);
        let d = format!(
            "{s:?} {:?} {}",
            s.get("RESTIC_PASSWORD").unwrap(),
            s.get("AWS_SECRET_ACCESS_KEY").unwrap()
        );
        assert!(!d.contains("hunter2") && !d.contains("wJalr"), "{d}");
        assert!(d.contains("RESTIC_PASSWORD") && d.contains("***"), "{d}");
    }

    #[test]
    fn env_translates_restics_names() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("sa.json");
        std::fs::write(&key, "{\"type\":\"service_account\"}").unwrap();
        let kp = key.to_string_lossy().into_owned();
        let env = EnvCredentials::from_fn(move |k| match k {
            "GOOGLE_APPLICATION_CREDENTIALS" => Some(kp.clone()),
            "RESTIC_REST_USERNAME" => Some("alice".into()),
            "RESTIC_REST_PASSWORD" => Some("s3cret-pw".into()),
            _ => None,
        });
        assert_eq!(
            env.get("GOOGLE_SERVICE_ACCOUNT_JSON_KEY").unwrap().expose(),
            "{\"type\":\"service_account\"}"
        );
        assert_eq!(env.get("REST_SERVER_USERNAME").unwrap().expose(), "alice");
        assert_eq!(
            env.get("REST_SERVER_PASSWORD").unwrap().expose(),
            "s3cret-pw"
        );
        assert!(env.get("AWS_ACCESS_KEY_ID").is_none());
    }

    #[test]
    fn redactor_scrubs_every_value() {
        let a = Sensitive::new("topsecretvalue");
        let b = Sensitive::new("topsecret");
        let short = Sensitive::new("ab");
        let r = Redactor::new([&b, &a, &short]);
        assert_eq!(
            r.redact("x topsecretvalue y topsecret z ab"),
            "x *** y *** z ab"
        );
    }
}
