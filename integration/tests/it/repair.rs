//! `repair index` and `repair snapshots` on damaged repositories, judged by restic 0.14:
//! `check --read-data` fails before the repair and passes after, what was not damaged
//! restores byte for byte, and a damaged file restores what was not lost.
use std::path::Path;
use std::sync::Arc;

use stash::engine::archiver::{fs::backup_paths, stream::backup_stream, Progress};
use stash::engine::check::check;
use stash::engine::pack::BlobType;
use stash::engine::repair::{
    repair_index, repair_snapshots, RepairIndexOptions, RepairSnapshotsOptions, SnapshotOutcome,
};
use stash::engine::restorer::find_node;
use stash::engine::snapshot::SnapshotEntry;
use stash::engine::{Compression, FileType, Id, RepoError, Repository};
use stash_integration::data::{make_tree, Rng};
use stash_integration::restic::{json, restic, restic_raw, restic_stdout_hash};
use stash_integration::treehash::assert_same;

use super::common::{init, open_with_pack_size, repo_files, sha};

async fn backup(repo: &Arc<Repository>, data: &[u8], name: &str) -> SnapshotEntry {
    let (s, _) = backup_stream(
        repo.clone(),
        data,
        name,
        &Default::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    s
}

/// `restic check --read-data` must fail: the damage is real before the repair.
fn restic_check_fails(root: &Path) {
    let out = restic_raw(root, &["check", "--read-data"], None);
    assert!(
        !out.status.success(),
        "restic check passed on a damaged repository:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn pack_path(root: &Path, p: &Id) -> std::path::PathBuf {
    let hex = p.to_hex();
    root.join("data").join(&hex[..2]).join(hex)
}

/// Two unrelated random streams `a.sql` and `b.sql` (nothing deduplicates) in 2 MiB packs,
/// so that b's content spreads over several packs that hold nothing of a's.
struct TwoStreams {
    repo: Arc<Repository>,
    a: (SnapshotEntry, Vec<u8>),
    b: (SnapshotEntry, Vec<u8>),
}

impl TwoStreams {
    async fn new(root: &Path) -> TwoStreams {
        init(root, 2, Compression::Off).await;
        let repo = open_with_pack_size(root, 2 << 20).await;
        let a = Rng::new(1).bytes(5 << 20);
        let b = Rng::new(2).bytes(9 << 20);
        let sa = backup(&repo, &a, "a.sql").await;
        let sb = backup(&repo, &b, "b.sql").await;
        TwoStreams {
            repo,
            a: (sa, a),
            b: (sb, b),
        }
    }

    /// b's content blobs: (pack, offset in the file, length).
    async fn b_blobs(&self) -> Vec<(Id, usize, usize)> {
        let node = find_node(&self.repo, &self.b.0.snapshot.tree, "/b.sql")
            .await
            .unwrap();
        let mut at = 0;
        node.content
            .unwrap()
            .iter()
            .map(|id| {
                let loc = self.repo.lookup(BlobType::Data, id).unwrap();
                let n = loc.data_length() as usize;
                at += n;
                (loc.pack, at - n, n)
            })
            .collect()
    }

    /// A pack holding some of b's content but not its first blob, and what b restores to
    /// once that pack's blobs are gone.
    async fn a_pack_of_b(&self) -> (Id, Vec<u8>) {
        let blobs = self.b_blobs().await;
        // Packs fill concurrently, so the last blob may share the first one's pack: take
        // the last pack that does not hold the first blob.
        let lost = blobs
            .iter()
            .rev()
            .map(|(p, _, _)| *p)
            .find(|p| *p != blobs[0].0)
            .unwrap_or_else(|| panic!("b spans several packs: {blobs:?}"));
        let kept: Vec<u8> = blobs
            .iter()
            .filter(|(p, _, _)| *p != lost)
            .flat_map(|(_, at, n)| self.b.1[*at..at + n].iter().copied())
            .collect();
        assert!(kept.len() < self.b.1.len());
        (lost, kept)
    }
}

/// After the repair: a is the same snapshot and restores byte for byte; b was replaced by a
/// snapshot whose `original` is b, which restores `b_kept`.
fn assert_a_intact_and_b_repaired(root: &Path, s: &TwoStreams, b_kept: &[u8]) {
    restic(root, &["check", "--read-data"]);
    let list = json(&restic(root, &["snapshots", "--json"]));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let a_id = s.a.0.id.to_hex();
    assert!(list.iter().any(|x| x["id"] == a_id), "a kept its id");
    let b_new = list.iter().find(|x| x["id"] != a_id).unwrap();
    assert_eq!(b_new["original"], s.b.0.id.to_hex());
    let (h, _) = restic_stdout_hash(root, &["dump", &a_id, "/a.sql"]);
    assert_eq!(h, sha(&s.a.1));
    let b_new = b_new["id"].as_str().unwrap();
    let (h, n) = restic_stdout_hash(root, &["dump", b_new, "/b.sql"]);
    assert_eq!((h, n), (sha(b_kept), b_kept.len() as u64));
}

fn forget_all() -> RepairSnapshotsOptions {
    RepairSnapshotsOptions {
        forget: true,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn repair_brings_back_a_repository_with_a_missing_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let s = TwoStreams::new(tmp.path()).await;
    let (lost, b_kept) = s.a_pack_of_b().await;
    std::fs::remove_file(pack_path(tmp.path(), &lost)).unwrap();
    restic_check_fails(tmp.path());

    let rep = repair_index(&s.repo, &RepairIndexOptions::default())
        .await
        .unwrap();
    assert_eq!(rep.packs_removed, vec![lost], "{rep:?}");
    assert!(
        rep.packs_damaged.is_empty() && rep.packs_added.is_empty(),
        "{rep:?}"
    );
    assert_eq!(
        rep.packs_read, 0,
        "every other entry fits its pack: {rep:?}"
    );
    assert_eq!(rep.index_files_removed, 2, "{rep:?}");

    let rep = repair_snapshots(&s.repo, &forget_all()).await.unwrap();
    assert_eq!(rep.modified(), 1, "{rep:?}");
    let a = rep.snapshots.iter().find(|x| x.id == s.a.0.id).unwrap();
    assert_eq!(a.outcome, SnapshotOutcome::Unchanged);
    let b = rep.snapshots.iter().find(|x| x.id == s.b.0.id).unwrap();
    assert_eq!(b.changes, vec!["file \"/b.sql\": removed missing content"]);
    assert!(
        matches!(
            b.outcome,
            SnapshotOutcome::Rewritten {
                new_id: Some(_),
                forgotten: true
            }
        ),
        "{b:?}"
    );
    assert_a_intact_and_b_repaired(tmp.path(), &s, &b_kept);
    let ours = check(&s.repo, true).await.unwrap();
    assert!(ours.ok(), "{ours:?}");

    // A second run finds nothing left to do.
    let again = repair_snapshots(&s.repo, &forget_all()).await.unwrap();
    assert_eq!(again.modified(), 0, "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn repair_index_reading_all_packs_leaves_out_a_corrupt_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let s = TwoStreams::new(tmp.path()).await;
    let (bad, b_kept) = s.a_pack_of_b().await;
    // Flip bytes in the middle of the pack: its header, size and listing stay as they were.
    let path = pack_path(tmp.path(), &bad);
    let mut raw = std::fs::read(&path).unwrap();
    let mid = raw.len() / 2;
    for x in &mut raw[mid..mid + 64] {
        *x ^= 0x5a;
    }
    std::fs::write(&path, raw).unwrap();
    restic_check_fails(tmp.path());

    // Headers alone do not show it (restic's default is the same).
    let rep = repair_index(&s.repo, &RepairIndexOptions::default())
        .await
        .unwrap();
    assert!(rep.packs_damaged.is_empty(), "{rep:?}");
    let rep = repair_index(
        &s.repo,
        &RepairIndexOptions {
            read_all_packs: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(rep.packs_damaged.len(), 1, "{rep:?}");
    assert_eq!(rep.packs_damaged[0].0, bad);
    assert!(rep.packs_damaged[0].1.contains("hash mismatch"), "{rep:?}");
    assert!(
        path.exists(),
        "the corrupt pack's file stays for prune to delete"
    );

    let rep = repair_snapshots(&s.repo, &forget_all()).await.unwrap();
    assert_eq!(rep.modified(), 1, "{rep:?}");
    assert_a_intact_and_b_repaired(tmp.path(), &s, &b_kept);
}

#[tokio::test(flavor = "multi_thread")]
async fn repair_index_rebuilds_a_deleted_index_from_the_packs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let src = tmp.path().join("src");
    make_tree(&src, 7);
    let repo = init(&root, 2, Compression::Auto).await;
    let stream = Rng::new(3).bytes(3 << 20);
    let a = backup(&repo, &stream, "a.sql").await;
    let (t, _) = backup_paths(
        repo.clone(),
        std::slice::from_ref(&src),
        &[],
        &Default::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    let packs = repo.backend().list(FileType::Pack).await.unwrap().len();
    for f in repo.backend().list(FileType::Index).await.unwrap() {
        repo.backend()
            .remove(FileType::Index, &f.name)
            .await
            .unwrap();
    }
    restic_check_fails(&root);

    let rep = repair_index(&repo, &RepairIndexOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (rep.packs_added.len(), rep.packs_read),
        (packs, packs),
        "{rep:?}"
    );
    assert_eq!(rep.index_files_written, 1, "{rep:?}");
    restic(&root, &["check", "--read-data"]);
    let (h, _) = restic_stdout_hash(&root, &["dump", &a.id.to_hex(), "/a.sql"]);
    assert_eq!(h, sha(&stream));
    let out = tmp.path().join("out");
    restic(
        &root,
        &["restore", &t.id.to_hex(), "--target", out.to_str().unwrap()],
    );
    assert_same(&src, &out.join(src.strip_prefix("/").unwrap()));
    // Nothing referenced was lost: repair snapshots has nothing to do.
    let rep = repair_snapshots(&repo, &forget_all()).await.unwrap();
    assert_eq!(rep.modified(), 0, "{rep:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn repair_snapshots_dry_run_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = TwoStreams::new(tmp.path()).await;
    let (lost, _) = s.a_pack_of_b().await;
    std::fs::remove_file(pack_path(tmp.path(), &lost)).unwrap();
    repair_index(&s.repo, &RepairIndexOptions::default())
        .await
        .unwrap();
    let before = repo_files(tmp.path());
    let opts = RepairSnapshotsOptions {
        dry_run: true,
        ..forget_all()
    };
    let rep = repair_snapshots(&s.repo, &opts).await.unwrap();
    assert_eq!(rep.modified(), 1, "{rep:?}");
    assert!(
        rep.snapshots.iter().any(|x| x.outcome
            == SnapshotOutcome::Rewritten {
                new_id: None,
                forgotten: true
            }),
        "{rep:?}"
    );
    assert_eq!((rep.trees_written, rep.packs_written), (0, 0));
    assert!(
        before == repo_files(tmp.path()),
        "a dry run changed the repository"
    );
    restic_check_fails(tmp.path());
}

/// A lost tree pack: a later snapshot that shares its unchanged folders keeps them as empty
/// folders, and the snapshot whose root tree was in the pack is removed (restic's rules).
/// Without `forget` the repaired snapshot is kept beside its original, tagged `repaired`.
#[tokio::test(flavor = "multi_thread")]
async fn repair_snapshots_empties_folders_whose_trees_are_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let src = tmp.path().join("src");
    for (f, body) in [("top.txt", "one"), ("keep/x.txt", "x"), ("gone/y.txt", "y")] {
        std::fs::create_dir_all(src.join(f).parent().unwrap()).unwrap();
        std::fs::write(src.join(f), body).unwrap();
    }
    let repo = init(&root, 2, Compression::Auto).await;
    let snap = |repo: Arc<Repository>, src: std::path::PathBuf| async move {
        backup_paths(
            repo,
            &[src],
            &[],
            &Default::default(),
            Arc::new(Progress::default()),
        )
        .await
        .unwrap()
        .0
    };
    let first = snap(repo.clone(), src.clone()).await;
    std::fs::write(src.join("top.txt"), "two, longer").unwrap();
    let second = snap(repo.clone(), src.clone()).await;
    let tree_pack = |id: &Id| repo.lookup(BlobType::Tree, id).unwrap().pack;
    let lost = tree_pack(&first.snapshot.tree);
    assert_ne!(lost, tree_pack(&second.snapshot.tree));
    let src_path = src.to_str().unwrap();
    let keep = find_node(&repo, &second.snapshot.tree, &format!("{src_path}/keep"))
        .await
        .unwrap();
    assert_eq!(
        tree_pack(&keep.subtree.unwrap()),
        lost,
        "shared with the first"
    );
    std::fs::remove_file(pack_path(&root, &lost)).unwrap();

    repair_index(&repo, &RepairIndexOptions::default())
        .await
        .unwrap();
    // Judged after the index repair: before it, restic retries reading the missing pack's
    // trees for minutes before it fails.
    restic_check_fails(&root);
    let rep = repair_snapshots(&repo, &RepairSnapshotsOptions::default())
        .await
        .unwrap();
    let one = rep.snapshots.iter().find(|x| x.id == first.id).unwrap();
    assert_eq!(one.outcome, SnapshotOutcome::Removed, "{one:?}");
    let two = rep.snapshots.iter().find(|x| x.id == second.id).unwrap();
    let mut changes: Vec<&str> = two.changes.iter().map(|c| c.as_str()).collect();
    changes.sort();
    assert_eq!(changes.len(), 2, "{changes:?}");
    for (c, name) in changes.iter().zip(["gone", "keep"]) {
        assert!(
            c.starts_with(&format!(
                "dir \"{src_path}/{name}\": replaced with empty directory"
            )),
            "{c}"
        );
    }
    let list = json(&restic(&root, &["snapshots", "--json"]));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "the original and its repair: {list:?}");
    let repaired = list.iter().find(|x| x["original"].is_string()).unwrap();
    assert_eq!(repaired["original"], second.id.to_hex());
    assert_eq!(repaired["tags"], serde_json::json!(["repaired"]));
    assert!(list.iter().any(|x| x["id"] == second.id.to_hex()));
    // The damaged original is still there until it is forgotten.
    restic_check_fails(&root);
    restic(&root, &["forget", &second.id.to_hex()]);
    restic(&root, &["check", "--read-data"]);
    let out = tmp.path().join("out");
    let id = repaired["id"].as_str().unwrap();
    restic(&root, &["restore", id, "--target", out.to_str().unwrap()]);
    let restored = out.join(src.strip_prefix("/").unwrap());
    assert_eq!(
        std::fs::read(restored.join("top.txt")).unwrap(),
        b"two, longer"
    );
    for d in ["keep", "gone"] {
        assert_eq!(
            std::fs::read_dir(restored.join(d)).unwrap().count(),
            0,
            "{d}"
        );
    }
}

/// restic's index hints: a pack listed by two index files and an index file superseded by a
/// newer one that is still there are hints, not errors (for restic too); `repair index`
/// clears both.
#[tokio::test(flavor = "multi_thread")]
async fn check_reports_duplicate_packs_and_obsolete_indexes_as_hints() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init(tmp.path(), 2, Compression::Auto).await;
    backup(&repo, &Rng::new(5).bytes(1 << 20), "a.sql").await;
    let old = repo.backend().list(FileType::Index).await.unwrap();
    assert_eq!(old.len(), 1);
    let file: stash::engine::index::IndexFile =
        repo.load_json(FileType::Index, &old[0].name).await.unwrap();
    let old_id: Id = old[0].name.parse().unwrap();
    let packs: Vec<Id> = file.packs.iter().map(|p| p.id).collect();
    let newer = repo.save_index(file.packs, vec![old_id]).await.unwrap();

    let rep = check(&repo, true).await.unwrap();
    assert!(rep.ok(), "{rep:?}");
    for p in &packs {
        assert!(
            rep.hints.iter().any(|h| h
                .starts_with(&format!("pack {p}: contained in several indexes ("))
                && h.contains(&newer.short())
                && h.contains("repair index")),
            "{rep:?}"
        );
    }
    assert!(
        rep.hints.iter().any(|h| h.starts_with(&format!(
            "index {old_id}: superseded by index {} but still present",
            newer.short()
        ))),
        "{rep:?}"
    );
    let out = restic(tmp.path(), &["check", "--read-data"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("contained in several indexes"));

    repair_index(&repo, &RepairIndexOptions::default())
        .await
        .unwrap();
    let rep = check(&repo, true).await.unwrap();
    assert!(rep.ok() && rep.hints.is_empty(), "{rep:?}");
    restic(tmp.path(), &["check", "--read-data"]);
}

/// A snapshot file that does not decrypt stops `repair snapshots` (naming it and how to remove
/// it) unless it is named with `forget`, as in restic; then it alone is removed.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_snapshot_file_is_removed_only_when_named_with_forget() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init(tmp.path(), 2, Compression::Auto).await;
    let good = backup(&repo, &Rng::new(6).bytes(1 << 20), "a.sql").await;
    // Named by its hash like every snapshot file, but not encrypted with the repository's key.
    let junk = Rng::new(7).bytes(300);
    let name = Id::hash(&junk).to_hex();
    repo.backend()
        .write(FileType::Snapshot, &name, junk.into())
        .await
        .unwrap();
    restic_check_fails(tmp.path());
    let before = repo_files(tmp.path());

    let named = RepairSnapshotsOptions {
        snapshots: vec![name[..8].to_string()],
        ..Default::default()
    };
    for opts in [forget_all(), named.clone()] {
        let e = repair_snapshots(&repo, &opts).await.unwrap_err();
        assert!(
            matches!(e, RepoError::UnreadableSnapshot { .. })
                && e.to_string().contains(&format!(
                    "`stash repair snapshots --forget {name}` removes it"
                )),
            "{e}"
        );
    }
    assert!(
        before == repo_files(tmp.path()),
        "a refused repair changed nothing"
    );

    let rep = repair_snapshots(
        &repo,
        &RepairSnapshotsOptions {
            forget: true,
            ..named
        },
    )
    .await
    .unwrap();
    assert_eq!(rep.modified(), 1, "{rep:?}");
    assert_eq!(rep.snapshots[0].outcome, SnapshotOutcome::Removed);
    assert_eq!(rep.snapshots[0].id.to_hex(), name);
    restic(tmp.path(), &["check", "--read-data"]);
    let list = json(&restic(tmp.path(), &["snapshots", "--json"]));
    assert_eq!(list[0]["id"], good.id.to_hex());
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// An index entry that no longer fits its pack (a blob missing from the listing): the pack's
/// header is read and the pack indexed again from it, nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn repair_index_reads_the_header_of_a_pack_whose_size_disagrees() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init(tmp.path(), 2, Compression::Auto).await;
    let data = Rng::new(8).bytes(3 << 20);
    let s = backup(&repo, &data, "a.sql").await;
    let old = repo.backend().list(FileType::Index).await.unwrap();
    let mut file: stash::engine::index::IndexFile =
        repo.load_json(FileType::Index, &old[0].name).await.unwrap();
    let damaged = file
        .packs
        .iter_mut()
        .find(|p| p.blobs.iter().all(|b| b.blob_type == BlobType::Data))
        .unwrap();
    assert!(damaged.blobs.pop().is_some());
    let damaged = damaged.id;
    repo.save_index(file.packs, vec![]).await.unwrap();
    repo.backend()
        .remove(FileType::Index, &old[0].name)
        .await
        .unwrap();
    restic_check_fails(tmp.path());

    let rep = repair_index(&repo, &RepairIndexOptions::default())
        .await
        .unwrap();
    assert_eq!(rep.packs_reindexed, vec![damaged], "{rep:?}");
    assert_eq!(rep.packs_read, 1, "{rep:?}");
    assert!(rep.packs_damaged.is_empty(), "{rep:?}");
    restic(tmp.path(), &["check", "--read-data"]);
    let (h, _) = restic_stdout_hash(tmp.path(), &["dump", &s.id.to_hex(), "/a.sql"]);
    assert_eq!(h, sha(&data));
}
