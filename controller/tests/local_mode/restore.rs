//! RestoreSessions refused at admission (check 27).
use super::fixtures::*;

/// A RestoreSession `name` of the AppBinding `pg-dst` with `rules` (YAML at the depth of the
/// list's items).
fn pg_restore(name: &str, rules: &str) -> String {
    PG_RESTORE
        .replace("name: pg-restore", &format!("name: {name}"))
        .replace("    - snapshots: [latest]\n", rules)
}

/// Check 27: two rules with empty `targetHosts`, or a rule with both `snapshots` and `paths`,
/// and the RestoreSession is refused: reported with its file, kind, name and field, never
/// stored, and `--once` fails. A valid RestoreSession beside them is admitted.
#[test]
fn check_27_invalid_restore_rules_are_rejected() {
    let l = Local::new();
    let dst = PgDb::create("stash_lm_rules");
    l.pg_appbinding("pg-dst", &dst);
    l.write(
        "two-defaults.yaml",
        &pg_restore(
            "two-defaults",
            "    - snapshots: [latest]\n    - paths: [/dumpfile.sql]\n",
        ),
    );
    l.write(
        "both.yaml",
        &pg_restore(
            "both",
            "    - {targetHosts: [host-0], snapshots: [latest], paths: [/dumpfile.sql]}\n",
        ),
    );
    l.write(
        "fine.yaml",
        &pg_restore(
            "fine",
            "    - {targetHosts: [host-0], snapshots: [latest]}\n",
        ),
    );
    let out = l.run_once();
    assert!(!out.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "two-defaults.yaml: RestoreSession/two-defaults: spec.target.rules: 2 rules found with empty targetHosts",
        "both.yaml: RestoreSession/both: spec.target.rules[0]: both 'snapshots' and 'paths' fields are specified",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
    assert!(l.get("RestoreSession", "two-defaults").is_none());
    assert!(l.get("RestoreSession", "both").is_none());
    assert!(l.get("RestoreSession", "fine").is_some());
}

/// Restore hooks around a restore: the pre-restore hook sees the empty target database, the
/// post-restore hook runs after it with the restore's summary, and both conditions are True.
#[test]
fn restore_hooks_run_before_and_after_the_restore() {
    let l = Local::new();
    let (src, dst) = (
        PgDb::create("stash_lm_rhsrc"),
        PgDb::create("stash_lm_rhdst"),
    );
    fill(&src);
    l.pg_appbinding("pg-src", &src);
    l.pg_appbinding("pg-dst", &dst);
    l.write("backup.yaml", &pg_backup("0 3 * * *", 5, 5));
    let (pre, post) = (l.folder("pre-restore.txt"), l.folder("post-restore.txt"));
    let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'";
    l.write(
        "restore.yaml",
        &PG_RESTORE.replace(
            "  repository: {name: repo}\n",
            &format!(
                "  repository: {{name: repo}}\n  hooks:\n    preRestore:\n      exec:\n\
                 \x20       command: [psql, -X, -At, -h, 127.0.0.1, -U, postgres, -d, {db}, -o, {pre}, -c, \"{tables}\"]\n\
                 \x20   postRestore:\n      executionPolicy: OnSuccess\n      exec:\n\
                 \x20       command: [sh, -c, 'echo {{{{ .Status.Phase }}}} {{{{ .Invoker.Kind }}}} > {post}']\n",
                db = dst.0,
                pre = pre.display(),
                post = post.display()
            ),
        ),
    );
    assert_ok(&l.run_once());
    let rs = l.get("RestoreSession", "pg-restore").unwrap();
    assert_eq!(text(&rs, "/status/phase"), "Succeeded", "{rs:#}");
    for ty in [
        "PreRestoreHookExecutionSucceeded",
        "PostRestoreHookExecutionSucceeded",
    ] {
        let (status, _) = condition(&rs["status"]["conditions"], ty).unwrap();
        assert_eq!(status, "True", "{ty}: {rs:#}");
    }
    assert_eq!(std::fs::read_to_string(&pre).unwrap().trim(), "0");
    assert_eq!(
        std::fs::read_to_string(&post).unwrap(),
        "Succeeded RestoreSession\n"
    );
    assert_eq!(src.dump(), dst.dump());
}

/// Checks 9 and 28: a 3-replica StatefulSet, each pod's `/data` on a claim of its own
/// (`data-db-<ordinal>`, bound to a host folder). The backup has three hosts, `host-0` to
/// `host-2`, each with its snapshot, and runs retention and the check once. The restore with
/// rules `[{targetHosts: [host-1], sourceHost: host-0}, {}]` gives host-1 host-0's files and
/// host-0 and host-2 their own.
#[test]
fn check_09_28_statefulset_replicas_back_up_and_restore_by_rules() {
    let l = Local::new();
    l.mount_repository_in_pods();
    let folder = |i: usize| l.folder(&format!("db-{i}"));
    let mut volumes = String::new();
    for i in 0..3 {
        stash_integration::data::make_tree(&folder(i), 20 + i as u64);
        std::fs::write(folder(i).join("whoami.txt"), format!("pod {i}\n")).unwrap();
        volumes.push_str(&claim_on_host(&format!("data-db-{i}"), &folder(i)));
        volumes.push_str("---\n");
    }
    l.write("volumes.yaml", &volumes);
    l.write(
        "db.yaml",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: demo}\n\
         spec:\n  replicas: 3\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec:\n\
         \x20     containers:\n      - name: db\n        image: busybox\n        volumeMounts: [{name: data, mountPath: /data}]\n\
         \x20 volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
    );
    l.write(
        "backup.yaml",
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {name: db-backup, namespace: demo}\n\
         spec:\n  schedule: '0 3 * * *'\n  repository: {name: repo}\n\
         \x20 target:\n    ref: {apiVersion: apps/v1, kind: StatefulSet, name: db}\n    paths: [/data]\n\
         \x20 retentionPolicy: {name: keep, keepLast: 5, prune: true}\n",
    );
    assert_ok(&l.run_once());
    let s = succeeded_session(&l);
    let target = &s["status"]["targets"][0];
    assert_eq!(target["totalHosts"], 3, "{s:#}");
    let mut hosts: Vec<String> = target["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| text(h, "/hostname"))
        .collect();
    hosts.sort();
    assert_eq!(hosts, ["host-0", "host-1", "host-2"]);
    let mut snapshot_hosts: Vec<String> = l
        .restic_snapshots()
        .iter()
        .map(|s| text(s, "/hostname"))
        .collect();
    snapshot_hosts.sort();
    assert_eq!(snapshot_hosts, hosts);
    let applied: Vec<_> = s["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "RetentionPolicyApplied")
        .collect();
    assert_eq!(applied.len(), 1, "{s:#}");
    let repo = l.get("Repository", "repo").unwrap();
    assert_eq!(repo["status"]["snapshotCount"], 3, "{repo:#}");

    // Every pod's files are lost (a copy keeps them, times and all); the restore brings back
    // what the rules say.
    let originals = l.folder("originals");
    std::fs::create_dir_all(&originals).unwrap();
    for i in 0..3 {
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(folder(i))
            .arg(originals.join(i.to_string()))
            .status()
            .unwrap();
        assert!(copied.success());
        std::fs::remove_dir_all(folder(i)).unwrap();
        std::fs::create_dir_all(folder(i)).unwrap();
    }
    l.write(
        "restore.yaml",
        "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {name: db-restore, namespace: demo}\n\
         spec:\n  repository: {name: repo}\n\
         \x20 target:\n    ref: {apiVersion: apps/v1, kind: StatefulSet, name: db}\n\
         \x20   rules:\n    - {targetHosts: [host-1], sourceHost: host-0}\n    - {}\n",
    );
    assert_ok(&l.run_once());
    let rs = l.get("RestoreSession", "db-restore").unwrap();
    assert_eq!(text(&rs, "/status/phase"), "Succeeded", "{rs:#}");
    assert_eq!(rs["status"]["totalHosts"], 3, "{rs:#}");
    for (pod, source) in [(0, 0), (1, 0), (2, 2)] {
        stash_integration::treehash::assert_same(&originals.join(source.to_string()), &folder(pod));
    }
    assert_eq!(
        std::fs::read_to_string(folder(1).join("whoami.txt")).unwrap(),
        "pod 0\n"
    );
}
