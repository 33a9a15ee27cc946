//! The real `restic` reads what we write, and we read what restic writes.
use std::path::Path;
use std::sync::Arc;

use stash::engine::archiver::{fs::backup_paths, stream::backup_stream, Progress, SnapshotOptions};
use stash::engine::check::check;
use stash::engine::restorer::{dump_content, find_node, restore, RestoreOptions};
use stash::engine::snapshot::{select, SnapshotFilter};
use stash::engine::Compression;
use stash_integration::data::{make_tree, SqlDump};
use stash_integration::restic::{json, restic, restic_raw, restic_stdout_hash};
use stash_integration::treehash::assert_same;

use super::common::{init, open};

async fn our_dir_backup_read_by_restic(compression: Compression) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, 7);
    let repo_path = tmp.path().join("repo");
    let repo = init(&repo_path, 2, compression).await;
    let opts = SnapshotOptions {
        tags: vec!["nightly".into()],
        ..Default::default()
    };
    let (snap, stats) = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &opts,
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert!(stats.packs_written >= 2, "data and tree packs: {stats:?}");

    restic(&repo_path, &["check", "--read-data"]);
    let list = json(&restic(&repo_path, &["snapshots", "--json"]));
    let arr = list.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["id"], snap.id.to_hex());
    assert_eq!(arr[0]["hostname"], "host-0");
    assert_eq!(arr[0]["paths"][0], src.to_str().unwrap());
    assert_eq!(arr[0]["tags"][0], "nightly");

    let out = tmp.path().join("restored");
    restic(
        &repo_path,
        &["restore", "latest", "--target", out.to_str().unwrap()],
    );
    assert_same(&src, &out.join(src.strip_prefix("/").unwrap()));

    let file = format!("{}/big/dump.sql", src.display());
    let (h, n) = restic_stdout_hash(&repo_path, &["dump", "latest", &file]);
    let want = std::fs::read(src.join("big/dump.sql")).unwrap();
    assert_eq!(n, want.len() as u64);
    assert_eq!(h, hex_sha(&want));

    // And our own restore gives the same tree.
    let ours = tmp.path().join("ours");
    restore(
        &repo,
        snap.snapshot.tree,
        &ours,
        &RestoreOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_same(&src, &ours.join(src.strip_prefix("/").unwrap()));
}

fn hex_sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[tokio::test(flavor = "multi_thread")]
async fn restic_reads_our_directory_backup_compressed() {
    our_dir_backup_read_by_restic(Compression::Auto).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn restic_reads_our_directory_backup_uncompressed() {
    our_dir_backup_read_by_restic(Compression::Off).await;
}

async fn our_stream_read_by_restic(compression: Compression, size: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let repo_path = tmp.path().join("repo");
    let repo = init(&repo_path, 2, compression).await;
    let mut src = SqlDump::new(42, size);
    let (snap, stats) = backup_stream(
        repo.clone(),
        &mut src,
        "dumpfile.sql",
        &SnapshotOptions::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    let want = src.digest();
    assert_eq!(stats.bytes_read, size);
    if compression == Compression::Off {
        assert!(stats.bytes_stored >= size, "uncompressed: {stats:?}");
    } else {
        assert!(
            stats.bytes_stored < size / 2,
            "SQL text should compress well: {stats:?}"
        );
    }
    restic(&repo_path, &["check", "--read-data"]);
    let list = json(&restic(&repo_path, &["snapshots", "--json"]));
    assert_eq!(list[0]["paths"][0], "/dumpfile.sql");
    assert_eq!(list[0]["hostname"], "host-0");
    assert_eq!(list[0]["id"], snap.id.to_hex());
    let (h, n) = restic_stdout_hash(&repo_path, &["dump", "latest", "/dumpfile.sql"]);
    assert_eq!((h.as_str(), n), (want.as_str(), size));
    // restic restore writes the same bytes as a file.
    let out = tmp.path().join("r");
    restic(
        &repo_path,
        &["restore", "latest", "--target", out.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::metadata(out.join("dumpfile.sql")).unwrap().len(),
        size
    );
    let (h2, _) = file_hash(&out.join("dumpfile.sql"));
    assert_eq!(h2, want);
    // Our own dump agrees.
    let repo = open(&repo_path).await;
    repo.load_index().await.unwrap();
    let node = find_node(&repo, &snap.snapshot.tree, "/dumpfile.sql")
        .await
        .unwrap();
    let mut sink = HashSink::default();
    dump_content(
        &repo,
        node.content.as_deref().unwrap(),
        &mut sink,
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_eq!(sink.finish(), want);
}

fn file_hash(p: &Path) -> (String, u64) {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(p).unwrap();
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0;
    loop {
        let k = f.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    (hex::encode(h.finalize()), n)
}

/// An AsyncWrite that only hashes.
#[derive(Default)]
pub struct HashSink(sha2::Sha256, u64);

impl HashSink {
    pub fn finish(self) -> String {
        use sha2::Digest;
        hex::encode(self.0.finalize())
    }
}

impl tokio::io::AsyncWrite for HashSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        b: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use sha2::Digest;
        self.0.update(b);
        self.1 += b.len() as u64;
        std::task::Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

const GIB: u64 = 1 << 30;

#[tokio::test(flavor = "multi_thread")]
async fn restic_reads_our_1gib_stream_compressed() {
    our_stream_read_by_restic(Compression::Auto, GIB).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn restic_reads_our_1gib_stream_uncompressed() {
    our_stream_read_by_restic(Compression::Off, GIB).await;
}

/// restic writes (format v1 or v2); we list, check, restore, dump, and back up into it
/// with deduplication against restic's chunks.
async fn we_read_restic(version: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, 11);
    let repo_path = tmp.path().join("repo");
    restic_raw(&repo_path, &["init", "--repository-version", version], None);
    restic(
        &repo_path,
        &["backup", "--host", "restic-host", src.to_str().unwrap()],
    );
    let dump = tmp.path().join("dump.sql");
    std::fs::write(&dump, SqlDump::to_vec(5, 20 << 20)).unwrap();
    restic_raw(
        &repo_path,
        &[
            "backup",
            "--stdin",
            "--stdin-filename",
            "dumpfile.sql",
            "--host",
            "host-0",
        ],
        Some(&dump),
    );

    let repo = open(&repo_path).await;
    assert_eq!(repo.config().version.to_string(), version);
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 2);
    let rep = check(&repo, true).await.unwrap();
    assert!(rep.ok(), "{:?}", rep.errors);
    assert!(rep.bytes_read > 0);

    // Restore the directory snapshot and compare with the source.
    let f = SnapshotFilter {
        hosts: vec!["restic-host".into()],
        ..Default::default()
    };
    let s = select(&snaps, "latest", &f).unwrap();
    let out = tmp.path().join("restored");
    restore(
        &repo,
        s.snapshot.tree,
        &out,
        &RestoreOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_same(&src, &out.join(src.strip_prefix("/").unwrap()));

    // Dump the stream snapshot.
    let f = SnapshotFilter {
        hosts: vec!["host-0".into()],
        ..Default::default()
    };
    let s = select(&snaps, "latest", &f).unwrap();
    let node = find_node(&repo, &s.snapshot.tree, "/dumpfile.sql")
        .await
        .unwrap();
    let mut sink = HashSink::default();
    dump_content(
        &repo,
        node.content.as_deref().unwrap(),
        &mut sink,
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_eq!(sink.finish(), file_hash(&dump).0);

    // Backing up the same data again deduplicates against restic's chunks.
    let (_, st) = backup_stream(
        repo.clone(),
        tokio::fs::File::open(&dump).await.unwrap(),
        "dumpfile.sql",
        &Default::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert_eq!(
        st.blobs_new, 0,
        "every chunk of the stream was already stored by restic: {st:?}"
    );
    let (_, st) = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &Default::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert_eq!(st.blobs_new, 0, "only trees are new: {st:?}");
    restic(&repo_path, &["check", "--read-data"]);
    let list = json(&restic(&repo_path, &["snapshots", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn we_read_and_extend_restic_v1_repository() {
    we_read_restic("1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn we_read_and_extend_restic_v2_repository() {
    we_read_restic("2").await;
}

/// Hard links come back as links and sparse files as sparse, from our restore and from
/// restic's restore of our snapshot; content, modes and times equal the source's.
#[tokio::test(flavor = "multi_thread")]
async fn hard_links_and_sparse_files_are_restored() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), SqlDump::to_vec(3, 40_000)).unwrap();
    std::fs::hard_link(src.join("a.txt"), src.join("sub/b.txt")).unwrap();
    std::fs::hard_link(src.join("a.txt"), src.join("c.txt")).unwrap();
    std::fs::write(src.join("single.txt"), b"one link").unwrap();
    // 6 MiB with 1 MiB of data at the end: the zeros before it are a hole.
    let sparse = src.join("sparse.bin");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(&sparse).unwrap();
        f.seek(SeekFrom::Start(5 << 20)).unwrap();
        f.write_all(&SqlDump::to_vec(4, 1 << 20)).unwrap();
    }
    // And one ending in a hole.
    std::fs::File::create(src.join("tail-hole.bin"))
        .unwrap()
        .set_len(3 << 20)
        .unwrap();
    let repo_path = tmp.path().join("repo");
    let repo = init(&repo_path, 2, Compression::Auto).await;
    let (snap, _) = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &SnapshotOptions::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    restic(&repo_path, &["check", "--read-data"]);

    let ours = tmp.path().join("ours");
    restore(
        &repo,
        snap.snapshot.tree,
        &ours,
        &RestoreOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    let theirs = tmp.path().join("theirs");
    restic(
        &repo_path,
        &["restore", "latest", "--target", theirs.to_str().unwrap()],
    );
    let rel = src.strip_prefix("/").unwrap();
    for out in [ours.join(rel), theirs.join(rel)] {
        assert_same(&src, &out);
        let ino = |p: &str| std::fs::metadata(out.join(p)).unwrap().ino();
        assert_eq!(
            ino("a.txt"),
            ino("sub/b.txt"),
            "{}: not linked",
            out.display()
        );
        assert_eq!(ino("a.txt"), ino("c.txt"), "{}: not linked", out.display());
        assert_eq!(std::fs::metadata(out.join("a.txt")).unwrap().nlink(), 3);
        assert_eq!(
            std::fs::metadata(out.join("single.txt")).unwrap().nlink(),
            1
        );
    }
    // Ours keeps the holes (restic 0.14 writes the zeros unless given --sparse).
    for (name, data) in [("sparse.bin", 1u64 << 20), ("tail-hole.bin", 0)] {
        let md = std::fs::metadata(ours.join(rel).join(name)).unwrap();
        let on_disk = md.blocks() * 512;
        assert!(
            on_disk <= data + (512 << 10),
            "{name}: {on_disk} bytes on disk for {data} bytes of data ({} long)",
            md.len()
        );
    }
}

/// A file of many runs of blobs, written at offsets as each run is decoded, comes back equal
/// and keeps its holes, the one in the middle and the one at its end.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_sparse_file_comes_back_equal_and_sparse() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    // 6 MiB of data, an 8 MiB hole, 6 MiB of data, a 4 MiB hole: incompressible data, so
    // the file is several runs of at most 4 MiB read.
    let mut rng = stash_integration::data::Rng::new(21);
    let (a, b) = (rng.bytes(6 << 20), rng.bytes(6 << 20));
    let mut want = a.clone();
    want.resize(14 << 20, 0);
    want.extend_from_slice(&b);
    want.resize(24 << 20, 0);
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(src.join("big.bin")).unwrap();
        f.write_all(&a).unwrap();
        f.seek(SeekFrom::Start(14 << 20)).unwrap();
        f.write_all(&b).unwrap();
        f.set_len(24 << 20).unwrap();
    }
    let repo = init(&tmp.path().join("repo"), 2, Compression::Auto).await;
    let (snap, _) = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &SnapshotOptions::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    let out = tmp.path().join("out");
    restore(
        &repo,
        snap.snapshot.tree,
        &out,
        &RestoreOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    let got = out.join(src.strip_prefix("/").unwrap()).join("big.bin");
    assert!(
        std::fs::read(&got).unwrap() == want,
        "restored content differs"
    );
    // The data, and at most a chunk's minimum (512 KiB) of zeros beside each edge of data.
    let on_disk = std::fs::metadata(&got).unwrap().blocks() * 512;
    assert!(
        on_disk <= (12 << 20) + (2 << 20),
        "{on_disk} bytes on disk for 12 MiB of data"
    );
}

/// A backup of more new blobs than one index file lists writes full index files as its packs
/// are stored, not one list of everything at the end (which held every new blob in memory
/// twice), and restic reads them all.
#[tokio::test(flavor = "multi_thread")]
async fn a_backup_of_many_blobs_writes_several_index_files() {
    use stash::engine::repo::INDEX_BLOBS_PER_FILE;
    use stash::engine::RepoOptions;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let files = INDEX_BLOBS_PER_FILE + 3_000;
    for i in 0..files {
        let dir = src.join(format!("d{:03}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&dir).unwrap();
        }
        std::fs::write(dir.join(format!("f{i:06}")), format!("file number {i}\n")).unwrap();
    }
    let repo_path = tmp.path().join("repo");
    // Small packs, so that index files fill up pack by pack while the backup runs.
    let opts = RepoOptions {
        pack_size: 64 << 10,
        ..super::common::opts(Compression::Auto)
    };
    let repo = super::common::init_with(&repo_path, 2, opts).await;
    let (_, stats) = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &SnapshotOptions::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    let mtimes = |dir: &str| -> Vec<std::time::SystemTime> {
        super::common::files_below(&repo_path.join(dir))
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
            .collect()
    };
    let (index, data) = (mtimes("index"), mtimes("data"));
    assert!(stats.index_files_written >= 2, "{stats:?}");
    assert_eq!(index.len(), stats.index_files_written, "{stats:?}");
    assert!(
        index.iter().min() < data.iter().max(),
        "an index file was written before the backup's last pack"
    );
    restic(&repo_path, &["check"]);
    let blobs = restic(&repo_path, &["list", "blobs"]);
    let data = String::from_utf8_lossy(&blobs.stdout)
        .lines()
        .filter(|l| l.starts_with("data "))
        .count();
    assert_eq!(data, files, "every file's blob is indexed once");
}
