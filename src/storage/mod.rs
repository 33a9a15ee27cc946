//! Storage backends: the only module that names OpenDAL.
//!
//! Every object store is an OpenDAL `Operator` rooted at the repository (bucket + prefix),
//! wrapped in [`OpendalBackend`], which maps restic's layout and OpenDAL's errors onto the
//! engine's [`Backend`](crate::engine::backend::Backend) trait; objects land exactly where
//! restic puts them (`<prefix>/config`, `<prefix>/data/ab/abcd…`, `<prefix>/keys/…`).
//! restic's REST protocol, which OpenDAL lacks, is a small client of our own
//! ([`backends::RestBackend`]) behind the same trait.
//!
//! * [`backends`] — opening Stash's `Repository.spec.backend` (the API's types, the only
//!   ones): one module per backend (config with credentials, `build()`), plus
//!   `api::Backend::config` over all of them;
//! * [`location`] — restic's repository strings and environment variables (the CLI);
//! * [`secret`] — the storage Secret, the environment, and keeping secrets out of text;
//! * [`http`] — the one HTTP/TLS stack, retry policy, timeouts and connection limits.
pub mod backends;
mod direct;
pub mod http;
mod lazy;
pub mod location;
mod opendal_backend;
pub mod secret;

pub use backends::{BackendConfig, LocalAccess, StorageError};
pub use lazy::LazyBackend;
pub use location::{create_location, open_location, open_location_with, Location, LocationError};
pub use opendal_backend::OpendalBackend;
pub use secret::{Credentials, EnvCredentials, Sensitive, StorageSecret};
