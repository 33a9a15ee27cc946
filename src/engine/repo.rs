//! An open repository: backend + master key + config + index.
//!
//! This is where the format pieces meet storage. Everything here is safe to share across
//! threads (`Arc<Repository>`): the index sits behind a lock, blob encoding is pure CPU work
//! that callers run on their own threads.
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde::{de::DeserializeOwned, Serialize};

use super::aligned::AlignedBuf;
use super::backend::{Backend, BackendError, FileType};
use super::config::{Config, LATEST_VERSION};
use super::crypto::{CryptoError, Key, IV_LEN, OVERHEAD};
use super::id::Id;
use super::index::{BlobLocation, IndexFile, IndexPack, MasterIndex};
use super::keyfile::{KdfParams, KeyFile, KeyFileError};
use super::pack::{self, BlobType, PackError, PackedBlob};
use super::snapshot::{Snapshot, SnapshotEntry};
use super::unpacked;

/// Blobs per index file written: restic's guideline is 8 MiB per file, and 30 000 entries
/// are about 3 MiB of JSON.
pub const INDEX_BLOBS_PER_FILE: usize = 30_000;

/// restic's `--compression`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    Off,
    #[default]
    Auto,
    Max,
}

impl Compression {
    pub fn parse(s: &str) -> Option<Compression> {
        match s {
            "off" => Some(Compression::Off),
            "auto" => Some(Compression::Auto),
            "max" => Some(Compression::Max),
            _ => None,
        }
    }
    fn level(self) -> Option<i32> {
        match self {
            Compression::Off => None,
            Compression::Auto => Some(2),
            Compression::Max => Some(11),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RepoOptions {
    pub compression: Compression,
    /// Target pack size in bytes (restic's `--pack-size`, default 16 MiB).
    pub pack_size: usize,
    /// Parallel backend requests.
    pub connections: usize,
}

impl Default for RepoOptions {
    fn default() -> Self {
        RepoOptions {
            compression: Compression::Auto,
            pack_size: 16 << 20,
            connections: 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error(
        "{location} is not a repository: it has no config file (create one with `stash init`)"
    )]
    NotARepository { location: String },
    #[error("{location} already holds a repository (it has a config file)")]
    AlreadyInitialized { location: String },
    #[error("wrong password: no key file of {location} could be opened with it")]
    WrongPassword { location: String },
    #[error("{location} has no key files")]
    NoKeys { location: String },
    #[error("repository format version {0} is not supported (we read 1 and 2)")]
    UnsupportedVersion(u32),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("{what} cannot be decrypted: {source}")]
    Decrypt { what: String, source: CryptoError },
    #[error("{what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("{what} is not valid JSON")]
    Json {
        what: String,
        source: serde_json::Error,
    },
    #[error("{blob_type} blob {id} is not in the index")]
    BlobNotFound { blob_type: BlobType, id: Id },
    #[error(transparent)]
    Locked(#[from] super::lock::LockedError),
    #[error("choosing the parent snapshot: {0}")]
    Parent(super::snapshot::SelectError),
    #[error("choosing snapshots: {0}")]
    Select(super::snapshot::SelectError),
    #[error(
        "snapshot file {name} cannot be read; `stash repair snapshots --forget {name}` removes it"
    )]
    UnreadableSnapshot {
        name: String,
        #[source]
        source: Box<RepoError>,
    },
    #[error("reading key file {name}")]
    Key { name: String, source: KeyFileError },
    /// What is being backed up could not be read (a file's permissions, a disk's I/O error, a
    /// dump that broke off): not the repository's fault.
    #[error("reading {what}: {source}")]
    Source {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Writing restored data failed (a full disk, or the reader of a pipe went away).
    #[error("writing restored data: {0}")]
    Output(#[source] std::io::Error),
    #[error("{0}")]
    Other(String),
}

impl RepoError {
    pub fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> RepoError {
        RepoError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

pub type Result<T, E = RepoError> = std::result::Result<T, E>;

/// Per-thread state for [`Repository::seal_blob`]: a zstd context (setting one up costs about
/// as much as compressing a small blob) and a buffer that stays mapped from blob to blob.
#[derive(Default)]
pub struct BlobScratch {
    cctx: Option<(i32, zstd::bulk::Compressor<'static>)>,
    /// The last sealed blob: IV, ciphertext, MAC.
    pub sealed: Vec<u8>,
}

/// The scratch's zstd context for `level`, made on first use.
fn compressor<'a>(
    cctx: &'a mut Option<(i32, zstd::bulk::Compressor<'static>)>,
    level: i32,
) -> &'a mut zstd::bulk::Compressor<'static> {
    if cctx.as_ref().map(|(l, _)| *l) != Some(level) {
        let c =
            zstd::bulk::Compressor::new(level).expect("zstd accepts its own compression levels");
        *cctx = Some((level, c));
    }
    &mut cctx.as_mut().expect("set just above").1
}

/// A blob ready to go into a pack: encrypted (and maybe compressed) bytes plus its header entry.
pub struct PreparedBlob {
    pub id: Id,
    pub blob_type: BlobType,
    pub bytes: Vec<u8>,
    pub uncompressed_length: Option<u32>,
}

pub struct Repository {
    backend: Arc<dyn Backend>,
    key: Key,
    config: Config,
    key_id: String,
    pub opts: RepoOptions,
    index: RwLock<MasterIndex>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("location", &self.backend.location())
            .finish()
    }
}

fn what(t: FileType, name: &str) -> String {
    match t {
        FileType::Config => "config".to_string(),
        _ => format!("{t} {}", &name[..name.len().min(8)]),
    }
}

impl Repository {
    /// Create a new repository. Fails, changing nothing, if one is already there.
    pub async fn init(
        backend: Arc<dyn Backend>,
        password: &str,
        version: u32,
        kdf: KdfParams,
        opts: RepoOptions,
    ) -> Result<Repository> {
        if !(1..=LATEST_VERSION).contains(&version) {
            return Err(RepoError::UnsupportedVersion(version));
        }
        if backend.stat(FileType::Config, "").await?.is_some() {
            return Err(RepoError::AlreadyInitialized {
                location: backend.location(),
            });
        }
        backend.create().await?;
        let key = Key::random();
        let pw = password.to_string();
        let k2 = key.clone();
        let kf = tokio::task::spawn_blocking(move || KeyFile::create(&k2, &pw, kdf))
            .await
            .map_err(|e| RepoError::Other(e.to_string()))?
            .map_err(|e| RepoError::Key {
                name: "new".into(),
                source: e,
            })?;
        let kf_bytes = serde_json::to_vec(&kf).expect("key file serialises");
        let key_id = Id::hash(&kf_bytes).to_hex();
        backend
            .write(FileType::Key, &key_id, Bytes::from(kf_bytes))
            .await?;
        let config = Config::new(version);
        let cfg_plain = serde_json::to_vec(&config).expect("config serialises");
        backend
            .write(FileType::Config, "", Bytes::from(key.encrypt(&cfg_plain)))
            .await?;
        Ok(Repository {
            backend,
            key,
            config,
            key_id,
            opts,
            index: RwLock::new(MasterIndex::default()),
        })
    }

    /// Open an existing repository with `password` (the index is not loaded yet).
    pub async fn open(
        backend: Arc<dyn Backend>,
        password: &str,
        mut opts: RepoOptions,
    ) -> Result<Repository> {
        let cfg_raw = match backend.read(FileType::Config, "").await {
            Ok(b) => b,
            Err(e) if e.is_not_found() => {
                return Err(RepoError::NotARepository {
                    location: backend.location(),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let keys = backend.list(FileType::Key).await?;
        if keys.is_empty() {
            return Err(RepoError::NoKeys {
                location: backend.location(),
            });
        }
        let mut found = None;
        for k in keys {
            let raw = backend.read(FileType::Key, &k.name).await?;
            let kf: KeyFile = match serde_json::from_slice(&raw) {
                Ok(kf) => kf,
                Err(e) => {
                    tracing::warn!(key = %k.name, error = %e, "skipping unreadable key file");
                    continue;
                }
            };
            let pw = password.to_string();
            let res = tokio::task::spawn_blocking(move || kf.open(&pw))
                .await
                .map_err(|e| RepoError::Other(e.to_string()))?;
            match res {
                Ok(key) => {
                    found = Some((key, k.name));
                    break;
                }
                Err(KeyFileError::WrongPassword) => continue,
                Err(e) => tracing::warn!(key = %k.name, error = %e, "skipping key file"),
            }
        }
        let (key, key_id) = found.ok_or_else(|| RepoError::WrongPassword {
            location: backend.location(),
        })?;
        let plain = key.decrypt(&cfg_raw).map_err(|e| RepoError::Decrypt {
            what: "config".into(),
            source: e,
        })?;
        let json = unpacked::decode(plain).map_err(|e| RepoError::corrupt("config", e))?;
        let config: Config = serde_json::from_slice(&json).map_err(|e| RepoError::Json {
            what: "config".into(),
            source: e,
        })?;
        if !(1..=LATEST_VERSION).contains(&config.version) {
            return Err(RepoError::UnsupportedVersion(config.version));
        }
        if config.polynomial().is_none() {
            return Err(RepoError::corrupt("config", "invalid chunker polynomial"));
        }
        if config.version < 2 {
            opts.compression = Compression::Off;
        }
        Ok(Repository {
            backend,
            key,
            config,
            key_id,
            opts,
            index: RwLock::new(MasterIndex::default()),
        })
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn key(&self) -> &Key {
        &self.key
    }
    /// Name of the key file that opened the repository.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
    pub fn location(&self) -> String {
        self.backend.location()
    }
    pub fn polynomial(&self) -> super::chunker::Pol {
        self.config.polynomial().expect("checked at open")
    }

    // ---- unpacked files -------------------------------------------------------------------

    /// Read, verify and decode an unpacked file into JSON bytes.
    pub async fn load_unpacked(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let raw = self.backend.read(t, name).await?;
        if t != FileType::Config && Id::hash(&raw).to_hex() != name {
            return Err(RepoError::corrupt(
                what(t, name),
                "content does not match its name (hash mismatch)",
            ));
        }
        let plain = self.key.decrypt(&raw).map_err(|e| RepoError::Decrypt {
            what: what(t, name),
            source: e,
        })?;
        unpacked::decode(plain).map_err(|e| RepoError::corrupt(what(t, name), e))
    }

    pub async fn load_json<T: DeserializeOwned>(&self, t: FileType, name: &str) -> Result<T> {
        let json = self.load_unpacked(t, name).await?;
        serde_json::from_slice(&json).map_err(|e| RepoError::Json {
            what: what(t, name),
            source: e,
        })
    }

    /// Encode, encrypt and store a JSON file; returns its id.
    pub async fn save_json<T: Serialize>(&self, t: FileType, value: &T) -> Result<Id> {
        let json = serde_json::to_vec(value).expect("JSON serialisation of our types cannot fail");
        let plain = unpacked::encode(json, self.config.version >= 2);
        let raw = self.key.encrypt(&plain);
        let id = Id::hash(&raw);
        self.backend
            .write(t, &id.to_hex(), Bytes::from(raw))
            .await?;
        Ok(id)
    }

    // ---- snapshots ------------------------------------------------------------------------

    /// All snapshots, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<SnapshotEntry>> {
        let list = self.backend.list(FileType::Snapshot).await?;
        let mut out: Vec<SnapshotEntry> = futures::stream::iter(list)
            .map(|f| async move {
                let s: Snapshot = self.load_json(FileType::Snapshot, &f.name).await?;
                let id: Id = f
                    .name
                    .parse()
                    .map_err(|e| RepoError::Other(format!("{e}")))?;
                Ok::<_, RepoError>(SnapshotEntry { id, snapshot: s })
            })
            .buffer_unordered(self.opts.connections.max(1) * 2)
            .try_collect()
            .await?;
        out.sort_by(|a, b| a.snapshot.time.cmp(&b.snapshot.time).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    // ---- index ----------------------------------------------------------------------------

    /// Load every index file into the master index.
    pub async fn load_index(&self) -> Result<()> {
        let list = self.backend.list(FileType::Index).await?;
        let files: Vec<(Id, IndexFile)> = futures::stream::iter(list)
            .map(|f| async move {
                let idx: IndexFile = self.load_json(FileType::Index, &f.name).await?;
                let id: Id = f
                    .name
                    .parse()
                    .map_err(|e| RepoError::Other(format!("{e}")))?;
                Ok::<_, RepoError>((id, idx))
            })
            .buffer_unordered(self.opts.connections.max(1) * 2)
            .try_collect()
            .await?;
        let mut mi = MasterIndex::default();
        for (id, f) in &files {
            mi.add_file(*id, f);
        }
        *self.index.write().unwrap() = mi;
        Ok(())
    }

    pub fn index(&self) -> std::sync::RwLockReadGuard<'_, MasterIndex> {
        self.index.read().unwrap()
    }

    pub fn lookup(&self, t: BlobType, id: &Id) -> Option<BlobLocation> {
        self.index.read().unwrap().get(t, id)
    }

    pub fn has_blob(&self, t: BlobType, id: &Id) -> bool {
        self.index.read().unwrap().has(t, id)
    }

    pub(crate) fn index_add_pack(&self, p: &IndexPack) {
        self.index.write().unwrap().add_pack(p);
    }

    /// Write one index file listing `packs`.
    pub async fn save_index(&self, packs: Vec<IndexPack>, supersedes: Vec<Id>) -> Result<Id> {
        self.save_json(FileType::Index, &IndexFile { supersedes, packs })
            .await
    }

    /// Write `packs` as as many index files as needed to keep each well below restic's 8 MiB
    /// guideline ([`INDEX_BLOBS_PER_FILE`] blobs). Returns the ids of the files written.
    pub async fn save_index_batched(
        &self,
        packs: Vec<IndexPack>,
        supersedes: &[Id],
    ) -> Result<Vec<Id>> {
        let (mut files, mut batch, mut blobs) = (Vec::new(), Vec::new(), 0);
        for p in packs {
            blobs += p.blobs.len();
            batch.push(p);
            if blobs >= INDEX_BLOBS_PER_FILE {
                files.push(
                    self.save_index(std::mem::take(&mut batch), supersedes.to_vec())
                        .await?,
                );
                blobs = 0;
            }
        }
        if !batch.is_empty() {
            files.push(self.save_index(batch, supersedes.to_vec()).await?);
        }
        Ok(files)
    }

    // ---- blobs ----------------------------------------------------------------------------

    /// Compress (v2, when it helps) and encrypt a blob. Pure CPU work.
    pub fn prepare_blob(&self, blob_type: BlobType, id: Id, data: &[u8]) -> PreparedBlob {
        let mut scratch = BlobScratch::default();
        let uncompressed_length = self.seal_blob(data, &mut scratch);
        PreparedBlob {
            id,
            blob_type,
            bytes: scratch.sealed,
            uncompressed_length,
        }
    }

    /// Compress (v2, when it helps) and encrypt `data` into `scratch.sealed`, reusing the
    /// scratch's zstd context and buffers. Returns the uncompressed length when the stored
    /// bytes are compressed (the pack header's v2 field), `None` when stored as is.
    pub fn seal_blob(&self, data: &[u8], scratch: &mut BlobScratch) -> Option<u32> {
        // Compress straight into the sealed buffer after room for the IV, then encrypt there.
        let sealed = &mut scratch.sealed;
        sealed.clear();
        sealed.resize(IV_LEN, 0);
        let mut stored_len = None;
        if let Some(level) = self.opts.compression.level() {
            sealed.reserve(zstd::zstd_safe::compress_bound(data.len()) + OVERHEAD);
            let mut at_iv_end = std::io::Cursor::new(&mut *sealed);
            at_iv_end.set_position(IV_LEN as u64);
            let ok = compressor(&mut scratch.cctx, level)
                .compress_to_buffer(data, &mut at_iv_end)
                .is_ok();
            if ok && sealed.len() - IV_LEN < data.len() {
                stored_len = Some(data.len() as u32);
            } else {
                sealed.truncate(IV_LEN);
            }
        }
        if stored_len.is_none() {
            sealed.extend_from_slice(data);
        }
        self.key.seal_in_place(sealed, 0);
        stored_len
    }

    /// Decrypt, decompress and verify one blob's bytes as read from its pack.
    pub fn decode_blob(
        &self,
        blob_type: BlobType,
        id: &Id,
        loc: &BlobLocation,
        raw: &mut [u8],
    ) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.decode_blob_append(blob_type, id, loc, raw, &mut out)?;
        Ok(out)
    }

    /// Like [`Repository::decode_blob`], but appends the plaintext to `out`, so a caller that
    /// keeps its buffers (restore) decodes without allocating or faulting in fresh pages.
    /// On error `out` is left as it was.
    pub fn decode_blob_append(
        &self,
        blob_type: BlobType,
        id: &Id,
        loc: &BlobLocation,
        raw: &mut [u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        decode_blob_with(&self.key, blob_type, id, loc, raw, out)
    }

    /// Load one blob.
    pub async fn read_blob(&self, blob_type: BlobType, id: &Id) -> Result<Vec<u8>> {
        let loc = self
            .lookup(blob_type, id)
            .ok_or(RepoError::BlobNotFound { blob_type, id: *id })?;
        let raw = self
            .backend
            .read_range(
                FileType::Pack,
                &loc.pack.to_hex(),
                loc.offset as u64,
                loc.length as u64,
            )
            .await?;
        let mut raw = Vec::from(raw);
        self.decode_blob(blob_type, id, &loc, &mut raw)
    }

    /// Store a finished pack (blobs already laid out in `body`, header appended here).
    /// Returns the index entry; the caller adds it to the index once it wants it visible.
    pub async fn save_pack(&self, body: AlignedBuf, blobs: Vec<PackedBlob>) -> Result<IndexPack> {
        Ok(self.save_pack_returning(body, blobs).await?.0)
    }

    /// [`Repository::save_pack`] that also hands the body's buffer back (cleared) once the
    /// backend has let go of it, for the caller to fill again.
    pub async fn save_pack_returning(
        &self,
        mut body: AlignedBuf,
        blobs: Vec<PackedBlob>,
    ) -> Result<(IndexPack, Option<AlignedBuf>)> {
        let header = pack::encode_header(&self.key, &blobs);
        body.extend_from_slice(&header);
        let id = Id::hash(&body);
        let (bytes, lent) = body.share();
        self.backend
            .write(FileType::Pack, &id.to_hex(), bytes)
            .await?;
        Ok((IndexPack::from_packed(id, &blobs), lent.reclaim()))
    }

    /// Read and decode the header of a pack (for check and index repair).
    pub async fn read_pack_header(&self, pack_id: &Id, size: u64) -> Result<Vec<PackedBlob>> {
        let name = pack_id.to_hex();
        let what = format!("pack {}", pack_id.short());
        let guess = pack::tail_guess(size);
        let tail = self
            .backend
            .read_range(FileType::Pack, &name, size - guess, guess)
            .await?;
        let map = |e: PackError| RepoError::corrupt(what.clone(), e);
        match pack::decode_header(&self.key, &tail, size).map_err(map)? {
            Ok(blobs) => Ok(blobs),
            Err(need) => {
                let tail = self
                    .backend
                    .read_range(FileType::Pack, &name, size - need, need)
                    .await?;
                match pack::decode_header(&self.key, &tail, size).map_err(map)? {
                    Ok(blobs) => Ok(blobs),
                    Err(_) => Err(RepoError::corrupt(what, "header length inconsistent")),
                }
            }
        }
    }

    /// Size overhead constant, re-exported for callers computing plaintext sizes.
    pub const OVERHEAD: usize = OVERHEAD;
}

/// [`Repository::decode_blob_append`] with the key given: decrypt `raw` (the blob's bytes as
/// read from its pack), decompress it if `loc` says so, check it hashes to `id`, and append
/// the plaintext to `out`. Pure CPU work on untrusted bytes; `out` is unchanged on error.
pub fn decode_blob_with(
    key: &Key,
    blob_type: BlobType,
    id: &Id,
    loc: &BlobLocation,
    raw: &mut [u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let what = || {
        format!(
            "{blob_type} blob {} in pack {}",
            id.short(),
            loc.pack.short()
        )
    };
    if raw.len() != loc.length as usize {
        return Err(RepoError::corrupt(
            what(),
            format!("expected {} bytes, read {}", loc.length, raw.len()),
        ));
    }
    let plain = key.decrypt_in_place(raw).map_err(|e| RepoError::Decrypt {
        what: what(),
        source: e,
    })?;
    let start = out.len();
    match loc.uncompressed_length {
        Some(n) => {
            if let Err(e) = super::decompress::decompress_append(plain, n as usize, out) {
                out.truncate(start);
                return Err(RepoError::corrupt(what(), e));
            }
        }
        None => out.extend_from_slice(plain),
    }
    if Id::hash(&out[start..]) != *id {
        out.truncate(start);
        return Err(RepoError::corrupt(what(), "content hash mismatch"));
    }
    Ok(())
}
