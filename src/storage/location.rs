//! Repository locations: restic's repository strings, opened with the credentials restic reads
//! from the environment, so a restic user's scripts work unchanged.
//!
//! | string | backend |
//! |---|---|
//! | `/path`, `local:/path` | local folder |
//! | `s3:s3.amazonaws.com/bucket/prefix`, `s3:http://host:port/bucket/prefix` | S3 (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION`) |
//! | `gs:bucket:/prefix` | GCS (`GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_PROJECT_ID`, `STORAGE_EMULATOR_HOST`) |
//! | `azure:container:/prefix` | Azure Blob (`AZURE_ACCOUNT_NAME`, `AZURE_ACCOUNT_KEY` or `AZURE_ACCOUNT_SAS`, `AZURE_ENDPOINT_SUFFIX`; ours: `AZURE_ENDPOINT`) |
//! | `b2:bucket:/prefix` | Backblaze B2 (`B2_ACCOUNT_ID`, `B2_ACCOUNT_KEY`) |
//! | `swift:container:/prefix` | OpenStack Swift (`ST_*`, `OS_*`) |
//! | `rest:http://user:pass@host:port/path` | restic's REST server (`RESTIC_REST_USERNAME`, `RESTIC_REST_PASSWORD`) |
//!
//! `RESTIC_CACERT` names a PEM file of extra trusted roots for every HTTPS backend.
//!
//! A string parses into the same `spec.backend` types a Repository object holds, so both
//! open through the same `XConfig::new`.
use std::path::PathBuf;
use std::sync::Arc;

use super::backends::{
    AzureConfig, B2Config, BackendConfig, GcsConfig, LocalConfig, RestConfig, S3Config,
    StorageError, SwiftConfig,
};
use super::secret::EnvCredentials;
use crate::api::repository::{AzureSpec, B2Spec, GCSSpec, RestServerSpec, S3Spec, SwiftSpec};
use crate::engine::backend::Backend;

#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("repository location is empty: pass -r/--repo or set RESTIC_REPOSITORY")]
    Empty,
    #[error("repository location {0:?}: unsupported scheme {1:?} (supported: a local path, local:, s3:, gs:, azure:, b2:, swift:, rest:)")]
    Scheme(String, String),
    #[error("repository location {location:?}: {reason}")]
    Malformed { location: String, reason: String },
    #[error("{0} does not exist: it is not a repository (create one with `stash init`)")]
    Missing(String),
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for LocationError {
    fn from(e: StorageError) -> LocationError {
        match e {
            StorageError::Missing(l) => LocationError::Missing(l),
            e => LocationError::Storage(e),
        }
    }
}

/// A parsed repository location. Holds no secret: credentials are read when it is opened,
/// except a REST URL's user info, which is kept apart and never printed.
#[derive(Clone, Debug, PartialEq)]
pub enum Location {
    Local(PathBuf),
    S3(S3Spec),
    Gcs(GCSSpec),
    Azure(AzureSpec),
    B2(B2Spec),
    Swift(SwiftSpec),
    /// The URL as given; user info is split off when it is opened and never displayed.
    Rest(RestUrl),
}

/// A REST server URL that may hold user info; `Debug` and [`Location::display`] strip it.
#[derive(Clone, PartialEq, Eq)]
pub struct RestUrl(String);

impl std::fmt::Debug for RestUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RestUrl({:?})", strip_userinfo(&self.0))
    }
}

fn strip_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map(|(_, h)| h)
                .unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// `bucket:/prefix` (restic's form for gs, azure, b2, swift).
fn bucket_and_prefix(loc: &str, rest: &str) -> Result<(String, String), LocationError> {
    let (bucket, prefix) = rest.split_once(':').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(LocationError::Malformed {
            location: loc.to_string(),
            reason: "no bucket or container: use scheme:name:/prefix".into(),
        });
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

impl Location {
    pub fn parse(s: &str) -> Result<Location, LocationError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(LocationError::Empty);
        }
        if let Some(rest) = s.strip_prefix("local:") {
            return Ok(Location::Local(PathBuf::from(rest)));
        }
        if let Some(rest) = s.strip_prefix("s3:") {
            // s3:http(s)://host[:port]/bucket[/prefix] or s3:host/bucket[/prefix] (https).
            let (scheme, rest) = match rest.split_once("://") {
                Some((sch @ ("http" | "https"), r)) => (format!("{sch}://"), r),
                Some(_) => {
                    return Err(LocationError::Malformed {
                        location: s.into(),
                        reason: "the endpoint must be http:// or https://".into(),
                    })
                }
                None => (String::new(), rest),
            };
            let mut parts = rest.splitn(3, '/');
            let host = parts.next().unwrap_or("");
            let bucket = parts.next().unwrap_or("");
            let prefix = parts.next().unwrap_or("").trim_matches('/');
            if host.is_empty() || bucket.is_empty() {
                return Err(LocationError::Malformed {
                    location: s.into(),
                    reason: "use s3:host/bucket/prefix or s3:http://host:port/bucket/prefix".into(),
                });
            }
            return Ok(Location::S3(S3Spec {
                endpoint: Some(format!("{scheme}{host}")),
                bucket: Some(bucket.into()),
                prefix: Some(prefix.into()),
                ..Default::default()
            }));
        }
        if let Some(rest) = s.strip_prefix("gs:") {
            let (bucket, prefix) = bucket_and_prefix(s, rest)?;
            return Ok(Location::Gcs(GCSSpec {
                bucket: Some(bucket),
                prefix: Some(prefix),
                ..Default::default()
            }));
        }
        if let Some(rest) = s.strip_prefix("azure:") {
            let (container, prefix) = bucket_and_prefix(s, rest)?;
            return Ok(Location::Azure(AzureSpec {
                container: Some(container),
                prefix: Some(prefix),
                ..Default::default()
            }));
        }
        if let Some(rest) = s.strip_prefix("b2:") {
            let (bucket, prefix) = bucket_and_prefix(s, rest)?;
            return Ok(Location::B2(B2Spec {
                bucket: Some(bucket),
                prefix: Some(prefix),
                ..Default::default()
            }));
        }
        if let Some(rest) = s.strip_prefix("swift:") {
            let (container, prefix) = bucket_and_prefix(s, rest)?;
            return Ok(Location::Swift(SwiftSpec {
                container: Some(container),
                prefix: Some(prefix),
            }));
        }
        if let Some(rest) = s.strip_prefix("rest:") {
            if !(rest.starts_with("http://") || rest.starts_with("https://")) {
                return Err(LocationError::Malformed {
                    location: format!("rest:{}", strip_userinfo(rest)),
                    reason: "use rest:http(s)://host:port/path".into(),
                });
            }
            return Ok(Location::Rest(RestUrl(rest.to_string())));
        }
        if let Some((scheme, _)) = s.split_once(':') {
            // A Windows-style drive or a relative path with a colon is not supported; a scheme is.
            if !scheme.contains('/') && scheme.len() > 1 {
                return Err(LocationError::Scheme(s.to_string(), scheme.to_string()));
            }
        }
        Ok(Location::Local(PathBuf::from(s)))
    }

    /// Printable form, never with credentials.
    pub fn display(&self) -> String {
        match self {
            Location::Local(p) => format!("local:{}", p.display()),
            Location::Rest(u) => format!("rest:{}", strip_userinfo(&u.0)),
            other => {
                // The backends' own location strings (the same restic forms).
                match other.config(&EnvCredentials::from_fn(|_| Some("x-placeholder".into()))) {
                    Ok(c) => c.location(),
                    Err(_) => format!("{other:?}"),
                }
            }
        }
    }

    /// The backend configuration, with credentials from `env` (restic's variable names).
    pub fn config(&self, env: &EnvCredentials<'_>) -> Result<BackendConfig, StorageError> {
        Ok(match self {
            Location::Local(p) => BackendConfig::Local(LocalConfig::from_path(p.clone())),
            Location::S3(s) => BackendConfig::S3(S3Config::new(s, env)?),
            Location::Gcs(s) => BackendConfig::Gcs(GcsConfig::new(s, env)?),
            Location::Azure(s) => BackendConfig::Azure(AzureConfig::new(s, env)?),
            Location::B2(s) => BackendConfig::B2(B2Config::new(s, env)?),
            Location::Swift(s) => BackendConfig::Swift(SwiftConfig::new(s, env)?),
            Location::Rest(u) => BackendConfig::Rest(RestConfig::new(
                &RestServerSpec {
                    url: Some(u.0.clone()),
                },
                env,
            )?),
        })
    }
}

/// Build the backend for an existing repository location, with credentials from the process
/// environment. Creates nothing and contacts nothing.
pub fn open_location(loc: &Location) -> Result<Arc<dyn Backend>, LocationError> {
    open_location_with(loc, &EnvCredentials::process(), false)
}

/// Build the backend for a location that `init` may create (a local folder is made here).
pub fn create_location(loc: &Location) -> Result<Arc<dyn Backend>, LocationError> {
    open_location_with(loc, &EnvCredentials::process(), true)
}

/// [`open_location`] with credentials from `env` instead of the process environment.
pub fn open_location_with(
    loc: &Location,
    env: &EnvCredentials<'_>,
    create: bool,
) -> Result<Arc<dyn Backend>, LocationError> {
    Ok(loc.config(env)?.open(create)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_forms() {
        assert_eq!(
            Location::parse("/srv/repo").unwrap(),
            Location::Local("/srv/repo".into())
        );
        assert_eq!(
            Location::parse("local:/srv/repo").unwrap(),
            Location::Local("/srv/repo".into())
        );
        assert_eq!(
            Location::parse("rel/repo").unwrap(),
            Location::Local("rel/repo".into())
        );
        assert!(matches!(Location::parse(""), Err(LocationError::Empty)));
        let e = Location::parse("ftp:host/x").unwrap_err().to_string();
        assert!(e.contains("unsupported scheme \"ftp\""), "{e}");
    }

    #[test]
    fn parses_restics_object_store_strings() {
        let cases = [
            (
                "s3:http://127.0.0.1:9000/bucket/some/prefix",
                "s3:http://127.0.0.1:9000/bucket/some/prefix",
            ),
            (
                "s3:s3.amazonaws.com/bucket/prefix",
                "s3:s3.amazonaws.com/bucket/prefix",
            ),
            ("s3:https://minio.example/bucket", "s3:minio.example/bucket"),
            ("gs:bucket:/prefix", "gs:bucket:/prefix"),
            ("gs:bucket:/", "gs:bucket:/"),
            ("gs:bucket:prefix/deeper/", "gs:bucket:/prefix/deeper"),
            ("azure:container:/prefix", "azure:container:/prefix"),
            ("b2:bucket:/prefix", "b2:bucket:/prefix"),
            ("swift:container:/prefix", "swift:container:/prefix"),
            (
                "rest:http://user:secretpass@host:8000/path",
                "rest:http://host:8000/path",
            ),
            ("rest:https://host/", "rest:https://host/"),
        ];
        for (input, shown) in cases {
            let loc = Location::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(loc.display(), shown, "{input}");
        }
        assert_eq!(
            Location::parse("s3:http://127.0.0.1:9000/bucket/a/b").unwrap(),
            Location::S3(S3Spec {
                endpoint: Some("http://127.0.0.1:9000".into()),
                bucket: Some("bucket".into()),
                prefix: Some("a/b".into()),
                ..Default::default()
            })
        );
        assert!(!format!(
            "{:?}",
            Location::parse("rest:http://user:secretpass@host:8000/path").unwrap()
        )
        .contains("secretpass"));
        for bad in [
            "s3:",
            "s3:http://host",
            "s3:ftp://h/b",
            "gs::/x",
            "rest:host:8000",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_credentials_reach_the_config() {
        let env = EnvCredentials::from_fn(|k| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIAENVKEY".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("envsecretvalue".into()),
            "AWS_DEFAULT_REGION" => Some("eu-central-1".into()),
            _ => None,
        });
        let BackendConfig::S3(c) = Location::parse("s3:http://127.0.0.1:1/b/p")
            .unwrap()
            .config(&env)
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (c.region.as_str(), c.access_key_id.unwrap().expose()),
            ("eu-central-1", "AKIAENVKEY")
        );
        let e = Location::parse("azure:c:/p")
            .unwrap()
            .config(&env)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "environment variable AZURE_ACCOUNT_NAME is not set");
        let e = Location::parse("b2:c:/p")
            .unwrap()
            .config(&env)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "environment variable B2_ACCOUNT_ID is not set");
    }
}
