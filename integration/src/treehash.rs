//! A fingerprint of a directory tree: every entry's type, mode, size, content hash, link
//! target and mtime, so a restore can be compared with its source in one assertion.
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::Digest;

/// Path (relative) → description line.
pub fn fingerprint(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, p: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for e in entries {
        let md = std::fs::symlink_metadata(&e).unwrap();
        let rel = e.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let ft = md.file_type();
        let desc = if ft.is_symlink() {
            format!("symlink -> {}", std::fs::read_link(&e).unwrap().display())
        } else if ft.is_dir() {
            walk(root, &e, out);
            format!("dir mode={:o} mtime={}", md.mode() & 0o7777, md.mtime())
        } else {
            let data = std::fs::read(&e).unwrap();
            format!(
                "file mode={:o} size={} mtime={}.{:09} sha256={}",
                md.mode() & 0o7777,
                md.len(),
                md.mtime(),
                md.mtime_nsec(),
                hex::encode(sha2::Sha256::digest(&data))
            )
        };
        out.insert(rel, desc);
    }
}

/// Assert two trees are identical, printing the first differences.
pub fn assert_same(a: &Path, b: &Path) {
    let (fa, fb) = (fingerprint(a), fingerprint(b));
    if fa != fb {
        let mut diffs = Vec::new();
        for k in fa.keys().chain(fb.keys()) {
            if fa.get(k) != fb.get(k) {
                diffs.push(format!("{k}: {:?} vs {:?}", fa.get(k), fb.get(k)));
            }
        }
        diffs.dedup();
        panic!(
            "trees differ ({} entries):\n{}",
            diffs.len(),
            diffs
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(!fa.is_empty(), "compared empty trees");
}
