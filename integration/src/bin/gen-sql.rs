//! Write a deterministic SQL-dump-like stream to stdout: `gen-sql BYTES [SEED]`.
//! Used by the benchmark so that every tool backs up the same data.
use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let size: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("usage: gen-sql BYTES [SEED]");
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let data = stash_integration::data::SqlDump::to_vec(seed, size);
    std::io::stdout()
        .lock()
        .write_all(&data)
        .expect("writing stdout");
}
