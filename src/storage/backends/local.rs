//! `local`: a folder — a volume mounted into the pod, or in local mode the host path itself.
//!
//! Writes go to `<repo>/tmp/` first and are renamed into place (OpenDAL's atomic write dir),
//! so a pack is never half-visible, as with restic's local backend.
use std::path::{Path, PathBuf};

use super::{LocalAccess, StorageError};
use crate::api::repository::LocalSpec;
use opendal::layers::RetryLayer;
use opendal::Operator;

/// A local repository folder. Nothing secret, so the derived `Debug` is fine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalConfig {
    pub path: PathBuf,
}

impl LocalConfig {
    /// Stash's `backend.local` is an inline core VolumeSource plus `mountPath`/`subPath`. Of
    /// the volume only `hostPath` matters here (local mode); the other volume kinds are for
    /// whoever builds the pod.
    pub fn new(spec: &LocalSpec, access: LocalAccess) -> Result<LocalConfig, StorageError> {
        let path = match access {
            LocalAccess::Mounted => PathBuf::from(spec.required_mount_path()?),
            LocalAccess::Host => {
                let Some(hp) = &spec.host_path else {
                    return Err(StorageError::invalid(
                        "local",
                        "local mode reaches the repository through the volume's host path: set spec.backend.local.hostPath.path",
                    ));
                };
                let mut p = PathBuf::from(&hp.path);
                if let Some(sub) = spec.sub_path.as_deref().filter(|s| !s.is_empty()) {
                    if Path::new(sub).is_absolute() || sub.split('/').any(|c| c == "..") {
                        return Err(StorageError::invalid(
                            "local",
                            format!("subPath {sub:?} must be a relative path inside the volume"),
                        ));
                    }
                    p = p.join(sub);
                }
                p
            }
        };
        Ok(LocalConfig { path })
    }

    pub fn from_path(path: impl Into<PathBuf>) -> LocalConfig {
        LocalConfig { path: path.into() }
    }

    pub fn location(&self) -> String {
        format!("local:{}", self.path.display())
    }

    /// The repository folder as an absolute path.
    pub fn absolute_path(&self) -> PathBuf {
        if self.path.is_absolute() {
            self.path.clone()
        } else {
            std::env::current_dir()
                .map(|d| d.join(&self.path))
                .unwrap_or_else(|_| self.path.clone())
        }
    }

    /// The operator; with `create`, a missing folder is made (for `init`).
    pub fn build(&self, create: bool) -> Result<Operator, StorageError> {
        let path = &self.path;
        if !path.exists() {
            if !create {
                return Err(StorageError::Missing(self.location()));
            }
            std::fs::create_dir_all(path).map_err(|e| {
                StorageError::invalid("local", format!("creating {}: {e}", self.location()))
            })?;
        }
        let abs = self.absolute_path();
        let root = abs.to_string_lossy().to_string();
        let tmp = abs.join("tmp").to_string_lossy().to_string();
        let builder = opendal::services::Fs::default()
            .root(&root)
            .atomic_write_dir(&tmp);
        Ok(Operator::new(builder)
            .map_err(|e| StorageError::Build {
                service: "local",
                location: self.location(),
                source: Box::new(e),
            })?
            .layer(RetryLayer::new().with_jitter().with_max_times(5)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> LocalSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn mounted_and_host_paths() {
        let s = spec(serde_json::json!({
            "mountPath": "/safe/data", "subPath": "team-a", "hostPath": {"path": "/data/stash-repo", "type": "DirectoryOrCreate"}
        }));
        assert_eq!(
            LocalConfig::new(&s, LocalAccess::Mounted).unwrap().path,
            PathBuf::from("/safe/data")
        );
        assert_eq!(
            LocalConfig::new(&s, LocalAccess::Host).unwrap().path,
            PathBuf::from("/data/stash-repo/team-a")
        );
        assert_eq!(
            LocalConfig::new(&s, LocalAccess::Host).unwrap().location(),
            "local:/data/stash-repo/team-a"
        );
    }

    #[test]
    fn bad_local_specs_name_the_field() {
        let nfs = spec(
            serde_json::json!({"mountPath": "/safe/data", "nfs": {"server": "x", "path": "/"}}),
        );
        let e = LocalConfig::new(&nfs, LocalAccess::Host)
            .unwrap_err()
            .to_string();
        assert!(e.contains("spec.backend.local.hostPath.path"), "{e}");
        let e = LocalConfig::new(&LocalSpec::default(), LocalAccess::Mounted)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "local backend: mountPath is empty: set spec.backend.local.mountPath"
        );
        let esc = spec(
            serde_json::json!({"mountPath": "/m", "subPath": "../etc", "hostPath": {"path": "/d"}}),
        );
        assert!(LocalConfig::new(&esc, LocalAccess::Host)
            .unwrap_err()
            .to_string()
            .contains("relative path inside"));
    }

    #[test]
    fn open_does_not_create_but_init_does() {
        let tmp = tempfile::tempdir().unwrap();
        let c = LocalConfig::from_path(tmp.path().join("repo"));
        assert!(c
            .build(false)
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(!c.path.exists());
        c.build(true).unwrap();
        assert!(c.path.is_dir());
    }
}
