//! `stash get`, `describe`, `trigger`, `pause` and `resume` as users run them, over a state
//! folder written here through the store as `stash run` and its steps would have written it.
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use serde_json::{json, Value};
use stash_controller::clock::SystemClock;
use stash_controller::store::{Event, EventType, LocalStore, ObjRef, ObjectStore};

fn stash(state: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stash"));
    c.args(args)
        .arg("--state")
        .arg(state)
        .env_remove("STASH_STATE")
        .env_remove("STASH_MANIFESTS");
    c
}

fn ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{c:?}: {out:?}");
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The whitespace-separated cells of each line of a table.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

async fn put(store: &LocalStore, obj: Value, status: Value) -> ObjRef {
    let created = store.create_raw(obj).await.unwrap();
    let r = ObjRef::of_value(&created).unwrap();
    if !status.is_null() {
        store.replace_status_raw(&r, None, status).await.unwrap();
    }
    r
}

fn bc(name: &str, namespace: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupConfiguration",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "repository": {"name": "gcs"},
            "schedule": "*/5 * * * *",
            "task": {"name": "postgres-backup-16"},
            "target": {"ref": {"apiVersion": "appcatalog.appscode.com/v1alpha1", "kind": "AppBinding", "name": "pg"}},
            "retentionPolicy": {"name": "keep-last-5", "keepLast": 5, "prune": true},
        },
    })
}

const SESSION: &str = "nightly-1772366400";

/// A Repository, two BackupConfigurations (one in another namespace), a finished
/// BackupSession with host results and events.
async fn seed(state: &Path) -> LocalStore {
    let store = LocalStore::open(state, Vec::new(), Arc::new(SystemClock))
        .await
        .unwrap();
    put(
        &store,
        json!({
            "apiVersion": "stash.appscode.com/v1alpha1", "kind": "Repository",
            "metadata": {"name": "gcs", "namespace": "demo"},
            "spec": {"backend": {"storageSecretName": "gcs-secret", "local": {"mountPath": "/backup"}}},
        }),
        json!({"integrity": true, "totalSize": "1.2 MiB", "snapshotCount": 3, "lastBackupTime": "2026-03-01T12:00:00Z"}),
    )
    .await;
    let condition = |t: &str, reason: &str, message: &str| {
        json!({"type": t, "status": "True", "reason": reason, "message": message,
               "lastTransitionTime": "2026-03-01T12:00:00Z"})
    };
    put(
        &store,
        bc("nightly", "demo", json!({"app": "pg"})),
        json!({"phase": "Ready", "observedGeneration": 1, "conditions": [
            condition("RepositoryFound", "RepositoryAvailable", "Repository demo/gcs exist."),
            condition("CronJobCreated", "CronJobCreationSucceeded", "Successfully created backup triggering CronJob."),
        ]}),
    )
    .await;
    put(
        &store,
        bc("weekly", "other", json!({"app": "mysql"})),
        Value::Null,
    )
    .await;
    let session = put(
        &store,
        json!({
            "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupSession",
            "metadata": {"name": SESSION, "namespace": "demo",
                         "labels": {"stash.appscode.com/invoker-name": "nightly"}},
            "spec": {"invoker": {"apiGroup": "stash.appscode.com", "kind": "BackupConfiguration", "name": "nightly"}, "retryLeft": 0},
        }),
        json!({
            "phase": "Succeeded", "sessionDuration": "41s",
            "conditions": [condition("MetricsPushed", "SuccessfullyPushedMetrics", "Successfully pushed metrics.")],
            "targets": [{
                "ref": {"apiVersion": "appcatalog.appscode.com/v1alpha1", "kind": "AppBinding", "name": "pg", "namespace": "demo"},
                "totalHosts": 1, "phase": "Succeeded",
                "stats": [{"hostname": "host-0", "phase": "Succeeded", "duration": "12.5s",
                           "snapshots": [{"name": "8f2c91ab", "path": "/dumpfile.sql", "totalSize": "3.036 MiB"}]}],
            }],
        }),
    )
    .await;
    store
        .record_event(Event {
            object: session,
            type_: EventType::Normal,
            reason: "Host Backup Succeeded".into(),
            message: "backup succeeded for host \"host-0\" of \"AppBinding\"/\"pg\"".into(),
            source: "Status Updater".into(),
            time: chrono::Utc::now() - chrono::Duration::minutes(10),
        })
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn get_prints_stashs_columns_and_the_objects_as_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let store = seed(&state).await;

    let t = rows(&ok(&mut stash(&state, &["get", "bc", "-n", "demo"])));
    assert_eq!(t[0], ["NAME", "TASK", "SCHEDULE", "PAUSED", "PHASE", "AGE"]);
    assert_eq!(
        t[1][..8],
        [
            "nightly",
            "postgres-backup-16",
            "*/5",
            "*",
            "*",
            "*",
            "*",
            "Ready"
        ]
    );
    assert_eq!(t.len(), 2);
    let t = rows(&ok(&mut stash(
        &state,
        &["get", "repositories", "-n", "demo"],
    )));
    assert_eq!(
        t[0],
        [
            "NAME",
            "INTEGRITY",
            "SIZE",
            "SNAPSHOT-COUNT",
            "LAST-SUCCESSFUL-BACKUP",
            "AGE"
        ]
    );
    assert_eq!(t[1][..5], ["gcs", "true", "1.2", "MiB", "3"]);
    let t = rows(&ok(&mut stash(
        &state,
        &["get", "bs", "--namespace", "demo"],
    )));
    assert_eq!(
        t[0],
        [
            "NAME",
            "INVOKER-TYPE",
            "INVOKER-NAME",
            "PHASE",
            "DURATION",
            "AGE"
        ]
    );
    assert_eq!(
        t[1][..5],
        [
            SESSION,
            "BackupConfiguration",
            "nightly",
            "Succeeded",
            "41s"
        ]
    );
    // -o wide: Stash's CRDs have no extra columns.
    assert_eq!(
        rows(&ok(&mut stash(
            &state,
            &["get", "bs", "-n", "demo", "-o", "wide"]
        )))[0]
            .len(),
        6
    );

    // All namespaces, and a label selector.
    let t = rows(&ok(&mut stash(
        &state,
        &["get", "backupconfigurations", "-A"],
    )));
    assert_eq!(t[0][..2], ["NAMESPACE", "NAME"]);
    assert_eq!(
        (t[1][..2].to_vec(), t[2][..2].to_vec()),
        (
            vec!["demo".to_string(), "nightly".into()],
            vec!["other".to_string(), "weekly".into()]
        )
    );
    let t = rows(&ok(&mut stash(
        &state,
        &["get", "bc", "-A", "-l", "app!=pg"],
    )));
    assert_eq!(t.len(), 2);
    assert_eq!(t[1][..2], ["other", "weekly"]);
    assert_eq!(ok(&mut stash(&state, &["get", "bc", "-A", "-o", "name"])), "backupconfiguration.stash.appscode.com/nightly\nbackupconfiguration.stash.appscode.com/weekly\n");

    // Several kinds at once, and TYPE/NAME, as kubectl takes them.
    let text = ok(&mut stash(&state, &["get", "bc,bs", "-n", "demo"]));
    let t = rows(&text);
    assert_eq!(
        t[1][0], "backupconfiguration.stash.appscode.com/nightly",
        "{text}"
    );
    assert!(t[2].is_empty() && t[3][0] == "NAME", "{text}");
    assert_eq!(
        t[4][0],
        format!("backupsession.stash.appscode.com/{SESSION}"),
        "{text}"
    );
    let text = ok(&mut stash(
        &state,
        &["get", "all", "-n", "demo", "-o", "name"],
    ));
    assert_eq!(text, format!("backupconfiguration.stash.appscode.com/nightly\nbackupsession.stash.appscode.com/{SESSION}\n"));
    let one: Value = serde_json::from_str(&ok(&mut stash(
        &state,
        &["get", "bc/nightly", "-n", "demo", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(one["metadata"]["name"], "nightly");

    // -o json / -o yaml give back the stored object; a list is a List.
    let r = ObjRef::of_value(&json!({"apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupSession", "metadata": {"name": SESSION, "namespace": "demo"}})).unwrap();
    let stored = store.get_raw(&r).await.unwrap().unwrap();
    let one: Value = serde_json::from_str(&ok(&mut stash(
        &state,
        &["get", "backupsession", SESSION, "-n", "demo", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(one, stored);
    let yaml = ok(&mut stash(
        &state,
        &["get", "backupsession", SESSION, "-n", "demo", "-o", "yaml"],
    ));
    assert_eq!(
        serde_saphyr::from_str::<Value>(&yaml).unwrap(),
        stored,
        "{yaml}"
    );
    let all: Value = serde_json::from_str(&ok(&mut stash(
        &state,
        &["get", "bs", "-n", "demo", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(
        (all["apiVersion"].as_str(), all["kind"].as_str()),
        (Some("v1"), Some("List"))
    );
    assert_eq!(all["items"], json!([stored]));
    let none: Value = serde_json::from_str(&ok(&mut stash(
        &state,
        &["get", "bs", "-n", "elsewhere", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(none["items"], json!([]));

    // Nothing there, something missing, a kind nobody serves.
    let out = stash(&state, &["get", "bs", "-n", "elsewhere"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        (out.stdout.len(), stderr(&out).as_str()),
        (0, "No resources found in elsewhere namespace.\n")
    );
    let out = fails(&mut stash(
        &state,
        &["get", "backupsessions", "nope", "-n", "demo"],
    ));
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): backupsessions.stash.appscode.com \"nope\" not found\n"
    );
    assert!(out.stdout.is_empty());
    // Some found, some not: the found ones print, the others are errors.
    let out = fails(&mut stash(
        &state,
        &["get", "bc", "nightly", "nope", "-n", "demo"],
    ));
    assert_eq!(rows(&String::from_utf8_lossy(&out.stdout))[1][0], "nightly");
    assert_eq!(stderr(&out), "Error from server (NotFound): backupconfigurations.stash.appscode.com \"nope\" not found\n");
    let out = fails(&mut stash(&state, &["get", "widgets"]));
    assert_eq!(
        stderr(&out),
        "error: the server doesn't have a resource type \"widgets\"\n"
    );
    // A state folder that holds no state is named, not read as an empty cluster.
    let out = fails(&mut stash(&tmp.path().join("nothing"), &["get", "bc"]));
    assert!(
        stderr(&out).contains("no state in ") && stderr(&out).contains("stash run"),
        "{}",
        stderr(&out)
    );
    assert!(
        !tmp.path().join("nothing").exists(),
        "a read must not create a state folder"
    );
}

#[tokio::test]
async fn describe_shows_fields_conditions_hosts_and_events() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let _store = seed(&state).await;

    let text = ok(&mut stash(
        &state,
        &["describe", "bs", SESSION, "-n", "demo"],
    ));
    let has = |s: &str| assert!(text.contains(s), "missing {s:?} in\n{text}");
    has("Name:");
    has("Kind:                BackupSession\n");
    has("Labels:              stash.appscode.com/invoker-name=nightly\n");
    has("\nSpec:\n  Invoker:\n    API Group:  stash.appscode.com\n");
    has("\nStatus:\n  Phase:             Succeeded\n  Session Duration:  41s\n");
    has("\nConditions:\n  Type           Status  Reason                     Last Transition  Message\n");
    has("  MetricsPushed  True    SuccessfullyPushedMetrics  ");
    has("\nTargets:\n  AppBinding demo/pg:\n    Phase:        Succeeded\n    Total Hosts:  1\n    Hosts:\n      Hostname  Phase      Duration  Snapshots                           Error\n");
    has("      host-0    Succeeded  12.5s     8f2c91ab /dumpfile.sql (3.036 MiB)  \n");
    has("\nEvents:\n  Type    Reason                 Age  From            Message\n");
    has("  Normal  Host Backup Succeeded  10m  Status Updater  backup succeeded for host \"host-0\" of \"AppBinding\"/\"pg\"\n");

    // A name prefix describes what it matches; the configuration's conditions and no events.
    let text = ok(&mut stash(&state, &["describe", "bc/night", "-n", "demo"]));
    assert!(text.starts_with("Name:"), "{text}");
    assert!(text.contains("  Retention Policy:\n    Keep Last:  5\n    Name:       keep-last-5\n    Prune:      true\n"), "{text}");
    assert!(
        text.contains("  RepositoryFound  True    RepositoryAvailable       "),
        "{text}"
    );
    assert!(text.ends_with("Events:  <none>\n"), "{text}");
    let out = fails(&mut stash(
        &state,
        &["describe", "restoresession", "nope", "-n", "demo"],
    ));
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): restoresessions.stash.appscode.com \"nope\" not found\n"
    );

    // A Secret, from the manifests: key names and sizes, never values.
    let manifests = tmp.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::write(
        manifests.join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gcs-secret\n  namespace: demo\nstringData:\n  RESTIC_PASSWORD: not-for-your-eyes\n",
    )
    .unwrap();
    let text = ok(
        stash(&state, &["describe", "secret", "gcs-secret", "-n", "demo"])
            .arg("--manifests")
            .arg(&manifests),
    );
    assert!(
        text.ends_with("Data\n====\nRESTIC_PASSWORD:  17 bytes\n"),
        "{text}"
    );
    assert!(!text.contains("not-for-your-eyes"), "{text}");
    let t = rows(&ok(stash(&state, &["get", "secrets", "-n", "demo"])
        .arg("--manifests")
        .arg(&manifests)));
    assert_eq!(t[1][..3], ["gcs-secret", "Opaque", "1"]);
    let out = fails(
        stash(
            &state,
            &["get", "secret", "gcs-secret", "-n", "demo", "-o", "yaml"],
        )
        .arg("--manifests")
        .arg(&manifests),
    );
    assert!(!stderr(&out).contains("not-for-your-eyes") && out.stdout.is_empty());
    let out = fails(&mut stash(
        &state,
        &["describe", "secret", "gcs-secret", "-n", "demo"],
    ));
    assert!(
        stderr(&out).contains("pass --manifests DIR"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn trigger_pause_and_resume_write_the_state() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let store = seed(&state).await;
    let bc_kind = |name: &str| {
        ObjRef::of_value(&json!({"apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupConfiguration", "metadata": {"name": name, "namespace": "demo"}})).unwrap()
    };

    // trigger: a new BackupSession, named from the configuration, owned by it.
    let out = ok(&mut stash(&state, &["trigger", "nightly", "-n", "demo"]));
    let name = out
        .strip_prefix("backupsession.stash.appscode.com/")
        .and_then(|s| s.strip_suffix(" created\n"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(name.starts_with("nightly-") && name != SESSION, "{name}");
    let r = ObjRef::new(ObjRef::of_value(&json!({"apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupSession", "metadata": {"name": name}})).unwrap().kind, "demo", name);
    let session = store
        .get_raw(&r)
        .await
        .unwrap()
        .expect("the triggered session is stored");
    assert_eq!(
        session["spec"]["invoker"],
        json!({"apiGroup": "stash.appscode.com", "kind": "BackupConfiguration", "name": "nightly"})
    );
    assert_eq!(
        session["metadata"]["labels"]["stash.appscode.com/invoker-name"],
        "nightly"
    );
    assert_eq!(
        session["metadata"]["labels"]["app"], "pg",
        "the invoker's own labels are carried"
    );
    assert_eq!(session["metadata"]["ownerReferences"][0]["name"], "nightly");
    let listed = rows(&ok(&mut stash(
        &state,
        &[
            "get",
            "bs",
            "-n",
            "demo",
            "-l",
            "stash.appscode.com/invoker-name=nightly",
        ],
    )));
    assert_eq!(listed.len(), 3, "{listed:?}");
    let out = fails(&mut stash(&state, &["trigger", "missing", "-n", "demo"]));
    assert_eq!(stderr(&out), "Error from server (NotFound): backupconfigurations.stash.appscode.com \"missing\" not found\n");
    let out = fails(&mut stash(
        &state,
        &["trigger", "backupbatch/nightly", "-n", "demo"],
    ));
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): backupbatches.stash.appscode.com \"nightly\" not found\n",
        "a BackupBatch is triggered like a configuration"
    );
    let out = fails(&mut stash(
        &state,
        &["trigger", "restoresession/nightly", "-n", "demo"],
    ));
    assert_eq!(
        stderr(&out),
        "error: trigger takes a BackupConfiguration or a BackupBatch, not a RestoreSession\n"
    );

    // pause / resume: spec.paused, seen by get; nothing else of the spec changes.
    let before = store.get_raw(&bc_kind("nightly")).await.unwrap().unwrap();
    assert_eq!(
        ok(&mut stash(&state, &["pause", "nightly", "-n", "demo"])),
        "backupconfiguration.stash.appscode.com/nightly paused\n"
    );
    let paused = store.get_raw(&bc_kind("nightly")).await.unwrap().unwrap();
    assert_eq!(paused["spec"]["paused"], true);
    let mut expect = before["spec"].clone();
    expect["paused"] = json!(true);
    assert_eq!(paused["spec"], expect);
    assert_eq!(paused["status"], before["status"]);
    assert_eq!(
        rows(&ok(&mut stash(
            &state,
            &["get", "bc", "nightly", "-n", "demo"]
        )))[1][7],
        "true"
    );
    assert_eq!(
        ok(&mut stash(&state, &["resume", "bc/nightly", "-n", "demo"])),
        "backupconfiguration.stash.appscode.com/nightly resumed\n"
    );
    assert_eq!(
        store.get_raw(&bc_kind("nightly")).await.unwrap().unwrap()["spec"]["paused"],
        false
    );
    let out = fails(&mut stash(
        &state,
        &["pause", "backupbatch/all", "-n", "demo"],
    ));
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): backupbatches.stash.appscode.com \"all\" not found\n"
    );
    let out = fails(&mut stash(&state, &["pause", "nightly"]));
    assert_eq!(stderr(&out), "Error from server (NotFound): backupconfigurations.stash.appscode.com \"nightly\" not found\n", "-n defaults to default");
}
