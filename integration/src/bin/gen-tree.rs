//! Write a deterministic tree of many small text files, or change some of them:
//!
//! ```text
//! gen-tree DIR FILES [SEED]            FILES files of 200 B–90 KB SQL-like text
//! gen-tree --change DIR PERCENT SEED   rewrite PERCENT % of the files of DIR (new content and size)
//! gen-tree --tiny DIR FILES PER_DIR     FILES files of 16–255 B, PER_DIR to a folder
//! ```
//! Used by `benches/bench-tree.sh` and `benches/bench-many.sh` so that every tool backs up
//! the same tree. `--tiny` makes the tree of millions of files whose cost is the count, not
//! the bytes: files `dNNNN/fNNNNNNN`, each with content of its own. Files are
//! `dNNN/sNN/fNNNNNN.txt`, 100 to a folder; sizes lean towards small ones (mean about 24 KB,
//! so 30 000 files are about 700 MiB), as on a volume of documents or source code. What else
//! a volume holds and a restore must bring back comes too: every 7th file is mode 0600 and
//! every 11th 0755, and `links/` holds a symlink and a hard link per 500 files and one sparse
//! file of 64 MiB with 1 MiB of data at each end.
use std::path::{Path, PathBuf};

use stash_integration::data::{Rng, SqlDump};

const MIN: u64 = 200;
const MAX: u64 = 90_000;

fn path_of(root: &Path, i: u64) -> PathBuf {
    root.join(format!("d{:03}/s{:02}/f{i:06}.txt", i / 1000, i / 100 % 10))
}

/// A size in MIN..=MAX, `MIN + (MAX - MIN) * u^2.7` for uniform `u`.
fn size_of(rng: &mut Rng) -> u64 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    MIN + ((MAX - MIN) as f64 * u.powf(2.7)) as u64
}

fn write(path: &Path, seed: u64, size: u64) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    let data = SqlDump::to_vec(seed, size);
    std::fs::write(path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn usage() -> ! {
    eprintln!(
        "usage: gen-tree DIR FILES [SEED] | gen-tree --change DIR PERCENT SEED \
         | gen-tree --tiny DIR FILES PER_DIR"
    );
    std::process::exit(2)
}

fn number(s: Option<String>) -> u64 {
    s.and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--change") {
        let mut it = args.into_iter().skip(1);
        let root = PathBuf::from(it.next().unwrap_or_else(|| usage()));
        let percent = number(it.next());
        let seed = number(it.next());
        let mut files: Vec<PathBuf> = Vec::new();
        collect(&root, &mut files);
        // The links and the sparse file stay as they are.
        files.retain(|p| !p.starts_with(root.join("links")));
        files.sort();
        let n = (files.len() as u64 * percent).div_ceil(100);
        let mut rng = Rng::new(seed ^ 0x5eed);
        let mut changed = 0;
        // Distinct files, picked by a seeded shuffle of the first n positions.
        for k in 0..n as usize {
            let j = k + (rng.next_u64() % (files.len() - k) as u64) as usize;
            files.swap(k, j);
            let size = size_of(&mut rng);
            write(&files[k], seed.wrapping_mul(1_000_003) + k as u64, size);
            changed += 1;
        }
        println!("changed {changed} of {} files", files.len());
        return;
    }
    if args.first().map(String::as_str) == Some("--tiny") {
        let mut it = args.into_iter().skip(1);
        let root = PathBuf::from(it.next().unwrap_or_else(|| usage()));
        let count = number(it.next());
        let per_dir = number(it.next()).max(1);
        tiny(&root, count, per_dir);
        return;
    }
    let mut it = args.into_iter();
    let root = PathBuf::from(it.next().unwrap_or_else(|| usage()));
    let count = number(it.next());
    let seed = it.next().map(|s| number(Some(s))).unwrap_or(1);
    let mut rng = Rng::new(seed);
    let mut total = 0u64;
    for i in 0..count {
        let size = size_of(&mut rng);
        write(
            &path_of(&root, i),
            seed.wrapping_mul(1_000_000_007) + i,
            size,
        );
        total += size;
        let mode = match i {
            i if i % 7 == 0 => Some(0o600),
            i if i % 11 == 0 => Some(0o755),
            _ => None,
        };
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            let p = path_of(&root, i);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }
    links(&root, count, seed);
    println!("{count} files, {total} bytes, with links and a sparse file in links/");
}

/// `count` files of 16 to 255 bytes, `per_dir` to a folder; each starts with its own number,
/// so no two have the same content (deduplication would otherwise hide the per-file cost).
fn tiny(root: &Path, count: u64, per_dir: u64) {
    let mut rng = Rng::new(count ^ per_dir);
    let mut total = 0u64;
    let mut data = Vec::with_capacity(256);
    for i in 0..count {
        let dir = root.join(format!("d{:04}", i / per_dir));
        if i % per_dir == 0 {
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        let len = 16 + (rng.next_u64() % 240) as usize;
        data.clear();
        data.extend_from_slice(format!("{i:016}").as_bytes());
        while data.len() < len {
            data.push(b'a' + (rng.next_u64() % 26) as u8);
        }
        let path = dir.join(format!("f{i:07}"));
        std::fs::write(&path, &data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        total += len as u64;
    }
    println!("{count} files, {total} bytes, {per_dir} to a folder");
}

/// Symlinks and hard links to every 500th file, and a sparse file, in `root/links`.
fn links(root: &Path, count: u64, seed: u64) {
    let dir = root.join("links");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let fail = |p: &Path, e: std::io::Error| -> ! { panic!("{}: {e}", p.display()) };
    for i in (0..count).step_by(500) {
        let to = path_of(root, i);
        let rel = Path::new("..").join(to.strip_prefix(root).expect("below root"));
        let sym = dir.join(format!("sym{i:06}"));
        std::os::unix::fs::symlink(&rel, &sym).unwrap_or_else(|e| fail(&sym, e));
        let hard = dir.join(format!("hard{i:06}"));
        std::fs::hard_link(&to, &hard).unwrap_or_else(|e| fail(&hard, e));
    }
    let sparse = dir.join("sparse.bin");
    let mut f = std::fs::File::create(&sparse).unwrap_or_else(|e| fail(&sparse, e));
    use std::io::{Seek, SeekFrom, Write};
    let edge = SqlDump::to_vec(seed ^ 0x5ba5e, 1 << 20);
    f.write_all(&edge)
        .and_then(|()| f.seek(SeekFrom::Start((64 << 20) - (1 << 20))).map(drop))
        .and_then(|()| f.write_all(&edge))
        .unwrap_or_else(|e| fail(&sparse, e));
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let rd = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in rd {
        let e = e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => collect(&p, out),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
}
