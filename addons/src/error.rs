//! The addons' error type. Messages say what the addon was doing; the cause is the `source`.
//! Print with [`chain`] (or anyhow's `{:#}`) to see both.
use std::error::Error as StdError;
use std::time::Duration;

use stash::engine::RepoError;

pub type BoxError = Box<dyn StdError + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AddonError {
    /// The database did not answer a readiness probe within `waitTimeout`.
    #[error("{addon} at {target} was not ready within the wait timeout of {}s (last probe: {last})", waited.as_secs())]
    NotReady {
        addon: &'static str,
        target: String,
        waited: Duration,
        last: String,
    },
    /// The server refused our credentials; waiting will not help.
    #[error("{addon} at {target} rejected the login of user {user:?}: {detail}")]
    Auth {
        addon: &'static str,
        target: String,
        user: String,
        detail: String,
    },
    /// The TLS handshake failed on a certificate (ours or the server's); waiting will not help.
    #[error("TLS with {addon} at {target} failed: {detail}; {hint}")]
    Tls {
        addon: &'static str,
        target: String,
        detail: String,
        hint: String,
    },
    /// Could not connect (yet): refused, unreachable, starting up.
    #[error("connecting to {addon} at {target}")]
    Connect {
        addon: &'static str,
        target: String,
        source: BoxError,
    },
    /// A client tool (pg_dump, psql, mariadb-dump, …) exited unsuccessfully.
    #[error("{tool} failed ({status}): {stderr}")]
    ToolFailed {
        tool: String,
        status: String,
        stderr: String,
    },
    #[error("starting {tool} (is it installed and on PATH?)")]
    Spawn {
        tool: String,
        source: std::io::Error,
    },
    /// A statement or command the database rejected, or a driver failure mid-way.
    #[error("{what}")]
    Db { what: String, source: BoxError },
    /// The dump stream is not what this addon writes.
    #[error("the dump stream is malformed: {0}")]
    Format(String),
    #[error("{what}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// (Boxed: the engine's error is large, and every addon result would carry its size.)
    #[error("{what}")]
    Repo {
        what: String,
        source: Box<RepoError>,
    },
    #[error("invalid addon options: {0}")]
    Invalid(String),
    /// The AppBinding (or its Secrets) cannot make a connection; the message names the field
    /// and the fix.
    /// (Boxed: resolution errors are large and rare.)
    #[error(transparent)]
    AppBinding(Box<stash::api::resolve::ResolveError>),
}

impl From<stash::api::resolve::ResolveError> for AddonError {
    fn from(e: stash::api::resolve::ResolveError) -> AddonError {
        AddonError::AppBinding(Box::new(e))
    }
}

impl AddonError {
    /// Whether trying again later may succeed (drives the readiness wait and requeues).
    pub fn is_retryable(&self) -> bool {
        match self {
            AddonError::Connect { .. } | AddonError::NotReady { .. } => true,
            AddonError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::Interrupted
            ),
            _ => false,
        }
    }

    pub fn io(what: impl Into<String>, source: std::io::Error) -> AddonError {
        AddonError::Io {
            what: what.into(),
            source,
        }
    }

    pub fn db(what: impl Into<String>, source: impl Into<BoxError>) -> AddonError {
        AddonError::Db {
            what: what.into(),
            source: source.into(),
        }
    }

    pub fn repo(what: impl Into<String>, source: RepoError) -> AddonError {
        AddonError::Repo {
            what: what.into(),
            source: Box::new(source),
        }
    }
}

pub type Result<T, E = AddonError> = std::result::Result<T, E>;

/// `outer: inner: innermost`, skipping a level whose text repeats the next one.
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if parts.last().map(|p| !p.contains(&t)).unwrap_or(true) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}
