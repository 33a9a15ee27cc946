//! Snapshot files and how users pick them (`latest`, id prefixes, host/path/tag filters).
use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::id::Id;

/// Stash's default snapshot host when a target has a single replica.
pub const DEFAULT_HOST: &str = "host-0";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(with = "super::gotime")]
    pub time: DateTime<FixedOffset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Id>,
    pub tree: Id,
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub uid: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gid: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Id>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub program_version: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// A snapshot together with its id (the hash of its file).
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotEntry {
    pub id: Id,
    pub snapshot: Snapshot,
}

/// Which snapshots a command works on.
#[derive(Clone, Debug, Default)]
pub struct SnapshotFilter {
    pub hosts: Vec<String>,
    pub paths: Vec<String>,
    /// Each entry is a comma-separated set that must all be present (restic's `--tag a,b`).
    pub tags: Vec<String>,
}

impl SnapshotFilter {
    pub fn matches(&self, s: &Snapshot) -> bool {
        if !self.hosts.is_empty() && !self.hosts.contains(&s.hostname) {
            return false;
        }
        if !self.paths.is_empty() {
            // restic: the snapshot's paths must contain all the given paths.
            if !self.paths.iter().all(|p| s.paths.iter().any(|sp| sp == p)) {
                return false;
            }
        }
        if !self.tags.is_empty() {
            let ok = self.tags.iter().any(|set| {
                set.split(',')
                    .filter(|t| !t.is_empty())
                    .all(|t| s.tags.iter().any(|st| st == t))
            });
            if !ok {
                return false;
            }
        }
        true
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("no snapshot matched {0:?}")]
    NotFound(String),
    #[error("snapshot id prefix {0:?} is ambiguous")]
    Ambiguous(String),
}

/// Pick a snapshot by id, id prefix or `latest` (newest matching the filter).
pub fn select<'a>(
    snaps: &'a [SnapshotEntry],
    which: &str,
    filter: &SnapshotFilter,
) -> Result<&'a SnapshotEntry, SelectError> {
    if which == "latest" {
        return snaps
            .iter()
            .filter(|e| filter.matches(&e.snapshot))
            .max_by_key(|e| e.snapshot.time)
            .ok_or_else(|| SelectError::NotFound(describe("latest", filter)));
    }
    let mut found = snaps.iter().filter(|e| e.id.to_hex().starts_with(which));
    match (found.next(), found.next()) {
        (Some(e), None) => Ok(e),
        (None, _) => Err(SelectError::NotFound(which.to_string())),
        (Some(_), Some(_)) => Err(SelectError::Ambiguous(which.to_string())),
    }
}

fn describe(which: &str, f: &SnapshotFilter) -> String {
    let mut s = which.to_string();
    if !f.hosts.is_empty() {
        s += &format!(" host={}", f.hosts.join(","));
    }
    if !f.paths.is_empty() {
        s += &format!(" path={}", f.paths.join(","));
    }
    if !f.tags.is_empty() {
        s += &format!(" tag={}", f.tags.join(" "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(host: &str, path: &str, t: &str, tags: &[&str]) -> Snapshot {
        Snapshot {
            time: t.parse().unwrap(),
            parent: None,
            tree: Id::hash(host.as_bytes()),
            paths: vec![path.into()],
            hostname: host.into(),
            username: String::new(),
            uid: 0,
            gid: 0,
            excludes: vec![],
            tags: tags.iter().map(|s| s.to_string()).collect(),
            original: None,
            program_version: String::new(),
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn latest_respects_filter() {
        let snaps: Vec<SnapshotEntry> = [
            snap("host-0", "/dumpfile.sql", "2024-01-01T00:00:00Z", &[]),
            snap("host-1", "/dumpfile.sql", "2024-01-03T00:00:00Z", &["x"]),
            snap(
                "host-0",
                "/dumpfile.sql",
                "2024-01-02T00:00:00Z",
                &["x", "y"],
            ),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, s)| SnapshotEntry {
            id: Id::hash(&[i as u8]),
            snapshot: s,
        })
        .collect();
        let f = SnapshotFilter {
            hosts: vec!["host-0".into()],
            ..Default::default()
        };
        assert_eq!(select(&snaps, "latest", &f).unwrap().id, snaps[2].id);
        let f = SnapshotFilter {
            tags: vec!["x,y".into()],
            ..Default::default()
        };
        assert_eq!(select(&snaps, "latest", &f).unwrap().id, snaps[2].id);
        let f = SnapshotFilter {
            hosts: vec!["nope".into()],
            ..Default::default()
        };
        assert_eq!(
            select(&snaps, "latest", &f).unwrap_err().to_string(),
            "no snapshot matched \"latest host=nope\""
        );
        let prefix = &snaps[1].id.to_hex()[..8];
        assert_eq!(
            select(&snaps, prefix, &SnapshotFilter::default())
                .unwrap()
                .id,
            snaps[1].id
        );
    }

    #[test]
    fn restic_json_round_trips_with_unknown_fields() {
        let j = r#"{"time":"2022-05-01T10:00:00.123456789+02:00","tree":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","paths":["/dumpfile.sql"],"hostname":"host-0","username":"root","summary":{"files_new":1}}"#;
        let s: Snapshot = serde_json::from_str(j).unwrap();
        assert_eq!(s.hostname, "host-0");
        let out = serde_json::to_string(&s).unwrap();
        assert!(out.contains(r#""summary":{"files_new":1}"#));
    }
}
