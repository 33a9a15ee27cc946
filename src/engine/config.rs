//! The repository `config` file: format version, repository id, chunker polynomial.
use serde::{Deserialize, Serialize};

use super::chunker::Pol;
use super::id::Id;

/// The newest repository format we write; we read 1 and 2.
pub const LATEST_VERSION: u32 = 2;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Config {
    pub version: u32,
    pub id: String,
    pub chunker_polynomial: String,
}

impl Config {
    pub fn new(version: u32) -> Config {
        Config {
            version,
            id: Id::random().to_hex(),
            chunker_polynomial: Pol::random().to_hex(),
        }
    }

    pub fn polynomial(&self) -> Option<Pol> {
        Pol::from_hex(&self.chunker_polynomial).ok()
    }
}
