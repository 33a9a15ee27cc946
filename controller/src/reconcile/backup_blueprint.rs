//! Auto-backup (spec §5.4): a workload, a PersistentVolumeClaim or an AppBinding annotated
//! with `stash.appscode.com/backup-blueprint: <name>[,<name>…]` gets the Repository and
//! BackupConfiguration each named BackupBlueprint describes, with the target's variables
//! substituted ([`stash::api::resolve::blueprint`]); the other annotations (schedule, paths,
//! volume mounts, task params) fill them in.
//!
//! The reconciler runs per target object and makes what exists match what the annotation
//! asks for: it creates the objects, updates a BackupConfiguration whose desired spec changed
//! (a new schedule, another blueprint's settings), and deletes the BackupConfigurations made
//! for the target that are no longer asked for — the annotation removed, a blueprint dropped
//! from it, or the target gone. Repositories are never deleted here: they hold the backups,
//! and annotating the target again reuses them, as Stash does. What this controller made is
//! labelled with the target and the blueprint, so a user's own BackupConfiguration of the
//! same name is never touched (a clash is logged, the user's object wins). A blueprint that
//! does not exist or cannot be resolved is logged with the target and the reason, and the
//! target is looked at again when blueprints change.
use std::collections::BTreeMap;

use serde_json::Value;
use stash::api::resolve::blueprint::{blueprint_names, resolve_blueprint, BlueprintTarget};
use stash::api::{AppBinding, BackupBlueprint, BackupConfiguration, Repository};

use super::{name_of, namespace_of};
use crate::context::Ctx;
use crate::error::Result;
use crate::next::Next;
use crate::store::{ObjRef, Selector, StoreError, StoreExt};

/// Labels on what auto-backup made: which target, which blueprint.
pub const LABEL_KIND: &str = "auto-backup.stash.appscode.com/target-kind";
pub const LABEL_NAME: &str = "auto-backup.stash.appscode.com/target-name";
pub const LABEL_NAMESPACE: &str = "auto-backup.stash.appscode.com/target-namespace";
pub const LABEL_BLUEPRINT: &str = "auto-backup.stash.appscode.com/blueprint";

/// The kinds that can carry the annotation.
pub const TARGET_KINDS: &[&str] = &[
    "AppBinding",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
];

fn target_labels(r: &ObjRef) -> BTreeMap<String, String> {
    [
        (LABEL_KIND, r.kind.kind.as_str()),
        (LABEL_NAME, r.name.as_str()),
        (LABEL_NAMESPACE, r.namespace.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Reconciles the auto-backup of target `r` (which may be gone).
pub async fn reconcile(r: &ObjRef, ctx: &Ctx) -> Result<Next> {
    let obj = ctx.store.get_raw(r).await?;
    let deleting = obj
        .as_ref()
        .is_some_and(|o| o.pointer("/metadata/deletionTimestamp").is_some());
    let annotations: BTreeMap<String, String> = obj
        .as_ref()
        .and_then(|o| o.pointer("/metadata/annotations"))
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or_default();
    let wanted = if deleting {
        Vec::new()
    } else {
        blueprint_names(&annotations)
    };
    let mut keep: Vec<(String, String)> = Vec::new();
    for bp_name in &wanted {
        let Some(obj) = obj.as_ref() else { break };
        match desired(ctx, r, obj, &annotations, bp_name, wanted.len() > 1).await? {
            Ok((repo, bc)) => {
                keep.push((namespace_of(&bc), name_of(&bc)));
                ensure_repository(ctx, &repo).await?;
                ensure_configuration(ctx, &bc).await?;
            }
            Err(why) => tracing::error!(
                target = %r,
                blueprint = %bp_name,
                "auto-backup not set up: {why}"
            ),
        }
    }
    // What was made for this target and is no longer asked for.
    let selector = Selector::labels(
        target_labels(r)
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    for bc in ctx
        .store
        .list::<BackupConfiguration>(None, &selector)
        .await?
    {
        let key = (namespace_of(&bc), name_of(&bc));
        if !keep.contains(&key) && bc.metadata.deletion_timestamp.is_none() {
            tracing::info!(target = %r, backup = %format!("{}/{}", key.0, key.1), "auto-backup removed: the BackupConfiguration is deleted, its Repository kept");
            ctx.store
                .delete::<BackupConfiguration>(&key.0, &key.1)
                .await?;
        }
    }
    Ok(Next::Wait)
}

/// The Repository and BackupConfiguration blueprint `bp_name` makes for target `obj`, or why
/// none can be made.
async fn desired(
    ctx: &Ctx,
    r: &ObjRef,
    obj: &Value,
    annotations: &BTreeMap<String, String>,
    bp_name: &str,
    several: bool,
) -> Result<std::result::Result<(Repository, BackupConfiguration), String>> {
    let Some(bp) = ctx.store.get::<BackupBlueprint>("", bp_name).await? else {
        return Ok(Err(format!(
            "BackupBlueprint {bp_name:?} does not exist (annotation {})",
            stash::api::resolve::blueprint::ANNOTATION_BLUEPRINT
        )));
    };
    let appbinding: Option<AppBinding> = match r.kind.kind.as_str() {
        "AppBinding" => serde_json::from_value(obj.clone()).ok(),
        _ => None,
    };
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let target = BlueprintTarget {
        api_version,
        kind: &r.kind.kind,
        name: &r.name,
        namespace: &r.namespace,
        annotations,
        appbinding: appbinding.as_ref(),
    };
    let objs = match resolve_blueprint(&bp, &target) {
        Ok(o) => o,
        Err(e) => return Ok(Err(format!("BackupBlueprint {bp_name}: {e}"))),
    };
    let (mut repo, mut bc) = (objs.repository, objs.backup_configuration);
    if several {
        // One name per blueprint when a target names several.
        let suffix = format!("-{bp_name}");
        for name in [&mut repo.metadata.name, &mut bc.metadata.name]
            .into_iter()
            .flatten()
        {
            name.push_str(&suffix);
        }
        if let Some(rr) = bc.spec.repository.as_mut() {
            rr.name.push_str(&suffix);
        }
    }
    let mut labels = target_labels(r);
    labels.insert(LABEL_BLUEPRINT.into(), bp_name.into());
    repo.metadata.labels = Some(labels.clone());
    bc.metadata.labels = Some(labels);
    Ok(Ok((repo, bc)))
}

fn made_by_us(labels: Option<&BTreeMap<String, String>>) -> bool {
    labels.is_some_and(|l| l.contains_key(LABEL_BLUEPRINT))
}

/// Creates the Repository if missing, or brings the one auto-backup made up to date.
async fn ensure_repository(ctx: &Ctx, want: &Repository) -> Result<()> {
    let (ns, name) = (namespace_of(want), name_of(want));
    match ctx.store.get::<Repository>(&ns, &name).await? {
        None => match ctx.store.create(want).await {
            Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(e.into()),
        },
        Some(have) if made_by_us(have.metadata.labels.as_ref()) => {
            if have.spec != want.spec {
                ctx.store
                    .update::<Repository, _>(&ns, &name, |r| r.spec = want.spec.clone())
                    .await?;
            }
        }
        // A Repository of the user's own, of that name, is used as it is.
        Some(_) => {}
    }
    Ok(())
}

/// Creates the BackupConfiguration, or updates the one auto-backup made when its desired
/// spec changed.
async fn ensure_configuration(ctx: &Ctx, want: &BackupConfiguration) -> Result<()> {
    let (ns, name) = (namespace_of(want), name_of(want));
    match ctx.store.get::<BackupConfiguration>(&ns, &name).await? {
        None => match ctx.store.create(want).await {
            Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(e.into()),
        },
        Some(have) if made_by_us(have.metadata.labels.as_ref()) => {
            // A pause (`stash pause`) is the user's, not the blueprint's.
            let mut spec = want.spec.clone();
            spec.paused = have.spec.paused;
            if have.spec != spec || have.metadata.labels != want.metadata.labels {
                ctx.store
                    .update::<BackupConfiguration, _>(&ns, &name, |b| {
                        b.spec = spec.clone();
                        b.metadata.labels = want.metadata.labels.clone();
                    })
                    .await?;
            }
        }
        Some(_) => tracing::warn!(
            backup = %format!("{ns}/{name}"),
            "auto-backup left a BackupConfiguration of the same name alone: it was not made from a blueprint"
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::context::test_ctx;
    use crate::runner::FakeRunner;
    use crate::store::{MemoryStore, ObjectStore};

    const OBJECTS: &str = r#"
- apiVersion: stash.appscode.com/v1beta1
  kind: BackupBlueprint
  metadata: {name: pg-bp}
  spec:
    backend:
      storageSecretName: s
      s3: {endpoint: "http://127.0.0.1:9100", bucket: b, prefix: "stash/${TARGET_NAMESPACE}/${TARGET_APP_RESOURCE}/${TARGET_NAME}"}
    schedule: "*/5 * * * *"
    task: {name: "postgres-backup-${TARGET_APP_VERSION}"}
    retentionPolicy: {name: keep, keepLast: 5, prune: true}
- apiVersion: appcatalog.appscode.com/v1alpha1
  kind: AppBinding
  metadata:
    name: db
    namespace: demo
    annotations: {stash.appscode.com/backup-blueprint: pg-bp}
  spec: {type: kubedb.com/postgres, version: "16.1", clientConfig: {url: "postgresql://127.0.0.1:5432/x"}}
"#;

    fn appbinding_ref() -> ObjRef {
        ObjRef::of::<AppBinding>("demo", "db")
    }

    async fn annotate(store: &MemoryStore, annotations: &[(&str, &str)]) {
        let a: BTreeMap<String, String> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        store
            .update::<AppBinding, _>("demo", "db", |ab| ab.metadata.annotations = Some(a.clone()))
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn the_annotation_makes_updates_and_takes_back_the_backup_but_keeps_the_repository() {
        let clock = Arc::new(ManualClock::at("2026-11-30T10:00:00Z"));
        let store = Arc::new(MemoryStore::new(clock.clone()));
        for obj in serde_saphyr::from_str::<Vec<Value>>(OBJECTS).unwrap() {
            store.create_raw(obj).await.unwrap();
        }
        let ctx = test_ctx(store.clone(), Arc::new(FakeRunner::new()), clock);
        reconcile(&appbinding_ref(), &ctx).await.unwrap();
        let bc: BackupConfiguration = store.get("demo", "app-db").await.unwrap().unwrap();
        assert_eq!(bc.spec.template.task_name(), "postgres-backup-16.1");
        assert_eq!(bc.spec.schedule.as_deref(), Some("*/5 * * * *"));
        assert_eq!(bc.spec.repository.as_ref().unwrap().name, "app-db");
        let repo: Repository = store.get("demo", "app-db").await.unwrap().unwrap();
        let s3 = repo.spec.backend.as_ref().unwrap().s3.as_ref().unwrap();
        assert_eq!(s3.prefix.as_deref(), Some("stash/demo/postgres/db"));
        store.take_writes();
        reconcile(&appbinding_ref(), &ctx).await.unwrap();
        assert_eq!(
            store.take_writes(),
            Vec::<String>::new(),
            "nothing changed, nothing written"
        );

        // A schedule annotation changes the configuration.
        annotate(
            &store,
            &[
                ("stash.appscode.com/backup-blueprint", "pg-bp"),
                ("stash.appscode.com/schedule", "0 1 * * *"),
            ],
        )
        .await;
        reconcile(&appbinding_ref(), &ctx).await.unwrap();
        let bc: BackupConfiguration = store.get("demo", "app-db").await.unwrap().unwrap();
        assert_eq!(bc.spec.schedule.as_deref(), Some("0 1 * * *"));

        // Without the annotation the configuration goes; the Repository stays.
        annotate(&store, &[]).await;
        reconcile(&appbinding_ref(), &ctx).await.unwrap();
        assert!(store
            .get::<BackupConfiguration>("demo", "app-db")
            .await
            .unwrap()
            .is_none());
        assert!(store
            .get::<Repository>("demo", "app-db")
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn a_users_own_configuration_of_the_same_name_is_left_alone() {
        let clock = Arc::new(ManualClock::at("2026-11-30T10:00:00Z"));
        let store = Arc::new(MemoryStore::new(clock.clone()));
        for obj in serde_saphyr::from_str::<Vec<Value>>(OBJECTS).unwrap() {
            store.create_raw(obj).await.unwrap();
        }
        let mine: BackupConfiguration = serde_saphyr::from_str(
            "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {name: app-db, namespace: demo}\nspec: {schedule: '0 2 * * *', repository: {name: mine}}\n",
        )
        .unwrap();
        store.create(&mine).await.unwrap();
        let ctx = test_ctx(store.clone(), Arc::new(FakeRunner::new()), clock);
        reconcile(&appbinding_ref(), &ctx).await.unwrap();
        annotate(&store, &[]).await;
        reconcile(&appbinding_ref(), &ctx).await.unwrap();
        let bc: BackupConfiguration = store.get("demo", "app-db").await.unwrap().unwrap();
        assert_eq!(
            bc.spec.schedule.as_deref(),
            Some("0 2 * * *"),
            "not ours: untouched"
        );
    }
}
