//! Repository locations: restic's repository strings mapped to OpenDAL operators.
//!
//! `/path`, `local:/path` → the local filesystem. Object stores are added here, one arm each,
//! with the same credential environment variables restic reads.
use std::path::PathBuf;
use std::sync::Arc;

use opendal::layers::RetryLayer;
use opendal::Operator;

use super::OpendalBackend;
use crate::engine::backend::Backend;

#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("repository location is empty: pass -r/--repo or set RESTIC_REPOSITORY")]
    Empty,
    #[error("repository location {0:?}: unsupported scheme {1:?} (supported: a local path, local:)")]
    Scheme(String, String),
    #[error("{0} does not exist: it is not a repository (create one with `stash init`)")]
    Missing(String),
    #[error("creating {location}")]
    Create {
        location: String,
        #[source]
        source: std::io::Error,
    },
    #[error("building the {service} backend for {location}")]
    Build {
        service: &'static str,
        location: String,
        #[source]
        source: opendal::Error,
    },
}

/// A parsed repository location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
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
        }
    }
}

/// Build the backend for an existing repository location. Creates nothing.
pub fn open_location(loc: &Location) -> Result<Arc<dyn Backend>, LocationError> {
    build(loc, false)
}

/// Build the backend for a location that `init` may create (a local folder is made here).
pub fn create_location(loc: &Location) -> Result<Arc<dyn Backend>, LocationError> {
    build(loc, true)
}

fn build(loc: &Location, create: bool) -> Result<Arc<dyn Backend>, LocationError> {
    match loc {
        Location::Local(path) => {
            if !path.exists() {
                if !create {
                    return Err(LocationError::Missing(loc.display()));
                }
                std::fs::create_dir_all(path)
                    .map_err(|e| LocationError::Create { location: loc.display(), source: e })?;
            }
            let abs = if path.is_absolute() {
                path.clone()
            } else {
                std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.clone())
            };
            let root = abs.to_string_lossy().to_string();
            let tmp = abs.join("tmp").to_string_lossy().to_string();
            let builder = opendal::services::Fs::default().root(&root).atomic_write_dir(&tmp);
            let op = Operator::new(builder)
                .map_err(|e| LocationError::Build { service: "local", location: loc.display(), source: e })?
                .layer(RetryLayer::new().with_jitter().with_max_times(5));
            Ok(Arc::new(OpendalBackend::new(op, loc.display(), true)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_forms() {
        assert_eq!(Location::parse("/srv/repo").unwrap(), Location::Local("/srv/repo".into()));
        assert_eq!(Location::parse("local:/srv/repo").unwrap(), Location::Local("/srv/repo".into()));
        assert_eq!(Location::parse("rel/repo").unwrap(), Location::Local("rel/repo".into()));
        assert!(matches!(Location::parse(""), Err(LocationError::Empty)));
        let e = Location::parse("ftp:host/x").unwrap_err().to_string();
        assert!(e.contains("unsupported scheme \"ftp\""), "{e}");
    }
}
