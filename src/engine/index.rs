//! Index files and the in-memory master index.
//!
//! An index file maps blobs to their place in packs; the master index is the union of all
//! index files (restic lets them overlap). Lookups are by blob type and id; both data and tree
//! blobs of the same id can exist.
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::id::Id;
use super::pack::{BlobType, PackedBlob};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IndexFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<Id>,
    #[serde(default)]
    pub packs: Vec<IndexPack>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndexPack {
    pub id: Id,
    pub blobs: Vec<IndexBlob>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndexBlob {
    pub id: Id,
    #[serde(rename = "type")]
    pub blob_type: BlobType,
    pub offset: u32,
    pub length: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncompressed_length: Option<u32>,
}

impl IndexPack {
    pub fn from_packed(id: Id, blobs: &[PackedBlob]) -> IndexPack {
        IndexPack {
            id,
            blobs: blobs
                .iter()
                .map(|b| IndexBlob {
                    id: b.id,
                    blob_type: b.blob_type,
                    offset: b.offset,
                    length: b.length,
                    uncompressed_length: b.uncompressed_length,
                })
                .collect(),
        }
    }
}

impl IndexBlob {
    pub fn to_packed(&self) -> PackedBlob {
        PackedBlob {
            id: self.id,
            blob_type: self.blob_type,
            offset: self.offset,
            length: self.length,
            uncompressed_length: self.uncompressed_length,
        }
    }
}

/// Where a blob lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobLocation {
    pub pack: Id,
    pub offset: u32,
    pub length: u32,
    pub uncompressed_length: Option<u32>,
}

impl BlobLocation {
    pub fn data_length(&self) -> u32 {
        self.uncompressed_length
            .unwrap_or(self.length - super::crypto::OVERHEAD as u32)
    }
}

/// The union of all index files, plus which index files it was built from.
#[derive(Default, Debug)]
pub struct MasterIndex {
    blobs: HashMap<(BlobType, Id), BlobLocation>,
    packs: HashSet<Id>,
    pub files: Vec<Id>,
}

impl MasterIndex {
    pub fn add_pack(&mut self, p: &IndexPack) {
        self.packs.insert(p.id);
        for b in &p.blobs {
            self.blobs
                .entry((b.blob_type, b.id))
                .or_insert(BlobLocation {
                    pack: p.id,
                    offset: b.offset,
                    length: b.length,
                    uncompressed_length: b.uncompressed_length,
                });
        }
    }

    pub fn add_file(&mut self, id: Id, f: &IndexFile) {
        self.files.push(id);
        for p in &f.packs {
            self.add_pack(p);
        }
    }

    pub fn get(&self, t: BlobType, id: &Id) -> Option<BlobLocation> {
        self.blobs.get(&(t, *id)).copied()
    }

    pub fn has(&self, t: BlobType, id: &Id) -> bool {
        self.blobs.contains_key(&(t, *id))
    }

    pub fn has_pack(&self, id: &Id) -> bool {
        self.packs.contains(id)
    }

    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    pub fn packs(&self) -> impl Iterator<Item = &Id> {
        self.packs.iter()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&(BlobType, Id), &BlobLocation)> {
        self.blobs.iter()
    }
}
