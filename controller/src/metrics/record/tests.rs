//! Hand-built sessions and repositories in, the text format out: names, labels, values.
use serde_json::json;

use super::*;

/// The value of the one sample of `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let hits: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
            let rest = format!(",{rest}");
            (n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!(",{k}=\"{v}\""))))
            .then(|| value.parse().unwrap())
        })
        .collect();
    assert!(
        hits.len() <= 1,
        "{name} {labels:?} matches {hits:?} in\n{text}"
    );
    hits.first().copied()
}

fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn repository() -> Repository {
    from(json!({
        "apiVersion": "stash.appscode.com/v1alpha1", "kind": "Repository",
        "metadata": {"name": "repo", "namespace": "demo"},
        "spec": {"backend": {"storageSecretName": "s", "s3": {"endpoint": "http://s3", "bucket": "b", "prefix": "p/q"}}},
        "status": {"integrity": true, "totalSize": "1.500 KiB", "snapshotCount": 4, "snapshotsRemovedOnLastCleanup": 1}
    }))
}

fn app() -> AppBinding {
    from(json!({
        "apiVersion": "appcatalog.appscode.com/v1alpha1", "kind": "AppBinding",
        "metadata": {"name": "pg", "namespace": "demo"},
        "spec": {"type": "kubedb.com/postgres"}
    }))
}

fn invoker() -> Invoker {
    Invoker {
        kind: "BackupConfiguration".into(),
        name: "pg-backup".into(),
        namespace: "demo".into(),
        driver: "Restic".into(),
        repository: "repo".into(),
    }
}

fn session(phase: &str) -> BackupSession {
    from(json!({
        "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupSession",
        "metadata": {"name": "pg-backup-1", "namespace": "demo", "creationTimestamp": "2026-11-30T10:00:00Z"},
        "spec": {"invoker": {"apiGroup": "stash.appscode.com", "kind": "BackupConfiguration", "name": "pg-backup"}},
        "status": {
            "phase": phase, "sessionDuration": "1m2.5s",
            "targets": [
                {"ref": {"apiVersion": "appcatalog.appscode.com/v1alpha1", "kind": "AppBinding", "name": "pg"},
                 "totalHosts": 1,
                 "stats": [{"hostname": "host-0", "phase": "Succeeded", "duration": "12.5s",
                            "snapshots": [
                                {"name": "1a2b3c4d", "path": "/dumpfile.sql", "totalSize": "2.000 MiB", "uploaded": "512 B",
                                 "processingTime": "0:07", "fileStats": {"totalFiles": 1, "newFiles": 1, "modifiedFiles": 0, "unmodifiedFiles": 0}},
                                {"name": "5e6f7a8b", "path": "/extra", "totalSize": "1.000 MiB", "uploaded": "1.000 KiB",
                                 "processingTime": "1:01:00", "fileStats": {"totalFiles": 3, "newFiles": 0, "modifiedFiles": 1, "unmodifiedFiles": 2}}]}]},
                {"ref": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web"},
                 "totalHosts": 2,
                 "stats": [{"hostname": "host-0", "phase": "Succeeded", "duration": "3s", "snapshots": []},
                           {"hostname": "host-1", "phase": "Failed", "duration": "1s", "error": "disk full"}]}
            ]
        }
    }))
}

#[test]
fn a_backup_session_has_stashs_names_labels_and_values() {
    let m = Metrics::new(None);
    m.record_backup_session(
        &session("Failed"),
        &invoker(),
        Some(&repository()),
        &[app()],
    );
    let text = m.text();
    let s = [
        ("invoker_kind", "BackupConfiguration"),
        ("invoker_name", "pg-backup"),
        ("namespace", "demo"),
        ("driver", "Restic"),
        ("repository", "repo"),
    ];
    // One target failed (host-1), so the session did: success 0 and nothing else of it.
    assert_eq!(
        sample(&text, "stash_appscode_com_backupsession_success", &s),
        Some(0.0)
    );
    for name in [
        "duration_seconds",
        "target_count_total",
        "last_success_time_seconds",
    ] {
        let full = format!("stash_appscode_com_backupsession_{name}");
        assert_eq!(sample(&text, &full, &s), None, "{full}");
    }
    // The AppBinding target is labelled by its application; it succeeded.
    let pg = [
        ("kind", "postgres"),
        ("group", "kubedb.com"),
        ("name", "pg"),
    ];
    let t = |n: &str| format!("stash_appscode_com_backupsession_{n}");
    assert_eq!(sample(&text, &t("target_success"), &pg), Some(1.0));
    assert_eq!(sample(&text, &t("target_host_count_total"), &pg), Some(1.0));
    // Its end: 10:00:00 + 62.5 s.
    let end = "2026-11-30T10:01:02.5Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        sample(&text, &t("target_last_success_time_seconds"), &pg),
        Some(end.timestamp_millis() as f64 / 1000.0)
    );
    let h0 = [("kind", "postgres"), ("hostname", "host-0")];
    assert_eq!(sample(&text, &t("host_backup_success"), &h0), Some(1.0));
    assert_eq!(
        sample(&text, &t("host_backup_duration_seconds"), &h0),
        Some(12.5)
    );
    assert_eq!(
        sample(&text, &t("host_data_size_bytes"), &h0),
        Some(3.0 * 1048576.0)
    );
    assert_eq!(
        sample(&text, &t("host_data_uploaded_bytes"), &h0),
        Some(1536.0)
    );
    assert_eq!(
        sample(&text, &t("host_data_processing_time_seconds"), &h0),
        Some(3667.0)
    );
    assert_eq!(sample(&text, &t("host_files_total"), &h0), Some(4.0));
    assert_eq!(sample(&text, &t("host_files_new"), &h0), Some(1.0));
    assert_eq!(sample(&text, &t("host_files_modified"), &h0), Some(1.0));
    assert_eq!(sample(&text, &t("host_files_unmodified"), &h0), Some(2.0));
    // The StatefulSet target failed with its host-1; host-0 of it succeeded.
    let web = [("kind", "StatefulSet"), ("group", "apps"), ("name", "web")];
    assert_eq!(sample(&text, &t("target_success"), &web), Some(0.0));
    assert_eq!(sample(&text, &t("target_host_count_total"), &web), None);
    let web1 = [("name", "web"), ("hostname", "host-1")];
    assert_eq!(sample(&text, &t("host_backup_success"), &web1), Some(0.0));
    assert_eq!(
        sample(&text, &t("host_backup_duration_seconds"), &web1),
        None
    );
    let web0 = [("name", "web"), ("hostname", "host-0")];
    assert_eq!(
        sample(&text, &t("host_backup_duration_seconds"), &web0),
        Some(3.0)
    );
    // Repository metrics carry the Repository's own labels.
    let r = [
        ("name", "repo"),
        ("namespace", "demo"),
        ("backend", "s3"),
        ("bucket", "b"),
        ("prefix", "p/q"),
    ];
    let rp = |n: &str| format!("stash_appscode_com_repository_{n}");
    assert_eq!(sample(&text, &rp("integrity"), &r), Some(1.0));
    assert_eq!(sample(&text, &rp("size_bytes"), &r), Some(1536.0));
    assert_eq!(sample(&text, &rp("snapshot_count"), &r), Some(4.0));
    assert_eq!(sample(&text, &rp("snapshot_cleaned"), &r), Some(1.0));
    assert!(!text.contains("stash_backup_"), "no legacy names:\n{text}");
    assert!(text.contains("# TYPE stash_appscode_com_backupsession_success gauge"));
}

#[test]
fn a_successful_session_sets_its_duration_count_and_time_and_a_later_failure_keeps_them() {
    let m = Metrics::new(None);
    m.record_backup_session(&session("Succeeded"), &invoker(), None, &[]);
    let text = m.text();
    let name = [("invoker_name", "pg-backup")];
    let b = |n: &str| format!("stash_appscode_com_backupsession_{n}");
    assert_eq!(sample(&text, &b("success"), &name), Some(1.0));
    assert_eq!(sample(&text, &b("duration_seconds"), &name), Some(62.5));
    assert_eq!(sample(&text, &b("target_count_total"), &name), Some(2.0));
    let end = "2026-11-30T10:01:02.5Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        sample(&text, &b("last_success_time_seconds"), &name),
        Some(end.timestamp_millis() as f64 / 1000.0)
    );
    // Without its AppBinding, a target keeps the AppBinding's own kind and group.
    let ab = [("kind", "AppBinding"), ("group", "appcatalog.appscode.com")];
    assert_eq!(sample(&text, &b("target_success"), &ab), Some(1.0));
    assert!(
        !text.contains("stash_appscode_com_repository_"),
        "no Repository given:\n{text}"
    );

    m.record_backup_session(&session("Failed"), &invoker(), None, &[]);
    let text = m.text();
    assert_eq!(sample(&text, &b("success"), &name), Some(0.0));
    assert_eq!(sample(&text, &b("duration_seconds"), &name), Some(62.5));
}

#[test]
fn a_restore_session_has_stashs_names_labels_and_values() {
    let rs: RestoreSession = from(json!({
        "apiVersion": "stash.appscode.com/v1beta1", "kind": "RestoreSession",
        "metadata": {"name": "pg-restore", "namespace": "demo"},
        "spec": {"repository": {"name": "repo"}, "task": {"name": "postgres-restore-14.0"},
                 "target": {"ref": {"apiVersion": "appcatalog.appscode.com/v1alpha1", "kind": "AppBinding", "name": "pg"}}},
        "status": {"phase": "Succeeded", "sessionDuration": "20s", "totalHosts": 1,
                   "conditions": [{"type": "RestoreExecutorEnsured", "status": "True"}],
                   "stats": [{"hostname": "host-0", "phase": "Succeeded", "duration": "2.25s"}]}
    }));
    let m = Metrics::new(None);
    m.record_restore_session(&rs, Some(&repository()), &[app()]);
    let text = m.text();
    let s = [
        ("invoker_kind", "RestoreSession"),
        ("invoker_name", "pg-restore"),
        ("namespace", "demo"),
        ("driver", "Restic"),
        ("repository", "repo"),
    ];
    let r = |n: &str| format!("stash_appscode_com_restoresession_{n}");
    assert_eq!(sample(&text, &r("success"), &s), Some(1.0));
    assert_eq!(sample(&text, &r("duration_seconds"), &s), Some(20.0));
    assert_eq!(sample(&text, &r("target_count_total"), &s), Some(1.0));
    let pg = [
        ("kind", "postgres"),
        ("group", "kubedb.com"),
        ("name", "pg"),
    ];
    assert_eq!(sample(&text, &r("target_success"), &pg), Some(1.0));
    assert_eq!(sample(&text, &r("target_host_count_total"), &pg), Some(1.0));
    let h = [("name", "pg"), ("hostname", "host-0")];
    assert_eq!(sample(&text, &r("host_restore_success"), &h), Some(1.0));
    assert_eq!(
        sample(&text, &r("host_restore_duration_seconds"), &h),
        Some(2.25)
    );
    assert_eq!(
        sample(
            &text,
            "stash_appscode_com_repository_snapshot_count",
            &[("name", "repo")]
        ),
        Some(4.0)
    );
    assert_eq!(
        Invoker::restore_session(&rs).job_name(),
        "restoresession-demo-pg-restore"
    );
}

#[test]
fn a_push_holds_one_invokers_series_and_its_repository_only() {
    let m = Metrics::new(None);
    m.record_backup_session(&session("Succeeded"), &invoker(), Some(&repository()), &[]);
    let other = Invoker {
        name: "other".into(),
        ..invoker()
    };
    m.record_backup_session(&session("Failed"), &other, None, &[]);
    let mut other_repo = repository();
    other_repo.metadata.name = Some("repo2".into());
    m.record_repository(&other_repo);
    assert_eq!(invoker().job_name(), "backupconfiguration-demo-pg-backup");
    let pushed = super::super::encode(&m.job_families(&invoker(), Some(("demo", "repo"))));
    assert!(pushed.contains("invoker_name=\"pg-backup\""), "{pushed}");
    assert!(!pushed.contains("invoker_name=\"other\""), "{pushed}");
    assert!(
        pushed.contains("stash_appscode_com_repository_snapshot_count{"),
        "{pushed}"
    );
    assert!(!pushed.contains("name=\"repo2\""), "{pushed}");
    let without_repo = super::super::encode(&m.job_families(&other, None));
    assert!(
        !without_repo.contains("stash_appscode_com_repository_"),
        "{without_repo}"
    );
}
