//! Snapshots as objects: `repositories.stash.appscode.com/v1alpha1` Snapshot (spec §1.11), what
//! Stash's aggregated API server answers `kubectl get snapshots` and `kubectl delete snapshot`
//! with, read here from the repositories themselves. `stash get` and `stash delete` are its
//! command-line faces; this module holds the logic, the CLI only prints.
//!
//! - [`list`]: the snapshots of every Repository of a namespace (or of all) that the selector's
//!   terms other than `hostname` pick — matched against the Repository's labels plus
//!   `repository: <name>`, so `repository=r` opens only `r` — then the whole selector over the
//!   snapshot objects, which also carry `hostname`. A Repository that cannot be opened (no
//!   Secret, a wrong password, an unreachable backend) is a failure in the [`Listing`], named,
//!   and the others are still listed. A backend that holds no repository yet (no backup has
//!   run) has no snapshots, as in Stash.
//! - [`get`]: one snapshot by object name, `<repository>-<first 8 hex chars of its id>`; a
//!   prefix that matches no snapshot, or several, is an error that says so.
//! - [`delete`]: forgets that snapshot and prunes, under the repository's exclusive lock — the
//!   engine's lock and prune, in restic's order (snapshot file first, then what only it
//!   used) — waiting while backups hold their locks, as retention does; then the Repository's
//!   `snapshotCount` and `totalSize`.
//!
//! Repositories are opened exactly as a session's actions open them
//! ([`crate::steps::actions::open_repository`]): the storage Secret through the store (local
//! mode reads it from the manifests folder), a `hostPath` local backend where the host keeps it.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use stash::api::output::format_bytes;
use stash::api::snapshot::{
    parse_snapshot_name, snapshot_name, Snapshot, SnapshotStatus, API_VERSION, KIND,
};
use stash::api::Repository as RepositoryObject;
use stash::engine::lock::Lock;
use stash::engine::prune::{PruneOptions, PruneStats};
use stash::engine::snapshot::SnapshotEntry;
use stash::engine::{FileType, RepoError, Repository};
use stash::storage::StorageError;

use crate::steps::actions::{open_repository, ActionError, LOCK_RETRY, LOCK_WAIT};
use crate::store::{ObjectStore, Selector, StoreError, StoreExt};

/// The label naming a snapshot's Repository (and, for selection, every Repository itself).
pub const REPOSITORY_LABEL: &str = "repository";
/// The label naming the host a snapshot was taken of.
pub const HOSTNAME_LABEL: &str = "hostname";
/// How many characters of the snapshot id a Snapshot's name carries.
pub const ID_PREFIX_LEN: usize = 8;

/// Sources are boxed: the error stays small on the `Ok` path of every function returning it.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Store(Box<StoreError>),
    #[error("{name:?} is not a Snapshot name: a Snapshot is named <repository>-<first 8 hex characters of its restic id>, as `stash get snapshots` lists it")]
    BadName { name: String },
    #[error("Snapshot {namespace}/{name}: its Repository {namespace}/{repository} not found")]
    RepositoryNotFound {
        namespace: String,
        name: String,
        repository: String,
    },
    #[error("Snapshot {namespace}/{name} not found: Repository {namespace}/{repository} has no snapshot whose id starts with {prefix}")]
    NotFound {
        namespace: String,
        name: String,
        repository: String,
        prefix: String,
    },
    #[error("Snapshot {namespace}/{name} is ambiguous: Repository {namespace}/{repository} has {} snapshots whose ids start with {prefix} ({}); a Snapshot name cannot tell them apart, so forget the one meant by its full id with restic (`restic forget --prune ID`)", ids.len(), ids.join(", "))]
    Ambiguous {
        namespace: String,
        name: String,
        repository: String,
        prefix: String,
        ids: Vec<String>,
    },
    #[error("opening Repository {repository}")]
    Open {
        repository: String,
        #[source]
        source: Box<ActionError>,
    },
    #[error("Repository {repository}: {what}")]
    Repo {
        repository: String,
        what: &'static str,
        #[source]
        source: Box<RepoError>,
    },
}

impl From<StoreError> for SnapshotError {
    fn from(e: StoreError) -> SnapshotError {
        SnapshotError::Store(Box::new(e))
    }
}

impl SnapshotError {
    /// The thing asked for is not there (as opposed to: could not be read, or was asked for
    /// wrongly).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            SnapshotError::NotFound { .. } | SnapshotError::RepositoryNotFound { .. }
        )
    }

    /// The request itself is wrong: a bad name, or one that picks several snapshots.
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            SnapshotError::BadName { .. } | SnapshotError::Ambiguous { .. }
        )
    }
}

/// Snapshots listed, and the Repositories that could not be read (each error names its
/// Repository): a partial failure is a value, the rest is still listed.
#[derive(Debug, Default)]
pub struct Listing {
    pub snapshots: Vec<Snapshot>,
    pub failures: Vec<SnapshotError>,
}

/// What [`delete`] did.
#[derive(Debug)]
pub struct Deletion {
    /// The snapshot removed, as it was.
    pub snapshot: Snapshot,
    /// Snapshots left in the repository (the Repository's new `snapshotCount`).
    pub remaining: usize,
    pub prune: PruneStats,
}

fn ns_name(repo: &RepositoryObject) -> (String, String) {
    (
        repo.metadata.namespace.clone().unwrap_or_default(),
        repo.metadata.name.clone().unwrap_or_default(),
    )
}

/// A Repository's labels as Snapshot selection sees it: its own, and `repository: <name>`.
pub fn repository_labels(repo: &RepositoryObject) -> BTreeMap<String, String> {
    let mut labels = repo.metadata.labels.clone().unwrap_or_default();
    labels.insert(REPOSITORY_LABEL.into(), ns_name(repo).1);
    labels
}

/// The part of `selector` a Repository can answer before it is opened: every term but those on
/// `hostname`, which only a snapshot knows.
pub fn repository_selector(selector: &Selector) -> Selector {
    let mut s = selector.clone();
    if let Some(m) = s.0.match_labels.as_mut() {
        m.remove(HOSTNAME_LABEL);
    }
    if let Some(e) = s.0.match_expressions.as_mut() {
        e.retain(|r| r.key != HOSTNAME_LABEL);
    }
    s
}

/// A restic snapshot of `repo` as a Snapshot object. Labels: the Repository's, then
/// `repository` and `hostname` (the snapshot's own facts win over a Repository label of the
/// same key, so selecting by them always means the snapshot's).
pub fn snapshot_object(repo: &RepositoryObject, entry: &SnapshotEntry) -> Snapshot {
    let (namespace, repository) = ns_name(repo);
    let id = entry.id.to_hex();
    let s = &entry.snapshot;
    let mut labels = repository_labels(repo);
    labels.insert(HOSTNAME_LABEL.into(), s.hostname.clone());
    Snapshot {
        api_version: Some(API_VERSION.into()),
        kind: Some(KIND.into()),
        metadata: ObjectMeta {
            name: Some(snapshot_name(&repository, &id)),
            namespace: Some(namespace),
            uid: Some(id),
            creation_timestamp: Some(crate::reconcile::to_time(s.time.with_timezone(&Utc))),
            labels: Some(labels),
            ..Default::default()
        },
        status: Some(SnapshotStatus {
            tree: s.tree.to_hex(),
            paths: s.paths.clone(),
            hostname: s.hostname.clone(),
            username: s.username.clone(),
            // Stash's status has Go's int32: ids above 2^31 wrap as they do there.
            uid: s.uid as i32,
            gid: s.gid as i32,
            tags: (!s.tags.is_empty()).then(|| s.tags.clone()),
            repository,
            size: None,
        }),
    }
}

/// A Snapshot object's labels.
pub fn labels(s: &Snapshot) -> BTreeMap<String, String> {
    s.metadata.labels.clone().unwrap_or_default()
}

/// `<repository>-<8 hex chars>`: the Repository's name and the id prefix.
pub fn parse_name(name: &str) -> Result<(&str, &str), SnapshotError> {
    match parse_snapshot_name(name) {
        Some((repo, prefix)) if prefix.bytes().all(|b| b.is_ascii_hexdigit()) => Ok((repo, prefix)),
        _ => Err(SnapshotError::BadName { name: name.into() }),
    }
}

/// Which snapshots' ids start with `prefix` (restic's ids are lower-case hex; so is the match).
pub fn matching<'a>(entries: &'a [SnapshotEntry], prefix: &str) -> Vec<&'a SnapshotEntry> {
    let prefix = prefix.to_ascii_lowercase();
    entries
        .iter()
        .filter(|e| e.id.to_hex().starts_with(&prefix))
        .collect()
}

/// The one snapshot of `repository` that Snapshot `namespace/name` (id prefix `prefix`) names.
fn pick<'a>(
    entries: &'a [SnapshotEntry],
    namespace: &str,
    name: &str,
    repository: &str,
    prefix: &str,
) -> Result<&'a SnapshotEntry, SnapshotError> {
    let found = matching(entries, prefix);
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(SnapshotError::NotFound {
            namespace: namespace.into(),
            name: name.into(),
            repository: repository.into(),
            prefix: prefix.into(),
        }),
        several => Err(SnapshotError::Ambiguous {
            namespace: namespace.into(),
            name: name.into(),
            repository: repository.into(),
            prefix: prefix.into(),
            ids: several.iter().map(|e| e.id.to_hex()).collect(),
        }),
    }
}

/// No repository at the backend yet: its folder or config file does not exist.
fn no_repository_yet(e: &ActionError) -> bool {
    matches!(
        e,
        ActionError::Repo {
            source: RepoError::NotARepository { .. },
            ..
        } | ActionError::Storage {
            source: StorageError::Missing(_),
            ..
        }
    )
}

/// The Repository object's repository, `None` when its backend holds none yet.
async fn open(
    store: &dyn ObjectStore,
    repo: &RepositoryObject,
) -> Result<Option<Arc<Repository>>, SnapshotError> {
    match open_repository(store, repo, false).await {
        Ok(r) => Ok(Some(r)),
        Err(e) if no_repository_yet(&e) => Ok(None),
        Err(source) => {
            let (ns, name) = ns_name(repo);
            Err(SnapshotError::Open {
                repository: format!("{ns}/{name}"),
                source: Box::new(source),
            })
        }
    }
}

fn repo_error(
    repo: &RepositoryObject,
    what: &'static str,
) -> impl FnOnce(RepoError) -> SnapshotError {
    let (ns, name) = ns_name(repo);
    move |source| SnapshotError::Repo {
        repository: format!("{ns}/{name}"),
        what,
        source: Box::new(source),
    }
}

/// Every snapshot of one Repository, oldest first (restic's order).
pub async fn of_repository(
    store: &dyn ObjectStore,
    repo: &RepositoryObject,
) -> Result<Vec<Snapshot>, SnapshotError> {
    let Some(r) = open(store, repo).await? else {
        return Ok(Vec::new());
    };
    let entries = r
        .snapshots()
        .await
        .map_err(repo_error(repo, "listing its snapshots"))?;
    Ok(entries.iter().map(|e| snapshot_object(repo, e)).collect())
}

/// The snapshots of the Repositories in `namespace` (`None`: every namespace) that `selector`
/// picks (see the module's docs), by Repository, then oldest first.
pub async fn list(
    store: &dyn ObjectStore,
    namespace: Option<&str>,
    selector: &Selector,
) -> Result<Listing, StoreError> {
    let mut repos: Vec<RepositoryObject> = store.list(namespace, &Selector::all()).await?;
    repos.sort_by_key(ns_name);
    let by_repo = repository_selector(selector);
    let mut out = Listing::default();
    for repo in repos
        .iter()
        .filter(|r| by_repo.matches(&repository_labels(r)))
    {
        match of_repository(store, repo).await {
            Ok(snaps) => out
                .snapshots
                .extend(snaps.into_iter().filter(|s| selector.matches(&labels(s)))),
            Err(e) => out.failures.push(e),
        }
    }
    Ok(out)
}

/// The Repository Snapshot `namespace/name` belongs to, and its id prefix.
async fn locate<'n>(
    store: &dyn ObjectStore,
    namespace: &str,
    name: &'n str,
) -> Result<(RepositoryObject, &'n str), SnapshotError> {
    let (repository, prefix) = parse_name(name)?;
    let repo = store
        .get::<RepositoryObject>(namespace, repository)
        .await?
        .ok_or_else(|| SnapshotError::RepositoryNotFound {
            namespace: namespace.into(),
            name: name.into(),
            repository: repository.into(),
        })?;
    Ok((repo, prefix))
}

fn not_found(namespace: &str, name: &str, prefix: &str) -> SnapshotError {
    let repository = parse_snapshot_name(name).map(|(r, _)| r).unwrap_or(name);
    SnapshotError::NotFound {
        namespace: namespace.into(),
        name: name.into(),
        repository: repository.into(),
        prefix: prefix.into(),
    }
}

/// Snapshot `namespace/name`.
pub async fn get(
    store: &dyn ObjectStore,
    namespace: &str,
    name: &str,
) -> Result<Snapshot, SnapshotError> {
    let (repo_obj, prefix) = locate(store, namespace, name).await?;
    let Some(repo) = open(store, &repo_obj).await? else {
        return Err(not_found(namespace, name, prefix));
    };
    let entries = repo
        .snapshots()
        .await
        .map_err(repo_error(&repo_obj, "listing its snapshots"))?;
    let (_, repository) = ns_name(&repo_obj);
    let entry = pick(&entries, namespace, name, &repository, prefix)?;
    let mut object = snapshot_object(&repo_obj, entry);
    // One snapshot also shows what a restore of it writes (a walk of its tree).
    let stats = stash::engine::stats::stats(&repo, std::slice::from_ref(entry))
        .await
        .map_err(repo_error(&repo_obj, "reading the snapshot's tree"))?;
    if let Some(st) = object.status.as_mut() {
        st.size = Some(stash::api::snapshot::SnapshotSize {
            total_bytes: stats.total_size,
            total: stash::api::output::format_bytes(stats.total_size),
            file_count: stats.total_file_count,
        });
    }
    Ok(object)
}

/// The repository's exclusive lock, waiting (up to [`LOCK_WAIT`]) while others hold theirs —
/// backups hold shared locks for as long as they run.
async fn exclusive_lock(repo: &Arc<Repository>, what: &str) -> Result<Lock, RepoError> {
    let start = Instant::now();
    let mut told = false;
    loop {
        match Lock::acquire(repo.clone(), true).await {
            Ok(l) => return Ok(l),
            Err(RepoError::Locked(l)) if start.elapsed() < LOCK_WAIT => {
                if !told {
                    tracing::warn!(
                        "{what} is in use ({l}); waiting up to {}s for its lock",
                        LOCK_WAIT.as_secs()
                    );
                    told = true;
                }
                tokio::time::sleep(LOCK_RETRY).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Under the exclusive lock: the snapshot is picked again (it is the one removed, whatever
/// happened before the lock), its file removed, then prune; and how many remain.
async fn forget_one(
    repo: &Arc<Repository>,
    repo_obj: &RepositoryObject,
    namespace: &str,
    name: &str,
    prefix: &str,
) -> Result<Deletion, SnapshotError> {
    let entries = repo
        .snapshots()
        .await
        .map_err(repo_error(repo_obj, "listing its snapshots"))?;
    let (_, repository) = ns_name(repo_obj);
    let entry = pick(&entries, namespace, name, &repository, prefix)?;
    let snapshot = snapshot_object(repo_obj, entry);
    repo.backend()
        .remove(FileType::Snapshot, &entry.id.to_hex())
        .await
        .map_err(|e| repo_error(repo_obj, "removing the snapshot file")(e.into()))?;
    let prune = stash::engine::prune::run(repo, &PruneOptions::default())
        .await
        .map_err(repo_error(
            repo_obj,
            "pruning after the snapshot was removed",
        ))?;
    let remaining = repo
        .snapshots()
        .await
        .map_err(repo_error(repo_obj, "counting the snapshots left"))?
        .len();
    Ok(Deletion {
        snapshot,
        remaining,
        prune,
    })
}

/// Deletes Snapshot `namespace/name`: `restic forget --prune ID` under the exclusive lock,
/// then the Repository's `snapshotCount` and `totalSize`.
pub async fn delete(
    store: &dyn ObjectStore,
    namespace: &str,
    name: &str,
) -> Result<Deletion, SnapshotError> {
    let (repo_obj, prefix) = locate(store, namespace, name).await?;
    let Some(repo) = open(store, &repo_obj).await? else {
        return Err(not_found(namespace, name, prefix));
    };
    let (rns, rname) = ns_name(&repo_obj);
    let lock = exclusive_lock(&repo, &format!("Repository {rns}/{rname}"))
        .await
        .map_err(repo_error(&repo_obj, "taking its exclusive lock"))?;
    let done = forget_one(&repo, &repo_obj, namespace, name, prefix).await;
    lock.release().await;
    let done = done?;
    // The size as post-backup records it: the packs' bytes.
    let size = match repo.backend().list(FileType::Pack).await {
        Ok(packs) => Some(format_bytes(packs.iter().map(|p| p.size).sum())),
        Err(e) => {
            tracing::warn!(error = %e, "Repository {rns}/{rname}: listing packs for totalSize");
            None
        }
    };
    store
        .update_status::<RepositoryObject, _>(&rns, &rname, |r| {
            let st = r.status.get_or_insert_with(Default::default);
            st.snapshot_count = Some(done.remaining as i64);
            if size.is_some() {
                st.total_size = size.clone();
            }
        })
        .await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stash::engine::snapshot::Snapshot as ResticSnapshot;
    use stash::engine::Id;

    fn repo(name: &str, labels: &[(&str, &str)]) -> RepositoryObject {
        let mut r = RepositoryObject::new(name, Default::default());
        r.metadata.name = Some(name.into());
        r.metadata.namespace = Some("demo".into());
        if !labels.is_empty() {
            r.metadata.labels = Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
        }
        r
    }

    fn entry(seed: &str, host: &str, time: &str) -> SnapshotEntry {
        SnapshotEntry {
            id: Id::hash(seed.as_bytes()),
            snapshot: ResticSnapshot {
                time: time.parse().unwrap(),
                parent: None,
                tree: Id::hash(b"tree"),
                paths: vec!["/dumpfile.sql".into()],
                hostname: host.into(),
                username: "root".into(),
                uid: 0,
                gid: 4_294_967_294,
                excludes: Vec::new(),
                tags: Vec::new(),
                original: None,
                program_version: String::new(),
                extra: Default::default(),
            },
        }
    }

    fn l(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn objects_carry_stashs_name_uid_time_labels_and_status() {
        let r = repo("minio-repo", &[("team", "db"), ("hostname", "repo-label")]);
        let e = entry("a", "host-1", "2026-11-30T10:20:30.5+02:00");
        let s = snapshot_object(&r, &e);
        let id = e.id.to_hex();
        assert_eq!(
            s.metadata.name.as_deref(),
            Some(format!("minio-repo-{}", &id[..8]).as_str())
        );
        assert_eq!(s.metadata.uid.as_deref(), Some(id.as_str()));
        assert_eq!(s.metadata.namespace.as_deref(), Some("demo"));
        assert_eq!(
            labels(&s),
            l(&[
                ("hostname", "host-1"),
                ("repository", "minio-repo"),
                ("team", "db")
            ]),
            "the snapshot's own hostname wins over the Repository's label"
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["apiVersion"], "repositories.stash.appscode.com/v1alpha1");
        assert_eq!(v["kind"], "Snapshot");
        assert_eq!(
            v["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap()
                .trim_end_matches(".5Z")
                .trim_end_matches('Z'),
            "2026-11-30T08:20:30",
            "{v}"
        );
        let st = &v["status"];
        assert_eq!(st["hostname"], "host-1");
        assert_eq!(st["repository"], "minio-repo");
        assert_eq!(st["paths"], serde_json::json!(["/dumpfile.sql"]));
        assert_eq!(st["tree"], Id::hash(b"tree").to_hex());
        assert_eq!(st["username"], "root");
        assert_eq!(st["uid"], 0);
        assert_eq!(st["gid"], -2, "Go's int32 of 4294967294");
        assert!(
            st.get("tags").is_none(),
            "no tags: omitted, as Go omits them"
        );
    }

    #[test]
    fn hostname_terms_wait_for_the_snapshots() {
        let sel = Selector::parse("repository=r,hostname=host-0,team!=x,!hostname").unwrap();
        let by_repo = repository_selector(&sel);
        assert!(by_repo.matches(&repository_labels(&repo("r", &[]))));
        assert!(!by_repo.matches(&repository_labels(&repo("other", &[]))));
        assert!(!by_repo.matches(&repository_labels(&repo("r", &[("team", "x")]))));
        // Terms on other keys stay: a Repository label selects its Repositories.
        let by_label = repository_selector(&Selector::parse("team=db,hostname").unwrap());
        assert!(by_label.matches(&repository_labels(&repo("any", &[("team", "db")]))));
        assert!(!by_label.matches(&repository_labels(&repo("any", &[]))));
        // The full selector then picks snapshots by host.
        let r = repo("r", &[]);
        let sel = Selector::parse("repository=r,hostname=host-0").unwrap();
        let host0 = snapshot_object(&r, &entry("a", "host-0", "2026-11-30T10:00:00Z"));
        let host1 = snapshot_object(&r, &entry("b", "host-1", "2026-11-30T10:00:00Z"));
        assert!(sel.matches(&labels(&host0)));
        assert!(!sel.matches(&labels(&host1)));
        // An empty selector reads every Repository.
        assert!(repository_selector(&Selector::all()).matches(&l(&[("repository", "x")])));
    }

    #[test]
    fn names_parse_to_repository_and_hex_prefix() {
        assert_eq!(
            parse_name("my-repo-0a1b2c3d").unwrap(),
            ("my-repo", "0a1b2c3d")
        );
        for bad in [
            "repo",
            "repo-0a1b2c3",
            "repo-0a1b2c3d4",
            "-0a1b2c3d",
            "repo-nightly1",
        ] {
            let e = parse_name(bad).unwrap_err();
            assert!(e.is_bad_request(), "{bad}");
            assert!(
                e.to_string()
                    .contains("<repository>-<first 8 hex characters"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_prefix_picks_one_or_says_none_or_several() {
        let a = entry("a", "host-0", "2026-11-30T10:00:00Z");
        let b = entry("b", "host-0", "2026-11-30T11:00:00Z");
        let (ida, idb) = (a.id.to_hex(), b.id.to_hex());
        let entries = vec![a, b];
        let got = pick(&entries, "demo", "r-x", "r", &ida[..8]).unwrap();
        assert_eq!(got.id.to_hex(), ida);
        let upper = ida[..8].to_ascii_uppercase();
        assert_eq!(
            matching(&entries, &upper).len(),
            1,
            "hex case does not matter"
        );
        // A third snapshot's prefix: in neither of the two listed.
        let other = entry("c", "host-0", "2026-11-30T12:00:00Z").id.to_hex();
        let none = pick(&entries, "demo", "r-x", "r", &other[..8]);
        let e = none.unwrap_err();
        assert!(e.is_not_found());
        assert!(
            e.to_string()
                .contains("Repository demo/r has no snapshot whose id starts with"),
            "{e}"
        );
        // Two snapshots sharing the prefix (the empty prefix stands in for a collision).
        let e = pick(&entries, "demo", "r-", "r", "").unwrap_err();
        assert!(e.is_bad_request());
        let msg = e.to_string();
        assert!(msg.contains(&ida) && msg.contains(&idb), "{msg}");
        assert!(
            msg.contains("has 2 snapshots whose ids start with"),
            "{msg}"
        );
    }

    #[test]
    fn an_absent_repository_is_no_snapshots_but_a_bad_one_is_an_error() {
        let missing = ActionError::Repo {
            what: "opening".into(),
            source: RepoError::NotARepository {
                location: "/x".into(),
            },
        };
        assert!(no_repository_yet(&missing));
        let wrong = ActionError::Repo {
            what: "opening".into(),
            source: RepoError::WrongPassword {
                location: "/x".into(),
            },
        };
        assert!(!no_repository_yet(&wrong));
        assert!(!no_repository_yet(&ActionError::Missing("secret".into())));
    }
}
