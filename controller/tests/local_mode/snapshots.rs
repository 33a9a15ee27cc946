//! Snapshots as objects (check 30): `stash get snapshots` lists the repositories' restic
//! snapshots as Stash's Snapshot objects, selected by repository and host; `stash delete
//! snapshot` forgets and prunes one. The real `restic` says which snapshots exist.
use std::path::Path;
use std::process::Output;

use serde_json::Value;
use stash_integration::restic::{restic, PASSWORD};

use super::fixtures::*;

/// Another Repository `name` of namespace demo in `folder`, with its Secret `<name>-secret`
/// holding `password`.
fn repository(l: &Local, name: &str, folder: &Path, password: &str) -> String {
    l.repository_yaml(&format!("RESTIC_PASSWORD: {password}"))
        .replace(
            "{name: repo, namespace: demo}",
            &format!("{{name: {name}, namespace: demo}}"),
        )
        .replace("repo-secret", &format!("{name}-secret"))
        .replace(&l.repo.display().to_string(), &folder.display().to_string())
}

/// The BackupConfiguration `name` of the AppBinding `pg-src` into Repository `repo`, its host
/// called `alias` (none: `host-0`).
fn pg_backup_into(name: &str, repo: &str, alias: Option<&str>) -> String {
    let yaml = pg_backup("0 3 * * *", 5, 5)
        .replace("name: pg-backup", &format!("name: {name}"))
        .replace(
            "repository: {name: repo}",
            &format!("repository: {{name: {repo}}}"),
        );
    match alias {
        Some(a) => yaml.replace("    ref: {", &format!("    alias: {a}\n    ref: {{")),
        None => yaml,
    }
}

fn out_text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `stash ARGS -n demo`, which must succeed: its stdout.
fn stash_ok(l: &Local, args: &[&str]) -> String {
    let out = l.stash(args).args(["-n", "demo"]).output().unwrap();
    let (stdout, stderr) = out_text(&out);
    assert!(
        out.status.success(),
        "stash {args:?} failed:\n{stderr}\n{stdout}"
    );
    stdout
}

/// `stash ARGS -n demo`, which must fail: its stdout and stderr.
fn stash_fails(l: &Local, args: &[&str]) -> (String, String) {
    let out = l.stash(args).args(["-n", "demo"]).output().unwrap();
    let (stdout, stderr) = out_text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stash {args:?} should fail:\n{stderr}\n{stdout}"
    );
    (stdout, stderr)
}

fn restic_ids(repo: &Path, host: Option<&str>) -> Vec<String> {
    let mut snaps: Vec<Value> =
        serde_json::from_slice::<Value>(&restic(repo, &["snapshots", "--json"]).stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone();
    snaps.retain(|s| host.is_none_or(|h| s["hostname"] == h));
    let mut ids: Vec<String> = snaps.iter().map(|s| text(s, "/id")).collect();
    ids.sort();
    ids
}

/// Check 30. Repository `repo` holds snapshots of hosts `host-0` (two) and `app-b`; Repository
/// `other` one of `host-0`; Repository `broken` cannot be opened (a wrong password). Then:
/// `-l repository=repo,hostname=host-0` returns exactly repo's host-0 snapshots, named
/// `repo-<8 chars of restic's id>`, opening neither other repository; a listing of all names
/// `broken` and why, still lists the rest and exits 1; one Snapshot reads by name; deleting it
/// leaves restic without it, the repository passing `restic check`, and the Repository's
/// status counting what is left.
#[test]
fn check_30_snapshots_listed_by_repository_and_host_and_deleted() {
    let l = Local::new();
    let other = l.folder("other");
    l.write("other.yaml", &repository(&l, "other", &other, PASSWORD));
    l.write(
        "broken.yaml",
        &repository(&l, "broken", &other, "not-the-password"),
    );
    let src = PgDb::create("stash_lm_snaps");
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    l.write("a.yaml", &pg_backup_into("backup-a", "repo", None));
    l.write("b.yaml", &pg_backup_into("backup-b", "repo", Some("app-b")));
    l.write("o.yaml", &pg_backup_into("backup-o", "other", None));
    assert_ok(&l.run_once());
    l.trigger("backup-a");
    assert_ok(&l.run_once());

    let repo_host0 = restic_ids(&l.repo, Some("host-0"));
    assert_eq!(repo_host0.len(), 2, "two backups of host-0 into repo");
    assert_eq!(restic_ids(&l.repo, Some("app-b")).len(), 1);
    let other_ids = restic_ids(&other, Some("host-0"));
    assert_eq!(other_ids.len(), 1);

    // Selected by repository and host: repo's host-0 snapshots, and nothing of `broken`,
    // which is not opened.
    let listed: Value = serde_json::from_str(&stash_ok(
        &l,
        &[
            "get",
            "snapshots",
            "-l",
            "repository=repo,hostname=host-0",
            "-o",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(listed["kind"], "List", "{listed:#}");
    let items = listed["items"].as_array().unwrap();
    let mut uids: Vec<String> = items.iter().map(|s| text(s, "/metadata/uid")).collect();
    uids.sort();
    assert_eq!(uids, repo_host0, "the Snapshots are restic's: {listed:#}");
    for s in items {
        let id = text(s, "/metadata/uid");
        assert_eq!(text(s, "/metadata/name"), format!("repo-{}", &id[..8]));
        assert_eq!(text(s, "/metadata/namespace"), "demo");
        assert_eq!(
            text(s, "/apiVersion"),
            "repositories.stash.appscode.com/v1alpha1"
        );
        assert_eq!(text(s, "/kind"), "Snapshot");
        assert_eq!(text(s, "/metadata/labels/repository"), "repo");
        assert_eq!(text(s, "/metadata/labels/hostname"), "host-0");
        assert_eq!(text(s, "/status/repository"), "repo");
        assert_eq!(text(s, "/status/hostname"), "host-0");
        assert_eq!(s["status"]["paths"], serde_json::json!(["/dumpfile.sql"]));
        assert_eq!(text(s, "/status/tree").len(), 64, "{s:#}");
        assert!(!text(s, "/metadata/creationTimestamp").is_empty(), "{s:#}");
    }
    // The creation time is the snapshot's time, as restic reports it (to the second).
    let restic_snaps = l.restic_snapshots();
    for s in items {
        let r = restic_snaps
            .iter()
            .find(|r| r["id"] == s["metadata"]["uid"])
            .unwrap();
        let t = |v: &str| chrono::DateTime::parse_from_rfc3339(v).unwrap().timestamp();
        assert_eq!(
            t(&text(s, "/metadata/creationTimestamp")),
            t(&text(r, "/time")),
            "{s:#}\n{r:#}"
        );
    }

    // By host alone: both repositories' host-0 snapshots; `broken` is reported, the others are
    // listed, the exit code says something failed.
    let (names, stderr) = stash_fails(
        &l,
        &["get", "snapshots", "-l", "hostname=host-0", "-o", "name"],
    );
    let mut want: Vec<String> = repo_host0
        .iter()
        .map(|id| format!("snapshot.repositories.stash.appscode.com/repo-{}", &id[..8]))
        .chain(std::iter::once(format!(
            "snapshot.repositories.stash.appscode.com/other-{}",
            &other_ids[0][..8]
        )))
        .collect();
    want.sort();
    let mut got: Vec<String> = names.lines().map(String::from).collect();
    got.sort();
    assert_eq!(got, want);
    assert!(
        stderr.contains("Repository demo/broken") && stderr.contains("wrong password"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD) && !stderr.contains("not-the-password"));

    // The table: Stash's columns, one row per snapshot of repo and other.
    let (table, _) = stash_fails(&l, &["get", "snapshots"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "ID", "REPOSITORY", "HOSTNAME", "CREATED", "AT"],
        "{table}"
    );
    assert_eq!(lines.len(), 1 + 4, "{table}");
    let row = lines
        .iter()
        .find(|r| r.starts_with(&format!("other-{}", &other_ids[0][..8])))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1], &other_ids[0][..8]);
    assert_eq!(cells[2..4], ["other", "host-0"]);

    // One by name.
    let gone = &repo_host0[0];
    let name = format!("repo-{}", &gone[..8]);
    let one: Value =
        serde_saphyr::from_str(&stash_ok(&l, &["get", "snapshot", &name, "-o", "yaml"])).unwrap();
    assert_eq!(text(&one, "/metadata/uid"), *gone, "{one:#}");
    assert_eq!(text(&one, "/kind"), "Snapshot");
    // Its size, as restic counts a restore of it.
    let stats: Value = serde_json::from_slice(
        &restic(
            &l.repo,
            &["stats", "--mode", "restore-size", "--json", gone],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(
        one["status"]["size"]["totalBytes"], stats["total_size"],
        "{one:#}"
    );
    assert_eq!(
        one["status"]["size"]["fileCount"], stats["total_file_count"],
        "{one:#}"
    );
    assert!(!text(&one, "/status/size/total").is_empty());

    // Deleted: restic no longer has it, the repository checks clean, the others remain, and
    // the Repository's status counts them.
    let printed = stash_ok(&l, &["delete", "snapshot", &name]);
    assert_eq!(
        printed.trim(),
        format!("snapshot.repositories.stash.appscode.com \"{name}\" deleted")
    );
    let left = restic_ids(&l.repo, None);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(gone));
    assert!(left.contains(&repo_host0[1]));
    restic(&l.repo, &["check", "--read-data"]);
    assert_eq!(restic_ids(&other, None), other_ids, "other is untouched");
    let r = l.get("Repository", "repo").unwrap();
    assert_eq!(r["status"]["snapshotCount"], 2, "{r:#}");
    assert!(!text(&r, "/status/totalSize").is_empty(), "{r:#}");
    let (_, stderr) = stash_fails(&l, &["get", "snapshot", &name]);
    assert!(
        stderr.starts_with("Error from server (NotFound): Snapshot demo/")
            && stderr.contains(&format!(
                "has no snapshot whose id starts with {}",
                &gone[..8]
            )),
        "{stderr}"
    );
    let (_, stderr) = stash_fails(&l, &["delete", "snapshot", &name]);
    assert!(stderr.contains("Error from server (NotFound)"), "{stderr}");
    assert_eq!(restic_ids(&l.repo, None), left);
}

/// Names that are not a Snapshot's, Repositories that do not exist or hold no repository
/// yet, and kinds `delete` does not delete: each a clear error naming what is wrong.
#[test]
fn snapshot_names_that_name_nothing_are_clear_errors() {
    let l = Local::new();
    // No configuration: the run only files the Repository; its backend stays empty.
    assert_ok(&l.run_once());
    assert!(l.get("Repository", "repo").is_some());

    for args in [
        ["get", "snapshot", "repo-nightly1"],
        ["delete", "snapshot", "repo"],
    ] {
        let (_, stderr) = stash_fails(&l, &args);
        assert!(
            stderr.starts_with("Error from server (BadRequest): ")
                && stderr.contains("is not a Snapshot name: a Snapshot is named <repository>-<first 8 hex characters of its restic id>"),
            "{args:?}: {stderr}"
        );
    }
    let (_, stderr) = stash_fails(&l, &["get", "snapshot", "nosuch-0a1b2c3d"]);
    assert_eq!(
        stderr.trim(),
        "Error from server (NotFound): Snapshot demo/nosuch-0a1b2c3d: its Repository demo/nosuch not found"
    );
    // The Repository exists, but no backup has made its repository: no such snapshot.
    let (_, stderr) = stash_fails(&l, &["delete", "snapshot", "repo-0a1b2c3d"]);
    assert_eq!(
        stderr.trim(),
        "Error from server (NotFound): Snapshot demo/repo-0a1b2c3d not found: Repository demo/repo has no snapshot whose id starts with 0a1b2c3d"
    );
    let out = l
        .stash(&["get", "snapshots", "-n", "demo"])
        .output()
        .unwrap();
    let (stdout, stderr) = out_text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        (stdout.as_str(), stderr.trim()),
        ("", "No resources found in demo namespace.")
    );

    let (_, stderr) = stash_fails(&l, &["delete", "backupconfiguration", "x"]);
    assert!(stderr.contains("deletes Snapshots only"), "{stderr}");
    let out = l
        .stash(&["get", "snapshots", "-n", "demo"])
        .env_remove("STASH_MANIFESTS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        out_text(&out).1.contains("pass --manifests DIR"),
        "{:?}",
        out
    );
}

/// While a backup holds its (shared) lock, `stash delete snapshot` waits for it, as retention
/// does, and deletes once it is released. The repository is made by restic itself; `stash run`
/// only files the Repository.
#[test]
fn delete_waits_while_a_backup_holds_the_lock() {
    use stash::engine::lock::Lock;
    use stash::engine::{RepoOptions, Repository};
    use stash::storage::{open_location, Location};

    let l = Local::new();
    let data = l.folder("data");
    std::fs::create_dir_all(&data).unwrap();
    restic(&l.repo, &["init"]);
    for i in 0..2 {
        std::fs::write(data.join("f.txt"), format!("version {i}\n")).unwrap();
        let d = data.to_str().unwrap();
        restic(&l.repo, &["backup", "--host", "host-0", d]);
    }
    assert_ok(&l.run_once());
    let ids = restic_ids(&l.repo, None);
    assert_eq!(ids.len(), 2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backup_lock = rt.block_on(async {
        let b = open_location(&Location::Local(l.repo.clone())).unwrap();
        let repo = Repository::open(b, PASSWORD, RepoOptions::default())
            .await
            .unwrap();
        Lock::acquire(std::sync::Arc::new(repo), false)
            .await
            .unwrap()
    });
    let name = format!("repo-{}", &ids[0][..8]);
    let mut delete = l
        .stash(&["delete", "snapshot", &name, "-n", "demo"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        delete.try_wait().unwrap().is_none(),
        "delete must wait for the lock"
    );
    let still = restic(&l.repo, &["snapshots", "--json", "--no-lock"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&still.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2,
        "nothing is removed while the backup holds its lock"
    );
    rt.block_on(backup_lock.release());
    let out = delete.wait_with_output().unwrap();
    let (stdout, stderr) = out_text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains(&format!("\"{name}\" deleted")), "{stdout}");
    assert!(
        stderr.contains("Repository demo/repo is in use (repository is already locked by PID")
            && stderr.contains("waiting up to 600s for its lock"),
        "{stderr}"
    );
    assert_eq!(restic_ids(&l.repo, None), [ids[1].clone()]);
    restic(&l.repo, &["check", "--read-data"]);
    assert_eq!(
        l.get("Repository", "repo").unwrap()["status"]["snapshotCount"],
        1
    );
}
