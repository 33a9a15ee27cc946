//! Resolution tests: variables and their precedence, Task resolution against the built-in
//! catalog, AppBinding shapes, BackupBlueprints.

use std::collections::BTreeMap;

use super::appbinding::{parse_url, resolve_appbinding, SecretData, UrlError, UrlParts};
use super::blueprint::{blueprint_names, object_name, resolve_blueprint, BlueprintTarget};
use super::variables::{
    addon_task, backup_variables, restore_variables, BackupInputs, OperatorSettings, RestoreInputs,
};
use super::*;
use crate::api::catalog::Catalog;
use crate::api::object::StashObject;
use crate::api::{
    AppBinding, BackupBlueprint, BackupConfiguration, Param, Repository, RestoreSession,
};

fn parse<T: serde::de::DeserializeOwned>(yaml: &str) -> T {
    serde_saphyr::from_str(yaml).unwrap()
}

fn repo() -> Repository {
    parse(
        "apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {name: gcs-repo, namespace: demo}\n\
         spec: {backend: {gcs: {bucket: stash-testing, prefix: demo/postgres/sample-postgres, maxConnections: 4}, storageSecretName: gcs-secret}}\n",
    )
}

fn bc(params: &str) -> BackupConfiguration {
    parse(&format!(
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {{name: sample-postgres-backup, namespace: demo}}\n\
         spec:\n  schedule: '*/5 * * * *'\n  task: {{name: postgres-backup-16.1{params}}}\n  repository: {{name: gcs-repo}}\n\
         \x20 target: {{ref: {{apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: sample-postgres}}}}\n\
         \x20 retentionPolicy: {{name: keep-last-5, keepLast: 5, prune: true}}\n"
    ))
}

fn settings() -> OperatorSettings {
    OperatorSettings {
        docker_registry: "ghcr.io/us".into(),
        image: "stash-rs".into(),
        image_tag: "v1.2.3".into(),
        license_apiservice: String::new(),
        pushgateway_url: "http://stash.kube-system.svc:56789".into(),
    }
}

fn vars_for(bc: &BackupConfiguration) -> Vars {
    let s = settings();
    let r = repo();
    let params = bc
        .spec
        .template
        .task
        .as_ref()
        .map(|t| t.params().to_vec())
        .unwrap_or_default();
    backup_variables(&BackupInputs {
        repository: Some(&r),
        invoker_kind: "BackupConfiguration",
        invoker_name: bc.metadata.name.as_deref().unwrap(),
        target: &bc.spec.template,
        retention_policy: bc.spec.retention_policy.as_ref(),
        session_name: "sample-postgres-backup-1700000000",
        session_namespace: "demo",
        settings: &s,
        task_params: &params,
    })
}

fn arg<'a>(args: &'a [String], flag: &str) -> &'a str {
    let prefix = format!("{flag}=");
    args.iter()
        .find_map(|a| a.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{flag} not in {args:?}"))
}

#[test]
fn backup_variables_are_stashs() {
    let v = vars_for(&bc(""));
    let want: BTreeMap<&str, &str> = [
        ("BACKUP_SESSION", "sample-postgres-backup-1700000000"),
        ("ENABLE_CACHE", "true"),
        ("HOSTNAME", "host-0"),
        ("INTERIM_DATA_DIR", "/stash-tmp/stash-interim-volume/data"),
        ("INVOKER_KIND", "BackupConfiguration"),
        ("INVOKER_NAME", "sample-postgres-backup"),
        ("LICENSE_APISERVICE", ""),
        ("MAX_CONNECTIONS", "4"),
        ("NAMESPACE", "demo"),
        ("PROMETHEUS_JOB_NAME", "sample-postgres-backup"),
        (
            "PROMETHEUS_PUSHGATEWAY_URL",
            "http://stash.kube-system.svc:56789",
        ),
        ("REPOSITORY_BUCKET", "stash-testing"),
        ("REPOSITORY_INSECURE_TLS", "false"),
        ("REPOSITORY_NAME", "gcs-repo"),
        ("REPOSITORY_NAMESPACE", "demo"),
        ("REPOSITORY_PREFIX", "demo/postgres/sample-postgres"),
        ("REPOSITORY_PROVIDER", "gcs"),
        ("REPOSITORY_SECRET_NAME", "gcs-secret"),
        ("REPOSITORY_SECRET_NAMESPACE", "demo"),
        ("RETENTION_KEEP_LAST", "5"),
        ("RETENTION_PRUNE", "true"),
        ("STASH_DOCKER_IMAGE", "stash-rs"),
        ("STASH_DOCKER_REGISTRY", "ghcr.io/us"),
        ("STASH_IMAGE_TAG", "v1.2.3"),
        ("TARGET_KIND", "AppBinding"),
        ("TARGET_MOUNT_PATH", "/stash-data"),
        ("TARGET_NAME", "sample-postgres"),
        ("TARGET_PATHS", "/stash-data"),
    ]
    .into();
    assert_eq!(
        v.iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<BTreeMap<_, _>>(),
        want
    );
}

#[test]
fn a_local_repository_is_its_mount_path() {
    let r: Repository = parse(
        "apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {name: local-repo, namespace: demo}\n\
         spec: {backend: {local: {mountPath: /safe/data, subPath: team-a, hostPath: {path: /data}}, storageSecretName: s}}\n",
    );
    let v = super::variables::repository_vars(&r);
    assert_eq!(
        (
            v["REPOSITORY_PROVIDER"].as_str(),
            v["REPOSITORY_BUCKET"].as_str(),
            v["REPOSITORY_PREFIX"].as_str()
        ),
        ("local", "", "/safe/data")
    );
}

#[test]
fn catalog_task_resolves_with_stash_precedence() {
    let cat = Catalog::builtin().unwrap();
    let task = &cat.tasks["postgres-backup-16.1"];
    let resolved = resolve_task(task, &cat.functions, &vars_for(&bc(""))).unwrap();
    let (init, main) = resolved.containers();
    assert_eq!(
        init.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["postgres-backup-16-1-0"]
    );
    assert_eq!(
        main.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["update-status-1"]
    );
    let c = &init[0];
    assert_eq!(c.image.as_deref(), Some("ghcr.io/us/stash-rs:v1.2.3"));
    assert_eq!(c.image_pull_policy.as_deref(), Some("IfNotPresent"));
    let args = c.args.clone().unwrap();
    assert_eq!(args[..3], ["addon", "postgres", "backup"]);
    assert_eq!(arg(&args, "--backup-cmd"), "pg_dumpall"); // Function default
    assert_eq!(arg(&args, "--args"), ""); // Function default (empty)
    assert_eq!(arg(&args, "--output-dir"), "/stash-tmp/output"); // Task step param
    assert_eq!(arg(&args, "--hostname"), "host-0"); // implicit
    assert_eq!(arg(&args, "--bucket"), "stash-testing");
    assert_eq!(arg(&args, "--path"), "demo/postgres/sample-postgres");
    assert_eq!(arg(&args, "--max-connections"), "4");
    assert_eq!(arg(&args, "--retention-keep-last"), "5");
    assert_eq!(arg(&args, "--retention-keep-daily"), "0");
    assert_eq!(arg(&args, "--retention-prune"), "true");
    assert_eq!(arg(&args, "--wait-timeout"), "300");
    assert!(!args.iter().any(|a| a.contains("${")), "{args:?}");

    // Invoker params beat everything: Function defaults, Task step params, implicit variables.
    let custom = bc(", params: [{name: args, value: '--databases foo'}, {name: outputDir, value: /elsewhere}, {name: HOSTNAME, value: mine}, {name: backupCMD, value: pg_dump}]");
    let resolved = resolve_task(task, &cat.functions, &vars_for(&custom)).unwrap();
    let args = resolved.steps[0].container.args.clone().unwrap();
    assert_eq!(arg(&args, "--args"), "--databases foo");
    assert_eq!(arg(&args, "--output-dir"), "/elsewhere");
    assert_eq!(arg(&args, "--hostname"), "mine");
    assert_eq!(arg(&args, "--backup-cmd"), "pg_dump");
    let us = resolved.steps[1].container.args.clone().unwrap();
    assert_eq!(arg(&us, "--output-dir"), "/elsewhere");
    assert_eq!(
        arg(&us, "--backupsession"),
        "sample-postgres-backup-1700000000"
    );
}

#[test]
fn implicit_variables_beat_task_step_params() {
    let cat = Catalog::builtin().unwrap();
    let mut task = cat.tasks["postgres-backup-16.1"].clone();
    let step = &mut task.spec.steps.as_mut().unwrap()[0];
    step.params.as_mut().unwrap().push(Param {
        name: "HOSTNAME".into(),
        value: "from-step".into(),
    });
    step.params.as_mut().unwrap().push(Param {
        name: "waitTimeout".into(),
        value: "60".into(),
    });
    let resolved = resolve_task(&task, &cat.functions, &vars_for(&bc(""))).unwrap();
    let args = resolved.steps[0].container.args.clone().unwrap();
    assert_eq!(arg(&args, "--hostname"), "host-0");
    assert_eq!(arg(&args, "--wait-timeout"), "60");
}

#[test]
fn values_with_quotes_and_newlines_do_not_corrupt_the_object() {
    let cat = Catalog::builtin().unwrap();
    let tricky = "--where=\"name = 'x'\"\n\\N}{";
    let mut b = bc("");
    b.spec.template.task.as_mut().unwrap().params = Some(vec![Param {
        name: "args".into(),
        value: tricky.into(),
    }]);
    let resolved = resolve_task(
        &cat.tasks["postgres-backup-16.1"],
        &cat.functions,
        &vars_for(&b),
    )
    .unwrap();
    let args = resolved.steps[0].container.args.clone().unwrap();
    assert_eq!(arg(&args, "--args"), tricky);
}

#[test]
fn pvc_task_mounts_the_target_claim() {
    let cat = Catalog::builtin().unwrap();
    let b: BackupConfiguration = parse(
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {name: nfs-pvc-backup, namespace: demo}\n\
         spec:\n  task: {name: pvc-backup}\n  repository: {name: gcs-repo}\n\
         \x20 target: {ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: nfs-pvc}, paths: [/a, /b], exclude: ['*.tmp'], volumeMounts: [{name: data, mountPath: /mnt/data}], args: [--one-file-system, --x]}\n\
         \x20 retentionPolicy: {name: k, prune: true}\n",
    );
    let resolved = resolve_task(&cat.tasks["pvc-backup"], &cat.functions, &vars_for(&b)).unwrap();
    let vol = &resolved.volumes[0];
    assert_eq!(vol.name, "stash-volume");
    assert_eq!(
        vol.persistent_volume_claim.as_ref().unwrap().claim_name,
        "nfs-pvc"
    );
    let c = &resolved.steps[0].container;
    let m = &c.volume_mounts.as_ref().unwrap()[0];
    assert_eq!(
        (m.name.as_str(), m.mount_path.as_str()),
        ("stash-volume", "/mnt/data")
    );
    let args = c.args.clone().unwrap();
    assert_eq!(args[..3], ["addon", "volume", "backup"]);
    assert_eq!(arg(&args, "--backup-paths"), "/a,/b");
    assert_eq!(arg(&args, "--exclude"), "*.tmp");
    assert_eq!(arg(&args, "--args"), "--one-file-system --x");
    assert_eq!(arg(&args, "--target-kind"), "PersistentVolumeClaim");
}

#[test]
fn missing_function_is_an_error() {
    let cat = Catalog::builtin().unwrap();
    let mut task = cat.tasks["pvc-backup"].clone();
    task.spec.steps.as_mut().unwrap()[1].name = "nope".into();
    let err = resolve_task(&task, &cat.functions, &Vars::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Task pvc-backup names Function nope, which does not exist"
    );
}

#[test]
fn restore_variables_follow_the_rules_for_the_alias() {
    let rs: RestoreSession = parse(
        "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {name: rs, namespace: demo}\n\
         spec:\n  task: {name: mongodb-restore-6.0.5}\n  repository: {name: gcs-repo}\n\
         \x20 target:\n    alias: db\n    ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: mg, namespace: dbs}\n\
         \x20   rules:\n    - {targetHosts: [db], sourceHost: old-db, snapshots: [abc123, def456], include: ['*.json'], exclude: [tmp]}\n    - {paths: [/x]}\n\
         \x20 tempDir: {disableCaching: true}\n  interimVolumeTemplate: {metadata: {name: scratch}}\n",
    );
    let s = settings();
    let r = repo();
    let v = restore_variables(&RestoreInputs {
        repository: Some(&r),
        invoker_kind: "RestoreSession",
        invoker_name: "rs",
        invoker_namespace: "demo",
        target: &rs.spec.template,
        settings: &s,
        task_params: &[],
    });
    let get = |k: &str| v.get(k).map(String::as_str);
    assert_eq!(get("HOSTNAME"), Some("db"));
    assert_eq!(get("SOURCE_HOSTNAME"), Some("old-db"));
    assert_eq!(get("RESTORE_SNAPSHOTS"), Some("abc123,def456"));
    assert_eq!(get("RESTORE_PATHS"), Some(""));
    assert_eq!(get("INCLUDE_PATTERNS"), Some("*.json"));
    assert_eq!(get("EXCLUDE_PATTERNS"), Some("tmp"));
    assert_eq!(get("ENABLE_CACHE"), Some("false"));
    assert_eq!(get("TARGET_APP_REPLICAS"), Some("1"));
    assert_eq!(get("TARGET_NAMESPACE"), Some("dbs"));
    assert_eq!(get("INTERIM_DATA_DIR"), Some("/stash-interim-volume/data"));
    assert_eq!(get("RESTORE_SESSION"), Some("rs"));
    assert_eq!(get("NAMESPACE"), Some("demo"));
    assert_eq!(get("BACKUP_SESSION"), None);
}

#[test]
fn restore_into_volume_claim_templates_names_the_first_claim() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/api/testdata/docs/volumesnapshot-statefulset-restoresession.yaml"
    ))
    .unwrap();
    let rs: RestoreSession = parse(&text);
    let s = settings();
    let v = restore_variables(&RestoreInputs {
        repository: None,
        invoker_kind: "RestoreSession",
        invoker_name: "restore-pvc",
        invoker_namespace: "demo",
        target: &rs.spec.template,
        settings: &s,
        task_params: &[],
    });
    assert_eq!(v["TARGET_NAME"], "restore-data-restore-demo-${POD_ORDINAL}");
    assert_eq!(v["TARGET_APP_REPLICAS"], "3");
    assert_eq!(v["HOSTNAME"], ""); // no alias and no rules: Stash passes an empty host
}

const AB: &str = "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata: {name: pg, namespace: demo}\nspec:\n";

fn secrets(list: &[(&str, &[(&str, &str)])]) -> BTreeMap<String, SecretData> {
    list.iter()
        .map(|(n, kv)| {
            (
                n.to_string(),
                kv.iter()
                    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn addon_tasks_from_appbinding_parameters() {
    let ab: AppBinding = parse(&format!(
        "{AB}  clientConfig: {{service: {{name: pg, port: 5432, scheme: postgresql}}}}\n  parameters:\n    apiVersion: appcatalog.appscode.com/v1alpha1\n    kind: StashAddon\n    stash:\n      addon:\n        backupTask: {{name: postgres-backup-16.1, params: [{{name: args, value: --clean}}]}}\n        restoreTask: {{name: postgres-restore-16.1, params: [{{name: args, value: --single-transaction}}]}}\n"
    ));
    let target = crate::api::TargetRef {
        api_version: Some("appcatalog.appscode.com/v1alpha1".into()),
        kind: Some("AppBinding".into()),
        name: Some("pg".into()),
        namespace: None,
    };
    let p = |n: &str, v: &str| Param {
        name: n.into(),
        value: v.into(),
    };
    assert_eq!(
        addon_task(None, &target, Some(&ab), false),
        ("postgres-backup-16.1".into(), vec![p("args", "--clean")])
    );
    let invoker = crate::api::TaskRef {
        name: None,
        params: Some(vec![p("user", "admin")]),
    };
    assert_eq!(
        addon_task(Some(&invoker), &target, Some(&ab), true),
        (
            "postgres-restore-16.1".into(),
            vec![p("args", "--single-transaction"), p("user", "admin")]
        )
    );
    let named = crate::api::TaskRef {
        name: Some("custom".into()),
        params: Some(vec![p("args", "--x")]),
    };
    assert_eq!(
        addon_task(Some(&named), &target, Some(&ab), false),
        ("custom".into(), vec![p("args", "--x")])
    );
    // Only an AppBinding of the appcatalog group is read.
    let other = crate::api::TargetRef {
        api_version: Some("apps/v1".into()),
        ..target.clone()
    };
    assert_eq!(
        addon_task(None, &other, Some(&ab), false),
        (String::new(), vec![])
    );

    let conn = resolve_appbinding(&ab, &BTreeMap::new()).unwrap();
    assert_eq!(conn.backup_task.unwrap().name, "postgres-backup-16.1");
    assert_eq!(
        conn.restore_task.unwrap().params,
        vec![p("args", "--single-transaction")]
    );
}

#[test]
fn appbinding_with_service() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/api/testdata/examples/concepts/crds/appbinding/appbinding.yaml"
    ))
    .unwrap();
    let ab: AppBinding = parse(&text);
    let s = secrets(&[(
        "quick-postgres-auth",
        &[("username", "postgres"), ("password", "s3cr3t")],
    )]);
    let c = resolve_appbinding(&ab, &s).unwrap();
    assert_eq!(c.host, "quick-postgres.demo.svc");
    assert_eq!(c.port, 5432);
    assert_eq!(c.address(), "quick-postgres.demo.svc:5432");
    assert_eq!(c.scheme.as_deref(), Some("postgresql"));
    assert_eq!(c.path.as_deref(), Some("/"));
    assert_eq!(c.query_param("sslmode").as_deref(), Some("disable"));
    assert_eq!(c.username().as_deref(), Some("postgres"));
    assert_eq!(c.password().as_deref(), Some("s3cr3t"));
    assert_eq!(
        (c.app_group.as_str(), c.app_resource.as_str()),
        ("kubedb.com", "postgres")
    );
    assert_eq!(c.version.as_deref(), Some("10.2"));
    assert!(!c.tls());
    let debug = format!("{c:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains("password: Some(\"<redacted>\")"), "{debug}");
    assert!(debug.contains("username: Some(\"postgres\")"), "{debug}");
}

#[test]
fn appbinding_service_in_another_namespace() {
    let ab: AppBinding = parse(&format!("{AB}  clientConfig: {{service: {{name: db, namespace: data, port: 3306, scheme: mysql}}}}\n"));
    let c = resolve_appbinding(&ab, &BTreeMap::new()).unwrap();
    assert_eq!(c.address(), "db.data.svc:3306");
    assert_eq!(c.app_type, "Opaque");
    assert!(c.secret.is_empty());
}

#[test]
fn appbinding_with_url() {
    let ab: AppBinding = parse(&format!("{AB}  clientConfig: {{url: 'postgres://db.example.com:6543/app?sslmode=verify-full&x=1', serverName: db.internal, insecureSkipTLSVerify: true}}\n  type: postgres\n"));
    let c = resolve_appbinding(&ab, &BTreeMap::new()).unwrap();
    assert_eq!((c.host.as_str(), c.port), ("db.example.com", 6543));
    assert_eq!(c.scheme.as_deref(), Some("postgres"));
    assert_eq!(c.path.as_deref(), Some("/app"));
    assert_eq!(c.query_param("sslmode").as_deref(), Some("verify-full"));
    assert_eq!(c.server_name.as_deref(), Some("db.internal"));
    assert!(c.insecure_skip_tls_verify);
    assert_eq!(
        (c.app_group.as_str(), c.app_resource.as_str()),
        ("", "postgres")
    );

    assert_eq!(
        parse_url("redis:6379"),
        Ok(UrlParts {
            host: "redis".into(),
            port: 6379,
            ..Default::default()
        })
    );
    assert_eq!(
        parse_url("db.local"),
        Ok(UrlParts {
            host: "db.local".into(),
            ..Default::default()
        })
    );
    assert_eq!(
        parse_url("mongodb://[fd00::1]:27017"),
        Ok(UrlParts {
            scheme: Some("mongodb".into()),
            host: "fd00::1".into(),
            port: 27017,
            ..Default::default()
        })
    );
    assert_eq!(parse_url("mysql://u:p@h:1"), Err(UrlError::UserInfo));
    assert_eq!(parse_url("h:1#frag"), Err(UrlError::Fragment));
    assert_eq!(parse_url("http://:80"), Err(UrlError::NoHost));
    let ab: AppBinding = parse(&format!("{AB}  clientConfig: {{url: 'h:abc'}}\n"));
    assert_eq!(
        resolve_appbinding(&ab, &BTreeMap::new())
            .unwrap_err()
            .to_string(),
        "AppBinding pg: parsing clientConfig.url \"h:abc\": invalid port \"abc\" in url"
    );
    let ipv6 = super::appbinding::Connection {
        host: "fd00::1".into(),
        port: 27017,
        ..Default::default()
    };
    assert_eq!(ipv6.address(), "[fd00::1]:27017");
}

#[test]
fn secret_transforms_apply_in_order() {
    // Stash's documented example: rename POSTGRES_USER/POSTGRES_PASSWORD to username/password.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/api/testdata/examples/addons/postgres/standalone/examples/secret_transform.yaml"
    ))
    .unwrap();
    let ab: AppBinding = parse(&text);
    let s = secrets(&[(
        "my-database-credentials-secret",
        &[("POSTGRES_USER", "admin"), ("POSTGRES_PASSWORD", "pw")],
    )]);
    let c = resolve_appbinding(&ab, &s).unwrap();
    assert_eq!(c.username().as_deref(), Some("admin"));
    assert_eq!(c.password().as_deref(), Some("pw"));
    assert_eq!(
        c.secret.keys().collect::<Vec<_>>(),
        ["password", "username"]
    );

    let ab: AppBinding = parse(&format!(
        "{AB}  clientConfig: {{service: {{name: pg, port: 5432, scheme: postgresql}}}}\n  secret: {{name: creds}}\n  secretTransforms:\n\
         \x20 - addKeysFrom: {{secretRef: {{name: extra}}}}\n\
         \x20 - addKey: {{key: username, stringValue: app}}\n\
         \x20 - addKey: {{key: token, value: dG9rZW4=}}\n\
         \x20 - addKey: {{key: both, value: Ynl0ZXM=, stringValue: string-wins}}\n\
         \x20 - renameKey: {{from: PASS, to: password}}\n\
         \x20 - renameKey: {{from: absent, to: nothing}}\n\
         \x20 - removeKey: {{key: junk}}\n"
    ));
    let s = secrets(&[
        ("creds", &[("username", "old"), ("junk", "x")]),
        ("extra", &[("PASS", "from-extra"), ("junk", "y")]),
    ]);
    let c = resolve_appbinding(&ab, &s).unwrap();
    let shown: BTreeMap<&str, String> = c
        .secret
        .iter()
        .map(|(k, v)| (k.as_str(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    assert_eq!(
        shown,
        [
            ("both", "string-wins"),
            ("password", "from-extra"),
            ("token", "token"),
            ("username", "app")
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    );

    let missing = secrets(&[("creds", &[])]);
    assert_eq!(
        resolve_appbinding(&ab, &missing).unwrap_err().to_string(),
        "AppBinding pg: secretTransforms[0].addKeysFrom names Secret \"extra\", which was not given"
    );
    assert_eq!(
        resolve_appbinding(&ab, &BTreeMap::new())
            .unwrap_err()
            .to_string(),
        "AppBinding pg: secret names Secret \"creds\", which was not given"
    );
}

#[test]
fn tls_material() {
    // caBundle "-----BEGIN CERTIFICATE-----" base64-encoded.
    let ab: AppBinding = parse(&format!(
        "{AB}  clientConfig: {{caBundle: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t, service: {{name: pg, port: 5432, scheme: postgresql}}}}\n  tlsSecret: {{name: client-tls}}\n"
    ));
    let s = secrets(&[(
        "client-tls",
        &[("tls.crt", "CERT"), ("tls.key", "KEY"), ("ca.crt", "CA")],
    )]);
    let c = resolve_appbinding(&ab, &s).unwrap();
    assert!(c.tls());
    assert_eq!(
        c.ca_bundle.as_deref(),
        Some(&b"-----BEGIN CERTIFICATE-----"[..])
    );
    assert_eq!(c.client_cert.as_deref(), Some(&b"CERT"[..]));
    assert_eq!(c.client_key.as_deref(), Some(&b"KEY"[..]));
    let debug = format!("{c:?}");
    assert!(!debug.contains("KEY\""), "{debug}");
    assert!(
        debug.contains("client_key: Some(\"<redacted>\")"),
        "{debug}"
    );
    assert_eq!(
        resolve_appbinding(&ab, &BTreeMap::new())
            .unwrap_err()
            .to_string(),
        "AppBinding pg: tlsSecret names Secret \"client-tls\", which was not given"
    );
}

fn blueprint(path: &str) -> BackupBlueprint {
    let text = std::fs::read_to_string(format!(
        "{}/src/api/testdata/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    parse(&text)
}

#[test]
fn blueprint_for_a_deployment() {
    let bp = blueprint("examples/concepts/crds/backupblueprint/backupblueprint.yaml");
    let annotations: BTreeMap<String, String> = [
        (
            "stash.appscode.com/backup-blueprint",
            "workload-backup-blueprint",
        ),
        (
            "stash.appscode.com/target-paths",
            "/source/data-1,/source/data-2",
        ),
        (
            "stash.appscode.com/volume-mounts",
            "source-data-1:/source/data-1,source-data-2:/source/data-2:sub",
        ),
        ("stash.appscode.com/schedule", "*/15 * * * *"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let target = BlueprintTarget {
        api_version: "apps/v1",
        kind: "Deployment",
        name: "stash-demo",
        namespace: "demo",
        annotations: &annotations,
        appbinding: None,
    };
    assert_eq!(blueprint_names(&annotations), ["workload-backup-blueprint"]);
    let out = resolve_blueprint(&bp, &target).unwrap();
    let repo = serde_json::to_value(&out.repository).unwrap();
    assert_eq!(
        repo,
        serde_json::json!({
            "apiVersion": "stash.appscode.com/v1alpha1", "kind": "Repository",
            "metadata": {"name": "deployment-stash-demo", "namespace": "demo"},
            "spec": {"backend": {"gcs": {"bucket": "stash-backup", "prefix": "stash/demo/deployment/stash-demo"}, "storageSecretName": "gcs-secret"}, "wipeOut": false}
        })
    );
    let bc = serde_json::to_value(&out.backup_configuration).unwrap();
    assert_eq!(
        bc,
        serde_json::json!({
            "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupConfiguration",
            "metadata": {"name": "deployment-stash-demo", "namespace": "demo"},
            "spec": {
                "task": {},
                "target": {
                    "ref": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "stash-demo"},
                    "paths": ["/source/data-1", "/source/data-2"],
                    "volumeMounts": [
                        {"name": "source-data-1", "mountPath": "/source/data-1"},
                        {"name": "source-data-2", "mountPath": "/source/data-2", "subPath": "sub"}
                    ]
                },
                "runtimeSettings": {"container": {"securityContext": {"runAsUser": 2000, "runAsGroup": 2000}}},
                "tempDir": {"medium": "Memory", "sizeLimit": "1Gi", "disableCaching": false},
                "schedule": "*/15 * * * *",
                "repository": {"name": "deployment-stash-demo"},
                "retentionPolicy": {"name": "keep-last-5", "keepLast": 5, "prune": true},
                "backupHistoryLimit": 3,
                "timeOut": "30m",
                "retryConfig": {"maxRetry": 3, "delay": "10m"}
            }
        })
    );
    assert!(
        crate::api::validate::validate(&StashObject::BackupConfiguration(Box::new(
            out.backup_configuration
        )))
        .is_empty()
    );
}

#[test]
fn blueprint_for_a_database_in_a_backup_namespace() {
    let bp: BackupBlueprint = parse(
        "apiVersion: stash.appscode.com/v1beta1\nkind: BackupBlueprint\nmetadata: {name: pg}\nspec:\n\
         \x20 backupNamespace: backups\n  repoNamespace: repos\n\
         \x20 backend: {s3: {endpoint: s3.example.com, bucket: b, prefix: 'stash-backup/${TARGET_NAMESPACE}/${TARGET_APP_RESOURCE}/${TARGET_NAME}'}, storageSecretName: s3}\n\
         \x20 schedule: '0 * * * *'\n  task: {name: 'postgres-backup-${TARGET_APP_VERSION}', params: [{name: args, value: --clean}]}\n\
         \x20 interimVolumeTemplate: {metadata: {name: '${TARGET_APP_RESOURCE}-${TARGET_NAME}'}}\n\
         \x20 retentionPolicy: {name: keep, keepLast: 3, prune: true}\n",
    );
    let ab: AppBinding = parse(&format!("{AB}  type: kubedb.com/postgres\n  version: '16.1'\n  clientConfig: {{service: {{name: pg, port: 5432, scheme: postgresql}}}}\n"));
    let annotations: BTreeMap<String, String> = [
        (
            "params.stash.appscode.com/args".to_string(),
            "--if-exists".to_string(),
        ),
        (
            "params.stash.appscode.com/user".to_string(),
            "u".to_string(),
        ),
    ]
    .into();
    let target = BlueprintTarget {
        api_version: "appcatalog.appscode.com/v1alpha1",
        kind: "AppBinding",
        name: "pg",
        namespace: "demo",
        annotations: &annotations,
        appbinding: Some(&ab),
    };
    assert_eq!(object_name(&target, Some("backups")), "demo-app-pg");
    assert_eq!(object_name(&target, None), "app-pg");
    let out = resolve_blueprint(&bp, &target).unwrap();
    assert_eq!(out.repository.metadata.name.as_deref(), Some("demo-app-pg"));
    assert_eq!(out.repository.metadata.namespace.as_deref(), Some("repos"));
    assert_eq!(
        out.repository.spec.backend.as_ref().unwrap().prefix(),
        "stash-backup/demo/postgres/pg"
    );
    let bc = &out.backup_configuration;
    assert_eq!(bc.metadata.namespace.as_deref(), Some("backups"));
    let t = bc.spec.template.task.as_ref().unwrap();
    assert_eq!(t.name(), "postgres-backup-16.1");
    assert_eq!(
        t.params(),
        [
            Param {
                name: "args".into(),
                value: "--if-exists".into()
            },
            Param {
                name: "user".into(),
                value: "u".into()
            }
        ]
    );
    let r = bc.spec.repository.as_ref().unwrap();
    assert_eq!(
        (r.name.as_str(), r.namespace.as_deref()),
        ("demo-app-pg", Some("repos"))
    );
    let tr = bc.spec.template.target.as_ref().unwrap().target_ref();
    assert_eq!(tr.namespace.as_deref(), Some("demo"));
    assert_eq!(bc.spec.schedule.as_deref(), Some("0 * * * *"));
    let ivt = bc.spec.template.interim_volume_template.as_ref().unwrap();
    assert_eq!(
        ivt.metadata.as_ref().unwrap().name.as_deref(),
        Some("postgres-pg")
    );
}

#[test]
fn untyped_appbinding_resource_is_appbinding() {
    let ab: AppBinding = parse(&format!(
        "{AB}  clientConfig: {{service: {{name: pg, port: 5432, scheme: postgresql}}}}\n"
    ));
    let empty = BTreeMap::new();
    let target = BlueprintTarget {
        api_version: "appcatalog.appscode.com/v1alpha1",
        kind: "AppBinding",
        name: "pg",
        namespace: "demo",
        annotations: &empty,
        appbinding: Some(&ab),
    };
    let v = super::blueprint::blueprint_variables(&target);
    assert_eq!(v["TARGET_APP_RESOURCE"], "appbinding");
    assert_eq!(v["TARGET_KIND"], "appbinding");
    assert_eq!(v["TARGET_RESOURCE"], "appbindings");
}

#[test]
fn missing_secret_key_names_secret_key_and_fix() {
    let ab: AppBinding = parse(&format!(
        "{AB}  clientConfig: {{url: postgres://db:5432/app}}\n  secret: {{name: pg-auth}}\n"
    ));
    let s = secrets(&[(
        "pg-auth",
        &[("POSTGRES_USER", "admin"), ("POSTGRES_PASSWORD", "pw")],
    )]);
    let c = resolve_appbinding(&ab, &s).unwrap();
    let e = c.required_secret_key("password").unwrap_err().to_string();
    assert_eq!(
        e,
        "AppBinding pg: Secret \"pg-auth\" (spec.secret) has no key \"password\" (keys after secretTransforms: \
         POSTGRES_PASSWORD, POSTGRES_USER); fix: to use POSTGRES_PASSWORD, add to the AppBinding \
         spec.secretTransforms: [{renameKey: {from: POSTGRES_PASSWORD, to: password}}]"
    );
    assert!(
        !e.contains("pw\"") && !e.contains("admin"),
        "values stay out: {e}"
    );
    let c = resolve_appbinding(&ab, &secrets(&[("pg-auth", &[])])).unwrap();
    let e = c.required_secret_key("password").unwrap_err().to_string();
    assert!(
        e.contains("(keys after secretTransforms: none); fix: add key \"password\" to the Secret"),
        "{e}"
    );
    let c = resolve_appbinding(&ab, &secrets(&[("pg-auth", &[("password", "x")])])).unwrap();
    assert_eq!(
        c.required_secret_key("password").unwrap().as_deref(),
        Some("x")
    );
    let no_secret: AppBinding = parse(&format!(
        "{AB}  clientConfig: {{url: postgres://db:5432/app}}\n"
    ));
    let c = resolve_appbinding(&no_secret, &BTreeMap::new()).unwrap();
    assert_eq!(c.required_secret_key("password").unwrap(), None);
}
