//! Where the folders a snapshot names are on this machine.
//!
//! A snapshot records paths as the program that took it saw them — in Stash, a pod's paths:
//! `/stash-data`, `/var/lib/app`. Outside the pod (local mode) those folders are host folders
//! somewhere else, the volumes' `hostPath`s. A [`PathMap`] is that pod's mount table: pod
//! folder → host folder. A backup reads `/data/x` from `<host folder of /data>/x` and records
//! `/data/x`, exactly as a backup inside the pod would; a restore writes `/data/x` back to the
//! same host file. The identity map (`/` → `/`) is a plain backup of this machine's files, and
//! `/` → `T` is restic's `restore --target T`.
//!
//! Paths are the snapshot's: `/`-separated strings. Pure: nothing here touches the disk.
use std::path::{Path, PathBuf};

/// A pod's mount table: pod folder → host folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathMap {
    /// Clean absolute pod paths (no trailing `/` but for `/` itself), longest first, so the
    /// first that contains a path is its innermost mount.
    mounts: Vec<(String, PathBuf)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathMapError {
    #[error("mount {0:?}: the pod path must be absolute")]
    NotAbsolute(String),
    #[error("pod path {0} is mounted twice, from {1} and {2}")]
    Twice(String, String, String),
    #[error("mount {0:?}: write it POD_PATH=HOST_FOLDER, e.g. /stash-data=/srv/volumes/pv1")]
    Malformed(String),
}

/// `p` lexically cleaned: `.` and empty components dropped, `..` applied; `None` if relative.
fn clean(p: &str) -> Option<String> {
    if !p.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Whether `path` is `mount` or below it.
fn within(path: &str, mount: &str) -> bool {
    mount == "/"
        || path
            .strip_prefix(mount)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl Default for PathMap {
    fn default() -> Self {
        PathMap::identity()
    }
}

impl PathMap {
    /// Paths are where they say: `/` is this machine's `/`.
    pub fn identity() -> PathMap {
        PathMap::under("/")
    }

    /// Everything below `folder` (restic's `restore --target folder`).
    pub fn under(folder: impl Into<PathBuf>) -> PathMap {
        PathMap {
            mounts: vec![("/".into(), folder.into())],
        }
    }

    /// The mount table `mounts` (pod path, host folder). Nothing outside them is reachable.
    pub fn new(
        mounts: impl IntoIterator<Item = (String, PathBuf)>,
    ) -> Result<PathMap, PathMapError> {
        let mut out: Vec<(String, PathBuf)> = Vec::new();
        for (pod, host) in mounts {
            let clean = clean(&pod).ok_or(PathMapError::NotAbsolute(pod))?;
            match out.iter().find(|(p, _)| *p == clean) {
                Some((_, h)) if *h == host => continue,
                Some((_, h)) => {
                    return Err(PathMapError::Twice(
                        clean,
                        h.display().to_string(),
                        host.display().to_string(),
                    ))
                }
                None => out.push((clean, host)),
            }
        }
        out.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(PathMap { mounts: out })
    }

    /// One mount written `POD=HOST` (`--mount /stash-data=/srv/pv1`).
    pub fn parse_mount(s: &str) -> Result<(String, PathBuf), PathMapError> {
        match s.split_once('=') {
            Some((pod, host)) if !pod.is_empty() && !host.is_empty() => {
                Ok((pod.to_string(), PathBuf::from(host)))
            }
            _ => Err(PathMapError::Malformed(s.to_string())),
        }
    }

    /// The mounts, innermost (longest pod path) first.
    pub fn mounts(&self) -> &[(String, PathBuf)] {
        &self.mounts
    }

    /// Where snapshot path `path` is here: below its innermost mount, or `None` when no mount
    /// holds it (it was on the pod's own filesystem).
    pub fn host_of(&self, path: &str) -> Option<PathBuf> {
        let path = clean(path)?;
        let (mount, host) = self.mounts.iter().find(|(m, _)| within(&path, m))?;
        let rest = path[mount.len()..].trim_start_matches('/');
        Some(if rest.is_empty() {
            host.clone()
        } else {
            host.join(rest)
        })
    }

    /// The host folder mounted exactly at `path`.
    pub fn mount_at(&self, path: &str) -> Option<&Path> {
        let path = clean(path)?;
        self.mounts
            .iter()
            .find(|(m, _)| *m == path)
            .map(|(_, h)| h.as_path())
    }

    /// Whether a mount lies strictly below `path` (a folder on the way to a mount point).
    pub fn leads_to_mount(&self, path: &str) -> bool {
        let Some(path) = clean(path) else {
            return false;
        };
        self.mounts
            .iter()
            .any(|(m, _)| *m != path && within(m, &path))
    }

    /// Mount points directly inside folder `dir`: (name, host folder).
    pub fn child_mounts(&self, dir: &str) -> Vec<(String, PathBuf)> {
        let Some(dir) = clean(dir) else {
            return vec![];
        };
        self.mounts
            .iter()
            .filter_map(|(m, h)| {
                let (parent, name) = m.rsplit_once('/')?;
                let parent = if parent.is_empty() { "/" } else { parent };
                (parent == dir && !name.is_empty()).then(|| (name.to_string(), h.clone()))
            })
            .collect()
    }
}

/// The snapshot path of entry `name` of the folder at snapshot path `at`.
pub fn child_path(at: &str, name: &str) -> String {
    format!("{}/{name}", at.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(m: &[(&str, &str)]) -> PathMap {
        PathMap::new(m.iter().map(|(p, h)| (p.to_string(), PathBuf::from(h)))).unwrap()
    }

    #[test]
    fn innermost_mount_wins() {
        let m = map(&[
            ("/data", "/srv/pv1"),
            ("/data/logs", "/srv/pv2"),
            ("/b/", "/srv/b"),
        ]);
        let h = |p: &str| m.host_of(p).map(|p| p.display().to_string());
        assert_eq!(h("/data"), Some("/srv/pv1".into()));
        assert_eq!(h("/data/x/y"), Some("/srv/pv1/x/y".into()));
        assert_eq!(h("/data/logs/a"), Some("/srv/pv2/a".into()));
        assert_eq!(h("/datax"), None);
        assert_eq!(h("/b"), Some("/srv/b".into()));
        assert_eq!(h("/etc/passwd"), None);
        assert_eq!(h("/data/../etc"), None, "cleaned before lookup");
    }

    #[test]
    fn identity_and_under() {
        let id = PathMap::identity();
        assert_eq!(id.host_of("/a/b"), Some(PathBuf::from("/a/b")));
        assert_eq!(id.mount_at("/"), Some(Path::new("/")));
        let t = PathMap::under("/tmp/r");
        assert_eq!(t.host_of("/a/b"), Some(PathBuf::from("/tmp/r/a/b")));
        assert_eq!(t.host_of("/"), Some(PathBuf::from("/tmp/r")));
    }

    #[test]
    fn folders_on_the_way_to_mounts() {
        let m = map(&[("/var/lib/app", "/h1"), ("/a", "/h2")]);
        assert!(m.leads_to_mount("/"));
        assert!(m.leads_to_mount("/var"));
        assert!(m.leads_to_mount("/var/lib"));
        assert!(!m.leads_to_mount("/var/lib/app"));
        assert!(!m.leads_to_mount("/etc"));
        assert_eq!(m.mount_at("/var/lib/app/"), Some(Path::new("/h1")));
        assert_eq!(m.mount_at("/var/lib"), None);
        assert_eq!(
            m.child_mounts("/var/lib"),
            vec![("app".to_string(), PathBuf::from("/h1"))]
        );
        assert_eq!(
            m.child_mounts("/"),
            vec![("a".to_string(), PathBuf::from("/h2"))]
        );
    }

    #[test]
    fn bad_mounts_are_named() {
        let e = PathMap::new([("data".to_string(), PathBuf::from("/h"))]).unwrap_err();
        assert_eq!(e, PathMapError::NotAbsolute("data".into()));
        let e = PathMap::new([
            ("/a".to_string(), PathBuf::from("/h1")),
            ("/a/".to_string(), PathBuf::from("/h2")),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("/a is mounted twice"), "{e}");
        assert!(PathMap::parse_mount("/a").is_err());
        assert_eq!(
            PathMap::parse_mount("/a=/srv/x=y").unwrap(),
            ("/a".to_string(), PathBuf::from("/srv/x=y"))
        );
    }
}
