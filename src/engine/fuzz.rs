//! What each fuzz target does with its input, kept here rather than in `fuzz/` so that the
//! normal test suite replays every saved input through exactly the same code.
//!
//! Everything the engine parses comes from storage that someone else may have written: pack
//! headers, index, tree and snapshot JSON, key files, the config, the "unpacked" encoding,
//! and blobs whose lengths an index claims. Bad bytes must give an error, never a panic, a
//! hang or a giant allocation. The fuzz targets in `fuzz/fuzz_targets/` (cargo-fuzz, run by
//! `scripts/fuzz.sh`) call [`TARGETS`]; inputs live in `src/engine/testdata/fuzz/<target>/`:
//! `seed-*` from real repositories (written by restic 0.14 and by us, made by the
//! integration crate's `fuzz-seeds`) must be accepted, and every other file (what fuzzing
//! found, and hand-made hostile inputs) must be handled without a panic.
//!
//! Encrypted inputs are encrypted here with a fixed key ([`fuzz_key`]) so that the fuzzer
//! reaches the parsers behind the MAC check instead of stopping at it. Each function returns
//! whether the engine accepted the input, and asserts the properties that must hold when it
//! did (a header that parses encodes back to the same bytes, for instance).
use super::config::Config;
use super::crypto::Key;
use super::id::Id;
use super::index::{BlobLocation, IndexFile, MasterIndex};
use super::keyfile::KeyFile;
use super::pack::{self, BlobType};
use super::snapshot::Snapshot;
use super::tree::Tree;
use super::unpacked;

/// A fuzz target: takes any bytes, returns whether the engine accepted them.
pub type Target = fn(&[u8]) -> bool;

/// Every target, by the name of its file in `fuzz/fuzz_targets/` and its folder of inputs.
pub const TARGETS: &[(&str, Target)] = &[
    ("pack_header", pack_header),
    ("index", index),
    ("tree", tree),
    ("snapshot", snapshot),
    ("key", key),
    ("config", config),
    ("unpacked", unpacked),
    ("blob", blob),
];

/// The key fuzz inputs are encrypted with (any fixed key does).
pub fn fuzz_key() -> Key {
    Key::from_kdf_output(&[0x5a; 64])
}

/// Input: 5 bytes (little endian) for the length of the pack's blob section, then a pack
/// header's plaintext. The header is encrypted and placed at the end of a pack of that size.
pub fn pack_header(data: &[u8]) -> bool {
    let Some((len, plain)) = data.split_first_chunk::<5>() else {
        return false;
    };
    let mut le = [0u8; 8];
    le[..5].copy_from_slice(len);
    let blobs_len = u64::from_le_bytes(le);
    let key = fuzz_key();
    // The raw input as a pack tail: length checks, then the MAC refuses it.
    let _ = pack::decode_header(&key, data, data.len() as u64 + blobs_len);

    let mut tail = key.encrypt(plain);
    let n = tail.len() as u32;
    tail.extend_from_slice(&n.to_le_bytes());
    let pack_size = blobs_len + tail.len() as u64;
    // Too short a tail asks for the whole header.
    if let Ok(more) = pack::decode_header(&key, &tail[tail.len() - 4..], pack_size) {
        assert_eq!(
            more.unwrap_err(),
            tail.len() as u64,
            "a short tail asks for the header"
        );
    }
    match pack::decode_header(&key, &tail, pack_size) {
        Ok(Ok(blobs)) => {
            assert_eq!(pack::header_plaintext(&blobs), plain, "header encodes back");
            assert_eq!(pack::expected_size(&blobs), pack_size, "sizes agree");
            for b in &blobs {
                assert!(u64::from(b.offset) + u64::from(b.length) <= blobs_len);
                let _ = b.data_length();
            }
            true
        }
        Ok(Err(need)) => panic!("the whole tail was given, yet {need} bytes are asked for"),
        Err(_) => false,
    }
}

/// Input: an index file's JSON (today's object or the pre-2016 bare array).
pub fn index(data: &[u8]) -> bool {
    let Ok(f) = serde_json::from_slice::<IndexFile>(data) else {
        return false;
    };
    let mut mi = MasterIndex::default();
    mi.add_file(Id::hash(data), &f);
    for p in &f.packs {
        let packed: Vec<_> = p.blobs.iter().map(|b| b.to_packed()).collect();
        let _ = pack::expected_size(&packed);
    }
    for (_, loc) in mi.iter() {
        let _ = loc.data_length();
    }
    let again = serde_json::to_vec(&f).expect("an index serialises");
    let back: IndexFile = serde_json::from_slice(&again).expect("what we write, we read");
    assert_eq!(back.packs.len(), f.packs.len());
    true
}

/// Input: a tree blob's JSON.
pub fn tree(data: &[u8]) -> bool {
    let Ok(mut t) = Tree::from_blob(data) else {
        return false;
    };
    let blob = t.to_blob();
    let mut back = Tree::from_blob(&blob).expect("a tree we write, we read");
    assert_eq!(back.to_blob(), blob, "a tree serialises the same twice");
    true
}

/// Input: a snapshot file's JSON.
pub fn snapshot(data: &[u8]) -> bool {
    let Ok(s) = serde_json::from_slice::<Snapshot>(data) else {
        return false;
    };
    let out = serde_json::to_vec(&s).expect("a snapshot serialises");
    let back: Snapshot = serde_json::from_slice(&out).expect("a snapshot we write, we read");
    assert_eq!(serde_json::to_vec(&back).unwrap(), out);
    true
}

/// Input: a key file. Its KDF parameters are checked; a key cheap enough to try (the fuzzer
/// is not here to run scrypt) is opened with a password.
pub fn key(data: &[u8]) -> bool {
    let Ok(kf) = serde_json::from_slice::<KeyFile>(data) else {
        return false;
    };
    let Ok(params) = kf.kdf_params() else {
        return false;
    };
    let cost = 128u64 << params.log_n;
    if cost * u64::from(params.r) * u64::from(params.p) > 4 << 20 {
        return true;
    }
    // The seeds' password; any other gives WrongPassword.
    kf.open(SEED_PASSWORD).is_ok()
}

/// The password of the repositories the seeds come from.
pub const SEED_PASSWORD: &str = "correct horse battery staple";

/// Input: a config file's JSON.
pub fn config(data: &[u8]) -> bool {
    let Ok(c) = serde_json::from_slice::<Config>(data) else {
        return false;
    };
    c.polynomial().is_some()
}

/// Input: a decrypted unpacked file (`{`/`[` JSON, or `0x02` and a zstd frame).
pub fn unpacked(data: &[u8]) -> bool {
    unpacked::decode(data.to_vec()).is_ok()
}

/// Input: a flags byte, a claimed uncompressed length (u32 LE), the blob id (32 bytes), then
/// the blob's stored bytes before encryption. Flags: bit 0 the index says compressed, bit 1
/// the index's length is the claim instead of the true one, bit 2 the bytes are not
/// encrypted at all.
pub fn blob(data: &[u8]) -> bool {
    let Some((head, payload)) = data.split_first_chunk::<37>() else {
        return false;
    };
    let flags = head[0];
    let claim = u32::from_le_bytes(head[1..5].try_into().expect("4 bytes"));
    let id = Id(head[5..37].try_into().expect("32 bytes"));
    let key = fuzz_key();
    let mut raw = if flags & 4 != 0 {
        payload.to_vec()
    } else {
        key.encrypt(payload)
    };
    let loc = BlobLocation {
        pack: Id::hash(b"pack"),
        offset: 0,
        length: if flags & 2 != 0 {
            claim
        } else {
            raw.len() as u32
        },
        uncompressed_length: (flags & 1 != 0).then_some(claim),
    };
    let mut out = b"before".to_vec();
    let res = super::repo::decode_blob_with(&key, BlobType::Data, &id, &loc, &mut raw, &mut out);
    match res {
        Ok(()) => {
            assert_eq!(Id::hash(&out[6..]), id);
            true
        }
        Err(_) => {
            assert_eq!(
                out, b"before",
                "a failed decode leaves the buffer as it was"
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("src/engine/testdata/fuzz")
            .join(target);
        let mut out: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect();
        out.sort();
        out
    }

    /// Every saved input of every target, through the target's code: real repositories'
    /// files are accepted, the rest (fuzzing's findings, hand-made hostile files) rejected or
    /// accepted without a panic. A panic fails this test by itself.
    #[test]
    fn every_saved_fuzz_input_replays_without_panic() {
        for (target, run) in TARGETS {
            let files = inputs(target);
            let seeds = files.iter().filter(|(n, _)| n.starts_with("seed-")).count();
            assert!(seeds > 0, "{target}: no seed from a real repository");
            for (name, data) in &files {
                let accepted = run(data);
                if name.starts_with("seed-") {
                    assert!(
                        accepted,
                        "{target}/{name}: a real repository's file refused"
                    );
                }
                if name.starts_with("hostile-") {
                    assert!(!accepted, "{target}/{name}: a hostile input accepted");
                }
            }
        }
    }
}
