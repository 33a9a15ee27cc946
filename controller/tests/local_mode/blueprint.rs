//! Auto-backup (spec §5.4): an annotated target gets a Repository and a BackupConfiguration
//! from a BackupBlueprint; removing the annotation deletes the configuration and keeps the
//! Repository with its snapshots.
use std::path::Path;

use stash_integration::pgcluster::Pg;
use stash_integration::restic::restic;

use super::fixtures::*;

/// The Deployment `app` mounting claim `data` at `/data`, annotated (or not) for auto-backup.
fn deployment(annotated: bool) -> String {
    let annotations = if annotated {
        "  annotations:\n    stash.appscode.com/backup-blueprint: volume-blueprint\n\
         \x20   stash.appscode.com/target-paths: /data\n    stash.appscode.com/volume-mounts: data:/data\n"
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: demo\n{annotations}\
         spec:\n  selector: {{matchLabels: {{app: app}}}}\n  template:\n    metadata: {{labels: {{app: app}}}}\n    spec:\n\
         \x20     containers:\n      - name: app\n        image: busybox\n        volumeMounts: [{{name: data, mountPath: /data}}]\n\
         \x20     volumes:\n      - name: data\n        persistentVolumeClaim: {{claimName: data}}\n"
    )
}

/// Check 35: an annotated Deployment gets Repository and BackupConfiguration
/// `deployment-app`, `${TARGET_*}` substituted into the repository's path; its backup runs;
/// removing the annotation deletes the BackupConfiguration and keeps the Repository.
#[test]
fn check_35_blueprint_annotation_creates_backup_and_removing_it_keeps_the_repository() {
    let l = Local::new();
    std::fs::remove_file(l.manifests.join("repository.yaml")).unwrap();
    let pv = l.folder("pv");
    stash_integration::data::make_tree(&pv, 21);
    l.write("volume.yaml", &claim_on_host("data", &pv));
    l.write(
        "blueprint.yaml",
        &format!(
            "apiVersion: stash.appscode.com/v1beta1\nkind: BackupBlueprint\nmetadata: {{name: volume-blueprint}}\n\
             spec:\n  backend:\n    storageSecretName: repo-secret\n    local:\n      mountPath: /stash-backup/repository\n\
             \x20     hostPath: {{path: {}}}\n      subPath: ${{TARGET_NAMESPACE}}/${{TARGET_KIND}}/${{TARGET_NAME}}\n\
             \x20 schedule: '0 3 * * *'\n  retentionPolicy: {{name: keep, keepLast: 3, prune: true}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: repo-secret, namespace: demo}}\nstringData:\n  RESTIC_PASSWORD: {}\n",
            l.repo.display(),
            stash_integration::restic::PASSWORD
        ),
    );
    l.write("app.yaml", &deployment(true));
    assert_ok(&l.run_once());

    let bc = l.get("BackupConfiguration", "deployment-app").unwrap();
    assert_eq!(text(&bc, "/status/phase"), "Ready", "{bc:#}");
    assert_eq!(text(&bc, "/spec/target/ref/kind"), "Deployment");
    assert_eq!(bc["spec"]["target"]["paths"], serde_json::json!(["/data"]));
    let repo = l.get("Repository", "deployment-app").unwrap();
    assert_eq!(
        text(&repo, "/spec/backend/local/subPath"),
        "demo/deployment/app",
        "{repo:#}"
    );
    let s = succeeded_session(&l);
    assert_eq!(text(&s, "/spec/invoker/name"), "deployment-app");
    let data = l.repo.join("demo/deployment/app");
    let snaps = restic(&data, &["snapshots", "--json"]);
    let snaps: serde_json::Value = serde_json::from_slice(&snaps.stdout).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 1, "{snaps:#}");
    assert_eq!(snaps[0]["paths"], serde_json::json!(["/data"]));

    // The annotation goes: the configuration with it, the Repository and its data stay.
    l.write("app.yaml", &deployment(false));
    let run = l.start();
    l.wait_for("the BackupConfiguration deleted", 60, || {
        l.get("BackupConfiguration", "deployment-app").is_none()
    });
    drop(run);
    assert!(
        l.get("Repository", "deployment-app").is_some(),
        "the Repository is kept"
    );
    assert!(
        l.get("CronJob", "stash-trigger-deployment-app").is_none(),
        "the schedule is gone with it"
    );
    assert!(restic(&data, &["check"]).status.success());
}

/// examples/blueprint: the annotated AppBinding gets a working backup (`app-pg-blueprint`,
/// the Task of its PostgreSQL version, the annotation's schedule and task param), and the
/// dump restic holds restores to an identical database; without the annotation the
/// BackupConfiguration goes and the Repository stays.
#[test]
fn example_blueprint_runs_once() {
    let root = Path::new("/tmp/stash-examples/blueprint");
    let _ = std::fs::remove_dir_all(root);
    let pg = Pg::shared();
    for db in ["stash_blueprint", "stash_blueprint_restored"] {
        pg.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
        pg.psql("postgres", &format!("CREATE DATABASE {db}"));
    }
    let (src, dst) = (
        PgDb("stash_blueprint".into()),
        PgDb("stash_blueprint_restored".into()),
    );
    fill(&src);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/blueprint");
    let tmp = tempfile::tempdir().unwrap();
    let l = Local {
        manifests: tmp.path().join("manifests"),
        state: tmp.path().join("state"),
        repo: root.join("repo/demo/postgres/pg-blueprint"),
        tmp,
    };
    std::fs::create_dir_all(&l.manifests).unwrap();
    for f in ["backupblueprint.yaml", "appbinding.yaml"] {
        std::fs::copy(example.join(f), l.manifests.join(f)).unwrap();
    }
    assert_ok(&l.run_once());
    let bc = l.get("BackupConfiguration", "app-pg-blueprint").unwrap();
    assert_eq!(
        text(&bc, "/spec/schedule"),
        "0 * * * *",
        "the annotation's schedule"
    );
    assert_eq!(text(&bc, "/spec/task/name"), "postgres-backup-14.0");
    assert_eq!(text(&bc, "/spec/task/params/0/value"), "pg_dump");
    let s = succeeded_session(&l);
    assert_eq!(text(&s, "/spec/invoker/name"), "app-pg-blueprint");
    let restic = |args: &[&str]| restic_example(&l.repo, args);
    let snaps: serde_json::Value =
        serde_json::from_slice(&restic(&["snapshots", "--json"])).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 1, "{snaps:#?}");
    assert_eq!(snaps[0]["paths"], serde_json::json!(["/dumpfile.sql"]));
    let dump = restic(&["dump", "latest", "/dumpfile.sql"]);
    let mut load = psql("stash_blueprint_restored")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    load.stdin.take().unwrap().write_all(&dump).unwrap();
    assert!(load.wait().unwrap().success());
    assert_eq!(src.dump(), dst.dump());

    // The annotation removed from the example's AppBinding.
    let appbinding = std::fs::read_to_string(l.manifests.join("appbinding.yaml")).unwrap();
    let unannotated = appbinding.replace(
        "    stash.appscode.com/backup-blueprint: postgres-backup-blueprint\n",
        "",
    );
    assert_ne!(appbinding, unannotated);
    l.write("appbinding.yaml", &unannotated);
    let run = l.start();
    l.wait_for("the BackupConfiguration deleted", 60, || {
        l.get("BackupConfiguration", "app-pg-blueprint").is_none()
    });
    drop(run);
    assert!(l.get("Repository", "app-pg-blueprint").is_some());
    restic(&["check"]);
}
