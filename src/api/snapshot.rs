//! `repositories.stash.appscode.com/v1alpha1` Snapshot: a restic snapshot shown as a Kubernetes
//! object by Stash's aggregated API server (get, list, delete only). Not a CRD, so a plain type.
//! Name is `<repository>-<first 8 hex chars of the snapshot id>`, `metadata.uid` the full id.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

pub const GROUP: &str = "repositories.stash.appscode.com";
pub const VERSION: &str = "v1alpha1";
pub const API_VERSION: &str = "repositories.stash.appscode.com/v1alpha1";
pub const KIND: &str = "Snapshot";

/// A snapshot object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SnapshotStatus>,
}

/// What restic records about the snapshot. Go serialises every field but `tags` even when empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotStatus {
    #[serde(default)]
    pub tree: String,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub uid: i32,
    #[serde(default)]
    pub gid: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub repository: String,
    /// Ours, shown for one snapshot (`get snapshot NAME`), not in a list: what a restore of it
    /// writes, as `restic stats --mode restore-size` counts it. Stash's object has no sizes.
    #[serde(default, rename = "size", skip_serializing_if = "Option::is_none")]
    pub size: Option<SnapshotSize>,
}

/// A snapshot's restore size.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotSize {
    /// Bytes of file content, and the same in IEC units (`12.3 MiB`).
    pub total_bytes: u64,
    pub total: String,
    pub file_count: u64,
}

/// `<repository>-<first 8 chars of id>`.
pub fn snapshot_name(repository: &str, snapshot_id: &str) -> String {
    let short: String = snapshot_id.chars().take(8).collect();
    format!("{repository}-{short}")
}

/// Splits a Snapshot name into repository and short id: the last `-` token must be 8 chars.
pub fn parse_snapshot_name(name: &str) -> Option<(&str, &str)> {
    let (repo, id) = name.rsplit_once('-')?;
    (id.len() == 8 && !repo.is_empty()).then_some((repo, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_use_eight_id_chars() {
        let id = "b54ee4a0e9c9084696dc976f125c4fd0e6b1a31abfd82cfc857b3bc9e559fa2f";
        assert_eq!(snapshot_name("minio-repo", id), "minio-repo-b54ee4a0");
        assert_eq!(
            parse_snapshot_name("minio-repo-b54ee4a0"),
            Some(("minio-repo", "b54ee4a0"))
        );
        assert_eq!(parse_snapshot_name("minio-repo-b54ee4a"), None);
        assert_eq!(parse_snapshot_name("b54ee4a0"), None);
    }
}
