//! The volume addon on a repository in a temporary folder: snapshots record the pod's paths
//! while files are read from, and restored to, the host folders behind them; restore rules
//! (paths, snapshots, include, exclude, source host) choose what comes back.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stash::engine::keyfile::KdfParams;
use stash::engine::{RepoOptions, Repository};
use stash::storage::{create_location, Location};

use super::*;

struct Fixture {
    tmp: tempfile::TempDir,
    repo: Arc<Repository>,
}

async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let backend = create_location(&Location::Local(tmp.path().join("repo"))).unwrap();
    let kdf = KdfParams {
        log_n: 10,
        r: 8,
        p: 1,
    };
    let repo = Repository::init(backend, "pw", 2, kdf, RepoOptions::default())
        .await
        .unwrap();
    Fixture {
        tmp,
        repo: Arc::new(repo),
    }
}

impl Fixture {
    fn dir(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes `files` (relative path → content) below `name`.
    fn folder(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = self.dir(name);
        for (p, body) in files {
            let f = root.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, body).unwrap();
        }
        std::fs::create_dir_all(&root).unwrap();
        root
    }

    async fn backup(&self, paths: &[&str], mounts: &PathMap, host: &str) -> Vec<PathBackup> {
        let mut o = VolumeBackupOptions::new(paths.iter().map(PathBuf::from).collect());
        o.mounts = mounts.clone();
        o.snapshot.host = host.into();
        backup(self.repo.clone(), &o, Arc::default()).await.unwrap()
    }

    async fn restore(
        &self,
        o: &VolumeRestoreOptions,
    ) -> Result<Vec<(SnapshotEntry, RestoreStats)>> {
        restore(self.repo.clone(), o, Arc::default()).await
    }
}

fn mounts(m: &[(&str, &Path)]) -> PathMap {
    PathMap::new(m.iter().map(|(p, h)| (p.to_string(), h.to_path_buf()))).unwrap()
}

/// Relative path → content of every file below `root`.
fn files(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

fn restore_to(m: PathMap) -> VolumeRestoreOptions {
    VolumeRestoreOptions {
        mounts: m,
        ..VolumeRestoreOptions::latest(PathBuf::new())
    }
}

/// Check 8 at the addon's level: `/a` and `/b` are two snapshots of `host-0` whose paths are
/// the pod's, read from the host folders; restoring them through other host folders brings
/// each folder's files back.
#[tokio::test]
async fn two_pod_paths_two_snapshots_recording_the_pod_paths() {
    let f = fixture().await;
    let a = f.folder("pv/a", &[("one.txt", "1"), ("sub/two.txt", "2")]);
    let b = f.folder("pv/b", &[("three.log", "3")]);
    let out = f
        .backup(&["/a", "/b"], &mounts(&[("/a", &a), ("/b", &b)]), "host-0")
        .await;
    let recorded: Vec<(Vec<String>, String)> = out
        .iter()
        .map(|p| {
            (
                p.snapshot.snapshot.paths.clone(),
                p.snapshot.snapshot.hostname.clone(),
            )
        })
        .collect();
    assert_eq!(
        recorded,
        vec![
            (vec!["/a".to_string()], "host-0".to_string()),
            (vec!["/b".to_string()], "host-0".to_string())
        ]
    );
    assert_eq!(out.iter().map(|p| p.files).collect::<Vec<_>>(), vec![2, 1]);

    let (ra, rb) = (f.dir("restored/a"), f.dir("restored/b"));
    let got = f
        .restore(&restore_to(mounts(&[("/a", &ra), ("/b", &rb)])))
        .await
        .unwrap();
    assert_eq!(got.len(), 2, "the latest snapshot of each path");
    assert_eq!(files(&ra), files(&a));
    assert_eq!(files(&rb), files(&b));
    assert!(!f.dir("restored/restored").exists());
}

/// Check 29: a rule with `paths: [/data]` restores the source host's latest snapshot of
/// `/data` into the folder behind `/data`; with `include: ["*.txt"]` only matching files.
#[tokio::test]
async fn rule_paths_take_the_latest_of_the_source_host_and_include_filters() {
    let f = fixture().await;
    let data = f.folder("pv", &[("old.txt", "old")]);
    let m = mounts(&[("/data", &data)]);
    f.backup(&["/data"], &m, "host-0").await;
    f.folder(
        "pv",
        &[("new.txt", "new"), ("x.bin", "bin"), ("d/y.txt", "y")],
    );
    f.backup(&["/data"], &m, "host-0").await;
    let other = f.folder("other", &[("elsewhere.txt", "host-1's")]);
    f.backup(&["/data"], &mounts(&[("/data", &other)]), "host-1")
        .await;

    let dst = f.dir("dst");
    let mut o = restore_to(mounts(&[("/data", &dst)]));
    o.paths = vec!["/data".into()];
    f.restore(&o).await.unwrap();
    assert_eq!(files(&dst), files(&data), "host-0's latest");

    let only_txt = f.dir("only-txt");
    let mut o = restore_to(mounts(&[("/data", &only_txt)]));
    o.paths = vec!["/data".into()];
    o.include = vec!["*.txt".into()];
    f.restore(&o).await.unwrap();
    let names: Vec<String> = files(&only_txt).into_keys().collect();
    assert_eq!(names, ["d/y.txt", "new.txt", "old.txt"]);

    let from_1 = f.dir("from-host-1");
    let mut o = restore_to(mounts(&[("/data", &from_1)]));
    o.paths = vec!["/data".into()];
    o.source_host = "host-1".into();
    o.exclude = vec!["/data/elsewhere.txt".into()];
    f.restore(&o).await.unwrap();
    assert!(files(&from_1).is_empty(), "exclude matches the pod path");
}

/// `snapshots: [id]` restores that snapshot whatever its host; a snapshot whose path no mount
/// reaches is refused, naming the path and the mounts.
#[tokio::test]
async fn snapshot_rules_and_unmounted_paths() {
    let f = fixture().await;
    let a = f.folder("a", &[("f", "a")]);
    let b = f.folder("b", &[("g", "b")]);
    let out = f
        .backup(&["/a", "/b"], &mounts(&[("/a", &a), ("/b", &b)]), "host-7")
        .await;
    let id_b = out[1].snapshot.id.to_hex();

    let only_b = f.dir("only-b");
    let mut o = restore_to(mounts(&[("/b", &only_b)]));
    o.snapshots = vec![id_b[..8].to_string()];
    let got = f.restore(&o).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(files(&only_b), files(&b));

    let mut o = restore_to(mounts(&[("/b", &f.dir("x"))]));
    o.source_host = "host-7".into();
    o.paths = vec!["/a".into()];
    let e = f.restore(&o).await.unwrap_err().to_string();
    assert!(
        e.contains("holds /a, which is on none of the target's volumes (/b)"),
        "{e}"
    );
}

/// A PVC mounted at `/stash-data` with a path below it: the folder above the path is the
/// volume's own (its metadata is the host folder's), and the restore writes below the folder
/// behind `/stash-data`. Excludes match the pod's paths.
#[tokio::test]
async fn a_path_below_the_mount_and_excludes_on_pod_paths() {
    let f = fixture().await;
    let pv = f.folder(
        "pv",
        &[
            ("sub/keep.txt", "k"),
            ("sub/cache/tmp", "t"),
            ("outside.txt", "o"),
        ],
    );
    let mut o = VolumeBackupOptions::new(vec!["/stash-data/sub".into()]);
    o.mounts = mounts(&[("/stash-data", &pv)]);
    o.excludes = vec!["/stash-data/sub/cache".into()];
    let out = backup(f.repo.clone(), &o, Arc::default()).await.unwrap();
    assert_eq!(out[0].snapshot.snapshot.paths, ["/stash-data/sub"]);

    let dst = f.dir("dst");
    f.restore(&restore_to(mounts(&[("/stash-data", &dst)])))
        .await
        .unwrap();
    let names: Vec<String> = files(&dst).into_keys().collect();
    assert_eq!(names, ["sub/keep.txt"]);
}

/// Without mounts the paths are this machine's (the catalog's PVC test, `stash addon volume`
/// by hand), and a missing folder is named.
#[tokio::test]
async fn without_mounts_paths_are_the_machines_own() {
    let f = fixture().await;
    let src = f.folder("src", &[("a", "1")]);
    let out = f
        .backup(&[src.to_str().unwrap()], &PathMap::identity(), "host-0")
        .await;
    assert_eq!(out[0].snapshot.snapshot.paths, [src.display().to_string()]);
    let dst = f.dir("dst");
    f.restore(&VolumeRestoreOptions::latest(dst.clone()))
        .await
        .unwrap();
    assert_eq!(
        files(&dst.join(src.strip_prefix("/").unwrap())),
        files(&src)
    );

    let mut o = VolumeBackupOptions::new(vec!["/a".into()]);
    o.mounts = mounts(&[("/a", &f.dir("missing"))]);
    let e = stash_error(
        backup(f.repo.clone(), &o, Arc::default())
            .await
            .unwrap_err(),
    );
    assert!(
        e.contains("/a (at ") && e.contains("missing): no such file or directory"),
        "{e}"
    );
}

fn stash_error(e: AddonError) -> String {
    crate::chain(&e)
}
