//! forget + prune + stats, judged by restic: what stays must restore, what goes must be gone.
use std::sync::Arc;

use stash::engine::archiver::{stream::backup_stream, Progress, SnapshotOptions};
use stash::engine::check::check;
use stash::engine::forget::{forget, ForgetOptions};
use stash::engine::prune::{prune, PruneOptions};
use stash::engine::retention::KeepPolicy;
use stash::engine::{Compression, Repository};
use stash_integration::data::{Rng, SqlDump};
use stash_integration::restic::{json, restic, restic_stdout_hash};

use super::common::{data_packs, init, open_with_pack_size, repo_files, sha};

fn dir_size(p: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let md = e.metadata().unwrap();
        n += if md.is_dir() {
            dir_size(&e.path())
        } else {
            md.len()
        };
    }
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn forget_with_prune_frees_space_and_keeps_what_the_policy_keeps() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = init(tmp.path(), 2, Compression::Off).await;
    // Five unrelated random streams: nothing deduplicates, so forgetting frees space.
    let mut hashes = Vec::new();
    for i in 0..5u64 {
        let data = Rng::new(100 + i).bytes(6 << 20);
        hashes.push(sha(&data));
        let opts = SnapshotOptions {
            time: Some(
                chrono::DateTime::parse_from_rfc3339(&format!("2024-01-0{}T10:00:00Z", i + 1))
                    .unwrap(),
            ),
            ..Default::default()
        };
        backup_stream(
            repo.clone(),
            &data[..],
            "dumpfile.sql",
            &opts,
            Arc::new(Progress::default()),
        )
        .await
        .unwrap();
    }
    let before = dir_size(&tmp.path().join("data"));
    let opts = ForgetOptions {
        policy: KeepPolicy {
            last: 2,
            ..Default::default()
        },
        prune: Some(PruneOptions::default()),
        ..Default::default()
    };
    let res = forget(&repo, &opts).await.unwrap();
    assert_eq!(res.removed.len(), 3);
    assert_eq!(res.kept, 2);
    let p = res.prune.unwrap();
    assert!(p.packs_deleted >= 3, "{p:?}");
    let after = dir_size(&tmp.path().join("data"));
    assert!(after < before * 2 / 3, "space freed: {before} -> {after}");

    restic(tmp.path(), &["check", "--read-data"]);
    let list = json(&restic(tmp.path(), &["snapshots", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 2);
    // The two newest remain and restore byte for byte.
    let (h, _) = restic_stdout_hash(tmp.path(), &["dump", "latest", "/dumpfile.sql"]);
    assert_eq!(h, hashes[4]);
    let oldest_kept = list
        .as_array()
        .unwrap()
        .iter()
        .min_by_key(|s| s["time"].as_str().unwrap().to_string())
        .unwrap();
    let (h, _) = restic_stdout_hash(
        tmp.path(),
        &["dump", oldest_kept["id"].as_str().unwrap(), "/dumpfile.sql"],
    );
    assert_eq!(h, hashes[3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_repacks_partly_used_packs() {
    let tmp = tempfile::tempdir().unwrap();
    init(tmp.path(), 2, Compression::Auto).await;
    // Big packs so that both snapshots' blobs share packs.
    let repo = open_with_big_packs(tmp.path()).await;
    let a = SqlDump::to_vec(1, 12 << 20);
    let bdata = SqlDump::to_vec(2, 12 << 20);
    let (sa, _) = backup_stream(
        repo.clone(),
        &a[..],
        "a.sql",
        &Default::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    backup_stream(
        repo.clone(),
        &bdata[..],
        "b.sql",
        &Default::default(),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    // Forget the first snapshot by id, then prune with no tolerance for unused space.
    repo.backend()
        .remove(stash::engine::FileType::Snapshot, &sa.id.to_hex())
        .await
        .unwrap();
    let st = prune(
        &repo,
        &PruneOptions {
            max_unused: 0.0,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert!(st.packs_repacked >= 1 || st.packs_deleted >= 1, "{st:?}");
    let rep = check(&repo, true).await.unwrap();
    assert!(rep.ok() && rep.hints.is_empty(), "{rep:?}");
    restic(tmp.path(), &["check", "--read-data"]);
    let (h, n) = restic_stdout_hash(tmp.path(), &["dump", "latest", "/b.sql"]);
    assert_eq!((h, n), (sha(&bdata), bdata.len() as u64));
    // Nothing of a.sql's data is left: stats count only b's blobs.
    let st = stash::engine::stats::stats(&repo, &repo.snapshots().await.unwrap())
        .await
        .unwrap();
    assert_eq!(st.total_size, bdata.len() as u64);
    assert!(
        st.pack_bytes < (bdata.len() as u64) / 2 + (1 << 20),
        "{st:?}"
    );
}

/// Two writers that did not see each other's index (a BackupBatch's parallel members) store
/// the same blobs twice; a prune that keeps a pack holding such a duplicate must keep listing
/// it in the index, or restic's check finds the pack larger than the index says.
#[tokio::test(flavor = "multi_thread")]
async fn prune_keeps_duplicates_of_kept_packs_in_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    init(tmp.path(), 2, Compression::Off).await;
    let (one, two) = (
        super::common::open(tmp.path()).await,
        super::common::open(tmp.path()).await,
    );
    let shared = Rng::new(41).bytes(4 << 20);
    let mut longer = shared.clone();
    longer.extend(Rng::new(42).bytes(4 << 20));
    let opts = SnapshotOptions::default();
    let (first, second) = tokio::join!(
        backup_stream(
            one,
            &shared[..],
            "a.sql",
            &opts,
            Arc::new(Progress::default())
        ),
        backup_stream(
            two,
            &longer[..],
            "b.sql",
            &opts,
            Arc::new(Progress::default())
        ),
    );
    let (_, _) = (first.unwrap(), second.unwrap());
    let repo = super::common::open(tmp.path()).await;
    // Keep whatever is partly unused: only the index rewrite is under test.
    prune(
        &repo,
        &PruneOptions {
            max_unused: 1.0,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    restic(tmp.path(), &["check", "--read-data"]);
    // The two snapshots were taken at the same time: pick b's by its path.
    let (h, _) = restic_stdout_hash(
        tmp.path(),
        &["dump", "--path", "/b.sql", "latest", "/b.sql"],
    );
    assert_eq!(h, sha(&longer));
}

/// Two snapshots whose streams share their first 12 MiB, in 64 MiB packs, the first one
/// forgotten: its pack is then partly used, so a prune without tolerance must repack it. The
/// shared part is longer than the chunker's 8 MiB maximum, so at least one chunk is shared
/// whatever the repository's polynomial (with 4 MiB, about one polynomial in 30 put the first
/// boundary past it, and nothing was shared).
async fn repository_with_a_pack_to_repack(root: &std::path::Path) -> Arc<Repository> {
    init(root, 2, Compression::Auto).await;
    let repo = open_with_big_packs(root).await;
    let a = SqlDump::to_vec(1, 16 << 20);
    let mut b = a[..12 << 20].to_vec();
    b.extend(SqlDump::to_vec(2, 4 << 20));
    let mut ids = Vec::new();
    for (data, name) in [(&a, "a.sql"), (&b, "b.sql")] {
        let (s, _) = backup_stream(
            repo.clone(),
            &data[..],
            name,
            &Default::default(),
            Arc::new(Progress::default()),
        )
        .await
        .unwrap();
        ids.push(s.id);
    }
    repo.backend()
        .remove(stash::engine::FileType::Snapshot, &ids[0].to_hex())
        .await
        .unwrap();
    repo
}

async fn prune_all(repo: &Arc<Repository>) -> String {
    let opts = PruneOptions {
        max_unused: 0.0,
        dry_run: false,
    };
    prune(repo, &opts).await.unwrap_err().to_string()
}

/// A pack the index lists is missing: prune refuses, names the pack, says how to repair, and
/// leaves every file of the repository as it was.
#[tokio::test(flavor = "multi_thread")]
async fn prune_refuses_a_repository_with_a_missing_pack_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository_with_a_pack_to_repack(tmp.path()).await;
    let packs = data_packs(&repo).await;
    assert!(packs.len() >= 2, "{packs:?}");
    std::fs::remove_file(tmp.path().join(&packs[0])).unwrap();
    let missing = packs[0].rsplit('/').next().unwrap().to_string();
    let before = repo_files(tmp.path());
    let e = prune_all(&repo).await;
    assert!(
        e.contains(&format!("pack {missing}: missing from the repository"))
            && e.contains("nothing was changed")
            && e.contains("repair index"),
        "{e}"
    );
    assert!(
        before == repo_files(tmp.path()),
        "prune changed the repository"
    );
}

/// A pack that must be repacked holds blobs that no longer decrypt: prune refuses before it
/// deletes anything, names the pack, and removes what it had written.
#[tokio::test(flavor = "multi_thread")]
async fn prune_refuses_a_repository_with_a_corrupt_pack_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository_with_a_pack_to_repack(tmp.path()).await;
    // Overwrite every data pack's blobs (not its header, so its size and listing stay).
    let mut corrupted = Vec::new();
    for name in data_packs(&repo).await {
        let path = tmp.path().join(&name);
        let mut raw = std::fs::read(&path).unwrap();
        let n = raw.len();
        let header = u32::from_le_bytes(raw[n - 4..].try_into().unwrap()) as usize;
        raw[..n - 4 - header].fill(0xA5);
        std::fs::write(&path, raw).unwrap();
        corrupted.push(name.rsplit('/').next().unwrap().to_string());
    }
    let before = repo_files(tmp.path());
    let e = prune_all(&repo).await;
    assert!(
        corrupted
            .iter()
            .any(|p| e.contains(&format!("pack {p}: data blob")))
            && e.contains("nothing was changed"),
        "{e}"
    );
    assert!(
        before == repo_files(tmp.path()),
        "prune changed the repository"
    );
}

/// The repository at `root` with 64 MiB packs, so that successive backups share packs.
async fn open_with_big_packs(root: &std::path::Path) -> Arc<Repository> {
    open_with_pack_size(root, 64 << 20).await
}
