//! Opening repositories through the library the way the CLI does.
use std::path::Path;
use std::sync::Arc;

use stash::engine::keyfile::KdfParams;
use stash::engine::{Compression, RepoOptions, Repository};
use stash::storage::{create_location, open_location, Location};
use stash_integration::restic::PASSWORD;

/// Cheap scrypt for tests (the format is the same; only the cost differs).
pub const FAST_KDF: KdfParams = KdfParams {
    log_n: 10,
    r: 8,
    p: 1,
};

pub fn opts(compression: Compression) -> RepoOptions {
    RepoOptions {
        compression,
        ..Default::default()
    }
}

pub async fn init(path: &Path, version: u32, compression: Compression) -> Arc<Repository> {
    let b = create_location(&Location::Local(path.to_path_buf())).unwrap();
    Arc::new(
        Repository::init(b, PASSWORD, version, FAST_KDF, opts(compression))
            .await
            .unwrap(),
    )
}

pub async fn open(path: &Path) -> Arc<Repository> {
    open_with(path, PASSWORD).await.unwrap()
}

pub async fn open_with(
    path: &Path,
    password: &str,
) -> Result<Arc<Repository>, stash::engine::RepoError> {
    let b = open_location(&Location::Local(path.to_path_buf())).unwrap();
    Ok(Arc::new(
        Repository::open(b, password, opts(Compression::Auto)).await?,
    ))
}
