//! End-to-end tests. Each module talks to real things: the `restic` binary, the local
//! filesystem, and (in later modules) database and object-storage servers started by
//! `integration/scripts/`.
mod addons_mongodb;
mod addons_mysql;
mod addons_postgres;
mod addons_redis;
mod addons_support;
mod addons_tls;
mod addons_volume;
mod common;
mod faults;
mod interop;
mod locks;
mod maintenance;
mod old_formats;
mod parents;
mod repair;
mod retention;
mod storage;
