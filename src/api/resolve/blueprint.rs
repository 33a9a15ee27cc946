//! BackupBlueprint + an annotated target → the Repository and BackupConfiguration auto-backup
//! creates. Variables (`TARGET_API_VERSION`, `TARGET_KIND` (lower case), `TARGET_NAMESPACE`,
//! `TARGET_NAME`, `TARGET_RESOURCE`, and for AppBindings `TARGET_APP_GROUP`,
//! `TARGET_APP_RESOURCE`, `TARGET_APP_TYPE`, `TARGET_APP_VERSION`) are substituted into every
//! string of the blueprint. Objects are named `<kind>-<name>` (`app-<name>` for AppBindings),
//! prefixed with `<target namespace>-` when a `backupNamespace` is used.
//!
//! Target annotations: `stash.appscode.com/schedule` overrides the schedule,
//! `stash.appscode.com/target-paths` (`/a,/b`) and `stash.appscode.com/volume-mounts`
//! (`vol:/mount[:subPath],…`) fill the target, `params.stash.appscode.com/<key>` become task
//! params.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::VolumeMount;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::subst::substitute_value;
use super::variables::Vars;
use super::ResolveError;
use crate::api::backup_configuration::{BackupConfigurationTemplateSpec, BackupTarget};
use crate::api::common::{ObjectReference, Param, TaskRef};
use crate::api::{
    AppBinding, BackupBlueprint, BackupConfiguration, BackupConfigurationSpec, Repository,
    TargetRef,
};

pub const ANNOTATION_BLUEPRINT: &str = "stash.appscode.com/backup-blueprint";
pub const ANNOTATION_SCHEDULE: &str = "stash.appscode.com/schedule";
pub const ANNOTATION_TARGET_PATHS: &str = "stash.appscode.com/target-paths";
pub const ANNOTATION_VOLUME_MOUNTS: &str = "stash.appscode.com/volume-mounts";
pub const PARAMS_PREFIX: &str = "params.stash.appscode.com/";

/// The object being auto-backed-up.
#[derive(Clone, Copy, Debug)]
pub struct BlueprintTarget<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    pub annotations: &'a BTreeMap<String, String>,
    /// The AppBinding itself when the target is one (for `TARGET_APP_*`).
    pub appbinding: Option<&'a AppBinding>,
}

/// What a blueprint produces for one target.
#[derive(Clone, Debug, PartialEq)]
pub struct BlueprintObjects {
    pub repository: Repository,
    pub backup_configuration: BackupConfiguration,
}

/// Blueprint names listed in the `stash.appscode.com/backup-blueprint` annotation.
pub fn blueprint_names(annotations: &BTreeMap<String, String>) -> Vec<String> {
    annotations
        .get(ANNOTATION_BLUEPRINT)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `<kind>-<name>` (`app-<name>` for an AppBinding), prefixed with `<namespace>-` when the
/// objects go to a dedicated backup namespace.
pub fn object_name(target: &BlueprintTarget, backup_namespace: Option<&str>) -> String {
    let kind = if target.kind == "AppBinding" {
        "app".to_string()
    } else {
        target.kind.to_lowercase()
    };
    match backup_namespace.filter(|n| !n.is_empty()) {
        Some(_) => format!("{}-{kind}-{}", target.namespace, target.name),
        None => format!("{kind}-{}", target.name),
    }
}

/// The blueprint variables of `target`.
pub fn blueprint_variables(target: &BlueprintTarget) -> Vars {
    let mut v = Vars::new();
    let kind = target.kind.to_lowercase();
    v.insert("TARGET_API_VERSION".into(), target.api_version.into());
    v.insert("TARGET_KIND".into(), kind.clone());
    v.insert("TARGET_NAMESPACE".into(), target.namespace.into());
    v.insert("TARGET_NAME".into(), target.name.into());
    v.insert("TARGET_RESOURCE".into(), format!("{kind}s"));
    if let Some(ab) = target.appbinding {
        let (group, resource) = ab.spec.app_group_resource();
        let resource = if resource.is_empty() {
            "appbinding"
        } else {
            resource
        };
        v.insert("TARGET_APP_GROUP".into(), group.into());
        v.insert("TARGET_APP_RESOURCE".into(), resource.into());
        v.insert(
            "TARGET_APP_TYPE".into(),
            ab.spec.type_.clone().unwrap_or_default(),
        );
        v.insert(
            "TARGET_APP_VERSION".into(),
            ab.spec.version.clone().unwrap_or_default(),
        );
    }
    v
}

/// `vol:/mount[:subPath],…` → volume mounts.
pub fn parse_volume_mounts(s: &str) -> Vec<VolumeMount> {
    s.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            let mut parts = m.splitn(3, ':');
            VolumeMount {
                name: parts.next().unwrap_or_default().to_string(),
                mount_path: parts.next().unwrap_or_default().to_string(),
                sub_path: parts.next().map(String::from),
                ..Default::default()
            }
        })
        .collect()
}

fn substituted<T: serde::Serialize + serde::de::DeserializeOwned>(
    obj: &T,
    vars: &Vars,
    what: &str,
) -> Result<T, ResolveError> {
    let mut v = serde_json::to_value(obj).map_err(|source| ResolveError::Json {
        what: what.into(),
        source,
    })?;
    substitute_value(&mut v, vars).map_err(|source| ResolveError::Placeholder {
        what: what.into(),
        source,
    })?;
    serde_json::from_value(v).map_err(|source| ResolveError::Json {
        what: what.into(),
        source,
    })
}

/// Builds the Repository and BackupConfiguration for `target` from `bp`.
pub fn resolve_blueprint(
    bp: &BackupBlueprint,
    target: &BlueprintTarget,
) -> Result<BlueprintObjects, ResolveError> {
    let bp_name = bp.metadata.name.clone().unwrap_or_default();
    let vars = blueprint_variables(target);
    let spec = substituted(&bp.spec, &vars, &format!("BackupBlueprint {bp_name}"))?;
    let backup_ns = spec.backup_namespace.clone().filter(|n| !n.is_empty());
    let bc_ns = backup_ns
        .clone()
        .unwrap_or_else(|| target.namespace.to_string());
    let repo_ns = spec
        .repo_namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| bc_ns.clone());
    let name = object_name(target, backup_ns.as_deref());

    let repository = Repository {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(repo_ns.clone()),
            ..Default::default()
        },
        spec: spec.repository.clone(),
        status: None,
    };

    let a = target.annotations;
    let mut params: Vec<Param> = spec
        .task
        .as_ref()
        .map(|t| t.params().to_vec())
        .unwrap_or_default();
    for (k, val) in a {
        if let Some(key) = k.strip_prefix(PARAMS_PREFIX) {
            params.retain(|p| p.name != key);
            params.push(Param {
                name: key.to_string(),
                value: val.clone(),
            });
        }
    }
    let task = TaskRef {
        name: spec
            .task
            .as_ref()
            .and_then(|t| t.name.clone())
            .filter(|n| !n.is_empty()),
        params: Some(params).filter(|p| !p.is_empty()),
    };
    let target_ns = (bc_ns != target.namespace).then(|| target.namespace.to_string());
    let backup_target = BackupTarget {
        r#ref: Some(TargetRef {
            api_version: Some(target.api_version.to_string()),
            kind: Some(target.kind.to_string()),
            name: Some(target.name.to_string()),
            namespace: target_ns,
        }),
        paths: a.get(ANNOTATION_TARGET_PATHS).map(|p| {
            p.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        }),
        volume_mounts: a
            .get(ANNOTATION_VOLUME_MOUNTS)
            .map(|m| parse_volume_mounts(m)),
        ..Default::default()
    };
    let schedule = a
        .get(ANNOTATION_SCHEDULE)
        .cloned()
        .or(spec.schedule.clone());
    let backup_configuration = BackupConfiguration {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(bc_ns.clone()),
            ..Default::default()
        },
        spec: BackupConfigurationSpec {
            template: BackupConfigurationTemplateSpec {
                task: Some(task),
                target: Some(backup_target),
                runtime_settings: spec.runtime_settings.clone(),
                temp_dir: spec.temp_dir.clone(),
                interim_volume_template: spec.interim_volume_template.clone(),
                hooks: spec.hooks.clone(),
            },
            schedule,
            driver: None,
            repository: Some(ObjectReference {
                name,
                namespace: (repo_ns != bc_ns).then_some(repo_ns),
            }),
            retention_policy: spec.retention_policy.clone(),
            paused: None,
            backup_history_limit: spec.backup_history_limit,
            time_out: spec.time_out.clone(),
            retry_config: spec.retry_config.clone(),
        },
        status: None,
    };
    Ok(BlueprintObjects {
        repository,
        backup_configuration,
    })
}
