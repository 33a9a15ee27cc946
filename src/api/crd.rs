//! CustomResourceDefinitions generated from the Rust types, and their file names under
//! `charts/stash/crds/` (`<group>_<plural>.yaml`, as Stash names its own). The committed files
//! are checked against the types by a test, so a type change without regenerating fails CI.
//!
//! Regenerate with `UPDATE_CRDS=1 cargo test -p stash api::crd`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use super::{
    AppBinding, BackupBatch, BackupBlueprint, BackupConfiguration, BackupSession, Function,
    Repository, RestoreBatch, RestoreSession, Task,
};

/// Errors rendering CRDs.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    #[error("serialising CRD {name} to YAML")]
    Yaml {
        name: String,
        #[source]
        source: serde_saphyr::SerializeError,
    },
}

/// Every CRD this crate defines (Snapshot is served by an aggregated API, not a CRD).
pub fn all() -> Vec<CustomResourceDefinition> {
    let crds = vec![
        Repository::crd(),
        BackupConfiguration::crd(),
        BackupBatch::crd(),
        BackupSession::crd(),
        RestoreSession::crd(),
        RestoreBatch::crd(),
        Function::crd(),
        Task::crd(),
        BackupBlueprint::crd(),
        AppBinding::crd(),
    ];
    crds.into_iter().map(without_nullable).collect()
}

/// The derive marks every `Option` field `nullable` (and adds `null` to enums). Stash's CRDs do
/// not: an explicit `null` is pruned by the API server rather than stored. Match them.
fn without_nullable(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("nullable");
                if let Some(serde_json::Value::Array(values)) = map.get_mut("enum") {
                    values.retain(|x| !x.is_null());
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    for version in &mut crd.spec.versions {
        let Some(schema) = version.schema.as_mut() else {
            continue;
        };
        let Some(s) = schema.open_api_v3_schema.take() else {
            continue;
        };
        let mut json = serde_json::to_value(&s).unwrap_or_default();
        walk(&mut json);
        schema.open_api_v3_schema = serde_json::from_value(json).ok().or(Some(s));
    }
    crd
}

/// `<group>_<plural>.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// The CRD as a YAML document.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, CrdError> {
    let name = crd.metadata.name.clone().unwrap_or_default();
    serde_saphyr::to_string(crd).map_err(|source| CrdError::Yaml { name, source })
}

/// The `openAPIV3Schema` of the CRD for `group`/`kind` (first version), as JSON.
pub fn schema_of(kind: &str) -> Option<serde_json::Value> {
    let crd = all().into_iter().find(|c| c.spec.names.kind == kind)?;
    let schema = crd
        .spec
        .versions
        .first()?
        .schema
        .as_ref()?
        .open_api_v3_schema
        .as_ref()?;
    serde_json::to_value(schema).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn crd_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("charts/stash/crds")
    }

    /// The committed CRDs match the types. Set `UPDATE_CRDS=1` to rewrite them instead.
    #[test]
    fn committed_crds_match_types() {
        let dir = crd_dir();
        let update = std::env::var("UPDATE_CRDS").is_ok_and(|v| v == "1");
        if update {
            std::fs::create_dir_all(&dir).unwrap();
        }
        let mut expected = Vec::new();
        for crd in all() {
            let name = file_name(&crd);
            let yaml = to_yaml(&crd).unwrap();
            let path = dir.join(&name);
            if update {
                std::fs::write(&path, &yaml).unwrap();
            } else {
                let committed = std::fs::read_to_string(&path).unwrap_or_default();
                assert!(
                    committed == yaml,
                    "{} is out of date with src/api; run UPDATE_CRDS=1 cargo test -p stash api::crd",
                    path.display()
                );
            }
            expected.push(name);
        }
        let mut present: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        present.sort();
        expected.sort();
        assert_eq!(
            present,
            expected,
            "stale or missing files in {}",
            dir.display()
        );
    }

    /// Each committed CRD is a valid CustomResourceDefinition for Kubernetes 1.33, as judged by
    /// `kubernetes-validate --strict`, installed by `integration/scripts/install-tools.sh` into
    /// `$KV_VENV` (default `~/.cache/stash/venv-kv`). Fails when the tool is missing: a
    /// validation that did not run proves nothing.
    #[test]
    fn crds_pass_kubernetes_validate() {
        let venv = std::env::var("KV_VENV").unwrap_or_else(|_| {
            format!(
                "{}/.cache/stash/venv-kv",
                std::env::var("HOME").unwrap_or_else(|_| "/root".into())
            )
        });
        let bin = PathBuf::from(venv).join("bin/kubernetes-validate");
        assert!(
            bin.exists(),
            "kubernetes-validate not installed at {}; run integration/scripts/install-tools.sh",
            bin.display()
        );
        for crd in all() {
            let path = crd_dir().join(file_name(&crd));
            let out = std::process::Command::new(&bin)
                .args(["-k", "1.33.0", "--strict"])
                .arg(&path)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{}: {text}", path.display());
            assert!(
                text.contains("passed for resource customresourcedefinition/"),
                "{}: {text}",
                path.display()
            );
        }
    }

    #[test]
    fn names_scopes_and_columns_are_stashs() {
        let by_kind = |k: &str| all().into_iter().find(|c| c.spec.names.kind == k).unwrap();
        let repo = by_kind("Repository");
        assert_eq!(
            repo.metadata.name.as_deref(),
            Some("repositories.stash.appscode.com")
        );
        assert_eq!(repo.spec.scope, "Namespaced");
        assert_eq!(repo.spec.names.short_names, Some(vec!["repo".to_string()]));
        assert_eq!(
            repo.spec.names.categories,
            Some(vec!["stash".to_string(), "appscode".to_string()])
        );
        let cols: Vec<_> = repo.spec.versions[0]
            .additional_printer_columns
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| (c.name.as_str(), c.json_path.as_str()))
            .collect();
        assert_eq!(
            cols,
            [
                ("Integrity", ".status.integrity"),
                ("Size", ".status.totalSize"),
                ("Snapshot-Count", ".status.snapshotCount"),
                ("Last-Successful-Backup", ".status.lastBackupTime"),
                ("Age", ".metadata.creationTimestamp"),
            ]
        );
        assert!(repo.spec.versions[0]
            .subresources
            .as_ref()
            .unwrap()
            .status
            .is_some());
        for k in ["Function", "Task", "BackupBlueprint"] {
            assert_eq!(by_kind(k).spec.scope, "Cluster", "{k}");
            assert!(by_kind(k).spec.versions[0].subresources.is_none(), "{k}");
        }
        assert_eq!(
            by_kind("BackupConfiguration").spec.names.short_names,
            Some(vec!["bc".into()])
        );
        assert_eq!(
            by_kind("RestoreSession").spec.names.short_names,
            Some(vec!["restore".into()])
        );
        assert_eq!(
            by_kind("Function").spec.names.short_names,
            Some(vec!["fn".into()])
        );
        assert_eq!(
            by_kind("BackupBlueprint").spec.names.short_names,
            Some(vec!["bb".into()])
        );
        assert_eq!(by_kind("BackupBatch").spec.names.short_names, None);
        assert_eq!(
            by_kind("AppBinding").spec.names.categories,
            Some(vec!["catalog".into(), "appscode".into(), "all".into()])
        );
        assert_eq!(by_kind("AppBinding").spec.group, "appcatalog.appscode.com");
    }

    #[test]
    fn required_fields_and_defaults_are_in_the_schema() {
        let bc = schema_of("BackupConfiguration").unwrap();
        let spec = &bc["properties"]["spec"];
        assert_eq!(spec["required"], serde_json::json!(["retentionPolicy"]));
        assert_eq!(
            spec["properties"]["retentionPolicy"]["required"],
            serde_json::json!(["name", "prune"])
        );
        assert_eq!(spec["properties"]["driver"]["default"], "Restic");
        assert_eq!(
            spec["properties"]["driver"]["enum"],
            serde_json::json!(["Restic", "VolumeSnapshotter"])
        );
        assert_eq!(
            spec["properties"]["retryConfig"]["properties"]["maxRetry"]["default"],
            1
        );
        // Inlined template fields sit directly under spec, as in Stash.
        assert!(spec["properties"]["target"]["properties"]["paths"].is_object());
        let repo = schema_of("Repository").unwrap();
        let local = &repo["properties"]["spec"]["properties"]["backend"]["properties"]["local"];
        assert!(
            local["properties"]["nfs"].is_object(),
            "VolumeSource is inlined into local"
        );
        assert!(local["properties"]["mountPath"].is_object());
    }
}
