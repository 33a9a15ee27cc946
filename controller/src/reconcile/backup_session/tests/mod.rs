//! Scenario tests: the in-memory store, the fake runner and a manual clock; the test plays the
//! step processes by writing what they would write.
use std::sync::Arc;

use k8s_openapi::api::batch::v1::CronJob;
use stash::api::conditions::types;
use stash::api::output::BackupOutput;
use stash::api::{BackupConfiguration, BackupInvokerPhase, BackupSession, BackupSessionPhase};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::context::{test_ctx, Ctx};
use crate::runner::{FakeRunner, JobSpec, StepRunner};
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

async fn world() -> World {
    let clock = Arc::new(ManualClock::at("2026-11-30T10:01:00Z"));
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let runner = Arc::new(FakeRunner::new());
    for obj in serde_saphyr::from_str::<Vec<serde_json::Value>>(OBJECTS).unwrap() {
        store.create_raw(obj).await.unwrap();
    }
    store.take_writes();
    let ctx = test_ctx(store.clone(), runner.clone(), clock.clone());
    World {
        store,
        runner,
        clock,
        ctx,
    }
}

impl World {
    async fn bc(&self) -> BackupConfiguration {
        self.store.get("demo", "pg-backup").await.unwrap().unwrap()
    }
    async fn session(&self, name: &str) -> BackupSession {
        self.store.get("demo", name).await.unwrap().unwrap()
    }
    async fn reconcile_session(&self, name: &str) -> Next {
        let s = self.session(name).await;
        reconcile(&s, &self.ctx).await.unwrap()
    }
    /// What a step process would write: a condition on the session.
    async fn step_sets(&self, name: &str, ty: &str) {
        let c = condition(ty, true, "Test", "set by the step", self.clock.now());
        self.store
            .update_status::<BackupSession, _>("demo", name, |s| {
                set(s.status.get_or_insert_with(Default::default), c.clone())
            })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_scheduled_session_runs_from_tick_to_success_and_a_second_pass_writes_nothing() {
    let w = world().await;
    // The configuration becomes Ready and gets its CronJob.
    let next = super::super::backup_configuration::reconcile(&w.bc().await, &w.ctx)
        .await
        .unwrap();
    assert_eq!(next, Next::Wait);
    let bc = w.bc().await;
    assert_eq!(
        bc.status.as_ref().unwrap().phase,
        Some(BackupInvokerPhase::Ready),
        "{:?}",
        bc.status
    );
    let cj: CronJob = w
        .store
        .get("demo", "stash-trigger-pg-backup")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cj.spec.as_ref().unwrap().suspend, Some(false));
    w.store.take_writes();
    super::super::backup_configuration::reconcile(&w.bc().await, &w.ctx)
        .await
        .unwrap();
    assert_eq!(
        w.store.take_writes(),
        Vec::<String>::new(),
        "a second reconcile writes nothing"
    );

    // At 10:05 the schedule creates a session.
    w.clock.set("2026-11-30T10:05:00Z".parse().unwrap());
    let next = crate::reconcile::cronjob::reconcile(&cj, &w.ctx)
        .await
        .unwrap();
    assert_eq!(next, Next::secs(300));
    let name = "pg-backup-1796033100"; // 2026-11-30T10:05:00Z in unix seconds
    let s = w.session(name).await;
    assert_eq!(s.spec.retry_left, Some(0));

    // First pass: the repository is initialised by a job of its own.
    w.reconcile_session(name).await;
    let jobs: Vec<String> = w.runner.started().iter().map(|j| j.name.clone()).collect();
    assert_eq!(jobs, vec![init_job_name(name)]);
    assert_eq!(
        w.runner.started()[0].steps[0].args[..2],
        ["session-action".to_string(), "init-repository".to_string()]
    );
    w.runner.finish(&init_job_name(name), JobState::Succeeded);
    w.step_sets(name, types::BACKEND_REPOSITORY_INITIALIZED)
        .await;

    // Then the target's job, the resolved catalog Task.
    w.reconcile_session(name).await;
    let job = w
        .runner
        .started()
        .into_iter()
        .find(|j| j.name == format!("stash-backup-{name}-0"))
        .unwrap();
    assert_eq!(job.steps.len(), 2);
    assert_eq!(job.steps[0].args[0], "addon");
    assert_eq!(job.steps[1].args[0], "update-status");
    assert!(
        job.steps[1]
            .args
            .contains(&format!("--backupsession={name}")),
        "{:?}",
        job.steps[1].args
    );
    let s = w.session(name).await;
    assert_eq!(
        s.status.as_ref().unwrap().phase,
        Some(BackupSessionPhase::Running)
    );

    // update-status records the host; the job ends.
    let out: BackupOutput = serde_json::from_value(serde_json::json!({"targetStatus": {"stats": [{"hostname": "host-0", "phase": "Succeeded"}]}})).unwrap();
    let target = s.status.as_ref().unwrap().targets.as_ref().unwrap()[0]
        .r#ref
        .clone();
    crate::steps::record::record_backup(w.store.as_ref(), "demo", name, target, &out)
        .await
        .unwrap();
    w.runner.finish(&job.name, JobState::Succeeded);

    // Post-backup actions run once, by their own job.
    w.reconcile_session(name).await;
    assert!(w.runner.state(&post_job_name(name)).is_some());
    assert_eq!(
        w.session(name).await.status.unwrap().phase,
        Some(BackupSessionPhase::Running)
    );
    w.runner.finish(&post_job_name(name), JobState::Succeeded);
    w.step_sets(name, types::RETENTION_POLICY_APPLIED).await;
    w.step_sets(name, types::REPOSITORY_INTEGRITY_VERIFIED)
        .await;

    w.clock.set("2026-11-30T10:06:30Z".parse().unwrap());
    w.store.take_writes();
    assert_eq!(w.reconcile_session(name).await, Next::Wait);
    let s = w.session(name).await;
    let st = s.status.unwrap();
    assert_eq!(st.phase, Some(BackupSessionPhase::Succeeded));
    assert_eq!(st.session_duration.as_deref(), Some("1m30s"));
    assert_eq!(
        w.store.take_writes(),
        vec![
            format!("status BackupSession demo/{name}"),
            format!("event BackupSession demo/{name} BackupSession Succeeded")
        ]
    );
    w.reconcile_session(name).await;
    assert_eq!(
        w.store.take_writes(),
        Vec::<String>::new(),
        "a final session is left alone"
    );
    // Its metrics, as it ended (no Pushgateway here: recorded only).
    let metrics = w.ctx.metrics.text();
    for line in [
        "stash_appscode_com_backupsession_success{driver=\"Restic\",invoker_kind=\"BackupConfiguration\",invoker_name=\"pg-backup\",namespace=\"demo\",repository=\"repo\"} 1",
        "stash_appscode_com_backupsession_duration_seconds{driver=\"Restic\",invoker_kind=\"BackupConfiguration\",invoker_name=\"pg-backup\",namespace=\"demo\",repository=\"repo\"} 90",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}\n{metrics}");
    }
    assert!(
        metrics.contains("group=\"kubedb.com\",hostname=\"host-0\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_job_that_dies_without_reporting_fails_its_session_and_history_is_limited() {
    let w = world().await;
    super::super::backup_configuration::reconcile(&w.bc().await, &w.ctx)
        .await
        .unwrap();
    let bc = w.bc().await;
    let mut names = Vec::new();
    for i in 0..3 {
        let mut s = new_session(&BackupInvoker::from(&bc), Some(1_764_496_500 + i * 300));
        s.metadata.creation_timestamp = None;
        let name = name_of(&s);
        w.store.create(&s).await.unwrap();
        w.reconcile_session(&name).await;
        w.runner.finish(&init_job_name(&name), JobState::Succeeded);
        w.step_sets(&name, types::BACKEND_REPOSITORY_INITIALIZED)
            .await;
        w.reconcile_session(&name).await;
        // The process restarts: the runner knows no job any more.
        w.runner.forget_all();
        w.reconcile_session(&name).await;
        let st = w.session(&name).await.status.unwrap();
        assert_eq!(st.phase, Some(BackupSessionPhase::Failed), "{st:?}");
        let t = &st.targets.unwrap()[0];
        let c = find_condition(t.conditions.as_deref(), types::BACKUP_DISRUPTED).unwrap();
        assert!(
            c.message
                .as_deref()
                .unwrap()
                .contains("stash was stopped while it ran"),
            "{c:?}"
        );
        names.push(name);
        w.clock.advance(chrono::Duration::seconds(300));
    }
    // backupHistoryLimit defaults to 1: only the newest session is left.
    let left: Vec<String> = w
        .store
        .list::<BackupSession>(Some("demo"), &Selector::all())
        .await
        .unwrap()
        .iter()
        .map(name_of)
        .collect();
    assert_eq!(left, vec![names[2].clone()]);
}

#[test]
fn go_durations() {
    assert_eq!(
        parse_go_duration("1m"),
        Some(std::time::Duration::from_secs(60))
    );
    assert_eq!(
        parse_go_duration("1h30m"),
        Some(std::time::Duration::from_secs(5400))
    );
    assert_eq!(
        parse_go_duration("2.5s"),
        Some(std::time::Duration::from_millis(2500))
    );
    assert_eq!(parse_go_duration("5"), None);
    assert_eq!(parse_go_duration("x"), None);
}

// Hooks (spec §3.10, checks 19–21). The hook steps run for real against the in-memory store
// (`sh` commands on this machine); the fake runner only says how their jobs ended.

impl World {
    async fn set_hooks(&self, yaml: &str) {
        let hooks: stash::api::hooks::BackupHooks = serde_saphyr::from_str(yaml).unwrap();
        self.store
            .update::<BackupConfiguration, _>("demo", "pg-backup", |bc| {
                bc.spec.template.hooks = Some(hooks.clone())
            })
            .await
            .unwrap();
    }
    /// A Ready configuration and a new session of it (`retry_left` retries left).
    async fn new_session(&self, retry_left: i32) -> String {
        super::super::backup_configuration::reconcile(&self.bc().await, &self.ctx)
            .await
            .unwrap();
        let mut s = new_session(
            &BackupInvoker::from(&self.bc().await),
            Some(self.clock.now().timestamp()),
        );
        s.spec.retry_left = Some(retry_left);
        self.store.create(&s).await.unwrap();
        name_of(&s)
    }
    fn jobs(&self) -> Vec<String> {
        self.runner.started().into_iter().map(|j| j.name).collect()
    }
    /// Runs a hook job's step here, as the process runner would, and ends its job the way
    /// the step ended.
    async fn run_hook_step(&self, name: &str, hook: HookType) {
        let job = hook_job_name(hook, name, 0);
        assert_eq!(self.runner.state(&job), Some(JobState::Running), "{job}");
        let res = crate::steps::hooks::backup_hook(
            self.store.as_ref(),
            "demo",
            name,
            hook,
            0,
            &crate::hooks::ExecOptions::default(),
        )
        .await;
        let state = match res {
            Ok(()) => JobState::Succeeded,
            Err(e) => JobState::Failed {
                step: "hook".into(),
                message: e.to_string(),
            },
        };
        self.runner.finish(&job, state);
    }
    /// From a new session to its target's job having ended, its host `ok` or not.
    async fn back_up(&self, name: &str, ok: bool) {
        self.reconcile_session(name).await;
        self.runner
            .finish(&init_job_name(name), JobState::Succeeded);
        self.step_sets(name, types::BACKEND_REPOSITORY_INITIALIZED)
            .await;
        self.reconcile_session(name).await;
        let job = format!("stash-backup-{name}-0");
        assert_eq!(self.runner.state(&job), Some(JobState::Running));
        let phase = if ok { "Succeeded" } else { "Failed" };
        let out: BackupOutput = serde_json::from_value(serde_json::json!({"targetStatus": {"stats": [{"hostname": "host-0", "phase": phase, "error": (!ok).then_some("dump failed")}]}})).unwrap();
        let s = self.session(name).await;
        let target = s.status.unwrap().targets.unwrap()[0].r#ref.clone();
        crate::steps::record::record_backup(self.store.as_ref(), "demo", name, target, &out)
            .await
            .unwrap();
        self.runner.finish(&job, JobState::Succeeded);
        if ok {
            // The post-backup actions' job.
            self.reconcile_session(name).await;
            self.runner
                .finish(&post_job_name(name), JobState::Succeeded);
            self.step_sets(name, types::RETENTION_POLICY_APPLIED).await;
            self.step_sets(name, types::REPOSITORY_INTEGRITY_VERIFIED)
                .await;
        }
    }
    async fn target_condition(&self, name: &str, ty: &str) -> Option<stash::api::Condition> {
        let s = self.session(name).await;
        let t = s.status?.targets?.into_iter().next()?;
        find_condition(t.conditions.as_deref(), ty).cloned()
    }
    async fn phase(&self, name: &str) -> Option<BackupSessionPhase> {
        self.session(name).await.status.and_then(|s| s.phase)
    }
}

#[tokio::test]
async fn a_failed_pre_backup_hook_takes_no_backup_and_fails_the_session() {
    // Check 19.
    let w = world().await;
    w.set_hooks("{preBackup: {exec: {command: [sh, -c, 'echo not ready; exit 1']}}, postBackup: {exec: {command: ['true']}}}").await;
    let name = w.new_session(0).await;

    // The pre-backup hook is the first job; the session runs while it does.
    w.reconcile_session(&name).await;
    let pre = hook_job_name(HookType::PreBackup, &name, 0);
    assert_eq!(w.jobs(), vec![pre.clone()]);
    assert_eq!(
        w.runner.started()[0].steps[0].args[..2],
        ["session-action".to_string(), "pre-backup-hook".to_string()]
    );
    assert_eq!(w.phase(&name).await, Some(BackupSessionPhase::Running));
    w.store.take_writes();
    assert_eq!(w.reconcile_session(&name).await, Next::secs(5));
    assert_eq!(
        w.store.take_writes(),
        Vec::<String>::new(),
        "waiting writes nothing"
    );

    w.run_hook_step(&name, HookType::PreBackup).await;
    w.reconcile_session(&name).await;
    let c = w
        .target_condition(&name, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED)
        .await
        .unwrap();
    assert!(c.is_false(), "{c:?}");
    assert_eq!(c.reason.as_deref(), Some("FailedToExecutePreBackupHook"));
    assert_eq!(
        c.message.as_deref(),
        Some("Failed to execute preBackup hook. Reason: \"sh\" exited with code 1: not ready")
    );
    let st = w.session(&name).await.status.unwrap();
    assert_eq!(st.phase, Some(BackupSessionPhase::Failed), "{st:?}");
    assert!(
        st.targets.as_ref().unwrap()[0].stats.is_none(),
        "no snapshot"
    );
    assert_eq!(
        w.jobs(),
        vec![pre],
        "no repository job, no backup job, no post-backup hook"
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
        failed.message.contains("Failed to execute preBackup hook"),
        "{failed:?}"
    );
    w.store.take_writes();
    w.reconcile_session(&name).await;
    assert_eq!(w.store.take_writes(), Vec::<String>::new());
}

#[tokio::test]
async fn a_passing_pre_backup_hook_lets_the_backup_start() {
    let w = world().await;
    w.set_hooks("{preBackup: {exec: {command: ['true']}}}")
        .await;
    let name = w.new_session(0).await;
    w.reconcile_session(&name).await;
    w.run_hook_step(&name, HookType::PreBackup).await;
    w.reconcile_session(&name).await;
    let c = w
        .target_condition(&name, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED)
        .await
        .unwrap();
    assert_eq!(
        c.message.as_deref(),
        Some("Successfully executed preBackup hook.")
    );
    // Then the repository, then the target's job.
    assert!(w.jobs().contains(&init_job_name(&name)), "{:?}", w.jobs());
    w.back_up(&name, true).await;
    w.reconcile_session(&name).await;
    assert_eq!(w.phase(&name).await, Some(BackupSessionPhase::Succeeded));
}

#[tokio::test]
async fn on_failure_post_hook_is_skipped_after_a_successful_backup() {
    // Check 20.
    let w = world().await;
    w.set_hooks("{postBackup: {exec: {command: [sh, -c, 'exit 1']}, executionPolicy: OnFailure}}")
        .await;
    let name = w.new_session(0).await;
    w.back_up(&name, true).await;
    w.store.take_writes();
    w.reconcile_session(&name).await;
    let c = w
        .target_condition(&name, types::POST_BACKUP_HOOK_EXECUTION_SUCCEEDED)
        .await
        .unwrap();
    assert!(c.is_true());
    assert_eq!(
        c.reason.as_deref(),
        Some("SuccessfullyExecutedPostBackupHook")
    );
    assert_eq!(
        c.message.as_deref(),
        Some("Skipping executing postBackup. Reason: executionPolicy is \"OnFailure\" but phase is \"Succeeded\".")
    );
    assert!(
        !w.jobs()
            .contains(&hook_job_name(HookType::PostBackup, &name, 0)),
        "the hook is not executed"
    );
    assert_eq!(w.phase(&name).await, Some(BackupSessionPhase::Succeeded));
    w.store.take_writes();
    w.reconcile_session(&name).await;
    assert_eq!(w.store.take_writes(), Vec::<String>::new());
}

#[tokio::test]
async fn the_post_hook_runs_before_the_session_ends_and_its_failure_fails_it() {
    let w = world().await;
    w.set_hooks("{postBackup: {exec: {command: [sh, -c, 'echo {{ .Status.Phase }}; exit 2']}}}")
        .await;
    let name = w.new_session(0).await;
    w.back_up(&name, true).await;
    w.reconcile_session(&name).await;
    let post = hook_job_name(HookType::PostBackup, &name, 0);
    assert!(w.jobs().contains(&post), "{:?}", w.jobs());
    assert_eq!(
        w.phase(&name).await,
        Some(BackupSessionPhase::Running),
        "not final before its post-backup hook"
    );
    w.store.take_writes();
    w.reconcile_session(&name).await;
    assert_eq!(w.store.take_writes(), Vec::<String>::new());

    w.run_hook_step(&name, HookType::PostBackup).await;
    w.reconcile_session(&name).await;
    let c = w
        .target_condition(&name, types::POST_BACKUP_HOOK_EXECUTION_SUCCEEDED)
        .await
        .unwrap();
    assert_eq!(
        c.message.as_deref(),
        Some("Failed to execute postBackup hook. Reason: \"sh\" exited with code 2: Succeeded")
    );
    assert_eq!(w.phase(&name).await, Some(BackupSessionPhase::Failed));
}

#[tokio::test]
async fn a_hook_job_that_dies_without_recording_fails_the_hook() {
    let w = world().await;
    w.set_hooks("{preBackup: {exec: {command: ['true']}}}")
        .await;
    let name = w.new_session(0).await;
    w.reconcile_session(&name).await;
    w.runner.finish(
        &hook_job_name(HookType::PreBackup, &name, 0),
        JobState::Failed {
            step: "pre-backup-hook".into(),
            message: "step pre-backup-hook was stopped".into(),
        },
    );
    w.reconcile_session(&name).await;
    let c = w
        .target_condition(&name, types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED)
        .await
        .unwrap();
    assert_eq!(
        c.message.as_deref(),
        Some("Failed to execute preBackup hook. Reason: step pre-backup-hook was stopped")
    );
    assert_eq!(w.phase(&name).await, Some(BackupSessionPhase::Failed));
}

#[tokio::test]
async fn on_final_retry_failure_runs_only_when_no_retry_is_left() {
    // Check 21.
    let w = world().await;
    w.set_hooks("{postBackup: {exec: {command: ['true']}, executionPolicy: OnFinalRetryFailure}}")
        .await;
    w.store
        .update::<BackupConfiguration, _>("demo", "pg-backup", |bc| {
            bc.spec.retry_config =
                Some(serde_json::from_value(serde_json::json!({"maxRetry": 1})).unwrap())
        })
        .await
        .unwrap();
    let first = w.new_session(1).await;
    w.back_up(&first, false).await;
    w.reconcile_session(&first).await;
    let c = w
        .target_condition(&first, types::POST_BACKUP_HOOK_EXECUTION_SUCCEEDED)
        .await
        .unwrap();
    assert_eq!(
        c.message.as_deref(),
        Some("Skipping executing postBackup. Reason: executionPolicy is \"OnFinalRetryFailure\" but phase is \"Failed\".")
    );
    assert!(!w
        .jobs()
        .contains(&hook_job_name(HookType::PostBackup, &first, 0)));
    assert_eq!(w.phase(&first).await, Some(BackupSessionPhase::Failed));

    // The retry (no retry left after it) runs the hook.
    w.clock.advance(chrono::Duration::seconds(60));
    w.reconcile_session(&first).await;
    w.reconcile_session(&first).await;
    let sessions = w
        .store
        .list::<BackupSession>(Some("demo"), &Selector::all())
        .await
        .unwrap();
    let retry = sessions.iter().find(|s| name_of(*s) != first).unwrap();
    assert_eq!(retry.spec.retry_left, Some(0));
    let second = name_of(retry);
    w.back_up(&second, false).await;
    w.reconcile_session(&second).await;
    assert!(w
        .jobs()
        .contains(&hook_job_name(HookType::PostBackup, &second, 0)));
    w.run_hook_step(&second, HookType::PostBackup).await;
    w.reconcile_session(&second).await;
    let c = w
        .target_condition(&second, types::POST_BACKUP_HOOK_EXECUTION_SUCCEEDED)
        .await
        .unwrap();
    assert_eq!(
        c.message.as_deref(),
        Some("Successfully executed postBackup hook.")
    );
    assert_eq!(w.phase(&second).await, Some(BackupSessionPhase::Failed));
}

#[test]
fn a_pass_keeps_what_a_step_wrote_meanwhile() {
    let cond = |ty: &str| {
        condition(
            ty,
            true,
            "Test",
            "x",
            "2026-11-30T10:00:00Z".parse().unwrap(),
        )
    };
    let target = stash::api::TargetRef {
        kind: Some("AppBinding".into()),
        name: Some("pg".into()),
        ..Default::default()
    };
    let old = BackupSessionStatus {
        targets: Some(vec![BackupTargetStatus {
            r#ref: Some(target.clone()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    // The pass adds a session condition and the target's executor.
    let mut new = old.clone();
    new.phase = Some(BackupSessionPhase::Running);
    set(&mut new, cond(types::BACKEND_REPOSITORY_INITIALIZED));
    new.targets.as_mut().unwrap()[0].conditions = Some(vec![cond(types::BACKUP_EXECUTOR_ENSURED)]);
    // Meanwhile a step recorded its hook on the target.
    let mut cur = old.clone();
    cur.targets.as_mut().unwrap()[0].conditions =
        Some(vec![cond(types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED)]);
    merge_status(&mut cur, &old, &new);
    assert_eq!(cur.phase, Some(BackupSessionPhase::Running));
    assert!(has(&cur, types::BACKEND_REPOSITORY_INITIALIZED).is_some());
    let t = &cur.targets.as_ref().unwrap()[0];
    let types_: Vec<&str> = t
        .conditions
        .iter()
        .flatten()
        .map(|c| c.type_.as_str())
        .collect();
    assert_eq!(
        types_,
        vec![
            types::PRE_BACKUP_HOOK_EXECUTION_SUCCEEDED,
            types::BACKUP_EXECUTOR_ENSURED
        ]
    );
}

/// A pass that read the session before the step recorded its hosts, and saw the job end
/// after, must not call the job disrupted: it looks again at the fresh object.
#[tokio::test]
async fn results_recorded_during_a_pass_are_not_taken_for_a_disruption() {
    let w = world().await;
    super::super::backup_configuration::reconcile(&w.bc().await, &w.ctx)
        .await
        .unwrap();
    let bc = w.bc().await;
    let s = new_session(&BackupInvoker::from(&bc), Some(1_764_496_500));
    let name = name_of(&s);
    w.store.create(&s).await.unwrap();
    w.reconcile_session(&name).await;
    w.runner.finish(&init_job_name(&name), JobState::Succeeded);
    w.step_sets(&name, types::BACKEND_REPOSITORY_INITIALIZED)
        .await;
    w.reconcile_session(&name).await;
    let stale = w.session(&name).await;
    let out: BackupOutput = serde_json::from_value(serde_json::json!({"targetStatus": {"stats": [{"hostname": "host-0", "phase": "Succeeded"}]}})).unwrap();
    let target = stale.status.as_ref().unwrap().targets.as_ref().unwrap()[0]
        .r#ref
        .clone();
    crate::steps::record::record_backup(w.store.as_ref(), "demo", &name, target, &out)
        .await
        .unwrap();
    let job = format!("stash-backup-{name}-0").replace('.', "-");
    w.runner.finish(&job, JobState::Succeeded);
    let next = reconcile(&stale, &w.ctx).await.unwrap();
    assert_eq!(next, Next::After(std::time::Duration::ZERO));
    w.reconcile_session(&name).await;
    let st = w.session(&name).await.status.unwrap();
    let t = &st.targets.unwrap()[0];
    assert!(
        find_condition(t.conditions.as_deref(), types::BACKUP_DISRUPTED).is_none(),
        "{t:?}"
    );
    assert_eq!(t.phase, Some(TargetPhase::Succeeded), "{t:?}");
}

/// A 3-replica StatefulSet target: one job per host, `totalHosts` 3; a host's job that ended
/// without reporting while the others run is not yet a disruption; once every job ended with a
/// host missing, it is.
#[tokio::test]
async fn a_statefulset_runs_a_job_per_replica_and_is_disrupted_only_when_all_ended() {
    let w = world().await;
    let mut objects = String::from(
        "- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata: {name: db, namespace: demo}\n\
         \x20 spec:\n    replicas: 3\n    template:\n      spec:\n        containers:\n        - name: db\n          volumeMounts: [{name: data, mountPath: /data}]\n\
         \x20   volumeClaimTemplates:\n    - metadata: {name: data}\n",
    );
    for i in 0..3 {
        objects.push_str(&format!(
            "- apiVersion: v1\n  kind: PersistentVolume\n  metadata: {{name: pv-{i}}}\n  spec: {{hostPath: {{path: /srv/db-{i}}}}}\n\
             - apiVersion: v1\n  kind: PersistentVolumeClaim\n  metadata: {{name: data-db-{i}, namespace: demo}}\n  spec: {{volumeName: pv-{i}}}\n"
        ));
    }
    for obj in serde_saphyr::from_str::<Vec<serde_json::Value>>(&objects).unwrap() {
        w.store.create_raw(obj).await.unwrap();
    }
    w.store
        .update::<BackupConfiguration, _>("demo", "pg-backup", |bc| {
            let target: stash::api::backup_configuration::BackupTarget = serde_json::from_value(
                serde_json::json!({"ref": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}, "paths": ["/data"]}),
            )
            .unwrap();
            bc.spec.template.target = Some(target);
            bc.spec.template.task = None;
        })
        .await
        .unwrap();
    let name = w.new_session(0).await;
    w.reconcile_session(&name).await;
    w.runner.finish(&init_job_name(&name), JobState::Succeeded);
    w.step_sets(&name, types::BACKEND_REPOSITORY_INITIALIZED)
        .await;
    w.reconcile_session(&name).await;
    let backups: Vec<JobSpec> = w
        .runner
        .started()
        .into_iter()
        .filter(|j| j.name.starts_with("stash-backup-"))
        .collect();
    let names: Vec<&str> = backups.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(
        names,
        [0, 1, 2].map(|i| format!("stash-backup-{name}-0-{i}")),
        "one job per replica"
    );
    for (i, job) in backups.iter().enumerate() {
        let args = job.steps[0].args.join(" ");
        assert!(args.contains(&format!("--hostname=host-{i}")), "{args}");
        assert_eq!(
            job.env.get(crate::volumes::MOUNTS_ENV).map(String::as_str),
            Some(format!("/data=/srv/db-{i}").as_str())
        );
    }
    let st = w.session(&name).await.status.unwrap();
    assert_eq!(st.targets.as_ref().unwrap()[0].total_hosts, Some(3));

    // host-0's job ended without reporting; the others still run.
    w.runner
        .finish(&format!("stash-backup-{name}-0-0"), JobState::Succeeded);
    w.reconcile_session(&name).await;
    let st = w.session(&name).await.status.unwrap();
    assert_eq!(st.phase, Some(BackupSessionPhase::Running), "{st:?}");
    for i in 1..3 {
        w.runner.finish(
            &format!("stash-backup-{name}-0-{i}"),
            JobState::Failed {
                step: "pvc-backup".into(),
                message: format!("host-{i} was killed"),
            },
        );
    }
    w.reconcile_session(&name).await;
    let st = w.session(&name).await.status.unwrap();
    assert_eq!(st.phase, Some(BackupSessionPhase::Failed), "{st:?}");
    let t = &st.targets.unwrap()[0];
    let c = find_condition(t.conditions.as_deref(), types::BACKUP_DISRUPTED).unwrap();
    assert!(
        c.message.as_deref().unwrap().ends_with("host-1 was killed"),
        "{c:?}"
    );
}

/// Two configurations backing up into one new repository: the second session's repository
/// init waits while the first one's runs (two inits would write two configs and keys), then
/// runs and finds the repository there.
#[tokio::test]
async fn a_second_init_of_the_same_repository_waits_for_the_first() {
    let w = world().await;
    let mut other = w.bc().await;
    other.metadata.name = Some("pg-backup-2".into());
    other.metadata.resource_version = None;
    other.metadata.uid = None;
    other.status = None;
    w.store.create(&other).await.unwrap();
    let first = w.new_session(0).await;
    super::super::backup_configuration::reconcile(
        &w.store
            .get::<BackupConfiguration>("demo", "pg-backup-2")
            .await
            .unwrap()
            .unwrap(),
        &w.ctx,
    )
    .await
    .unwrap();
    let bc2 = w
        .store
        .get::<BackupConfiguration>("demo", "pg-backup-2")
        .await
        .unwrap()
        .unwrap();
    let s2 = new_session(&BackupInvoker::from(&bc2), Some(w.clock.now().timestamp()));
    let second = name_of(&s2);
    w.store.create(&s2).await.unwrap();

    w.reconcile_session(&first).await;
    assert_eq!(w.jobs(), [init_job_name(&first)]);
    assert_eq!(w.reconcile_session(&second).await, Next::secs(1));
    assert_eq!(w.jobs(), [init_job_name(&first)], "the second init waits");

    w.runner.finish(&init_job_name(&first), JobState::Succeeded);
    w.reconcile_session(&second).await;
    let mut jobs = w.jobs();
    jobs.sort();
    let mut want = vec![init_job_name(&first), init_job_name(&second)];
    want.sort();
    assert_eq!(jobs, want);
}

mod batch;
