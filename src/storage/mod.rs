//! Storage backends: the only module that names OpenDAL.
//!
//! Every backend is an OpenDAL `Operator` rooted at the repository, wrapped in [`OpendalBackend`],
//! which maps restic's layout and OpenDAL's errors onto the engine's [`Backend`] trait. Adding a
//! service means building its `Operator`; nothing else changes.
mod opendal_backend;
pub mod location;

pub use location::{create_location, open_location, Location, LocationError};
pub use opendal_backend::OpendalBackend;
