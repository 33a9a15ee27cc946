//! Index files and the in-memory master index.
//!
//! An index file maps blobs to their place in packs; the master index is the union of all
//! index files (restic lets them overlap). Lookups are by blob type and id; both data and tree
//! blobs of the same id can exist.
//!
//! Index files written before 2016 are a bare JSON array of packs, without `supersedes`;
//! restic still reads them (and `rebuild-index` rewrites them), so [`IndexFile`] accepts both.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::id::Id;
use super::pack::{BlobType, PackedBlob};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct IndexFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<Id>,
    #[serde(default)]
    pub packs: Vec<IndexPack>,
}

impl Serialize for IndexFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        IndexFile::serialize(self, s)
    }
}

/// Today's object form, or the old bare array of packs (which supersedes nothing).
impl<'de> Deserialize<'de> for IndexFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = IndexFile;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an index: an object with \"packs\", or an array of packs")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<IndexFile, A::Error> {
                IndexFile::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<IndexFile, A::Error> {
                let packs = Vec::<IndexPack>::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(IndexFile {
                    supersedes: Vec::new(),
                    packs,
                })
            }
        }
        d.deserialize_any(Either)
    }
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
    /// Plaintext length of the blob; 0 for an entry too short to hold the crypto overhead
    /// (a damaged index: reading the blob fails later with a clear error).
    pub fn data_length(&self) -> u32 {
        self.uncompressed_length
            .unwrap_or(self.length.saturating_sub(super::crypto::OVERHEAD as u32))
    }
}

/// Where a blob lives, as the master index keeps it: the pack by its number in
/// [`MasterIndex`]'s list of packs rather than by its 32-byte id. A backup of millions of
/// small files holds one entry per file; this makes each 56 bytes instead of 84.
#[derive(Clone, Copy, Debug)]
struct Entry {
    pack: u32,
    offset: u32,
    length: u32,
    uncompressed_length: Option<u32>,
}

/// The union of all index files, plus which index files it was built from.
#[derive(Default, Debug)]
pub struct MasterIndex {
    blobs: HashMap<(BlobType, Id), Entry>,
    /// Every pack any index names, in the order first seen; [`Entry::pack`] is a position.
    pack_ids: Vec<Id>,
    pack_numbers: HashMap<Id, u32>,
    pub files: Vec<Id>,
    /// Per pack, the index files that list it (more than one after an interrupted prune or
    /// repair: `check` says so).
    pack_files: HashMap<Id, Vec<Id>>,
    /// `(newer, older)`: index file `newer` names `older` in its `supersedes` field.
    superseded: Vec<(Id, Id)>,
}

impl MasterIndex {
    pub fn add_pack(&mut self, p: &IndexPack) {
        let next = self.pack_ids.len() as u32;
        let pack = *self.pack_numbers.entry(p.id).or_insert(next);
        if pack == next {
            self.pack_ids.push(p.id);
        }
        for b in &p.blobs {
            self.blobs.entry((b.blob_type, b.id)).or_insert(Entry {
                pack,
                offset: b.offset,
                length: b.length,
                uncompressed_length: b.uncompressed_length,
            });
        }
    }

    fn location(&self, e: &Entry) -> BlobLocation {
        BlobLocation {
            pack: self.pack_ids[e.pack as usize],
            offset: e.offset,
            length: e.length,
            uncompressed_length: e.uncompressed_length,
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
        self.blobs.get(&(t, *id)).map(|e| self.location(e))
    }

    pub fn has(&self, t: BlobType, id: &Id) -> bool {
        self.blobs.contains_key(&(t, *id))
    }

    pub fn has_pack(&self, id: &Id) -> bool {
        self.pack_numbers.contains_key(id)
    }

    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    pub fn packs(&self) -> impl Iterator<Item = &Id> {
        self.pack_ids.iter()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&(BlobType, Id), BlobLocation)> {
        self.blobs.iter().map(|(k, e)| (k, self.location(e)))
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

    const PACK: &str = "73d04e6125cf3c28a299cc2f3cca3b78ceac396e4fcf9575e34536b26782413c";
    const BLOB: &str = "3ec79977ef0cf5de7b08cd12b874cd0f62bbaf7f07f3497a5b1bbcc8cb39b1ce";

    #[test]
    fn reads_todays_index_and_the_old_bare_array() {
        let today = format!(
            r#"{{"supersedes":["{PACK}"],"packs":[{{"id":"{PACK}","blobs":[{{"id":"{BLOB}","type":"data","offset":0,"length":70,"uncompressed_length":100}}]}}]}}"#
        );
        let f: IndexFile = serde_json::from_str(&today).unwrap();
        assert_eq!(f.supersedes.len(), 1);
        assert_eq!(f.packs[0].blobs[0].uncompressed_length, Some(100));
        // Written back in today's form.
        let again = serde_json::to_string(&f).unwrap();
        assert!(again.starts_with(r#"{"supersedes":["#), "{again}");

        let old = format!(
            r#"[{{"id":"{PACK}","blobs":[{{"id":"{BLOB}","type":"tree","offset":0,"length":70}},{{"id":"{PACK}","type":"data","offset":70,"length":40}}]}}]"#
        );
        let f: IndexFile = serde_json::from_str(&old).unwrap();
        assert!(f.supersedes.is_empty());
        assert_eq!(f.packs.len(), 1);
        let mut mi = MasterIndex::default();
        mi.add_file(Id::hash(b"index"), &f);
        let loc = mi.get(BlobType::Tree, &BLOB.parse().unwrap()).unwrap();
        assert_eq!((loc.offset, loc.length, loc.data_length()), (0, 70, 38));
        assert!(mi.has(BlobType::Data, &PACK.parse().unwrap()));

        for bad in ["3", r#""packs""#, "[1]", r#"{"packs":{}}"#] {
            let e = serde_json::from_str::<IndexFile>(bad)
                .unwrap_err()
                .to_string();
            assert!(!e.is_empty(), "{bad}");
        }
    }

    #[test]
    fn entries_name_their_pack_by_number_and_stay_small() {
        assert!(std::mem::size_of::<((BlobType, Id), Entry)>() <= 56);
        let mut mi = MasterIndex::default();
        let (a, b) = (pack(1), pack(2));
        mi.add_pack(&a);
        mi.add_pack(&b);
        mi.add_pack(&a); // listed again: still one pack
        assert_eq!(mi.packs().copied().collect::<Vec<_>>(), vec![a.id, b.id]);
        for p in [&a, &b] {
            let loc = mi.get(BlobType::Data, &p.blobs[0].id).unwrap();
            assert_eq!((loc.pack, loc.length), (p.id, 100));
            assert!(mi.has_pack(&p.id));
        }
        assert!(!mi.has_pack(&Id::hash(b"none")));
        let mut all: Vec<Id> = mi.iter().map(|(_, l)| l.pack).collect();
        all.sort();
        let mut want = vec![a.id, b.id];
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn an_entry_shorter_than_the_crypto_overhead_has_no_plaintext() {
        let loc = BlobLocation {
            pack: Id::hash(b"p"),
            offset: 0,
            length: 5,
            uncompressed_length: None,
        };
        assert_eq!(loc.data_length(), 0);
    }
}
