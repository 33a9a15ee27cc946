//! Parent snapshots: what lets a directory backup skip the files it has already stored.
//!
//! As restic does, a backup of directories compares itself with one earlier snapshot, its
//! *parent*: by default the newest snapshot of the same host with exactly the same paths, taken
//! no later than the new one. While walking, each folder's tree in the parent is loaded next to
//! the folder; a regular file whose size, mtime, ctime and inode match its node in the parent is
//! not opened at all: its node gets the parent's content list. A changed file is read as usual.
//! A folder whose tree serialises exactly as before gets the same blob id, which the index
//! already holds, so nothing is uploaded for it.
//!
//! Two rules keep this safe. The comparison is on the metadata read *before* the file would be
//! read, and that same metadata is what the new node records, so a file that changes after the
//! check differs from the node next time. And a parent's content list is reused only when every
//! blob it names is in the index (a pruned or damaged repository may have lost some): otherwise
//! the file is read again. A parent tree that cannot be loaded only costs reading its files.
use chrono::{DateTime, FixedOffset};

use crate::engine::snapshot::{SelectError, SnapshotEntry};
use crate::engine::tree::Node;

/// Which earlier snapshot a directory backup compares itself with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ParentChoice {
    /// The newest snapshot of the same host and exactly the same paths, no newer than the
    /// backup (restic's default).
    #[default]
    Latest,
    /// A snapshot by id or unique id prefix (restic's `--parent`).
    Snapshot(String),
    /// No parent: every file is read (restic's `--force`).
    None,
}

/// Which metadata changes make a file count as changed. Size and mtime always do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChangeDetection {
    /// Do not compare inode numbers (restic's `--ignore-inode`): for filesystems whose inode
    /// numbers are not stable, such as some network and FUSE mounts.
    pub ignore_inode: bool,
    /// Do not compare ctimes (restic's `--ignore-ctime`): for copies that keep mtimes but not
    /// ctimes, such as restored or rsynced trees.
    pub ignore_ctime: bool,
}

impl ChangeDetection {
    /// Whether `current` (fresh metadata, no content yet) is the file `previous` describes.
    pub fn unchanged(&self, previous: &Node, current: &Node) -> bool {
        previous.is_file()
            && current.is_file()
            && previous.size == current.size
            && same_instant(&previous.mtime, &current.mtime)
            && (self.ignore_ctime || same_instant(&previous.ctime, &current.ctime))
            && (self.ignore_inode || previous.inode == current.inode)
    }
}

fn same_instant(a: &DateTime<FixedOffset>, b: &DateTime<FixedOffset>) -> bool {
    a.timestamp() == b.timestamp() && a.timestamp_subsec_nanos() == b.timestamp_subsec_nanos()
}

/// The parent for a backup of `paths` on `host` at `time`, if any.
pub fn choose<'a>(
    snaps: &'a [SnapshotEntry],
    choice: &ParentChoice,
    host: &str,
    paths: &[String],
    time: DateTime<FixedOffset>,
) -> Result<Option<&'a SnapshotEntry>, SelectError> {
    match choice {
        ParentChoice::None => Ok(None),
        ParentChoice::Snapshot(which) => {
            let mut found = snaps.iter().filter(|e| e.id.to_hex().starts_with(which));
            match (found.next(), found.next()) {
                (Some(e), None) if !which.is_empty() => Ok(Some(e)),
                (None, _) => Err(SelectError::NotFound(which.clone())),
                _ => Err(SelectError::Ambiguous(which.clone())),
            }
        }
        ParentChoice::Latest => {
            let mut want: Vec<&str> = paths.iter().map(String::as_str).collect();
            want.sort_unstable();
            want.dedup();
            Ok(snaps
                .iter()
                .filter(|e| e.snapshot.hostname == host && e.snapshot.time <= time)
                .filter(|e| {
                    let mut have: Vec<&str> = e.snapshot.paths.iter().map(String::as_str).collect();
                    have.sort_unstable();
                    have.dedup();
                    have == want
                })
                .max_by_key(|e| (e.snapshot.time, e.id)))
        }
    }
}

/// How a file or folder compares with the parent, restic's three summary classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Not in the parent (or no parent).
    New,
    /// In the parent, with some difference in metadata or content.
    Changed,
    /// In the parent exactly as now.
    Unmodified,
}

impl Change {
    /// Classify a finished node against its parent node, as restic's summary does.
    pub fn of(previous: Option<&Node>, current: &Node) -> Change {
        match previous {
            None => Change::New,
            Some(p) if p == current => Change::Unmodified,
            Some(_) => Change::Changed,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::snapshot::Snapshot;
    use crate::engine::Id;

    fn t(s: &str) -> DateTime<FixedOffset> {
        s.parse().unwrap()
    }

    fn file() -> Node {
        let mut n = Node::new("f", "file", t("2024-01-01T00:00:00.5Z"));
        n.size = 10;
        n.inode = 7;
        n.ctime = t("2024-01-02T00:00:00.25Z");
        n
    }

    #[test]
    fn unchanged_compares_size_mtime_ctime_inode() {
        let d = ChangeDetection::default();
        let prev = file();
        assert!(d.unchanged(&prev, &file()));
        // The same instant written with another offset is the same time.
        let mut other_zone = file();
        other_zone.mtime = t("2024-01-01T02:00:00.5+02:00");
        assert!(d.unchanged(&prev, &other_zone));
        // atime, owner and mode are not part of the check (restic's).
        let mut touched = file();
        touched.atime = t("2030-01-01T00:00:00Z");
        assert!(d.unchanged(&prev, &touched));

        type Edit = fn(&mut Node);
        let cases: [(&str, Edit); 5] = [
            ("size", |n| n.size = 11),
            ("mtime", |n| n.mtime = t("2024-01-01T00:00:00.500000001Z")),
            ("ctime", |n| n.ctime = t("2024-01-03T00:00:00Z")),
            ("inode", |n| n.inode = 8),
            ("type", |n| n.node_type = "symlink".into()),
        ];
        for (what, change) in cases {
            let mut cur = file();
            change(&mut cur);
            assert!(!d.unchanged(&prev, &cur), "{what} differs");
        }

        let mut cur = file();
        cur.inode = 8;
        let no_inode = ChangeDetection {
            ignore_inode: true,
            ..Default::default()
        };
        assert!(no_inode.unchanged(&prev, &cur));
        let mut cur = file();
        cur.ctime = t("2024-01-03T00:00:00Z");
        let no_ctime = ChangeDetection {
            ignore_ctime: true,
            ..Default::default()
        };
        assert!(no_ctime.unchanged(&prev, &cur));
        assert!(!no_inode.unchanged(&prev, &cur));
    }

    fn snap(i: u8, host: &str, paths: &[&str], time: &str) -> SnapshotEntry {
        SnapshotEntry {
            id: Id::hash(&[i]),
            snapshot: Snapshot {
                time: t(time),
                parent: None,
                tree: Id::hash(b"tree"),
                paths: paths.iter().map(|p| p.to_string()).collect(),
                hostname: host.into(),
                username: String::new(),
                uid: 0,
                gid: 0,
                excludes: vec![],
                tags: vec![],
                original: None,
                program_version: String::new(),
                extra: BTreeMap::new(),
            },
        }
    }

    #[test]
    fn latest_of_same_host_and_same_paths_not_after_the_backup() {
        let snaps = vec![
            snap(0, "h", &["/a", "/b"], "2024-01-01T00:00:00Z"),
            snap(1, "h", &["/b", "/a"], "2024-01-02T00:00:00Z"),
            // Contains the paths but more: not a parent (restic >= 0.16: exact paths).
            snap(2, "h", &["/a", "/b", "/c"], "2024-01-03T00:00:00Z"),
            snap(3, "other", &["/a", "/b"], "2024-01-04T00:00:00Z"),
            // From the future (a clock that went back, or --time): ignored.
            snap(4, "h", &["/a", "/b"], "2024-02-01T00:00:00Z"),
        ];
        let paths = vec!["/a".to_string(), "/b".to_string()];
        let at = t("2024-01-10T00:00:00Z");
        let p = choose(&snaps, &ParentChoice::Latest, "h", &paths, at).unwrap();
        assert_eq!(p.map(|e| e.id), Some(snaps[1].id));
        let none = choose(&snaps, &ParentChoice::Latest, "nobody", &paths, at).unwrap();
        assert!(none.is_none());
        assert!(choose(&snaps, &ParentChoice::None, "h", &paths, at)
            .unwrap()
            .is_none());
        let given = ParentChoice::Snapshot(snaps[3].id.to_hex()[..10].to_string());
        let p = choose(&snaps, &given, "h", &paths, at).unwrap();
        assert_eq!(p.map(|e| e.id), Some(snaps[3].id));
        let missing = ParentChoice::Snapshot("ffffffffffff".into());
        assert_eq!(
            choose(&snaps, &missing, "h", &paths, at).unwrap_err(),
            SelectError::NotFound("ffffffffffff".into())
        );
        assert!(matches!(
            choose(
                &snaps,
                &ParentChoice::Snapshot(String::new()),
                "h",
                &paths,
                at
            ),
            Err(SelectError::Ambiguous(_))
        ));
    }

    #[test]
    fn summary_classes() {
        let a = file();
        let mut b = file();
        assert_eq!(Change::of(None, &a), Change::New);
        assert_eq!(Change::of(Some(&a), &b), Change::Unmodified);
        b.atime = t("2030-01-01T00:00:00Z");
        assert_eq!(Change::of(Some(&a), &b), Change::Changed);
    }
}
