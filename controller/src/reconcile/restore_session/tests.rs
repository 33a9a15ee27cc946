//! Scenario tests: the in-memory store, the fake runner and a manual clock; the test plays the
//! Task's last step by recording what `update-status --restoresession` would.
use std::sync::Arc;

use stash::api::output::RestoreOutput;
use stash::api::restore_session::HostRestorePhase;
use stash::api::{BackupConfiguration, BackupSession, BackupSessionPhase, Repository};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::context::test_ctx;
use crate::hooks::HookType;
use crate::invoker::BackupInvoker;
use crate::reconcile::backup_session::new_session;
use crate::runner::{FakeRunner, StepRunner};
use crate::store::{MemoryStore, ObjectStore};

struct World {
    store: Arc<MemoryStore>,
    runner: Arc<FakeRunner>,
    clock: Arc<ManualClock>,
    ctx: Ctx,
}

const OBJECTS: &str = r#"
- apiVersion: stash.appscode.com/v1alpha1
  kind: Repository
  metadata: {name: repo, namespace: demo}
  spec: {backend: {storageSecretName: repo-secret, local: {mountPath: /tmp/repo}}}
- apiVersion: v1
  kind: Secret
  metadata: {name: repo-secret, namespace: demo}
  stringData: {RESTIC_PASSWORD: not-logged}
- apiVersion: appcatalog.appscode.com/v1alpha1
  kind: AppBinding
  metadata: {name: pg, namespace: demo}
  spec: {type: kubedb.com/postgres, clientConfig: {url: "postgresql://127.0.0.1:5432/"}, secret: {name: pg-auth}}
- apiVersion: stash.appscode.com/v1beta1
  kind: BackupConfiguration
  metadata: {name: pg-backup, namespace: demo}
  spec:
    schedule: "*/5 * * * *"
    task: {name: postgres-backup-14.0}
    repository: {name: repo}
    target: {ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg}}
    retentionPolicy: {name: keep-2, keepLast: 2, prune: true}
"#;

const NAME: &str = "pg-restore";

/// A RestoreSession of the AppBinding from `repo`, with `extra` spec fields.
fn restore_session(task: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut spec = serde_json::json!({
        "task": {"name": task},
        "repository": {"name": "repo"},
        "target": {"ref": {"apiVersion": "appcatalog.appscode.com/v1alpha1", "kind": "AppBinding", "name": "pg"}},
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    serde_json::json!({
        "apiVersion": "stash.appscode.com/v1beta1", "kind": "RestoreSession",
        "metadata": {"name": NAME, "namespace": "demo"},
        "spec": spec,
    })
}

async fn world_with(rs: serde_json::Value) -> World {
    let clock = Arc::new(ManualClock::at("2026-11-30T10:01:00Z"));
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let runner = Arc::new(FakeRunner::new());
    for obj in serde_saphyr::from_str::<Vec<serde_json::Value>>(OBJECTS).unwrap() {
        store.create_raw(obj).await.unwrap();
    }
    store.create_raw(rs).await.unwrap();
    store.take_writes();
    let ctx = test_ctx(store.clone(), runner.clone(), clock.clone());
    World {
        store,
        runner,
        clock,
        ctx,
    }
}

async fn world() -> World {
    world_with(restore_session(
        "postgres-restore-14.0",
        serde_json::json!({}),
    ))
    .await
}

impl World {
    async fn session(&self) -> RestoreSession {
        self.store.get("demo", NAME).await.unwrap().unwrap()
    }
    async fn status(&self) -> RestoreSessionStatus {
        self.session().await.status.unwrap_or_default()
    }
    async fn reconcile(&self) -> Next {
        reconcile(&self.session().await, &self.ctx).await.unwrap()
    }
    /// What `update-status --restoresession` writes for one host.
    async fn report(&self, host: &str, phase: HostRestorePhase, error: Option<&str>) {
        let out: RestoreOutput = serde_json::from_value(serde_json::json!({"targetStatus": {
            "ref": {"apiVersion": "appcatalog.appscode.com/v1alpha1", "kind": "AppBinding", "name": "pg"},
            "stats": [{"hostname": host, "phase": phase, "duration": "2.5s", "error": error}],
        }}))
        .unwrap();
        crate::steps::record::record_restore(self.store.as_ref(), "demo", NAME, None, &out)
            .await
            .unwrap();
    }
    async fn events(&self) -> Vec<crate::store::Event> {
        let rs = self.session().await;
        self.store
            .events(&crate::store::ObjRef::to(&rs))
            .await
            .unwrap()
    }
    fn job(&self) -> String {
        restore_job_name(NAME, 0, 1)
    }
}

fn cond<'a>(st: &'a RestoreSessionStatus, ty: &str) -> &'a Condition {
    find_condition(st.conditions.as_deref(), ty).unwrap_or_else(|| panic!("no {ty}: {st:?}"))
}

#[tokio::test]
async fn the_job_starts_once_with_the_restore_tasks_steps_and_a_second_pass_writes_nothing() {
    let w = world().await;
    assert_eq!(w.reconcile().await, Next::secs(POLL_SECS));
    let jobs = w.runner.started();
    assert_eq!(
        jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        ["stash-restore-pg-restore"]
    );
    let job = &jobs[0];
    assert_eq!(job.steps.len(), 2, "{:?}", job.steps);
    assert_eq!(job.steps[0].args[..3], ["addon", "postgres", "restore"]);
    assert!(
        job.steps[0].args.contains(&"--appbinding=pg".to_string()),
        "{:?}",
        job.steps[0].args
    );
    assert_eq!(job.steps[1].args[0], "update-status");
    assert!(
        job.steps[1]
            .args
            .contains(&format!("--restoresession={NAME}")),
        "{:?}",
        job.steps[1].args
    );
    assert_eq!(job.owner.to_string(), format!("RestoreSession demo/{NAME}"));
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Running));
    assert_eq!(st.total_hosts, Some(1));
    for ty in [
        types::VALIDATION_PASSED,
        types::REPOSITORY_FOUND,
        types::BACKEND_SECRET_FOUND,
        types::RESTORE_TARGET_FOUND,
        types::RESTORE_EXECUTOR_ENSURED,
    ] {
        assert!(cond(&st, ty).is_true(), "{ty}: {st:?}");
    }
    assert_eq!(
        cond(&st, types::RESTORE_EXECUTOR_ENSURED).reason.as_deref(),
        Some(reasons::SUCCESSFULLY_ENSURED_RESTORE_EXECUTOR)
    );
    assert_eq!(
        w.store.take_writes(),
        vec![
            format!("status RestoreSession demo/{NAME}"),
            format!("event RestoreSession demo/{NAME} Restore Job Created"),
        ]
    );

    assert_eq!(w.reconcile().await, Next::secs(POLL_SECS));
    assert_eq!(
        w.store.take_writes(),
        Vec::<String>::new(),
        "a second reconcile writes nothing"
    );
    assert_eq!(w.runner.started().len(), 1);
}

#[tokio::test]
async fn a_reported_host_ends_the_session_succeeded_with_its_duration_and_an_event() {
    let w = world().await;
    w.reconcile().await;
    w.store.take_writes();
    w.report("host-0", HostRestorePhase::Succeeded, None).await;
    w.runner.finish(&w.job(), JobState::Succeeded);
    assert_eq!(
        w.store.take_writes(),
        vec![
            format!("status RestoreSession demo/{NAME}"),
            format!("event RestoreSession demo/{NAME} Host Restore Succeeded"),
        ]
    );
    // Still Running: the metrics step is the reconciler's.
    assert_eq!(w.status().await.phase, Some(RestorePhase::Running));

    w.clock.set("2026-11-30T10:02:30Z".parse().unwrap());
    assert_eq!(w.reconcile().await, Next::Wait);
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Succeeded), "{st:?}");
    assert_eq!(st.session_duration.as_deref(), Some("1m30s"));
    assert!(cond(&st, types::METRICS_PUSHED).is_true());
    let stats = st.stats.unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].hostname.as_deref(), Some("host-0"));
    assert_eq!(
        w.store.take_writes(),
        vec![
            format!("status RestoreSession demo/{NAME}"),
            format!("event RestoreSession demo/{NAME} RestoreSession Succeeded"),
        ]
    );
    let last = w.events().await.pop().unwrap();
    assert_eq!(last.source, "RestoreSession Controller");
    assert_eq!(
        last.message,
        format!("restore has been completed successfully for RestoreSession demo/{NAME}")
    );

    w.reconcile().await;
    assert_eq!(
        w.store.take_writes(),
        Vec::<String>::new(),
        "a final session is left alone"
    );
}

#[tokio::test]
async fn a_failed_host_fails_the_session_and_says_which() {
    let w = world().await;
    w.reconcile().await;
    w.report(
        "host-0",
        HostRestorePhase::Failed,
        Some("psql: connection refused"),
    )
    .await;
    // update-status exits 1 when a host failed: the job fails after recording.
    w.runner.finish(
        &w.job(),
        JobState::Failed {
            step: "update-status".into(),
            message: "1 of 1 hosts failed".into(),
        },
    );
    w.reconcile().await;
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Failed), "{st:?}");
    assert!(
        find_condition(st.conditions.as_deref(), types::RESTORE_DISRUPTED).is_none(),
        "the host did report: {st:?}"
    );
    let events = w.events().await;
    let host = events
        .iter()
        .find(|e| e.reason == "Host Restore Failed")
        .unwrap();
    assert_eq!(host.source, "Status Updater");
    assert!(
        host.message.contains("psql: connection refused"),
        "{host:?}"
    );
    let last = events.last().unwrap();
    assert_eq!(last.reason, "RestoreSession Failed");
    assert_eq!(last.type_, EventType::Warning);
    assert!(
        last.message
            .contains("restore failed for host: host-0. Reason: psql: connection refused"),
        "{last:?}"
    );
}

#[tokio::test]
async fn a_job_that_vanished_without_reporting_fails_the_session_naming_it() {
    let w = world().await;
    w.reconcile().await;
    // The process restarts: the runner knows no job any more.
    w.runner.forget_all();
    assert_eq!(w.reconcile().await, Next::Wait);
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Failed), "{st:?}");
    let c = cond(&st, types::RESTORE_DISRUPTED);
    assert!(c.is_true());
    assert_eq!(
        c.reason.as_deref(),
        Some(reasons::FAILED_TO_COMPLETE_DUE_TO_DISRUPTION)
    );
    let msg = c.message.as_deref().unwrap();
    assert!(msg.contains("stash-restore-pg-restore"), "{msg}");
    assert!(msg.contains("stash was stopped while it ran"), "{msg}");
    let last = w.events().await.pop().unwrap();
    assert_eq!(last.reason, "RestoreSession Failed");
    assert!(
        last.message.contains("stash-restore-pg-restore"),
        "{last:?}"
    );
}

#[tokio::test]
async fn a_job_that_succeeded_without_reporting_fails_the_session() {
    let w = world().await;
    w.reconcile().await;
    w.runner.finish(&w.job(), JobState::Succeeded);
    w.reconcile().await;
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Failed));
    let msg = cond(&st, types::RESTORE_DISRUPTED).message.clone().unwrap();
    assert!(msg.contains("ended without reporting"), "{msg}");
}

#[tokio::test]
async fn a_stale_copy_does_not_mark_a_reported_restore_disrupted() {
    let w = world().await;
    w.reconcile().await;
    let stale = w.session().await;
    w.report("host-0", HostRestorePhase::Succeeded, None).await;
    w.runner.finish(&w.job(), JobState::Succeeded);
    // The copy predates the host's result; the job has ended since.
    assert_eq!(reconcile(&stale, &w.ctx).await.unwrap(), Next::Wait);
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Succeeded), "{st:?}");
    assert!(find_condition(st.conditions.as_deref(), types::RESTORE_DISRUPTED).is_none());
}

#[tokio::test]
async fn a_restore_waits_while_a_backup_into_its_repository_runs() {
    let w = world().await;
    let bc: BackupConfiguration = w.store.get("demo", "pg-backup").await.unwrap().unwrap();
    let backup = new_session(&BackupInvoker::from(&bc), Some(1_796_033_100));
    let backup_name = name_of(&backup);
    w.store.create(&backup).await.unwrap();
    let set_phase = |p: BackupSessionPhase| {
        let store = w.store.clone();
        let backup_name = backup_name.clone();
        async move {
            store
                .update_status::<BackupSession, _>("demo", &backup_name, |s| {
                    s.status.get_or_insert_with(Default::default).phase = Some(p)
                })
                .await
                .unwrap();
        }
    };
    set_phase(BackupSessionPhase::Running).await;
    w.store.take_writes();

    assert_eq!(w.reconcile().await, Next::secs(POLL_SECS));
    assert!(
        w.runner.started().is_empty(),
        "no job while the backup runs"
    );
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Pending), "{st:?}");
    assert_eq!(st.total_hosts, None);
    w.store.take_writes();
    assert_eq!(w.reconcile().await, Next::secs(POLL_SECS));
    assert_eq!(w.store.take_writes(), Vec::<String>::new());

    // The backup ending lets the restore go.
    set_phase(BackupSessionPhase::Succeeded).await;
    w.reconcile().await;
    assert_eq!(w.runner.started().len(), 1);
    assert_eq!(w.status().await.phase, Some(RestorePhase::Running));
}

#[tokio::test]
async fn a_backup_into_another_repository_does_not_hold_a_restore_back() {
    let w = world().await;
    let mut bc: BackupConfiguration = w.store.get("demo", "pg-backup").await.unwrap().unwrap();
    bc.metadata.name = Some("other-backup".into());
    bc.metadata.resource_version = None;
    bc.metadata.uid = None;
    bc.spec.repository.as_mut().unwrap().name = "other-repo".into();
    w.store.create(&bc).await.unwrap();
    let backup = new_session(&BackupInvoker::from(&bc), Some(1_796_033_100));
    w.store.create(&backup).await.unwrap();
    w.store
        .update_status::<BackupSession, _>("demo", &name_of(&backup), |s| {
            s.status.get_or_insert_with(Default::default).phase = Some(BackupSessionPhase::Running)
        })
        .await
        .unwrap();
    w.reconcile().await;
    assert_eq!(w.runner.started().len(), 1);
}

#[tokio::test]
async fn past_the_deadline_the_session_fails_and_its_job_is_cancelled() {
    let w = world_with(restore_session(
        "postgres-restore-14.0",
        serde_json::json!({"timeOut": "1m"}),
    ))
    .await;
    w.reconcile().await;
    let st = w.status().await;
    assert_eq!(
        st.session_deadline.as_ref().map(from_time),
        Some("2026-11-30T10:02:00Z".parse().unwrap())
    );
    assert_eq!(
        w.runner.started()[0].timeout,
        Some(std::time::Duration::from_secs(60))
    );
    w.clock.set("2026-11-30T10:02:01Z".parse().unwrap());
    assert_eq!(w.reconcile().await, Next::Wait);
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Failed), "{st:?}");
    let c = cond(&st, types::DEADLINE_EXCEEDED);
    assert!(c.is_true());
    assert_eq!(
        c.reason.as_deref(),
        Some(reasons::FAILED_TO_COMPLETE_WITHIN_DEADLINE)
    );
    assert!(matches!(
        w.runner.state(&w.job()),
        Some(JobState::Failed { .. })
    ));
    assert_eq!(st.session_duration.as_deref(), Some("1m1s"));
}

#[tokio::test]
async fn a_missing_repository_keeps_it_pending_until_the_repository_appears() {
    let w = world().await;
    let repo: Repository = w.store.get("demo", "repo").await.unwrap().unwrap();
    w.store.delete::<Repository>("demo", "repo").await.unwrap();
    assert_eq!(w.reconcile().await, Next::secs(POLL_SECS));
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Pending), "{st:?}");
    let c = cond(&st, types::REPOSITORY_FOUND);
    assert!(c.is_false());
    assert_eq!(c.reason.as_deref(), Some(reasons::REPOSITORY_NOT_AVAILABLE));
    assert!(c.message.as_deref().unwrap().contains("demo/repo"), "{c:?}");
    assert!(w.runner.started().is_empty());
    w.store.take_writes();
    w.reconcile().await;
    assert_eq!(w.store.take_writes(), Vec::<String>::new());

    let mut repo = repo;
    repo.metadata.resource_version = None;
    repo.metadata.uid = None;
    w.store.create(&repo).await.unwrap();
    w.reconcile().await;
    let st = w.status().await;
    assert!(cond(&st, types::REPOSITORY_FOUND).is_true());
    assert_eq!(st.phase, Some(RestorePhase::Running));
    assert_eq!(w.runner.started().len(), 1);
}

#[tokio::test]
async fn a_restore_task_that_does_not_exist_fails_the_executor_naming_it() {
    let w = world_with(restore_session(
        "postgres-restore-9.9",
        serde_json::json!({}),
    ))
    .await;
    assert_eq!(w.reconcile().await, Next::Wait);
    assert!(w.runner.started().is_empty());
    let st = w.status().await;
    let c = cond(&st, types::RESTORE_EXECUTOR_ENSURED);
    assert!(c.is_false());
    assert_eq!(
        c.reason.as_deref(),
        Some(reasons::FAILED_TO_ENSURE_RESTORE_EXECUTOR)
    );
    let msg = c.message.as_deref().unwrap();
    assert!(msg.contains("\"postgres-restore-9.9\""), "{msg}");
    assert!(msg.contains("spec.task.name"), "{msg}");
    assert_eq!(st.phase, Some(RestorePhase::Failed), "{st:?}");
    let got: Vec<String> = w.events().await.into_iter().map(|e| e.reason).collect();
    assert_eq!(
        got,
        ["Restore Job Creation Failed", "RestoreSession Failed"]
    );
}

#[tokio::test]
async fn a_users_task_overrides_the_catalogs() {
    let w = world().await;
    let task = serde_json::json!({
        "apiVersion": "stash.appscode.com/v1beta1", "kind": "Task",
        "metadata": {"name": "postgres-restore-14.0"},
        "spec": {"steps": [{"name": "update-status", "params": [{"name": "outputDir", "value": "/stash-tmp/output"}]}]},
    });
    w.store.create_raw(task).await.unwrap();
    w.reconcile().await;
    let job = &w.runner.started()[0];
    assert_eq!(job.steps.len(), 1);
    assert_eq!(job.steps[0].args[0], "update-status");
}

#[tokio::test]
async fn an_invalid_spec_is_invalid_with_the_field_named() {
    let rules = serde_json::json!([{"paths": ["/a"]}, {"paths": ["/b"]}]);
    let mut rs = restore_session("postgres-restore-14.0", serde_json::json!({}));
    rs["spec"]["target"]["rules"] = rules;
    let w = world_with(rs).await;
    assert_eq!(w.reconcile().await, Next::Wait);
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Invalid), "{st:?}");
    let msg = cond(&st, types::VALIDATION_PASSED).message.clone().unwrap();
    assert!(msg.contains("spec.target.rules"), "{msg}");
    assert!(w.runner.started().is_empty());
}

#[tokio::test]
async fn record_restore_upserts_a_host_by_name() {
    let w = world().await;
    w.reconcile().await;
    w.report("host-0", HostRestorePhase::Failed, Some("first try"))
        .await;
    w.report("host-0", HostRestorePhase::Succeeded, None).await;
    let stats = w.status().await.stats.unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].phase, Some(HostRestorePhase::Succeeded));
    assert_eq!(stats[0].error, None);
}

/// A restore with `spec.hooks` (JSON).
async fn world_with_hooks(hooks: serde_json::Value) -> World {
    world_with(restore_session(
        "postgres-restore-14.0",
        serde_json::json!({ "hooks": hooks }),
    ))
    .await
}

fn exec_hook() -> serde_json::Value {
    serde_json::json!({"exec": {"command": ["true"]}})
}

impl World {
    /// What the hook's step records.
    async fn hook_records(&self, hook: HookType, ok: bool) {
        let c = if ok {
            hook.succeeded(None, self.clock.now())
        } else {
            hook.failed("exit status 1", self.clock.now())
        };
        self.store
            .update_status::<RestoreSession, _>("demo", NAME, |r| {
                set(r.status.get_or_insert_with(Default::default), c.clone())
            })
            .await
            .unwrap();
    }
    fn started(&self) -> Vec<String> {
        self.runner.started().into_iter().map(|j| j.name).collect()
    }
}

#[tokio::test]
async fn the_pre_restore_hook_runs_before_the_restore_job() {
    let w = world_with_hooks(serde_json::json!({ "preRestore": exec_hook() })).await;
    w.reconcile().await;
    assert_eq!(w.started(), ["stash-pre-restore-hook-pg-restore"]);
    let hook_job = &w.runner.started()[0];
    assert_eq!(
        hook_job.steps[0].args,
        [
            "session-action",
            "pre-restore-hook",
            "--namespace=demo",
            "--restoresession=pg-restore"
        ]
    );
    w.store.take_writes();
    w.reconcile().await;
    assert!(w.store.take_writes().is_empty(), "waiting writes nothing");

    w.hook_records(HookType::PreRestore, true).await;
    w.runner
        .finish("stash-pre-restore-hook-pg-restore", JobState::Succeeded);
    w.reconcile().await;
    assert_eq!(
        w.started(),
        [
            "stash-pre-restore-hook-pg-restore",
            "stash-restore-pg-restore"
        ]
    );
    assert_eq!(w.status().await.phase, Some(RestorePhase::Running));
}

#[tokio::test]
async fn a_failed_pre_restore_hook_restores_nothing_and_fails_the_session() {
    let w = world_with_hooks(serde_json::json!({
        "preRestore": exec_hook(),
        "postRestore": {"exec": {"command": ["true"]}, "executionPolicy": "Always"},
    }))
    .await;
    w.reconcile().await;
    // The step died without recording: the job's message becomes the condition.
    w.runner.finish(
        "stash-pre-restore-hook-pg-restore",
        JobState::Failed {
            step: "pre-restore-hook".into(),
            message: "step pre-restore-hook exited with code 1: quiesce failed".into(),
        },
    );
    assert_eq!(w.reconcile().await, Next::Wait);
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Failed), "{st:?}");
    let c = cond(&st, types::PRE_RESTORE_HOOK_EXECUTION_SUCCEEDED);
    assert!(c.is_false());
    assert!(c.message.as_deref().unwrap().ends_with("quiesce failed"));
    assert_eq!(
        w.started(),
        ["stash-pre-restore-hook-pg-restore"],
        "neither the restore nor the post-restore hook ran"
    );
}

#[tokio::test]
async fn the_post_restore_hook_runs_after_the_hosts_and_before_the_final_phase() {
    let w = world_with_hooks(serde_json::json!({ "postRestore": exec_hook() })).await;
    w.reconcile().await;
    w.report("host-0", HostRestorePhase::Succeeded, None).await;
    w.runner.finish(&w.job(), JobState::Succeeded);
    assert_eq!(w.reconcile().await, Next::secs(POLL_SECS));
    assert_eq!(
        w.started(),
        [
            "stash-post-restore-hook-pg-restore",
            "stash-restore-pg-restore"
        ]
    );
    assert_eq!(w.status().await.phase, Some(RestorePhase::Running));
    w.store.take_writes();
    w.reconcile().await;
    assert!(w.store.take_writes().is_empty(), "waiting writes nothing");

    w.hook_records(HookType::PostRestore, false).await;
    w.runner.finish(
        "stash-post-restore-hook-pg-restore",
        JobState::Failed {
            step: "post-restore-hook".into(),
            message: "exit status 1".into(),
        },
    );
    assert_eq!(w.reconcile().await, Next::Wait);
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Failed), "{st:?}");
    assert_eq!(
        cond(&st, types::POST_RESTORE_HOOK_EXECUTION_SUCCEEDED)
            .message
            .as_deref(),
        Some("Failed to execute postRestore hook. Reason: exit status 1")
    );
}

#[tokio::test]
async fn a_post_restore_hook_its_policy_skips_starts_no_job() {
    let w = world_with_hooks(serde_json::json!({
        "postRestore": {"exec": {"command": ["true"]}, "executionPolicy": "OnFailure"},
    }))
    .await;
    w.reconcile().await;
    w.report("host-0", HostRestorePhase::Succeeded, None).await;
    w.runner.finish(&w.job(), JobState::Succeeded);
    assert_eq!(w.reconcile().await, Next::Wait);
    let st = w.status().await;
    assert_eq!(st.phase, Some(RestorePhase::Succeeded), "{st:?}");
    let c = cond(&st, types::POST_RESTORE_HOOK_EXECUTION_SUCCEEDED);
    assert!(c.is_true());
    assert_eq!(
        c.message.as_deref(),
        Some("Skipping executing postRestore. Reason: executionPolicy is \"OnFailure\" but phase is \"Succeeded\".")
    );
    assert_eq!(w.started(), ["stash-restore-pg-restore"]);
}
