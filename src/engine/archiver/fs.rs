//! Back up files and directories with their metadata.
//!
//! The snapshot mirrors restic's: every target is stored under its absolute path, each parent
//! directory becoming a tree node with its own metadata, so `restic restore` recreates
//! `/target/path/…` below the restore folder just as for a snapshot restic made.
//!
//! A backup compares itself with a parent snapshot ([`super::parent`]): unchanged files are
//! not read and unchanged folders cost no upload. Files are read a few at a time, and a file
//! shorter than the chunker's minimum (most files of a volume) goes to the workers as one blob
//! without a chunker task of its own, so many small files keep every core busy.
//!
//! [`backup_mapped`] backs up paths as a pod names them (a [`PathMap`] says where its volumes
//! are on this machine) and records the pod's paths, as Stash's sidecar or Job would.
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, Local, TimeZone};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use tokio::io::AsyncReadExt;

use super::parent::{self, Change, ChangeDetection, ParentChoice};
use super::saver::{ChangeCounts, ChunkReceipt, Unreadable, WholeChunks};
use super::{BackupStats, BlobSaver, Progress, SnapshotOptions};
use crate::engine::backend::FileType;
use crate::engine::chunker::MIN_SIZE;
use crate::engine::crypto::OVERHEAD;
use crate::engine::lock::Lock;
use crate::engine::pack::BlobType;
use crate::engine::pathmap::{child_path, PathMap};
use crate::engine::repo::{RepoError, Repository, Result};
use crate::engine::restorer::load_tree;
use crate::engine::snapshot::SnapshotEntry;
use crate::engine::sys;
use crate::engine::tree::{gomode, Node, Tree};
use crate::engine::Id;

/// Glob patterns in restic's style: `*` stops at `/`, `**` crosses it; a pattern that does
/// not start with `/` matches at any depth; a match on a directory skips all below it.
#[derive(Clone, Debug, Default)]
pub struct PathMatcher {
    set: Option<GlobSet>,
}

impl PathMatcher {
    pub fn new(patterns: &[String]) -> Result<PathMatcher> {
        if patterns.is_empty() {
            return Ok(PathMatcher { set: None });
        }
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            let p = p.trim_end_matches('/');
            let full = if p.starts_with('/') {
                p.to_string()
            } else {
                format!("**/{p}")
            };
            let g = GlobBuilder::new(&full)
                .literal_separator(true)
                .build()
                .map_err(|e| RepoError::Other(format!("invalid pattern {p:?}: {e}")))?;
            b.add(g);
        }
        let set = b
            .build()
            .map_err(|e| RepoError::Other(format!("invalid patterns: {e}")))?;
        Ok(PathMatcher { set: Some(set) })
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_none()
    }

    /// Whether an absolute path (as stored in the snapshot) matches.
    pub fn matches(&self, path: &str) -> bool {
        self.set.as_ref().map(|s| s.is_match(path)).unwrap_or(false)
    }
}

pub(crate) fn to_time(secs: i64, nsecs: i64) -> DateTime<FixedOffset> {
    Local
        .timestamp_opt(secs, nsecs.clamp(0, 999_999_999) as u32)
        .single()
        .unwrap_or_else(|| Local.timestamp_opt(0, 0).unwrap())
        .fixed_offset()
}

/// A node carrying `path`'s metadata (no content or subtree yet).
pub(crate) fn node_from_metadata(
    name: &str,
    path: &Path,
    md: &std::fs::Metadata,
) -> std::io::Result<Node> {
    let ft = md.file_type();
    use std::os::unix::fs::FileTypeExt;
    let node_type = if ft.is_dir() {
        "dir"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_file() {
        "file"
    } else if ft.is_block_device() {
        "dev"
    } else if ft.is_char_device() {
        "chardev"
    } else if ft.is_fifo() {
        "fifo"
    } else {
        "socket"
    };
    let mut n = Node::new(name, node_type, to_time(md.mtime(), md.mtime_nsec()));
    // restic records the mtime as the atime unless told `--with-atime`: a real atime moves
    // whenever anything reads the file or lists the folder, which would change its tree in
    // every backup.
    n.atime = n.mtime;
    n.ctime = to_time(md.ctime(), md.ctime_nsec());
    n.mode = gomode::from_unix(md.mode());
    n.uid = md.uid();
    n.gid = md.gid();
    n.user = sys::user_name(n.uid);
    n.group = sys::group_name(n.gid);
    n.inode = md.ino();
    n.device_id = md.dev();
    n.links = md.nlink();
    if ft.is_file() {
        n.size = md.len();
    }
    if ft.is_symlink() {
        n.linktarget = std::fs::read_link(path)?.to_string_lossy().into_owned();
    }
    if ft.is_block_device() || ft.is_char_device() {
        n.device = md.rdev();
    }
    Ok(n)
}

/// Lexically clean an absolute path (`.`/`..` resolved without following symlinks).
fn clean_absolute(p: &Path) -> std::io::Result<PathBuf> {
    let abs = std::path::absolute(p)?;
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s),
            _ => {}
        }
    }
    Ok(out)
}

/// The directories leading to the targets (as the snapshot names them), with the targets as
/// leaves holding the folder they are read from.
#[derive(Default)]
struct VDir {
    children: BTreeMap<String, VEntry>,
}

enum VEntry {
    Dir(VDir),
    Target(PathBuf),
}

/// A folder of the pod's own filesystem on the way to a mount: nothing of it is on this
/// machine, so it gets plain metadata (`drwxr-xr-x`, this user, time 0) — stable, so an
/// unchanged backup writes the same trees again.
fn synthetic_dir(name: &str) -> Node {
    let mut n = Node::new(name, "dir", to_time(0, 0));
    n.mode = gomode::DIR | 0o755;
    n.uid = sys::uid();
    n.gid = sys::gid();
    n
}

/// Files read at once: enough to keep every worker busy when files are small (each is one
/// blob, so one file at a time would leave all but one core idle), few enough that their
/// buffers (at most the chunker's minimum each) stay small.
fn read_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        + 2
}

/// Entries of one folder saved at once. Folders nest, so this multiplies with depth, but what
/// waits is only futures: reading is bounded by [`Walker::reads`].
const DIR_FANOUT: usize = 8;

/// What a directory backup counts besides the pipeline's bytes and blobs.
#[derive(Default)]
struct Tally {
    files: ChangeCounts,
    dirs: ChangeCounts,
    bytes_processed: u64,
    warnings: Vec<String>,
    unreadable: Vec<Unreadable>,
}

fn count(c: &mut ChangeCounts, change: Change) {
    match change {
        Change::New => c.new += 1,
        Change::Changed => c.changed += 1,
        Change::Unmodified => c.unmodified += 1,
    }
}

/// One entry of a folder being backed up: its name, its path in the snapshot, where it is
/// read from and its metadata (`None` where it could not be read: the entry is read again on
/// its own, so its error names it).
type Listed = (String, String, PathBuf, Option<std::fs::Metadata>);

/// The entries of the folder `dir` (snapshot path `at`) that `excludes` keeps, with their
/// metadata; an excluded entry is not even `lstat`ed.
fn list_with_metadata(
    dir: &Path,
    at: &str,
    excludes: &PathMatcher,
) -> std::io::Result<Vec<Listed>> {
    Ok(sys::read_dir_names(dir)?
        .into_iter()
        .filter_map(|os_name| {
            let name = os_name.to_string_lossy().into_owned();
            let child_at = child_path(at, &name);
            if excludes.matches(&child_at) {
                return None;
            }
            // Read from the name as the folder holds it, whatever its encoding.
            let real = dir.join(&os_name);
            let md = std::fs::symlink_metadata(&real).ok();
            Some((name, child_at, real, md))
        })
        .collect())
}

/// An error reading `path` from the source being backed up.
fn source_error(path: &Path) -> impl Fn(std::io::Error) -> RepoError + Copy + '_ {
    move |e| RepoError::Source {
        what: path.display().to_string(),
        source: e,
    }
}

/// The start of a file, read on a blocking thread.
enum Head {
    /// The whole file: shorter than the chunker's minimum, so one blob (none when empty),
    /// already handed to the workers. `after` is the metadata once it was read.
    Whole {
        receipt: Option<ChunkReceipt>,
        size: u64,
        after: std::fs::Metadata,
    },
    /// The file goes on: the rest is chunked as a stream.
    Partial { file: std::fs::File, head: Vec<u8> },
}

/// Open `path` and read up to the chunker's minimum; a file that ends before it goes to the
/// workers whole.
fn read_head(path: &Path, chunks: WholeChunks, expect: u64) -> Result<Head> {
    use std::io::Read;
    let io = source_error(path);
    let mut file = sys::open_noatime(path).map_err(io)?;
    let limit = MIN_SIZE as u64;
    let mut head = chunks.buffer(expect.saturating_add(1).min(limit) as usize);
    let n = (&mut file).take(limit).read_to_end(&mut head).map_err(io)? as u64;
    if n == limit {
        return Ok(Head::Partial { file, head });
    }
    let after = file.metadata().map_err(io)?;
    let receipt = if n == 0 {
        None
    } else {
        Some(chunks.submit(head)?)
    };
    Ok(Head::Whole {
        receipt,
        size: n,
        after,
    })
}

struct Walker<'a> {
    repo: &'a Repository,
    saver: &'a BlobSaver,
    /// Shared with the blocking folder listings, which drop excluded entries.
    excludes: Arc<PathMatcher>,
    map: &'a PathMap,
    progress: &'a Progress,
    change: ChangeDetection,
    /// Files being read, at most [`read_concurrency`].
    reads: tokio::sync::Semaphore,
    tally: Mutex<Tally>,
}

impl<'a> Walker<'a> {
    fn warn(&self, msg: String) {
        tracing::warn!("{msg}");
        self.tally.lock().unwrap().warnings.push(msg);
    }

    /// The parent's tree for a folder whose node in the parent is `previous`. A tree that
    /// cannot be loaded only means that the folder's files are read.
    async fn parent_tree(&self, previous: Option<&Node>, at: &str) -> Option<Tree> {
        let id = previous.filter(|n| n.is_dir())?.subtree?;
        match load_tree(self.repo, &id).await {
            Ok(t) => Some(t),
            Err(e) => {
                self.warn(format!(
                    "the parent snapshot's tree {} for {at} could not be loaded, so its files are read again: {e}",
                    id.short()
                ));
                None
            }
        }
    }

    /// Whether `previous`'s content list can be reused: every blob is in the index and their
    /// lengths add up to the file's size (else it is read again, as restic does).
    fn content_stored(&self, previous: &Node) -> bool {
        let Some(content) = &previous.content else {
            return false;
        };
        let index = self.repo.index();
        let mut total = 0u64;
        for id in content {
            match index.get(BlobType::Data, id) {
                // Plaintext length; a damaged entry shorter than the crypto overhead counts 0.
                Some(loc) => {
                    total += match loc.uncompressed_length {
                        Some(n) => u64::from(n),
                        None => u64::from(loc.length).saturating_sub(OVERHEAD as u64),
                    }
                }
                None => return false,
            }
        }
        total == previous.size
    }

    /// Read a changed or new file into the pipeline; returns its content and byte count.
    async fn read_file(
        &self,
        real: &Path,
        at: &str,
        before: &std::fs::Metadata,
    ) -> Result<(Vec<Id>, u64)> {
        let io = source_error(real);
        let _permit = self
            .reads
            .acquire()
            .await
            .map_err(|_| RepoError::Other("file readers stopped".into()))?;
        let chunks = self.saver.whole_chunks();
        let path = real.to_path_buf();
        let expect = before.len();
        let head = tokio::task::spawn_blocking(move || read_head(&path, chunks, expect))
            .await
            .map_err(|e| RepoError::Other(format!("file reader thread: {e}")))??;
        let (content, size, after) = match head {
            Head::Whole {
                receipt,
                size,
                after,
            } => {
                let content = match receipt {
                    Some(r) => vec![r.id(self.saver).await?],
                    None => vec![],
                };
                (content, size, after)
            }
            Head::Partial { file, head } => {
                let mut file = tokio::fs::File::from_std(file);
                let rest = std::io::Cursor::new(head).chain(&mut file);
                let (content, size) = self.saver.save_stream(rest).await.map_err(|e| match e {
                    RepoError::Source { source, .. } => io(source),
                    e => e,
                })?;
                let after = file.metadata().await.map_err(io)?;
                (content, size, after)
            }
        };
        let same = |a: &std::fs::Metadata, b: &std::fs::Metadata| {
            a.len() == b.len()
                && a.mtime() == b.mtime()
                && a.mtime_nsec() == b.mtime_nsec()
                && a.ctime() == b.ctime()
                && a.ctime_nsec() == b.ctime_nsec()
        };
        if size != before.len() || !same(before, &after) {
            self.warn(format!(
                "{at} changed while it was read ({} bytes before, {} after): the snapshot \
                 holds the {size} bytes that were read",
                before.len(),
                after.len()
            ));
        }
        Ok((content, size))
    }

    /// [`Self::save_path`] for an entry below a target: one that cannot be read is left out
    /// of the snapshot and listed as unreadable, as restic does, so one bad file never stops
    /// the others. A repository error still stops the backup.
    async fn save_child(
        &'a self,
        name: String,
        at: String,
        real: PathBuf,
        md: Option<std::fs::Metadata>,
        previous: Option<Node>,
    ) -> Result<Option<Node>> {
        match self.save_path(name, at.clone(), real, md, previous).await {
            Ok(node) => Ok(Some(node)),
            Err(RepoError::Source { source, .. }) => {
                self.tally.lock().unwrap().unreadable.push(Unreadable {
                    path: at,
                    error: source.to_string(),
                });
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Saves what snapshot path `at` holds, reading it from `real`; `previous` is the node
    /// at the same path in the parent snapshot. `md` is `real`'s metadata when the folder
    /// listing already read it (else it is read here).
    fn save_path(
        &'a self,
        name: String,
        at: String,
        real: PathBuf,
        md: Option<std::fs::Metadata>,
        previous: Option<Node>,
    ) -> BoxFuture<'a, Result<Node>> {
        Box::pin(async move {
            let io = source_error(&real);
            let md = match md {
                Some(md) => md,
                None => tokio::fs::symlink_metadata(&real).await.map_err(io)?,
            };
            let mut node = node_from_metadata(&name, &real, &md).map_err(io)?;
            if md.is_dir() {
                let (dir, dir_at, excludes) = (real.clone(), at.clone(), self.excludes.clone());
                // One blocking call lists the folder and reads every entry's metadata: on a
                // backup where little changed that is most of the work, and a thread hand-off
                // per file would cost more than the `lstat` itself.
                let listed = tokio::task::spawn_blocking(move || {
                    list_with_metadata(&dir, &dir_at, &excludes)
                })
                .await
                .map_err(|e| RepoError::Other(format!("folder reader thread: {e}")))?
                .map_err(io)?;
                let mut names: BTreeMap<String, (String, PathBuf, Option<std::fs::Metadata>)> =
                    listed
                        .into_iter()
                        .map(|(name, child_at, real, md)| (name, (child_at, real, md)))
                        .collect();
                // A volume mounted inside this one is read from its own folder.
                for (child, host) in self.map.child_mounts(&at) {
                    let child_at = child_path(&at, &child);
                    if !self.excludes.matches(&child_at) {
                        names.insert(child, (child_at, host, None));
                    }
                }
                let parent_tree = self.parent_tree(previous.as_ref(), &at).await;
                let children: Vec<_> = names
                    .into_iter()
                    .map(|(child, (child_at, child_real, child_md))| {
                        let before = parent_tree.as_ref().and_then(|t| t.find(&child)).cloned();
                        (child, child_at, child_real, child_md, before)
                    })
                    .collect();
                drop(parent_tree);
                let nodes: Vec<Option<Node>> = futures::stream::iter(children)
                    .map(|(child, child_at, child_real, child_md, before)| {
                        self.save_child(child, child_at, child_real, child_md, before)
                    })
                    .buffered(DIR_FANOUT)
                    .try_collect()
                    .await?;
                let mut tree = Tree {
                    nodes: nodes.into_iter().flatten().collect(),
                };
                node.subtree = Some(self.saver.save_tree(tree.to_blob()).await?);
                Progress::add(&self.progress.dirs, 1);
                count(
                    &mut self.tally.lock().unwrap().dirs,
                    Change::of(previous.as_ref(), &node),
                );
            } else if md.is_file() {
                let reuse = previous
                    .as_ref()
                    .filter(|p| self.change.unchanged(p, &node) && self.content_stored(p));
                let change = match reuse {
                    Some(p) => {
                        node.content = p.content.clone();
                        Change::Unmodified
                    }
                    None => {
                        let (content, size) = self.read_file(&real, &at, &md).await?;
                        node.size = size;
                        node.content = Some(content);
                        Change::of(previous.as_ref(), &node)
                    }
                };
                Progress::add(&self.progress.files, 1);
                let mut tally = self.tally.lock().unwrap();
                count(&mut tally.files, change);
                tally.bytes_processed += node.size;
            }
            Ok(node)
        })
    }

    fn save_vdir(
        &'a self,
        dir: &'a VDir,
        at: String,
        parent_tree: Option<Tree>,
    ) -> BoxFuture<'a, Result<crate::engine::Id>> {
        Box::pin(async move {
            let mut tree = Tree::default();
            for (name, e) in &dir.children {
                let p = child_path(&at, name);
                let previous = parent_tree.as_ref().and_then(|t| t.find(name)).cloned();
                match e {
                    VEntry::Target(real) => tree.nodes.push(
                        self.save_path(name.clone(), p, real.clone(), None, previous)
                            .await?,
                    ),
                    VEntry::Dir(sub) => {
                        let mut node = match self.map.host_of(&p) {
                            Some(real) => {
                                let io = source_error(&real);
                                let md = tokio::fs::symlink_metadata(&real).await.map_err(io)?;
                                node_from_metadata(name, &real, &md).map_err(io)?
                            }
                            None => synthetic_dir(name),
                        };
                        let sub_tree = self.parent_tree(previous.as_ref(), &p).await;
                        node.subtree = Some(self.save_vdir(sub, p, sub_tree).await?);
                        count(
                            &mut self.tally.lock().unwrap().dirs,
                            Change::of(previous.as_ref(), &node),
                        );
                        tree.nodes.push(node);
                    }
                }
            }
            self.saver.save_tree(tree.to_blob()).await
        })
    }
}

/// Back up `targets` (files or directories). Takes a shared lock for the duration.
pub async fn backup_paths(
    repo: Arc<Repository>,
    targets: &[PathBuf],
    excludes: &[String],
    opts: &SnapshotOptions,
    progress: Arc<Progress>,
) -> Result<(SnapshotEntry, BackupStats)> {
    backup_mapped(
        repo,
        targets,
        &PathMap::identity(),
        excludes,
        opts,
        progress,
    )
    .await
}

/// Back up `targets` as they are named inside a pod whose mounts are `map`: each is read from
/// its host folder and recorded under its own path, with every excluded pattern matched
/// against the recorded path. Folders above a mount that are not on any mount get plain
/// metadata. Takes a shared lock for the duration.
pub async fn backup_mapped(
    repo: Arc<Repository>,
    targets: &[PathBuf],
    map: &PathMap,
    excludes: &[String],
    opts: &SnapshotOptions,
    progress: Arc<Progress>,
) -> Result<(SnapshotEntry, BackupStats)> {
    if targets.is_empty() {
        return Err(RepoError::Other(
            "nothing to back up: give at least one path".into(),
        ));
    }
    let matcher = PathMatcher::new(excludes)?;
    let mut root = VDir::default();
    let mut paths = Vec::new();
    for t in targets {
        let abs =
            clean_absolute(t).map_err(|e| RepoError::Other(format!("{}: {e}", t.display())))?;
        let at = abs.to_string_lossy().into_owned();
        let Some(real) = map.host_of(&at) else {
            return Err(RepoError::Other(format!(
                "{at} is on none of the mounted volumes ({})",
                map.mounts()
                    .iter()
                    .map(|(m, _)| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if std::fs::symlink_metadata(&real).is_err() {
            let shown = if real == abs {
                at.clone()
            } else {
                format!("{at} (at {})", real.display())
            };
            return Err(RepoError::Other(format!(
                "{shown}: no such file or directory"
            )));
        }
        paths.push(at);
        let comps: Vec<String> = abs
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        if comps.is_empty() {
            return Err(RepoError::Other(
                "backing up / itself is not supported; name its folders".into(),
            ));
        }
        let mut cur = &mut root;
        for (i, c) in comps.iter().enumerate() {
            if i + 1 == comps.len() {
                cur.children.insert(c.clone(), VEntry::Target(real.clone()));
                break;
            }
            let e = cur
                .children
                .entry(c.clone())
                .or_insert_with(|| VEntry::Dir(VDir::default()));
            cur = match e {
                VEntry::Dir(d) => d,
                // A parent of this target is itself a target: it is already fully included.
                VEntry::Target(_) => break,
            };
        }
    }
    let lock = Lock::acquire(repo.clone(), false).await?;
    let res = async {
        repo.load_index().await?;
        let time = opts.time_or_now();
        let parent = if opts.parent == ParentChoice::None {
            None
        } else {
            let snaps = repo.snapshots().await?;
            parent::choose(&snaps, &opts.parent, &opts.host, &paths, time)
                .map_err(RepoError::Parent)?
                .cloned()
        };
        let saver = BlobSaver::new(repo.clone(), progress.clone());
        let walker = Walker {
            repo: &repo,
            saver: &saver,
            excludes: Arc::new(matcher),
            map,
            progress: &progress,
            change: opts.change,
            reads: tokio::sync::Semaphore::new(read_concurrency()),
            tally: Mutex::new(Tally::default()),
        };
        let parent_root = match &parent {
            Some(p) => match load_tree(&repo, &p.snapshot.tree).await {
                Ok(t) => Some(t),
                Err(e) => {
                    walker.warn(format!(
                        "the parent snapshot {} could not be read, so every file is read: {e}",
                        p.id.short()
                    ));
                    None
                }
            },
            None => None,
        };
        let tree = walker
            .save_vdir(&root, "/".to_string(), parent_root)
            .await?;
        let tally = walker.tally.into_inner().unwrap();
        let mut stats = saver.finish().await?;
        stats.files = tally.files;
        stats.dirs = tally.dirs;
        stats.bytes_processed = tally.bytes_processed;
        stats.warnings = tally.warnings;
        stats.unreadable = tally.unreadable;
        let mut o = opts.clone();
        o.excludes = excludes.to_vec();
        let snap = o.build(time, parent.map(|p| p.id), tree, paths);
        let id = repo.save_json(FileType::Snapshot, &snap).await?;
        Ok((SnapshotEntry { id, snapshot: snap }, stats))
    }
    .await;
    lock.release().await;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_like_restic() {
        let m = PathMatcher::new(&["*.log".into(), "/srv/cache".into(), "tmp".into()]).unwrap();
        assert!(m.matches("/var/app/x.log"));
        assert!(m.matches("/srv/cache"));
        assert!(!m.matches("/srv/cachex"));
        assert!(m.matches("/a/b/tmp"));
        assert!(!m.matches("/a/b/tmpx"));
        assert!(!m.matches("/var/app/x.txt"));
        assert!(!PathMatcher::new(&[]).unwrap().matches("/x"));
    }

    #[test]
    fn cleans_paths() {
        assert_eq!(
            clean_absolute(Path::new("/a/./b/../c")).unwrap(),
            PathBuf::from("/a/c")
        );
    }
}
