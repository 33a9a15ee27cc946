//! The repository engine, on restic's repository format (version 2; reads version 1).
//!
//! Format modules (`id`, `crypto`, `keyfile`, `config`, `unpacked`, `pack`, `index`, `tree`,
//! `snapshot`, `chunker`) are pure; `repo` joins them with a [`backend::Backend`]; the
//! operations (`archiver`, `restorer`, `lock`, `forget`, `prune`, `check`, `repair`, `stats`) use `repo`;
//! `pathmap` says where the paths a snapshot records are on this machine.
pub mod aligned;
pub mod archiver;
pub mod backend;
pub mod bufpool;
pub mod check;
pub mod chunker;
pub mod config;
pub mod crypto;
pub mod decompress;
pub mod forget;
pub mod fuzz;
pub mod gotime;
pub mod id;
pub mod index;
pub mod keyfile;
pub mod keys;
pub mod lock;
pub mod pack;
pub mod pathmap;
pub mod prune;
pub mod repair;
pub mod repo;
pub mod restorer;
pub mod retention;
pub mod snapshot;
pub mod stats;
pub mod sys;
pub mod tree;
pub mod unpacked;
pub mod walk;
pub mod writeback;

pub use backend::{Backend, FileType};
pub use id::Id;
pub use repo::{Compression, RepoError, RepoOptions, Repository};
