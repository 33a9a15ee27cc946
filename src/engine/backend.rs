//! The storage seam: what the engine needs from a place that holds a repository.
//!
//! Files are addressed by type and name, exactly as restic lays them out (`data/ab/abcd…`,
//! `index/…`, `config`). Implementations live in `crate::storage`; the engine never names a
//! storage library. Writes must be atomic: a reader sees a whole file or none.
use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;

/// The kinds of files in a repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileType {
    Config,
    Key,
    Snapshot,
    Index,
    Pack,
    Lock,
}

impl FileType {
    /// The folder of this type in restic's default layout.
    pub fn dir(self) -> &'static str {
        match self {
            FileType::Config => "",
            FileType::Key => "keys",
            FileType::Snapshot => "snapshots",
            FileType::Index => "index",
            FileType::Pack => "data",
            FileType::Lock => "locks",
        }
    }

    /// Path of a file relative to the repository root, in restic's default layout.
    pub fn path(self, name: &str) -> String {
        match self {
            FileType::Config => "config".to_string(),
            FileType::Pack => format!("data/{}/{}", &name[..name.len().min(2)], name),
            t => format!("{}/{}", t.dir(), name),
        }
    }

    pub const ALL_LISTABLE: [FileType; 5] = [
        FileType::Key,
        FileType::Snapshot,
        FileType::Index,
        FileType::Pack,
        FileType::Lock,
    ];
}

/// Where each type of file lives under the repository's root. restic's default layout is
/// [`FileType::path`]; repositories that restic created on S3 before 0.7 use the
/// "s3legacy" layout: singular folder names (`key/`, `snapshot/`, `lock/`) and packs straight
/// in `data/`, without the two-hex-digit subfolders. restic 0.14 still reads both, telling
/// them apart by which key folder holds a key file; backends that name paths do the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    #[default]
    Default,
    S3Legacy,
}

impl Layout {
    /// The folder of files of type `t`.
    pub fn dir(self, t: FileType) -> &'static str {
        match (self, t) {
            (Layout::Default, t) => t.dir(),
            (Layout::S3Legacy, FileType::Key) => "key",
            (Layout::S3Legacy, FileType::Snapshot) => "snapshot",
            (Layout::S3Legacy, FileType::Lock) => "lock",
            (Layout::S3Legacy, t) => t.dir(),
        }
    }

    /// Path of a file relative to the repository root.
    pub fn path(self, t: FileType, name: &str) -> String {
        match (self, t) {
            (Layout::Default, t) => t.path(name),
            (Layout::S3Legacy, FileType::Config) => "config".to_string(),
            (Layout::S3Legacy, t) => format!("{}/{name}", self.dir(t)),
        }
    }

    /// restic's detection, from whether the default (`keys/`) and the legacy (`key/`) key
    /// folder hold a key file: the legacy layout only when `key/` does and `keys/` does not;
    /// anything else (a new, empty or ambiguous repository) is the default layout.
    pub fn detect(key_in_keys: bool, key_in_key: bool) -> Layout {
        if key_in_key && !key_in_keys {
            Layout::S3Legacy
        } else {
            Layout::Default
        }
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileType::Config => "config",
            FileType::Key => "key",
            FileType::Snapshot => "snapshot",
            FileType::Index => "index",
            FileType::Pack => "pack",
            FileType::Lock => "lock",
        })
    }
}

/// What kind of failure a backend had; drives retries and the message a user sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    PermissionDenied,
    /// Out of space, quota exceeded.
    StorageFull,
    /// Throttling, 5xx, dropped connections: worth retrying.
    Temporary,
    Other,
}

#[derive(Debug, thiserror::Error)]
#[error("{op} {path} on {location}: {message}")]
pub struct BackendError {
    pub kind: ErrorKind,
    pub op: &'static str,
    pub path: String,
    /// Where the repository is, without credentials (e.g. `local:/srv/repo`, `s3:bucket/prefix`).
    pub location: String,
    pub message: String,
}

impl BackendError {
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Temporary
    }
    /// A blocking read asked of storage that is only read asynchronously (a caller that did
    /// not check [`Backend::reads_blocking`]).
    pub fn not_blocking(t: FileType, name: &str, location: String) -> Self {
        BackendError {
            kind: ErrorKind::Other,
            op: "reading",
            path: t.path(name),
            location,
            message: "this storage is only read asynchronously".into(),
        }
    }
}

/// One listed file: its name (the hex id for all but config) and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
}

#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug {
    /// Human-readable location, never containing secrets.
    fn location(&self) -> String;
    /// Create the folder structure of an empty repository (no-op on object stores).
    async fn create(&self) -> Result<(), BackendError>;
    async fn list(&self, t: FileType) -> Result<Vec<FileInfo>, BackendError>;
    async fn read(&self, t: FileType, name: &str) -> Result<Bytes, BackendError>;
    async fn read_range(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, BackendError>;
    /// [`Backend::read_range`] into a caller's buffer (replacing its contents), for callers
    /// that reuse buffers (restore). Backends that can read straight into it override this.
    async fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<(), BackendError> {
        copy_range_into(self, t, name, offset, len, buf).await
    }
    /// Whether [`Backend::read_range_blocking`] works: reads are plain file reads (a local
    /// folder), so a caller already on a blocking thread (restoring one small file after
    /// another) can read there and save a thread hand-off per read.
    fn reads_blocking(&self) -> bool {
        false
    }
    /// [`Backend::read_range_into`] on the calling thread, where
    /// [`Backend::reads_blocking`]; an error elsewhere.
    fn read_range_blocking(
        &self,
        t: FileType,
        name: &str,
        _offset: u64,
        _len: u64,
        _buf: &mut Vec<u8>,
    ) -> Result<(), BackendError> {
        Err(BackendError::not_blocking(t, name, self.location()))
    }
    /// Write a whole file atomically and durably. Never overwrites silently a different file
    /// of the same name: names are content hashes, so an existing file is the same file.
    async fn write(&self, t: FileType, name: &str, data: Bytes) -> Result<(), BackendError>;
    async fn remove(&self, t: FileType, name: &str) -> Result<(), BackendError>;
    /// Size of a file, or `None` when it does not exist.
    async fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>, BackendError>;
    /// Half-written files that writers killed mid-write left behind (the local backend's
    /// `tmp/`; object stores write whole objects and have none): their count and bytes,
    /// removed unless `dry_run`. Only under an exclusive lock, when no writer can be running.
    async fn remove_leftovers(&self, dry_run: bool) -> Result<(usize, u64), BackendError> {
        let _ = dry_run;
        Ok((0, 0))
    }
    /// Removes the repository: every file of every type, the config last (a Repository's
    /// `wipeOut`). Returns how many files went. Backends that can see other objects under
    /// the repository's root remove those too.
    async fn wipe_out(&self) -> Result<usize, BackendError> {
        let mut removed = 0;
        for t in [
            FileType::Lock,
            FileType::Snapshot,
            FileType::Index,
            FileType::Pack,
            FileType::Key,
        ] {
            for f in self.list(t).await? {
                self.remove(t, &f.name).await?;
                removed += 1;
            }
        }
        if self.stat(FileType::Config, "").await?.is_some() {
            self.remove(FileType::Config, "").await?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// [`Backend::read_range_into`] by way of [`Backend::read_range`] and a copy: the default, and
/// the fallback of backends that read straight into the buffer only in some configurations.
pub async fn copy_range_into<B: Backend + ?Sized>(
    backend: &B,
    t: FileType,
    name: &str,
    offset: u64,
    len: u64,
    buf: &mut Vec<u8>,
) -> Result<(), BackendError> {
    let data = backend.read_range(t, name, offset, len).await?;
    buf.clear();
    buf.extend_from_slice(&data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_restics() {
        assert_eq!(FileType::Pack.path("abcdef"), "data/ab/abcdef");
        assert_eq!(FileType::Index.path("ff"), "index/ff");
        assert_eq!(FileType::Config.path(""), "config");
        assert_eq!(FileType::Key.path("k"), "keys/k");
    }

    #[test]
    fn s3legacy_layout_is_restics() {
        let l = Layout::S3Legacy;
        assert_eq!(l.path(FileType::Pack, "abcdef"), "data/abcdef");
        assert_eq!(l.path(FileType::Key, "k"), "key/k");
        assert_eq!(l.path(FileType::Snapshot, "s"), "snapshot/s");
        assert_eq!(l.path(FileType::Lock, "l"), "lock/l");
        assert_eq!(l.path(FileType::Index, "i"), "index/i");
        assert_eq!(l.path(FileType::Config, ""), "config");
        assert_eq!(
            Layout::Default.path(FileType::Pack, "abcdef"),
            "data/ab/abcdef"
        );
        assert_eq!(Layout::detect(false, true), Layout::S3Legacy);
        for (keys, key) in [(true, false), (true, true), (false, false)] {
            assert_eq!(Layout::detect(keys, key), Layout::Default, "{keys} {key}");
        }
    }
}
