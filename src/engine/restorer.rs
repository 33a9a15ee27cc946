//! Restore: snapshots back to folders, and single files to streams (restic's `dump`).
//!
//! A file's blobs are grouped into runs of neighbours in the same pack, each run fetched with
//! one ranged read; runs are decrypted, decompressed and verified on all cores in parallel.
//! Into a regular file each blob is written at its offset by the thread that decoded it
//! ([`write_runs_at`]); into a pipe the runs are written strictly in order (`buffered`). So
//! restore speed is bounded by the slower of storage and the cores, not by one writer. Every
//! blob is checked against its id before it is written.
//!
//! Restore is CPU-bound on a local repository (zstd, SHA-256, Poly1305 and the kernel's copy
//! into the page cache, in that order, per profile), so the pipeline avoids everything else:
//! read and output buffers are pooled and reused (fresh multi-MiB buffers cost a page fault per
//! 4 KiB), zstd contexts live per thread, and files are written from the decoded buffers by
//! blocking threads without a copy through an async writer.
//!
//! [`restore_mapped`] writes a snapshot taken inside a pod back to the host folders behind the
//! pod's paths (a [`PathMap`]); [`restore`] is the plain case, everything below one folder.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::OnceCell;

use super::archiver::fs::PathMatcher;
use super::archiver::Progress;
use super::backend::FileType;
use super::bufpool::BufferPool;
use super::index::BlobLocation;
use super::pack::BlobType;
use super::pathmap::{child_path, PathMap};
use super::repo::{RepoError, Repository, Result};
use super::tree::{gomode, Node, Tree};
use super::writeback::Writeback;
use super::Id;

/// Entries of one folder restored at once: small files are mostly per-file work (create,
/// write, set metadata), which one at a time leaves the cores idle. Folders nest, so this
/// multiplies with depth; each file's own reads are bounded by the decode pipeline.
const RESTORE_FANOUT: usize = 8;

/// Largest single ranged read when restoring.
const MAX_RUN: u64 = 4 << 20;

/// Load and parse a tree blob.
pub async fn load_tree(repo: &Repository, id: &Id) -> Result<Tree> {
    let blob = repo.read_blob(BlobType::Tree, id).await?;
    Tree::from_blob(&blob).map_err(|e| RepoError::Json {
        what: format!("tree {}", id.short()),
        source: e,
    })
}

/// Find the node at `path` (e.g. `/dumpfile.sql`) below the tree `root`.
pub async fn find_node(repo: &Repository, root: &Id, path: &str) -> Result<Node> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Err(RepoError::Other(
            "path names the snapshot root; give a file path such as /dumpfile.sql".into(),
        ));
    }
    let mut tree_id = *root;
    for (i, part) in parts.iter().enumerate() {
        let tree = load_tree(repo, &tree_id).await?;
        let node = tree
            .find(part)
            .ok_or_else(|| RepoError::Other(format!("path {path:?} is not in the snapshot")))?
            .clone();
        if i + 1 == parts.len() {
            return Ok(node);
        }
        tree_id = node
            .subtree
            .ok_or_else(|| RepoError::Other(format!("path {path:?}: {part} is not a directory")))?;
    }
    unreachable!("loop returns on the last part")
}

struct Run {
    pack: Id,
    start: u64,
    end: u64,
    blobs: Vec<(Id, BlobLocation)>,
}

impl Run {
    /// Plaintext bytes of the run's blobs.
    fn plain_len(&self) -> usize {
        let plain = |l: &BlobLocation| match l.uncompressed_length {
            Some(n) => n as usize,
            None => (l.length as usize).saturating_sub(super::crypto::OVERHEAD),
        };
        self.blobs.iter().map(|(_, l)| plain(l)).sum()
    }
}

fn plan_runs(repo: &Repository, content: &[Id]) -> Result<Vec<Run>> {
    let idx = repo.index();
    let mut runs: Vec<Run> = Vec::new();
    for id in content {
        let loc = idx.get(BlobType::Data, id).ok_or(RepoError::BlobNotFound {
            blob_type: BlobType::Data,
            id: *id,
        })?;
        let (off, end) = (loc.offset as u64, loc.offset as u64 + loc.length as u64);
        if let Some(r) = runs.last_mut() {
            if r.pack == loc.pack && r.end == off && end - r.start <= MAX_RUN {
                r.end = end;
                r.blobs.push((*id, loc));
                continue;
            }
        }
        runs.push(Run {
            pack: loc.pack,
            start: off,
            end,
            blobs: vec![(*id, loc)],
        });
    }
    Ok(runs)
}

/// Write the file made of `content` to `out`, in order. Returns the bytes written.
pub async fn dump_content<W: AsyncWrite + Unpin>(
    repo: &Arc<Repository>,
    content: &[Id],
    out: &mut W,
    progress: &Progress,
) -> Result<u64> {
    let mut sink = AsyncSink(out);
    let runs = plan_runs(repo, content)?;
    dump_into(repo, runs, &mut sink, &run_pool(), progress).await
}

/// [`dump_content`] into a file (or stdout as a file), written from the decoded buffers by
/// blocking threads without the extra copy an `AsyncWrite` makes. A regular file is written
/// out of order ([`write_runs_at`]) and left positioned after the content, as a sequential
/// write would leave it; a pipe or a terminal is written in order. Not synced here. Returns
/// the bytes written.
pub async fn dump_content_to_file(
    repo: &Arc<Repository>,
    content: &[Id],
    file: &std::fs::File,
    progress: &Progress,
) -> Result<u64> {
    use std::io::{Seek, SeekFrom};
    let runs = plan_runs(repo, content)?;
    let writer = file.try_clone().map_err(RepoError::Output)?;
    match write_position(file) {
        Some(base) => {
            let n = write_runs_at(repo, runs, writer, base, false, &run_pool(), progress).await?;
            (&*file)
                .seek(SeekFrom::Start(base + n))
                .map_err(RepoError::Output)?;
            Ok(n)
        }
        None => {
            let mut sink = FileSink(Some(writer));
            dump_into(repo, runs, &mut sink, &run_pool(), progress).await
        }
    }
}

/// Where `file` is written next, when it can be written at any offset: a regular file not
/// opened for appending.
fn write_position(file: &std::fs::File) -> Option<u64> {
    use std::os::fd::AsRawFd;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    // SAFETY: F_GETFL on a descriptor borrowed for the call; it changes nothing.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 || flags & libc::O_APPEND != 0 {
        return None;
    }
    std::io::Seek::stream_position(&mut &*file).ok()
}

/// Write `runs` into `file` from offset `base` on, out of order: each blob is written at its
/// place by the thread that decoded and verified it, while it is still in that core's cache,
/// so no decoder waits for an ordered writer and no write reads its data back from memory
/// (ordered, the kernel's copy into the page cache took 12 % of a 1 GiB dump's CPU time, 3 %
/// this way). With `sparse` a blob of zeros is left a hole and the file is given its full
/// length at the end. Returns the bytes written, holes included.
///
/// After an error no further run is started and those under way finish (none writes after
/// this returns); the file is then cut back to the end of the runs complete from the start,
/// what an ordered writer would have left (never a stretch of zeros where data failed), and
/// the first error is returned.
async fn write_runs_at(
    repo: &Arc<Repository>,
    runs: Vec<Run>,
    file: std::fs::File,
    base: u64,
    sparse: bool,
    pool: &Arc<BufferPool>,
    progress: &Progress,
) -> Result<u64> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let file = Arc::new(file);
    let stop = Arc::new(AtomicBool::new(false));
    // Where each run starts, and where the content ends.
    let mut starts = Vec::with_capacity(runs.len() + 1);
    starts.push(base);
    for run in &runs {
        starts.push(starts[starts.len() - 1] + run.plain_len() as u64);
    }
    let work = runs.into_iter().enumerate().map(|(i, run)| {
        let (repo, pool, file, stop) = (repo.clone(), pool.clone(), file.clone(), stop.clone());
        let at = starts[i];
        async move {
            if stop.load(Ordering::Relaxed) {
                return (i, None);
            }
            let raw = if repo.backend().reads_blocking() {
                None
            } else {
                match read_run(&repo, &pool, &run).await {
                    Ok(raw) => Some(raw),
                    Err(e) => return (i, Some(Err(e))),
                }
            };
            let written = blocking(move || {
                let raw = match raw {
                    Some(raw) => raw,
                    None => read_run_blocking(&repo, &pool, &run)?,
                };
                decode_run_at(&repo, &pool, &run, raw, &file, at, sparse)
            })
            .await;
            (i, Some(written))
        }
    });
    let mut in_flight = futures::stream::iter(work).buffer_unordered(runs_in_flight());
    let mut done = vec![false; starts.len() - 1];
    let mut first_err = None;
    while let Some((i, r)) = in_flight.next().await {
        match r {
            Some(Ok(n)) => {
                done[i] = true;
                Progress::add(&progress.bytes_read, n);
            }
            Some(Err(e)) => {
                stop.store(true, Ordering::Relaxed);
                first_err.get_or_insert(e);
            }
            None => {}
        }
    }
    let end = starts[starts.len() - 1];
    if let Some(e) = first_err {
        let complete = done.iter().position(|d| !d).map_or(end, |i| starts[i]);
        if let Err(cut) = file.set_len(complete) {
            tracing::warn!(error = %cut, "could not cut a failed restore's output back");
        }
        return Err(e);
    }
    if sparse {
        file.set_len(end).map_err(RepoError::Output)?;
    }
    Ok(end - base)
}

/// Decode a run's blobs one at a time, each written at its place in `file` (the run starts
/// at `at`) once verified; `raw` goes back to the pool. Returns the run's bytes.
fn decode_run_at(
    repo: &Repository,
    pool: &BufferPool,
    run: &Run,
    mut raw: Vec<u8>,
    file: &std::fs::File,
    at: u64,
    sparse: bool,
) -> Result<u64> {
    use std::os::unix::fs::FileExt;
    let mut blob = pool.take();
    let mut pos = at;
    let mut write_blobs = || {
        for (id, loc) in &run.blobs {
            let a = (loc.offset as u64 - run.start) as usize;
            let b = a + loc.length as usize;
            blob.clear();
            repo.decode_blob_append(BlobType::Data, id, loc, &mut raw[a..b], &mut blob)?;
            if !(sparse && all_zero(&blob)) {
                file.write_all_at(&blob, pos).map_err(RepoError::Output)?;
            }
            pos += blob.len() as u64;
        }
        Ok(pos - at)
    };
    let res = write_blobs();
    pool.give(raw);
    pool.give(blob);
    res
}

/// Where decoded runs go, in order. Each buffer is handed back for reuse.
trait RunSink {
    async fn put(&mut self, buf: Vec<u8>) -> std::io::Result<Vec<u8>>;
    async fn finish(&mut self) -> std::io::Result<()>;
}

struct AsyncSink<'w, W>(&'w mut W);

impl<W: AsyncWrite + Unpin> RunSink for AsyncSink<'_, W> {
    async fn put(&mut self, buf: Vec<u8>) -> std::io::Result<Vec<u8>> {
        self.0.write_all(&buf).await?;
        Ok(buf)
    }
    async fn finish(&mut self) -> std::io::Result<()> {
        self.0.flush().await
    }
}

/// Writes runs in order to a file that cannot be written at an offset (a pipe).
struct FileSink(Option<std::fs::File>);

impl RunSink for FileSink {
    async fn put(&mut self, buf: Vec<u8>) -> std::io::Result<Vec<u8>> {
        use std::io::Write;
        let mut f = self
            .0
            .take()
            .ok_or_else(|| std::io::Error::other("an earlier write failed"))?;
        let (res, f, buf) = tokio::task::spawn_blocking(move || {
            let res = f.write_all(&buf);
            (res, f, buf)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.0 = Some(f);
        res.map(|()| buf)
    }
    async fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Write the whole content of a new file; when it is all zeros only give the file its
/// length (a hole costs no disk).
fn write_whole(f: &std::fs::File, buf: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if all_zero(buf) {
        f.set_len(buf.len() as u64)
    } else {
        (&*f).write_all(buf)
    }
}

fn all_zero(buf: &[u8]) -> bool {
    // Word-sized blocks: the compiler vectorises the inner fold, and text stops at once.
    buf.chunks(64)
        .all(|c| c.iter().fold(0u8, |a, &b| a | b) == 0)
}

/// The restore pipeline. A producer task reads runs (ranged reads, several in flight) and
/// decodes them on blocking threads, all cores at once; this task writes them in order. The
/// two are joined by a short queue so reading and decoding go on while a write is under way.
async fn dump_into<S: RunSink>(
    repo: &Arc<Repository>,
    runs: Vec<Run>,
    sink: &mut S,
    pool: &Arc<BufferPool>,
    progress: &Progress,
) -> Result<u64> {
    let parallel = runs_in_flight();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>>>(2);
    let producer = {
        let (repo, pool) = (repo.clone(), pool.clone());
        tokio::spawn(async move {
            // Each run is its own task, so its read and decode go on while this task waits
            // for room in the queue (a run polled only from here would wait with it, and a
            // core would idle).
            let mut decoded = futures::stream::iter(runs)
                .map(|run| tokio::spawn(decode_run(repo.clone(), pool.clone(), run)))
                .buffered(parallel);
            while let Some(r) = decoded.next().await {
                let r = r.unwrap_or_else(|e| Err(RepoError::Other(format!("restore worker: {e}"))));
                let failed = r.is_err();
                if tx.send(r).await.is_err() || failed {
                    break; // the writer gave up, or this is the error it will report
                }
            }
        })
    };
    let write_err = RepoError::Output;
    let mut n = 0u64;
    let result = async {
        while let Some(decoded_run) = rx.recv().await {
            let buf = sink.put(decoded_run?).await.map_err(write_err)?;
            n += buf.len() as u64;
            Progress::add(&progress.bytes_read, buf.len() as u64);
            pool.give(buf);
        }
        sink.finish().await.map_err(write_err)
    }
    .await;
    drop(rx);
    producer
        .await
        .map_err(|e| RepoError::Other(format!("restore reader: {e}")))?;
    result.map(|()| n)
}

/// Runs in flight: enough to keep every core decoding while one run is being read and one
/// written; each holds up to ~4 MiB read and ~12 MiB decoded.
fn runs_in_flight() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        + 2
}

/// The buffers of one file's (or one restore's) runs in flight.
fn run_pool() -> Arc<BufferPool> {
    Arc::new(BufferPool::new(2 * runs_in_flight() + 4))
}

/// Fetch one run with a single ranged read, into a buffer of `pool`.
async fn read_run(repo: &Repository, pool: &BufferPool, run: &Run) -> Result<Vec<u8>> {
    let mut raw = pool.take();
    repo.backend()
        .read_range_into(
            FileType::Pack,
            &run.pack.to_hex(),
            run.start,
            run.end - run.start,
            &mut raw,
        )
        .await?;
    Ok(raw)
}

/// Decrypt, decompress and verify a run's blobs (blocking work) into a buffer of `pool`;
/// `raw` goes back to the pool.
fn decode_run_blocking(
    repo: &Repository,
    pool: &BufferPool,
    run: &Run,
    mut raw: Vec<u8>,
) -> Result<Vec<u8>> {
    let mut out = pool.take();
    // The lengths come from the index; a damaged one may claim gigabytes, so reserve no
    // more than a few runs' worth up front (decoding grows the buffer as it goes).
    out.reserve(run.plain_len().min(16 * MAX_RUN as usize));
    for (id, loc) in &run.blobs {
        let a = (loc.offset as u64 - run.start) as usize;
        let b = a + loc.length as usize;
        if let Err(e) = repo.decode_blob_append(BlobType::Data, id, loc, &mut raw[a..b], &mut out) {
            pool.give(raw);
            pool.give(out);
            return Err(e);
        }
    }
    pool.give(raw);
    Ok(out)
}

/// Fetch one run with a single ranged read and decode its blobs on a blocking thread (from a
/// local folder the read is made on that thread too).
async fn decode_run(repo: Arc<Repository>, pool: Arc<BufferPool>, run: Run) -> Result<Vec<u8>> {
    let raw = if repo.backend().reads_blocking() {
        None
    } else {
        Some(read_run(&repo, &pool, &run).await?)
    };
    blocking(move || {
        let raw = match raw {
            Some(raw) => raw,
            None => read_run_blocking(&repo, &pool, &run)?,
        };
        decode_run_blocking(&repo, &pool, &run, raw)
    })
    .await
}

/// [`read_run`] on this thread, where the backend [`reads_blocking`](super::Backend::reads_blocking).
fn read_run_blocking(repo: &Repository, pool: &BufferPool, run: &Run) -> Result<Vec<u8>> {
    let mut raw = pool.take();
    repo.backend().read_range_blocking(
        FileType::Pack,
        &run.pack.to_hex(),
        run.start,
        run.end - run.start,
        &mut raw,
    )?;
    Ok(raw)
}

/// Restore options: which paths (patterns on the path inside the snapshot).
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// Counts of a restore.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RestoreStats {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
}

struct Restorer<'a> {
    repo: &'a Arc<Repository>,
    include: PathMatcher,
    exclude: PathMatcher,
    map: &'a PathMap,
    progress: &'a Progress,
    is_root: bool,
    /// Read and decoded buffers, shared by every file of the restore.
    pool: Arc<BufferPool>,
    /// Where the first file of each hard-link group (device, inode) was restored.
    hardlinks: HardLinks,
    /// Files being restored at once, across all folders ([`RESTORE_FANOUT`] multiplies with
    /// depth: unbounded, 30 000 small files made 500 blocking threads that spent more time
    /// waking each other than working).
    files: tokio::sync::Semaphore,
    /// Makes what was written durable, starting early.
    writeback: Writeback,
    stats: std::sync::Mutex<RestoreStats>,
}

type HardLinks =
    std::sync::Mutex<std::collections::HashMap<(u64, u64), Arc<OnceCell<(PathBuf, u64)>>>>;

fn io_err(p: &Path, e: std::io::Error) -> RepoError {
    RepoError::Other(format!("restoring {}: {e}", p.display()))
}

impl<'a> Restorer<'a> {
    /// Restore the children of `tree` into `dest`, the folder that snapshot path `at` is here
    /// (`None`: on no mount; only mounts further down are restored). `included` means a
    /// parent already matched an include pattern. Returns whether anything was written.
    fn restore_tree(
        &'a self,
        tree: Id,
        dest: Option<PathBuf>,
        at: String,
        included: bool,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let tree = load_tree(self.repo, &tree).await?;
            for node in &tree.nodes {
                if node.name.contains('/')
                    || node.name == ".."
                    || node.name == "."
                    || node.name.is_empty()
                {
                    return Err(RepoError::corrupt(
                        "tree",
                        format!("invalid node name {:?}", node.name),
                    ));
                }
            }
            let mut batches: Vec<Vec<SmallFile>> = Vec::new();
            let mut others = Vec::new();
            for node in tree.nodes {
                match self.small_file(node, dest.as_deref(), &at, included)? {
                    Ok(file) => match batches.last_mut() {
                        Some(b) if fits(b, &file) => b.push(file),
                        _ => batches.push(vec![file]),
                    },
                    Err(node) => others.push(node),
                }
            }
            let mut work: Vec<BoxFuture<'_, Result<bool>>> = Vec::new();
            for b in batches {
                work.push(self.restore_batch(b).boxed());
            }
            for node in others {
                work.push(Box::pin(self.restore_node(
                    node,
                    dest.as_deref(),
                    &at,
                    included,
                )));
            }
            futures::stream::iter(work)
                .buffered(RESTORE_FANOUT)
                .try_fold(false, |any, wrote| async move { Ok(any || wrote) })
                .await
        })
    }

    /// `node` as a [`SmallFile`] of a batch when it is one: a file of at most one run of
    /// blobs, no hard link, in a folder this restore made (`dest`, everything included), on
    /// no mount of its own. Anything else comes back for [`Restorer::restore_node`].
    fn small_file(
        &self,
        node: Node,
        dest: Option<&Path>,
        at: &str,
        included: bool,
    ) -> Result<std::result::Result<SmallFile, Node>> {
        let Some(dest) = dest else {
            return Ok(Err(node));
        };
        if node.node_type != "file"
            || (node.links > 1 && node.inode != 0)
            || !(included || self.include.is_empty())
        {
            return Ok(Err(node));
        }
        let path = child_path(at, &node.name);
        if self.exclude.matches(&path) || self.map.mount_at(&path).is_some() {
            return Ok(Err(node));
        }
        let mut runs = plan_runs(self.repo, node.content.as_deref().unwrap_or_default())?;
        if runs.len() > 1 {
            return Ok(Err(node));
        }
        let target = dest.join(&node.name);
        Ok(Ok(SmallFile {
            node,
            target,
            run: runs.pop(),
        }))
    }

    /// The one run of a small file, read (none when it is empty).
    async fn read_small(&self, file: &SmallFile) -> Result<Option<Vec<u8>>> {
        match &file.run {
            Some(run) => read_run(self.repo, &self.pool, run).await.map(Some),
            None => Ok(None),
        }
    }

    /// Restore a batch of small files of one folder: one blocking call reads (from a local
    /// folder), decodes, writes and sets the metadata of all of them. The per-file cost of a
    /// small file is otherwise thread hand-offs and wake-ups, not work.
    async fn restore_batch(&self, files: Vec<SmallFile>) -> Result<bool> {
        let _permit = self
            .files
            .acquire()
            .await
            .map_err(|_| RepoError::Other("restore stopped".into()))?;
        // Other storage is read first, a few files at once.
        let raws: Vec<Option<Vec<u8>>> = if self.repo.backend().reads_blocking() {
            Vec::new()
        } else {
            let reads: Vec<_> = files.iter().map(|f| self.read_small(f)).collect();
            futures::stream::iter(reads)
                .buffered(runs_in_flight())
                .try_collect()
                .await?
        };
        let count = files.len() as u64;
        let (repo, pool, is_root) = (self.repo.clone(), self.pool.clone(), self.is_root);
        let n = blocking(move || {
            let mut raws = raws.into_iter();
            files.into_iter().try_fold(0, |n, f| {
                Ok(n + restore_small(&repo, &pool, f, raws.next().flatten(), is_root)?)
            })
        })
        .await?;
        {
            let mut s = self.stats.lock().unwrap();
            s.files += count;
            s.bytes += n;
        }
        Progress::add(&self.progress.files, count);
        Progress::add(&self.progress.bytes_read, n);
        self.writeback.wrote(n);
        Ok(true)
    }

    /// Restore one node of a folder whose snapshot path is `at` into `dest` (as
    /// [`Restorer::restore_tree`]); returns whether anything was written.
    async fn restore_node(
        &'a self,
        node: Node,
        dest: Option<&Path>,
        at: &str,
        included: bool,
    ) -> Result<bool> {
        let path = child_path(at, &node.name);
        if self.exclude.matches(&path) {
            return Ok(false);
        }
        let inc = included || self.include.is_empty() || self.include.matches(&path);
        let mounted = self.map.mount_at(&path).map(Path::to_path_buf);
        // Every folder on the way was created when nothing narrows the restore; a mount
        // point's own parent, or a path reached through an include pattern, may be missing.
        let parent_made = mounted.is_none() && (included || self.include.is_empty());
        let Some(target) = mounted.or_else(|| dest.map(|d| d.join(&node.name))) else {
            // Not on any mount: only the way to a mount further down is walked.
            if node.is_dir() && self.map.leads_to_mount(&path) {
                if let Some(sub) = node.subtree {
                    return self.restore_tree(sub, None, path, inc).await;
                }
            }
            return Ok(false);
        };
        if node.is_dir() {
            if inc {
                tokio::fs::create_dir_all(&target)
                    .await
                    .map_err(|e| io_err(&target, e))?;
            }
            let sub = node.subtree.ok_or_else(|| {
                RepoError::corrupt("tree", format!("directory {path} has no subtree"))
            })?;
            let wrote = self
                .restore_tree(sub, Some(target.clone()), path, inc)
                .await?;
            if inc || wrote {
                self.apply_metadata(&node, &target)?;
                self.stats.lock().unwrap().dirs += 1;
            }
            return Ok(inc || wrote);
        }
        if !inc {
            return Ok(false);
        }
        if let Some(parent) = target.parent().filter(|_| !parent_made) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_err(parent, e))?;
        }
        match node.node_type.as_str() {
            "file" => {
                let n = self.restore_linked(&node, &target).await?;
                let mut s = self.stats.lock().unwrap();
                s.files += 1;
                s.bytes += n;
                Progress::add(&self.progress.files, 1);
                return Ok(true); // restore_file set its metadata
            }
            "symlink" => {
                let _ = tokio::fs::remove_file(&target).await;
                std::os::unix::fs::symlink(&node.linktarget, &target)
                    .map_err(|e| io_err(&target, e))?;
            }
            "fifo" => {
                let c = std::ffi::CString::new(target.as_os_str().as_encoded_bytes())
                    .map_err(|_| RepoError::corrupt("tree", format!("{path}: NUL in name")))?;
                // SAFETY: c is a valid NUL-terminated path.
                unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
            }
            other => {
                tracing::warn!(path = %path, kind = other, "skipping special file");
                return Ok(false);
            }
        }
        self.apply_metadata(&node, &target)?;
        Ok(true)
    }

    fn apply_metadata(&self, node: &Node, path: &Path) -> Result<()> {
        set_metadata(node, path, self.is_root)
    }

    /// Restore a file node, as a hard link to an earlier one where the snapshot says it was
    /// one (as restic: more than one link, and the same inode and device as a node restored
    /// before). The first of a group writes the content; the others wait for it and link.
    /// Where linking fails (the two are on different mounts) the content is written again.
    async fn restore_linked(&self, node: &Node, target: &Path) -> Result<u64> {
        if node.links < 2 || node.inode == 0 {
            return self.restore_file(node, target).await;
        }
        let first = self
            .hardlinks
            .lock()
            .unwrap()
            .entry((node.device_id, node.inode))
            .or_default()
            .clone();
        let (first, n) = first
            .get_or_try_init(|| async {
                let n = self.restore_file(node, target).await?;
                Ok::<_, RepoError>((target.to_path_buf(), n))
            })
            .await?;
        if first == target {
            return Ok(*n);
        }
        let (first, link) = (first.clone(), target.to_path_buf());
        let linked = blocking(move || {
            let _ = std::fs::remove_file(&link);
            Ok(std::fs::hard_link(&first, &link).is_ok())
        })
        .await?;
        if linked {
            Ok(0)
        } else {
            self.restore_file(node, target).await
        }
    }

    /// Write a file node's content to `target`, then its metadata; returns the bytes written.
    /// Most small files come in batches ([`Restorer::restore_batch`]); one that does not (a
    /// hard link, a file below an include pattern) is restored as a batch of one. Longer
    /// files go through the ordered pipeline of [`dump_into`].
    async fn restore_file(&self, node: &Node, target: &Path) -> Result<u64> {
        let _permit = self
            .files
            .acquire()
            .await
            .map_err(|_| RepoError::Other("restore stopped".into()))?;
        let content = node.content.as_deref().unwrap_or_default();
        let mut runs = plan_runs(self.repo, content)?;
        let is_root = self.is_root;
        if runs.len() > 1 {
            let f = create_file(target)?;
            // Not synced here: see [`Writeback`].
            let n = write_runs_at(self.repo, runs, f, 0, true, &self.pool, self.progress)
                .await
                .map_err(|e| match e {
                    RepoError::Output(e) => io_err(target, e),
                    e => e,
                })?;
            let (node, target) = (node.clone(), target.to_path_buf());
            blocking(move || set_metadata(&node, &target, is_root)).await?;
            self.writeback.wrote(n);
            return Ok(n);
        }
        let run = runs.pop();
        // A local folder is read in the same blocking call as the rest; other storage first.
        let raw = match &run {
            Some(run) if !self.repo.backend().reads_blocking() => {
                Some(read_run(self.repo, &self.pool, run).await?)
            }
            _ => None,
        };
        let (repo, pool) = (self.repo.clone(), self.pool.clone());
        let file = SmallFile {
            node: node.clone(),
            target: target.to_path_buf(),
            run,
        };
        let n = blocking(move || restore_small(&repo, &pool, file, raw, is_root)).await?;
        Progress::add(&self.progress.bytes_read, n);
        self.writeback.wrote(n);
        Ok(n)
    }
}

/// A file restored in a batch (see [`Restorer::small_file`]): its node, where it goes and
/// its one run of blobs (none when empty).
struct SmallFile {
    node: Node,
    target: PathBuf,
    run: Option<Run>,
}

/// Files of one batch: enough to make a thread hand-off rare, few enough that a folder's
/// batches still spread over the cores.
const BATCH_FILES: usize = 32;

/// Whether `file` joins `batch` (at most [`BATCH_FILES`] files and [`MAX_RUN`] bytes).
fn fits(batch: &[SmallFile], file: &SmallFile) -> bool {
    let bytes = |f: &SmallFile| f.run.as_ref().map_or(0, |r| r.end - r.start);
    batch.len() < BATCH_FILES && batch.iter().map(bytes).sum::<u64>() + bytes(file) <= MAX_RUN
}

/// Restore one small file on this (blocking) thread: its run read here unless `raw` already
/// holds it, decoded, written (a run of zeros as a hole) and given its metadata. Returns the
/// bytes written.
fn restore_small(
    repo: &Repository,
    pool: &BufferPool,
    file: SmallFile,
    raw: Option<Vec<u8>>,
    is_root: bool,
) -> Result<u64> {
    let SmallFile { node, target, run } = file;
    let data = match (run, raw) {
        (Some(run), Some(raw)) => Some(decode_run_blocking(repo, pool, &run, raw)?),
        (Some(run), None) => {
            let raw = read_run_blocking(repo, pool, &run)?;
            Some(decode_run_blocking(repo, pool, &run, raw)?)
        }
        (None, _) => None,
    };
    let f = create_file(&target)?;
    let n = data.as_ref().map_or(0, |d| d.len() as u64);
    if let Some(d) = data {
        let written = write_whole(&f, &d);
        pool.give(d);
        written.map_err(|e| io_err(&target, e))?;
    }
    drop(f);
    set_metadata(&node, &target, is_root)?;
    Ok(n)
}

/// Run blocking restore work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RepoError::Other(format!("restore worker: {e}")))?
}

/// Create (or replace) a file to restore into. What was there is removed first, so a symlink
/// or a hard link at the path is replaced, not written through.
fn create_file(target: &Path) -> Result<std::fs::File> {
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(target)
    };
    // Into an empty folder (the usual restore) the first try succeeds: no unlink per file.
    let f = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(target).map_err(|e| io_err(target, e))?;
            create()
        }
        other => other,
    };
    f.map_err(|e| io_err(target, e))
}

/// Set a restored node's owner (when restoring as root), mode and times.
fn set_metadata(node: &Node, path: &Path, is_root: bool) -> Result<()> {
    if is_root {
        let _ = std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid));
    }
    if !node.is_symlink() {
        let mode = gomode::to_unix_perm(node.mode);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io_err(path, e))?;
    }
    let mtime = filetime::FileTime::from_unix_time(
        node.mtime.timestamp(),
        node.mtime.timestamp_subsec_nanos(),
    );
    let atime = filetime::FileTime::from_unix_time(
        node.atime.timestamp(),
        node.atime.timestamp_subsec_nanos(),
    );
    filetime::set_symlink_file_times(path, atime, mtime).map_err(|e| io_err(path, e))?;
    Ok(())
}

/// Restore the whole tree `root` into `target` (created if missing).
pub async fn restore(
    repo: &Arc<Repository>,
    root: Id,
    target: &Path,
    opts: &RestoreOptions,
    progress: &Progress,
) -> Result<RestoreStats> {
    restore_mapped(repo, root, &PathMap::under(target), opts, progress).await
}

/// Restore the tree `root` to where `map` says its paths are: each mounted folder gets what
/// the snapshot holds below its pod path; what lies on no mount is not restored (inside a pod
/// it would land on the container's own, throw-away filesystem). Include and exclude patterns
/// match the snapshot's paths.
pub async fn restore_mapped(
    repo: &Arc<Repository>,
    root: Id,
    map: &PathMap,
    opts: &RestoreOptions,
    progress: &Progress,
) -> Result<RestoreStats> {
    let dest = map.mount_at("/").map(Path::to_path_buf);
    if let Some(d) = &dest {
        tokio::fs::create_dir_all(d)
            .await
            .map_err(|e| io_err(d, e))?;
    }
    // Every folder written to, so every filesystem is synced at the end.
    let folders: Vec<PathBuf> = dest
        .iter()
        .cloned()
        .chain(map.mounts().iter().map(|(_, host)| host.clone()))
        .collect();
    let r = Restorer {
        repo,
        include: PathMatcher::new(&opts.include)?,
        exclude: PathMatcher::new(&opts.exclude)?,
        map,
        progress,
        is_root: super::sys::uid() == 0,
        pool: Arc::new(BufferPool::new(4 * runs_in_flight() + 2 * RESTORE_FANOUT)),
        hardlinks: Default::default(),
        files: tokio::sync::Semaphore::new(runs_in_flight()),
        writeback: Writeback::new(&folders),
        stats: Default::default(),
    };
    r.restore_tree(root, dest, "/".into(), false).await?;
    let Restorer {
        writeback, stats, ..
    } = r;
    // Durable before it reports success.
    writeback
        .finish(folders)
        .await
        .map_err(|(f, e)| io_err(&f, e))?;
    Ok(stats.into_inner().unwrap())
}
