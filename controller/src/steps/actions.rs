//! A session's own actions (spec §3.6, §3.7), each run once per session as a step process:
//!
//! - `init-repository`: the Repository's backend gets a repository if it has none
//!   (`BackendRepositoryInitialized`), before any target runs;
//! - `post-backup`, after every target succeeded: the retention policy over the whole
//!   repository (`RetentionPolicyApplied`; it waits for the exclusive lock while other
//!   backups hold theirs, like restic's `--retry-lock`), the integrity check
//!   (`RepositoryIntegrityVerified`), then the Repository's status, and its metrics pushed
//!   (`RepositoryMetricsPushed`, [`crate::metrics::session::push_repository`]).
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::core::v1::Secret;
use stash::api::common::set_condition;
use stash::api::conditions::{reasons, types};
use stash::api::output::format_bytes;
use stash::api::{BackupSession, Repository as RepositoryObject, RetentionPolicy};
use stash::engine::backend::Backend;
use stash::engine::check::check;
use stash::engine::forget::{forget, ForgetOptions};
use stash::engine::keyfile::KdfParams;
use stash::engine::prune::PruneOptions;
use stash::engine::retention::{keep_count, KeepPolicy};
use stash::engine::{FileType, RepoError, RepoOptions, Repository};
use stash::storage::{LocalAccess, StorageSecret};

use crate::invoker::BackupInvoker;
use crate::reconcile::condition;
use crate::store::{ObjectStore, StoreExt};

/// Repository format of repositories we create (restic ≥ 0.14 reads it).
const NEW_REPO_VERSION: u32 = 2;
/// How long retention waits for the exclusive lock (other sessions' backups hold shared ones).
pub const LOCK_WAIT: Duration = Duration::from_secs(600);
pub const LOCK_RETRY: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Missing(String),
    #[error("{what}")]
    Repo {
        what: String,
        #[source]
        source: RepoError,
    },
    #[error("{what}")]
    Backend {
        what: String,
        #[source]
        source: stash::engine::backend::BackendError,
    },
    #[error("{what}")]
    Storage {
        what: String,
        #[source]
        source: stash::storage::StorageError,
    },
}

/// The session, its invoker (BackupConfiguration or BackupBatch) and Repository.
async fn objects(
    store: &dyn ObjectStore,
    ns: &str,
    session: &str,
) -> Result<(BackupSession, BackupInvoker, RepositoryObject), ActionError> {
    let s: BackupSession = store
        .get(ns, session)
        .await?
        .ok_or_else(|| ActionError::Missing(format!("BackupSession {ns}/{session} not found")))?;
    let r = s.spec.invoker.clone().unwrap_or_default();
    let inv = BackupInvoker::get(store, ns, &r.kind, &r.name)
        .await?
        .ok_or_else(|| ActionError::Missing(format!("{} {ns}/{} not found", r.kind, r.name)))?;
    let (rns, rname) = inv.repository_key();
    let repo: RepositoryObject = store
        .get(&rns, &rname)
        .await?
        .ok_or_else(|| ActionError::Missing(format!("Repository {rns}/{rname} not found")))?;
    Ok((s, inv, repo))
}

/// The Repository object's backend, opened with its storage Secret (a local folder is created
/// when `create`), with the password from that Secret when it has one and what to call it in
/// messages.
async fn open_backend(
    store: &dyn ObjectStore,
    repo: &RepositoryObject,
    create: bool,
) -> Result<OpenBackend, ActionError> {
    let ns = repo.metadata.namespace.clone().unwrap_or_default();
    let name = repo.metadata.name.clone().unwrap_or_default();
    let backend = repo.spec.backend.clone().unwrap_or_default();
    let secret_name = backend.storage_secret_name.clone().unwrap_or_default();
    let secret: Secret = store
        .get(&ns, &secret_name)
        .await?
        .ok_or_else(|| ActionError::Missing(format!("storage Secret {ns}/{secret_name} (Repository {ns}/{name} spec.backend.storageSecretName) not found")))?;
    let mut data: std::collections::BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    data.extend(
        secret
            .string_data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes())),
    );
    let secret = StorageSecret::new(data);
    let what = format!("Repository {ns}/{name}");
    // Local mode: a local repository is its volume's host folder (where a Job would mount it).
    let access = if backend
        .local
        .as_ref()
        .is_some_and(|l| l.host_path.is_some())
    {
        LocalAccess::Host
    } else {
        LocalAccess::Mounted
    };
    let storage = |source| ActionError::Storage {
        what: what.clone(),
        source,
    };
    let config = backend.config(&secret, access).map_err(storage)?;
    let handle = config.open(create).map_err(storage)?;
    Ok(OpenBackend {
        handle,
        secret,
        what,
    })
}

struct OpenBackend {
    handle: Arc<dyn Backend>,
    secret: StorageSecret,
    what: String,
}

/// Opens the Repository object's backend with its storage Secret (`init`: create if missing).
pub async fn open_repository(
    store: &dyn ObjectStore,
    repo: &RepositoryObject,
    init: bool,
) -> Result<Arc<Repository>, ActionError> {
    let OpenBackend {
        handle,
        secret,
        what,
    } = open_backend(store, repo, init).await?;
    let password = secret
        .restic_password()
        .map_err(|e| ActionError::Missing(format!("{what}: {e}")))?;
    let location = handle.location();
    let opts = RepoOptions::default();
    let repo_err = |what: String| move |source| ActionError::Repo { what, source };
    match Repository::open(handle.clone(), password.expose(), opts.clone()).await {
        Ok(r) => Ok(Arc::new(r)),
        Err(RepoError::NotARepository { .. }) if init => {
            match Repository::init(
                handle.clone(),
                password.expose(),
                NEW_REPO_VERSION,
                KdfParams::default(),
                opts.clone(),
            )
            .await
            {
                Ok(r) => Ok(Arc::new(r)),
                Err(RepoError::AlreadyInitialized { .. }) => {
                    Repository::open(handle, password.expose(), opts)
                        .await
                        .map(Arc::new)
                        .map_err(repo_err(format!("opening {location}")))
                }
                Err(e) => Err(repo_err(format!("initialising a repository at {location}"))(e)),
            }
        }
        Err(e) => Err(repo_err(format!("opening the repository at {location}"))(e)),
    }
}

async fn set_session_conditions(
    store: &dyn ObjectStore,
    ns: &str,
    session: &str,
    conds: Vec<stash::api::Condition>,
) -> Result<(), ActionError> {
    store
        .update_status::<BackupSession, _>(ns, session, |s| {
            let list = s
                .status
                .get_or_insert_with(Default::default)
                .conditions
                .get_or_insert_with(Vec::new);
            for c in &conds {
                set_condition(list, c.clone());
            }
        })
        .await?;
    Ok(())
}

/// `init-repository`: records `BackendRepositoryInitialized` either way; an error is returned
/// too so the step fails visibly.
pub async fn init_repository(
    store: &dyn ObjectStore,
    ns: &str,
    session: &str,
) -> Result<(), ActionError> {
    let (_, _, repo) = objects(store, ns, session).await?;
    let res = open_repository(store, &repo, true).await;
    let cond = match &res {
        Ok(_) => condition(
            types::BACKEND_REPOSITORY_INITIALIZED,
            true,
            reasons::BACKEND_REPOSITORY_FOUND,
            "Repository exist in the backend.",
            Utc::now(),
        ),
        Err(e) => condition(
            types::BACKEND_REPOSITORY_INITIALIZED,
            false,
            reasons::FAILED_TO_INITIALIZE_BACKEND_REPOSITORY,
            format!(
                "Failed to initialize backend repository. Reason: {}",
                error_chain(e)
            ),
            Utc::now(),
        ),
    };
    set_session_conditions(store, ns, session, vec![cond]).await?;
    res.map(|_| ())
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

pub fn keep_policy(p: &RetentionPolicy) -> KeepPolicy {
    KeepPolicy {
        last: keep_count(p.keep_last.unwrap_or(0)),
        hourly: keep_count(p.keep_hourly.unwrap_or(0)),
        daily: keep_count(p.keep_daily.unwrap_or(0)),
        weekly: keep_count(p.keep_weekly.unwrap_or(0)),
        monthly: keep_count(p.keep_monthly.unwrap_or(0)),
        yearly: keep_count(p.keep_yearly.unwrap_or(0)),
        tags: p.keep_tags.clone().unwrap_or_default(),
    }
}

/// What retention did: the snapshots kept and removed; with `dryRun`, nothing is removed and
/// `would_remove` says what would have been.
struct Retained {
    kept: usize,
    removed: usize,
    would_remove: Option<usize>,
}

/// Retention, waiting for the exclusive lock.
async fn apply_retention(
    repo: &Arc<Repository>,
    p: Option<&RetentionPolicy>,
) -> Result<Retained, RepoError> {
    let policy = p.map(keep_policy).unwrap_or_default();
    if policy.is_empty() {
        return Ok(Retained {
            kept: repo.snapshots().await?.len(),
            removed: 0,
            would_remove: None,
        });
    }
    let p = p.expect("a policy");
    let opts = ForgetOptions {
        policy,
        dry_run: p.dry_run == Some(true),
        prune: (p.prune == Some(true)).then(PruneOptions::default),
        ..Default::default()
    };
    let start = Instant::now();
    loop {
        match forget(repo, &opts).await {
            Ok(res) if opts.dry_run => {
                return Ok(Retained {
                    kept: repo.snapshots().await?.len(),
                    removed: 0,
                    would_remove: Some(res.removed.len()),
                })
            }
            Ok(res) => {
                return Ok(Retained {
                    kept: res.kept,
                    removed: res.removed.len(),
                    would_remove: None,
                })
            }
            Err(RepoError::Locked(l)) if start.elapsed() < LOCK_WAIT => {
                tracing::info!("retention waits for the repository lock: {l}");
                tokio::time::sleep(LOCK_RETRY).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `post-backup`: retention, check, the Repository's status. Conditions are recorded whatever
/// happens; the first failure is also returned.
pub async fn post_backup(
    store: &dyn ObjectStore,
    ns: &str,
    session: &str,
) -> Result<(), ActionError> {
    let (s, inv, repo_obj) = objects(store, ns, session).await?;
    let repo = match open_repository(store, &repo_obj, false).await {
        Ok(r) => r,
        Err(e) => {
            let msg = format!(
                "Failed to apply retention policy. Reason: {}",
                error_chain(&e)
            );
            let c1 = condition(
                types::RETENTION_POLICY_APPLIED,
                false,
                reasons::FAILED_TO_APPLY_RETENTION_POLICY,
                msg,
                Utc::now(),
            );
            let c2 = condition(
                types::REPOSITORY_INTEGRITY_VERIFIED,
                false,
                reasons::FAILED_TO_VERIFY_REPOSITORY_INTEGRITY,
                "Repository could not be opened.",
                Utc::now(),
            );
            set_session_conditions(store, ns, session, vec![c1, c2]).await?;
            return Err(e);
        }
    };
    let mut conds = Vec::new();
    let mut failure = None;
    let counts = match apply_retention(&repo, inv.retention_policy.as_ref()).await {
        Ok(c) => {
            let msg = match c.would_remove {
                Some(n) => format!("Successfully applied retention policy (dryRun: {n} snapshot(s) would be removed; none was)."),
                None => "Successfully applied retention policy.".to_string(),
            };
            conds.push(condition(
                types::RETENTION_POLICY_APPLIED,
                true,
                reasons::SUCCESSFULLY_APPLIED_RETENTION_POLICY,
                msg,
                Utc::now(),
            ));
            Some(c)
        }
        Err(e) => {
            let msg = format!(
                "Failed to apply retention policy. Reason: {}",
                error_chain(&e)
            );
            conds.push(condition(
                types::RETENTION_POLICY_APPLIED,
                false,
                reasons::FAILED_TO_APPLY_RETENTION_POLICY,
                msg,
                Utc::now(),
            ));
            failure = Some(ActionError::Repo {
                what: "applying the retention policy".into(),
                source: e,
            });
            None
        }
    };
    let integrity = match check(&repo, false).await {
        Ok(report) if report.ok() => {
            conds.push(condition(
                types::REPOSITORY_INTEGRITY_VERIFIED,
                true,
                reasons::SUCCESSFULLY_VERIFIED_REPOSITORY_INTEGRITY,
                "Repository integrity verification succeeded.",
                Utc::now(),
            ));
            true
        }
        Ok(report) => {
            let msg = format!(
                "Repository integrity verification failed. Reason: {}",
                report.errors.join("; ")
            );
            conds.push(condition(
                types::REPOSITORY_INTEGRITY_VERIFIED,
                false,
                reasons::FAILED_TO_VERIFY_REPOSITORY_INTEGRITY,
                msg,
                Utc::now(),
            ));
            false
        }
        Err(e) => {
            let msg = format!(
                "Repository integrity verification failed. Reason: {}",
                error_chain(&e)
            );
            conds.push(condition(
                types::REPOSITORY_INTEGRITY_VERIFIED,
                false,
                reasons::FAILED_TO_VERIFY_REPOSITORY_INTEGRITY,
                msg,
                Utc::now(),
            ));
            false
        }
    };
    let size = match repo.backend().list(FileType::Pack).await {
        Ok(packs) => Some(format_bytes(packs.iter().map(|p| p.size).sum())),
        Err(_) => None,
    };
    let (rns, rname) = (
        repo_obj.metadata.namespace.clone().unwrap_or_default(),
        repo_obj.metadata.name.clone().unwrap_or_default(),
    );
    let created = s
        .metadata
        .creation_timestamp
        .clone()
        .unwrap_or(crate::reconcile::to_time(Utc::now()));
    let updated = store
        .update_status::<RepositoryObject, _>(&rns, &rname, |r| {
            let st = r.status.get_or_insert_with(Default::default);
            st.integrity = Some(integrity);
            if let Some(Retained { kept, removed, .. }) = counts {
                st.snapshot_count = Some(kept as i64);
                st.snapshots_removed_on_last_cleanup = Some(removed as i64);
            }
            if size.is_some() {
                st.total_size = size.clone();
            }
            st.last_backup_time = Some(created.clone());
            st.first_backup_time.get_or_insert(created.clone());
            st.observed_generation = r.metadata.generation;
        })
        .await?;
    // Stash's SendRepositoryMetrics, the last post-backup action: the status just written,
    // pushed under the invoker's job when `stash run` was given a Pushgateway.
    if let Some(repo) = updated {
        let url = std::env::var(crate::metrics::PUSHGATEWAY_ENV).ok();
        let pushed =
            crate::metrics::session::push_repository(&inv, &repo, url.as_deref(), Utc::now());
        conds.push(pushed.await);
    }
    set_session_conditions(store, ns, session, conds).await?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `wipe-out`: every object under the Repository's backend (bucket and prefix) removed, as
/// Stash does for a Repository with `wipeOut: true` when it is deleted. Needs the storage
/// credentials only, not the repository's password: what is there is removed whatever it is.
pub async fn wipe_out(store: &dyn ObjectStore, ns: &str, name: &str) -> Result<usize, ActionError> {
    let repo: RepositoryObject = store
        .get(ns, name)
        .await?
        .ok_or_else(|| ActionError::Missing(format!("Repository {ns}/{name} not found")))?;
    let OpenBackend { handle, what, .. } = open_backend(store, &repo, false).await?;
    let location = handle.location();
    handle.wipe_out().await.map_err(|e| ActionError::Backend {
        what: format!("{what}: wiping out {location}"),
        source: e,
    })
}
