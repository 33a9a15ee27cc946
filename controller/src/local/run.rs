//! `stash run`: the reconcilers driven over a folder of manifests, on one machine.
//!
//! One loop, one task: it applies the folder into the state store whenever a file changes,
//! learns of every write to the store (its own, its steps', another `stash` process's) from the
//! store's `changes` table, and reconciles what changed — plus what watches it, as a Kubernetes
//! controller's watches would — through a de-duplicated [`WorkQueue`]. A finished job wakes its
//! owner at once. Reconciles run one at a time: local mode's work is in its steps (child
//! processes), not in the loop, and one writer keeps SQLite uncontended.
//!
//! Restart is recovery: the first pass reconciles every object, so a session that was Running
//! when the previous process died finds no job behind it and ends Failed with a reason that
//! says so; its repository actions (init, post-backup) are restarted where they stood.
//!
//! `--once` runs what is due or pending and stops: a backup for each BackupConfiguration and
//! BackupBatch that has never run, sessions that schedules make due while it runs, sessions left pending, and
//! RestoreSessions — after the backups, since a restore waits for backups into its repository.
//!
//! Metrics ([`crate::metrics`]): `--metrics-addr` serves the registry at `/metrics` while the
//! loop runs; `--pushgateway-url` goes into the context (sessions push at their end) and into
//! the steps' environment (the post-backup step pushes the Repository's metrics).
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::CronJob;
use serde_json::Value;
use stash::api::catalog::Catalog;
use stash::api::{
    BackupBatch, BackupConfiguration, BackupInvokerPhase, BackupSession, Condition, Repository,
    RestoreBatch, RestoreSession,
};
use tokio::sync::mpsc;

use super::manifests::{self, Problem};
use super::queue::WorkQueue;
use crate::clock::{Clock, SystemClock};
use crate::context::{Ctx, Settings};
use crate::invoker::BackupInvoker;
use crate::next::Next;
use crate::reconcile::{
    backup_blueprint, backup_configuration, backup_session, cronjob, repository, restore_batch,
    restore_session,
};
use crate::runner::ProcessRunner;
use crate::steps::{MANIFESTS_ENV, STATE_ENV};
use crate::store::{Kind, LocalStore, ObjRef, Object, ObjectStore, Selector, StoreError, StoreExt};

/// How often the store's change table and the manifests folder are looked at.
const POLL: Duration = Duration::from_millis(500);
const MANIFEST_POLL: Duration = Duration::from_secs(2);
/// The lock file that keeps a second `stash run` off a state folder.
const LOCK_FILE: &str = "run.lock";

#[derive(Clone, Debug)]
pub struct Options {
    pub manifests: Vec<PathBuf>,
    pub state: PathBuf,
    pub once: bool,
    pub max_parallel_members: usize,
    /// Serve `/metrics` here while running (`127.0.0.1:9090`; port 0 picks one).
    pub metrics_addr: Option<String>,
    /// Push each finished session's metrics here.
    pub pushgateway_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("another `stash run` is using the state folder {0}: stop it, or give this one its own --state")]
    Busy(PathBuf),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("listening on --metrics-addr {addr}: {source}; give a free host:port such as 127.0.0.1:9090")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("--pushgateway-url: {0}")]
    Pushgateway(#[from] crate::metrics::PushError),
    #[error("the built-in catalog is broken: {0}")]
    Catalog(String),
    #[error(transparent)]
    Store(Box<StoreError>),
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> RunError {
        RunError::Store(Box::new(e))
    }
}

/// What `--once` ran, and what did not succeed.
#[derive(Debug, Default)]
pub struct Summary {
    /// `BackupSession default/x: Succeeded`, one line per session.
    pub sessions: Vec<String>,
    /// What failed: sessions, invokers that were not Ready, manifests that could not be used.
    pub failures: Vec<String>,
}

/// Runs until `shutdown` completes, or with `once` until what was due is done.
pub async fn run(opts: Options, shutdown: impl Future<Output = ()>) -> Result<Summary, RunError> {
    let _lock = lock_state(&opts.state)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store =
        Arc::new(LocalStore::open(&opts.state, opts.manifests.clone(), clock.clone()).await?);
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let exe = std::env::current_exe().map_err(|source| RunError::Io {
        what: "finding this program",
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    let manifests_env = std::env::join_paths(&opts.manifests).map_err(|e| RunError::Io {
        what: "joining the manifests folders",
        path: opts.manifests.first().cloned().unwrap_or_default(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
    })?;
    let mut env = BTreeMap::from([
        (STATE_ENV.to_string(), absolute(&opts.state)),
        (
            MANIFESTS_ENV.to_string(),
            manifests_env.to_string_lossy().into_owned(),
        ),
    ]);
    // Metrics: the registry `/metrics` serves, the Pushgateway sessions are pushed to (the
    // post-backup step pushes the Repository's metrics, so it gets the URL too).
    let pushgateway_url = opts
        .pushgateway_url
        .clone()
        .filter(|u| !u.trim().is_empty());
    let pushgateway = pushgateway_url
        .as_deref()
        .map(crate::metrics::Pushgateway::new)
        .transpose()?;
    if let Some(url) = &pushgateway_url {
        env.insert(crate::metrics::PUSHGATEWAY_ENV.to_string(), url.clone());
    }
    let metrics = Arc::new(crate::metrics::Metrics::new(pushgateway));
    let _server = match &opts.metrics_addr {
        Some(addr) => {
            let listener =
                crate::metrics::serve::bind(addr)
                    .await
                    .map_err(|source| RunError::Listen {
                        addr: addr.clone(),
                        source,
                    })?;
            if let Ok(bound) = listener.local_addr() {
                eprintln!(
                    "stash run: metrics at {}",
                    crate::metrics::serve::url(bound)
                );
            }
            Some(AbortOnDrop(tokio::spawn(crate::metrics::serve::serve(
                listener,
                metrics.clone(),
            ))))
        }
        None => None,
    };
    let runner = Arc::new(ProcessRunner::new(
        exe,
        env,
        opts.state.join("logs"),
        done_tx,
    ));
    let catalog = Catalog::builtin().map_err(|errs| {
        RunError::Catalog(
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let ctx = Ctx {
        store: store.clone(),
        runner,
        clock,
        catalog: Arc::new(catalog),
        settings: Settings {
            operator: stash::api::resolve::variables::OperatorSettings {
                pushgateway_url: pushgateway_url.unwrap_or_default(),
                ..Default::default()
            },
            scratch_root: opts.state.join("scratch"),
            max_parallel_members: opts.max_parallel_members,
        },
        metrics,
    };
    let cursor = store.db.last_change().await?;
    let applied = manifests::applied_objects(store.as_ref(), &store.db.kinds().await?).await?;
    let mut lp = Loop {
        opts,
        ctx,
        store,
        queue: WorkQueue::default(),
        cursor,
        applied,
        fingerprint: None,
        problems: BTreeSet::new(),
        phases: BTreeMap::new(),
        once: None,
    };
    lp.main(done_rx, shutdown).await
}

/// A task stopped when `stash run` returns (the `/metrics` server).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Paths handed to steps must not depend on their working folder.
fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// An exclusive lock on `<state>/run.lock`, held while the returned file lives (the kernel
/// drops it when the process dies, however it dies).
fn lock_state(state: &Path) -> Result<File, RunError> {
    let io = |what, source| RunError::Io {
        what,
        path: state.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(state).map_err(|e| io("creating the state folder", e))?;
    let file = File::create(state.join(LOCK_FILE)).map_err(|e| io("creating a lock in", e))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor this function owns.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(RunError::Busy(state.to_path_buf()));
    }
    Ok(file)
}

/// What `--once` still waits for.
#[derive(Debug, Default)]
struct Once {
    started: DateTime<Utc>,
    /// Backup invokers that never ran: each gets a session once it is Ready.
    to_trigger: BTreeSet<ObjRef>,
    /// Sessions this run is responsible for.
    tracked: BTreeSet<ObjRef>,
    summary: Summary,
}

struct Loop {
    opts: Options,
    ctx: Ctx,
    store: Arc<LocalStore>,
    queue: WorkQueue,
    /// The last change of the store seen.
    cursor: i64,
    /// Objects the folder held at the last apply.
    applied: BTreeSet<ObjRef>,
    fingerprint: Option<Vec<(PathBuf, u64, Option<std::time::SystemTime>)>>,
    /// Problems of the folder reported so far (each is reported once, and again when fixed).
    problems: BTreeSet<String>,
    /// Last phase seen of each session, to print what changes.
    phases: BTreeMap<ObjRef, String>,
    once: Option<Once>,
}

fn phase_of(v: &Value) -> String {
    v.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn is_final(kind: &Kind, phase: &str) -> bool {
    match kind.kind.as_str() {
        "BackupSession" => matches!(phase, "Succeeded" | "Failed" | "Skipped"),
        "RestoreSession" | "RestoreBatch" => matches!(phase, "Succeeded" | "Failed" | "Unknown"),
        _ => false,
    }
}

/// Sessions, and a RestoreBatch (a session of several restores): what `--once` waits for.
fn is_session(r: &ObjRef) -> bool {
    r.is::<BackupSession>() || r.is::<RestoreSession>() || r.is::<RestoreBatch>()
}

impl Loop {
    async fn main(
        &mut self,
        mut done: mpsc::UnboundedReceiver<ObjRef>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<Summary, RunError> {
        tokio::pin!(shutdown);
        self.sync_manifests().await?;
        let now = self.ctx.clock.now();
        // Everything once: recovery after a restart, and the first look at what is new.
        for kind in reconciled_kinds() {
            for v in self.store.list_raw(&kind, None).await? {
                if let Some(r) = ObjRef::of_value(&v) {
                    if is_session(&r) {
                        self.phases.insert(r.clone(), phase_of(&v));
                    }
                    self.queue.add(r, now);
                }
            }
        }
        if self.opts.once {
            self.once = Some(self.plan_once(now).await?);
        }
        let mut last_manifest_look = now;
        loop {
            let now = self.ctx.clock.now();
            if (now - last_manifest_look).to_std().unwrap_or_default() >= MANIFEST_POLL {
                last_manifest_look = now;
                self.sync_manifests().await?;
            }
            self.poll_changes(now).await?;
            for r in self.queue.pop_due(now) {
                self.reconcile(r).await?;
            }
            if self.once_finished().await? {
                let once = self.once.take().unwrap_or_default();
                return Ok(once.summary);
            }
            let now = self.ctx.clock.now();
            let wait = self
                .queue
                .next_at()
                .map_or(POLL, |t| (t - now).to_std().unwrap_or_default().min(POLL));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                Some(owner) = done.recv() => self.queue.add(owner, self.ctx.clock.now()),
                _ = &mut shutdown => {
                    tracing::warn!("stopping: sessions still running end Failed at the next start");
                    return Ok(self.once.take().map(|o| o.summary).unwrap_or_default());
                }
            }
        }
    }

    /// Applies the folder if a file changed; reports new problems and fixed ones.
    async fn sync_manifests(&mut self) -> Result<(), RunError> {
        let fp = manifests::fingerprint(&self.opts.manifests);
        if self.fingerprint.as_ref() == Some(&fp) {
            return Ok(());
        }
        let m = manifests::read_manifests(&self.opts.manifests);
        self.store.reload_secrets();
        let applied = manifests::apply(self.store.as_ref(), &m, &self.applied).await?;
        let now: BTreeSet<String> = m
            .problems
            .iter()
            .chain(&applied.problems)
            .map(Problem::to_string)
            .collect();
        for p in now.difference(&self.problems) {
            tracing::error!("manifest not applied: {p}");
        }
        for p in self.problems.difference(&now) {
            tracing::warn!("manifest fixed: {p}");
        }
        self.problems = now;
        self.applied = applied.seen;
        self.fingerprint = Some(fp);
        // Secrets live outside the store's change feed: anything may depend on them.
        self.wake_dependents(true, true).await?;
        Ok(())
    }

    /// Queues what changed in the store, and what watches it.
    async fn poll_changes(&mut self, now: DateTime<Utc>) -> Result<(), RunError> {
        let (changed, last) = self.store.db.poll_changes(self.cursor).await?;
        self.cursor = last;
        let (mut others, mut sessions) = (false, false);
        let kinds = reconciled_kinds();
        for r in changed {
            if is_session(&r) {
                sessions = true;
            } else if !r.is::<CronJob>() {
                others = true;
            }
            if kinds.contains(&r.kind) {
                self.queue.add(r, now);
            }
        }
        if others || sessions {
            self.wake_dependents(others, sessions).await?;
        }
        Ok(())
    }

    /// A change to a Repository, Secret, AppBinding, Task… concerns every invoker and open
    /// session; a change to a session concerns the restores that wait for backups.
    async fn wake_dependents(&mut self, all: bool, restores: bool) -> Result<(), RunError> {
        let now = self.ctx.clock.now();
        let mut kinds = Vec::new();
        if all {
            kinds.extend([
                Kind::of::<BackupConfiguration>(),
                Kind::of::<BackupBatch>(),
                Kind::of::<BackupSession>(),
            ]);
            // A blueprint may have changed: the targets that name one look again.
            kinds.extend(blueprint_target_kinds());
        }
        if all || restores {
            kinds.extend([Kind::of::<RestoreSession>(), Kind::of::<RestoreBatch>()]);
        }
        for kind in kinds {
            for v in self.store.list_raw(&kind, None).await? {
                if is_final(&kind, &phase_of(&v)) {
                    continue;
                }
                if let Some(r) = ObjRef::of_value(&v) {
                    self.queue.add(r, now);
                }
            }
        }
        Ok(())
    }

    async fn reconcile(&mut self, r: ObjRef) -> Result<(), RunError> {
        let now = self.ctx.clock.now();
        // `--once` restores wait until every backup it starts exists.
        if (r.is::<RestoreSession>() || r.is::<RestoreBatch>())
            && self.once.as_ref().is_some_and(|o| !o.to_trigger.is_empty())
        {
            self.queue.add(r, now + chrono::Duration::seconds(1));
            return Ok(());
        }
        let outcome = dispatch(&r, &self.ctx).await;
        let now = self.ctx.clock.now();
        let result = match outcome {
            Ok(next) => Ok(next),
            Err(e) => {
                let n = self.queue.done(&r, Err(()), now);
                if n == 1 || n.is_multiple_of(10) {
                    tracing::warn!(object = %r, attempt = n, "reconcile failed ({}): {e}", e.label());
                }
                Err(())
            }
        };
        if let Ok(next) = result {
            self.queue.done(&r, Ok(next), now);
        }
        self.observe(&r).await
    }

    /// Prints a session's phase when it changes; keeps `--once`'s books.
    async fn observe(&mut self, r: &ObjRef) -> Result<(), RunError> {
        if r.is::<BackupConfiguration>() || r.is::<BackupBatch>() {
            return self.trigger_if_ready(r).await;
        }
        if is_blueprint_target(r) {
            return self.trigger_auto_backups(r).await;
        }
        if !is_session(r) {
            return Ok(());
        }
        let Some(v) = self.store.get_raw(r).await? else {
            return Ok(());
        };
        let phase = phase_of(&v);
        if let Some(once) = self.once.as_mut() {
            if created_since(&v, once.started) {
                once.tracked.insert(r.clone());
            }
        }
        if self.phases.get(r) != Some(&phase) && !phase.is_empty() {
            println!(
                "{} {}/{}: {}",
                r.kind.kind,
                r.namespace,
                r.name,
                describe(&v)
            );
            self.phases.insert(r.clone(), phase);
        }
        Ok(())
    }

    /// What `--once` is responsible for, decided after the first apply.
    async fn plan_once(&self, now: DateTime<Utc>) -> Result<Once, RunError> {
        let mut once = Once {
            started: now,
            ..Default::default()
        };
        for p in &self.problems {
            once.summary
                .failures
                .push(format!("manifest not applied: {p}"));
        }
        let mut invokers: Vec<(ObjRef, BackupInvoker)> = Vec::new();
        for bc in self
            .store
            .list::<BackupConfiguration>(None, &Selector::all())
            .await?
        {
            invokers.push((ObjRef::to(&bc), BackupInvoker::from(&bc)));
        }
        for b in self
            .store
            .list::<BackupBatch>(None, &Selector::all())
            .await?
        {
            invokers.push((ObjRef::to(&b), BackupInvoker::from(&b)));
        }
        let sessions = self
            .store
            .list::<BackupSession>(None, &Selector::all())
            .await?;
        for (r, inv) in invokers {
            if never_ran(&inv, &sessions) {
                once.to_trigger.insert(r);
            }
        }
        for (r, phase) in &self.phases {
            if !is_final(&r.kind, phase) {
                once.tracked.insert(r.clone());
            }
        }
        Ok(once)
    }

    /// `--once`: a never-run backup invoker gets its session when it is Ready; one that its
    /// reconcile found not Ready is reported instead.
    async fn trigger_if_ready(&mut self, r: &ObjRef) -> Result<(), RunError> {
        let Some(once) = self.once.as_mut() else {
            return Ok(());
        };
        if !once.to_trigger.contains(r) {
            return Ok(());
        }
        let store = self.store.as_ref();
        let Some(inv) = BackupInvoker::get(store, &r.namespace, &r.kind.kind, &r.name).await?
        else {
            once.to_trigger.remove(r);
            return Ok(());
        };
        match inv.phase {
            None => {}
            Some(BackupInvokerPhase::Ready) => {
                // As the schedule would: a session of this tick, with the invoker's retries.
                let tick = self.ctx.clock.now().timestamp();
                let created = self
                    .store
                    .create(&backup_session::new_session(&inv, Some(tick)))
                    .await?;
                once.tracked.insert(ObjRef::to(&created));
                once.to_trigger.remove(r);
                self.queue.add(ObjRef::to(&created), self.ctx.clock.now());
            }
            Some(phase) => {
                let conditions: Vec<Condition> = match inv.kind {
                    crate::invoker::BACKUP_BATCH => store
                        .get::<BackupBatch>(&r.namespace, &r.name)
                        .await?
                        .and_then(|b| b.status)
                        .and_then(|s| s.conditions),
                    _ => store
                        .get::<BackupConfiguration>(&r.namespace, &r.name)
                        .await?
                        .and_then(|b| b.status)
                        .and_then(|s| s.conditions),
                }
                .unwrap_or_default();
                let why = conditions
                    .iter()
                    .filter(|c| !c.is_true())
                    .map(|c| c.message.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("; ");
                once.summary
                    .failures
                    .push(format!("{} {r}: {phase:?}: {why}", inv.kind));
                once.to_trigger.remove(r);
            }
        }
        Ok(())
    }

    /// `--once`: a BackupConfiguration auto-backup made for target `r` while it ran gets its
    /// first session too.
    async fn trigger_auto_backups(&mut self, r: &ObjRef) -> Result<(), RunError> {
        if self.once.is_none() {
            return Ok(());
        }
        let selector = Selector::labels([
            (backup_blueprint::LABEL_KIND, r.kind.kind.as_str()),
            (backup_blueprint::LABEL_NAME, r.name.as_str()),
            (backup_blueprint::LABEL_NAMESPACE, r.namespace.as_str()),
        ]);
        let made = self
            .store
            .list::<BackupConfiguration>(None, &selector)
            .await?;
        let sessions = self
            .store
            .list::<BackupSession>(None, &Selector::all())
            .await?;
        let once = self.once.as_mut().expect("checked above");
        for bc in made {
            if never_ran(&BackupInvoker::from(&bc), &sessions) {
                once.to_trigger.insert(ObjRef::to(&bc));
            }
        }
        Ok(())
    }

    /// `--once` is done when no invoker waits for its session and every tracked session is
    /// final with no retry to come.
    async fn once_finished(&mut self) -> Result<bool, RunError> {
        let Some(once) = self.once.as_ref() else {
            return Ok(false);
        };
        if !once.to_trigger.is_empty() {
            return Ok(false);
        }
        // Sessions made while it ran (a retry, a schedule's tick) are `--once`'s too, also
        // those not observed yet.
        let started = once.started;
        let mut made = Vec::new();
        for kind in [Kind::of::<BackupSession>(), Kind::of::<RestoreSession>()] {
            for v in self.store.list_raw(&kind, None).await? {
                if created_since(&v, started) {
                    made.extend(ObjRef::of_value(&v));
                }
            }
        }
        let once = self.once.as_mut().expect("checked above");
        once.tracked.extend(made);
        let once = self.once.as_ref().expect("checked above");
        let mut lines = Vec::new();
        let mut failures = Vec::new();
        for r in &once.tracked {
            let Some(v) = self.store.get_raw(r).await? else {
                continue;
            };
            let phase = phase_of(&v);
            // An Invalid session waits for its spec to change: for `--once` it is a failure.
            if !is_final(&r.kind, &phase) && phase != "Invalid" {
                return Ok(false);
            }
            let retry_left = v
                .pointer("/spec/retryLeft")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let retried = v.pointer("/status/retried").and_then(Value::as_bool) == Some(true);
            if phase == "Failed" && r.is::<BackupSession>() && retry_left > 0 && !retried {
                return Ok(false);
            }
            let line = format!(
                "{} {}/{}: {}",
                r.kind.kind,
                r.namespace,
                r.name,
                describe(&v)
            );
            if phase != "Succeeded" && !retried {
                failures.push(line.clone());
            }
            lines.push(line);
        }
        let once = self.once.as_mut().expect("checked above");
        once.summary.sessions = lines;
        once.summary.failures.extend(failures);
        Ok(true)
    }
}

/// Whether object `v` was created at or after `t` (creation times have whole seconds).
fn created_since(v: &Value, t: DateTime<Utc>) -> bool {
    let second = t.timestamp();
    v.pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<DateTime<Utc>>().ok())
        .is_some_and(|c| c.timestamp() >= second)
}

/// Whether `inv` is active and has no session yet.
fn never_ran(inv: &BackupInvoker, sessions: &[BackupSession]) -> bool {
    if inv.paused || inv.metadata.deletion_timestamp.is_some() {
        return false;
    }
    !sessions.iter().any(|s| {
        s.metadata.namespace == inv.metadata.namespace
            && s.spec
                .invoker
                .as_ref()
                .is_some_and(|i| i.kind == inv.kind && Some(&i.name) == inv.metadata.name.as_ref())
    })
}

/// The kinds a `stash.appscode.com/backup-blueprint` annotation can be on.
fn blueprint_target_kinds() -> Vec<Kind> {
    use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;
    vec![
        Kind::of::<stash::api::AppBinding>(),
        Kind::of::<PersistentVolumeClaim>(),
        Kind::of::<Deployment>(),
        Kind::of::<StatefulSet>(),
        Kind::of::<DaemonSet>(),
    ]
}

fn is_blueprint_target(r: &ObjRef) -> bool {
    blueprint_target_kinds().contains(&r.kind)
}

/// The kinds local mode reconciles.
fn reconciled_kinds() -> Vec<Kind> {
    vec![
        Kind::of::<BackupConfiguration>(),
        Kind::of::<BackupBatch>(),
        Kind::of::<CronJob>(),
        Kind::of::<BackupSession>(),
        Kind::of::<RestoreSession>(),
        Kind::of::<RestoreBatch>(),
        Kind::of::<Repository>(),
    ]
    .into_iter()
    .chain(blueprint_target_kinds())
    .collect()
}

/// Reads `r` and runs its kind's reconciler; an object that is gone needs nothing.
async fn dispatch(r: &ObjRef, ctx: &Ctx) -> crate::error::Result<Next> {
    async fn load<T: Object>(r: &ObjRef, ctx: &Ctx) -> crate::error::Result<Option<T>> {
        Ok(ctx.store.get::<T>(&r.namespace, &r.name).await?)
    }
    if is_blueprint_target(r) {
        return backup_blueprint::reconcile(r, ctx).await;
    }
    if r.is::<BackupConfiguration>() {
        if let Some(o) = load::<BackupConfiguration>(r, ctx).await? {
            return backup_configuration::reconcile(&o, ctx).await;
        }
    } else if r.is::<BackupBatch>() {
        if let Some(o) = load::<BackupBatch>(r, ctx).await? {
            return backup_configuration::reconcile_batch(&o, ctx).await;
        }
    } else if r.is::<CronJob>() {
        if let Some(o) = load::<CronJob>(r, ctx).await? {
            return cronjob::reconcile(&o, ctx).await;
        }
    } else if r.is::<BackupSession>() {
        if let Some(o) = load::<BackupSession>(r, ctx).await? {
            return backup_session::reconcile(&o, ctx).await;
        }
    } else if r.is::<RestoreSession>() {
        if let Some(o) = load::<RestoreSession>(r, ctx).await? {
            return restore_session::reconcile(&o, ctx).await;
        }
    } else if r.is::<RestoreBatch>() {
        if let Some(o) = load::<RestoreBatch>(r, ctx).await? {
            return restore_batch::reconcile(&o, ctx).await;
        }
    } else if r.is::<Repository>() {
        if let Some(o) = load::<Repository>(r, ctx).await? {
            return repository::reconcile(&o, ctx).await;
        }
    }
    Ok(Next::Wait)
}

/// `Succeeded (12s)`, or `Failed: <why>`: a session's phase and what a user wants next to it.
fn describe(v: &Value) -> String {
    let phase = phase_of(v);
    let duration = v
        .pointer("/status/sessionDuration")
        .and_then(Value::as_str)
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    if phase != "Failed" && phase != "Skipped" {
        return format!("{phase}{duration}");
    }
    format!("{phase}{duration}: {}", failure_reason(v))
}

/// The first thing that says why a session did not succeed: a host's error, else a condition.
fn failure_reason(v: &Value) -> String {
    let conditions = |x: &Value| -> Vec<Value> {
        x.get("conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let status = v.get("status").cloned().unwrap_or_default();
    let mut hosts: Vec<Value> = status
        .get("stats")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut conds = conditions(&status);
    let targets = ["targets", "members"]
        .iter()
        .filter_map(|k| status.get(*k).and_then(Value::as_array))
        .flatten();
    for t in targets {
        hosts.extend(
            t.get("stats")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        conds.extend(conditions(t));
    }
    let host_error = hosts
        .iter()
        .find_map(|h| h.get("error").and_then(Value::as_str).map(str::to_string));
    let bad_condition = conds.iter().find_map(|c| {
        let bad = match c.get("type").and_then(Value::as_str) {
            Some("BackupSkipped" | "DeadlineExceeded" | "BackupDisrupted") => {
                c.get("status").and_then(Value::as_str) == Some("True")
            }
            _ => c.get("status").and_then(Value::as_str) == Some("False"),
        };
        bad.then(|| {
            c.get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
    });
    host_error
        .or(bad_condition)
        .unwrap_or_else(|| "no reason recorded".into())
}
