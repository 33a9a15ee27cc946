//! Bad input gets a clear error and changes nothing.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use stash::engine::archiver::{stream::backup_stream, Progress, SnapshotOptions};
use stash::engine::check::check;
use stash::engine::restorer::{dump_content, dump_content_to_file, find_node};
use stash::engine::{Compression, Id, RepoError, Repository};
use stash::storage::{create_location, open_location, Location};
use stash_integration::data::{Rng, SqlDump};
use stash_integration::restic::{restic, restic_raw, PASSWORD};

use super::common::{init, open, open_with, FAST_KDF};

/// Every file below `root` with its size and modification time.
fn listing(root: &Path) -> BTreeMap<String, (u64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().display().to_string(),
                    (md.len(), md.mtime_nsec()),
                );
            }
        }
    }
    out
}

async fn repo_with_stream(dir: &Path, size: u64) -> Arc<Repository> {
    let repo = init(dir, 2, Compression::Auto).await;
    backup_stream(
        repo.clone(),
        SqlDump::new(3, size),
        "dumpfile.sql",
        &SnapshotOptions::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    repo
}

fn packs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = listing(&dir.join("data"))
        .keys()
        .map(|k| dir.join("data").join(k))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(std::fs::metadata(p).unwrap().len()));
    v
}

/// The content list of the latest snapshot's /dumpfile.sql, the index loaded.
async fn latest_dump_content(repo: &Arc<Repository>) -> Result<Vec<Id>, RepoError> {
    repo.load_index().await?;
    let snaps = repo.snapshots().await?;
    let s = snaps.last().unwrap();
    let node = find_node(repo, &s.snapshot.tree, "/dumpfile.sql").await?;
    Ok(node.content.unwrap())
}

async fn dump_latest(repo: &Arc<Repository>) -> Result<u64, RepoError> {
    let content = latest_dump_content(repo).await?;
    dump_content(repo, &content, &mut tokio::io::sink(), &Progress::default()).await
}

async fn dump_latest_to_file(
    repo: &Arc<Repository>,
    out: &std::fs::File,
) -> Result<u64, RepoError> {
    let content = latest_dump_content(repo).await?;
    dump_content_to_file(repo, &content, out, &Progress::default()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_is_named_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    repo_with_stream(tmp.path(), 1 << 20).await;
    let before = listing(tmp.path());
    let err = open_with(tmp.path(), "not the password").await.unwrap_err();
    assert!(matches!(err, RepoError::WrongPassword { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "wrong password: no key file of local:{} could be opened with it",
            tmp.path().display()
        )
    );
    assert!(!err.to_string().contains("not the password"));
    assert_eq!(listing(tmp.path()), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_that_is_not_a_repository() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "x").unwrap();
    let err = open_with(tmp.path(), PASSWORD).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "local:{} is not a repository: it has no config file (create one with `stash init`)",
            tmp.path().display()
        )
    );
    let missing = tmp.path().join("nope");
    let err = open_location(&Location::Local(missing.clone()))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "local:{} does not exist: it is not a repository (create one with `stash init`)",
            missing.display()
        )
    );
    assert!(!missing.exists(), "opening must not create anything");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_twice_refuses_and_keeps_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    repo_with_stream(tmp.path(), 1 << 20).await;
    let before = listing(tmp.path());
    let b = create_location(&Location::Local(tmp.path().to_path_buf())).unwrap();
    let err = Repository::init(b, "other", 2, FAST_KDF, Default::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("already holds a repository (it has a config file)"),
        "{err}"
    );
    assert_eq!(listing(tmp.path()), before);
    open(tmp.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_pack_is_named_by_check_and_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with_stream(tmp.path(), 24 << 20).await;
    let pack = packs(tmp.path())[0].clone();
    let name = pack.file_name().unwrap().to_string_lossy().into_owned();
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[1000] ^= 0x55;
    std::fs::set_permissions(&pack, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&pack, &bytes).unwrap();

    // Structure check passes (the header is intact); reading the data finds the damage.
    assert!(check(&repo, false).await.unwrap().ok());
    let rep = check(&repo, true).await.unwrap();
    assert!(
        rep.errors
            .iter()
            .any(|e| e.starts_with(&format!("pack {name}: ")) && e.contains("hash mismatch")),
        "{:?}",
        rep.errors
    );
    // Restore stops with the blob and pack named, instead of writing bad data: into a
    // stream, and into a file written at offsets (where the other runs are written).
    let err = dump_latest(&repo).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("in pack {}", &name[..8])) && err.contains("cannot be decrypted"),
        "{err}"
    );
    let out = std::fs::File::create(tmp.path().join("out")).unwrap();
    let err = dump_latest_to_file(&repo, &out)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("in pack {}", &name[..8])) && err.contains("cannot be decrypted"),
        "{err}"
    );
    // The runs after the damage were written too, but the file is cut back to what came
    // before it: a prefix of the data, no gap of zeros.
    let got = std::fs::read(tmp.path().join("out")).unwrap();
    let want = SqlDump::to_vec(3, 24 << 20);
    assert!(
        got.len() < want.len() && got[..] == want[..got.len()],
        "the failed dump left {} bytes that are not a prefix of the data",
        got.len()
    );
    // restic agrees the repository is damaged.
    assert!(!restic_raw(tmp.path(), &["check", "--read-data"], None)
        .status
        .success());
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_pack_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with_stream(tmp.path(), 24 << 20).await;
    let pack = packs(tmp.path())[0].clone();
    let name = pack.file_name().unwrap().to_string_lossy().into_owned();
    let len = std::fs::metadata(&pack).unwrap().len();
    std::fs::set_permissions(&pack, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let rep = check(&repo, false).await.unwrap();
    assert!(
        rep.errors
            .iter()
            .any(|e| e.starts_with(&format!("pack {name}: "))),
        "{:?}",
        rep.errors
    );
    let err = dump_latest(&repo).await.unwrap_err().to_string();
    assert!(
        err.contains(&name[..8]) || err.contains("short read"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_index_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with_stream(tmp.path(), 4 << 20).await;
    for f in listing(&tmp.path().join("index")).keys() {
        std::fs::remove_file(tmp.path().join("index").join(f)).unwrap();
    }
    let rep = check(&repo, false).await.unwrap();
    assert!(
        rep.errors.iter().any(|e| e.contains("is not in the index")),
        "{:?}",
        rep.errors
    );
    assert!(
        rep.hints
            .iter()
            .any(|h| h.contains("not referenced in any index")),
        "{:?}",
        rep.hints
    );
    let err = dump_latest(&repo).await.unwrap_err().to_string();
    assert!(
        err.starts_with("tree blob ") && err.ends_with(" is not in the index"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn full_disk_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "mounting a small tmpfs needs root (tests run as root here and in CI)"
    );
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _u = Unmount(&mnt);
    let repo_dir = mnt.join("repo");
    let repo = init(&repo_dir, 2, Compression::Off).await;
    let mut rng = Rng::new(9);
    let data = rng.bytes(12 << 20);
    let err = backup_stream(
        repo.clone(),
        &data[..],
        "dumpfile.sql",
        &SnapshotOptions::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("storage is full") || err.to_lowercase().contains("no space left"),
        "{err}"
    );
    // No snapshot was written and the repository is still valid.
    assert!(repo.snapshots().await.unwrap().is_empty());
    let rep = check(&repo, true).await.unwrap();
    assert!(rep.ok(), "{:?}", rep.errors);
    restic(&repo_dir, &["check"]);
}
