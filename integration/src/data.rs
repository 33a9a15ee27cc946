//! Deterministic test data: SQL-dump-like text streams and directory trees with every kind
//! of entry restic records.
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use sha2::Digest;
use tokio::io::{AsyncRead, ReadBuf};

/// xorshift64*: fast, seedable, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

const WORDS: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
    "kilo", "lima", "Zürich", "München", "東京", "naïve", "O'Brien", "NULL", "\\N", "café",
];

/// Lines like a PostgreSQL dump: COPY blocks of tab-separated rows with ids, names, numbers,
/// timestamps and the odd unicode word. Compresses about as well as a real dump.
pub struct SqlDump {
    rng: Rng,
    remaining: u64,
    row: u64,
    pending: Vec<u8>,
    pos: usize,
    hasher: Option<sha2::Sha256>,
}

impl SqlDump {
    pub fn new(seed: u64, size: u64) -> SqlDump {
        SqlDump {
            rng: Rng::new(seed),
            remaining: size,
            row: 0,
            pending: Vec::new(),
            pos: 0,
            hasher: Some(sha2::Sha256::new()),
        }
    }

    fn refill(&mut self) {
        self.pending.clear();
        self.pos = 0;
        while self.pending.len() < 64 * 1024 {
            if self.row.is_multiple_of(100_000) {
                let t = self.row / 100_000;
                self.pending.extend_from_slice(
                    format!("\n--\n-- Data for table public.t{t}\n--\n\nCOPY public.t{t} (id, name, city, amount, created_at, note) FROM stdin;\n").as_bytes(),
                );
            }
            let r = self.rng.next_u64();
            let w = |i: u64| WORDS[(i % WORDS.len() as u64) as usize];
            let line = format!(
                "{}\t{} {}\t{}\t{}.{:02}\t2024-{:02}-{:02} {:02}:{:02}:{:02}+00\t{}\n",
                self.row,
                w(r),
                w(r >> 8),
                w(r >> 16),
                (r >> 20) % 100_000,
                (r >> 40) % 100,
                1 + (r >> 24) % 12,
                1 + (r >> 28) % 28,
                (r >> 32) % 24,
                (r >> 36) % 60,
                (r >> 42) % 60,
                if r.is_multiple_of(7) {
                    "\\N".to_string()
                } else {
                    format!("{:x}", self.rng.next_u64())
                },
            );
            self.pending.extend_from_slice(line.as_bytes());
            self.row += 1;
        }
    }

    /// SHA-256 of everything produced so far (call after reading to the end).
    pub fn digest(&mut self) -> String {
        hex::encode(self.hasher.take().expect("digest once").finalize())
    }

    /// Produce the whole stream into a Vec (for small sizes).
    pub fn to_vec(seed: u64, size: u64) -> Vec<u8> {
        let mut d = SqlDump::new(seed, size);
        let mut out = Vec::with_capacity(size as usize);
        while d.remaining > 0 {
            if d.pos == d.pending.len() {
                d.refill();
            }
            let n = (d.pending.len() - d.pos).min(d.remaining as usize);
            out.extend_from_slice(&d.pending[d.pos..d.pos + n]);
            d.pos += n;
            d.remaining -= n as u64;
        }
        out
    }
}

impl AsyncRead for SqlDump {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.pos == this.pending.len() {
            this.refill();
        }
        let n = (this.pending.len() - this.pos)
            .min(buf.remaining())
            .min(this.remaining as usize);
        let chunk = &this.pending[this.pos..this.pos + n];
        if let Some(h) = this.hasher.as_mut() {
            h.update(chunk);
        }
        buf.put_slice(chunk);
        this.pos += n;
        this.remaining -= n as u64;
        Poll::Ready(Ok(()))
    }
}

/// A directory tree with regular files of many sizes (incl. empty, > 8 MiB), nested and
/// empty directories, symlinks, unusual modes and names.
pub fn make_tree(root: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let w = |p: &Path, data: &[u8], mode: u32| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    w(&root.join("empty.txt"), b"", 0o644);
    w(&root.join("small.txt"), b"hello world\n", 0o600);
    w(&root.join("script.sh"), b"#!/bin/sh\necho hi\n", 0o755);
    w(
        &root.join("big/random.bin"),
        &rng.bytes(9 * 1024 * 1024 + 17),
        0o644,
    );
    w(
        &root.join("big/dump.sql"),
        &SqlDump::to_vec(seed, 3 * 1024 * 1024),
        0o640,
    );
    for i in 0..40 {
        let n = (rng.next_u64() % 20_000) as usize;
        w(
            &root.join(format!("many/d{}/f{i}.dat", i % 5)),
            &rng.bytes(n),
            0o644,
        );
    }
    w(
        &root.join("unicodé/東京 file.txt"),
        "naïve café\n".as_bytes(),
        0o644,
    );
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    std::fs::create_dir_all(root.join("deep/a/b/c/d")).unwrap();
    w(&root.join("deep/a/b/c/d/leaf"), b"leaf", 0o444);
    std::os::unix::fs::symlink("small.txt", root.join("link-to-small")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", root.join("dangling")).unwrap();
    std::fs::set_permissions(root.join("deep/a"), std::fs::Permissions::from_mode(0o750)).unwrap();
}
