//! Content-defined chunking, bit for bit the same as restic's chunker (Go package
//! `github.com/restic/chunker`; checked against the `restic` 0.14 binary).
//!
//! A file's bytes are cut into blobs where a Rabin fingerprint of the last 64 bytes has its
//! low 20 bits all zero, so the cut points move with the content rather than with offsets,
//! and an insertion early in a file only changes the blobs around it. A blob's id is the
//! SHA-256 of its bytes, so a blob we write deduplicates against one that restic wrote only
//! when both programs cut at exactly the same byte. That is why everything here — the
//! polynomial arithmetic, the lookup tables, the state after a reset, which bytes are hashed
//! and which positions are candidates for a cut — has to agree with restic to the bit; a
//! chunker that is merely "as good" would silently stop deduplicating against every
//! repository restic wrote.
//!
//! # The rule, as restic applies it
//!
//! * The repository `config` holds a random irreducible polynomial `P` of degree 53 over GF(2)
//!   ([`Pol`]); bytes are polynomials too (bit `i` is the coefficient of `x^i`), and a window
//!   `w0 … w63` (oldest first) has the fingerprint `Σ wi·x^(8·(63-i)) mod P`, always kept
//!   fully reduced (degree < 53).
//! * Each chunk starts from a reset state: an all-zero window into which one byte `1` has been
//!   slid. The first `MIN_SIZE - 64` bytes of a chunk are not hashed at all; hashing starts
//!   with the next byte, so by the time a chunk is `MIN_SIZE` long the window holds exactly
//!   its last 64 bytes.
//! * After each hashed byte that makes the chunk at least `MIN_SIZE` long, the chunk ends there
//!   if `fingerprint & (2^20 - 1) == 0` or the chunk has reached `MAX_SIZE`.
//! * The end of the input ends the last chunk, whatever its size; empty input has no chunk.
//!
//! # How it is computed
//!
//! Sliding one byte is `fp' = (fp·x^8 + in + out·x^(8·64)) mod P` with 256-entry tables, as
//! restic does: one gives the remainder of the 8 bits the shift pushes above degree 53, one
//! removes the byte leaving the window. Two differences in bookkeeping, neither visible in
//! the result since every fingerprint is fully reduced either way: restic XORs its out entry
//! (`out·x^(8·63) mod P`) in before the shift, we XOR `out·x^(8·64) mod P` in after it, which
//! takes it off the loop's critical path; and we keep the fingerprint shifted to the top of
//! the `u64` (left by `64 - 53`), so the 8 bits due for reduction are simply `fp >> 56` and
//! the shift itself drops them.
//!
//! Because the fingerprint at every candidate cut depends only on the 64 bytes before it, a
//! long stretch of input is scanned as four independent lanes at once (each lane's state is
//! rebuilt from the 64 bytes before it), which hides the latency of the table lookups; the
//! earliest cut over all lanes is the one taken. This is only how the scan is scheduled: the
//! result is the plain sequential rule above, which the tests check against a straightforward
//! byte-at-a-time transcription of restic's loop, and against a golden vector that the
//! `restic` binary cut identically.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

/// Smallest chunk restic cuts (the last chunk of a file may be shorter).
pub const MIN_SIZE: usize = 512 * 1024;
/// Largest chunk restic cuts.
pub const MAX_SIZE: usize = 8 * 1024 * 1024;
/// Bytes in the rolling-hash window.
pub const WINDOW_SIZE: usize = 64;
/// A cut needs this many low zero bits in the fingerprint: 1 MiB on average past `MIN_SIZE`.
pub const AVERAGE_BITS: u32 = 20;

/// Degrees the chunker accepts: restic's tables need at least 8, and restic's chunker refuses
/// more than 53 (the 8 bits shifted above the degree must stay inside 64 bits).
const MIN_CHUNKER_DEG: i32 = 8;
const MAX_CHUNKER_DEG: i32 = 53;

/// A polynomial over GF(2), as restic stores it in the repository config ("chunker_polynomial"
/// is its lower-case hex, no 0x). Bit `i` is the coefficient of `x^i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pol(pub u64);

/// The config's `chunker_polynomial` could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid chunker polynomial {0:?}: want 1 to 16 hex digits of a polynomial of degree 8 to 53"
)]
pub struct ParsePolError(pub String);

impl Pol {
    /// A random irreducible polynomial of degree 53, drawn as restic's `RandomPolynomial`:
    /// 64 random bits from the OS, cut to bits 0..=53, bits 53 and 0 set, retried until
    /// irreducible (about one try in 27 succeeds).
    pub fn random() -> Pol {
        use rand::RngCore;
        for _ in 0..1_000_000 {
            let f = (rand::rngs::OsRng.next_u64() & ((1 << 54) - 1)) | (1 << 53) | 1;
            let pol = Pol(f);
            if pol.is_irreducible() {
                return pol;
            }
        }
        // restic gives up after the same number of tries; the odds of getting here are nil.
        panic!("no irreducible polynomial found in 1e6 random tries");
    }

    /// Whether the polynomial is irreducible over GF(2) (Ben-Or's test, as restic uses).
    /// Constants (0 and 1) are not irreducible; restic's own test would say they are, but it
    /// is never asked about them.
    pub fn is_irreducible(self) -> bool {
        let d = self.deg();
        if d < 1 {
            return false;
        }
        // f is irreducible iff gcd(f, x^(2^i) - x) = 1 for every 1 <= i <= deg/2.
        let f = self.0;
        let mut h: u64 = 2; // x^(2^0) mod f (f has degree >= 2 whenever the loop runs)
        for _ in 1..=d / 2 {
            h = mul_mod(h, h, f);
            if gcd(f, h ^ 2) != 1 {
                return false;
            }
        }
        true
    }

    /// The degree; -1 for the zero polynomial.
    pub fn deg(self) -> i32 {
        deg64(self.0)
    }

    /// Lower-case hex without leading zeros or "0x", as restic writes `chunker_polynomial`.
    pub fn to_hex(self) -> String {
        format!("{:x}", self.0)
    }

    /// Parses `chunker_polynomial` (hex digits of either case, as restic's parser accepts).
    /// Rejects what restic's chunker could not run with: zero, and degrees outside 8..=53.
    pub fn from_hex(s: &str) -> Result<Pol, ParsePolError> {
        let err = || ParsePolError(s.to_string());
        if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err());
        }
        let pol = Pol(u64::from_str_radix(s, 16).map_err(|_| err())?);
        if !(MIN_CHUNKER_DEG..=MAX_CHUNKER_DEG).contains(&pol.deg()) {
            return Err(err());
        }
        Ok(pol)
    }
}

impl fmt::Display for Pol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

impl FromStr for Pol {
    type Err = ParsePolError;
    fn from_str(s: &str) -> Result<Pol, ParsePolError> {
        Pol::from_hex(s)
    }
}

// ---- GF(2)[x] arithmetic on bit patterns (only for set-up, never on the hot path) ----

fn deg64(x: u64) -> i32 {
    63 - x.leading_zeros() as i32 // -1 for 0
}

fn deg128(x: u128) -> i32 {
    127 - x.leading_zeros() as i32
}

/// `x mod m`; `m` must not be zero.
fn rem(mut x: u128, m: u64) -> u64 {
    let dm = deg64(m);
    assert!(dm >= 0, "polynomial division by zero");
    loop {
        let dx = deg128(x);
        if dx < dm {
            return x as u64;
        }
        x ^= (m as u128) << (dx - dm);
    }
}

/// Carry-less product.
fn clmul(a: u64, mut b: u64) -> u128 {
    let a = a as u128;
    let mut r = 0u128;
    let mut i = 0;
    while b != 0 {
        if b & 1 != 0 {
            r ^= a << i;
        }
        b >>= 1;
        i += 1;
    }
    r
}

fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    rem(clmul(a, b), m)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let r = rem(a as u128, b);
        a = b;
        b = r;
    }
    a
}

// ---- lookup tables ----

/// The tables for one polynomial of degree `k`. The fingerprint is kept shifted left by
/// `align = 64 - k`, so the 8 bits that the next byte pushes above degree `k` are always the
/// top byte (`e >> 56`: no masking, no bounds check) and `e << 8` drops them by itself; the
/// low `align` bits stay zero. Every entry is in that alignment.
struct Tables {
    align: u32,
    /// `reduce[t] = t·x^k mod P`: the remainder of the 8 bits `t` just shifted out.
    reduce: [u64; 256],
    /// `out[b] = b·x^(8·64) mod P`: XORed in after the shift, it removes byte `b`, which has
    /// just left the window. (restic's out table holds `b·x^(8·63) mod P` and XORs it in
    /// before the shift; same value mod P, and both results are fully reduced.)
    out: [u64; 256],
    /// `inb[b] = b`: the byte entering the window.
    inb: [u64; 256],
}

impl Tables {
    fn new(pol: Pol) -> Tables {
        let k = pol.deg();
        assert!(
            (MIN_CHUNKER_DEG..=MAX_CHUNKER_DEG).contains(&k),
            "chunker polynomial {pol} has degree {k}, want 8..=53"
        );
        let p = pol.0;
        let align = (64 - k) as u32;
        let mut t = Tables {
            align,
            reduce: [0; 256],
            out: [0; 256],
            inb: [0; 256],
        };
        for b in 0..256u64 {
            let i = b as usize;
            t.reduce[i] = rem((b as u128) << k, p) << align;
            let mut h = rem(b as u128, p);
            for _ in 0..WINDOW_SIZE {
                h = rem((h as u128) << 8, p);
            }
            t.out[i] = h << align;
            t.inb[i] = b << align;
        }
        t
    }
}

/// Tables per polynomial, built once and kept for the life of the process (6 KiB each; a
/// chunker is made per file, a process sees one polynomial per repository).
fn tables_for(pol: Pol) -> Arc<Tables> {
    static CACHE: OnceLock<Mutex<HashMap<u64, Arc<Tables>>>> = OnceLock::new();
    let mut map = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(pol.0)
        .or_insert_with(|| Arc::new(Tables::new(pol)))
        .clone()
}

/// Appends byte `b` to an (aligned) fingerprint without sliding anything out:
/// `fp' = (fp·x^8 + b) mod P`.
#[inline(always)]
fn push(t: &Tables, e: u64, b: u8) -> u64 {
    ((e << 8) ^ t.inb[b as usize]) ^ t.reduce[(e >> 56) as usize]
}

/// One window step on an (aligned) fingerprint: `b_in` enters, `b_out` (the byte 64 positions
/// before it) leaves. Only `e → >> 56 → lookup → XOR` is serial from one byte to the next.
#[inline(always)]
fn roll(t: &Tables, e: u64, b_out: u8, b_in: u8) -> u64 {
    ((e << 8) ^ t.inb[b_in as usize] ^ t.out[b_out as usize]) ^ t.reduce[(e >> 56) as usize]
}

// ---- the scan over candidate positions ----

/// Independent lanes scanned side by side (the lockstep loop below is written for 4).
const LANES: usize = 4;

/// Scans `buf[start..end]` for the first cut: every position there is a candidate.
/// Needs `start >= WINDOW_SIZE`, and `e` the fingerprint of `buf[start - 64..start]`.
/// Returns `Ok(n)` when the chunk ends after `buf[..n]`, or `Err(fingerprint at end)`.
fn scan(t: &Tables, mask: u64, buf: &[u8], start: usize, end: usize, e: u64) -> Result<usize, u64> {
    assert!(WINDOW_SIZE <= start && start <= end && end <= buf.len());
    let (pos, e) = match lanes::<8192>(t, mask, buf, start, end, e) {
        Lanes::Cut(n) => return Ok(n),
        Lanes::Done(pos, e) => (pos, e),
    };
    let (pos, e) = match lanes::<512>(t, mask, buf, pos, end, e) {
        Lanes::Cut(n) => return Ok(n),
        Lanes::Done(pos, e) => (pos, e),
    };
    one_lane(t, mask, &buf[pos - WINDOW_SIZE..end], e).map(|n| pos + n)
}

/// Single-lane scan of `w[64..]`, whose window starts as `w[..64]` with fingerprint `e`.
/// `Ok(n)`: cut after `w[64..][..n]`.
#[inline(always)]
fn one_lane(t: &Tables, mask: u64, w: &[u8], mut e: u64) -> Result<usize, u64> {
    let (outs, ins) = (&w[..w.len() - WINDOW_SIZE], &w[WINDOW_SIZE..]);
    for (j, (&o, &b)) in outs.iter().zip(ins).enumerate() {
        e = roll(t, e, o, b);
        if e & mask == 0 {
            return Ok(j + 1);
        }
    }
    Err(e)
}

enum Lanes {
    /// The chunk ends after `buf[..n]`.
    Cut(usize),
    /// No cut before this position; the fingerprint there.
    Done(usize, u64),
}

/// Scans as many blocks of `LANES * L` bytes as fit in `buf[start..end]`, each as `LANES`
/// lanes of `L` bytes in lockstep (same preconditions as [`scan`]).
#[inline(always)]
fn lanes<const L: usize>(
    t: &Tables,
    mask: u64,
    buf: &[u8],
    start: usize,
    end: usize,
    mut e: u64,
) -> Lanes {
    let mut pos = start;
    while end - pos >= LANES * L {
        let blk = &buf[pos - WINDOW_SIZE..pos + LANES * L];
        // Lane k covers blk[64 + k*L..][..L]; its outgoing bytes are blk[k*L..][..L]. As
        // arrays, indexing them by j < L needs no bounds checks.
        let outs: [&[u8; L]; LANES] =
            std::array::from_fn(|k| blk[k * L..k * L + L].try_into().expect("lane"));
        let ins: [&[u8; L]; LANES] = std::array::from_fn(|k| {
            blk[WINDOW_SIZE + k * L..WINDOW_SIZE + k * L + L]
                .try_into()
                .expect("lane")
        });
        // Lane 0 goes on from `e`; the others start from the 64 bytes before them.
        let (mut e0, mut e1, mut e2, mut e3) = (e, 0, 0, 0);
        for ((&a, &b), &c) in outs[1][..WINDOW_SIZE]
            .iter()
            .zip(&outs[2][..WINDOW_SIZE])
            .zip(&outs[3][..WINDOW_SIZE])
        {
            e1 = push(t, e1, a);
            e2 = push(t, e2, b);
            e3 = push(t, e3, c);
        }
        let mut hit = None;
        for j in 0..L {
            e0 = roll(t, e0, outs[0][j], ins[0][j]);
            e1 = roll(t, e1, outs[1][j], ins[1][j]);
            e2 = roll(t, e2, outs[2][j], ins[2][j]);
            e3 = roll(t, e3, outs[3][j], ins[3][j]);
            if e0 & mask == 0 || e1 & mask == 0 || e2 & mask == 0 || e3 & mask == 0 {
                hit = Some(j);
                break;
            }
        }
        if let Some(j) = hit {
            // The earliest lane that hit at step j cuts there, unless a lane before it hits
            // later in its own (earlier) stretch.
            let es = [e0, e1, e2, e3];
            let first = (0..LANES).find(|&k| es[k] & mask == 0).expect("a lane hit");
            for (k, &ek) in es.iter().enumerate().take(first) {
                let lane = &blk[k * L + j + 1..k * L + L + WINDOW_SIZE];
                if let Ok(n) = one_lane(t, mask, lane, ek) {
                    return Lanes::Cut(pos + k * L + j + 1 + n);
                }
            }
            return Lanes::Cut(pos + first * L + j + 1);
        }
        e = e3;
        pos += LANES * L;
    }
    Lanes::Done(pos, e)
}

/// Streaming boundary finder. Holds the rolling-hash state across calls; the caller keeps the
/// bytes. Feed a file's bytes in order, in pieces of any size; call [`Chunker::reset`] before
/// the next file.
#[derive(Clone)]
pub struct Chunker {
    tables: Arc<Tables>,
    min: usize,
    max: usize,
    /// The split mask, aligned as the fingerprint is.
    mask: u64,
    /// Bytes of the current chunk seen so far.
    count: usize,
    /// Fingerprint of `window`, aligned (see [`Tables`]).
    digest: u64,
    /// The last 64 bytes hashed, as a ring; `window[wpos]` is the oldest.
    window: [u8; WINDOW_SIZE],
    wpos: usize,
}

impl fmt::Debug for Chunker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunker")
            .field("min", &self.min)
            .field("max", &self.max)
            .field("count", &self.count)
            .field(
                "digest",
                &format_args!("{:#x}", self.digest >> self.tables.align),
            )
            .finish_non_exhaustive()
    }
}

impl Chunker {
    /// A chunker with restic's sizes ([`MIN_SIZE`], [`MAX_SIZE`]).
    ///
    /// Panics if `pol` has a degree outside 8..=53 ([`Pol::from_hex`] rejects those).
    pub fn new(pol: Pol) -> Chunker {
        Chunker::with_sizes(pol, MIN_SIZE, MAX_SIZE)
    }

    /// A chunker with other bounds (restic's `WithBoundaries`). Panics unless
    /// `64 <= min <= max` (restic's chunker misbehaves below a window's worth).
    pub fn with_sizes(pol: Pol, min: usize, max: usize) -> Chunker {
        Chunker::with_params(pol, min, max, AVERAGE_BITS)
    }

    /// As restic's `WithAverageBits`; only the tests use other than 20.
    fn with_params(pol: Pol, min: usize, max: usize, average_bits: u32) -> Chunker {
        assert!(
            WINDOW_SIZE <= min && min <= max,
            "chunk sizes want 64 <= min <= max, got {min}, {max}"
        );
        assert!(average_bits < 64);
        let tables = tables_for(pol);
        // Mask bits at or above the degree are lost to the alignment, but a reduced
        // fingerprint never has those bits set anyway.
        let mask = ((1u64 << average_bits) - 1) << tables.align;
        let mut c = Chunker {
            tables,
            min,
            max,
            mask,
            count: 0,
            digest: 0,
            window: [0; WINDOW_SIZE],
            wpos: 0,
        };
        c.reset();
        c
    }

    /// Reset to the start of a new chunk (start of a new file).
    pub fn reset(&mut self) {
        // restic's reset state: a zero window into which one byte 1 has been slid. (That byte
        // has always left the window again by the first candidate cut, as min >= 64.)
        self.count = 0;
        self.window = [0; WINDOW_SIZE];
        self.window[0] = 1;
        self.wpos = 1;
        self.digest = push(&self.tables, 0, 1);
    }

    /// Scan `buf`, which continues the current chunk. Returns `Some(n)` when the current chunk
    /// ends after `buf[..n]` (state is then reset for the next chunk, which starts at
    /// `buf[n]`); `None` when all of `buf` belongs to the current chunk. The end of the input
    /// ends the last chunk: that is the caller's to do, with whatever it holds.
    pub fn next_boundary(&mut self, buf: &[u8]) -> Option<usize> {
        let n = buf.len();
        let mut i = 0;

        // The head of a chunk is not hashed at all.
        let hash_from = self.min - WINDOW_SIZE;
        if self.count < hash_from {
            let skip = (hash_from - self.count).min(n);
            self.count += skip;
            i = skip;
        }

        // Byte by byte through the ring window: the 64 hashed bytes before the first
        // candidate, and the first 64 bytes of `buf`, whose outgoing bytes are not in `buf`.
        while i < n && (self.count < self.min || i < WINDOW_SIZE) {
            let b = buf[i];
            let b_out = self.window[self.wpos];
            self.window[self.wpos] = b;
            self.wpos = (self.wpos + 1) % WINDOW_SIZE;
            self.digest = roll(&self.tables, self.digest, b_out, b);
            self.count += 1;
            i += 1;
            if self.count >= self.min && (self.digest & self.mask == 0 || self.count >= self.max) {
                self.reset();
                return Some(i);
            }
        }
        if i == n {
            return None;
        }

        // From here every position is a candidate and the window is `buf[i - 64..i]`.
        let end = i + (n - i).min(self.max - self.count);
        match scan(&self.tables, self.mask, buf, i, end, self.digest) {
            Ok(cut) => {
                self.reset();
                Some(cut)
            }
            Err(e) => {
                self.count += end - i;
                if self.count >= self.max {
                    self.reset();
                    return Some(end);
                }
                // end == n: keep the window for the next piece.
                self.digest = e;
                self.window.copy_from_slice(&buf[n - WINDOW_SIZE..]);
                self.wpos = 0;
                None
            }
        }
    }
}

/// Convenience: all chunk lengths of an in-memory buffer (last chunk may be short).
pub fn chunk_lengths(pol: Pol, data: &[u8]) -> Vec<usize> {
    lengths_with(&mut Chunker::new(pol), data)
}

fn lengths_with(c: &mut Chunker, mut data: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    while let Some(n) = c.next_boundary(data) {
        out.push(n);
        data = &data[n..];
    }
    if !data.is_empty() {
        out.push(data.len());
    }
    c.reset();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The polynomial of a repository `restic init` (0.14) made; the golden vector below was
    /// checked against that repository with the restic binary.
    const GOLDEN_POL: Pol = Pol(0x2d_f394_88c1_6233);

    /// restic's own test polynomial.
    const RESTIC_TEST_POL: Pol = Pol(0x3d_a335_8b4d_c173);

    /// Deterministic test bytes: xorshift64* output, little-endian.
    fn xorshift_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut s = seed | 1;
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            v.extend_from_slice(&s.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        v.truncate(len);
        v
    }

    /// The golden data: random, then periodic (no cut until MAX_SIZE), zeros (cut at
    /// MIN_SIZE), then a short random tail.
    fn golden_data() -> Vec<u8> {
        let mut v = xorshift_bytes(1, 16 << 20);
        let period = xorshift_bytes(2, 1000);
        for _ in 0..(10 << 20) / 1000 {
            v.extend_from_slice(&period);
        }
        v.extend(std::iter::repeat_n(0u8, 1536 << 10));
        v.extend(xorshift_bytes(3, 300_000));
        v
    }

    /// Lengths restic 0.14 cut `golden_data()` into with `GOLDEN_POL` (the scratch crate's
    /// restic test backs the same bytes up and compares blob ids in order).
    const GOLDEN_LENGTHS: &[usize] = &[
        553152, 1717219, 607078, 605027, 987684, 1025732, 1012595, 806703, 969542, 2287325, 575820,
        3587760, 678482, 757672, 8388608, 2701881, 524288, 524288, 824224,
    ];

    #[test]
    fn golden_vector() {
        let data = golden_data();
        assert_eq!(chunk_lengths(GOLDEN_POL, &data), GOLDEN_LENGTHS);
    }

    /// restic's chunker, byte at a time, in its own formulation (out table of
    /// `b·x^(8·63)` applied before the shift, tables from plain polynomial remainders).
    fn reference_lengths(pol: Pol, min: usize, max: usize, bits: u32, data: &[u8]) -> Vec<usize> {
        let p = pol.0;
        let k = pol.deg();
        let reduce: Vec<u64> = (0..256u64)
            .map(|t| rem((t as u128) << k, p) | (t << k))
            .collect();
        let out: Vec<u64> = (0..256u64)
            .map(|b| {
                let mut h = b;
                for _ in 0..WINDOW_SIZE - 1 {
                    h = rem((h as u128) << 8, p);
                }
                h
            })
            .collect();
        let update = |d: u64, b: u8| ((d << 8) | b as u64) ^ reduce[(d >> (k - 8)) as usize];
        let mask = (1u64 << bits) - 1;
        let mut lens = Vec::new();
        let (mut win, mut wpos, mut d, mut count, mut pre) =
            ([0u8; 64], 0usize, 0u64, 0usize, 0usize);
        let reset = |win: &mut [u8; 64],
                     wpos: &mut usize,
                     d: &mut u64,
                     count: &mut usize,
                     pre: &mut usize| {
            *win = [0; 64];
            win[0] = 1;
            *wpos = 1;
            *d = update(out[0], 1);
            *count = 0;
            *pre = min - WINDOW_SIZE;
        };
        reset(&mut win, &mut wpos, &mut d, &mut count, &mut pre);
        for &b in data {
            count += 1;
            if pre > 0 {
                pre -= 1;
                continue;
            }
            let o = win[wpos];
            win[wpos] = b;
            wpos = (wpos + 1) % 64;
            d = update(d ^ out[o as usize], b);
            if count >= min && (d & mask == 0 || count >= max) {
                lens.push(count);
                reset(&mut win, &mut wpos, &mut d, &mut count, &mut pre);
            }
        }
        if count > 0 {
            lens.push(count);
        }
        lens
    }

    #[test]
    fn degree_and_hex() {
        assert_eq!(Pol(0).deg(), -1);
        assert_eq!(Pol(1).deg(), 0);
        assert_eq!(Pol(0x3af4b284899).deg(), 41);
        assert_eq!(RESTIC_TEST_POL.deg(), 53);
        assert_eq!(GOLDEN_POL.to_hex(), "2df39488c16233");
        assert_eq!(Pol::from_hex("2df39488c16233"), Ok(GOLDEN_POL));
        assert_eq!(Pol::from_hex("3DA3358B4DC173"), Ok(RESTIC_TEST_POL));
        assert_eq!("3da3358b4dc173".parse::<Pol>(), Ok(RESTIC_TEST_POL));
        assert_eq!(RESTIC_TEST_POL.to_string(), "3da3358b4dc173");
        for bad in [
            "",
            "0x3da3358b4dc173",
            "+3da3358b4dc173",
            " 3da3358b4dc173",
            "3da3358b4dc17g",
            "0",
            "ff",
            "7fffffffffffff",
            "10000000000000000",
        ] {
            assert!(Pol::from_hex(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Pol::from_hex("100").is_ok()); // degree 8: the smallest restic could use
        for _ in 0..5 {
            let p = Pol::random();
            assert_eq!(Pol::from_hex(&p.to_hex()), Ok(p));
        }
    }

    #[test]
    fn known_irreducible_and_reducible() {
        // From restic's polynomial tests.
        let restic_cases = [
            (0x38f1e565e288df, false),
            (0x3DA3358B4DC173, true),
            (0x30a8295b9d5c91, false),
            (0x255f4350b962cb, false),
            (0x267f776110a235, false),
            (0x2f4dae10d41227, false),
            (0x2482734cacca49, true),
            (0x312daf4b284899, false),
            (0x29dfb6553d01d1, false),
            (0x3548245eb26257, false),
            (0x3199e7ef4211b3, false),
            (0x362f39017dae8b, false),
            (0x200d57aa6fdacb, false),
            (0x35e0a4efa1d275, false),
            (0x2ced55b026577f, false),
            (0x260b012010893d, false),
            (0x2df29cbcd59e9d, false),
            (0x3f2ac7488bd429, false),
            (0x3e5cb1711669fb, false),
            (0x226d8de57a9959, false),
            (0x3c8de80aaf5835, false),
            (0x2026a59efb219b, false),
            (0x39dfa4d13fb231, false),
            (0x3143d0464b3299, false),
        ];
        for (f, want) in restic_cases {
            assert_eq!(Pol(f).is_irreducible(), want, "{f:#x}");
        }
        // Textbook ones: x^2+x+1, x^8+x^4+x^3+x+1 (AES), x^64+x^4+x^3+x+1; and products.
        for f in [0b111u64, 0b11, 0b10, 0x11b, 0x11d, GOLDEN_POL.0] {
            assert!(Pol(f).is_irreducible(), "{f:#x}");
        }
        for f in [
            0u64,
            1,
            0b101,
            0b110,
            0x11b * 2,
            clmul(0x11b, 0x11d) as u64,
            clmul(0b111, 0x3DA3358B4DC173) as u64,
        ] {
            assert!(!Pol(f).is_irreducible(), "{f:#x}");
        }
    }

    #[test]
    fn irreducibility_matches_trial_division() {
        // Every polynomial of degree 1..=11 against division by all of degree 1..=deg/2.
        for f in 2u64..(1 << 12) {
            let d = deg64(f);
            let has_factor =
                (2u64..(1 << (d / 2 + 1))).any(|g| deg64(g) >= 1 && rem(f as u128, g) == 0);
            assert_eq!(Pol(f).is_irreducible(), !has_factor, "{f:#b}");
        }
    }

    #[test]
    fn random_polynomials_are_irreducible_degree_53() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            let p = Pol::random();
            assert_eq!(p.deg(), 53);
            assert_eq!(p.0 & 1, 1);
            assert!(p.is_irreducible());
            seen.insert(p);
        }
        assert!(seen.len() > 1);
    }

    #[test]
    fn tables_are_reductions() {
        let p = RESTIC_TEST_POL.0;
        let t = Tables::new(RESTIC_TEST_POL);
        assert_eq!(t.align, 11);
        let x512 = (0..512).fold(1u64, |acc, _| mul_mod(acc, 2, p));
        for b in 0..256u64 {
            let i = b as usize;
            assert_eq!(t.reduce[i], rem((b as u128) << 53, p) << 11);
            assert_eq!(t.out[i], mul_mod(b, x512, p) << 11);
            assert_eq!(t.inb[i], b << 11);
        }
        // The fingerprint of a window is the remainder of its bytes read as one polynomial,
        // and rolling keeps it so.
        let w = xorshift_bytes(9, 200);
        let naive = |bytes: &[u8]| {
            bytes
                .iter()
                .fold(0u64, |acc, &b| rem(((acc as u128) << 8) | b as u128, p))
        };
        let mut e = w[..64].iter().fold(0, |e, &b| push(&t, e, b));
        assert_eq!(e >> 11, naive(&w[..64]));
        for i in 64..w.len() {
            e = roll(&t, e, w[i - 64], w[i]);
            assert_eq!(e >> 11, naive(&w[i - 63..=i]));
        }
        // A degree-8 polynomial uses every bit of the alignment.
        let t8 = Tables::new(Pol(0x11b));
        assert_eq!(t8.align, 56);
        let e = w[..64].iter().fold(0, |e, &b| push(&t8, e, b));
        assert_eq!(
            e >> 56,
            w[..64]
                .iter()
                .fold(0u64, |acc, &b| rem(((acc as u128) << 8) | b as u128, 0x11b))
        );
    }

    #[test]
    fn zeros_cut_at_min_size() {
        // The fingerprint of 64 zero bytes is 0, so zeros cut at every MIN_SIZE (as in
        // restic's own tests).
        let data = vec![0u8; 4 * MIN_SIZE + 100];
        assert_eq!(
            chunk_lengths(RESTIC_TEST_POL, &data),
            [MIN_SIZE, MIN_SIZE, MIN_SIZE, MIN_SIZE, 100]
        );
        assert!(chunk_lengths(RESTIC_TEST_POL, &[]).is_empty());
        assert_eq!(chunk_lengths(RESTIC_TEST_POL, &[7; 1000]), [1000]);
    }

    #[test]
    fn matches_bytewise_reference() {
        let data = xorshift_bytes(5, 6 << 20);
        // (min, max, average bits): restic's sizes, small sizes, and masks that make cuts
        // dense enough for several lanes to hit in the same block.
        let cases = [
            (MIN_SIZE, MAX_SIZE, 20),
            (64, 1 << 20, 20),
            (64, 100_000, 20),
            (1000, 5000, 20),
            (64, 64, 20),
            (64, 1 << 20, 14),
            (200, 1 << 20, 12),
            (64, 1 << 20, 9),
            (64, 1 << 20, 2),
            (4096, 70_000, 16),
        ];
        for (min, max, bits) in cases {
            let want = reference_lengths(RESTIC_TEST_POL, min, max, bits, &data);
            let got = lengths_with(
                &mut Chunker::with_params(RESTIC_TEST_POL, min, max, bits),
                &data,
            );
            assert_eq!(got, want, "min {min} max {max} bits {bits}");
            assert_eq!(got.iter().sum::<usize>(), data.len());
        }
        // Low-entropy input, other polynomial.
        let mut data = vec![0u8; 3 << 20];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i / 3000 % 7) as u8 * 37;
        }
        for (min, max, bits) in [(MIN_SIZE, MAX_SIZE, 20), (64, 1 << 20, 6)] {
            let want = reference_lengths(GOLDEN_POL, min, max, bits, &data);
            let got = lengths_with(&mut Chunker::with_params(GOLDEN_POL, min, max, bits), &data);
            assert_eq!(got, want, "low entropy, min {min} max {max} bits {bits}");
        }
        // Other degrees: x^31+x^3+1, and x^8+x^4+x^3+x+1 (fingerprints of 8 bits).
        let data = xorshift_bytes(13, 1 << 20);
        for pol in [Pol(0x8000_0009), Pol(0x11b)] {
            assert!(pol.is_irreducible());
            for (min, max, bits) in [(64, 1 << 20, 20), (64, 1 << 20, 7), (1000, 9000, 4)] {
                let want = reference_lengths(pol, min, max, bits, &data);
                let got = lengths_with(&mut Chunker::with_params(pol, min, max, bits), &data);
                assert_eq!(got, want, "{pol} min {min} max {max} bits {bits}");
            }
        }
    }

    #[test]
    fn sizes_stay_within_bounds() {
        let data = xorshift_bytes(6, 4 << 20);
        for (min, max) in [
            (64, 64),
            (64, 4096),
            (1000, 1001),
            (20_000, 300_000),
            (MIN_SIZE, MAX_SIZE),
        ] {
            let lens = lengths_with(&mut Chunker::with_sizes(GOLDEN_POL, min, max), &data);
            assert_eq!(lens.iter().sum::<usize>(), data.len());
            let (last, rest) = lens.split_last().unwrap();
            assert!(
                rest.iter().all(|&n| (min..=max).contains(&n)),
                "min {min} max {max}: {lens:?}"
            );
            assert!((1..=max).contains(last));
        }
        // Periodic data never hits the mask: every chunk is max long.
        let period = xorshift_bytes(2, 1000);
        let data: Vec<u8> = period
            .iter()
            .copied()
            .cycle()
            .take(3 * 100_000 + 5)
            .collect();
        let lens = lengths_with(&mut Chunker::with_sizes(GOLDEN_POL, 1000, 100_000), &data);
        assert_eq!(lens, [100_000, 100_000, 100_000, 5]);
    }

    #[test]
    fn streaming_splits_match_one_shot() {
        let data = xorshift_bytes(7, 3 << 20);
        for (min, max, bits) in [
            (MIN_SIZE, MAX_SIZE, 20),
            (64, 200_000, 20),
            (100, 50_000, 10),
            (64, 64, 20),
        ] {
            let whole = lengths_with(&mut Chunker::with_params(GOLDEN_POL, min, max, bits), &data);
            for seed in 1..=4u64 {
                // Piece sizes from 1 byte up to ~2^(seed*4) bytes.
                let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let mut c = Chunker::with_params(GOLDEN_POL, min, max, bits);
                let (mut lens, mut cur, mut pos) = (Vec::new(), 0usize, 0usize);
                while pos < data.len() {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let want = 1 + (rng % (1 << (seed * 4 + 1))) as usize;
                    let mut piece = &data[pos..(pos + want).min(data.len())];
                    pos += piece.len();
                    while let Some(n) = c.next_boundary(piece) {
                        lens.push(cur + n);
                        cur = 0;
                        piece = &piece[n..];
                    }
                    cur += piece.len();
                }
                if cur > 0 {
                    lens.push(cur);
                }
                assert_eq!(lens, whole, "min {min} max {max} bits {bits} seed {seed}");
            }
        }
    }

    #[test]
    fn reset_starts_a_new_chunk() {
        let a = xorshift_bytes(11, 700_000);
        let b = xorshift_bytes(12, 3 << 20);
        let mut c = Chunker::new(GOLDEN_POL);
        let mut rest = &a[..];
        while let Some(n) = c.next_boundary(rest) {
            rest = &rest[n..];
        }
        assert!(!rest.is_empty()); // left in the middle of a chunk
        c.reset();
        assert_eq!(lengths_with(&mut c, &b), chunk_lengths(GOLDEN_POL, &b));
    }

    #[test]
    #[should_panic]
    fn min_below_window_is_refused() {
        Chunker::with_sizes(GOLDEN_POL, 63, 1000);
    }
}
