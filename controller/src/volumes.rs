//! Where a target's volumes are on this machine, for local mode: the mounts (pod path → host
//! folder) a job needs so that its steps read and write the host folders while naming the
//! pod's paths, as Stash's Job or sidecar would.
//!
//! - A PersistentVolumeClaim is mounted where the `pvc-backup`/`pvc-restore` Functions mount
//!   it (`TARGET_MOUNT_PATH`: the target's first volumeMount, else `/stash-data`); its folder is
//!   its PersistentVolume's (`spec.volumeName`, or the one whose `claimRef` names the claim)
//!   `hostPath.path` or `local.path`.
//! - A workload's `paths` go through its volume mounts: the target's `volumeMounts` (what
//!   Stash mounts into its sidecar), else its containers' — for each path the mount whose
//!   `mountPath` holds it, then the pod volume it names: a `hostPath`, or a
//!   `persistentVolumeClaim` resolved as above (a StatefulSet's claim templates give
//!   `<template>-<name>-<ordinal>`); `subPath` is honoured.
//! - A StatefulSet has one host per replica, `host-<ordinal>` (`<alias>-<ordinal>`), each with
//!   its own claims, as Stash's sidecars in its pods back each up; every other target has one
//!   host, named by the Task's variables ([`Host`]).
//! - A `local` repository is its volume's host folder (`hostPath.path` + `subPath`).
//!
//! The resolution is pure ([`claim_folder`], [`pvc_mounts`], [`workload_mounts`],
//! [`workload_restore_mounts`]) over objects the async functions ([`backup_hosts`],
//! [`restore_hosts`]) read from the store. Its errors name what is missing and how to fix it;
//! a reconciler turns them into `BackupExecutorEnsured=False` (or `RestoreExecutorEnsured`).
//! The mounts reach the steps as [`MOUNTS_ENV`], read by `stash addon volume`; the repository's
//! folder as an ordinary job mount (its `--path=` argument is rewritten).
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    PersistentVolume, PersistentVolumeClaim, PodSpec, ReplicationController, Volume, VolumeMount,
};
use serde_json::Value;
use stash::api::backup_configuration::BackupTarget;
use stash::api::resolve::variables::DEFAULT_MOUNT_PATH;
use stash::api::restore_session::RestoreTarget;
use stash::api::{Repository, TargetRef};

use crate::context::Ctx;
use crate::error::Result;
use crate::runner::JobSpec;
use crate::store::{Kind, ObjRef, Object, Selector, StoreExt};

/// A folder of the pod and the host folder behind it.
pub type Mount = (String, PathBuf);

/// Environment variable giving a job's steps the pod's mounts, `POD=HOST` per line
/// (`stash addon volume --mount`).
pub const MOUNTS_ENV: &str = "STASH_MOUNTS";

/// Why a target's folders cannot be found on this machine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    #[error(
        "PersistentVolumeClaim {0} not found: add its manifest to the folder, or fix the name"
    )]
    ClaimNotFound(String),
    #[error("PersistentVolumeClaim {0} is not bound: set spec.volumeName to a PersistentVolume with hostPath or local.path")]
    NotBound(String),
    #[error("PersistentVolumeClaim {claim} names PersistentVolume {volume} (spec.volumeName), which does not exist: add its manifest, with hostPath or local.path")]
    VolumeNotFound { claim: String, volume: String },
    #[error("PersistentVolume {volume} (bound to PersistentVolumeClaim {claim}) has neither hostPath nor local.path: local mode reaches volumes through host folders")]
    NotOnHost { claim: String, volume: String },
    #[error("{workload}: path {path} is on none of its volumes: mount a volume at it or above it (the target's volumeMounts, or a container's)")]
    PathNotMounted { workload: String, path: String },
    #[error("{workload}: volumeMount {mount_path} names volume {volume:?}, which its pod template does not define (spec.template.spec.volumes)")]
    NoSuchVolume {
        workload: String,
        mount_path: String,
        volume: String,
    },
    #[error("{workload}: volume {volume:?} ({volume_type}) is not on a host folder: local mode reaches hostPath volumes and PersistentVolumeClaims bound to hostPath or local PersistentVolumes")]
    Unreachable {
        workload: String,
        volume: String,
        volume_type: String,
    },
    #[error("{workload}: volumeMount {mount_path} uses subPathExpr, which local mode does not expand: use subPath")]
    SubPathExpr {
        workload: String,
        mount_path: String,
    },
    #[error("{what}: subPath {sub_path:?} must be a relative path inside the volume")]
    BadSubPath { what: String, sub_path: String },
    #[error("{0} not found: add its manifest to the folder, or fix the target's name")]
    WorkloadNotFound(String),
    #[error("{workload} has no pod template (spec.template.spec): {reason}")]
    NoTemplate { workload: String, reason: String },
    #[error("{0} has no paths to back up: set the target's paths (folders of its containers, e.g. [/var/lib/app])")]
    NoPaths(String),
}

/// One host of a target: its snapshot host name when the target decides it (a StatefulSet's
/// `host-<ordinal>`; `None`: the Task's `HOSTNAME`), and the mounts its job needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Host {
    pub name: Option<String>,
    pub mounts: Vec<Mount>,
}

/// The claims and volumes the resolution looks at.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    pub claims: Vec<PersistentVolumeClaim>,
    pub volumes: Vec<PersistentVolume>,
}

fn name_of<T: Object>(o: &T) -> &str {
    o.meta().name.as_deref().unwrap_or_default()
}

fn namespace_of<T: Object>(o: &T) -> &str {
    o.meta().namespace.as_deref().unwrap_or_default()
}

/// `folder` joined with a volumeMount's `subPath`, which must stay inside it.
fn with_sub_path(
    folder: PathBuf,
    sub_path: Option<&str>,
    what: &str,
) -> Result<PathBuf, VolumeError> {
    let Some(sub) = sub_path.filter(|s| !s.is_empty()) else {
        return Ok(folder);
    };
    if Path::new(sub).is_absolute() || sub.split('/').any(|c| c == "..") {
        return Err(VolumeError::BadSubPath {
            what: what.to_string(),
            sub_path: sub.to_string(),
        });
    }
    Ok(folder.join(sub))
}

/// The host folder of PersistentVolumeClaim `namespace/claim`: its PersistentVolume's
/// `hostPath.path` or `local.path`.
pub fn claim_folder(namespace: &str, claim: &str, objs: &Objects) -> Result<PathBuf, VolumeError> {
    let id = format!("{namespace}/{claim}");
    let pvc = objs
        .claims
        .iter()
        .find(|c| name_of(*c) == claim && namespace_of(*c) == namespace)
        .ok_or_else(|| VolumeError::ClaimNotFound(id.clone()))?;
    let volume_name = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .filter(|v| !v.is_empty());
    let pv = match volume_name {
        Some(v) => objs
            .volumes
            .iter()
            .find(|pv| name_of(*pv) == v)
            .ok_or_else(|| VolumeError::VolumeNotFound {
                claim: id.clone(),
                volume: v.to_string(),
            })?,
        None => objs
            .volumes
            .iter()
            .find(|pv| {
                pv.spec
                    .as_ref()
                    .and_then(|s| s.claim_ref.as_ref())
                    .is_some_and(|r| {
                        r.name.as_deref() == Some(claim)
                            && r.namespace
                                .as_deref()
                                .is_none_or(|n| n.is_empty() || n == namespace)
                    })
            })
            .ok_or_else(|| VolumeError::NotBound(id.clone()))?,
    };
    let spec = pv.spec.as_ref();
    let folder = spec
        .and_then(|s| s.host_path.as_ref().map(|h| h.path.clone()))
        .or_else(|| spec.and_then(|s| s.local.as_ref().map(|l| l.path.clone())))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| VolumeError::NotOnHost {
            claim: id,
            volume: name_of(pv).to_string(),
        })?;
    Ok(PathBuf::from(folder))
}

/// A PVC target: the claim's folder mounted at `mount_path` (`TARGET_MOUNT_PATH`).
pub fn pvc_mounts(
    namespace: &str,
    claim: &str,
    mount_path: &str,
    objs: &Objects,
) -> Result<Vec<Mount>, VolumeError> {
    Ok(vec![(
        mount_path.to_string(),
        claim_folder(namespace, claim, objs)?,
    )])
}

/// What of a workload the resolution needs.
#[derive(Clone, Debug)]
pub struct Workload {
    /// `Deployment demo/app`, for messages.
    pub id: String,
    pub namespace: String,
    pub name: String,
    pub pod: PodSpec,
    /// A StatefulSet's `volumeClaimTemplates` names.
    pub claim_templates: Vec<String>,
    pub replicas: Option<i32>,
    pub kind: String,
}

impl Workload {
    /// Reads a workload object (any kind with `spec.template.spec`).
    pub fn from_value(v: &Value) -> Result<Workload, VolumeError> {
        let text = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (kind, namespace, name) = (
            text("/kind"),
            text("/metadata/namespace"),
            text("/metadata/name"),
        );
        let id = format!("{kind} {namespace}/{name}");
        let template =
            v.pointer("/spec/template/spec")
                .cloned()
                .ok_or_else(|| VolumeError::NoTemplate {
                    workload: id.clone(),
                    reason: "the field is missing".into(),
                })?;
        let pod: PodSpec =
            serde_json::from_value(template).map_err(|e| VolumeError::NoTemplate {
                workload: id.clone(),
                reason: e.to_string(),
            })?;
        let claim_templates = v
            .pointer("/spec/volumeClaimTemplates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                t.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .collect();
        let replicas = v
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .map(|r| r as i32);
        Ok(Workload {
            id,
            namespace,
            name,
            pod,
            claim_templates,
            replicas,
            kind,
        })
    }

    /// The containers' volume mounts (init containers last), in order.
    fn container_mounts(&self) -> Vec<VolumeMount> {
        let containers = self
            .pod
            .containers
            .iter()
            .chain(self.pod.init_containers.iter().flatten());
        containers
            .flat_map(|c| c.volume_mounts.clone().unwrap_or_default())
            .collect()
    }

    /// The host folder behind `mount` (a mount of one of this workload's volumes) in pod
    /// `ordinal`.
    fn folder(
        &self,
        mount: &VolumeMount,
        ordinal: u32,
        objs: &Objects,
    ) -> Result<PathBuf, VolumeError> {
        let what = format!("{}: volumeMount {}", self.id, mount.mount_path);
        if mount
            .sub_path_expr
            .as_deref()
            .is_some_and(|e| !e.is_empty())
        {
            return Err(VolumeError::SubPathExpr {
                workload: self.id.clone(),
                mount_path: mount.mount_path.clone(),
            });
        }
        let volume = self
            .pod
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == mount.name);
        let folder = match volume {
            Some(v) => self.volume_folder(v, objs)?,
            None if self.claim_templates.contains(&mount.name) => {
                let claim = format!("{}-{}-{ordinal}", mount.name, self.name);
                claim_folder(&self.namespace, &claim, objs)?
            }
            None => {
                return Err(VolumeError::NoSuchVolume {
                    workload: self.id.clone(),
                    mount_path: mount.mount_path.clone(),
                    volume: mount.name.clone(),
                })
            }
        };
        with_sub_path(folder, mount.sub_path.as_deref(), &what)
    }

    /// A StatefulSet's hosts: one per replica (`host-<ordinal>`, or `<alias>-<ordinal>`);
    /// every other workload has one, which the Task names.
    pub fn hosts(&self, alias: Option<&str>) -> Vec<(u32, Option<String>)> {
        if self.kind != "StatefulSet" {
            return vec![(0, None)];
        }
        let base = alias.filter(|a| !a.is_empty()).unwrap_or("host");
        (0..self.replicas.unwrap_or(1).max(1) as u32)
            .map(|i| (i, Some(format!("{base}-{i}"))))
            .collect()
    }

    fn volume_folder(&self, v: &Volume, objs: &Objects) -> Result<PathBuf, VolumeError> {
        if let Some(h) = &v.host_path {
            return Ok(PathBuf::from(&h.path));
        }
        if let Some(c) = &v.persistent_volume_claim {
            return claim_folder(&self.namespace, &c.claim_name, objs);
        }
        let volume_type = serde_json::to_value(v)
            .ok()
            .and_then(|j| {
                j.as_object()
                    .and_then(|o| o.keys().find(|k| *k != "name").cloned())
            })
            .unwrap_or_else(|| "no source".to_string());
        Err(VolumeError::Unreachable {
            workload: self.id.clone(),
            volume: v.name.clone(),
            volume_type,
        })
    }
}

/// Whether `path` is `mount_path` or below it.
fn holds(mount_path: &str, path: &str) -> bool {
    let m = mount_path.trim_end_matches('/');
    m.is_empty()
        || path
            .strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The mounts `candidates` holding `paths`: for each path the innermost mount holding it.
fn mounts_for_paths(
    w: &Workload,
    candidates: &[VolumeMount],
    paths: &[String],
    ordinal: u32,
    objs: &Objects,
) -> Result<Vec<Mount>, VolumeError> {
    let mut out: Vec<Mount> = Vec::new();
    for path in paths {
        let mount = candidates
            .iter()
            .filter(|m| holds(&m.mount_path, path))
            .max_by_key(|m| m.mount_path.trim_end_matches('/').len())
            .ok_or_else(|| VolumeError::PathNotMounted {
                workload: w.id.clone(),
                path: path.clone(),
            })?;
        if out.iter().any(|(p, _)| *p == mount.mount_path) {
            continue;
        }
        out.push((mount.mount_path.clone(), w.folder(mount, ordinal, objs)?));
    }
    Ok(out)
}

/// The mounts a backup of workload `w`'s `paths` in pod `ordinal` needs. `target_mounts` are
/// the target's `volumeMounts` (Stash's sidecar mounts); without them, the containers' mounts
/// are used.
pub fn workload_mounts(
    w: &Workload,
    paths: &[String],
    target_mounts: &[VolumeMount],
    ordinal: u32,
    objs: &Objects,
) -> Result<Vec<Mount>, VolumeError> {
    if paths.is_empty() {
        return Err(VolumeError::NoPaths(w.id.clone()));
    }
    let candidates = if target_mounts.is_empty() {
        w.container_mounts()
    } else {
        target_mounts.to_vec()
    };
    mounts_for_paths(w, &candidates, paths, ordinal, objs)
}

/// The mounts a restore into workload `w` needs: every one of the target's `volumeMounts`,
/// else every container mount that is on a host folder (config maps, secrets and the like are
/// left out); each of `paths` (the rules' paths) must be on one of them.
pub fn workload_restore_mounts(
    w: &Workload,
    paths: &[String],
    target_mounts: &[VolumeMount],
    ordinal: u32,
    objs: &Objects,
) -> Result<Vec<Mount>, VolumeError> {
    let strict = !target_mounts.is_empty();
    let candidates = if strict {
        target_mounts.to_vec()
    } else {
        w.container_mounts()
    };
    // The rules' paths first: a path on a volume that is not on this machine says so.
    mounts_for_paths(w, &candidates, paths, ordinal, objs)?;
    let mut out: Vec<Mount> = Vec::new();
    for m in &candidates {
        if out.iter().any(|(p, _)| *p == m.mount_path) {
            continue;
        }
        match w.folder(m, ordinal, objs) {
            Ok(f) => out.push((m.mount_path.clone(), f)),
            Err(VolumeError::Unreachable { .. }) if !strict => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The paths the target's rules restore (whichever rule applies, its paths must be mounted).
fn rule_paths(target: &RestoreTarget) -> Vec<String> {
    let mut paths: Vec<String> = target
        .rules()
        .iter()
        .flat_map(|r| r.paths().to_vec())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Where `pvc-backup`/`pvc-restore` mount a claim: the target's first volumeMount, else
/// `/stash-data` (`TARGET_MOUNT_PATH`).
fn claim_mount_path(mounts: Option<&Vec<VolumeMount>>) -> String {
    mounts
        .and_then(|m| m.first())
        .map(|m| m.mount_path.clone())
        .unwrap_or_else(|| DEFAULT_MOUNT_PATH.to_string())
}

/// The store's kind of a workload target, or `None` for kinds that have no volumes.
fn workload_kind(kind: &str) -> Option<Kind> {
    Some(match kind {
        "Deployment" => Kind::of::<Deployment>(),
        "StatefulSet" => Kind::of::<StatefulSet>(),
        "DaemonSet" => Kind::of::<DaemonSet>(),
        "ReplicaSet" => Kind::of::<ReplicaSet>(),
        "ReplicationController" => Kind::of::<ReplicationController>(),
        "DeploymentConfig" => Kind {
            group: "apps.openshift.io".into(),
            version: "v1".into(),
            kind: "DeploymentConfig".into(),
        },
        _ => return None,
    })
}

/// Whether a target of `kind` is a workload (Stash's sidecar model).
pub fn is_workload(kind: &str) -> bool {
    workload_kind(kind).is_some()
}

/// The Task a target runs when its invoker names none: a workload's paths are backed up and
/// restored the way `pvc-backup`/`pvc-restore` do it (Stash's sidecar runs the same restic
/// commands); other kinds need a Task named.
pub fn default_task(kind: &str, restore: bool) -> Option<&'static str> {
    is_workload(kind).then_some(if restore { "pvc-restore" } else { "pvc-backup" })
}

/// The snapshot host of a target whose hosts are named after their nodes (spec §3.4): a
/// DaemonSet's is its node's name, or `<alias>-<node>`. `None` for every other kind (`host-0`,
/// or the alias).
pub fn host_name(kind: &str, alias: Option<&str>, node: &str) -> Option<String> {
    (kind == "DaemonSet").then(|| match alias.filter(|a| !a.is_empty()) {
        Some(a) => format!("{a}-{node}"),
        None => node.to_string(),
    })
}

/// This machine as a node: `NODE_NAME` (what Stash's sidecar reads), else the host name.
pub fn this_node() -> String {
    if let Some(n) = std::env::var("NODE_NAME").ok().filter(|n| !n.is_empty()) {
        return n;
    }
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match rc {
        0 if end > 0 => String::from_utf8_lossy(&buf[..end]).into_owned(),
        _ => "localhost".to_string(),
    }
}

/// Reads what the resolution of `target` needs: the claims of `namespace`, every volume, and
/// the workload if the target is one.
async fn load(ctx: &Ctx, namespace: &str, target: &TargetRef) -> Result<(Objects, Option<Value>)> {
    let objs = Objects {
        claims: ctx
            .store
            .list::<PersistentVolumeClaim>(Some(namespace), &Selector::all())
            .await?,
        volumes: ctx
            .store
            .list::<PersistentVolume>(None, &Selector::all())
            .await?,
    };
    let workload = match workload_kind(target.kind()) {
        Some(kind) => {
            ctx.store
                .get_raw(&ObjRef::new(kind, namespace, target.name()))
                .await?
        }
        None => None,
    };
    Ok((objs, workload))
}

/// The hosts of a target and their mounts, or what is missing.
type Hosts = std::result::Result<Vec<Host>, String>;

/// Each host of a workload `w` with the mounts `mounts(w, ordinal)` gives it.
fn workload_hosts(
    w: Workload,
    alias: Option<&str>,
    mounts: impl Fn(&Workload, u32) -> Result<Vec<Mount>, VolumeError>,
) -> Result<Vec<Host>, VolumeError> {
    w.hosts(alias)
        .into_iter()
        .map(|(ordinal, name)| {
            Ok(Host {
                name,
                mounts: mounts(&w, ordinal)?,
            })
        })
        .collect()
}

/// The hosts of the target `r` (volume mounts `target_mounts`, `alias`) and the mounts each
/// needs, resolved by `workload` for a workload's pod `ordinal`: one host without mounts for
/// targets without volumes (an AppBinding), or the message saying what is missing.
async fn hosts(
    ctx: &Ctx,
    namespace: &str,
    r: &TargetRef,
    target_mounts: Option<&Vec<VolumeMount>>,
    alias: Option<&str>,
    workload: impl Fn(&Workload, u32, &Objects) -> Result<Vec<Mount>, VolumeError>,
) -> Result<Hosts> {
    let ns = r.namespace_or(namespace).to_string();
    if r.kind() != "PersistentVolumeClaim" && !is_workload(r.kind()) {
        return Ok(Ok(vec![Host::default()]));
    }
    let (objs, found) = load(ctx, &ns, r).await?;
    let resolved = if r.kind() == "PersistentVolumeClaim" {
        let at = claim_mount_path(target_mounts);
        pvc_mounts(&ns, r.name(), &at, &objs).map(|mounts| vec![Host { name: None, mounts }])
    } else {
        found
            .ok_or_else(|| VolumeError::WorkloadNotFound(format!("{} {ns}/{}", r.kind(), r.name())))
            .and_then(|v| Workload::from_value(&v))
            .and_then(|w| workload_hosts(w, alias, |w, i| workload(w, i, &objs)))
    };
    Ok(resolved.map_err(|e| e.to_string()))
}

/// The hosts a backup of `target` has and the mounts each needs (its `paths` for a
/// workload). `namespace` is the invoker's.
pub async fn backup_hosts(ctx: &Ctx, namespace: &str, target: &BackupTarget) -> Result<Hosts> {
    let paths = target.paths.clone().unwrap_or_default();
    let mounts = target.volume_mounts.clone().unwrap_or_default();
    hosts(
        ctx,
        namespace,
        &target.target_ref(),
        target.volume_mounts.as_ref(),
        target.alias.as_deref(),
        |w, i, objs| workload_mounts(w, &paths, &mounts, i, objs),
    )
    .await
}

/// The hosts a restore into `target` has and the mounts each needs (for a workload every
/// volume it mounts, its rules' paths required among them). `namespace` is the invoker's.
pub async fn restore_hosts(ctx: &Ctx, namespace: &str, target: &RestoreTarget) -> Result<Hosts> {
    let paths = rule_paths(target);
    let mounts = target.volume_mounts.clone().unwrap_or_default();
    hosts(
        ctx,
        namespace,
        &target.target_ref(),
        target.volume_mounts.as_ref(),
        target.alias.as_deref(),
        |w, i, objs| workload_restore_mounts(w, &paths, &mounts, i, objs),
    )
    .await
}

/// A `local` repository's folder here, mounted where its Functions look for it
/// (`spec.backend.local.mountPath` → `hostPath.path` + `subPath`). `None` for other backends,
/// or a local one without a host path (its mountPath is then taken as this machine's folder).
pub fn repository_mount(repo: &Repository) -> Option<Mount> {
    let local = repo.spec.backend.as_ref()?.local.as_ref()?;
    let mount_path = local.mount_path.clone().filter(|m| !m.is_empty())?;
    let host = local.host_path.as_ref()?.path.clone();
    let folder = with_sub_path(
        PathBuf::from(host),
        local.sub_path.as_deref(),
        "spec.backend.local",
    )
    .ok()?;
    Some((mount_path, folder))
}

/// Gives `job` the target's `mounts` (as [`MOUNTS_ENV`] for its steps) and the repository's
/// folder (as a job mount, so the `--path=` of a local repository is rewritten).
pub fn attach(job: &mut JobSpec, repo: &Repository, mounts: &[Mount]) {
    if !mounts.is_empty() {
        let lines: Vec<String> = mounts
            .iter()
            .map(|(pod, host)| format!("{pod}={}", host.display()))
            .collect();
        job.env.insert(MOUNTS_ENV.to_string(), lines.join("\n"));
    }
    if let Some(m) = repository_mount(repo) {
        if !job.mounts.contains(&m) {
            job.mounts.push(m);
        }
    }
}

#[cfg(test)]
mod tests;
