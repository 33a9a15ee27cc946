//! A backup invoker: a BackupConfiguration or a BackupBatch, seen the same way (Stash's
//! `invoker.BackupInvoker`). A BackupSession names its invoker by kind and name; everything a
//! session, its steps and its hooks need from it — the members (one for a configuration),
//! the Repository, retention, deadline, retries, history limit, global hooks, execution
//! order — is read through this view, so the session reconciler and the step commands have
//! one path for both kinds.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use stash::api::backup_configuration::BackupConfigurationTemplateSpec;
use stash::api::common::{ExecutionOrder, ObjectReference, RetryConfig, Snapshotter};
use stash::api::hooks::BackupHooks;
use stash::api::{
    BackupBatch, BackupConfiguration, BackupInvokerPhase, RetentionPolicy, TargetRef,
};

use crate::reconcile::owner_ref;
use crate::store::{ObjectStore, StoreError, StoreExt};

pub const BACKUP_CONFIGURATION: &str = "BackupConfiguration";
pub const BACKUP_BATCH: &str = "BackupBatch";

#[derive(Clone, Debug)]
pub struct BackupInvoker {
    /// `BackupConfiguration` or `BackupBatch`.
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    /// A controller reference to the invoker, for what it creates.
    pub owner: OwnerReference,
    /// What a session backs up, in order: a configuration's one template, a batch's members.
    pub members: Vec<BackupConfigurationTemplateSpec>,
    pub repository: ObjectReference,
    pub retention_policy: Option<RetentionPolicy>,
    pub schedule: Option<String>,
    pub paused: bool,
    pub time_out: Option<String>,
    pub retry_config: Option<RetryConfig>,
    pub backup_history_limit: i32,
    /// A batch's hooks around all members (a configuration's hooks are its member's).
    pub global_hooks: Option<BackupHooks>,
    pub execution_order: ExecutionOrder,
    pub phase: Option<BackupInvokerPhase>,
    pub driver: Snapshotter,
}

impl From<&BackupConfiguration> for BackupInvoker {
    fn from(bc: &BackupConfiguration) -> Self {
        let s = &bc.spec;
        BackupInvoker {
            kind: BACKUP_CONFIGURATION,
            metadata: bc.metadata.clone(),
            owner: owner_ref(bc),
            members: vec![s.template.clone()],
            repository: s.repository.clone().unwrap_or_default(),
            retention_policy: s.retention_policy.clone(),
            schedule: s.schedule.clone(),
            paused: s.paused(),
            time_out: s.time_out.clone(),
            retry_config: s.retry_config.clone(),
            backup_history_limit: s.backup_history_limit(),
            global_hooks: None,
            execution_order: ExecutionOrder::Parallel,
            phase: bc.status.as_ref().and_then(|st| st.phase),
            driver: s.driver(),
        }
    }
}

impl From<&BackupBatch> for BackupInvoker {
    fn from(b: &BackupBatch) -> Self {
        let s = &b.spec;
        BackupInvoker {
            kind: BACKUP_BATCH,
            metadata: b.metadata.clone(),
            owner: owner_ref(b),
            members: s.members().to_vec(),
            repository: s.repository.clone().unwrap_or_default(),
            retention_policy: s.retention_policy.clone(),
            schedule: s.schedule.clone(),
            paused: s.paused == Some(true),
            time_out: s.time_out.clone(),
            retry_config: s.retry_config.clone(),
            backup_history_limit: s.backup_history_limit(),
            global_hooks: s.hooks.clone(),
            execution_order: s.execution_order(),
            phase: b.status.as_ref().and_then(|st| st.phase),
            driver: s.driver(),
        }
    }
}

impl BackupInvoker {
    /// The invoker `kind`/`name` in `ns`, if it exists (an unknown kind never does).
    pub async fn get(
        store: &dyn ObjectStore,
        ns: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<BackupInvoker>, StoreError> {
        Ok(match kind {
            BACKUP_CONFIGURATION => store
                .get::<BackupConfiguration>(ns, name)
                .await?
                .map(|o| BackupInvoker::from(&o)),
            BACKUP_BATCH => store
                .get::<BackupBatch>(ns, name)
                .await?
                .map(|o| BackupInvoker::from(&o)),
            _ => None,
        })
    }

    pub fn name(&self) -> String {
        self.metadata.name.clone().unwrap_or_default()
    }

    pub fn namespace(&self) -> String {
        self.metadata.namespace.clone().unwrap_or_default()
    }

    /// `Kind ns/name`, as messages say it.
    pub fn display(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace(), self.name())
    }

    /// The Repository's namespace and name.
    pub fn repository_key(&self) -> (String, String) {
        let own = self.namespace();
        (
            self.repository.namespace_or(&own).to_string(),
            self.repository.name.clone(),
        )
    }

    /// Member `index`'s target reference.
    pub fn target_ref(&self, index: usize) -> Option<TargetRef> {
        self.members
            .get(index)?
            .target
            .as_ref()
            .map(|t| t.target_ref())
    }

    /// The member whose target is `target`.
    pub fn member_index(&self, target: Option<&TargetRef>) -> Option<usize> {
        (0..self.members.len())
            .find(|&i| crate::steps::record::same_target(self.target_ref(i).as_ref(), target))
    }

    pub fn is_sequential(&self) -> bool {
        self.execution_order == ExecutionOrder::Sequential
    }
}
