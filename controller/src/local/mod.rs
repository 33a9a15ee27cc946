//! Local mode: Stash's reconcilers over a folder of manifests on one machine. [`manifests`]
//! turns the folder into objects in the state store; [`run`] is the loop that drives the
//! reconcilers (`stash run`) through the [`queue`].
pub mod manifests;
pub mod queue;
pub mod run;
