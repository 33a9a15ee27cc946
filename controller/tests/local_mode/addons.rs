//! The database addons as sessions run them: a database that never comes up, credentials
//! through an AppBinding's secret transforms, the Task's `args` parameter (checks 24–26).
use stash_integration::restic::restic;

use super::fixtures::*;

/// Check 24: a database that does not answer within `waitTimeout` fails the backup with the
/// wait error, recorded as the host's failure, so the session ends Failed.
#[test]
fn check_24_unreachable_database_fails_after_wait_timeout() {
    let l = Local::new();
    let src = PgDb::create("stash_lm_unreach");
    l.pg_appbinding("pg-src", &src);
    let ab = std::fs::read_to_string(l.manifests.join("pg-src.yaml")).unwrap();
    // Port 1: nothing listens there.
    l.write("pg-src.yaml", &ab.replace("127.0.0.1:5432", "127.0.0.1:1"));
    l.write(
        "backup.yaml",
        &pg_backup("0 3 * * *", 5, 5).replace(
            "    - {name: backupCMD, value: pg_dump}\n",
            "    - {name: backupCMD, value: pg_dump}\n    - {name: waitTimeout, value: '3'}\n",
        ),
    );
    let out = l.run_once();
    assert!(!out.status.success());
    let s = &l.list("BackupSession")[0];
    assert_eq!(text(s, "/status/phase"), "Failed", "{s:#}");
    let host = &s["status"]["targets"][0]["stats"][0];
    assert_eq!(text(host, "/hostname"), "host-0", "{s:#}");
    assert_eq!(text(host, "/phase"), "Failed", "{s:#}");
    let error = text(host, "/error");
    assert!(
        error.contains("127.0.0.1:1") && error.contains("not ready within the wait timeout of 3s"),
        "{error}"
    );
}

/// Checks 25 and 26: a MariaDB AppBinding whose Secret names the user `user` resolves it
/// through `secretTransforms: renameKey`; `params: args: --databases <db>` replaces the
/// catalog's `--all-databases`, so the dump holds that database and no other.
#[test]
fn check_25_26_rename_key_transform_and_args_param() {
    let l = Local::new();
    let db = unique("stash_lm_args");
    mariadb(
        "mysql",
        &format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}"),
    );
    mariadb(
        &db,
        "CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(40)); INSERT INTO items VALUES (1, 'one'), (2, 'two');",
    );
    l.write(
        "maria.yaml",
        "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata: {name: maria, namespace: demo}\n\
         spec:\n  type: kubedb.com/mariadb\n  clientConfig:\n    url: mysql://127.0.0.1:3306/\n\
         \x20 secret: {name: maria-auth}\n  secretTransforms:\n  - renameKey: {from: user, to: username}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {name: maria-auth, namespace: demo}\nstringData:\n  user: root\n  password: \"\"\n",
    );
    l.write(
        "backup.yaml",
        &format!(
            "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {{name: maria-backup, namespace: demo}}\n\
             spec:\n  schedule: '0 3 * * *'\n  task:\n    name: mariadb-backup-10.6.23\n    params:\n    - {{name: args, value: --databases {db}}}\n\
             \x20 repository: {{name: repo}}\n\
             \x20 target:\n    ref: {{apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: maria}}\n\
             \x20 retentionPolicy: {{name: keep, keepLast: 5, prune: true}}\n"
        ),
    );
    let out = l.run_once();
    mariadb("mysql", &format!("DROP DATABASE {db}"));
    assert_ok(&out);
    succeeded_session(&l);
    let dump = restic(&l.repo, &["dump", "latest", "/dumpfile.sql"]).stdout;
    let dump = String::from_utf8_lossy(&dump);
    assert!(dump.contains(&format!("USE `{db}`")), "{dump}");
    assert!(
        dump.contains("(1,'one')") && dump.contains("(2,'two')"),
        "{dump}"
    );
    assert!(
        !dump.contains("USE `mysql`"),
        "the catalog's --all-databases was used"
    );
}
