//! Resolution tables: claims to volumes to host folders, workload paths to mounts, and the
//! messages that say what is missing.
use serde_json::Value;

use super::*;

fn yaml(s: &str) -> Value {
    serde_saphyr::from_str(s).unwrap()
}

fn typed<T: serde::de::DeserializeOwned>(s: &str) -> T {
    serde_json::from_value(yaml(s)).unwrap()
}

fn claim(name: &str, volume: Option<&str>) -> PersistentVolumeClaim {
    let spec = volume.map_or(String::new(), |v| format!("spec: {{volumeName: {v}}}"));
    typed(&format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: demo}}\n{spec}\n"
    ))
}

fn volume(name: &str, spec: &str) -> PersistentVolume {
    typed(&format!(
        "apiVersion: v1\nkind: PersistentVolume\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    ))
}

fn objects() -> Objects {
    Objects {
        claims: vec![
            claim("data", Some("pv-data")),
            claim("by-claim-ref", None),
            claim("unbound", None),
            claim("nfs", Some("pv-nfs")),
            claim("dangling", Some("pv-gone")),
            claim("data-db-0", Some("pv-db")),
        ],
        volumes: vec![
            volume("pv-data", "{hostPath: {path: /srv/data}}"),
            volume(
                "pv-local",
                "{local: {path: /mnt/disk1}, claimRef: {namespace: demo, name: by-claim-ref}}",
            ),
            volume("pv-nfs", "{nfs: {server: x, path: /e}}"),
            volume("pv-db", "{hostPath: {path: /srv/db}}"),
        ],
    }
}

fn err(r: Result<impl std::fmt::Debug, VolumeError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn claims_resolve_through_their_volumes() {
    let o = objects();
    assert_eq!(
        claim_folder("demo", "data", &o).unwrap(),
        PathBuf::from("/srv/data")
    );
    assert_eq!(
        claim_folder("demo", "by-claim-ref", &o).unwrap(),
        PathBuf::from("/mnt/disk1"),
        "a PersistentVolume whose claimRef names the claim, local.path"
    );
    assert_eq!(
        pvc_mounts("demo", "data", "/stash-data", &o).unwrap(),
        vec![("/stash-data".to_string(), PathBuf::from("/srv/data"))]
    );
}

#[test]
fn claims_that_reach_no_host_folder_say_how_to_fix_it() {
    let o = objects();
    assert_eq!(
        err(claim_folder("demo", "unbound", &o)),
        "PersistentVolumeClaim demo/unbound is not bound: set spec.volumeName to a PersistentVolume with hostPath or local.path"
    );
    assert_eq!(
        err(claim_folder("demo", "nfs", &o)),
        "PersistentVolume pv-nfs (bound to PersistentVolumeClaim demo/nfs) has neither hostPath nor local.path: local mode reaches volumes through host folders"
    );
    assert!(err(claim_folder("demo", "dangling", &o))
        .contains("names PersistentVolume pv-gone (spec.volumeName), which does not exist"));
    assert!(err(claim_folder("other", "data", &o))
        .starts_with("PersistentVolumeClaim other/data not found"));
}

fn deployment(volumes: &str, mounts: &str) -> Workload {
    Workload::from_value(&yaml(&format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app, namespace: demo}}\n\
         spec:\n  template:\n    spec:\n      containers:\n      - name: app\n        volumeMounts: {mounts}\n      volumes: {volumes}\n"
    )))
    .unwrap()
}

fn paths(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

fn mounts_of(m: &[(&str, &str)]) -> Vec<Mount> {
    m.iter()
        .map(|(p, h)| (p.to_string(), PathBuf::from(h)))
        .collect()
}

#[test]
fn workload_paths_go_through_the_mount_holding_them() {
    let w = deployment(
        "[{name: data, persistentVolumeClaim: {claimName: data}}, {name: logs, hostPath: {path: /var/log/app}}]",
        "[{name: data, mountPath: /a, subPath: a}, {name: data, mountPath: /b, subPath: b}, {name: logs, mountPath: /a/logs}]",
    );
    let o = objects();
    let got = workload_mounts(&w, &paths(&["/a", "/b/x", "/a/logs/today"]), &[], 0, &o).unwrap();
    assert_eq!(
        got,
        mounts_of(&[
            ("/a", "/srv/data/a"),
            ("/b", "/srv/data/b"),
            ("/a/logs", "/var/log/app")
        ]),
        "subPath honoured, the innermost mount wins, each mount once"
    );
    assert_eq!(
        err(workload_mounts(&w, &paths(&["/etc/app"]), &[], 0, &o)),
        "Deployment demo/app: path /etc/app is on none of its volumes: mount a volume at it or above it (the target's volumeMounts, or a container's)"
    );
    assert!(err(workload_mounts(&w, &[], &[], 0, &o)).contains("set the target's paths"));
}

#[test]
fn the_targets_volume_mounts_are_the_sidecars_view() {
    let w = deployment(
        "[{name: data, hostPath: {path: /srv/app}}]",
        "[{name: data, mountPath: /var/lib/app}]",
    );
    let sidecar: Vec<VolumeMount> = typed("[{name: data, mountPath: /source/data}]");
    let got = workload_mounts(&w, &paths(&["/source/data"]), &sidecar, 0, &objects()).unwrap();
    assert_eq!(got, mounts_of(&[("/source/data", "/srv/app")]));
    assert!(err(workload_mounts(
        &w,
        &paths(&["/var/lib/app"]),
        &sidecar,
        0,
        &objects()
    ))
    .contains("path /var/lib/app is on none of its volumes"));
}

#[test]
fn volumes_not_on_this_machine_are_named() {
    let o = objects();
    let w = deployment(
        "[{name: cache, emptyDir: {}}, {name: d, persistentVolumeClaim: {claimName: unbound}}, {name: h, hostPath: {path: /h}}]",
        "[{name: cache, mountPath: /cache}, {name: d, mountPath: /d}, {name: nope, mountPath: /n}, {name: h, mountPath: /x, subPath: ../etc}]",
    );
    assert_eq!(
        err(workload_mounts(&w, &paths(&["/cache"]), &[], 0, &o)),
        "Deployment demo/app: volume \"cache\" (emptyDir) is not on a host folder: local mode reaches hostPath volumes and PersistentVolumeClaims bound to hostPath or local PersistentVolumes"
    );
    assert!(err(workload_mounts(&w, &paths(&["/d"]), &[], 0, &o))
        .contains("PersistentVolumeClaim demo/unbound is not bound"));
    assert!(err(workload_mounts(&w, &paths(&["/n"]), &[], 0, &o))
        .contains("volumeMount /n names volume \"nope\", which its pod template does not define"));
    assert!(err(workload_mounts(&w, &paths(&["/x"]), &[], 0, &o))
        .contains("subPath \"../etc\" must be a relative path inside the volume"));
}

#[test]
fn a_statefulset_has_a_host_per_replica_each_with_its_ordinals_claims() {
    let sts = |replicas: u32| {
        Workload::from_value(&yaml(&format!(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db, namespace: demo}}\n\
             spec:\n  replicas: {replicas}\n  template:\n    spec:\n      containers:\n      - name: db\n        volumeMounts: [{{name: data, mountPath: /var/lib/db}}]\n\
             \x20 volumeClaimTemplates:\n  - metadata: {{name: data}}\n"
        )))
        .unwrap()
    };
    let got = workload_mounts(&sts(1), &paths(&["/var/lib/db"]), &[], 0, &objects()).unwrap();
    assert_eq!(got, mounts_of(&[("/var/lib/db", "/srv/db")]));
    let three = sts(3);
    assert_eq!(
        three.hosts(None),
        [
            (0, Some("host-0".to_string())),
            (1, Some("host-1".to_string())),
            (2, Some("host-2".to_string()))
        ]
    );
    assert_eq!(three.hosts(Some("app"))[2], (2, Some("app-2".to_string())));
    let mut o = objects();
    o.claims.push(
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data-db-2", "namespace": "demo"},
            "spec": {"volumeName": "pv-db-2"}
        }))
        .unwrap(),
    );
    o.volumes.push(
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pv-db-2"},
            "spec": {"hostPath": {"path": "/srv/db-2"}}
        }))
        .unwrap(),
    );
    let got = workload_mounts(&three, &paths(&["/var/lib/db"]), &[], 2, &o).unwrap();
    assert_eq!(got, mounts_of(&[("/var/lib/db", "/srv/db-2")]));
    assert!(err(workload_mounts(
        &three,
        &paths(&["/var/lib/db"]),
        &[],
        1,
        &o
    ))
    .contains("PersistentVolumeClaim demo/data-db-1 not found"));
    // Other kinds have one host, named by the Task.
    assert_eq!(deployment("[]", "[]").hosts(Some("app")), [(0, None)]);
}

#[test]
fn restores_mount_every_host_folder_and_need_the_rules_paths() {
    let o = objects();
    let w = deployment(
        "[{name: data, persistentVolumeClaim: {claimName: data}}, {name: conf, configMap: {name: c}}]",
        "[{name: data, mountPath: /data}, {name: conf, mountPath: /etc/app}]",
    );
    assert_eq!(
        workload_restore_mounts(&w, &paths(&["/data"]), &[], 0, &o).unwrap(),
        mounts_of(&[("/data", "/srv/data")]),
        "the config map is left out"
    );
    assert!(err(workload_restore_mounts(
        &w,
        &paths(&["/etc/app"]),
        &[],
        0,
        &o
    ))
    .contains("volume \"conf\" (configMap) is not on a host folder"));
    assert!(
        err(workload_restore_mounts(&w, &paths(&["/srv"]), &[], 0, &o))
            .contains("path /srv is on none of its volumes")
    );
    let sidecar: Vec<VolumeMount> = typed("[{name: conf, mountPath: /etc/app}]");
    assert!(err(workload_restore_mounts(&w, &[], &sidecar, 0, &o))
        .contains("volume \"conf\" (configMap) is not on a host folder"));
}

#[test]
fn workloads_without_a_task_run_the_pvc_functions() {
    assert_eq!(default_task("Deployment", false), Some("pvc-backup"));
    assert_eq!(default_task("StatefulSet", true), Some("pvc-restore"));
    assert_eq!(default_task("PersistentVolumeClaim", false), None);
    assert_eq!(default_task("AppBinding", false), None);
}

#[test]
fn a_local_repository_is_its_host_folder() {
    let repo: Repository = typed(
        "apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {name: r, namespace: demo}\n\
         spec:\n  backend:\n    local: {mountPath: /safe/data, subPath: team-a, hostPath: {path: /srv/repo}}\n",
    );
    assert_eq!(
        repository_mount(&repo),
        Some(("/safe/data".to_string(), PathBuf::from("/srv/repo/team-a")))
    );
    let mut job = JobSpec {
        name: "j".into(),
        owner: ObjRef::of::<Repository>("demo", "r"),
        steps: vec![],
        env: Default::default(),
        mounts: vec![],
        timeout: None,
    };
    attach(
        &mut job,
        &repo,
        &mounts_of(&[("/a", "/h/a"), ("/b", "/h/b")]),
    );
    assert_eq!(job.env[MOUNTS_ENV], "/a=/h/a\n/b=/h/b");
    assert_eq!(job.mounts, mounts_of(&[("/safe/data", "/srv/repo/team-a")]));
    let s3: Repository = typed(
        "apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {name: r, namespace: demo}\n\
         spec:\n  backend:\n    s3: {bucket: b}\n",
    );
    assert_eq!(repository_mount(&s3), None);
}

#[test]
fn daemonset_hosts_are_named_after_the_node() {
    assert_eq!(
        host_name("DaemonSet", None, "node-1"),
        Some("node-1".into())
    );
    assert_eq!(
        host_name("DaemonSet", Some("logs"), "node-1"),
        Some("logs-node-1".into())
    );
    assert_eq!(host_name("Deployment", Some("app"), "node-1"), None);
    assert!(!this_node().is_empty());
}
