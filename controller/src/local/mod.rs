//! Local mode: Stash's reconcilers over a folder of manifests on one machine. This module
//! turns the folder into objects in the state store ([`manifests`]); the loop that drives the
//! reconcilers (`stash run`) builds on it.
pub mod manifests;
