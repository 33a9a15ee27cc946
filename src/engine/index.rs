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
    /// Per pack, the index files that list it (more than one after an interrupted prune or
    /// repair: `check` says so).
    pack_files: HashMap<Id, Vec<Id>>,
    /// `(newer, older)`: index file `newer` names `older` in its `supersedes` field.
    superseded: Vec<(Id, Id)>,
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
            let files = self.pack_files.entry(p.id).or_default();
            if !files.contains(&id) {
                files.push(id);
            }
        }
        self.superseded
            .extend(f.supersedes.iter().map(|old| (id, *old)));
    }

    /// Packs that more than one index file lists, with those files (sorted, for stable output).
    pub fn duplicate_packs(&self) -> Vec<(Id, Vec<Id>)> {
        let mut out: Vec<(Id, Vec<Id>)> = self
            .pack_files
            .iter()
            .filter(|(_, files)| files.len() > 1)
            .map(|(p, files)| {
                let mut files = files.clone();
                files.sort();
                (*p, files)
            })
            .collect();
        out.sort();
        out
    }

    /// `(newer, older)` pairs where index file `newer` supersedes `older` and both were
    /// loaded: `older` should have been deleted when `newer` was written.
    pub fn obsolete_files(&self) -> Vec<(Id, Id)> {
        let mut out: Vec<(Id, Id)> = self
            .superseded
            .iter()
            .filter(|(_, old)| self.files.contains(old))
            .copied()
            .collect();
        out.sort();
        out.dedup();
        out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(n: u8) -> IndexPack {
        IndexPack {
            id: Id::hash(&[n]),
            blobs: vec![IndexBlob {
                id: Id::hash(&[n, n]),
                blob_type: BlobType::Data,
                offset: 0,
                length: 100,
                uncompressed_length: None,
            }],
        }
    }

    /// An interrupted prune or repair leaves the old index file beside the new one that
    /// supersedes it: both the pack listed twice and the obsolete file are named.
    #[test]
    fn duplicate_packs_and_obsolete_files() {
        let (old, new, other) = (Id::hash(b"old"), Id::hash(b"new"), Id::hash(b"other"));
        let mut mi = MasterIndex::default();
        let listing = |supersedes| IndexFile {
            supersedes,
            packs: vec![pack(1), pack(2)],
        };
        mi.add_file(old, &listing(vec![]));
        mi.add_file(new, &listing(vec![old]));
        mi.add_file(
            other,
            &IndexFile {
                supersedes: vec![Id::hash(b"long gone")],
                packs: vec![pack(3)],
            },
        );
        let mut both = vec![old, new];
        both.sort();
        let mut want = vec![(pack(1).id, both.clone()), (pack(2).id, both)];
        want.sort();
        assert_eq!(mi.duplicate_packs(), want);
        assert_eq!(mi.obsolete_files(), vec![(new, old)]);
        assert_eq!(mi.blob_count(), 3);
    }

    #[test]
    fn one_listing_per_pack_is_no_duplicate() {
        let mut mi = MasterIndex::default();
        let f = IndexFile {
            supersedes: vec![],
            packs: vec![pack(1), pack(2)],
        };
        mi.add_file(Id::hash(b"a"), &f);
        assert!(mi.duplicate_packs().is_empty());
        assert!(mi.obsolete_files().is_empty());
    }
}
