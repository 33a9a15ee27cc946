//! zstd decompression of blobs into the caller's buffer, with one decompression context per
//! thread.
//!
//! `zstd::bulk::decompress` allocates a context (about 100 KiB) and a fresh output vector for
//! every blob. Restore decodes thousands of blobs per GiB on a few threads; reusing both the
//! context and the caller's output buffer removes those allocations and, above all, the page
//! faults of touching new memory for every blob.
//!
//! The length to expect comes from the index, which may be damaged: a claim is checked
//! against what the frame can produce before anything is allocated for it.
use std::cell::RefCell;
use std::io::Cursor;

thread_local! {
    static CONTEXT: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Most plaintext one byte of zstd frame can stand for: a block holds at most 128 KiB, and
/// the smallest block (an RLE block) takes 4 bytes, header included.
const MAX_EXPANSION: usize = (128 << 10) / 4;

/// Decompress one zstd frame of exactly `len` bytes and append it to `out`. On error `out`
/// may hold a partial tail; callers truncate it back.
pub fn decompress_append(frame: &[u8], len: usize, out: &mut Vec<u8>) -> std::io::Result<()> {
    // Refuse impossible claims before reserving room for them: a frame that records its
    // content size (restic's and ours do) must record this one, and no frame expands more
    // than MAX_EXPANSION times.
    match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n != len as u64 => {
            return Err(std::io::Error::other(format!(
                "the zstd frame holds {n} bytes, the index says {len}"
            )))
        }
        Err(_) => return Err(std::io::Error::other("not a zstd frame")),
        _ => {}
    }
    if len > frame.len().saturating_mul(MAX_EXPANSION) {
        return Err(std::io::Error::other(format!(
            "a zstd frame of {} bytes cannot hold the {len} bytes the index says",
            frame.len()
        )));
    }
    let start = out.len();
    out.reserve(len);
    let written = CONTEXT.with(|cell| {
        let mut slot = cell.borrow_mut();
        let ctx = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(zstd::bulk::Decompressor::new()?),
        };
        // The cursor writes into the spare capacity after `start`, never over earlier data.
        let mut cursor = Cursor::new(&mut *out);
        cursor.set_position(start as u64);
        ctx.decompress_to_buffer(frame, &mut cursor)
    })?;
    if written != len || out.len() != start + len {
        return Err(std::io::Error::other(format!(
            "decompressed {written} bytes, the index says {len}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_after_existing_data_and_rejects_wrong_lengths() {
        let a = vec![7u8; 300_000];
        let b: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (fa, fb) = (
            zstd::bulk::compress(&a, 3).unwrap(),
            zstd::bulk::compress(&b, 3).unwrap(),
        );
        let mut out = b"head".to_vec();
        decompress_append(&fa, a.len(), &mut out).unwrap();
        decompress_append(&fb, b.len(), &mut out).unwrap();
        assert_eq!(&out[..4], b"head");
        assert_eq!(&out[4..4 + a.len()], &a[..]);
        assert_eq!(&out[4 + a.len()..], &b[..]);

        // The index claims more bytes than the frame holds, or fewer: both are corruption.
        let mut out = Vec::new();
        assert!(decompress_append(&fa, a.len() + 1, &mut out).is_err());
        let mut out = Vec::new();
        assert!(decompress_append(&fa, a.len() - 1, &mut out).is_err());
        // Garbage is an error, not a panic.
        assert!(decompress_append(b"not zstd at all", 10, &mut Vec::new()).is_err());
    }

    /// A damaged index entry claiming 4 GiB for a small frame must fail without reserving
    /// 4 GiB first (that alone aborts the process on a small machine).
    #[test]
    fn gigantic_length_claims_fail_before_allocating() {
        let frame = zstd::bulk::compress(&[1u8; 1000], 3).unwrap();
        let mut out = Vec::new();
        let e = decompress_append(&frame, u32::MAX as usize, &mut out).unwrap_err();
        assert!(e.to_string().contains("holds 1000 bytes"), "{e}");
        assert_eq!(out.capacity(), 0);
        // A frame without a recorded size: bounded by what its bytes can expand to.
        let mut c = zstd::bulk::Compressor::new(3).unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::ContentSizeFlag(false))
            .unwrap();
        let frame = c.compress(&[1u8; 1000]).unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&frame).unwrap(),
            None
        );
        let e = decompress_append(&frame, u32::MAX as usize, &mut out).unwrap_err();
        assert!(e.to_string().contains("cannot hold"), "{e}");
        assert_eq!(out.capacity(), 0);
        decompress_append(&frame, 1000, &mut out).unwrap();
        assert_eq!(out, vec![1u8; 1000]);
    }
}
