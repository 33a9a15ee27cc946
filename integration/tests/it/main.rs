//! End-to-end tests. Each module talks to real things: the `restic` binary, the local
//! filesystem, and (in later modules) database and object-storage servers started by
//! `integration/scripts/`.
mod common;
mod faults;
mod interop;
mod locks;
mod maintenance;
mod retention;
mod storage;
