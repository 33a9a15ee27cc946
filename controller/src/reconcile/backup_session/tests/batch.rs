//! BackupBatch sessions (spec §3.11, checks 9, 31, 32) on the scenario doubles: one session
//! whose targets are the members, Parallel bounded by `max_parallel_members`, Sequential
//! member after member whatever the previous one's outcome, the global hooks, and the
//! repository's init and post-backup actions once for the whole batch.
use stash::api::BackupBatch;

use super::*;

const BATCH: &str = r#"
- apiVersion: appcatalog.appscode.com/v1alpha1
  kind: AppBinding
  metadata: {name: pg2, namespace: demo}
  spec: {type: kubedb.com/postgres, clientConfig: {url: "postgresql://127.0.0.1:5432/"}, secret: {name: pg-auth}}
- apiVersion: appcatalog.appscode.com/v1alpha1
  kind: AppBinding
  metadata: {name: pg3, namespace: demo}
  spec: {type: kubedb.com/postgres, clientConfig: {url: "postgresql://127.0.0.1:5432/"}, secret: {name: pg-auth}}
- apiVersion: stash.appscode.com/v1beta1
  kind: BackupBatch
  metadata: {name: app, namespace: demo}
  spec:
    schedule: "*/5 * * * *"
    repository: {name: repo}
    retentionPolicy: {name: keep-2, keepLast: 2, prune: true}
    members:
    - task: {name: postgres-backup-14.0}
      target: {alias: one, ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg}}
    - task: {name: postgres-backup-14.0}
      target: {alias: two, ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg2}}
    - task: {name: postgres-backup-14.0}
      target: {alias: three, ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg3}}
"#;

/// The scenario world plus a Ready batch of three members, `spec` patched by `edit`.
async fn batch_world(edit: impl Fn(&mut BackupBatch)) -> World {
    let w = world().await;
    for mut obj in serde_saphyr::from_str::<Vec<serde_json::Value>>(BATCH).unwrap() {
        if obj["kind"] == "BackupBatch" {
            let mut b: BackupBatch = serde_json::from_value(obj).unwrap();
            edit(&mut b);
            obj = serde_json::to_value(b).unwrap();
        }
        w.store.create_raw(obj).await.unwrap();
    }
    let b = w.batch().await;
    crate::reconcile::backup_configuration::reconcile_batch(&b, &w.ctx)
        .await
        .unwrap();
    let st = w.batch().await.status.unwrap();
    assert_eq!(st.phase, Some(BackupInvokerPhase::Ready), "{st:?}");
    w.store.take_writes();
    w
}

impl World {
    async fn batch(&self) -> BackupBatch {
        self.store.get("demo", "app").await.unwrap().unwrap()
    }
    async fn batch_session(&self) -> String {
        let inv = BackupInvoker::from(&self.batch().await);
        let s = new_session(&inv, Some(self.clock.now().timestamp()));
        self.store.create(&s).await.unwrap();
        name_of(&s)
    }
    fn running_backups(&self, name: &str) -> Vec<usize> {
        (0..3)
            .filter(|i| {
                self.runner.state(&format!("stash-backup-{name}-{i}")) == Some(JobState::Running)
            })
            .collect()
    }
    /// Member `i`'s job reports its host, `ok` or not, and ends.
    async fn member_ends(&self, name: &str, i: usize, ok: bool) {
        let phase = if ok { "Succeeded" } else { "Failed" };
        let out: BackupOutput = serde_json::from_value(serde_json::json!({"targetStatus": {"stats": [{"hostname": "h", "phase": phase, "error": (!ok).then_some("pg_dump: connection refused")}]}})).unwrap();
        let target = BackupInvoker::from(&self.batch().await).target_ref(i);
        crate::steps::record::record_backup(self.store.as_ref(), "demo", name, target, &out)
            .await
            .unwrap();
        self.runner
            .finish(&format!("stash-backup-{name}-{i}"), JobState::Succeeded);
    }
    async fn init_done(&self, name: &str) {
        self.reconcile_session(name).await;
        self.runner
            .finish(&init_job_name(name), JobState::Succeeded);
        self.step_sets(name, types::BACKEND_REPOSITORY_INITIALIZED)
            .await;
    }
}

#[tokio::test]
async fn a_parallel_batch_runs_members_at_once_up_to_the_limit_then_post_actions_once() {
    // Check 9 for a batch: one init, one post-backup job, whatever the number of members.
    let mut w = batch_world(|_| {}).await;
    w.ctx.settings.max_parallel_members = 2;
    let name = w.batch_session().await;
    let s = w.session(&name).await;
    assert_eq!(
        s.spec.invoker.as_ref().unwrap().kind,
        "BackupBatch",
        "the session's invoker is the batch"
    );
    w.init_done(&name).await;
    w.reconcile_session(&name).await;
    assert_eq!(
        w.running_backups(&name),
        vec![0, 1],
        "two at once, the third waits"
    );
    let st = w.session(&name).await.status.unwrap();
    let targets = st.targets.unwrap();
    assert_eq!(targets.len(), 3, "one target per member");
    assert_eq!(targets[2].phase, Some(TargetPhase::Pending));
    assert_eq!(st.phase, Some(BackupSessionPhase::Running));

    w.member_ends(&name, 1, true).await;
    w.reconcile_session(&name).await;
    assert_eq!(
        w.running_backups(&name),
        vec![0, 2],
        "the third starts when one ends"
    );
    w.member_ends(&name, 0, true).await;
    w.member_ends(&name, 2, true).await;
    w.reconcile_session(&name).await;
    let post: Vec<String> = w
        .jobs()
        .into_iter()
        .filter(|j| j.starts_with("stash-post-") || j.starts_with("stash-init-"))
        .collect();
    assert_eq!(post, vec![init_job_name(&name), post_job_name(&name)]);
    w.runner.finish(&post_job_name(&name), JobState::Succeeded);
    w.step_sets(&name, types::RETENTION_POLICY_APPLIED).await;
    w.step_sets(&name, types::REPOSITORY_INTEGRITY_VERIFIED)
        .await;
    w.reconcile_session(&name).await;
    assert_eq!(w.phase(&name).await, Some(BackupSessionPhase::Succeeded));
    let targets = w.session(&name).await.status.unwrap().targets.unwrap();
    let actions: Vec<_> = targets
        .iter()
        .map(|t| {
            (
                t.pre_backup_actions.is_some(),
                t.post_backup_actions.is_some(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![(true, false), (false, false), (false, true)],
        "init on the first member, retention on the last"
    );
}

#[tokio::test]
async fn a_sequential_batch_runs_the_next_member_after_one_fails_and_the_session_fails() {
    // Check 31.
    let w = batch_world(|b| {
        b.spec.execution_order = Some(stash::api::common::ExecutionOrder::Sequential)
    })
    .await;
    let name = w.batch_session().await;
    w.init_done(&name).await;
    w.reconcile_session(&name).await;
    assert_eq!(w.running_backups(&name), vec![0], "one member at a time");
    w.member_ends(&name, 0, false).await;
    w.reconcile_session(&name).await;
    assert_eq!(
        w.running_backups(&name),
        vec![1],
        "a failed member does not stop the next"
    );
    assert_eq!(w.phase(&name).await, Some(BackupSessionPhase::Running));
    w.member_ends(&name, 1, true).await;
    w.reconcile_session(&name).await;
    w.member_ends(&name, 2, true).await;
    w.reconcile_session(&name).await;
    let st = w.session(&name).await.status.unwrap();
    assert_eq!(st.phase, Some(BackupSessionPhase::Failed), "{st:?}");
    let phases: Vec<_> = st.targets.unwrap().iter().map(|t| t.phase).collect();
    assert_eq!(
        phases,
        vec![
            Some(TargetPhase::Failed),
            Some(TargetPhase::Succeeded),
            Some(TargetPhase::Succeeded)
        ]
    );
    assert!(
        w.runner.state(&post_job_name(&name)).is_none(),
        "retention does not run over a failed session"
    );
    let events = w
        .store
        .events(&ObjRef::of::<BackupSession>("demo", &name))
        .await
        .unwrap();
    let failed = events
        .iter()
        .find(|e| e.reason == "BackupSession Failed")
        .unwrap();
    assert!(
        failed.message.contains("pg_dump: connection refused"),
        "the event names the member's error: {failed:?}"
    );
}

#[tokio::test]
async fn a_failed_global_pre_backup_hook_runs_no_member() {
    // Check 32.
    let w = batch_world(|b| {
        b.spec.hooks = Some(
            serde_saphyr::from_str(
                "{preBackup: {exec: {command: [sh, -c, 'echo maintenance; exit 1']}}, postBackup: {exec: {command: ['true']}}}",
            )
            .unwrap(),
        )
    })
    .await;
    let name = w.batch_session().await;
    w.reconcile_session(&name).await;
    let hook = hook_job_name(HookType::GlobalPreBackup, &name, 0);
    assert_eq!(w.jobs(), vec![hook.clone()], "the global hook comes first");
    assert_eq!(
        w.runner.started()[0].steps[0].args[..2],
        [
            "session-action".to_string(),
            "global-pre-backup-hook".to_string()
        ]
    );
    w.run_hook_step(&name, HookType::GlobalPreBackup).await;
    w.reconcile_session(&name).await;
    let st = w.session(&name).await.status.unwrap();
    let c = find_condition(
        st.conditions.as_deref(),
        types::GLOBAL_PRE_BACKUP_HOOK_SUCCEEDED,
    )
    .unwrap();
    assert!(c.is_false(), "{c:?}");
    assert_eq!(
        c.reason.as_deref(),
        Some("GlobalPreBackupHookExecutionFailed")
    );
    assert!(
        c.message.as_deref().unwrap().contains("maintenance"),
        "{c:?}"
    );
    assert_eq!(st.phase, Some(BackupSessionPhase::Failed), "{st:?}");
    assert_eq!(
        w.jobs(),
        vec![hook],
        "no init, no member, no global post hook"
    );
}

#[tokio::test]
async fn the_global_post_backup_hook_runs_after_every_member_by_its_policy() {
    let w = batch_world(|b| {
        b.spec.hooks = Some(
            serde_saphyr::from_str(
                "{postBackup: {executionPolicy: OnFailure, exec: {command: ['true']}}}",
            )
            .unwrap(),
        )
    })
    .await;
    let name = w.batch_session().await;
    w.init_done(&name).await;
    w.reconcile_session(&name).await;
    for i in 0..3 {
        w.member_ends(&name, i, true).await;
    }
    w.reconcile_session(&name).await;
    w.runner.finish(&post_job_name(&name), JobState::Succeeded);
    w.step_sets(&name, types::RETENTION_POLICY_APPLIED).await;
    w.step_sets(&name, types::REPOSITORY_INTEGRITY_VERIFIED)
        .await;
    w.reconcile_session(&name).await;
    let st = w.session(&name).await.status.unwrap();
    let c = find_condition(
        st.conditions.as_deref(),
        types::GLOBAL_POST_BACKUP_HOOK_SUCCEEDED,
    )
    .unwrap();
    assert!(c.is_true());
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .starts_with("Skipping executing global postBackup"),
        "{c:?}"
    );
    assert_eq!(st.phase, Some(BackupSessionPhase::Succeeded));
    assert!(w
        .runner
        .state(&hook_job_name(HookType::GlobalPostBackup, &name, 0))
        .is_none());
}

#[tokio::test]
async fn a_batch_with_two_databases_under_one_host_is_invalid() {
    let w = world().await;
    for mut obj in serde_saphyr::from_str::<Vec<serde_json::Value>>(BATCH).unwrap() {
        if obj["kind"] == "BackupBatch" {
            obj["spec"]["members"][2]["target"]["alias"] = "one".into();
        }
        w.store.create_raw(obj).await.unwrap();
    }
    crate::reconcile::backup_configuration::reconcile_batch(&w.batch().await, &w.ctx)
        .await
        .unwrap();
    let st = w.batch().await.status.unwrap();
    assert_eq!(st.phase, Some(BackupInvokerPhase::Invalid));
    let c = find_condition(st.conditions.as_deref(), types::VALIDATION_PASSED).unwrap();
    assert!(
        c.message.as_deref().unwrap().contains(
            "spec.members[2].target.alias: members 0 and 2 are both databases backed up as host \"one\""
        ),
        "{c:?}"
    );
    let members = st.member_conditions.unwrap();
    assert_eq!(members.len(), 3, "one entry per member");
}
