//! Opening repositories through the library the way the CLI does, and looking at their files.
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
    init_with(path, version, opts(compression)).await
}

pub async fn init_with(path: &Path, version: u32, opts: RepoOptions) -> Arc<Repository> {
    let b = create_location(&Location::Local(path.to_path_buf())).unwrap();
    Arc::new(
        Repository::init(b, PASSWORD, version, FAST_KDF, opts)
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

/// The repository at `path` with packs of about `pack_size` bytes (big ones make successive
/// backups share packs, small ones spread one backup over many).
pub async fn open_with_pack_size(path: &Path, pack_size: usize) -> Arc<Repository> {
    let b = open_location(&Location::Local(path.to_path_buf())).unwrap();
    let opts = RepoOptions {
        pack_size,
        ..Default::default()
    };
    Arc::new(Repository::open(b, PASSWORD, opts).await.unwrap())
}

pub fn sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// Every file below `dir`, in no particular order.
pub fn files_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files_below(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Every file of the repository but its locks, with its bytes.
pub fn repo_files(root: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    files_below(root)
        .into_iter()
        .map(|p| (p.strip_prefix(root).unwrap().display().to_string(), p))
        .filter(|(name, _)| !name.starts_with("locks"))
        .map(|(name, p)| (name, std::fs::read(p).unwrap()))
        .collect()
}

/// The files (`data/xx/<id>`) of the packs that hold data blobs.
pub async fn data_packs(repo: &Arc<Repository>) -> Vec<String> {
    repo.load_index().await.unwrap();
    let packs: std::collections::BTreeSet<String> = repo
        .index()
        .iter()
        .filter(|((t, _), _)| *t == stash::engine::pack::BlobType::Data)
        .map(|(_, loc)| {
            let hex = loc.pack.to_hex();
            format!("data/{}/{hex}", &hex[..2])
        })
        .collect();
    packs.into_iter().collect()
}
