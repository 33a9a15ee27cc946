//! The "unpacked" file encoding of config, index, snapshot and lock files.
//!
//! Version 1: the plaintext is JSON. Version 2: the plaintext starts with an encoding byte;
//! `[` or `{` mean "the whole plaintext is JSON", `2` means "zstd-compressed JSON follows".
//! We write 2 for v2 repositories except for `config`, which restic keeps uncompressed so
//! that the version can be read before compression is known.

#[derive(Debug, thiserror::Error)]
pub enum UnpackedError {
    #[error("empty file")]
    Empty,
    #[error("unknown encoding version {0}")]
    Version(u8),
    #[error("zstd decompression failed")]
    Zstd(#[source] std::io::Error),
}

/// Encode JSON bytes for storage (before encryption).
pub fn encode(json: Vec<u8>, compress: bool) -> Vec<u8> {
    if !compress {
        return json;
    }
    let mut out = Vec::with_capacity(json.len() / 3 + 16);
    out.push(2u8);
    let c = zstd::bulk::compress(&json, 3).expect("zstd compression of a buffer cannot fail");
    out.extend_from_slice(&c);
    out
}

/// Decode a decrypted unpacked file into JSON bytes.
pub fn decode(plain: Vec<u8>) -> Result<Vec<u8>, UnpackedError> {
    match plain.first() {
        None => Err(UnpackedError::Empty),
        Some(b'[') | Some(b'{') => Ok(plain),
        Some(2) => zstd::stream::decode_all(&plain[1..]).map_err(UnpackedError::Zstd),
        Some(&v) => Err(UnpackedError::Version(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_encodings_decode() {
        let json = br#"{"a":1}"#.to_vec();
        assert_eq!(decode(encode(json.clone(), false)).unwrap(), json);
        let enc = encode(json.clone(), true);
        assert_eq!(enc[0], 2);
        assert_eq!(decode(enc).unwrap(), json);
        assert!(matches!(decode(vec![7, 1]), Err(UnpackedError::Version(7))));
    }
}
