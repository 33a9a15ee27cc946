//! Volume addon: paths with excludes → our repository → restore with include/exclude, judged by
//! file hashes and metadata (mode, size, mtime, symlinks).
use std::sync::Arc;

use stash::engine::archiver::Progress;
use stash_addons::volume::{backup, restore, VolumeBackupOptions, VolumeRestoreOptions};
use stash_integration::data::make_tree;
use stash_integration::treehash::{assert_same, fingerprint};

use super::addons_support::fresh_repo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_round_trip_with_exclude_and_include() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("stash-data");
    make_tree(&src, 11);
    let r = fresh_repo().await;
    let mut o = VolumeBackupOptions::new(vec![src.clone()]);
    o.excludes = vec!["*.dat".into()];
    let snaps = backup(r.repo.clone(), &o, Arc::new(Progress::default()))
        .await
        .unwrap();
    assert_eq!(snaps.len(), 1, "one path, one snapshot");
    assert_eq!(snaps[0].snapshot.snapshot.hostname, "host-0");

    // Full restore: everything but the excluded files, with metadata.
    let out = tmp.path().join("restored");
    restore(
        r.repo.clone(),
        &VolumeRestoreOptions::latest(out.clone()),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    let restored = out.join(src.strip_prefix("/").unwrap());
    let mut expected = fingerprint(&src);
    expected.retain(|k, _| !k.ends_with(".dat"));
    assert_eq!(fingerprint(&restored), expected);
    assert!(expected.len() > 10);

    // Include only one folder, exclude one file of it.
    let part = tmp.path().join("partial");
    let mut ro = VolumeRestoreOptions::latest(part.clone());
    ro.include = vec![format!("{}/big", src.display())];
    ro.exclude = vec!["random.bin".into()];
    restore(r.repo.clone(), &ro, Arc::new(Progress::default()))
        .await
        .unwrap();
    let keys: Vec<String> = fingerprint(&part.join(src.strip_prefix("/").unwrap()))
        .into_keys()
        .collect();
    assert_eq!(keys, vec!["big".to_string(), "big/dump.sql".to_string()]);

    // restic reads the snapshot the same way.
    let rr = tmp.path().join("by-restic");
    stash_integration::restic::restic(
        &r.path,
        &["restore", "latest", "--target", rr.to_str().unwrap()],
    );
    assert_same(&restored, &rr.join(src.strip_prefix("/").unwrap()));
}
