//! [`Backend`] over an OpenDAL operator.
//!
//! Errors keep OpenDAL's temporary/permanent judgement (its RetryLayer has already retried the
//! temporary ones when an error gets here) and lose every secret the backend knows of.
//!
//! The layout (restic's default or the old "s3legacy" one, see [`Layout`]) is detected on
//! first use, as restic does when it opens a repository: two listings of the key folders.
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use opendal::{ErrorKind as OdKind, Operator};

use super::direct;
use super::secret::Redactor;
use crate::engine::backend::{Backend, BackendError, ErrorKind, FileInfo, FileType, Layout};

#[derive(Clone)]
pub struct OpendalBackend {
    op: Operator,
    location: String,
    /// Local folders need explicit directories for `create`; object stores do not.
    is_fs: bool,
    /// The folder of a local repository, for ranged reads that bypass OpenDAL (see
    /// `read_range_into`).
    local_root: Option<std::path::PathBuf>,
    redactor: Redactor,
    /// Detected on first use (shared by clones).
    layout: std::sync::Arc<tokio::sync::OnceCell<Layout>>,
    /// Set when the local folder's filesystem refused `O_DIRECT` (see `direct`).
    direct_refused: std::sync::Arc<AtomicBool>,
}

impl std::fmt::Debug for OpendalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpendalBackend")
            .field("location", &self.location)
            .finish()
    }
}

impl OpendalBackend {
    pub fn new(op: Operator, location: String, is_fs: bool) -> Self {
        OpendalBackend {
            op,
            location,
            is_fs,
            local_root: None,
            redactor: Redactor::default(),
            layout: Default::default(),
            direct_refused: Default::default(),
        }
    }

    /// The repository's layout: restic's detection the first time, remembered after.
    pub async fn layout(&self) -> Result<Layout, BackendError> {
        self.layout
            .get_or_try_init(|| async {
                let keys = self.has_key_file(Layout::Default.dir(FileType::Key)).await?;
                let key = self.has_key_file(Layout::S3Legacy.dir(FileType::Key)).await?;
                let layout = Layout::detect(keys, key);
                if layout != Layout::Default {
                    tracing::info!(location = %self.location, ?layout, "repository uses restic's old S3 layout");
                }
                Ok(layout)
            })
            .await
            .copied()
    }

    /// Whether folder `dir` holds a file named like a repository file (a 64-digit hex id).
    async fn has_key_file(&self, dir: &str) -> Result<bool, BackendError> {
        let dir = format!("{dir}/");
        match self.op.list(&dir).await {
            Ok(entries) => Ok(entries.iter().any(|e| {
                let name = e.name().trim_end_matches('/');
                !e.metadata().is_dir() && is_file_name(name)
            })),
            Err(e) if e.kind() == OdKind::NotFound => Ok(false),
            Err(e) => Err(self.err("listing", &dir, e)),
        }
    }

    async fn path(&self, t: FileType, name: &str) -> Result<String, BackendError> {
        Ok(self.layout().await?.path(t, name))
    }

    /// Serve ranged reads of a local repository with `pread` into the caller's buffer.
    pub fn with_local_root(mut self, root: std::path::PathBuf) -> Self {
        self.local_root = Some(root);
        self
    }

    /// Scrub these secrets from every error message.
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    pub fn operator(&self) -> &Operator {
        &self.op
    }

    /// Local filesystem work of our own (beside OpenDAL's) on the blocking pool, its failure
    /// as a [`BackendError`] naming `op` and `path`.
    async fn blocking_fs<T: Send + 'static>(
        &self,
        op: &'static str,
        path: &str,
        f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, BackendError> {
        let res = tokio::task::spawn_blocking(f)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        res.map_err(|e| BackendError {
            kind: ErrorKind::Other,
            op,
            path: path.to_string(),
            location: self.location.clone(),
            message: e.to_string(),
        })
    }

    /// Write a pack into a local repository past the page cache (see [`direct`]); false when
    /// this write cannot go that way and nothing was written.
    async fn write_direct(&self, t: FileType, p: &str, data: &Bytes) -> Result<bool, BackendError> {
        let Some(root) = &self.local_root else {
            return Ok(false);
        };
        if t != FileType::Pack
            || !direct::suits(data)
            || self.direct_refused.load(Ordering::Relaxed)
        {
            return Ok(false);
        }
        let (tmp, dest, data) = (root.join("tmp"), root.join(p), data.clone());
        let done = self
            .blocking_fs("writing", p, move || direct::write_pack(&tmp, &dest, &data))
            .await?;
        if !done {
            tracing::debug!(location = %self.location, "the filesystem refuses O_DIRECT; packs are written through the page cache");
            self.direct_refused.store(true, Ordering::Relaxed);
        }
        Ok(done)
    }

    /// The file behind `t`/`name` (and its path inside the repository) when reads can be
    /// served with `pread`: a local folder whose layout is known.
    fn local_file(&self, t: FileType, name: &str) -> Option<(std::path::PathBuf, String)> {
        let (root, layout) = (self.local_root.as_ref()?, self.layout.get()?);
        let rel = layout.path(t, name);
        Some((root.join(&rel), rel))
    }

    /// A failed `pread` of `len` bytes at `offset` of the repository file `rel`.
    fn read_err(&self, rel: String, offset: u64, len: u64, e: std::io::Error) -> BackendError {
        let (kind, message) = match e.kind() {
            std::io::ErrorKind::NotFound => (ErrorKind::NotFound, "not found".to_string()),
            std::io::ErrorKind::PermissionDenied => (ErrorKind::PermissionDenied, e.to_string()),
            std::io::ErrorKind::UnexpectedEof => (
                ErrorKind::Other,
                format!("short read: wanted {len} bytes at offset {offset}"),
            ),
            _ => (ErrorKind::Other, e.to_string()),
        };
        BackendError {
            kind,
            op: "reading",
            path: rel,
            location: self.location.clone(),
            message,
        }
    }

    fn err(&self, op: &'static str, path: &str, e: opendal::Error) -> BackendError {
        let kind = match e.kind() {
            OdKind::NotFound => ErrorKind::NotFound,
            OdKind::PermissionDenied => ErrorKind::PermissionDenied,
            OdKind::RateLimited => ErrorKind::Temporary,
            _ if e.is_temporary() => ErrorKind::Temporary,
            _ => {
                let msg = format!("{e:#}").to_lowercase();
                if msg.contains("no space left")
                    || msg.contains("quota")
                    || msg.contains("storage full")
                {
                    ErrorKind::StorageFull
                } else {
                    ErrorKind::Other
                }
            }
        };
        let message = match kind {
            ErrorKind::NotFound => "not found".to_string(),
            ErrorKind::StorageFull => format!("storage is full: {}", e.message()),
            ErrorKind::PermissionDenied => format!(
                "access denied by the {} service: check the storage credentials and their permissions on the bucket ({})",
                self.op.info().scheme(),
                e.message()
            ),
            ErrorKind::Temporary => format!("temporary failure, retries exhausted: {e}"),
            _ => e.to_string(),
        };
        let message = self.redactor.redact(&message);
        BackendError {
            kind,
            op,
            path: path.to_string(),
            location: self.location.clone(),
            message,
        }
    }
}

/// Pack files read last, kept open: a restore of small files reads one pack for many files in
/// a row, and opening it for each was 30 000 `openat`s for 30 000 files.
static OPEN_FILES: std::sync::Mutex<std::collections::VecDeque<OpenFile>> =
    std::sync::Mutex::new(std::collections::VecDeque::new());
const OPEN_FILES_KEPT: usize = 8;
type OpenFile = (std::path::PathBuf, std::sync::Arc<std::fs::File>);

/// `path` opened, from [`OPEN_FILES`] while it still names a file there.
fn open_cached(path: &std::path::Path) -> std::io::Result<std::sync::Arc<std::fs::File>> {
    use std::os::unix::fs::MetadataExt;
    let hit = {
        let mut open = OPEN_FILES.lock().unwrap();
        let i = open.iter().position(|(p, _)| p == path);
        i.and_then(|i| open.remove(i))
    };
    // A file deleted since it was opened (prune, or by hand) is not read through the old
    // descriptor: its absence must show, as check relies on.
    let file = match hit {
        Some((_, f)) if f.metadata().is_ok_and(|m| m.nlink() > 0) => f,
        _ => std::sync::Arc::new(std::fs::File::open(path)?),
    };
    let mut open = OPEN_FILES.lock().unwrap();
    if open.len() >= OPEN_FILES_KEPT {
        open.pop_front();
    }
    open.push_back((path.to_path_buf(), file.clone()));
    Ok(file)
}

/// Close `path` if [`OPEN_FILES`] holds it.
fn forget_open(path: &std::path::Path) {
    OPEN_FILES.lock().unwrap().retain(|(p, _)| p != path);
}

/// Read exactly `len` bytes at `offset` of the file at `path` into `buf` (replacing its
/// contents), on the calling thread.
fn pread_exact(
    path: &std::path::Path,
    offset: u64,
    len: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    crate::engine::sys::read_exact_at_into(&*open_cached(path)?, offset, len as usize, buf)
}

/// A repository file's name: a 64-digit hex id.
fn is_file_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

#[async_trait]
impl Backend for OpendalBackend {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn create(&self) -> Result<(), BackendError> {
        if !self.is_fs {
            return Ok(());
        }
        let mut dirs: Vec<String> = ["keys/", "snapshots/", "index/", "locks/", "data/"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for i in 0..=255u8 {
            dirs.push(format!("data/{i:02x}/"));
        }
        for d in dirs {
            self.op
                .create_dir(&d)
                .await
                .map_err(|e| self.err("creating", &d, e))?;
        }
        Ok(())
    }

    async fn list(&self, t: FileType) -> Result<Vec<FileInfo>, BackendError> {
        let dir = format!("{}/", self.layout().await?.dir(t));
        let entries = match self.op.list_with(&dir).recursive(true).await {
            Ok(e) => e,
            Err(e) if e.kind() == OdKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.err("listing", &dir, e)),
        };
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            if e.metadata().is_dir() {
                continue;
            }
            let name = e.name().trim_end_matches('/');
            // Skip temporaries and anything that is not a full hex id.
            if !is_file_name(name) {
                continue;
            }
            let size = match e.metadata().content_length() {
                0 => self
                    .op
                    .stat(e.path())
                    .await
                    .map(|m| m.content_length())
                    .unwrap_or(0),
                n => n,
            };
            out.push(FileInfo {
                name: name.to_string(),
                size,
            });
        }
        Ok(out)
    }

    async fn read(&self, t: FileType, name: &str) -> Result<Bytes, BackendError> {
        let p = self.path(t, name).await?;
        let buf = self
            .op
            .read(&p)
            .await
            .map_err(|e| self.err("reading", &p, e))?;
        Ok(buf.to_bytes())
    }

    async fn read_range(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, BackendError> {
        let p = self.path(t, name).await?;
        let buf = self
            .op
            .read_with(&p)
            .range(offset..offset + len)
            .await
            .map_err(|e| self.err("reading", &p, e))?;
        if (buf.len() as u64) != len {
            return Err(BackendError {
                kind: ErrorKind::Other,
                op: "reading",
                path: p,
                location: self.location.clone(),
                message: format!(
                    "short read: wanted {len} bytes at offset {offset}, got {}",
                    buf.len()
                ),
            });
        }
        Ok(buf.to_bytes())
    }

    /// Local repositories read straight into `buf` with `pread`: OpenDAL's fs reader allocates
    /// and zero-fills a fresh buffer for every read, which for a restore is a page fault per
    /// 4 KiB of the repository (about 100 000 per restored GiB). Object stores take the
    /// default path; the network dominates there.
    async fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<(), BackendError> {
        if self.local_root.is_none() {
            return crate::engine::backend::copy_range_into(self, t, name, offset, len, buf).await;
        }
        // Known before the blocking read, which cannot detect it.
        self.layout().await?;
        let Some((path, rel)) = self.local_file(t, name) else {
            return Err(BackendError::not_blocking(t, name, self.location.clone()));
        };
        let mut owned = std::mem::take(buf);
        let (res, owned) = tokio::task::spawn_blocking(move || {
            let res = pread_exact(&path, offset, len, &mut owned);
            (res, owned)
        })
        .await
        .map_err(|e| BackendError {
            kind: ErrorKind::Other,
            op: "reading",
            path: t.dir().to_string(),
            location: self.location.clone(),
            message: format!("reader thread: {e}"),
        })?;
        *buf = owned;
        res.map_err(|e| self.read_err(rel, offset, len, e))
    }

    fn reads_blocking(&self) -> bool {
        self.local_root.is_some() && self.layout.initialized()
    }

    fn read_range_blocking(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<(), BackendError> {
        let Some((path, rel)) = self.local_file(t, name) else {
            return Err(BackendError::not_blocking(t, name, self.location.clone()));
        };
        pread_exact(&path, offset, len, buf).map_err(|e| self.read_err(rel, offset, len, e))
    }

    async fn write(&self, t: FileType, name: &str, data: Bytes) -> Result<(), BackendError> {
        let p = self.path(t, name).await?;
        if !self.write_direct(t, &p, &data).await? {
            self.op
                .write(&p, data)
                .await
                .map_err(|e| self.err("writing", &p, e))?;
        }
        // OpenDAL syncs the file before renaming it into place, but not the folder that now
        // names it: until that is synced too, a crash can lose the new entry, and a backup
        // reported done would reference a pack that is gone. restic's local backend syncs
        // the folder as well.
        if let Some(root) = &self.local_root {
            let dir = root
                .join(&p)
                .parent()
                .map(|d| d.to_path_buf())
                .unwrap_or_else(|| root.clone());
            self.blocking_fs("syncing the folder of", &p, move || {
                std::fs::File::open(&dir)?.sync_all()
            })
            .await?;
        }
        Ok(())
    }

    async fn remove_leftovers(&self, dry_run: bool) -> Result<(usize, u64), BackendError> {
        let Some(root) = &self.local_root else {
            return Ok((0, 0));
        };
        let tmp = root.join("tmp");
        self.blocking_fs("removing half-written files in", "tmp", move || {
            let mut n = (0usize, 0u64);
            let entries = match std::fs::read_dir(&tmp) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(n),
                Err(e) => return Err(e),
            };
            for e in entries {
                let e = e?;
                let meta = e.metadata()?;
                if !meta.is_file() {
                    continue;
                }
                if !dry_run {
                    std::fs::remove_file(e.path())?;
                }
                n.0 += 1;
                n.1 += meta.len();
            }
            Ok(n)
        })
        .await
    }

    /// Everything under the root, repository files or not: Stash's wipeOut deletes every
    /// object under `<bucket>/<prefix>/`.
    async fn wipe_out(&self) -> Result<usize, BackendError> {
        let entries = match self.op.list_with("").recursive(true).await {
            Ok(e) => e,
            Err(e) if e.kind() == OdKind::NotFound => return Ok(0),
            Err(e) => return Err(self.err("listing", "", e)),
        };
        let files: Vec<String> = entries
            .into_iter()
            .filter(|e| !e.metadata().is_dir())
            .map(|e| e.path().to_string())
            .collect();
        let removed = files.len();
        if let Err(e) = self.op.delete_iter(files.clone()).await {
            // Not every server takes batch deletes (fake-gcs-server refuses GCS's batch
            // API): one by one then, which also names an object that cannot be removed.
            tracing::debug!(location = %self.location, error = %e, "batch delete failed; deleting one by one");
            for f in &files {
                match self.op.delete(f).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == OdKind::NotFound => {}
                    Err(e) => return Err(self.err("removing", f, e)),
                }
            }
        }
        if self.is_fs {
            // Folders hold nothing now; the root goes with them.
            self.op
                .delete_with("")
                .recursive(true)
                .await
                .map_err(|e| self.err("removing", "", e))?;
        }
        Ok(removed)
    }

    async fn remove(&self, t: FileType, name: &str) -> Result<(), BackendError> {
        let p = self.path(t, name).await?;
        if let Some(root) = &self.local_root {
            // A deleted file's space is freed only once no descriptor holds it.
            forget_open(&root.join(&p));
        }
        match self.op.delete(&p).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == OdKind::NotFound => Ok(()),
            Err(e) => Err(self.err("removing", &p, e)),
        }
    }

    async fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>, BackendError> {
        let p = self.path(t, name).await?;
        match self.op.stat(&p).await {
            Ok(m) => Ok(Some(m.content_length())),
            Err(e) if e.kind() == OdKind::NotFound => Ok(None),
            Err(e) => Err(self.err("checking", &p, e)),
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::engine::aligned::AlignedBuf;
    use crate::storage::direct::tests::{cached_pages, in_memory};
    use crate::storage::{create_location, Location};
    use std::sync::Arc;

    #[tokio::test]
    async fn local_packs_are_stored_whole_aligned_or_not_and_aligned_ones_past_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let backend = create_location(&Location::Local(dir.path().to_path_buf())).unwrap();
        backend.create().await.unwrap();
        let data: Vec<u8> = (0..3_000_001u32).map(|i| (i % 241) as u8).collect();
        let mut body = AlignedBuf::default();
        body.extend_from_slice(&data);
        let (aligned, _) = body.share();
        // A Vec's bytes one past its start: never block-aligned.
        let unaligned = Bytes::from([&[0u8][..], &data].concat()).slice(1..);
        let name = |c: char| c.to_string().repeat(64);
        backend
            .write(FileType::Pack, &name('a'), aligned)
            .await
            .unwrap();
        backend
            .write(FileType::Pack, &name('b'), unaligned)
            .await
            .unwrap();
        let file = dir.path().join("data/aa").join(name('a'));
        if !in_memory(&file) {
            assert!(
                cached_pages(&file) <= 1,
                "the aligned pack bypassed the page cache"
            );
        }
        for c in ['a', 'b'] {
            let back = backend.read(FileType::Pack, &name(c)).await.unwrap();
            assert!(back[..] == data[..], "pack {c} reads back whole");
        }
        let left = std::fs::read_dir(dir.path().join("tmp")).map_or(0, |d| d.count());
        assert_eq!(left, 0, "nothing is left in tmp/");
    }

    /// Ranged reads keep pack files open, but never read a file that is gone or was replaced
    /// through the old descriptor, and removing a pack closes it.
    #[tokio::test]
    async fn ranged_reads_see_a_pack_deleted_or_replaced_since_they_opened_it() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let backend = create_location(&Location::Local(dir.path().to_path_buf())).unwrap();
        backend.create().await.unwrap();
        let name = "c".repeat(64);
        let file = dir.path().join("data/cc").join(&name);
        let read = |b: Arc<dyn Backend>, n: String| async move {
            let mut buf = Vec::new();
            b.read_range_into(FileType::Pack, &n, 2, 3, &mut buf)
                .await
                .map(|()| buf)
        };
        let backend: Arc<dyn Backend> = backend;
        backend
            .write(FileType::Pack, &name, Bytes::from_static(b"0123456789"))
            .await
            .unwrap();
        assert_eq!(read(backend.clone(), name.clone()).await.unwrap(), b"234");

        std::fs::remove_file(&file).unwrap();
        let e = read(backend.clone(), name.clone()).await.unwrap_err();
        assert!(e.is_not_found(), "{e}");

        std::fs::write(dir.path().join("new"), b"abcdefghij").unwrap();
        std::fs::rename(dir.path().join("new"), &file).unwrap();
        assert_eq!(read(backend.clone(), name.clone()).await.unwrap(), b"cde");
        std::fs::write(dir.path().join("new"), b"ABCDEFGHIJ").unwrap();
        std::fs::rename(dir.path().join("new"), &file).unwrap();
        assert_eq!(read(backend.clone(), name.clone()).await.unwrap(), b"CDE");

        let md = std::fs::metadata(&file).unwrap();
        backend.remove(FileType::Pack, &name).await.unwrap();
        let held = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::metadata(e.ok()?.path()).ok())
            .any(|m| (m.dev(), m.ino()) == (md.dev(), md.ino()) && m.nlink() == 0);
        assert!(!held, "a removed pack is not kept open");
    }
}
