//! The `stash` binary as users run it: exit codes, JSON output, and a backup killed with
//! SIGKILL at different moments (the repository must stay valid for restic).
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use stash_integration::data::SqlDump;
use stash_integration::restic::{restic, PASSWORD};

fn stash(repo: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stash"));
    c.arg("-r")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD", PASSWORD)
        .env_remove("RESTIC_REPOSITORY");
    c
}

fn ok(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn backup_bytes(repo: &Path, data: &[u8], host: &str) -> Output {
    let mut child = stash(
        repo,
        &[
            "backup",
            "--stdin",
            "--stdin-filename",
            "dumpfile.sql",
            "--host",
            host,
            "--json",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn exit_codes_and_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let out = stash(&repo, &["snapshots"]).output().unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist: it is not a repository"));
    ok(&mut stash(&repo, &["init"]));
    let out = stash(&repo, &["init"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a repository"));
    let out = stash(&repo, &["snapshots"])
        .env("RESTIC_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(12));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Fatal: wrong password"));
    let out = stash(&repo, &["snapshots"])
        .env_remove("RESTIC_PASSWORD")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("set RESTIC_PASSWORD or pass --password-file"));
    let pwf = tmp.path().join("pw");
    std::fs::write(&pwf, format!("{PASSWORD}\n")).unwrap();
    ok(stash(&repo, &["snapshots"])
        .env_remove("RESTIC_PASSWORD")
        .arg("--password-file")
        .arg(&pwf));
}

/// `stash dump … | head`: the reader goes away early. Like restic (killed by SIGPIPE), the
/// dump ends quietly with the shell's SIGPIPE status, 141, and prints no error; a full dump
/// through the same pipe is byte-identical.
#[test]
fn dump_into_a_pipe_closed_early_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    let data: Vec<u8> = (0..24u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert!(backup_bytes(&repo, &data, "host-0").status.success());
    let mut child = stash(&repo, &["dump", "latest", "/dumpfile.sql"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut head).unwrap();
    assert_eq!(&head[..], &data[..100]);
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(141),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let full = ok(&mut stash(&repo, &["dump", "latest", "/dumpfile.sql"]));
    assert!(full.stdout == data, "the full dump differs from the data");
}

/// Any command's output into a pipe whose reader is gone (`stash snapshots | head` after
/// `head` quit) ends the same quiet way, with no panic message.
#[test]
fn printing_into_a_closed_pipe_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    assert!(backup_bytes(&repo, b"one", "host-0").status.success());
    for args in [&["snapshots"][..], &["snapshots", "--json"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = stash(&repo, args).stdout(writer).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

/// `stash forget ID…` removes snapshots under the exclusive lock, as a policy does: while a
/// backup holds its lock it is refused with the locked exit code and removes nothing; then
/// it removes exactly the named snapshot, and `--prune` frees its data.
#[test]
fn forget_by_id_takes_the_exclusive_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    let data = stash_integration::data::Rng::new(3).bytes(3 << 20);
    let first = backup_bytes(&repo, &data, "host-0");
    assert!(first.status.success());
    assert!(backup_bytes(&repo, b"small", "host-1").status.success());
    let ids = |repo: &Path| -> Vec<String> {
        let out = ok(&mut stash(repo, &["snapshots", "--json"]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut ids: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let before = ids(&repo);
    let first: serde_json::Value = serde_json::from_slice(
        first
            .stdout
            .split(|&b| b == b'\n')
            .rfind(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    let victim = first["snapshot_id"].as_str().unwrap().to_string();

    // A backup waiting on its stdin holds a shared lock.
    let mut holder = stash(&repo, &["backup", "--stdin", "--host", "host-2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let locks = repo.join("locks");
    while std::fs::read_dir(&locks).map_or(0, |d| d.count()) == 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = stash(&repo, &["forget", &victim[..8]]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    assert!(stderr.contains("locked"), "{stderr}");
    assert_eq!(ids(&repo), before);
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());

    let size = |repo: &Path| -> u64 { pack_files(repo).values().sum() };
    let full = size(&repo);
    let out = ok(&mut stash(&repo, &["forget", &victim[..8], "--prune"]));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains(&format!("removed snapshot {}", &victim[..8])));
    let after = ids(&repo);
    assert_eq!(
        after.len(),
        before.len(),
        "the held backup added one, forget removed one"
    );
    assert!(!after.contains(&victim));
    assert!(
        size(&repo) + (2 << 20) < full,
        "prune freed the forgotten data"
    );
    restic(&repo, &["check", "--read-data"]);
}

/// Entries below a target that cannot be read are left out and named, the rest is saved, and
/// the exit status is restic's 3 ("at least one source file could not be read"); restic reads
/// the snapshot; with `--json` each is one of restic's JSON error messages. A target that
/// cannot be read itself fails the backup: no snapshot.
#[test]
fn backup_leaves_out_what_it_cannot_read_and_exits_3() {
    use stash_integration::unreadable::{
        command_bound_by_permissions, make_readable, make_unreadable,
    };
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::create_dir_all(src.join("locked")).unwrap();
    std::fs::write(src.join("a.txt"), "a").unwrap();
    std::fs::write(src.join("sub/b.txt"), "b").unwrap();
    std::fs::write(src.join("secret.txt"), "s").unwrap();
    std::fs::write(src.join("locked/c.txt"), "c").unwrap();
    make_unreadable(&src.join("secret.txt"));
    make_unreadable(&src.join("locked"));
    let backup = |path: &Path| {
        command_bound_by_permissions(Path::new(env!("CARGO_BIN_EXE_stash")))
            .arg("-r")
            .arg(&repo)
            .arg("backup")
            .arg(path)
            .env("RESTIC_PASSWORD", PASSWORD)
            .output()
            .unwrap()
    };

    let out = backup(&src);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let at = src.display();
    for line in [
        format!("error: {at}/secret.txt: Permission denied"),
        format!("error: {at}/locked: Permission denied"),
        "Warning: at least one source file could not be read".to_string(),
    ] {
        assert!(stderr.contains(&line), "{line:?} not in {stderr}");
    }
    let listed = String::from_utf8(restic(&repo, &["ls", "latest"]).stdout).unwrap();
    let listed: Vec<&str> = listed.lines().filter(|l| l.starts_with('/')).collect();
    for kept in ["a.txt", "sub", "sub/b.txt"] {
        assert!(
            listed.contains(&format!("{at}/{kept}").as_str()),
            "{kept}: {listed:?}"
        );
    }
    assert!(
        !listed
            .iter()
            .any(|l| l.contains("secret") || l.contains("locked")),
        "{listed:?}"
    );
    restic(&repo, &["check", "--read-data"]);

    // With --json, restic's error messages on stderr and the summary on stdout.
    let out = command_bound_by_permissions(Path::new(env!("CARGO_BIN_EXE_stash")))
        .args(["--json", "-r"])
        .arg(&repo)
        .arg("backup")
        .arg(&src)
        .env("RESTIC_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut items: Vec<String> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["message_type"] == "error")
        .map(|e| {
            assert_eq!(e["during"], "archival", "{e}");
            let msg = e["error"]["message"].as_str().unwrap_or_default();
            assert!(msg.contains("Permission denied"), "{e}");
            e["item"].as_str().unwrap().to_string()
        })
        .collect();
    items.sort();
    assert_eq!(
        items,
        [format!("{at}/locked"), format!("{at}/secret.txt")],
        "{stderr}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(summary.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(summary["message_type"], "summary", "{summary}");

    let out = backup(&src.join("locked"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("reading {at}/locked: Permission denied")),
        "{stderr}"
    );
    let snaps = ok(&mut stash(&repo, &["snapshots", "--json"]));
    let snaps: serde_json::Value = serde_json::from_slice(&snaps.stdout).unwrap();
    assert_eq!(
        snaps.as_array().unwrap().len(),
        2,
        "only the two partial backups above saved snapshots: {snaps:#}"
    );
    make_readable(&src.join("locked"));
}

/// `stash dump … > file` writes the file out of order, at the offsets where each part
/// belongs, starting where the shell's descriptor stood and leaving it after the content, so
/// what the shell writes next follows the dump; `>> file` (appending) is written in order.
#[test]
fn dump_into_a_file_starts_at_its_position_and_leaves_it_after_the_content() {
    use std::io::Seek;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    // Incompressible, so the dump is many runs of blobs decoded and written at once.
    let data = stash_integration::data::Rng::new(9).bytes(40 << 20);
    assert!(backup_bytes(&repo, &data, "host-0").status.success());

    let path = tmp.path().join("out");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"before\n").unwrap();
    ok(stash(&repo, &["dump", "latest", "/dumpfile.sql"]).stdout(f.try_clone().unwrap()));
    assert_eq!(f.stream_position().unwrap(), 7 + data.len() as u64);
    f.write_all(b"after\n").unwrap();
    let got = std::fs::read(&path).unwrap();
    assert!(
        got.len() == 13 + data.len()
            && got.starts_with(b"before\n")
            && got[7..7 + data.len()] == data[..]
            && got.ends_with(b"after\n"),
        "the file holds {} bytes, not before + the {} bytes + after",
        got.len(),
        data.len()
    );

    let appended = tmp.path().join("appended");
    std::fs::write(&appended, b"x").unwrap();
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(&appended)
        .unwrap();
    ok(stash(&repo, &["dump", "latest", "/dumpfile.sql"]).stdout(f));
    let got = std::fs::read(&appended).unwrap();
    assert!(
        got[0] == b'x' && got[1..] == data[..],
        "appended dump differs"
    );
}

#[test]
fn json_output_matches_restic_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    let data = SqlDump::to_vec(1, 3 << 20);
    let out = backup_bytes(&repo, &data, "host-0");
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["message_type"], "summary");
    assert_eq!(summary["total_bytes_processed"], 3 << 20);
    let ours: serde_json::Value =
        serde_json::from_slice(&ok(&mut stash(&repo, &["snapshots", "--json"])).stdout).unwrap();
    let theirs: serde_json::Value =
        serde_json::from_slice(&restic(&repo, &["snapshots", "--json"]).stdout).unwrap();
    assert_eq!(ours[0]["id"], summary["snapshot_id"]);
    for k in ["id", "short_id", "tree", "paths", "hostname", "time"] {
        assert_eq!(ours[0][k], theirs[0][k], "field {k}");
    }
    let dumped = ok(&mut stash(&repo, &["dump", "latest", "/dumpfile.sql"])).stdout;
    assert!(dumped == data, "dump gives back the bytes");
}

#[test]
fn killed_backups_leave_a_repository_restic_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    let data = stash_integration::data::Rng::new(5).bytes(160 << 20);
    for delay in [30u64, 150, 400, 900, 1600] {
        let mut child = stash(
            &repo,
            &[
                "backup",
                "--stdin",
                "--stdin-filename",
                "dumpfile.sql",
                "--pack-size",
                "4",
                "--compression",
                "off",
            ],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let d = data.clone();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&d);
        });
        std::thread::sleep(Duration::from_millis(delay));
        // SAFETY: sending SIGKILL to our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        let _ = writer.join();
    }
    // The killed processes' locks are left behind, as restic's would be. restic refuses to
    // check until they are gone; `stash unlock` removes them since their PIDs are dead.
    let out = ok(&mut stash(&repo, &["unlock"]));
    let removed: usize = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(removed >= 1, "stale locks removed");
    // Whatever else was left behind, restic considers the repository valid.
    restic(&repo, &["check"]);
    let snaps: serde_json::Value =
        serde_json::from_slice(&ok(&mut stash(&repo, &["snapshots", "--json"])).stdout).unwrap();
    // A new backup proceeds (it would also have removed stale locks itself).
    let out = backup_bytes(&repo, &data[..8 << 20], "host-0");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Prune removes what the killed backups left; afterwards everything is referenced. A
    // write cut off by the kill stays in tmp/ (planted here too, as the kills may miss one).
    std::fs::write(repo.join("tmp").join("ab12.partial"), vec![7u8; 4096]).unwrap();
    let out = ok(&mut stash(&repo, &["prune", "--json"]));
    let pruned: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        pruned["temp_files_deleted"].as_u64().unwrap() >= 1,
        "{pruned}"
    );
    assert_eq!(
        std::fs::read_dir(repo.join("tmp")).unwrap().count(),
        0,
        "prune leaves no half-written file"
    );
    let check: serde_json::Value =
        serde_json::from_slice(&ok(&mut stash(&repo, &["check", "--read-data", "--json"])).stdout)
            .unwrap();
    assert_eq!(check["hints"].as_array().unwrap().len(), 0, "{check}");
    assert_eq!(check["errors"].as_array().unwrap().len(), 0, "{check}");
    restic(&repo, &["check", "--read-data"]);
    let after: serde_json::Value =
        serde_json::from_slice(&ok(&mut stash(&repo, &["snapshots", "--json"])).stdout).unwrap();
    assert_eq!(
        after.as_array().unwrap().len(),
        snaps.as_array().unwrap().len() + 1
    );
}

#[test]
fn validate_prints_every_problem_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("bad.yaml");
    std::fs::write(
        &f,
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata:\n  name: nightly\n  namespace: demo\nspec:\n  schedule: \"every night\"\n  repository:\n    name: gcs-repo\n  target:\n    ref:\n      apiVersion: apps/v1\n      kind: Deployment\n      name: app\n  retentionPolicy:\n    keepLast: 5\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stash"))
        .arg("validate")
        .arg("-f")
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let prefix = format!("{}: BackupConfiguration/nightly: ", f.display());
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 3, "{text}");
    assert!(lines.iter().all(|l| l.starts_with(&prefix)), "{text}");
    assert!(text.contains("spec.schedule"), "{text}");
    assert!(text.contains("spec.retentionPolicy.name"), "{text}");
    assert!(text.contains("spec.retentionPolicy.prune"), "{text}");
    let good = tmp.path().join("good.yaml");
    std::fs::write(
        &good,
        std::fs::read_to_string(&f)
            .unwrap()
            .replace("every night", "*/5 * * * *")
            .replace(
                "    keepLast: 5\n",
                "    name: keep-last-5\n    keepLast: 5\n    prune: true\n",
            ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stash"))
        .arg("validate")
        .arg("-f")
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn psql(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qAt",
            "-d",
            db,
            "-c",
            sql,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `pg_dump` of a database without the per-dump random `\restrict` token lines.
fn pg_dump(db: &str) -> Vec<String> {
    let out = Command::new("pg_dump")
        .args(["-h", "127.0.0.1", "-U", "postgres", "--no-owner", db])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .map(String::from)
        .collect()
}

fn assert_same_dump(a: &[String], b: &[String]) {
    if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
        panic!(
            "dumps differ at line {}: {:?} vs {:?}",
            i + 1,
            a.get(i),
            b.get(i)
        );
    }
    assert!(a.len() > 50, "a real dump");
}

fn appbinding(dir: &Path, name: &str, db: &str) {
    std::fs::write(
        dir.join(format!("{name}.yaml")),
        format!(
            "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata:\n  name: {name}\n  namespace: demo\nspec:\n  type: kubedb.com/postgres\n  version: \"15\"\n  clientConfig:\n    url: postgresql://127.0.0.1:5432/{db}?sslmode=disable\n  secret:\n    name: pg-auth\n"
        ),
    )
    .unwrap();
}

/// By hand: `-r` and RESTIC_PASSWORD for the repository, the AppBinding from a manifests folder.
#[test]
fn addon_postgres_from_appbinding_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (
        format!("stash_cli_src_{}", std::process::id()),
        format!("stash_cli_dst_{}", std::process::id()),
    );
    for db in [&src, &dst] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
        psql("postgres", &format!("CREATE DATABASE {db}"));
    }
    psql(&src, "CREATE TABLE t (id serial PRIMARY KEY, name text NOT NULL, note text, amount numeric(10,2));
                CREATE INDEX t_name ON t (name);
                INSERT INTO t (name, note, amount) SELECT 'row ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'naïve café ' || g END, g * 1.5 FROM generate_series(1, 20000) g;
                CREATE VIEW v AS SELECT name FROM t WHERE amount > 100;");
    let manifests = tmp.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pg-auth\n  namespace: demo\nstringData:\n  username: postgres\n  password: not-needed-with-trust-auth\n";
    std::fs::write(manifests.join("secret.yaml"), secret).unwrap();
    appbinding(&manifests, "src", &src);
    appbinding(&manifests, "dst", &dst);
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    let by_hand = |args: &[&str]| {
        let mut c = stash(&repo, args);
        c.arg("--manifests").arg(&manifests).args([
            "--appbinding-namespace",
            "demo",
            "--wait-timeout",
            "30s",
        ]);
        c
    };
    let out = ok(&mut by_hand(&[
        "addon",
        "postgres",
        "backup",
        "--backup-cmd",
        "pg_dump",
        "--appbinding",
        "src",
        "--json",
    ]));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["paths"][0], "/dumpfile.sql");
    assert_eq!(summary["hostname"], "host-0");
    ok(&mut by_hand(&[
        "addon",
        "postgres",
        "restore",
        "--appbinding",
        "dst",
    ]));
    assert_same_dump(&pg_dump(&src), &pg_dump(&dst));
    assert_eq!(
        psql(&dst, "SELECT count(*) FROM v"),
        psql(&src, "SELECT count(*) FROM v")
    );
    // Without the Secret the AppBinding names, the error says which one and which field named it.
    std::fs::remove_file(manifests.join("secret.yaml")).unwrap();
    let out = by_hand(&["addon", "postgres", "backup", "--appbinding", "src"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Secret demo/pg-auth not found")
            && err.contains("named by spec.secret of AppBinding demo/src"),
        "{err}"
    );
    // An AppBinding name without a manifests folder: the error says where objects come from.
    let out = stash(
        &repo,
        &["addon", "postgres", "backup", "--appbinding", "src"],
    )
    .env_remove("STASH_MANIFESTS")
    .output()
    .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("pass --manifests DIR (or set STASH_MANIFESTS)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for db in [&src, &dst] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
}

/// A Secret without the `password` key (KubeDB's older `POSTGRES_PASSWORD` spelling, or none
/// at all) fails the backup before it connects, naming the Secret, the key and the fix, and
/// leaves no snapshot. The servers named here would accept a login without a password, so
/// only that check stands between this AppBinding and a snapshot.
#[test]
fn addon_backup_with_secret_missing_password_key_fails_without_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    let cases = [
        ("postgres", "postgresql://127.0.0.1:5432/postgres", "POSTGRES_USER: postgres\n  POSTGRES_PASSWORD: unused", "to use POSTGRES_PASSWORD, add to the AppBinding spec.secretTransforms: [{renameKey: {from: POSTGRES_PASSWORD, to: password}}]", vec!["--backup-cmd", "pg_dump"]),
        ("redis", "redis://127.0.0.1:6379", "username: default", "add key \"password\" to the Secret", vec!["--args", "-db 13 -filter stash-cli-nothing:*"]),
        ("mariadb", "mysql://127.0.0.1:3306/test", "username: root", "add key \"password\" to the Secret", vec!["--args", "test"]),
    ];
    for (db, url, data, fix, args) in cases {
        let manifests = tmp.path().join(format!("{db}-manifests"));
        std::fs::create_dir(&manifests).unwrap();
        let ab = manifests.join("appbinding.yaml");
        std::fs::write(&ab, format!("apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata:\n  name: {db}\n  namespace: demo\nspec:\n  clientConfig:\n    url: {url}\n  secret:\n    name: {db}-auth\n")).unwrap();
        let secret = manifests.join("secret.yaml");
        std::fs::write(&secret, format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {db}-auth\n  namespace: demo\nstringData:\n  {data}\n")).unwrap();
        let out = stash(&repo, &["addon", db, "backup", "--wait-timeout", "10s"])
            .args(&args)
            .arg("--manifests")
            .arg(&manifests)
            .args(["--appbinding", db, "--appbinding-namespace", "demo"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{db}: {err}");
        assert!(
            err.contains(&format!(
                "Secret \"{db}-auth\" (spec.secret) has no key \"password\""
            )) && err.contains(fix),
            "{db}: {err}"
        );
        assert!(!err.contains("unused"), "a secret value leaked: {err}");
    }
    let out = ok(&mut stash(&repo, &["snapshots", "--json"]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[]",
        "no snapshot may be written"
    );
}

#[test]
fn backup_parent_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let src = tmp.path().join("src");
    stash_integration::data::make_tree(&src, 3);
    ok(&mut stash(&repo, &["init"]));
    let src_arg = src.to_str().unwrap();
    let summary = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["backup", src_arg, "--json"];
        args.extend_from_slice(extra);
        serde_json::from_slice(&ok(&mut stash(&repo, &args)).stdout).unwrap()
    };
    let first = summary(&[]);
    let files = first["files_new"].as_u64().unwrap();
    let bytes = first["total_bytes_read"].as_u64().unwrap();
    assert!(files > 40 && bytes > 12 << 20, "{first}");
    assert_eq!(first["total_bytes_processed"], bytes);

    let second = summary(&[]);
    assert_eq!(second["files_unmodified"], files, "{second}");
    assert_eq!(second["total_bytes_read"], 0, "{second}");
    assert_eq!(second["total_bytes_processed"], bytes, "{second}");

    let forced = summary(&["--force"]);
    assert_eq!(forced["files_new"], files, "{forced}");
    assert_eq!(forced["total_bytes_read"], bytes, "{forced}");

    let first_id = first["snapshot_id"].as_str().unwrap();
    let given = summary(&[
        "--parent",
        &first_id[..8],
        "--ignore-inode",
        "--ignore-ctime",
    ]);
    assert_eq!(given["total_bytes_read"], 0, "{given}");
    let snaps: serde_json::Value =
        serde_json::from_slice(&restic(&repo, &["snapshots", "--json"]).stdout).unwrap();
    assert_eq!(snaps[3]["parent"], first_id, "{snaps}");

    let out = stash(&repo, &["backup", src_arg, "--parent", "abc", "--force"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "--parent and --force conflict");
    let out = stash(&repo, &["backup", src_arg, "--parent", "0000ffff"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("choosing the parent snapshot: no snapshot matched \"0000ffff\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pack files (`data/xx/<id>`) of a repository with their sizes.
fn pack_files(repo: &Path) -> std::collections::BTreeMap<std::path::PathBuf, u64> {
    let mut out = std::collections::BTreeMap::new();
    for d in std::fs::read_dir(repo.join("data")).unwrap().flatten() {
        for f in std::fs::read_dir(d.path()).unwrap().flatten() {
            out.insert(f.path(), f.metadata().unwrap().len());
        }
    }
    out
}

#[test]
fn repair_index_and_snapshots_are_wired() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    ok(&mut stash(&repo, &["init"]));
    assert!(backup_bytes(&repo, &SqlDump::to_vec(1, 1 << 20), "host-a")
        .status
        .success());
    let before = pack_files(&repo);
    assert!(backup_bytes(&repo, &SqlDump::to_vec(2, 1 << 20), "host-b")
        .status
        .success());
    // The second backup's data pack (its tree pack is the smaller new one) goes missing.
    let (lost, _) = pack_files(&repo)
        .into_iter()
        .filter(|(p, _)| !before.contains_key(p))
        .max_by_key(|(_, size)| *size)
        .unwrap();
    std::fs::remove_file(&lost).unwrap();
    let lost = lost.file_name().unwrap().to_str().unwrap().to_string();

    let out = stash(&repo, &["repair", "index", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "unknown flags are refused");
    let out = ok(&mut stash(&repo, &["repair", "index"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "pack {lost}: missing from the repository, removed from the index"
        )),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("repair snapshots --forget"));

    let out = ok(&mut stash(
        &repo,
        &["repair", "snapshots", "--dry-run", "--forget"],
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("file \"/dumpfile.sql\": removed missing content")
            && text.contains("would save new snapshot")
            && text.ends_with("would modify 1 snapshots\n"),
        "{text}"
    );
    let out = ok(&mut stash(
        &repo,
        &["repair", "snapshots", "--host", "host-b", "--forget"],
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("saved new snapshot") && text.ends_with("modified 1 snapshots\n"),
        "{text}"
    );
    restic(&repo, &["check", "--read-data"]);
    let out = ok(&mut stash(&repo, &["check"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no errors were found"));
}
