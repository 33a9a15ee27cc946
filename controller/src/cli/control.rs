//! `stash trigger`, `stash pause`, `stash resume`, `stash delete snapshot`: `kubectl stash`'s
//! controls over local mode's state folder. A running `stash run` sees the write through the
//! state store's change feed and acts on it as an operator would on the API server's watch.
//!
//! - `trigger NAME` creates a BackupSession for the BackupConfiguration NAME (or the
//!   BackupBatch `backupbatch/NAME`), as `kubectl stash trigger` does (`generateName: NAME-`, the invoker's labels, owned by it, no retries) and
//!   prints the session's name. A paused configuration can be triggered: pausing stops the
//!   schedule only (Stash issue #997).
//! - `pause NAME` / `resume NAME` set and clear `spec.paused` of a BackupConfiguration (or of
//!   a BackupBatch, named `backupbatch/NAME`); the reconciler suspends or resumes the trigger
//!   CronJob.
//! - `delete snapshot NAME…` forgets and prunes each restic snapshot, as `kubectl delete
//!   snapshot` does through Stash's server ([`crate::snapshots::delete`]: under the
//!   repository's exclusive lock, then the Repository's `snapshotCount` and `totalSize`).
//!   Snapshots are the only kind deleted here: the other objects come from the manifests
//!   folder, and leave it by being removed from there.
//!
//! `stash run` applies the manifests folder as `kubectl apply` does (a three-way merge against
//! the last-applied manifest, [`crate::local::manifests`]): a pause made here lasts until a
//! manifest itself sets `paused`, as it would in a cluster.
use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::kubectl::{split_type_name, KubectlError, NamespaceArg, Resource, StateArgs};
use crate::invoker::BackupInvoker;
use crate::reconcile::backup_session::new_session;
use crate::steps::MANIFESTS_ENV;
use crate::store::{ObjRef, ObjectStore, StoreError, StoreExt};

#[derive(Args, Debug)]
pub struct TriggerArgs {
    /// The BackupConfiguration: NAME or backupconfiguration/NAME; or backupbatch/NAME
    pub name: String,
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    /// A BackupConfiguration's NAME, or TYPE/NAME: backupconfiguration/NAME (bc/NAME) or
    /// backupbatch/NAME
    pub name: String,
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kind: snapshot (the only kind deleted here), or snapshot/NAME
    pub kind: String,
    /// Snapshot name(s): <repository>-<first 8 characters of the snapshot id>, as `stash get
    /// snapshots` lists them
    pub names: Vec<String>,
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub state: StateArgs,
    /// Manifests folder(s) holding the Repositories' storage Secrets
    #[arg(long = "manifests", env = MANIFESTS_ENV, value_delimiter = ':')]
    pub manifests: Vec<std::path::PathBuf>,
}

/// The kind and name of `[TYPE/]NAME`, where TYPE must be one of `allowed` (the first one when
/// no TYPE is given).
fn target(arg: &str, verb: &str, allowed: &[&str]) -> Result<(Resource, String), KubectlError> {
    let (typed, name) = split_type_name(arg);
    let res = match typed {
        None => Resource::find(allowed[0]),
        Some(t) => Resource::find(t),
    };
    let Some(res) = res else {
        return Err(KubectlError::usage(format!(
            "the server doesn't have a resource type \"{}\"",
            typed.unwrap_or_default()
        )));
    };
    if !allowed.contains(&res.kind.kind.as_str()) {
        return Err(KubectlError::usage(format!(
            "{verb} takes a {}, not a {}",
            allowed.join(" or a "),
            res.kind.kind
        )));
    }
    if name.is_empty() {
        return Err(KubectlError::usage(format!("{verb}: a name is required")));
    }
    Ok((res, name.to_string()))
}

pub async fn trigger(a: TriggerArgs) -> anyhow::Result<()> {
    let (res, name) = target(&a.name, "trigger", &["BackupConfiguration", "BackupBatch"])?;
    let ns = a.ns.namespace.as_str();
    let store = a.state.open(Vec::new()).await?;
    let Some(inv) = BackupInvoker::get(&store, ns, &res.kind.kind, &name).await? else {
        return Err(KubectlError::not_found(&res, &[&name]).into());
    };
    if inv.metadata.deletion_timestamp.is_some() {
        bail!(
            "{} is being deleted: no new session is started for it",
            inv.display()
        );
    }
    let session = store.create(&new_session(&inv, None)).await?;
    println!(
        "backupsession.stash.appscode.com/{} created",
        session.metadata.name.unwrap_or_default()
    );
    Ok(())
}

/// How many times a pause re-reads after someone else wrote the object in between.
const CONFLICT_RETRIES: usize = 8;

/// Sets `spec.paused` of the stored object, touching nothing else (as `kubectl patch` would).
/// `Ok(None)` when there is no such object; else whether it changed.
pub async fn set_paused(
    store: &dyn ObjectStore,
    r: &ObjRef,
    paused: bool,
) -> Result<Option<bool>, StoreError> {
    for _ in 0..CONFLICT_RETRIES {
        let Some(mut obj) = store.get_raw(r).await? else {
            return Ok(None);
        };
        if obj.pointer("/spec/paused").and_then(Value::as_bool) == Some(paused) {
            return Ok(Some(false));
        }
        if !obj.get("spec").is_some_and(Value::is_object) {
            obj["spec"] = Value::Object(Default::default());
        }
        obj["spec"]["paused"] = Value::Bool(paused);
        match store.replace_raw(obj).await {
            Ok(_) => return Ok(Some(true)),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(r.clone()))
}

pub async fn pause(a: PauseArgs, paused: bool) -> anyhow::Result<()> {
    let verb = if paused { "pause" } else { "resume" };
    let (res, name) = target(&a.name, verb, &["BackupConfiguration", "BackupBatch"])?;
    let store = a.state.open(Vec::new()).await?;
    let r = ObjRef::new(res.kind.clone(), &a.ns.namespace, &name);
    if set_paused(&store, &r, paused).await?.is_none() {
        return Err(KubectlError::not_found(&res, &[&name]).into());
    }
    println!(
        "{}/{name} {}",
        res.group_singular(),
        if paused { "paused" } else { "resumed" }
    );
    Ok(())
}

/// The Snapshot names `delete`'s arguments give (`snapshot NAME…` or `snapshot/NAME…`).
fn snapshot_names(kind: &str, names: &[String]) -> Result<Vec<String>, KubectlError> {
    let mut out = Vec::new();
    for (res, names) in super::get::requests(kind, names)? {
        if !res.is_snapshot() {
            return Err(KubectlError::usage(format!(
                "stash delete deletes Snapshots only: a {} comes from the manifests folder, so remove it there (stash run applies the change)",
                res.kind.kind
            )));
        }
        out.extend(names);
    }
    if out.is_empty() {
        return Err(KubectlError::usage(
            "resource(s) were provided, but no name was specified",
        ));
    }
    Ok(out)
}

pub async fn delete(a: DeleteArgs) -> anyhow::Result<()> {
    let names = snapshot_names(&a.kind, &a.names)?;
    if a.manifests.is_empty() {
        bail!("Snapshots are deleted from the repositories, opened with their storage Secrets from the manifests folder: pass --manifests DIR (or set {MANIFESTS_ENV})");
    }
    let store = a.state.open(a.manifests.clone()).await?;
    let mut errors = Vec::new();
    for name in &names {
        match crate::snapshots::delete(&store, &a.ns.namespace, name).await {
            Ok(_) => println!("snapshot.repositories.stash.appscode.com \"{name}\" deleted"),
            Err(crate::snapshots::SnapshotError::Store(e)) => return Err((*e).into()),
            Err(e) => errors.push(KubectlError::snapshot(&e).0),
        }
    }
    if !errors.is_empty() {
        return Err(KubectlError(errors.join("\n")).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::MemoryStore;

    #[test]
    fn targets_by_name_or_type_and_name() {
        let ok = |arg: &str| {
            let (r, n) = target(arg, "pause", &["BackupConfiguration", "BackupBatch"]).unwrap();
            (r.kind.kind, n)
        };
        assert_eq!(
            ok("nightly"),
            ("BackupConfiguration".into(), "nightly".into())
        );
        assert_eq!(
            ok("bc/nightly"),
            ("BackupConfiguration".into(), "nightly".into())
        );
        assert_eq!(ok("backupbatch/all"), ("BackupBatch".into(), "all".into()));
        let err = |arg: &str| {
            target(arg, "trigger", &["BackupConfiguration"])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("backupbatch/all"),
            "error: trigger takes a BackupConfiguration, not a BackupBatch"
        );
        assert_eq!(
            err("widget/x"),
            "error: the server doesn't have a resource type \"widget\""
        );
        assert_eq!(err("bc/"), "error: trigger: a name is required");
    }

    #[test]
    fn delete_takes_snapshots_by_name_only() {
        let names = |kind: &str, names: &[&str]| {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            snapshot_names(kind, &names).map_err(|e| e.to_string())
        };
        assert_eq!(
            names("snapshot", &["r-0a1b2c3d", "r-11112222"]).unwrap(),
            ["r-0a1b2c3d", "r-11112222"]
        );
        assert_eq!(names("snapshots/r-0a1b2c3d", &[]).unwrap(), ["r-0a1b2c3d"]);
        assert_eq!(
            names("snapshot", &[]).unwrap_err(),
            "error: resource(s) were provided, but no name was specified"
        );
        assert!(names("bc", &["nightly"])
            .unwrap_err()
            .starts_with("error: stash delete deletes Snapshots only: a BackupConfiguration comes from the manifests folder"));
    }

    #[tokio::test]
    async fn pause_touches_only_spec_paused() {
        let store = MemoryStore::new(Arc::new(ManualClock::at("2026-03-01T12:00:00Z")));
        let bc = json!({
            "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupConfiguration",
            "metadata": {"name": "nightly", "namespace": "demo"},
            "spec": {"schedule": "*/5 * * * *", "someFieldWeDoNotModel": {"kept": true}},
        });
        store.create_raw(bc).await.unwrap();
        let r = ObjRef::new(Resource::find("bc").unwrap().kind, "demo", "nightly");
        assert_eq!(set_paused(&store, &r, true).await.unwrap(), Some(true));
        assert_eq!(set_paused(&store, &r, true).await.unwrap(), Some(false));
        let v = store.get_raw(&r).await.unwrap().unwrap();
        assert_eq!(v["spec"]["paused"], true);
        assert_eq!(v["spec"]["someFieldWeDoNotModel"]["kept"], true);
        assert_eq!(set_paused(&store, &r, false).await.unwrap(), Some(true));
        let missing = ObjRef::new(r.kind.clone(), "demo", "other");
        assert_eq!(set_paused(&store, &missing, true).await.unwrap(), None);
    }
}
