//! Addons meet the repository: wait for the database, then stream a dump into a snapshot, or
//! a snapshot's file into the database — the library form of Stash's
//! `<dump> | restic backup --stdin` and `restic dump | <load>` pipelines, with no shell, no
//! temporary file, and a bounded pipe in between.
//!
//! Both directions hash the bytes that cross the pipe, so a caller can prove the stream a
//! restore consumed is the one the backup produced (and what `restic dump` prints).
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use stash::engine::archiver::stream::backup_stream;
use stash::engine::archiver::{BackupStats, Progress, SnapshotOptions};
use stash::engine::restorer::{dump_content, find_node};
use stash::engine::snapshot::{select, SnapshotEntry, SnapshotFilter, DEFAULT_HOST};
use stash::engine::Repository;
use tokio::io::{AsyncRead, ReadBuf};

use crate::addon::{Addon, Ctx, ProbeInfo, Report};
use crate::error::{chain, AddonError, Result};
use crate::pipe::pipe;

/// Stash's default `waitTimeout` (seconds in the catalog's `--wait-timeout=${waitTimeout:=300}`).
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(300);
/// Chunks in flight between addon and engine (× 256 KiB).
const PIPE_CHUNKS: usize = 16;

/// Probe until ready, at most `timeout`. A non-retryable failure (wrong password) ends the wait
/// at once; otherwise the last failure is reported when time runs out.
pub async fn wait_ready(addon: &dyn Addon, timeout: Duration) -> Result<ProbeInfo> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(250);
    // A probe cut short by the deadline says less than the error of the one before it.
    let mut last_error: Option<String> = None;
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        let attempt = tokio::time::timeout(
            left.clamp(Duration::from_millis(100), Duration::from_secs(10)),
            addon.probe(),
        )
        .await;
        let last = match attempt {
            Ok(Ok(info)) => return Ok(info),
            Ok(Err(e)) if !e.is_retryable() => return Err(e),
            Ok(Err(e)) => {
                let text = chain(&e);
                last_error = Some(text.clone());
                text
            }
            Err(_) => match &last_error {
                Some(before) => format!("probe timed out; the one before: {before}"),
                None => "probe timed out".to_string(),
            },
        };
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(AddonError::NotReady {
                addon: addon.capabilities().kind,
                target: addon.target(),
                waited: timeout,
                last,
            });
        }
        tracing::info!(target = %addon.target(), %last, "waiting for the database");
        tokio::time::sleep(delay.min(left)).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Where a backup goes.
#[derive(Clone)]
pub struct BackupRequest {
    pub repo: Arc<Repository>,
    /// Host (`host-0` or the target alias), tags, time.
    pub snapshot: SnapshotOptions,
    pub wait_timeout: Duration,
}

impl BackupRequest {
    pub fn new(repo: Arc<Repository>) -> BackupRequest {
        BackupRequest {
            repo,
            snapshot: SnapshotOptions::default(),
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StreamDigest {
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug)]
pub struct BackupOutcome {
    pub snapshot: SnapshotEntry,
    pub stats: BackupStats,
    pub server: ProbeInfo,
    pub report: Report,
    pub stream: StreamDigest,
    pub duration: Duration,
}

/// Dump the database into a new snapshot holding `/<file_name>`. No snapshot is written unless
/// the dump ended successfully.
pub async fn backup(
    addon: &dyn Addon,
    req: &BackupRequest,
    ctx: &Ctx,
    progress: Arc<Progress>,
) -> Result<BackupOutcome> {
    let start = Instant::now();
    let server = wait_ready(addon, req.wait_timeout).await?;
    let caps = addon.capabilities();
    let (mut w, r) = pipe(PIPE_CHUNKS);
    let mut hashed = Hashing::new(r);
    let produce = async {
        match addon.backup(ctx, &mut w).await {
            Ok(rep) => {
                let reader_alive = w.finish().await;
                (Ok(rep), reader_alive)
            }
            Err(e) => {
                let reader_alive = w.fail(chain(&e)).await;
                (Err(e), reader_alive)
            }
        }
    };
    let consume = backup_stream(
        req.repo.clone(),
        &mut hashed,
        caps.file_name,
        &req.snapshot,
        progress,
    );
    let ((produced, reader_alive), consumed) = tokio::join!(produce, consume);
    match (produced, consumed) {
        (Ok(report), Ok((snapshot, stats))) => Ok(BackupOutcome {
            snapshot,
            stats,
            server,
            report,
            stream: hashed.digest(),
            duration: start.elapsed(),
        }),
        // The dump failed while the engine was still reading: the dump is the cause.
        (Err(e), _) if reader_alive => Err(e),
        (_, Err(e)) => Err(AddonError::repo("storing the dump in the repository", e)),
        (Err(e), Ok(_)) => Err(e),
    }
}

/// Which snapshot a restore reads.
#[derive(Clone)]
pub struct RestoreRequest {
    pub repo: Arc<Repository>,
    /// A snapshot id (or prefix), or `latest` (Stash's default).
    pub snapshot: String,
    /// Host whose snapshots `latest` considers (`--source-hostname`; default `host-0`).
    pub source_host: String,
    pub wait_timeout: Duration,
}

impl RestoreRequest {
    pub fn latest(repo: Arc<Repository>) -> RestoreRequest {
        RestoreRequest {
            repo,
            snapshot: "latest".into(),
            source_host: DEFAULT_HOST.into(),
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
        }
    }
}

#[derive(Debug)]
pub struct RestoreOutcome {
    pub snapshot: SnapshotEntry,
    pub server: ProbeInfo,
    pub report: Report,
    /// What the addon consumed (equals what `restic dump` prints for the same snapshot).
    pub stream: StreamDigest,
    pub duration: Duration,
}

/// Load `/<file_name>` of the chosen snapshot into the database.
pub async fn restore(
    addon: &dyn Addon,
    req: &RestoreRequest,
    ctx: &Ctx,
    progress: Arc<Progress>,
) -> Result<RestoreOutcome> {
    let start = Instant::now();
    let caps = addon.capabilities();
    let path = format!("/{}", caps.file_name);
    let snaps = req
        .repo
        .snapshots()
        .await
        .map_err(|e| AddonError::repo("listing snapshots", e))?;
    let filter = SnapshotFilter {
        hosts: vec![req.source_host.clone()],
        paths: vec![path.clone()],
        tags: vec![],
    };
    let snap = select(&snaps, &req.snapshot, &filter)
        .map_err(|e| AddonError::Invalid(format!("choosing the snapshot to restore: {e}")))?
        .clone();
    req.repo
        .load_index()
        .await
        .map_err(|e| AddonError::repo("loading the repository index", e))?;
    let node = find_node(&req.repo, &snap.snapshot.tree, &path)
        .await
        .map_err(|e| {
            AddonError::repo(format!("finding {path} in snapshot {}", snap.id.short()), e)
        })?;
    if !node.is_file() {
        return Err(AddonError::Invalid(format!(
            "{path} in snapshot {} is not a file",
            snap.id.short()
        )));
    }
    let server = wait_ready(addon, req.wait_timeout).await?;
    let content = node.content.clone().unwrap_or_default();
    let (mut w, r) = pipe(PIPE_CHUNKS);
    let mut hashed = Hashing::new(r);
    let repo = req.repo.clone();
    let produce = async {
        match dump_content(&repo, &content, &mut w, &progress).await {
            Ok(_) => {
                w.finish().await;
                Ok(())
            }
            Err(e) => {
                let msg = e.to_string();
                w.fail(msg).await;
                Err(e)
            }
        }
    };
    let consume = addon.restore(ctx, &mut hashed);
    let (produced, consumed) = tokio::join!(produce, consume);
    match (produced, consumed) {
        (Ok(()), Ok(report)) => Ok(RestoreOutcome {
            snapshot: snap,
            server,
            report,
            stream: hashed.digest(),
            duration: start.elapsed(),
        }),
        (Err(e), _) => Err(AddonError::repo(
            format!("reading {path} of snapshot {}", snap.id.short()),
            e,
        )),
        (Ok(()), Err(e)) => Err(e),
    }
}

/// Counts and hashes what is read through it.
pub struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R> Hashing<R> {
    pub fn new(inner: R) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }
    pub fn digest(&self) -> StreamDigest {
        StreamDigest {
            bytes: self.bytes,
            sha256: hex::encode(self.hash.clone().finalize()),
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Hashing<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let new = &buf.filled()[before..];
            let n = new.len() as u64;
            // Split borrow: hash the new bytes.
            let this = &mut *self;
            this.hash.update(new);
            this.bytes += n;
        }
        r
    }
}
