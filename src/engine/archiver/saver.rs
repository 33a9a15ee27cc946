//! The backup pipeline: chunks in, packs out, on every core.
//!
//! ```text
//! reader ─► chunker thread ─► worker threads (hash, dedup, zstd, encrypt) ─► pack buffers
//!                                                                              │ full pack
//!                                      index ◄─ uploader (N concurrent writes) ◄┘
//! ```
//! One stream uses all cores: the chunker runs on its own thread while workers hash, compress
//! and encrypt chunks in parallel; the file's chunk list is put back in order by sequence
//! number. All queues are bounded, so memory stays flat whatever the input size. A blob is
//! "pending" from the moment a worker claims it until its pack is in the index, so two equal
//! chunks in flight are stored once.
//!
//! Read buffers, chunk buffers and pack bodies go back to pools when their stage is done, and
//! each worker keeps its zstd context and sealing buffer: the pipeline's memory is mapped once
//! and reused, instead of faulting in fresh pages for every chunk (see [`BufferPool`]).
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::progress::Progress;
use crate::engine::aligned::AlignedBuf;
use crate::engine::bufpool::{BoundedPool, BufferPool};
use crate::engine::chunker::{Chunker, MIN_SIZE};
use crate::engine::index::IndexPack;
use crate::engine::pack::{BlobType, PackedBlob};
use crate::engine::repo::{BlobScratch, RepoError, Repository, Result, INDEX_BLOBS_PER_FILE};
use crate::engine::Id;

/// Read size from sources.
const READ_BUF: usize = 1 << 20;

/// Chunk buffers up to this capacity go back to the pool; most chunks fit (they average
/// 1.5 MiB), and the rare large one does not pin its memory for the rest of the backup.
const CHUNK_BUF_KEEP: usize = 2 << 20;

struct ChunkJob {
    seq: usize,
    data: Vec<u8>,
    reply: tokio::sync::mpsc::UnboundedSender<(usize, Id, u64)>,
}

#[derive(Default)]
struct PackBuf {
    body: AlignedBuf,
    blobs: Vec<PackedBlob>,
}

type FullPack = (AlignedBuf, Vec<PackedBlob>);

struct Shared {
    repo: Arc<Repository>,
    progress: Arc<Progress>,
    /// The progress counters when this backup started: a shared [`Progress`] may have counted
    /// earlier backups already.
    baseline: Baseline,
    pending: Mutex<HashSet<(BlobType, Id)>>,
    data_pack: Mutex<PackBuf>,
    tree_pack: Mutex<PackBuf>,
    error: Mutex<Option<String>>,
    /// Source reads on their way to the chunker.
    read_bufs: BufferPool,
    /// Chunks on their way to the workers.
    chunk_bufs: BufferPool,
    /// Data pack bodies: the one being filled and those uploading, back from the uploader.
    /// Its budget is what stops the workers when uploads lag. (Tree packs are small and
    /// filled from async code, which must not block: they are allocated as needed.)
    pack_bufs: BoundedPool,
}

impl Shared {
    fn fail(&self, msg: String) {
        let mut e = self.error.lock().unwrap();
        if e.is_none() {
            *e = Some(msg);
        }
    }

    /// Claim a blob for storing: false if the repository has it or another worker took it.
    fn claim(&self, t: BlobType, id: Id) -> bool {
        if self.repo.has_blob(t, &id) {
            return false;
        }
        self.pending.lock().unwrap().insert((t, id))
    }

    /// Append a sealed blob; returns a full pack when the buffer reached the pack size.
    fn add(
        &self,
        blob_type: BlobType,
        id: Id,
        sealed: &[u8],
        uncompressed_length: Option<u32>,
    ) -> Option<FullPack> {
        let slot = match blob_type {
            BlobType::Data => &self.data_pack,
            BlobType::Tree => &self.tree_pack,
        };
        let mut p = slot.lock().unwrap();
        if p.body.capacity() == 0 {
            p.body = match blob_type {
                BlobType::Data => self
                    .pack_bufs
                    .take_with(self.repo.opts.pack_size + (1 << 20)),
                BlobType::Tree => AlignedBuf::default(),
            };
        }
        let offset = p.body.len() as u32;
        p.body.extend_from_slice(sealed);
        p.blobs.push(PackedBlob {
            id,
            blob_type,
            offset,
            length: sealed.len() as u32,
            uncompressed_length,
        });
        Progress::add(&self.progress.bytes_stored, sealed.len() as u64);
        if p.body.len() >= self.repo.opts.pack_size {
            let full = std::mem::take(&mut *p);
            return Some((full.body, full.blobs));
        }
        None
    }

    fn take_partial(&self, t: BlobType) -> Option<FullPack> {
        let slot = match t {
            BlobType::Data => &self.data_pack,
            BlobType::Tree => &self.tree_pack,
        };
        let p = std::mem::take(&mut *slot.lock().unwrap());
        (!p.blobs.is_empty()).then_some((p.body, p.blobs))
    }
}

/// Counts of one backup, for the summary line and the session status. The byte and blob
/// counts are this backup's own, even when its [`Progress`] is shared with others.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BackupStats {
    pub packs_written: usize,
    pub index_files_written: usize,
    pub blobs_new: u64,
    pub blobs_dup: u64,
    /// Bytes read from the source (files taken unchanged from a parent are not read).
    pub bytes_read: u64,
    pub bytes_new: u64,
    pub bytes_stored: u64,
    /// Directory backups: files and folders as restic's summary classes them, against the
    /// parent snapshot (all new without one).
    pub files: ChangeCounts,
    pub dirs: ChangeCounts,
    /// Bytes of every file in the snapshot, read or taken from the parent (restic's
    /// `total_bytes_processed`).
    pub bytes_processed: u64,
    /// Things the user should know that did not stop the backup (a file that changed while
    /// it was read).
    pub warnings: Vec<String>,
    /// Entries below the targets that could not be read. The snapshot holds everything
    /// else; callers decide what that means for their outcome (restic's "at least one source
    /// file could not be read", exit status 3).
    pub unreadable: Vec<Unreadable>,
}

/// An entry a backup left out because it could not be read; shown as `path: error`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Unreadable {
    /// The entry's path as the snapshot would have recorded it.
    pub path: String,
    pub error: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.error)
    }
}

/// Files or folders by how they compare with the parent snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangeCounts {
    pub new: u64,
    pub changed: u64,
    pub unmodified: u64,
}

impl ChangeCounts {
    pub fn total(&self) -> u64 {
        self.new + self.changed + self.unmodified
    }
}

/// The counters [`BackupStats`] reports, at one moment.
struct Baseline {
    blobs_new: u64,
    blobs_dup: u64,
    bytes_read: u64,
    bytes_new: u64,
    bytes_stored: u64,
}

impl Baseline {
    fn of(p: &Progress) -> Baseline {
        Baseline {
            blobs_new: Progress::get(&p.blobs_new),
            blobs_dup: Progress::get(&p.blobs_dup),
            bytes_read: Progress::get(&p.bytes_read),
            bytes_new: Progress::get(&p.bytes_new),
            bytes_stored: Progress::get(&p.bytes_stored),
        }
    }
}

/// A running backup pipeline. Create one per backup; call [`BlobSaver::finish`] at the end.
pub struct BlobSaver {
    shared: Arc<Shared>,
    job_tx: Option<crossbeam_channel::Sender<ChunkJob>>,
    workers: Vec<std::thread::JoinHandle<()>>,
    pack_tx: Option<tokio::sync::mpsc::Sender<FullPack>>,
    uploader: Option<tokio::task::JoinHandle<Result<Uploaded>>>,
}

impl BlobSaver {
    pub fn new(repo: Arc<Repository>, progress: Arc<Progress>) -> BlobSaver {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let conns = repo.opts.connections.max(1);
        let shared = Arc::new(Shared {
            repo: repo.clone(),
            baseline: Baseline::of(&progress),
            progress,
            pending: Mutex::new(HashSet::new()),
            data_pack: Mutex::new(PackBuf::default()),
            tree_pack: Mutex::new(PackBuf::default()),
            error: Mutex::new(None),
            read_bufs: BufferPool::new(4),
            chunk_bufs: BufferPool::with_max_capacity(threads * 2 + 1, CHUNK_BUF_KEEP),
            pack_bufs: BoundedPool::new(conns + 1),
        });
        let (job_tx, job_rx) = crossbeam_channel::bounded::<ChunkJob>(threads);
        let (pack_tx, pack_rx) = tokio::sync::mpsc::channel::<FullPack>(1);
        let mut workers = Vec::with_capacity(threads);
        for i in 0..threads {
            let (rx, sh, ptx) = (job_rx.clone(), shared.clone(), pack_tx.clone());
            let h = std::thread::Builder::new()
                .name(format!("stash-blob-{i}"))
                .spawn(move || worker(rx, sh, ptx))
                .expect("spawning a worker thread");
            workers.push(h);
        }
        let sh = shared.clone();
        let uploader = tokio::spawn(async move {
            let stream = tokio_stream_from(pack_rx);
            let mut uploads = std::pin::pin!(stream
                .map(|(body, blobs)| {
                    let repo = sh.repo.clone();
                    async move { repo.save_pack_returning(body, blobs).await }
                })
                .buffer_unordered(conns));
            let mut up = Uploaded::default();
            while let Some(r) = uploads.next().await {
                match r {
                    Ok((p, body)) => {
                        if p.blobs
                            .first()
                            .is_some_and(|b| b.blob_type == BlobType::Data)
                        {
                            sh.pack_bufs.give(body);
                        }
                        sh.repo.index_add_pack(&p);
                        let mut pending = sh.pending.lock().unwrap();
                        for b in &p.blobs {
                            pending.remove(&(b.blob_type, b.id));
                        }
                        drop(pending);
                        up.add(p, &sh.repo);
                    }
                    Err(e) => {
                        sh.fail(format!("{e}"));
                        sh.pack_bufs.close();
                        return Err(e);
                    }
                }
            }
            Ok(up)
        });
        BlobSaver {
            shared,
            job_tx: Some(job_tx),
            workers,
            pack_tx: Some(pack_tx),
            uploader: Some(uploader),
        }
    }

    pub fn progress(&self) -> &Arc<Progress> {
        &self.shared.progress
    }

    fn check_error(&self) -> Result<()> {
        match self.shared.error.lock().unwrap().clone() {
            Some(e) => Err(RepoError::Other(format!("backup failed: {e}"))),
            None => Ok(()),
        }
    }

    /// Chunk and store a stream; returns the ordered blob ids and the byte count.
    pub async fn save_stream<R: AsyncRead + Unpin>(&self, mut reader: R) -> Result<(Vec<Id>, u64)> {
        self.check_error()?;
        let job_tx = self.job_tx.clone().expect("saver is running");
        let pol = self.shared.repo.polynomial();
        let (buf_tx, mut buf_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
        let (res_tx, mut res_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Id, u64)>();
        let sh = self.shared.clone();
        let chunker = tokio::task::spawn_blocking(move || {
            let mut ch = Chunker::new(pol);
            let mut cur: Vec<u8> = sh.chunk_bufs.take_with(MIN_SIZE * 2);
            let mut seq = 0usize;
            let send = |seq: usize, data: Vec<u8>| {
                job_tx
                    .send(ChunkJob {
                        seq,
                        data,
                        reply: res_tx.clone(),
                    })
                    .is_ok()
            };
            while let Some(buf) = buf_rx.blocking_recv() {
                let mut b = &buf[..];
                while !b.is_empty() {
                    match ch.next_boundary(b) {
                        Some(n) => {
                            cur.extend_from_slice(&b[..n]);
                            b = &b[n..];
                            let next = sh.chunk_bufs.take_with(MIN_SIZE * 2);
                            if !send(seq, std::mem::replace(&mut cur, next)) {
                                return seq;
                            }
                            seq += 1;
                        }
                        None => {
                            cur.extend_from_slice(b);
                            break;
                        }
                    }
                }
                sh.read_bufs.give(buf);
            }
            if !cur.is_empty() && send(seq, cur) {
                seq += 1;
            }
            seq
        });

        let mut total = 0u64;
        let read_result: std::io::Result<()> = async {
            loop {
                let mut buf = self.shared.read_bufs.take_with(READ_BUF);
                while buf.len() < READ_BUF {
                    if reader.read_buf(&mut buf).await? == 0 {
                        break;
                    }
                }
                if buf.is_empty() {
                    return Ok(());
                }
                total += buf.len() as u64;
                Progress::add(&self.shared.progress.bytes_read, buf.len() as u64);
                if buf_tx.send(buf).await.is_err() {
                    return Ok(());
                }
            }
        }
        .await;
        drop(buf_tx);
        let n = chunker
            .await
            .map_err(|e| RepoError::Other(format!("chunker thread: {e}")))?;
        read_result.map_err(|e| RepoError::Source {
            what: "the source".into(),
            source: e,
        })?;

        let mut ids: Vec<Option<Id>> = vec![None; n];
        let mut got = 0;
        while got < n {
            match res_rx.recv().await {
                Some((seq, id, _len)) => {
                    ids[seq] = Some(id);
                    got += 1;
                }
                None => break,
            }
        }
        self.check_error()?;
        let ids: Option<Vec<Id>> = ids.into_iter().collect();
        let ids = ids.ok_or_else(|| {
            RepoError::Other("backup pipeline stopped before storing every chunk".into())
        })?;
        Ok((ids, total))
    }

    /// A handle through which blocking code hands whole small files to the workers.
    pub(crate) fn whole_chunks(&self) -> WholeChunks {
        WholeChunks {
            job_tx: self.job_tx.clone().expect("saver is running"),
            shared: self.shared.clone(),
        }
    }

    /// Store a tree blob (from async code); returns its id.
    pub async fn save_tree(&self, blob: Vec<u8>) -> Result<Id> {
        self.check_error()?;
        let id = Id::hash(&blob);
        if self.shared.claim(BlobType::Tree, id) {
            let p = self.shared.repo.prepare_blob(BlobType::Tree, id, &blob);
            if let Some(full) = self
                .shared
                .add(p.blob_type, p.id, &p.bytes, p.uncompressed_length)
            {
                self.send_pack(full).await?;
            }
        }
        Ok(id)
    }

    async fn send_pack(&self, full: FullPack) -> Result<()> {
        let tx = self.pack_tx.as_ref().expect("saver is running");
        if tx.send(full).await.is_err() {
            self.check_error()?;
            return Err(RepoError::Other("pack uploader stopped".into()));
        }
        Ok(())
    }

    /// Flush partial packs, wait for every upload, write the index. Only after this returns
    /// Ok may a snapshot reference what was saved.
    pub async fn finish(mut self) -> Result<BackupStats> {
        drop(self.job_tx.take());
        let workers = std::mem::take(&mut self.workers);
        tokio::task::spawn_blocking(move || {
            for w in workers {
                let _ = w.join();
            }
        })
        .await
        .map_err(|e| RepoError::Other(format!("joining workers: {e}")))?;
        for t in [BlobType::Data, BlobType::Tree] {
            if let Some(full) = self.shared.take_partial(t) {
                self.send_pack(full).await?;
            }
        }
        drop(self.pack_tx.take());
        let up = self
            .uploader
            .take()
            .expect("finish runs once")
            .await
            .map_err(|e| RepoError::Other(format!("uploader task: {e}")))??;
        self.check_error()?;
        let mut stats = BackupStats {
            packs_written: up.packs,
            ..Default::default()
        };
        stats.index_files_written = up.finish(&self.shared.repo).await?;
        let now = Baseline::of(&self.shared.progress);
        let was = &self.shared.baseline;
        stats.blobs_new = now.blobs_new - was.blobs_new;
        stats.blobs_dup = now.blobs_dup - was.blobs_dup;
        stats.bytes_read = now.bytes_read - was.bytes_read;
        stats.bytes_new = now.bytes_new - was.bytes_new;
        stats.bytes_stored = now.bytes_stored - was.bytes_stored;
        Ok(stats)
    }
}

/// What the uploader has stored, and the index files that list it. A full index file's worth
/// of packs is written as soon as it is there, as restic does, rather than all at the end:
/// a backup of millions of files would otherwise hold every new blob twice until it
/// finishes (once in the master index, once here), and a backup that fails late leaves its
/// packs indexed for the next one to reuse.
#[derive(Default)]
struct Uploaded {
    packs: usize,
    /// Packs not yet in an index file, and how many blobs they hold.
    unindexed: Vec<IndexPack>,
    unindexed_blobs: usize,
    /// Index files being written.
    writing: Vec<tokio::task::JoinHandle<Result<Id>>>,
}

impl Uploaded {
    fn add(&mut self, p: IndexPack, repo: &Arc<Repository>) {
        self.packs += 1;
        self.unindexed_blobs += p.blobs.len();
        self.unindexed.push(p);
        if self.unindexed_blobs >= INDEX_BLOBS_PER_FILE {
            let packs = std::mem::take(&mut self.unindexed);
            self.unindexed_blobs = 0;
            let repo = repo.clone();
            self.writing.push(tokio::spawn(async move {
                repo.save_index(packs, Vec::new()).await
            }));
        }
    }

    /// Index what is left; returns the number of index files written.
    async fn finish(self, repo: &Repository) -> Result<usize> {
        let mut files = 0;
        for w in self.writing {
            w.await
                .map_err(|e| RepoError::Other(format!("index writer task: {e}")))??;
            files += 1;
        }
        if !self.unindexed.is_empty() {
            repo.save_index(self.unindexed, Vec::new()).await?;
            files += 1;
        }
        Ok(files)
    }
}

/// For blocking code (the thread that read a file) to hand a whole file shorter than the
/// chunker's minimum to the workers: such a file is exactly one chunk, so it skips the
/// chunker task and channels [`BlobSaver::save_stream`] sets up per stream, which cost more
/// than hashing a few KiB. Drop it before [`BlobSaver::finish`].
#[derive(Clone)]
pub(crate) struct WholeChunks {
    job_tx: crossbeam_channel::Sender<ChunkJob>,
    shared: Arc<Shared>,
}

/// Where the id of a blob handed to [`WholeChunks::submit`] arrives.
pub(crate) struct ChunkReceipt(tokio::sync::mpsc::UnboundedReceiver<(usize, Id, u64)>);

impl WholeChunks {
    /// A cleared buffer from the chunk pool with room for `cap` bytes.
    pub fn buffer(&self, cap: usize) -> Vec<u8> {
        self.shared.chunk_bufs.take_with(cap)
    }

    /// Queue `data` as one blob (blocks while the workers' queue is full). `data` must be
    /// shorter than the chunker's minimum, else restic would cut it differently.
    pub fn submit(&self, data: Vec<u8>) -> Result<ChunkReceipt> {
        debug_assert!(data.len() < MIN_SIZE, "a whole chunk is below the minimum");
        let (reply, rx) = tokio::sync::mpsc::unbounded_channel();
        Progress::add(&self.shared.progress.bytes_read, data.len() as u64);
        self.job_tx
            .send(ChunkJob {
                seq: 0,
                data,
                reply,
            })
            .map_err(|_| RepoError::Other("backup pipeline stopped".into()))?;
        Ok(ChunkReceipt(rx))
    }
}

impl ChunkReceipt {
    /// The stored blob's id, once a worker has claimed or found it.
    pub async fn id(mut self, saver: &BlobSaver) -> Result<Id> {
        match self.0.recv().await {
            Some((_, id, _)) => Ok(id),
            None => {
                saver.check_error()?;
                Err(RepoError::Other(
                    "backup pipeline stopped before storing every chunk".into(),
                ))
            }
        }
    }
}

impl Drop for BlobSaver {
    fn drop(&mut self) {
        // Abandoned without finish (error path): stop the uploader. Index files already
        // written stay (their packs are whole); packs not yet listed are left for prune.
        if let Some(u) = self.uploader.take() {
            u.abort();
        }
        self.shared.pack_bufs.close();
    }
}

fn worker(
    rx: crossbeam_channel::Receiver<ChunkJob>,
    sh: Arc<Shared>,
    pack_tx: tokio::sync::mpsc::Sender<FullPack>,
) {
    let mut scratch = BlobScratch::default();
    for job in rx {
        let id = Id::hash(&job.data);
        let len = job.data.len() as u64;
        if sh.claim(BlobType::Data, id) {
            let uncompressed = sh.repo.seal_blob(&job.data, &mut scratch);
            Progress::add(&sh.progress.blobs_new, 1);
            Progress::add(&sh.progress.bytes_new, len);
            if let Some(full) = sh.add(BlobType::Data, id, &scratch.sealed, uncompressed) {
                if pack_tx.blocking_send(full).is_err() {
                    sh.fail("pack uploader stopped".into());
                }
            }
        } else {
            Progress::add(&sh.progress.blobs_dup, 1);
        }
        let _ = job.reply.send((job.seq, id, len));
        sh.chunk_bufs.give(job.data);
    }
}

/// Adapt a tokio receiver into a `Stream` without pulling in tokio-stream.
fn tokio_stream_from<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}
