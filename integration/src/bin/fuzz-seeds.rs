//! Write the fuzz targets' seed inputs from real repositories:
//!
//! ```text
//! fuzz-seeds OUT     OUT/<target>/seed-<repo>-<hash> for every target of stash::engine::fuzz
//! ```
//! Three repositories of the same small tree: restic 0.14 format 1, restic format 2, and
//! ours (format 2, compressed). Their config, keys, snapshots, index files (also rewritten in
//! the pre-2016 bare-array form), trees, pack headers and a few small blobs become inputs in
//! the form each target takes (see `stash::engine::fuzz`). Small files only, so the seeds can
//! be committed; `scripts/fuzz.sh` runs this before fuzzing.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::Digest;
use stash::engine::archiver::{fs::backup_paths, Progress};
use stash::engine::index::IndexFile;
use stash::engine::keyfile::KdfParams;
use stash::engine::pack::{self, BlobType};
use stash::engine::{Compression, FileType, RepoOptions, Repository};
use stash::storage::{create_location, open_location, Location};
use stash_integration::restic::{restic, restic_raw, PASSWORD};

/// Biggest seed written: libFuzzer works best on small inputs, and these are committed.
const MAX_SEED: usize = 16 << 10;
/// Seeds per target and repository.
const PER_REPO: usize = 4;

fn small_tree(root: &Path) {
    let w = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    w("hello.txt", b"hello world\n");
    w("empty", b"");
    w(
        "sub/data.sql",
        "INSERT INTO t VALUES (1, 'x');\n".repeat(40).as_bytes(),
    );
    w("sub/deeper/note.md", "naïve café\n".as_bytes());
    std::os::unix::fs::symlink("hello.txt", root.join("link")).unwrap();
}

struct Seeds {
    out: PathBuf,
    repo: &'static str,
    counts: std::collections::HashMap<&'static str, usize>,
}

impl Seeds {
    fn put(&mut self, target: &'static str, data: &[u8]) {
        let n = self.counts.entry(target).or_default();
        if data.len() > MAX_SEED || *n >= PER_REPO {
            return;
        }
        *n += 1;
        let dir = self.out.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let h = hex::encode(&sha2::Sha256::digest(data)[..6]);
        std::fs::write(dir.join(format!("seed-{}-{h}", self.repo)), data).unwrap();
    }
}

async fn harvest(path: &Path, repo_name: &'static str, out: &Path) {
    let backend = open_location(&Location::Local(path.to_path_buf())).unwrap();
    let repo = Repository::open(backend, PASSWORD, RepoOptions::default())
        .await
        .unwrap();
    repo.load_index().await.unwrap();
    let mut s = Seeds {
        out: out.to_path_buf(),
        repo: repo_name,
        counts: Default::default(),
    };
    let be = repo.backend().clone();
    let decrypt = |raw: &[u8]| repo.key().decrypt(raw).unwrap();

    let cfg = be.read(FileType::Config, "").await.unwrap();
    s.put("unpacked", &decrypt(&cfg));
    s.put(
        "config",
        &repo.load_unpacked(FileType::Config, "").await.unwrap(),
    );
    for k in be.list(FileType::Key).await.unwrap() {
        s.put("key", &be.read(FileType::Key, &k.name).await.unwrap());
    }
    for f in be.list(FileType::Snapshot).await.unwrap() {
        s.put(
            "unpacked",
            &decrypt(&be.read(FileType::Snapshot, &f.name).await.unwrap()),
        );
        s.put(
            "snapshot",
            &repo
                .load_unpacked(FileType::Snapshot, &f.name)
                .await
                .unwrap(),
        );
    }
    for f in be.list(FileType::Index).await.unwrap() {
        s.put(
            "unpacked",
            &decrypt(&be.read(FileType::Index, &f.name).await.unwrap()),
        );
        let json = repo.load_unpacked(FileType::Index, &f.name).await.unwrap();
        s.put("index", &json);
        let idx: IndexFile = serde_json::from_slice(&json).unwrap();
        s.put("index", &serde_json::to_vec(&idx.packs).unwrap());
    }
    let trees: Vec<_> = repo
        .index()
        .iter()
        .filter(|((t, _), _)| *t == BlobType::Tree)
        .map(|((_, id), _)| *id)
        .collect();
    for id in trees {
        s.put("tree", &repo.read_blob(BlobType::Tree, &id).await.unwrap());
    }
    for p in be.list(FileType::Pack).await.unwrap() {
        let id = p.name.parse().unwrap();
        let blobs = repo.read_pack_header(&id, p.size).await.unwrap();
        let blobs_len: u64 = blobs.iter().map(|b| u64::from(b.length)).sum();
        let mut input = blobs_len.to_le_bytes()[..5].to_vec();
        input.extend_from_slice(&pack::header_plaintext(&blobs));
        s.put("pack_header", &input);
        for b in blobs.iter().filter(|b| b.length < 4096) {
            let raw = be
                .read_range(FileType::Pack, &p.name, b.offset.into(), b.length.into())
                .await
                .unwrap();
            let mut input = vec![u8::from(b.uncompressed_length.is_some())];
            input.extend_from_slice(&b.uncompressed_length.unwrap_or(0).to_le_bytes());
            input.extend_from_slice(&b.id.0);
            input.extend_from_slice(&decrypt(&raw));
            s.put("blob", &input);
        }
    }
}

#[tokio::main]
async fn main() {
    let out = PathBuf::from(std::env::args().nth(1).expect("usage: fuzz-seeds OUT"));
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    small_tree(&src);
    let stdin = tmp.path().join("dump.sql");
    std::fs::write(&stdin, "SELECT 1;\n".repeat(100)).unwrap();
    for (name, version) in [("restic-v1", "1"), ("restic-v2", "2")] {
        let path = tmp.path().join(name);
        restic_raw(&path, &["init", "--repository-version", version], None);
        restic(&path, &["backup", "--host", "fuzz", src.to_str().unwrap()]);
        restic_raw(
            &path,
            &["backup", "--stdin", "--stdin-filename", "dumpfile.sql"],
            Some(&stdin),
        );
    }
    // Ours, with a key cheap enough for the fuzz target to open.
    let path = tmp.path().join("stash");
    let kdf = KdfParams {
        log_n: 10,
        r: 8,
        p: 1,
    };
    let opts = RepoOptions {
        compression: Compression::Auto,
        ..Default::default()
    };
    let b = create_location(&Location::Local(path.clone())).unwrap();
    let repo = Arc::new(Repository::init(b, PASSWORD, 2, kdf, opts).await.unwrap());
    backup_paths(
        repo,
        std::slice::from_ref(&src),
        &[],
        &Default::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    for (name, dir) in [
        ("restic-v1", "restic-v1"),
        ("restic-v2", "restic-v2"),
        ("stash", "stash"),
    ] {
        harvest(&tmp.path().join(dir), name, &out).await;
    }
    println!("seeds written to {}", out.display());
}
