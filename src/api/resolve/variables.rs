//! The implicit variables Stash hands to Tasks and Functions, built from the objects involved
//! in one backup or restore, in Stash's order (later groups override earlier ones):
//! repository → target/invoker → retention → session → invoker kind/name → image → license →
//! metrics → the invoker's `task.params`.
//!
//! Values are exactly what Stash's `resolver/inputs.go` puts in, including its quirks: a
//! restore's `HOSTNAME` is the target alias (empty without one) and `TARGET_NAMESPACE` is only
//! set when the target names a namespace.

use std::collections::BTreeMap;

use crate::api::backup_configuration::BackupConfigurationTemplateSpec;
use crate::api::common::{Param, TaskRef};
use crate::api::repository::RetentionPolicy;
use crate::api::restore_session::{RestoreTargetSpec, Rule};
use crate::api::{AppBinding, Repository, TargetRef};

use super::rules::restore_options_for_host;

/// Variable name → value.
pub type Vars = BTreeMap<String, String>;

/// Where the interim volume is mounted when an `interimVolumeTemplate` is given.
pub const INTERIM_DATA_DIR_ON_VOLUME: &str = "/stash-interim-volume/data";
/// Where interim data goes otherwise (inside the tmp emptyDir).
pub const INTERIM_DATA_DIR_IN_TMP: &str = "/stash-tmp/stash-interim-volume/data";
/// Default mount path / backup path of a PVC target.
pub const DEFAULT_MOUNT_PATH: &str = "/stash-data";
/// Host name when there is no alias (job model, Deployment, PVC, AppBinding).
pub const DEFAULT_HOST: &str = "host-0";

/// Operator-wide settings that become variables.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperatorSettings {
    pub docker_registry: String,
    pub image: String,
    pub image_tag: String,
    pub license_apiservice: String,
    pub pushgateway_url: String,
}

/// Everything one backup's variables come from.
#[derive(Clone, Copy, Debug)]
pub struct BackupInputs<'a> {
    pub repository: Option<&'a Repository>,
    /// `BackupConfiguration` or `BackupBatch`.
    pub invoker_kind: &'a str,
    pub invoker_name: &'a str,
    /// The BackupConfiguration's template part, or one BackupBatch member.
    pub target: &'a BackupConfigurationTemplateSpec,
    pub retention_policy: Option<&'a RetentionPolicy>,
    pub session_name: &'a str,
    pub session_namespace: &'a str,
    pub settings: &'a OperatorSettings,
    /// The effective task params (see [`addon_task`]).
    pub task_params: &'a [Param],
}

/// Everything one restore's variables come from.
#[derive(Clone, Copy, Debug)]
pub struct RestoreInputs<'a> {
    pub repository: Option<&'a Repository>,
    /// `RestoreSession` or `RestoreBatch`.
    pub invoker_kind: &'a str,
    pub invoker_name: &'a str,
    pub invoker_namespace: &'a str,
    /// The RestoreSession's template part, or one RestoreBatch member.
    pub target: &'a RestoreTargetSpec,
    pub settings: &'a OperatorSettings,
    pub task_params: &'a [Param],
}

fn set(vars: &mut Vars, k: &str, v: impl Into<String>) {
    vars.insert(k.to_string(), v.into());
}

/// `REPOSITORY_*` and `MAX_CONNECTIONS`.
pub fn repository_vars(repo: &Repository) -> Vars {
    let mut v = Vars::new();
    let ns = repo.metadata.namespace.clone().unwrap_or_default();
    set(
        &mut v,
        "REPOSITORY_NAME",
        repo.metadata.name.clone().unwrap_or_default(),
    );
    set(&mut v, "REPOSITORY_NAMESPACE", ns.clone());
    set(&mut v, "REPOSITORY_INSECURE_TLS", "false");
    let backend = repo.spec.backend.clone().unwrap_or_default();
    set(
        &mut v,
        "REPOSITORY_PROVIDER",
        backend.provider().unwrap_or_default(),
    );
    set(&mut v, "REPOSITORY_BUCKET", backend.bucket());
    set(&mut v, "REPOSITORY_PREFIX", backend.prefix());
    // A local repository is the folder the volume is mounted at in the backup pod; Stash puts
    // that path in REPOSITORY_PREFIX (the kubelet applies `subPath` to the mount itself).
    if let Some(mount) = backend
        .local
        .as_ref()
        .and_then(|l| l.mount_path.as_deref())
        .filter(|m| !m.is_empty())
    {
        set(&mut v, "REPOSITORY_PREFIX", mount);
    }
    if let Some(secret) = backend
        .storage_secret_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        set(&mut v, "REPOSITORY_SECRET_NAME", secret);
        set(&mut v, "REPOSITORY_SECRET_NAMESPACE", ns);
    }
    if let Some(s3) = &backend.s3 {
        if s3.insecure_tls == Some(true) {
            set(&mut v, "REPOSITORY_INSECURE_TLS", "true");
        }
        if let Some(e) = s3.endpoint.as_deref().filter(|e| !e.is_empty()) {
            set(&mut v, "REPOSITORY_ENDPOINT", e);
        }
        if let Some(r) = s3.region.as_deref().filter(|r| !r.is_empty()) {
            set(&mut v, "REPOSITORY_REGION", r);
        }
    }
    if let Some(url) = backend
        .rest
        .as_ref()
        .and_then(|r| r.url.as_deref())
        .filter(|u| !u.is_empty())
    {
        set(&mut v, "REPOSITORY_ENDPOINT", url);
    }
    set(
        &mut v,
        "MAX_CONNECTIONS",
        backend.max_connections().to_string(),
    );
    v
}

/// `RETENTION_*`: only values that are set (keep counts > 0, prune/dryRun true).
pub fn retention_vars(rp: &RetentionPolicy) -> Vars {
    let mut v = Vars::new();
    let keeps = [
        ("RETENTION_KEEP_LAST", rp.keep_last),
        ("RETENTION_KEEP_HOURLY", rp.keep_hourly),
        ("RETENTION_KEEP_DAILY", rp.keep_daily),
        ("RETENTION_KEEP_WEEKLY", rp.keep_weekly),
        ("RETENTION_KEEP_MONTHLY", rp.keep_monthly),
        ("RETENTION_KEEP_YEARLY", rp.keep_yearly),
    ];
    for (k, n) in keeps {
        if let Some(n) = n.filter(|n| *n > 0) {
            set(&mut v, k, n.to_string());
        }
    }
    if let Some(tags) = rp.keep_tags.as_ref().filter(|t| !t.is_empty()) {
        set(&mut v, "RETENTION_KEEP_TAGS", tags.join(","));
    }
    if rp.prune == Some(true) {
        set(&mut v, "RETENTION_PRUNE", "true");
    }
    if rp.dry_run == Some(true) {
        set(&mut v, "RETENTION_DRY_RUN", "true");
    }
    v
}

fn target_ref_vars(v: &mut Vars, r: &TargetRef) {
    if !r.kind().is_empty() {
        set(v, "TARGET_KIND", r.kind());
    }
    if !r.name().is_empty() {
        set(v, "TARGET_NAME", r.name());
    }
    if let Some(ns) = r.namespace.as_deref().filter(|n| !n.is_empty()) {
        set(v, "TARGET_NAMESPACE", ns);
    }
}

fn mount_vars(v: &mut Vars, mounts: Option<&Vec<k8s_openapi::api::core::v1::VolumeMount>>) {
    let first = mounts.and_then(|m| m.first()).map(|m| m.mount_path.clone());
    set(
        v,
        "TARGET_MOUNT_PATH",
        first.unwrap_or_else(|| DEFAULT_MOUNT_PATH.into()),
    );
}

fn driver_vars(v: &mut Vars, args: Option<&Vec<String>>, exclude: Option<&Vec<String>>) {
    if let Some(a) = args.filter(|a| !a.is_empty()) {
        set(v, "DRIVER_ARGS", a.join(" "));
    }
    if let Some(e) = exclude.filter(|e| !e.is_empty()) {
        set(v, "EXCLUDE_PATTERNS", e.join(","));
    }
}

fn interim_vars(v: &mut Vars, has_template: bool) {
    let dir = if has_template {
        INTERIM_DATA_DIR_ON_VOLUME
    } else {
        INTERIM_DATA_DIR_IN_TMP
    };
    set(v, "INTERIM_DATA_DIR", dir);
}

fn tail_vars(v: &mut Vars, kind: &str, name: &str, s: &OperatorSettings, params: &[Param]) {
    set(v, "INVOKER_KIND", kind);
    set(v, "INVOKER_NAME", name);
    set(v, "STASH_DOCKER_REGISTRY", s.docker_registry.as_str());
    set(v, "STASH_DOCKER_IMAGE", s.image.as_str());
    set(v, "STASH_IMAGE_TAG", s.image_tag.as_str());
    set(v, "LICENSE_APISERVICE", s.license_apiservice.as_str());
    set(v, "PROMETHEUS_PUSHGATEWAY_URL", s.pushgateway_url.as_str());
    set(v, "PROMETHEUS_JOB_NAME", name);
    for p in params {
        set(v, &p.name, p.value.as_str());
    }
}

/// All variables of a backup, invoker `task.params` last (they win).
pub fn backup_variables(i: &BackupInputs) -> Vars {
    let mut v = i.repository.map(repository_vars).unwrap_or_default();
    let t = i.target;
    if let Some(target) = &t.target {
        target_ref_vars(&mut v, &target.target_ref());
        let paths = target.paths.as_ref().filter(|p| !p.is_empty());
        set(
            &mut v,
            "TARGET_PATHS",
            paths
                .map(|p| p.join(","))
                .unwrap_or_else(|| DEFAULT_MOUNT_PATH.into()),
        );
        driver_vars(&mut v, target.args.as_ref(), target.exclude.as_ref());
        mount_vars(&mut v, target.volume_mounts.as_ref());
    }
    let alias = t
        .target
        .as_ref()
        .and_then(|x| x.alias.as_deref())
        .filter(|a| !a.is_empty());
    set(&mut v, "HOSTNAME", alias.unwrap_or(DEFAULT_HOST));
    let caching = !t
        .temp_dir
        .as_ref()
        .and_then(|d| d.disable_caching)
        .unwrap_or(false);
    set(&mut v, "ENABLE_CACHE", caching.to_string());
    interim_vars(&mut v, t.interim_volume_template.is_some());
    if let Some(rp) = i.retention_policy {
        v.extend(retention_vars(rp));
    }
    set(&mut v, "BACKUP_SESSION", i.session_name);
    set(&mut v, "NAMESPACE", i.session_namespace);
    tail_vars(
        &mut v,
        i.invoker_kind,
        i.invoker_name,
        i.settings,
        i.task_params,
    );
    v
}

/// The variables that say what host `host` restores, from the `rules` that apply to it:
/// `HOSTNAME`, `SOURCE_HOSTNAME`, `RESTORE_PATHS`, `RESTORE_SNAPSHOTS`, `INCLUDE_PATTERNS`,
/// `EXCLUDE_PATTERNS`. A target with several hosts (a StatefulSet's replicas) sets them per host.
pub fn restore_host_vars(v: &mut Vars, host: &str, rules: &[Rule]) {
    let opts = restore_options_for_host(host, rules);
    set(v, "HOSTNAME", opts.host);
    set(v, "SOURCE_HOSTNAME", opts.source_host);
    set(v, "RESTORE_PATHS", opts.paths.join(","));
    set(v, "RESTORE_SNAPSHOTS", opts.snapshots.join(","));
    set(v, "INCLUDE_PATTERNS", opts.include.join(","));
    set(v, "EXCLUDE_PATTERNS", opts.exclude.join(","));
}

/// All variables of a restore, invoker `task.params` last (they win).
pub fn restore_variables(i: &RestoreInputs) -> Vars {
    let mut v = i.repository.map(repository_vars).unwrap_or_default();
    let t = i.target;
    let mut alias = String::new();
    let mut rules = &[][..];
    let mut replicas = 1;
    if let Some(target) = &t.target {
        driver_vars(&mut v, target.args.as_ref(), None);
        let r = target.target_ref();
        target_ref_vars(&mut v, &r);
        mount_vars(&mut v, target.volume_mounts.as_ref());
        let first_claim = target
            .volume_claim_templates
            .as_ref()
            .and_then(|c| c.first());
        if let (Some(claim), true) = (first_claim, r.name().is_empty()) {
            let name = claim
                .metadata
                .as_ref()
                .and_then(|m| m.name.clone())
                .unwrap_or_default();
            set(&mut v, "TARGET_NAME", name);
        }
        alias = target.alias.clone().unwrap_or_default();
        rules = target.rules();
        replicas = target.replicas.unwrap_or(1);
    }
    restore_host_vars(&mut v, &alias, rules);
    let caching = !t
        .temp_dir
        .as_ref()
        .and_then(|d| d.disable_caching)
        .unwrap_or(false);
    set(&mut v, "ENABLE_CACHE", caching.to_string());
    set(&mut v, "TARGET_APP_REPLICAS", replicas.to_string());
    interim_vars(&mut v, t.interim_volume_template.is_some());
    set(&mut v, "NAMESPACE", i.invoker_namespace);
    set(&mut v, "RESTORE_SESSION", i.invoker_name);
    tail_vars(
        &mut v,
        i.invoker_kind,
        i.invoker_name,
        i.settings,
        i.task_params,
    );
    v
}

/// Which Task to run and its effective params (Stash's `ExtractAddonInfo`): an AppBinding
/// target (`appcatalog.appscode.com` group) may name backup/restore Tasks in
/// `parameters.stash.addon`; the invoker's `task.name` overrides the name and its params are
/// upserted over the addon's. Deliberate fix: Stash seeds restore params from the *backup*
/// task's params when the invoker has params; here a restore starts from the restore task's.
pub fn addon_task(
    invoker_task: Option<&TaskRef>,
    target: &TargetRef,
    appbinding: Option<&AppBinding>,
    restore: bool,
) -> (String, Vec<Param>) {
    let group = target
        .api_version
        .as_deref()
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default();
    let is_appbinding = group == crate::api::APPCATALOG_GROUP && target.kind() == "AppBinding";
    let addon = appbinding
        .filter(|_| is_appbinding)
        .and_then(|ab| ab.spec.stash_addon())
        .map(|a| {
            if restore {
                a.stash.addon.restore_task
            } else {
                a.stash.addon.backup_task
            }
        })
        .unwrap_or_default();
    let mut name = addon.name;
    let mut params = addon.params;
    if let Some(t) = invoker_task {
        if !t.name().is_empty() {
            name = t.name().to_string();
        }
        for p in t.params() {
            match params.iter_mut().find(|q| q.name == p.name) {
                Some(q) => q.value = p.value.clone(),
                None => params.push(p.clone()),
            }
        }
    }
    (name, params)
}
