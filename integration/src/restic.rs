//! The real `restic` binary, the outside judge of our repository format.
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const PASSWORD: &str = "correct horse battery staple";

/// Run restic on `repo` with extra env; panics with restic's stderr when it fails.
pub fn restic(repo: &Path, args: &[&str]) -> Output {
    let out = restic_raw(repo, args, None);
    assert!(
        out.status.success(),
        "restic {:?} failed: {}\n{}",
        args,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Run restic and return its output whatever the exit status; `stdin` is fed if given.
pub fn restic_raw(repo: &Path, args: &[&str], stdin: Option<&Path>) -> Output {
    let mut c = Command::new("restic");
    c.arg("--no-cache")
        .arg("-r")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD", PASSWORD)
        .env("TZ", "UTC");
    c.stdin(match stdin {
        Some(p) => Stdio::from(std::fs::File::open(p).expect("stdin file")),
        None => Stdio::null(),
    });
    c.output()
        .expect("restic is installed (integration/scripts/install-tools.sh)")
}

/// Run restic, streaming stdout into a SHA-256; returns (hex digest, byte count).
pub fn restic_stdout_hash(repo: &Path, args: &[&str]) -> (String, u64) {
    use sha2::Digest;
    use std::io::Read;
    let mut child = Command::new("restic")
        .arg("--no-cache")
        .arg("-r")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("restic runs");
    let mut out = child.stdout.take().unwrap();
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = out.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    let st = child.wait_with_output().unwrap();
    assert!(
        st.status.success(),
        "restic {:?} failed: {}",
        args,
        String::from_utf8_lossy(&st.stderr)
    );
    (hex::encode(h.finalize()), n)
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("restic JSON: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Run restic on any repository string (`s3:http://…`, `rest:…`) with extra environment
/// (credentials); no local cache. Returns the output whatever the exit status.
pub fn restic_at(repo: &str, env: &[(&str, &str)], args: &[&str], stdin: Option<&Path>) -> Output {
    let mut c = Command::new("restic");
    c.arg("-r")
        .arg(repo)
        .arg("--no-cache")
        .args(args)
        .env("RESTIC_PASSWORD", PASSWORD)
        .env("TZ", "UTC");
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(match stdin {
        Some(p) => Stdio::from(std::fs::File::open(p).expect("stdin file")),
        None => Stdio::null(),
    });
    c.output()
        .expect("restic is installed (integration/scripts/install-tools.sh)")
}

/// [`restic_at`] that must succeed.
pub fn restic_at_ok(
    repo: &str,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&Path>,
) -> Output {
    let out = restic_at(repo, env, args, stdin);
    assert!(
        out.status.success(),
        "restic -r {repo} {:?} failed: {}\n{}",
        args,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}
