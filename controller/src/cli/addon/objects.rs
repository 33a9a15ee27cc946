//! Which object store a step reads: local mode's manifests (`--manifests`, `STASH_MANIFESTS`).
//! The Kubernetes API joins here when the controller does.
use anyhow::bail;
use stash::store::{ManifestDir, ObjectStore};

use super::flags::SourceFlags;

pub struct Objects {
    store: Option<ManifestDir>,
}

impl Objects {
    /// Reads the manifests, if any were named (nothing is read otherwise: a step given only
    /// `-r` and `--host` needs no objects).
    pub fn load(f: &SourceFlags) -> anyhow::Result<Objects> {
        if f.manifests.is_empty() {
            return Ok(Objects { store: None });
        }
        Ok(Objects {
            store: Some(ManifestDir::load(&f.manifests)?),
        })
    }

    /// The store, for the flag that needs it.
    pub fn get(&self, flag: &str) -> anyhow::Result<&dyn ObjectStore> {
        match &self.store {
            Some(s) => Ok(s),
            None => bail!(
                "{flag} names an object, but there is nowhere to look it up: pass --manifests DIR (or set \
                 STASH_MANIFESTS) with its manifest"
            ),
        }
    }
}
