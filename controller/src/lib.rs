//! The `stash` binary's library: the restic-like CLI, the catalog's step commands, and the
//! controller that turns Stash's objects into backups.
//!
//! Seams, and which way dependencies point:
//! - [`store`]: where objects, status and events live ([`store::ObjectStore`]). An in-memory
//!   store for tests, SQLite under a state folder for local mode, the Kubernetes API later.
//! - [`runner`]: how a Task's steps run ([`runner::StepRunner`]): child processes of this
//!   binary in local mode, Jobs in a cluster, a scripted fake in tests.
//! - [`clock`]: now, for schedules and deadlines; a manual clock in tests.
//!
//! The reconcilers ([`reconcile`]) take a [`context::Ctx`] holding those three and never name
//! Kubernetes or SQLite. [`local`] is `stash run`: manifests in, reconcilers driven by a work
//! queue; [`volumes`] finds a target's folders on this machine for its jobs; [`snapshots`]
//! shows the repositories' restic snapshots as Snapshot objects (`stash get snapshots`,
//! `stash delete snapshot`). [`hooks`] runs the users' backup and restore hooks (for the step
//! commands in [`steps`]). [`cli`] is clap only.
//! The root `stash` crate (API types, engine, storage) knows none of this.
pub mod cli;
pub mod clock;
pub mod context;
pub mod error;
pub mod hooks;
pub mod invoker;
pub mod local;
pub mod metrics;
pub mod next;
pub mod reconcile;
pub mod runner;
pub mod schedule;
pub mod snapshots;
pub mod steps;
pub mod store;
pub mod targets;
pub mod volumes;
