//! Pack files: encrypted blobs back to back, then the encrypted header, then its length.
//!
//! `Blob1 || … || BlobN || Encrypt(Header) || u32le(len(Encrypt(Header)))`. Header entries are
//! `type(1) || len(4) || [uncompressed_len(4)] || id(32)`; types 2 and 3 are the compressed
//! variants of data (0) and tree (1) and exist only in format version 2.
use super::crypto::{Key, OVERHEAD};
use super::id::Id;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum BlobType {
    Data,
    Tree,
}

impl std::fmt::Display for BlobType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BlobType::Data => "data",
            BlobType::Tree => "tree",
        })
    }
}

/// One blob as a pack header describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedBlob {
    pub id: Id,
    pub blob_type: BlobType,
    pub offset: u32,
    /// Length in the pack (encrypted, possibly compressed).
    pub length: u32,
    /// Plaintext length when compressed.
    pub uncompressed_length: Option<u32>,
}

impl PackedBlob {
    /// Where this blob lives, given the pack that holds it.
    pub fn location(&self, pack: Id) -> super::index::BlobLocation {
        super::index::BlobLocation {
            pack,
            offset: self.offset,
            length: self.length,
            uncompressed_length: self.uncompressed_length,
        }
    }

    /// Plaintext length of the blob (0 for a length too short to hold the crypto overhead,
    /// which no valid entry has).
    pub fn data_length(&self) -> u32 {
        self.uncompressed_length
            .unwrap_or(self.length.saturating_sub(OVERHEAD as u32))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("pack is too short ({0} bytes) to hold a header")]
    TooShort(u64),
    #[error("pack header length {0} is larger than the pack")]
    HeaderLength(u32),
    #[error("pack header cannot be decrypted: {0}")]
    Decrypt(#[from] super::crypto::CryptoError),
    #[error("pack header is malformed at byte {0}")]
    Malformed(usize),
    #[error("pack header has an unknown blob type {0}")]
    BlobType(u8),
    #[error("pack header entries add up to {sum} bytes but the blobs occupy {avail}")]
    Lengths { sum: u64, avail: u64 },
    #[error("pack header places a blob beyond 4 GiB, past what an index offset can hold")]
    TooLarge,
}

const ENTRY: usize = 1 + 4 + 32;
const ENTRY_COMPRESSED: usize = 1 + 4 + 4 + 32;

/// Serialise and encrypt a pack header for `blobs` (in pack order).
pub fn encode_header(key: &Key, blobs: &[PackedBlob]) -> Vec<u8> {
    let h = header_plaintext(blobs);
    let mut out = key.encrypt(&h);
    let n = out.len() as u32;
    out.extend_from_slice(&n.to_le_bytes());
    out
}

/// The size of a pack holding exactly `blobs`: their bytes, the encrypted header (one entry
/// each, IV and MAC) and its 4-byte length. A pack of another size is damaged (restic's check
/// says "unexpected file size").
pub fn expected_size(blobs: &[PackedBlob]) -> u64 {
    let entries: usize = blobs
        .iter()
        .map(|b| {
            if b.uncompressed_length.is_some() {
                ENTRY_COMPRESSED
            } else {
                ENTRY
            }
        })
        .sum();
    let body: u64 = blobs.iter().map(|b| u64::from(b.length)).sum();
    body + (entries + super::crypto::OVERHEAD + 4) as u64
}

/// Largest possible encrypted header for a pack of `size` bytes, to read the tail in one go.
pub fn tail_guess(size: u64) -> u64 {
    // restic reads the last 64 KiB (or the whole pack) first; a header is rarely larger.
    size.min(64 * 1024)
}

/// Parse the header from the last bytes of a pack. `tail` is the final `tail.len()` bytes of a
/// pack of `pack_size` bytes. Returns `Ok(Err(needed))` when the tail is too short to hold
/// the header and the caller must read the last `needed` bytes instead.
pub fn decode_header(
    key: &Key,
    tail: &[u8],
    pack_size: u64,
) -> Result<Result<Vec<PackedBlob>, u64>, PackError> {
    if pack_size < 4 + OVERHEAD as u64 || tail.len() < 4 {
        return Err(PackError::TooShort(pack_size));
    }
    let hl = u32::from_le_bytes(tail[tail.len() - 4..].try_into().unwrap());
    if hl as u64 + 4 > pack_size || (hl as usize) < OVERHEAD {
        return Err(PackError::HeaderLength(hl));
    }
    if hl as usize + 4 > tail.len() {
        return Ok(Err(hl as u64 + 4));
    }
    let enc = &tail[tail.len() - 4 - hl as usize..tail.len() - 4];
    let plain = key.decrypt(enc)?;
    parse_header(&plain, pack_size - 4 - hl as u64).map(Ok)
}

/// Parse a decrypted pack header whose blobs occupy the first `blobs_len` bytes of the pack.
/// Every entry must fit (restic's packs stay far below 4 GiB, and index offsets are 32-bit),
/// and the entries must add up to exactly `blobs_len`.
pub fn parse_header(plain: &[u8], blobs_len: u64) -> Result<Vec<PackedBlob>, PackError> {
    let mut blobs = Vec::with_capacity(plain.len() / ENTRY_COMPRESSED);
    let mut pos = 0usize;
    let mut offset = 0u64;
    while pos < plain.len() {
        let t = plain[pos];
        let (blob_type, compressed) = match t {
            0 => (BlobType::Data, false),
            1 => (BlobType::Tree, false),
            2 => (BlobType::Data, true),
            3 => (BlobType::Tree, true),
            t => return Err(PackError::BlobType(t)),
        };
        let need = if compressed { ENTRY_COMPRESSED } else { ENTRY };
        let Some(entry) = plain.get(pos..pos + need) else {
            return Err(PackError::Malformed(pos));
        };
        let word = |at: usize| u32::from_le_bytes(entry[at..at + 4].try_into().expect("4 bytes"));
        let length = word(1);
        let (uncompressed_length, id_at) = if compressed {
            (Some(word(5)), 9)
        } else {
            (None, 5)
        };
        let id = Id(entry[id_at..id_at + 32].try_into().expect("32 bytes"));
        if (length as usize) < OVERHEAD {
            return Err(PackError::Malformed(pos));
        }
        let end = offset + u64::from(length);
        if end > u64::from(u32::MAX) {
            return Err(PackError::TooLarge);
        }
        blobs.push(PackedBlob {
            id,
            blob_type,
            offset: offset as u32,
            length,
            uncompressed_length,
        });
        offset = end;
        pos += need;
    }
    if offset != blobs_len {
        return Err(PackError::Lengths {
            sum: offset,
            avail: blobs_len,
        });
    }
    Ok(blobs)
}

/// The plaintext of a pack header for `blobs`, as [`encode_header`] encrypts it.
pub fn header_plaintext(blobs: &[PackedBlob]) -> Vec<u8> {
    let mut h = Vec::with_capacity(blobs.len() * ENTRY_COMPRESSED);
    for b in blobs {
        let t = match (b.blob_type, b.uncompressed_length.is_some()) {
            (BlobType::Data, false) => 0u8,
            (BlobType::Tree, false) => 1,
            (BlobType::Data, true) => 2,
            (BlobType::Tree, true) => 3,
        };
        h.push(t);
        h.extend_from_slice(&b.length.to_le_bytes());
        if let Some(u) = b.uncompressed_length {
            h.extend_from_slice(&u.to_le_bytes());
        }
        h.extend_from_slice(&b.id.0);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let key = Key::random();
        let blobs = vec![
            PackedBlob {
                id: Id::hash(b"a"),
                blob_type: BlobType::Data,
                offset: 0,
                length: 40,
                uncompressed_length: None,
            },
            PackedBlob {
                id: Id::hash(b"b"),
                blob_type: BlobType::Tree,
                offset: 40,
                length: 50,
                uncompressed_length: Some(100),
            },
        ];
        let h = encode_header(&key, &blobs);
        let mut pack = vec![0u8; 90];
        pack.extend_from_slice(&h);
        assert_eq!(expected_size(&blobs), pack.len() as u64);
        let got = decode_header(&key, &pack, pack.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(got, blobs);
        // Short tail asks for more.
        let tail = &pack[pack.len() - 10..];
        assert_eq!(
            decode_header(&key, tail, pack.len() as u64)
                .unwrap()
                .unwrap_err(),
            h.len() as u64
        );
        // Corruption is caught.
        let mut bad = pack.clone();
        let n = bad.len();
        bad[n - 10] ^= 0xff;
        assert!(matches!(
            decode_header(&key, &bad, n as u64),
            Err(PackError::Decrypt(_))
        ));
        // A pack whose blobs do not add up is rejected.
        let short = pack[10..].to_vec();
        let sl = short.len() as u64;
        assert!(matches!(
            decode_header(&key, &short, sl),
            Err(PackError::Lengths { .. })
        ));
    }

    fn entry(t: u8, len: u32, ulen: Option<u32>) -> Vec<u8> {
        let mut e = vec![t];
        e.extend_from_slice(&len.to_le_bytes());
        if let Some(u) = ulen {
            e.extend_from_slice(&u.to_le_bytes());
        }
        e.extend_from_slice(&[9u8; 32]);
        e
    }

    /// Headers that a damaged or hostile pack could hold: each is a typed error.
    #[test]
    fn hostile_headers_are_errors() {
        let e = entry(0, 100, None);
        assert!(matches!(
            parse_header(&e[..20], 100),
            Err(PackError::Malformed(0))
        ));
        let two = [entry(0, 100, None), entry(2, 50, Some(80))].concat();
        assert!(matches!(
            parse_header(&two[..two.len() - 1], 150),
            Err(PackError::Malformed(37))
        ));
        assert!(matches!(
            parse_header(&entry(0, 5000, None), 100),
            Err(PackError::Lengths {
                sum: 5000,
                avail: 100
            })
        ));
        assert!(matches!(
            parse_header(&entry(0, 5, None), 5),
            Err(PackError::Malformed(0))
        ));
        assert!(matches!(
            parse_header(&entry(7, 100, None), 100),
            Err(PackError::BlobType(7))
        ));
        // Offsets past 4 GiB cannot be indexed; u32 arithmetic on them would wrap.
        let big = [entry(0, 0xffff_ff00, None), entry(2, 0x300, Some(10))].concat();
        assert!(matches!(
            parse_header(&big, 0x1_0000_0200),
            Err(PackError::TooLarge)
        ));
        assert_eq!(parse_header(&[], 0).unwrap(), vec![]);
        assert!(matches!(
            parse_header(&[], 64),
            Err(PackError::Lengths { .. })
        ));

        // Tails: too short, a length past the pack, a length under the crypto overhead.
        let key = Key::random();
        assert!(matches!(
            decode_header(&key, &[1, 2], 1000),
            Err(PackError::TooShort(1000))
        ));
        assert!(matches!(
            decode_header(&key, &[0; 40], 20),
            Err(PackError::TooShort(20))
        ));
        let mut tail = vec![0u8; 60];
        tail.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_header(&key, &tail, 64),
            Err(PackError::HeaderLength(u32::MAX))
        ));
        let mut tail = vec![0u8; 60];
        tail.extend_from_slice(&31u32.to_le_bytes());
        assert!(matches!(
            decode_header(&key, &tail, 64),
            Err(PackError::HeaderLength(31))
        ));
        let zero = PackedBlob {
            id: Id::hash(b""),
            blob_type: BlobType::Data,
            offset: 0,
            length: 3,
            uncompressed_length: None,
        };
        assert_eq!(zero.data_length(), 0);
    }
}
