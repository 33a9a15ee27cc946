//! Forms of a repository that restic 0.14 still reads and so must we: index files in the
//! pre-2016 form (a bare JSON array of packs), and restic's old S3 layout ("s3legacy": `key/`,
//! `snapshot/`, `lock/`, packs straight in `data/`). Both are made from a real restic
//! repository, and restic itself reads each copy too, so the copy is what restic means.
//! Also here: `stats` counts as restic's does.
use std::path::Path;
use std::sync::Arc;

use stash::engine::archiver::{fs::backup_paths, Progress};
use stash::engine::check::check;
use stash::engine::index::IndexFile;
use stash::engine::restorer::{restore, RestoreOptions};
use stash::engine::snapshot::{select, SnapshotFilter};
use stash::engine::stats::stats;
use stash::engine::{FileType, Repository};
use stash_integration::data::make_tree;
use stash_integration::restic::{json, restic, restic_raw};
use stash_integration::treehash::assert_same;

use super::common::open;

/// A restic repository of format `version` with one backup of a fresh tree; returns the
/// tree's path.
fn restic_repo(tmp: &Path, version: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let src = tmp.join("src");
    make_tree(&src, 23);
    let repo = tmp.join("repo");
    restic_raw(&repo, &["init", "--repository-version", version], None);
    restic(&repo, &["backup", "--host", "old", src.to_str().unwrap()]);
    (src, repo)
}

/// Our check passes, and our restore of the latest snapshot equals `src`.
async fn reads_and_restores(repo: &Arc<Repository>, src: &Path, out: &Path) {
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 1);
    let rep = check(repo, true).await.unwrap();
    assert!(rep.ok(), "{:?}", rep.errors);
    assert!(rep.bytes_read > 0);
    let s = select(&snaps, "latest", &SnapshotFilter::default()).unwrap();
    restore(
        repo,
        s.snapshot.tree,
        out,
        &RestoreOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_same(src, &out.join(src.strip_prefix("/").unwrap()));
}

async fn old_index_format(version: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (src, path) = restic_repo(tmp.path(), version);
    // Rewrite every index file as a bare array of its packs, with the engine's own writer
    // (encrypted, and compressed in format 2, as restic would have stored it).
    let repo = open(&path).await;
    let names = repo.backend().list(FileType::Index).await.unwrap();
    assert!(!names.is_empty());
    for f in &names {
        let idx: IndexFile = repo.load_json(FileType::Index, &f.name).await.unwrap();
        let raw = repo.load_unpacked(FileType::Index, &f.name).await.unwrap();
        assert_eq!(raw.first(), Some(&b'{'));
        repo.save_json(FileType::Index, &idx.packs).await.unwrap();
        repo.backend()
            .remove(FileType::Index, &f.name)
            .await
            .unwrap();
    }
    for f in repo.backend().list(FileType::Index).await.unwrap() {
        let raw = repo.load_unpacked(FileType::Index, &f.name).await.unwrap();
        assert_eq!(raw.first(), Some(&b'['), "the index is in the old form now");
    }
    // restic reads the copy (so it is the old format restic means) ...
    let ls = restic(&path, &["ls", "latest"]);
    assert!(String::from_utf8_lossy(&ls.stdout).contains("dump.sql"));
    // ... and so do we, from a fresh open.
    let repo = open(&path).await;
    repo.load_index().await.unwrap();
    assert!(repo.index().blob_count() > 0);
    reads_and_restores(&repo, &src, &tmp.path().join("restored")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn we_read_pre_2016_index_files_in_a_v1_repository() {
    old_index_format("1").await;
}

// Not in format 2: the old form has no uncompressed_length, so it cannot describe compressed
// blobs (restic itself then fails with "invalid hash"); such index files exist only in v1.

/// Move a repository in restic's default layout into the s3legacy one.
fn to_s3legacy(repo: &Path) {
    for (from, to) in [
        ("keys", "key"),
        ("snapshots", "snapshot"),
        ("locks", "lock"),
    ] {
        std::fs::rename(repo.join(from), repo.join(to)).unwrap();
    }
    let data = repo.join("data");
    for sub in std::fs::read_dir(&data).unwrap() {
        let sub = sub.unwrap().path();
        for f in std::fs::read_dir(&sub).unwrap() {
            let f = f.unwrap().path();
            std::fs::rename(&f, data.join(f.file_name().unwrap())).unwrap();
        }
        std::fs::remove_dir(&sub).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn we_read_and_extend_an_s3legacy_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, path) = restic_repo(tmp.path(), "2");
    to_s3legacy(&path);
    assert!(!path.join("keys").exists() && path.join("key").is_dir());
    // restic detects the layout of the moved copy and reads it whole.
    restic(&path, &["check", "--read-data"]);
    let repo = open(&path).await;
    reads_and_restores(&repo, &src, &tmp.path().join("restored")).await;

    // A backup into it keeps the layout: restic reads the new snapshot, packs stay flat.
    let (snap, _) = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &Default::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert!(path.join("snapshot").join(snap.id.to_hex()).is_file());
    assert!(!path.join("keys").exists() && !path.join("snapshots").exists());
    for e in std::fs::read_dir(path.join("data")).unwrap() {
        assert!(e.unwrap().path().is_file(), "no subfolders in data/");
    }
    restic(&path, &["check", "--read-data"]);
    let list = json(&restic(&path, &["snapshots", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 2);
}

/// restic's `stats` (restore-size mode) and ours agree on every snapshot and on all of them:
/// a tree with folders, symlinks, an empty file and a hard link, backed up by restic and by
/// us into one repository.
#[tokio::test(flavor = "multi_thread")]
async fn stats_count_files_and_sizes_as_restic_does() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, path) = restic_repo(tmp.path(), "2");
    std::fs::hard_link(src.join("small.txt"), src.join("hard-link-to-small")).unwrap();
    restic(&path, &["backup", "--host", "old", src.to_str().unwrap()]);
    let repo = open(&path).await;
    backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &Default::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 3);
    let theirs = |args: &[&str]| {
        let mut a = vec!["stats", "--json"];
        a.extend_from_slice(args);
        let v = json(&restic(&path, &a));
        (
            v["total_file_count"].as_u64().unwrap(),
            v["total_size"].as_u64().unwrap(),
        )
    };
    let all = stats(&repo, &snaps).await.unwrap();
    assert_eq!((all.total_file_count, all.total_size), theirs(&[]));
    for s in &snaps {
        let one = stats(&repo, std::slice::from_ref(s)).await.unwrap();
        let want = theirs(&[&s.id.to_hex()]);
        assert_eq!((one.total_file_count, one.total_size), want, "{}", s.id);
        // Folders count: more nodes than regular files.
        assert!(one.total_file_count > 50, "{one:?}");
    }
}
