//! Errors of a reconcile. A problem with the user's objects is not an error here: it becomes a
//! condition and a phase (Invalid, NotReady, Failed) with a message that names the field. What
//! is left is the machinery failing: the store, starting a job.
use crate::runner::RunnerError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Runner(#[from] RunnerError),
}

impl Error {
    /// Worth a quick retry (the work queue backs off either way).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Store(e) => e.is_retryable(),
            Error::Runner(_) => true,
        }
    }

    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Error::Store(_) => "store",
            Error::Runner(_) => "runner",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
