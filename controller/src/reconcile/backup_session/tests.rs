//! Scenario tests: the in-memory store, the fake runner and a manual clock; the test plays the
//! step processes by writing what they would write.
use std::sync::Arc;

use k8s_openapi::api::batch::v1::CronJob;
use stash::api::catalog::Catalog;
use stash::api::conditions::types;
use stash::api::output::BackupOutput;
use stash::api::{BackupConfiguration, BackupInvokerPhase, BackupSession, BackupSessionPhase};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::context::{Ctx, Settings};
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

async fn world() -> World {
    let clock = Arc::new(ManualClock::at("2026-11-30T10:01:00Z"));
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let runner = Arc::new(FakeRunner::new());
    for obj in serde_saphyr::from_str::<Vec<serde_json::Value>>(OBJECTS).unwrap() {
        store.create_raw(obj).await.unwrap();
    }
    store.take_writes();
    let settings = Settings {
        operator: Default::default(),
        scratch_root: "/tmp/stash-jobs".into(),
    };
    let ctx = Ctx {
        store: store.clone(),
        runner: runner.clone(),
        clock: clock.clone(),
        catalog: Arc::new(Catalog::builtin().unwrap()),
        settings,
    };
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
        let mut s = new_session(&bc, Some(1_764_496_500 + i * 300));
        s.metadata.creation_timestamp = None;
        let name = name_of(&s);
        w.store.create(&s).await.unwrap();
        w.reconcile_session(&name).await;
        w.runner.finish(&init_job_name(&name), JobState::Succeeded);
        w.step_sets(&name, types::BACKEND_REPOSITORY_INITIALIZED)
            .await;
        w.reconcile_session(&name).await;
        // The process restarts: the runner knows no job any more.
        w.runner.forget();
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
