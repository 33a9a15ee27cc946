//! Table tests: for each kind one valid manifest and several invalid ones, with the exact
//! problems `stash validate` prints.

use std::path::Path;

use super::*;
use crate::api::object::StashObject;

fn problems(yaml: &str) -> Vec<String> {
    validate_documents(yaml, Some(Path::new("m.yaml")))
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn check(cases: &[(&str, &[&str])]) {
    for (yaml, want) in cases {
        assert_eq!(problems(yaml), *want, "manifest:\n{yaml}");
    }
}

const REPO_HEAD: &str = "apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {name: r, namespace: demo}\n";

#[test]
fn repository() {
    let r = |spec: &str| format!("{REPO_HEAD}spec:\n{spec}");
    check(&[
        (&r("  backend: {s3: {endpoint: s3.amazonaws.com, bucket: b, prefix: p}, storageSecretName: s}\n  wipeOut: true"), &[]),
        (
            &r("  backend: {local: {mountPath: /stash/data, hostPath: {path: /x}}, storageSecretName: s}\n  wipeOut: true"),
            &[
                "m.yaml: Repository/r: spec.wipeOut: wipe out operation is not supported for local backend",
                "m.yaml: Repository/r: spec.backend.local.mountPath: `/stash` and `/stash/*` cannot be used as mountPath: the stash binary lives in /stash; use `/stash-backup` or any other path",
            ],
        ),
        (
            &r("  backend: {b2: {bucket: b}, storageSecretName: s}\n  wipeOut: true"),
            &["m.yaml: Repository/r: spec.wipeOut: wipe out operation is not supported for B2 backend"],
        ),
        (&r("  backend: {local: {mountPath: /stash, emptyDir: {}}, storageSecretName: s}"), &[
            "m.yaml: Repository/r: spec.backend.local.mountPath: `/stash` and `/stash/*` cannot be used as mountPath: the stash binary lives in /stash; use `/stash-backup` or any other path",
        ]),
        (&r("  backend: {local: {mountPath: /stash-backup, emptyDir: {}}, storageSecretName: s}"), &[]),
        (
            &r("  backend: {gcs: {bucket: b}, s3: {bucket: b, endpoint: e}}"),
            &[
                "m.yaml: Repository/r: spec.backend: exactly one of local, s3, gcs, azure, swift, b2, rest must be set, found s3, gcs",
                "m.yaml: Repository/r: spec.backend.storageSecretName: Required value: the storage Secret holds RESTIC_PASSWORD",
            ],
        ),
        (&r("  backend: {s3: {prefix: p}, storageSecretName: s}"), &[
            "m.yaml: Repository/r: spec.backend.s3.bucket: Required value",
            "m.yaml: Repository/r: spec.backend.s3.endpoint: Required value",
        ]),
        (&r("  backend: {gcs: {bucket: b}, storageSecretName: s}\n  usagePolicy: {allowedNamespaces: {from: Selector}}"), &[
            "m.yaml: Repository/r: spec.usagePolicy.allowedNamespaces.selector: Required value: a selector is needed when `from` is Selector",
        ]),
        (&r("  backend: {gcs: {bucket: b}, storageSecretName: s}\n  usagePolicy: {allowedNamespaces: {from: Everyone}}"), &[
            "m.yaml: Repository/r: spec.usagePolicy.allowedNamespaces.from: unknown variant `Everyone`, expected one of `All`, `Selector`, `Same`",
        ]),
        (&r("  backend: {gcs: {bucket: b, prefx: p}, storageSecretName: s}\n  wipeout: true"), &[
            "m.yaml: Repository/r: spec.backend.gcs.prefx: unknown field; Stash's API server would drop it",
            "m.yaml: Repository/r: spec.wipeout: unknown field; Stash's API server would drop it",
        ]),
    ]);
}

const BC_HEAD: &str = "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {name: bc, namespace: demo}\nspec:\n";

#[test]
fn backup_configuration() {
    let bc = |spec: &str| format!("{BC_HEAD}{spec}");
    let target =
        "  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}, paths: [/data]}\n";
    let good_tail = "  repository: {name: repo}\n  schedule: '*/5 * * * *'\n  retentionPolicy: {name: keep-5, keepLast: 5, prune: true}\n";
    check(&[
        (&bc(&format!("{target}{good_tail}")), &[]),
        (&bc(&format!("{target}  repository: {{name: repo}}\n")), &["m.yaml: BackupConfiguration/bc: spec.retentionPolicy: Required value"]),
        (
            &bc(&format!("{target}  repository: {{name: repo}}\n  retentionPolicy: {{keepLast: -1}}\n")),
            &[
                "m.yaml: BackupConfiguration/bc: spec.retentionPolicy.name: Required value",
                "m.yaml: BackupConfiguration/bc: spec.retentionPolicy.prune: Required value",
                "m.yaml: BackupConfiguration/bc: spec.retentionPolicy.keepLast: must be greater than or equal to 0",
            ],
        ),
        (
            &bc(&format!("{target}{good_tail}  timeOut: 2d\n  retryConfig: {{maxRetry: 2, delay: '10'}}\n")),
            &[
                "m.yaml: BackupConfiguration/bc: spec.timeOut: time: unknown unit \"d\" in duration \"2d\"",
                "m.yaml: BackupConfiguration/bc: spec.retryConfig.delay: time: missing unit in duration \"10\"",
            ],
        ),
        (
            &bc(&format!("{target}  repository: {{name: repo}}\n  schedule: '61 * * * *'\n  retentionPolicy: {{name: k, prune: false}}\n")),
            &["m.yaml: BackupConfiguration/bc: spec.schedule: invalid cron schedule \"61 * * * *\": end of range (61) above maximum (59): 61"],
        ),
        (
            &bc(&format!("{target}  retentionPolicy: {{name: k, prune: false}}\n  driver: Rsync\n")),
            &["m.yaml: BackupConfiguration/bc: spec.driver: unknown variant `Rsync`, expected `Restic` or `VolumeSnapshotter`"],
        ),
        (&bc(&format!("{target}  retentionPolicy: {{name: k, prune: false}}\n")), &["m.yaml: BackupConfiguration/bc: spec.repository.name: Required value"]),
        (&bc("  driver: VolumeSnapshotter\n  target: {ref: {apiVersion: apps/v1, kind: StatefulSet, name: s}}\n  retentionPolicy: {name: k, prune: true}\n"), &[]),
        (
            &bc(&format!("  target: {{ref: {{apiVersion: apps/v1, kind: Deployment, name: app, namespace: other}}}}\n{good_tail}")),
            &["m.yaml: BackupConfiguration/bc: spec.target.ref.namespace: cross-namespace target reference is not allowed for \"Deployment\""],
        ),
        (
            &bc(&format!("  task: {{name: pvc-backup}}\n  target: {{ref: {{apiVersion: v1, kind: PersistentVolumeClaim, name: data, namespace: other}}}}\n{good_tail}")),
            &["m.yaml: BackupConfiguration/bc: spec.target.ref.namespace: cross-namespace target reference is not allowed for \"PersistentVolumeClaim\""],
        ),
        // Job model (task named) and kubedump tasks may reach across namespaces.
        (&bc(&format!("  task: {{name: postgres-backup-16.1}}\n  target: {{ref: {{apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg, namespace: db}}}}\n{good_tail}")), &[]),
        (&bc(&format!("  task: {{name: kubedump-backup-0.1.0}}\n  target: {{ref: {{apiVersion: v1, kind: PersistentVolumeClaim, name: d, namespace: db}}}}\n{good_tail}")), &[]),
        (
            &bc(&format!("{target}{good_tail}  hooks:\n    preBackup: {{containerName: app}}\n    postBackup: {{exec: {{command: []}}, httpGet: {{port: 80}}, executionPolicy: Sometimes}}\n")),
            &["m.yaml: BackupConfiguration/bc: spec.hooks.postBackup.executionPolicy: unknown variant `Sometimes`, expected one of `Always`, `OnFailure`, `OnSuccess`, `OnFinalRetryFailure`"],
        ),
        (
            &bc(&format!("{target}{good_tail}  hooks:\n    preBackup: {{containerName: app}}\n    postBackup: {{exec: {{command: []}}, httpGet: {{port: 80}}}}\n")),
            &[
                "m.yaml: BackupConfiguration/bc: spec.hooks.preBackup: exactly one of exec, httpGet, httpPost, tcpSocket must be set, found 0",
                "m.yaml: BackupConfiguration/bc: spec.hooks.postBackup: exactly one of exec, httpGet, httpPost, tcpSocket must be set, found 2",
                "m.yaml: BackupConfiguration/bc: spec.hooks.postBackup.exec.command: Required value",
            ],
        ),
        (&bc(&format!("{good_tail}  paused: 'yes'\n")), &["m.yaml: BackupConfiguration/bc: spec.paused: invalid type: string \"yes\", expected a boolean"]),
    ]);
}

#[test]
fn backup_batch() {
    let head = "apiVersion: stash.appscode.com/v1beta1\nkind: BackupBatch\nmetadata: {name: bb, namespace: demo}\nspec:\n  repository: {name: repo}\n  retentionPolicy: {name: k, prune: true}\n";
    check(&[
        (&format!("{head}  members:\n  - target: {{ref: {{apiVersion: apps/v1, kind: Deployment, name: a}}}}\n  executionOrder: Sequential\n"), &[]),
        (head, &["m.yaml: BackupBatch/bb: spec.members: Required value: a BackupBatch needs at least one member"]),
        (
            &format!("{head}  members:\n  - target: {{ref: {{kind: Deployment, name: a}}}}\n  - target: {{ref: {{kind: DaemonSet, name: b, namespace: x}}}}\n  executionOrder: Random\n"),
            &["m.yaml: BackupBatch/bb: spec.executionOrder: unknown variant `Random`, expected `Parallel` or `Sequential`"],
        ),
        (
            &format!("{head}  members:\n  - target: {{ref: {{kind: Deployment}}}}\n  - target: {{ref: {{kind: DaemonSet, name: b, namespace: x}}}}\n"),
            &[
                "m.yaml: BackupBatch/bb: spec.members[0].target.ref.name: Required value",
                "m.yaml: BackupBatch/bb: spec.members[1].target.ref.namespace: cross-namespace target reference is not allowed for \"DaemonSet\"",
            ],
        ),
    ]);
}

const RS_HEAD: &str = "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {name: rs, namespace: demo}\nspec:\n  repository: {name: repo}\n  target:\n    ref: {apiVersion: apps/v1, kind: StatefulSet, name: db}\n";

#[test]
fn restore_session_rules() {
    let rs = |rules: &str| format!("{RS_HEAD}    rules:\n{rules}");
    check(&[
        (&rs("    - {targetHosts: [host-1], sourceHost: host-0, paths: [/data]}\n    - {paths: [/data]}\n"), &[]),
        (
            &rs("    - {paths: [/a]}\n    - {targetHosts: [], paths: [/b]}\n    - {targetHosts: [host-1], snapshots: [abc], paths: [/c]}\n"),
            &[
                "m.yaml: RestoreSession/rs: spec.target.rules: 2 rules found with empty targetHosts (Rules: rule[0], rule[1]). There can be at most one rule with empty targetHosts",
                "m.yaml: RestoreSession/rs: spec.target.rules[2]: both 'snapshots' and 'paths' fields are specified. A snapshot contains backed up data of only one directory, so specify 'paths' or 'snapshots', not both",
            ],
        ),
        (
            &rs("    - {targetHosts: [host-1, host-2], paths: [/a]}\n    - {targetHosts: [host-3, host-2], paths: [/b]}\n"),
            &["m.yaml: RestoreSession/rs: spec.target.rules[1].targetHosts[1]: multiple rules (rule[0] and rule[1]) match for host \"host-2\". There could be only one matching rule for a host"],
        ),
        // The deprecated spec.rules are checked when target.rules is empty.
        (
            &format!("{RS_HEAD}  rules:\n  - {{snapshots: [latest]}}\n  - {{snapshots: [abc]}}\n"),
            &["m.yaml: RestoreSession/rs: spec.rules: 2 rules found with empty targetHosts (Rules: rule[0], rule[1]). There can be at most one rule with empty targetHosts"],
        ),
        (
            "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {name: rs, namespace: demo}\nspec:\n  timeOut: soon\n  target: {ref: {kind: PersistentVolumeClaim, name: p, namespace: x}}\n",
            &[
                "m.yaml: RestoreSession/rs: spec.target.ref.namespace: cross-namespace target reference is not allowed for \"PersistentVolumeClaim\"",
                "m.yaml: RestoreSession/rs: spec.repository.name: Required value",
                "m.yaml: RestoreSession/rs: spec.timeOut: time: invalid duration \"soon\"",
            ],
        ),
    ]);
}

#[test]
fn restore_batch() {
    let head = "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreBatch\nmetadata: {name: rb, namespace: demo}\nspec:\n  repository: {name: repo}\n";
    check(&[
        (&format!("{head}  members:\n  - target: {{ref: {{kind: Deployment, name: a}}, rules: [{{paths: [/a]}}]}}\n"), &[]),
        (
            &format!("{head}  members:\n  - target: {{ref: {{kind: Deployment, name: a}}, rules: [{{paths: [/a]}}, {{paths: [/b]}}]}}\n"),
            &["m.yaml: RestoreBatch/rb: spec.members[0].target.rules: 2 rules found with empty targetHosts (Rules: rule[0], rule[1]). There can be at most one rule with empty targetHosts"],
        ),
        (head, &["m.yaml: RestoreBatch/rb: spec.members: Required value: a RestoreBatch needs at least one member"]),
    ]);
}

#[test]
fn backup_session() {
    let head = "apiVersion: stash.appscode.com/v1beta1\nkind: BackupSession\nmetadata: {name: s, namespace: demo}\n";
    check(&[
        (&format!("{head}spec: {{invoker: {{apiGroup: stash.appscode.com, kind: BackupConfiguration, name: bc}}}}\n"), &[]),
        (
            &format!("{head}spec: {{invoker: {{kind: CronJob, name: ''}}, retryLeft: -1}}\n"),
            &[
                "m.yaml: BackupSession/s: spec.invoker.kind: Unsupported value: \"CronJob\": supported values: \"BackupConfiguration\", \"BackupBatch\"",
                "m.yaml: BackupSession/s: spec.invoker.name: Required value",
                "m.yaml: BackupSession/s: spec.retryLeft: must be greater than or equal to 0",
            ],
        ),
        (&format!("{head}spec: {{invoker: {{kind: BackupConfiguration}}}}\n"), &["m.yaml: BackupSession/s: spec.invoker: missing field `name`"]),
        (&format!("{head}status: {{phase: Done}}\nspec: {{}}\n"), &["m.yaml: BackupSession/s: status.phase: unknown variant `Done`, expected one of `Pending`, `Skipped`, `Running`, `Succeeded`, `Failed`, `Unknown`"]),
    ]);
}

#[test]
fn function_and_task() {
    let f = "apiVersion: stash.appscode.com/v1beta1\nkind: Function\nmetadata: {name: f}\nspec:\n";
    let t = "apiVersion: stash.appscode.com/v1beta1\nkind: Task\nmetadata: {name: t}\nspec:\n";
    check(&[
        (&format!("{f}  image: stashed/stash-rs:latest\n  args: ['--x=${{args:=}}']\n"), &[]),
        (
            &format!("{f}  args: ['--x=${{args', '--y=${{1a}}']\n"),
            &[
                "m.yaml: Function/f: spec.image: Required value",
                "m.yaml: Function/f: spec.args[0]: unterminated placeholder at byte 4 of \"--x=${args\"",
                "m.yaml: Function/f: spec.args[1]: invalid variable name \"1a\" in \"--y=${1a}\"",
            ],
        ),
        (&format!("{t}  steps: [{{name: f, params: [{{name: a, value: b}}]}}]\n  volumes: [{{name: v, persistentVolumeClaim: {{claimName: '${{TARGET_NAME}}'}}}}]\n"), &[]),
        (&format!("{t}  steps: []\n"), &["m.yaml: Task/t: spec.steps: Required value: a Task needs at least one step"]),
        (&format!("{t}  steps: [{{name: f, params: [{{name: a}}]}}]\n"), &["m.yaml: Task/t: spec.steps[0].params[0]: missing field `value`"]),
    ]);
}

#[test]
fn appbinding() {
    let h = "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata: {name: ab, namespace: demo}\nspec:\n";
    check(&[
        (&format!("{h}  clientConfig: {{url: 'postgresql://db.example.com:5432/app?sslmode=require'}}\n  secret: {{name: s}}\n"), &[]),
        (&format!("{h}  secret: {{name: s}}\n"), &["m.yaml: AppBinding/ab: spec.clientConfig: Required value"]),
        (
            &format!("{h}  clientConfig: {{url: 'pg://u:p@db:5432', service: {{name: db, port: 5432, scheme: pg}}}}\n"),
            &["m.yaml: AppBinding/ab: spec.clientConfig: exactly one of url or service must be specified"],
        ),
        (&format!("{h}  clientConfig: {{url: 'pg://u:p@db:5432'}}\n"), &["m.yaml: AppBinding/ab: spec.clientConfig.url: url must not contain user info; put credentials in the Secret"]),
        (&format!("{h}  clientConfig: {{url: 'db:99999'}}\n"), &["m.yaml: AppBinding/ab: spec.clientConfig.url: invalid port \"99999\" in url"]),
        (&format!("{h}  clientConfig: {{service: {{name: db, port: 5432}}}}\n"), &["m.yaml: AppBinding/ab: spec.clientConfig.service: missing field `scheme`"]),
        (
            &format!("{h}  clientConfig: {{service: {{name: db, port: 5432, scheme: pg}}}}\n  secretTransforms:\n  - {{renameKey: {{from: a, to: b}}, removeKey: {{key: c}}}}\n  - {{addKeysFrom: {{}}}}\n"),
            &[
                "m.yaml: AppBinding/ab: spec.secretTransforms[0]: exactly one of renameKey, addKey, addKeysFrom, removeKey must be set, found 2",
                "m.yaml: AppBinding/ab: spec.secretTransforms[1].addKeysFrom.secretRef.name: Required value",
            ],
        ),
    ]);
}

#[test]
fn backup_blueprint() {
    let h = "apiVersion: stash.appscode.com/v1beta1\nkind: BackupBlueprint\nmetadata: {name: bp}\nspec:\n";
    check(&[
        (&format!("{h}  backend: {{gcs: {{bucket: b, prefix: '${{TARGET_NAMESPACE}}/${{TARGET_NAME}}'}}, storageSecretName: s}}\n  retentionPolicy: {{name: k, prune: true}}\n"), &[]),
        (
            &format!("{h}  backend: {{local: {{mountPath: /stash/x, emptyDir: {{}}}}, storageSecretName: s}}\n  wipeOut: true\n  schedule: 'every day'\n"),
            &[
                "m.yaml: BackupBlueprint/bp: spec.wipeOut: wipe out operation is not supported for local backend",
                "m.yaml: BackupBlueprint/bp: spec.backend.local.mountPath: `/stash` and `/stash/*` cannot be used as mountPath: the stash binary lives in /stash; use `/stash-backup` or any other path",
                "m.yaml: BackupBlueprint/bp: spec.schedule: invalid cron schedule \"every day\": expected exactly 5 fields, found 2: [\"every\", \"day\"]",
                "m.yaml: BackupBlueprint/bp: spec.retentionPolicy: Required value",
            ],
        ),
    ]);
}

#[test]
fn snapshot() {
    let h = "apiVersion: repositories.stash.appscode.com/v1alpha1\nkind: Snapshot\nmetadata: {name: repo-b54ee4a0, namespace: demo}\n";
    check(&[
        (&format!("{h}status: {{tree: abc, paths: [/data], hostname: host-0, username: '', uid: 0, gid: 0, repository: repo}}\n"), &[]),
        (&format!("{h}status: {{uid: root}}\n"), &["m.yaml: Snapshot/repo-b54ee4a0: status.uid: invalid type: string \"root\", expected i32"]),
        (&format!("{h}status: {{paths: /data}}\n"), &["m.yaml: Snapshot/repo-b54ee4a0: status.paths: invalid type: string \"/data\", expected a sequence"]),
    ]);
}

#[test]
fn unknown_kinds_of_stash_groups_and_bad_yaml_are_reported() {
    check(&[
        ("apiVersion: stash.appscode.com/v1alpha1\nkind: Restic\nmetadata: {name: old}\n", &[
            "m.yaml: Restic/old: kind: kind \"Restic\" is not served by \"stash.appscode.com/v1alpha1\"",
        ]),
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {whatever: 1}\n---\n", &[]),
    ]);
    let p = problems("a: [1, 2\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("m.yaml: invalid YAML: "), "{}", p[0]);
}

fn parse(yaml: &str) -> StashObject {
    let v: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
    StashObject::from_value(&v).unwrap().unwrap()
}

#[test]
fn usage_policy_across_namespaces() {
    let repo = |policy: &str| {
        parse(&format!(
            "{REPO_HEAD}spec:\n  backend: {{gcs: {{bucket: b}}, storageSecretName: s}}\n{policy}"
        ))
    };
    let StashObject::Repository(same) = repo("") else {
        unreachable!()
    };
    let none = std::collections::BTreeMap::new();
    assert_eq!(
        check_repository_usage(&same, "prod", &none).map(|p| p.to_string()),
        Some("spec.repository: namespace \"prod\" is not allowed to refer Repository \"r\" of \"demo\" namespace. Please, check the `usagePolicy` of the Repository".to_string())
    );
    assert_eq!(check_repository_usage(&same, "demo", &none), None);
    let StashObject::Repository(all) = repo("  usagePolicy: {allowedNamespaces: {from: All}}\n")
    else {
        unreachable!()
    };
    assert_eq!(check_repository_usage(&all, "prod", &none), None);
    let StashObject::Repository(sel) = repo("  usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchLabels: {team: db}}}}\n") else { unreachable!() };
    let team: std::collections::BTreeMap<String, String> =
        [("team".to_string(), "db".to_string())].into();
    assert_eq!(check_repository_usage(&sel, "prod", &team), None);
    assert!(check_repository_usage(&sel, "prod", &none).is_some());

    // validate_documents applies it to objects read together.
    let docs = format!(
        "{REPO_HEAD}spec: {{backend: {{gcs: {{bucket: b}}, storageSecretName: s}}}}\n---\n\
         apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {{name: bc, namespace: prod}}\n\
         spec: {{repository: {{name: r, namespace: demo}}, retentionPolicy: {{name: k, prune: true}}}}\n"
    );
    assert_eq!(problems(&docs), ["m.yaml: BackupConfiguration/bc: spec.repository: namespace \"prod\" is not allowed to refer Repository \"r\" of \"demo\" namespace. Please, check the `usagePolicy` of the Repository"]);
}

#[test]
fn target_is_frozen_while_ready() {
    let bc = |kind: &str, phase: &str| {
        parse(&format!(
            "{BC_HEAD}  repository: {{name: repo}}\n  retentionPolicy: {{name: k, prune: true}}\n  target: {{ref: {{apiVersion: apps/v1, kind: {kind}, name: app}}}}\nstatus: {{phase: {phase}}}\n"
        ))
    };
    let show = |v: Vec<Problem>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(
        show(validate_update(&bc("Deployment", "Ready"), &bc("StatefulSet", "Ready"))),
        ["BackupConfiguration/bc: spec.target: updating target is forbidden when BackupConfiguration is in READY state"]
    );
    assert!(validate_update(
        &bc("Deployment", "NotReady"),
        &bc("StatefulSet", "NotReady")
    )
    .is_empty());
    assert!(validate_update(&bc("Deployment", "Ready"), &bc("Deployment", "Ready")).is_empty());

    let session = |name: &str| {
        parse(&format!("apiVersion: stash.appscode.com/v1beta1\nkind: BackupSession\nmetadata: {{name: s}}\nspec: {{invoker: {{kind: BackupConfiguration, name: {name}}}}}\n"))
    };
    assert_eq!(
        show(validate_update(&session("a"), &session("b"))),
        ["BackupSession/s: spec: BackupSession spec is immutable"]
    );
    let restore = |path: &str| parse(&format!("{RS_HEAD}    rules: [{{paths: [{path}]}}]\n"));
    assert_eq!(
        show(validate_update(&restore("/a"), &restore("/b"))),
        ["RestoreSession/rs: spec: RestoreSession spec is immutable"]
    );
}

#[test]
fn validate_path_reads_files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), format!("{REPO_HEAD}spec: {{backend: {{b2: {{bucket: x}}, storageSecretName: s}}, wipeOut: true}}\n")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/b.yml"), "apiVersion: stash.appscode.com/v1beta1\nkind: Task\nmetadata: {name: t}\nspec: {steps: []}\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not yaml: [").unwrap();
    let shown: Vec<String> = validate_path(dir.path())
        .iter()
        .map(ToString::to_string)
        .collect();
    let d = dir.path().display();
    assert_eq!(
        shown,
        [
            format!("{d}/a.yaml: Repository/r: spec.wipeOut: wipe out operation is not supported for B2 backend"),
            format!("{d}/sub/b.yml: Task/t: spec.steps: Required value: a Task needs at least one step"),
        ]
    );
    let missing = validate_path(&dir.path().join("nope.yaml"));
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0]
            .to_string()
            .starts_with(&format!("{d}/nope.yaml: reading {d}/nope.yaml: ")),
        "{}",
        missing[0]
    );
}
