//! What a backup or restore target is, here: whether it exists, looked up by its kind.
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, ReplicationController};
use stash::api::{AppBinding, TargetRef};

use crate::context::Ctx;
use crate::error::Result;
use crate::store::StoreExt;

/// Whether the object `target` names exists (in `namespace`). Kinds this controller cannot
/// look up count as present: their executor reports what is wrong.
pub async fn target_exists(ctx: &Ctx, target: &TargetRef, namespace: &str) -> Result<bool> {
    let s = &ctx.store;
    let name = target.name();
    Ok(match target.kind() {
        "AppBinding" => s.get::<AppBinding>(namespace, name).await?.is_some(),
        "PersistentVolumeClaim" => s
            .get::<PersistentVolumeClaim>(namespace, name)
            .await?
            .is_some(),
        "Deployment" => s.get::<Deployment>(namespace, name).await?.is_some(),
        "StatefulSet" => s.get::<StatefulSet>(namespace, name).await?.is_some(),
        "DaemonSet" => s.get::<DaemonSet>(namespace, name).await?.is_some(),
        "ReplicaSet" => s.get::<ReplicaSet>(namespace, name).await?.is_some(),
        "ReplicationController" => s
            .get::<ReplicationController>(namespace, name)
            .await?
            .is_some(),
        _ => true,
    })
}
