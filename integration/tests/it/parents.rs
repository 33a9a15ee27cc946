//! Parent snapshots: a backup reads only what changed, and what it writes is what restic
//! expects of a snapshot made with a parent (`check --read-data`, `restore`).
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use stash::engine::archiver::{
    fs::backup_paths, BackupStats, ChangeDetection, ParentChoice, Progress, SnapshotOptions,
};
use stash::engine::pack::BlobType;
use stash::engine::restorer::{dump_content, find_node, restore, RestoreOptions};
use stash::engine::snapshot::SnapshotEntry;
use stash::engine::{Compression, Id, Repository};
use stash_integration::data::{make_tree, Rng};
use stash_integration::restic::{json, restic};
use stash_integration::treehash::assert_same;

use super::common::init;

async fn backup(
    repo: &Arc<Repository>,
    src: &Path,
    opts: &SnapshotOptions,
) -> (SnapshotEntry, BackupStats) {
    backup_paths(
        repo.clone(),
        &[src.to_path_buf()],
        &[],
        opts,
        Arc::new(Progress::default()),
    )
    .await
    .unwrap()
}

/// Regular files below `dir` and their total size.
fn files_and_bytes(dir: &Path) -> (u64, u64) {
    let (mut n, mut bytes) = (0, 0);
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let md = std::fs::symlink_metadata(e.path()).unwrap();
        if md.is_dir() {
            let (a, b) = files_and_bytes(&e.path());
            n += a;
            bytes += b;
        } else if md.is_file() {
            n += 1;
            bytes += md.len();
        }
    }
    (n, bytes)
}

/// Set a file's mtime a given number of seconds after its current one, so that a rewrite
/// within one clock tick still counts as a change.
fn bump_mtime(p: &Path, secs: i64) {
    let md = std::fs::metadata(p).unwrap();
    let t = filetime::FileTime::from_last_modification_time(&md);
    let t = filetime::FileTime::from_unix_time(t.unix_seconds() + secs, t.nanoseconds());
    filetime::set_file_mtime(p, t).unwrap();
}

async fn subtree(repo: &Repository, snap: &SnapshotEntry, dir: &Path) -> Option<Id> {
    find_node(repo, &snap.snapshot.tree, dir.to_str().unwrap())
        .await
        .unwrap()
        .subtree
}

fn restic_restores_the_same_tree(repo_path: &Path, snap: &SnapshotEntry, src: &Path, out: &Path) {
    restic(repo_path, &["check", "--read-data"]);
    restic(
        repo_path,
        &[
            "restore",
            &snap.id.to_hex(),
            "--target",
            out.to_str().unwrap(),
        ],
    );
    assert_same(src, &out.join(src.strip_prefix("/").unwrap()));
}

#[tokio::test(flavor = "multi_thread")]
async fn parent_backup_reads_only_changed_files() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, 11);
    let repo_path = tmp.path().join("repo");
    let repo = init(&repo_path, 2, Compression::Auto).await;
    let (files, bytes) = files_and_bytes(&src);

    let (first, st) = backup(&repo, &src, &SnapshotOptions::default()).await;
    assert_eq!(first.snapshot.parent, None);
    assert_eq!(st.bytes_read, bytes, "{st:?}");
    assert_eq!(st.bytes_processed, bytes);
    assert_eq!((st.files.new, st.files.total()), (files, files), "{st:?}");
    assert_eq!(st.dirs.changed + st.dirs.unmodified, 0, "{st:?}");

    // Change two files (one grows, one is rewritten at the same size), add one, remove one.
    let grown = src.join("many/d1/f1.dat");
    let mut data = std::fs::read(&grown).unwrap();
    data.extend_from_slice(b"appended");
    std::fs::write(&grown, &data).unwrap();
    let rewritten = src.join("big/dump.sql");
    let len = std::fs::metadata(&rewritten).unwrap().len() as usize;
    std::fs::write(&rewritten, Rng::new(99).bytes(len)).unwrap();
    bump_mtime(&rewritten, 1);
    std::fs::write(src.join("many/d2/new.txt"), b"a new file\n").unwrap();
    let removed = src.join("many/d3/f3.dat");
    let removed_len = std::fs::metadata(&removed).unwrap().len();
    std::fs::remove_file(&removed).unwrap();

    let (second, st) = backup(&repo, &src, &SnapshotOptions::default()).await;
    assert_eq!(second.snapshot.parent, Some(first.id));
    let read = data.len() as u64 + len as u64 + 11;
    assert_eq!(
        st.bytes_read, read,
        "only the changed files are read: {st:?}"
    );
    assert_eq!(st.bytes_processed, bytes - removed_len + 8 + 11);
    assert_eq!(
        (st.files.new, st.files.changed, st.files.unmodified),
        (1, 2, files - 3),
        "{st:?}"
    );
    assert!(st.warnings.is_empty(), "{:?}", st.warnings);
    let list = json(&restic(&repo_path, &["snapshots", "--json"]));
    assert_eq!(list[1]["parent"], first.id.to_hex());

    // Nothing changed: nothing is read, and src's trees are the same blobs again. The folders
    // above src (/tmp) change as other tests run.
    let (third, st) = backup(&repo, &src, &SnapshotOptions::default()).await;
    assert_eq!(third.snapshot.parent, Some(second.id));
    assert_eq!((st.bytes_read, st.blobs_new), (0, 0), "{st:?}");
    assert_eq!(st.files.unmodified, files, "{st:?}");
    assert_eq!(
        subtree(&repo, &third, &src).await,
        subtree(&repo, &second, &src).await
    );
    assert_eq!(st.dirs.new, 0, "{st:?}");
    assert!(st.dirs.changed <= 2, "only the folders above src: {st:?}");
    restic_restores_the_same_tree(&repo_path, &second, &src, &tmp.path().join("r2"));
    restic_restores_the_same_tree(&repo_path, &third, &src, &tmp.path().join("r3"));

    // Our own restore agrees.
    let ours = tmp.path().join("ours");
    restore(
        &repo,
        third.snapshot.tree,
        &ours,
        &RestoreOptions::default(),
        &Progress::default(),
    )
    .await
    .unwrap();
    assert_same(&src, &ours.join(src.strip_prefix("/").unwrap()));
}

#[tokio::test(flavor = "multi_thread")]
async fn force_and_explicit_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, 12);
    let repo_path = tmp.path().join("repo");
    let repo = init(&repo_path, 2, Compression::Auto).await;
    let (files, bytes) = files_and_bytes(&src);
    let (first, _) = backup(&repo, &src, &SnapshotOptions::default()).await;

    let force = SnapshotOptions {
        parent: ParentChoice::None,
        ..Default::default()
    };
    let (forced, st) = backup(&repo, &src, &force).await;
    assert_eq!(forced.snapshot.parent, None);
    assert_eq!(st.bytes_read, bytes, "--force reads every file: {st:?}");
    assert_eq!(st.files.new, files);
    assert_eq!(st.blobs_new, 0, "but stores no data twice: {st:?}");

    let given = SnapshotOptions {
        parent: ParentChoice::Snapshot(first.id.to_hex()[..8].to_string()),
        ..Default::default()
    };
    let (third, st) = backup(&repo, &src, &given).await;
    assert_eq!(third.snapshot.parent, Some(first.id));
    assert_eq!(st.bytes_read, 0, "{st:?}");

    let missing = SnapshotOptions {
        parent: ParentChoice::Snapshot("0123456789ab".into()),
        ..Default::default()
    };
    let err = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &missing,
        Arc::new(Progress::default()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "choosing the parent snapshot: no snapshot matched \"0123456789ab\""
    );
    // A backup of other paths does not take this one as its parent.
    let (other, _) = backup(&repo, &src.join("many"), &SnapshotOptions::default()).await;
    assert_eq!(other.snapshot.parent, None);
    restic(&repo_path, &["check", "--read-data"]);
}

/// Replace `src` with a copy that keeps mtimes (new inodes, new ctimes), as a restore or an
/// rsync onto a fresh volume would.
fn copy_keeping_mtimes(src: &Path, tmp: &Path) {
    let copy = tmp.join("copy");
    let st = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_dir_all(src).unwrap();
    std::fs::rename(&copy, src).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn ignore_inode_and_ignore_ctime() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, 13);
    let repo_path = tmp.path().join("repo");
    let repo = init(&repo_path, 2, Compression::Auto).await;
    let (_, bytes) = files_and_bytes(&src);
    let (first, _) = backup(&repo, &src, &SnapshotOptions::default()).await;

    // A chmod and back moves only the ctime: read again unless ctimes are ignored.
    let f = src.join("small.txt");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let against_first = |change: ChangeDetection| SnapshotOptions {
        parent: ParentChoice::Snapshot(first.id.to_hex()),
        change,
        ..Default::default()
    };
    let ctime_only = ChangeDetection {
        ignore_ctime: true,
        ..Default::default()
    };
    let (_, st) = backup(&repo, &src, &against_first(ChangeDetection::default())).await;
    assert_eq!(st.bytes_read, 12, "small.txt is read again: {st:?}");
    let (_, st) = backup(&repo, &src, &against_first(ctime_only)).await;
    assert_eq!(st.bytes_read, 0, "--ignore-ctime: {st:?}");

    // A copy keeping mtimes has new inodes and ctimes: only both flags together skip it.
    copy_keeping_mtimes(&src, tmp.path());
    let inode_only = ChangeDetection {
        ignore_inode: true,
        ..Default::default()
    };
    let both = ChangeDetection {
        ignore_inode: true,
        ignore_ctime: true,
    };
    for (flags, want) in [
        (ChangeDetection::default(), bytes),
        (inode_only, bytes),
        (ctime_only, bytes),
        (both, 0),
    ] {
        let (snap, st) = backup(&repo, &src, &against_first(flags)).await;
        assert_eq!(st.bytes_read, want, "{flags:?}: {st:?}");
        assert_eq!(st.files.new, 0, "{flags:?}: {st:?}");
        let out = tmp.path().join(format!("r-{}", snap.id.short()));
        restic_restores_the_same_tree(&repo_path, &snap, &src, &out);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn parent_blob_missing_from_the_index_is_read_again() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, 14);
    let repo_path = tmp.path().join("repo");
    let repo = init(&repo_path, 2, Compression::Auto).await;
    let (_, bytes) = files_and_bytes(&src);
    let (first, _) = backup(&repo, &src, &SnapshotOptions::default()).await;

    // Lose every data pack and let restic rebuild the index: the trees stay, their
    // content blobs are gone from the index.
    let mut data_packs: Vec<PathBuf> = Vec::new();
    for p in walk_files(&repo_path.join("data")) {
        let id = name_of(&p).parse().unwrap();
        let size = std::fs::metadata(&p).unwrap().len();
        let blobs = repo.read_pack_header(&id, size).await.unwrap();
        if blobs.iter().all(|b| b.blob_type == BlobType::Data) {
            data_packs.push(p);
        }
    }
    assert!(!data_packs.is_empty());
    for p in &data_packs {
        std::fs::remove_file(p).unwrap();
    }
    restic(&repo_path, &["rebuild-index"]);

    let repo = super::common::open(&repo_path).await;
    let (second, st) = backup(&repo, &src, &SnapshotOptions::default()).await;
    assert_eq!(second.snapshot.parent, Some(first.id));
    assert_eq!(
        st.bytes_read, bytes,
        "every content blob was missing: {st:?}"
    );
    let (files, _) = files_and_bytes(&src);
    // Read again, they are the same as before.
    assert_eq!(st.files.unmodified, files, "{st:?}");
    restic(&repo_path, &["forget", &first.id.to_hex(), "--prune"]);
    restic_restores_the_same_tree(&repo_path, &second, &src, &tmp.path().join("r"));
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn name_of(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}

/// The node a snapshot holds for `path`, and its content as stored.
async fn stored(repo: &Arc<Repository>, snap: &SnapshotEntry, path: &Path) -> (u64, Vec<u8>) {
    repo.load_index().await.unwrap();
    let node = find_node(repo, &snap.snapshot.tree, path.to_str().unwrap())
        .await
        .unwrap();
    let mut out = Vec::new();
    dump_content(
        repo,
        node.content.as_deref().unwrap(),
        &mut out,
        &Progress::default(),
    )
    .await
    .unwrap();
    (node.size, out)
}

#[tokio::test(flavor = "multi_thread")]
async fn file_whose_size_is_not_its_length_is_stored_as_read() {
    // procfs files say they are empty and then give text: the metadata read before the file
    // and the bytes read disagree, as for a file that grows during the backup.
    let tmp = tempfile::tempdir().unwrap();
    let repo_path = tmp.path().join("repo");
    let repo = init(&repo_path, 2, Compression::Auto).await;
    let file = PathBuf::from("/proc/version");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 0);
    let (snap, st) = backup(&repo, &file, &SnapshotOptions::default()).await;
    let want = std::fs::read(&file).unwrap();
    let (size, content) = stored(&repo, &snap, &file).await;
    assert_eq!(size, want.len() as u64, "the node records the bytes read");
    assert_eq!(content, want);
    assert_eq!(st.warnings.len(), 1, "{st:?}");
    assert!(
        st.warnings[0].starts_with("/proc/version changed while it was read (0 bytes before"),
        "{:?}",
        st.warnings
    );
    restic(&repo_path, &["check", "--read-data"]);
    let dumped = restic(&repo_path, &["dump", "latest", "/proc/version"]).stdout;
    assert_eq!(dumped, want);
}

#[tokio::test(flavor = "multi_thread")]
async fn file_growing_during_the_backup_is_stored_consistently() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let grows = src.join("log");
    let start = Rng::new(5).bytes(4 << 20);
    std::fs::write(&grows, &start).unwrap();
    let repo_path = tmp.path().join("repo");
    let repo = init(&repo_path, 2, Compression::Auto).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, grows) = (stop.clone(), grows.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&grows)
                .unwrap();
            let mut rng = Rng::new(6);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                f.write_all(&rng.bytes(64 << 10)).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    let (snap, st) = backup(&repo, &src, &SnapshotOptions::default()).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();

    let (size, content) = stored(&repo, &snap, &grows).await;
    assert_eq!(size, content.len() as u64, "node size = stored bytes");
    let now = std::fs::read(&grows).unwrap();
    assert!(content.len() >= start.len() && now.starts_with(&content));
    if size != start.len() as u64 {
        assert_eq!(st.warnings.len(), 1, "a change is reported: {st:?}");
    }
    restic(&repo_path, &["check", "--read-data"]);
    let dumped = restic(&repo_path, &["dump", "latest", grows.to_str().unwrap()]).stdout;
    assert!(dumped == content, "restic reads the same bytes");
}
